// Workloads whose Python-level work is an interpreter program (see Programs). Each thread has
// its own interpreter with the program loaded, as each CPython thread runs its own frames;
// nothing an interpreter allocates crosses to another thread.

/// Loads `source` into a new interpreter on `thread`, with `setup` registering natives first.
/// `filename` is what its locations are called (`countdown.py:2 in unit (while n > 0:)`).
func makeInterpreter(_ source: String, filename: String, on thread: ThreadState,
                     setup: (Interpreter) -> Void = { _ in }) throws(WorkloadError) -> Interpreter {
    let interpreter = Interpreter(thread: thread)
    setup(interpreter)
    do throws(PyError) { try interpreter.load(source, filename: filename) } catch { throw .python(error) }
    return interpreter
}

/// Calls the global function `name`; an exception it raises becomes ``WorkloadError/python(_:)``.
func call(_ interpreter: Interpreter, _ name: String, _ arguments: [PyObject]) throws(WorkloadError) -> PyObject {
    do throws(PyError) { return try interpreter.call(name, arguments) } catch { throw .python(error) }
}

/// Calls the program's `unit` function and digests what it returns.
struct InterpretedWorker: WorkloadWorker {
    let interpreter: Interpreter
    /// The Python-level arguments of unit k, made under the lock.
    let arguments: (Int) -> [PyObject]

    mutating func run(unit: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        Digest.of(unit: unit, result: try call(interpreter, "unit", arguments(unit)))
    }
}

extension Digest {
    /// The digest of unit `unit` that returned `result`: the same whichever mode ran it.
    static func of(unit: Int, result: PyObject) -> UInt64 {
        var digest = Digest()
        digest.add(UInt64(truncatingIfNeeded: unit))
        digest.add(result)
        return digest.value
    }

    /// Adds an interpreter result: an int's or float's bits, or a string's bytes.
    mutating func add(_ object: PyObject) {
        switch object.kind {
        case .int: add(UInt64(bitPattern: Int64(unsafeDowncast(object, to: PyInt.self).value)))
        case .float: add(unsafeDowncast(object, to: PyFloat.self).value)
        case .str: for byte in unsafeDowncast(object, to: PyStr.self).value.utf8 { add(UInt64(byte)) }
        default: add(UInt64(object.kind.rawValue))
        }
    }
}

// MARK: - countdown, pymatmul, records

/// A workload that is an interpreter program and nothing else: each unit calls `unit(...)`.
struct ProgramWorkload: Workload {
    let kind: WorkloadKind
    let size: Int
    let source: String
    /// Registers the natives the program calls, with the mode's discipline.
    var natives: @Sendable (Interpreter, CallDiscipline) -> Void = { _, _ in }
    /// The Python-level arguments of unit k.
    let arguments: @Sendable (Interpreter, Int) -> [PyObject]
    var name: String { kind.rawValue }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        let natives = self.natives
        let interpreter = try makeInterpreter(source, filename: "\(name).py", on: thread) { natives($0, discipline) }
        let arguments = self.arguments
        return InterpretedWorker(interpreter: interpreter) { unit in arguments(interpreter, unit) }
    }

    /// Beazley's countdown: `size` is the total count, split into `units` near-equal chunks.
    static func countdown(size: Int, units: Int) -> ProgramWorkload {
        ProgramWorkload(kind: .countdown, size: size, source: Programs.countdown) { interpreter, unit in
            [interpreter.int(countdownChunk(unit, total: size, units: units))]
        }
    }

    /// Unit k's share of the total count: the total split as evenly as integers allow.
    static func countdownChunk(_ unit: Int, total: Int, units: Int) -> Int {
        total / units + (unit < total % units ? 1 : 0)
    }

    /// One size×size product per unit; the unit picks the inputs.
    static func pymatmul(size: Int) -> ProgramWorkload {
        ProgramWorkload(kind: .pymatmul, size: size, source: Programs.pymatmul) { interpreter, unit in
            [interpreter.int(size), interpreter.int(unit % 17)]
        }
    }

    /// `size` lines per unit; the unit picks where the records start.
    static func records(size: Int) -> ProgramWorkload {
        ProgramWorkload(kind: .records, size: size, source: Programs.records) { interpreter, unit in
            [interpreter.int(size), interpreter.int(unit * 7)]
        }
    }
}

// MARK: - gemm

/// A matrix as an interpreter object: the extension type behind `get_item`, `set_item` and
/// `dgemm`.
final class PyMatrix: PyExtensionObject {
    var matrix: Matrix
    init(_ matrix: Matrix) {
        self.matrix = matrix
        super.init(typeName: "matrix")
    }
}

