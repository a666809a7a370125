/// The interpreter programs behind the Python-level workloads. Each defines `unit(...)`, which
/// the runner calls once per unit of work.
public enum Programs {
    /// One request of `gillab scenario service`, after the fetch: parse the record text
    /// (Python-level), put its amounts into row 0 of A and call the native `dgemm` (a C/BLAS
    /// kernel that holds or releases the lock), then serialize a few results (Python-level).
    /// Row 0's first entries are all overwritten, so the answer does not depend on history.
    public static let service = """
        def parse(text):
            values = []
            for line in text.split("\\n"):
                parts = line.split(",")
                values.append(float(parts[2]))
            return values

        def serialize(c, n, k):
            out = []
            for i in range(8):
                out.append(str(get_item(c, 0, (k + i) % n)))
            return ",".join(out)

        def handle(k, text, n, a, b, c):
            values = parse(text)
            for i in range(len(values)):
                set_item(a, 0, i % n, values[i] * 0.001)
            dgemm(a, b, c)
            return serialize(c, n, k)
        """

    /// Beazley's test. `unit(n)` counts `n` down to zero.
    public static let countdown = """
        def unit(n):
            while n > 0:
                n -= 1
            return n
        """

    /// A pure-Python matrix product over lists of floats. Inputs are multiples of 1/8, so every
    /// sum is exact and any evaluation order gives the same bits.
    public static let pymatmul = """
        def make(n, seed):
            m = []
            for i in range(n):
                row = []
                for j in range(n):
                    row.append(((i * n + j + seed) % 17) * 0.125 - 1.0)
                m.append(row)
            return m

        def matmul(a, b, n):
            c = []
            for i in range(n):
                ai = a[i]
                row = []
                for j in range(n):
                    s = 0.0
                    for k in range(n):
                        s += ai[k] * b[k][j]
                    row.append(s)
                c.append(row)
            return c

        def unit(n, seed):
            c = matmul(make(n, seed), make(n, seed + 1), n)
            total = 0.0
            for i in range(n):
                row = c[i]
                for j in range(n):
                    total += row[j] * ((i + 2 * j) % 5 + 1)
            return total
        """

    /// Text records: build lines, parse each into a dict, aggregate by category, serialize.
    public static let records = """
        CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon"]

        def make_lines(n, seed):
            lines = []
            for i in range(n):
                k = i + seed
                lines.append(str(k) + ",item" + str(k % 97) + "," + CATEGORIES[k % 5] + "," + str((k * 37) % 1000 / 8))
            return lines

        def unit(n, seed):
            totals = {}
            counts = {}
            for line in make_lines(n, seed):
                parts = line.split(",")
                record = {"id": int(parts[0]), "name": parts[1], "category": parts[2], "amount": float(parts[3])}
                category = record["category"]
                totals[category] = totals.get(category, 0.0) + record["amount"]
                counts[category] = counts.get(category, 0) + 1
            out = []
            for category in sorted(totals):
                out.append(category + "," + str(counts[category]) + "," + str(totals[category]))
            return "\\n".join(out)
        """

    /// Python-level code around a BLAS call, as a NumPy-style caller writes it: set this
    /// unit's input element, call the native `dgemm` (which holds or releases the lock, per
    /// mode), put the input back, and read a few results. The element is restored so that every
    /// unit sees the same A whatever ran before it on the thread.
    public static let gemm = """
        def unit(k, n, a, b, c):
            j = k % n
            old = get_item(a, 0, j)
            set_item(a, 0, j, ((k * 31) % 101) * 0.01 - 0.5)
            dgemm(a, b, c)
            set_item(a, 0, j, old)
            total = 0.0
            for i in range(8):
                total += get_item(c, 0, (j + i) % n)
            return total
        """

    /// `gemm` with the least Python-level glue, as `scripts/cpython_side.py` calls
    /// `cblas_dgemm` through ctypes: set one element of A, call, read one element of C. A[0, 0]
    /// depends only on the unit, so every unit computes the same product whatever ran before.
    /// `pad` is 0 but in `compare-cpython`, which sets it so that a unit holds the lock as long
    /// as CPython's does (ctypes converting 14 arguments costs more than this native call).
    public static let gemmCall = """
        def unit(k, n, a, b, c, pad):
            set_item(a, 0, 0, float(k % 7))
            dgemm(a, b, c)
            while pad > 0:
                pad -= 1
            return get_item(c, 0, 0)
        """

    /// I/O-bound work: a little Python-level work, then a blocking call of `us` microseconds
    /// (the native `sleep_us`, which releases the lock around the block in release mode, as
    /// every blocking call in CPython's standard library does). The event loop runs `request`,
    /// waits on a timer instead of `sleep_us`, and takes what `request` returned.
    public static let ioSleep = """
        def request(k, us):
            total = 0
            for i in range(10):
                total += (k * i) % 7
            return total

        def unit(k, us):
            total = request(k, us)
            sleep_us(us)
            return total
        """

    /// A request/response round trip to gillab's loopback echo server: build a message of at
    /// least `n` bytes, send it and wait for the echo (the native `echo`, released around the
    /// socket calls), then parse the reply. The event loop runs `request`, does the round trip
    /// on a non-blocking socket, and then runs `respond`.
    public static let ioEcho = """
        BODY = "abcdefghijklmnopqrstuvwxyz0123456789"

        def request(k, n):
            parts = ["req " + str(k) + " "]
            size = len(parts[0])
            while size < n:
                parts.append(BODY)
                size += len(BODY)
            return "".join(parts)

        def respond(k, reply):
            fields = reply.split(" ")
            return fields[1] + ":" + str(len(reply))

        def unit(k, n):
            return respond(k, echo(request(k, n)))
        """

    /// Reading a file the run made: the native `read_block` reads block `k` of `n` bytes with
    /// `pread`, released around the read, and returns it as a string, which the unit returns
    /// whole so that its checksum covers every byte read. The event loop runs `read_block`
    /// inline (a regular file is always ready) and then `respond`.
    public static let ioFile = """
        def respond(k, data):
            return data

        def unit(k, n):
            return respond(k, read_block(k, n))
        """

    /// The convoy scenario's I/O thread (see ``ConvoyScenario``): a blocking call, then a
    /// little Python-level work on what it returned, as a server thread handles a request.
    public static let convoyRequest = """
        def request(k):
            blocking_io()
            total = 0
            for i in range(20):
                total += (k * i) % 7
            return total
        """

    /// The `dis`-style listing of `workload`'s program (instructions that poll the eval breaker
    /// marked `*`), compiled on a lock and interpreter of its own; `nil` when it has no program.
    public static func disassembly(of workload: WorkloadKind) throws(PyError) -> String? {
        guard let source = source(of: workload) else { return nil }
        let thread = InterpreterLock().makeThreadState(name: "disassembly")
        thread.acquire()
        defer { thread.detach() }
        return try Interpreter(thread: thread).disassemble(source)
    }

    /// The program of `workload`, or `nil` for the Swift-glue workloads.
    public static func source(of workload: WorkloadKind) -> String? {
        switch workload {
        case .countdown: countdown
        case .pymatmul: pymatmul
        case .records: records
        case .gemm: gemm
        case .gemmCall: gemmCall
        case .ioSleep: ioSleep
        case .ioEcho: ioEcho
        case .ioFile: ioFile
        case .stencil, .mandelbrot, .hash: nil
        }
    }
}
