/// The work a run splits across threads: a fixed number of units, each some "Python-level"
/// glue under the lock around one kernel call.
///
/// Until the bytecode interpreter lands, the glue is a Swift loop that polls the eval breaker
/// once per element, as CPython's eval loop does on each backward jump.
public protocol Workload: Sendable {
    /// The workload's name, as `--workload` spells it.
    var name: String { get }
    /// The problem size per unit (matrix order, bytes, iterations).
    var size: Int { get }
    /// Makes one thread's private buffers. Called before timing starts.
    func makeWorker() throws(KernelError) -> any WorkloadWorker
}

/// One thread's buffers for a ``Workload``.
public protocol WorkloadWorker {
    /// Runs unit `index`. The thread holds the lock on entry and on return.
    /// - Returns: a digest of the unit's result. The run adds the digests of all units, so the
    ///   total does not depend on how units were split across threads.
    mutating func run(unit index: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64
}

/// The built-in workloads.
public enum WorkloadKind: String, Sendable, CaseIterable, Codable {
    /// OpenBLAS dgemm: BLAS, compute-bound.
    case gemm
    /// 5-point Jacobi sweep: memory-bound.
    case stencil
    /// Mandelbrot escape counts: compute-bound and branchy.
    case mandelbrot
    /// FNV-1a hash: latency-bound.
    case hash
    /// Python-level counting only, no kernel: CPU-bound work that can never release the lock.
    case countdown

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .gemm: "OpenBLAS dgemm, size×size; glue writes a row of A and reads back C's first row and diagonal"
        case .stencil: "5-point Jacobi sweep on a size×size grid (memory-bound C kernel)"
        case .mandelbrot: "Mandelbrot escape counts, one size-wide row per unit, 256 iterations (compute-bound C kernel)"
        case .hash: "FNV-1a over a size-byte buffer (latency-bound C kernel)"
        case .countdown: "Python-level only: count size down to zero, polling at every step (Beazley's test); no kernel"
        }
    }

    /// Whether the workload calls a kernel, so that `hold` and `release` differ.
    public var callsKernel: Bool { self != .countdown }

    /// The size used when none is given.
    public var defaultSize: Int {
        switch self {
        case .gemm: 512
        case .stencil: 512
        case .mandelbrot: 512
        case .hash: 1 << 20
        case .countdown: 1_000_000
        }
    }

    /// Units that make a serial run take roughly a quarter of a second on a current core.
    public func defaultUnits(size: Int) -> Int {
        let n = Double(size)
        let seconds: Double = switch self {
        case .gemm: 2 * n * n * n / 40e9 + 3 * n * 1e-9
        case .stencil: n * n * 0.7e-9
        case .mandelbrot: n * 40e-9
        case .hash: n * 0.7e-9
        case .countdown: n * 0.6e-9
        }
        return min(max(Int((0.25 / max(seconds, 1e-9)).rounded(.up)), 8), 200_000)
    }

    /// Bytes one thread's buffers take.
    public func bytesPerThread(size: Int) -> Int {
        let (n, overflow) = size.multipliedReportingOverflow(by: size)
        switch self {
        case .gemm: return overflow ? .max : n.multipliedReportingOverflow(by: 24).overflow ? .max : n * 24
        case .stencil: return overflow ? .max : n.multipliedReportingOverflow(by: 16).overflow ? .max : n * 16
        case .mandelbrot: return size.multipliedReportingOverflow(by: 4).overflow ? .max : size * 4
        case .hash: return size
        case .countdown: return 0
        }
    }

    /// The workload at `size`.
    /// - Throws: ``KernelError/invalidArgument(_:)`` when `size` < 1.
    public func make(size: Int) throws(KernelError) -> any Workload {
        guard size >= 1 else { throw .invalidArgument("\(rawValue) size \(size)") }
        return switch self {
        case .gemm: try GemmWorkload(size: size)
        case .stencil: StencilWorkload(size: size)
        case .mandelbrot: MandelbrotWorkload(size: size)
        case .hash: HashWorkload(size: size)
        case .countdown: CountdownWorkload(size: size)
        }
    }
}

// MARK: - Glue

/// Python-level glue helpers: each step polls the eval breaker, as a Python loop iteration would.
struct Digest {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ word: UInt64) {
        value = (value ^ word) &* 0x100_0000_01b3
    }

    mutating func add(_ double: Double) { add(double.bitPattern) }
}

/// Deterministic input values: a splitmix64 hash of (unit, index) mapped into [-1, 1).
@inline(__always)
func inputValue(_ unit: Int, _ index: Int) -> Double {
    var z = UInt64(truncatingIfNeeded: unit) &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(truncatingIfNeeded: index)
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    z ^= z >> 31
    return Double(z >> 11) * 0x1p-52 - 1
}

// MARK: - gemm

struct GemmWorkload: Workload {
    let size: Int
    /// B is the same for every unit and thread, like shared weights; threads share its storage.
    let b: Matrix
    var name: String { WorkloadKind.gemm.rawValue }