/// Registers the BLAS natives. `dgemm` uses `discipline`; the others keep the lock.
/// Under `release`, dgemm releases only when the matrix order exceeds `releaseThreshold`
/// (`nil`: always), as numpy releases only above 500 elements.
func registerMatrixNatives(_ interpreter: Interpreter, dgemmDiscipline discipline: CallDiscipline,
                           releaseThreshold: Int? = nil) {
    func matrix(_ object: PyObject, _ function: String) throws(PyError) -> PyMatrix {
        // The exact class, as a C extension checks `Py_TYPE(o) == &Matrix_Type`: cheaper than a
        // dynamic cast, which walks the class hierarchy.
        guard ObjectIdentifier(type(of: object)) == ObjectIdentifier(PyMatrix.self) else {
            throw PyError(.typeError, "\(function)() expected a matrix, got '\(object.typeName)'")
        }
        return unsafeDowncast(object, to: PyMatrix.self)
    }
    func integer(_ object: PyObject, _ function: String) throws(PyError) -> Int {
        guard object.kind == .int else { throw PyError(.typeError, "\(function)() expected an int, got '\(object.typeName)'") }
        return unsafeDowncast(object, to: PyInt.self).value
    }

    func position(_ m: PyMatrix, _ args: [PyObject], _ function: String) throws(PyError) -> (Int, Int) {
        let (row, column) = (try integer(args[1], function), try integer(args[2], function))
        guard (0..<m.matrix.rows).contains(row), (0..<m.matrix.columns).contains(column) else {
            throw PyError(.indexError, "\(function)(): (\(row), \(column)) out of range for a \(m.matrix.rows)×\(m.matrix.columns) matrix")
        }
        return (row, column)
    }

    interpreter.register("get_item", arity: 3...3) { _, _, args throws(PyError) in
        let source = try matrix(args[0], "get_item")
        let (row, column) = try position(source, args, "get_item")
        return PyFloat(source.matrix[row, column])
    }

    interpreter.register("set_item", arity: 4...4) { _, _, args throws(PyError) in
        let target = try matrix(args[0], "set_item")
        let (row, column) = try position(target, args, "set_item")
        switch args[3].kind {
        case .float: target.matrix[row, column] = unsafeDowncast(args[3], to: PyFloat.self).value
        case .int: target.matrix[row, column] = Double(unsafeDowncast(args[3], to: PyInt.self).value)
        default: throw PyError(.typeError, "set_item(): the value must be a number, got '\(args[3].typeName)'")
        }
        return PyNone.shared
    }

    interpreter.register("dgemm", discipline: discipline, arity: 3...3) { thread, discipline, args throws(PyError) in
        let (a, b, c) = (try matrix(args[0], "dgemm"), try matrix(args[1], "dgemm"), try matrix(args[2], "dgemm"))
        // Take plain values out of the interpreter objects while holding the lock; C's buffer is
        // moved out, so the kernel writes it in place and no interpreter object is touched
        // while the lock is released.
        let (left, right) = (a.matrix, b.matrix)
        var product = c.matrix
        c.matrix = PyMatrix.placeholder
        let worthReleasing = releaseThreshold.map { left.rows > $0 } ?? true
        let outcome = thread.call(worthReleasing ? discipline : .hold) { () -> KernelError? in
            do throws(KernelError) { try Kernels.gemm(left, right, into: &product) } catch { return error }
            return nil
        }
        c.matrix = product
        if let outcome { throw PyError(.valueError, "dgemm(): \(outcome)") }
        return PyNone.shared
    }
}

/// Registers `sleep_us(n)`: a blocking call of n microseconds, like `time.sleep` or a socket
/// read, released around the block under `discipline` (reason: I/O).
func registerSleep(_ interpreter: Interpreter, discipline: CallDiscipline) {
    interpreter.register("sleep_us", discipline: discipline, arity: 1...1) { thread, discipline, args throws(PyError) in
        guard args[0].kind == .int else { throw PyError(.typeError, "sleep_us() expected an int, got '\(args[0].typeName)'") }
        let microseconds = unsafeDowncast(args[0], to: PyInt.self).value
        guard microseconds >= 0 else { throw PyError(.valueError, "sleep_us(): negative duration \(microseconds)") }
        let failure = thread.call(discipline, reason: .io) { () -> KernelError? in
            do throws(KernelError) { try Kernels.sleep(for: .microseconds(microseconds)) } catch { return error }
            return nil
        }
        if let failure { throw PyError(.runtimeError, "sleep_us(): \(failure)") }
        return PyNone.shared
    }
}

extension PyMatrix {
    /// What an object holds while its matrix is out on loan to a released kernel call.
    static let placeholder = try! Matrix(rows: 0, columns: 0)
}

struct GemmWorkload: Workload {
    let size: Int
    /// `gemm` or `gemm-call`: which glue program calls dgemm.
    let kind: WorkloadKind
    /// `gemm-call`: iterations of Python-level work added to each unit (`compare-cpython`'s
    /// glue matching); 0 otherwise.
    var padIterations = 0
    /// Release dgemm only above this matrix order (`--release-threshold`); `nil`: always.
    var releaseThreshold: Int?
    /// B is the same for every unit and thread, like shared weights; threads share its storage.
    let b: Matrix
    var name: String { kind.rawValue }

    init(size n: Int, kind: WorkloadKind = .gemm) throws(KernelError) {
        precondition(kind == .gemm || kind == .gemmCall, "GemmWorkload runs gemm or gemm-call, not \(kind)")
        size = n
        self.kind = kind
        b = try Matrix(rows: n, columns: n) { i, j in inputValue(-2, i * n + j) }
    }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        let n = size
        let a: Matrix
        do throws(KernelError) { a = try Matrix(rows: n, columns: n) { i, j in inputValue(-1, i * n + j) } } catch {
            throw .kernel(error)
        }
        return try makeWorker(a: a, b: b, discipline: discipline, on: thread)
    }

    /// A then B, each n² doubles.
    func encodedInput() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 * size * size * 8)
        do throws(KernelError) {
            bytes.append(try Matrix(rows: size, columns: size) { i, j in inputValue(-1, i * size + j) })
        } catch {
            preconditionFailure("gemm input of a size that made a workload: \(error)")
        }
        bytes.append(b)
        return bytes
    }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline,
                    input: UnsafeRawBufferPointer) throws(WorkloadError) -> any WorkloadWorker {
        let n = size
        try checkInput(input, expected: 2 * n * n * 8, name)
        return try makeWorker(a: try matrix(from: input, rows: n, columns: n),
                              b: try matrix(from: input, rows: n, columns: n, offset: n * n * 8),
                              discipline: discipline, on: thread)
    }

    private func makeWorker(a: Matrix, b: Matrix, discipline: CallDiscipline,
                            on thread: ThreadState) throws(WorkloadError) -> any WorkloadWorker {
        let n = size
        let threshold = releaseThreshold
        let interpreter = try makeInterpreter(kind == .gemmCall ? Programs.gemmCall : Programs.gemm, filename: "\(kind.rawValue).py", on: thread) {
            registerMatrixNatives($0, dgemmDiscipline: discipline, releaseThreshold: threshold)
        }
        let c: Matrix
        do throws(KernelError) {
            var warm = try Matrix(rows: n, columns: n)
            // One untimed call on this thread: OpenBLAS sets up a packing buffer for each new
            // calling thread (an mmap and its page faults, ~10 ms at n = 512 here). Left in the
            // timed region, that set-up would be serialized in `hold` and parallel in `release`.
            try Kernels.gemm(a, b, into: &warm)
            c = warm
        } catch {
            throw .kernel(error)
        }
        let (pa, pb, pc) = (PyMatrix(a), PyMatrix(b), PyMatrix(c))
        if kind == .gemmCall {
            let pad = interpreter.int(padIterations)
            return InterpretedWorker(interpreter: interpreter) { unit in
                [interpreter.int(unit), interpreter.int(n), pa, pb, pc, pad]
            }
        }
        return InterpretedWorker(interpreter: interpreter) { unit in
            [interpreter.int(unit), interpreter.int(n), pa, pb, pc]
        }
    }
}

// MARK: - A user's program

/// A program file that defines `unit(size)`: `--program` for `run`, `advise`, `report` and
/// `project`, called per unit across threads exactly as the built-in programs are.
public struct UserProgram: Sendable, Equatable {
    /// The program's text.
    public var source: String
    /// Its file name, which its locations and tracebacks carry.
    public var filename: String

    /// Creates a program.
    public init(source: String, filename: String) {
        self.source = source
        self.filename = filename
    }

    /// Units per run when none are given.
    public static let defaultUnits = 8
    /// The size passed to `unit(size)` when none is given.
    public static let defaultSize = 100_000
}

/// The workload of a ``UserProgram``: each unit calls `unit(size)`, and its result is digested,
/// so that every mode must return the same values. `import gillab` works, its kernels releasing
/// the lock under `release` (and `free`) and keeping it under `hold` unless the call says
/// `release=` itself.
struct UserProgramWorkload: Workload {
    let program: UserProgram
    let size: Int
    var name: String { program.filename }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        let interpreter = try makeInterpreter(program.source, filename: program.filename, on: thread) {
            GILLabModule.install(in: $0, releasingByDefault: discipline == .release)
        }
        guard interpreter.hasFunction("unit") else {
            throw .invalid("\(program.filename) must define unit(size), which the runner calls once per unit")
        }
        let size = self.size
        return InterpretedWorker(interpreter: interpreter) { _ in [interpreter.int(size)] }
    }
}