    init(size n: Int) throws(KernelError) {
        size = n
        b = try Matrix(rows: n, columns: n) { i, j in inputValue(-2, i * n + j) }
    }

    func makeWorker() throws(KernelError) -> any WorkloadWorker {
        let n = size
        var worker = Worker(
            a: try Matrix(rows: n, columns: n) { i, j in inputValue(-1, i * n + j) },
            b: b,
            c: try Matrix(rows: n, columns: n))
        // One untimed call on this thread: OpenBLAS sets up a packing buffer for each new
        // calling thread (an mmap and its page faults, ~10 ms at n = 512 here). Left in the
        // timed region, that set-up runs once per thread, so it would be serialized in `hold`
        // and parallel in `release`, and bias both rows.
        try Kernels.gemm(worker.a, worker.b, into: &worker.c)
        return worker
    }

    struct Worker: WorkloadWorker {
        var a: Matrix, b: Matrix, c: Matrix

        mutating func run(unit: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64 {
            let n = a.rows
            // Build this unit's input: row 0 of A depends on the unit.
            a.withUnsafeMutableBufferPointer { row in
                for j in 0..<n {
                    thread.checkpoint()
                    row[j] = inputValue(unit, j)
                }
            }
            try thread.call(discipline) { () throws(KernelError) in try Kernels.gemm(a, b, into: &c) }
            // Post-process: digest C's first row (which the unit changed) and its diagonal.
            var digest = Digest()
            c.withUnsafeBufferPointer { c in
                for j in 0..<n {
                    thread.checkpoint()
                    digest.add(c[j])
                    digest.add(c[j * n + j])
                }
            }
            return digest.value
        }
    }
}

// MARK: - stencil

struct StencilWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.stencil.rawValue }

    func makeWorker() throws(KernelError) -> any WorkloadWorker {
        let n = size
        return Worker(grid: try Matrix(rows: n, columns: n) { i, j in inputValue(-3, i * n + j) },
                      next: try Matrix(rows: n, columns: n))
    }

    struct Worker: WorkloadWorker {
        var grid: Matrix, next: Matrix

        mutating func run(unit: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64 {
            let n = grid.rows
            // The unit sets the top boundary; the sweep carries it one row in.
            grid.withUnsafeMutableBufferPointer { top in
                for j in 0..<n {
                    thread.checkpoint()
                    top[j] = inputValue(unit, j)
                }
            }
            try thread.call(discipline) { () throws(KernelError) in try Kernels.stencil(grid, into: &next) }
            var digest = Digest()
            next.withUnsafeBufferPointer { out in
                let second = min(1, n - 1) * n
                for j in 0..<n {
                    thread.checkpoint()
                    digest.add(out[second + j])
                    digest.add(out[j * n + j])
                }
            }
            return digest.value
        }
    }
}

// MARK: - mandelbrot

struct MandelbrotWorkload: Workload {
    let size: Int
    static let maxIterations = 256
    var name: String { WorkloadKind.mandelbrot.rawValue }

    func makeWorker() throws(KernelError) -> any WorkloadWorker {
        Worker(viewport: .classic(size: size), counts: [UInt32](repeating: 0, count: size))
    }

    struct Worker: WorkloadWorker {
        let viewport: Kernels.Viewport
        var counts: [UInt32]

        mutating func run(unit: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64 {
            // Unit k is grid row k mod size, so any unit count covers the image evenly.
            let row = unit % viewport.width
            let viewport = self.viewport
            try counts.withUnsafeMutableBufferPointer { (counts) throws(KernelError) in
                try thread.call(discipline) { () throws(KernelError) in
                    try Kernels.mandelbrot(viewport, rows: row..<row + 1,
                                           maxIterations: MandelbrotWorkload.maxIterations, into: counts)
                }
            }
            var digest = Digest()
            digest.add(UInt64(unit))
            for count in counts {
                thread.checkpoint()
                digest.add(UInt64(count))
            }
            return digest.value
        }
    }
}

// MARK: - hash

struct HashWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.hash.rawValue }

    func makeWorker() throws(KernelError) -> any WorkloadWorker {
        Worker(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    }

    struct Worker: WorkloadWorker {
        var bytes: [UInt8]

        mutating func run(unit: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64 {
            thread.checkpoint()
            let seed = UInt64(unit)
            return bytes.withUnsafeBytes { bytes in
                thread.call(discipline) { Kernels.fnv1a(bytes, seed: seed) }
            }
        }
    }
}

// MARK: - countdown

struct CountdownWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.countdown.rawValue }

    func makeWorker() throws(KernelError) -> any WorkloadWorker { Worker(size: size) }

    struct Worker: WorkloadWorker {
        let size: Int

        mutating func run(unit: Int, on thread: ThreadState, discipline: CallDiscipline) throws(KernelError) -> UInt64 {
            // while n > 0: n -= 1   — a backward jump, so a checkpoint, every iteration.
            var n = size
            var steps: UInt64 = 0
            while n > 0 {
                thread.checkpoint()
                n -= 1
                steps &+= 1
            }
            var digest = Digest()
            digest.add(UInt64(unit))
            digest.add(steps)
            return digest.value
        }
    }
}
