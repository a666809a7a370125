/// The work a run splits across threads: a fixed number of units, each some "Python-level"
/// work under the lock, usually around one kernel call.
///
/// `gemm`, `countdown`, `pymatmul` and `records` are interpreter programs (see ``Programs``):
/// their Python-level work is bytecode, and the lock changes hands where the eval loop polls.
/// `stencil`, `mandelbrot` and `hash` keep a thin Swift glue loop that polls once per element.
public protocol Workload: Sendable {
    /// The workload's name, as `--workload` spells it.
    var name: String { get }
    /// The problem size (see ``WorkloadKind/summary``).
    var size: Int { get }
    /// Makes one thread's worker: its buffers, and its interpreter with the program loaded.
    /// Called with `thread` holding the lock, before timing starts.
    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker
    /// The data a worker is built from, as bytes: what multiprocessing would pickle to send to a
    /// worker process. Empty (the default) when the settings are all a worker needs.
    func encodedInput() -> [UInt8]
    /// Makes a worker from bytes that ``encodedInput()`` produced, perhaps in another process.
    /// - Throws: ``WorkloadError/invalid(_:)`` when `input` has the wrong length.
    func makeWorker(on thread: ThreadState, discipline: CallDiscipline,
                    input: UnsafeRawBufferPointer) throws(WorkloadError) -> any WorkloadWorker
    /// Releases what the workload holds outside the process (a server, temporary files). The
    /// runner calls it once, after the last trial, also when the run fails.
    func close()
}

extension Workload {
    /// Nothing to release.
    public func close() {}
    /// No input beyond the workload's settings.
    public func encodedInput() -> [UInt8] { [] }
    /// Ignores `input`, which is empty, and makes the worker from the settings alone.
    public func makeWorker(on thread: ThreadState, discipline: CallDiscipline,
                           input: UnsafeRawBufferPointer) throws(WorkloadError) -> any WorkloadWorker {
        try makeWorker(on: thread, discipline: discipline)
    }
}

/// Checks that `input` has the `expected` byte count before a worker is built from it.
func checkInput(_ input: UnsafeRawBufferPointer, expected: Int, _ workload: String) throws(WorkloadError) {
    guard input.count == expected else {
        throw .invalid("\(workload) input has \(input.count) bytes, expected \(expected)")
    }
}

/// A matrix whose elements are the doubles at `input[offset...]`, in row-major order.
func matrix(from input: UnsafeRawBufferPointer, rows: Int, columns: Int, offset: Int = 0) throws(WorkloadError) -> Matrix {
    do throws(KernelError) {
        return try Matrix(rows: rows, columns: columns) { i, j in
            input.loadUnaligned(fromByteOffset: offset + (i * columns + j) * 8, as: Double.self)
        }
    } catch {
        throw .kernel(error)
    }
}

extension Array where Element == UInt8 {
    /// Appends the raw bytes of `matrix`'s elements.
    mutating func append(_ matrix: Matrix) {
        matrix.withUnsafeBufferPointer { append(contentsOf: UnsafeRawBufferPointer($0)) }
    }
}

/// One thread's state for a ``Workload``.
public protocol WorkloadWorker {
    /// Runs unit `index`. The thread holds the lock on entry and on return.
    /// - Returns: a digest of the unit's result. The run adds the digests of all units, so the
    ///   total does not depend on how units were split across threads.
    mutating func run(unit index: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64
}

/// Why a workload failed.
public enum WorkloadError: Error, Equatable, CustomStringConvertible {
    /// A kernel refused its arguments.
    case kernel(KernelError)
    /// The interpreter program raised an exception.
    case python(PyError)
    /// A setting is out of range; the message names it and its value.
    case invalid(String)
    /// A system call of an I/O workload failed; the message names the call and the reason.
    case io(String)

    /// A one-line message.
    public var description: String {
        switch self {
        case .kernel(let error): error.description
        case .python(let error): error.description
        case .invalid(let message), .io(let message): message
        }
    }
}

/// The built-in workloads.
public enum WorkloadKind: String, Sendable, CaseIterable, Codable {
    /// Interpreter code sets an element of A, calls OpenBLAS dgemm, and reads back part of C.
    case gemm
    /// `gemm` with the least glue: interpreter code sets A[0, 0], calls dgemm and returns
    /// C[0, 0], as `scripts/cpython_side.py` calls `cblas_dgemm` through ctypes, line for line.
    /// What `gillab compare-cpython` runs, so that both sides hold the lock for the same work.
    case gemmCall = "gemm-call"
    /// 5-point Jacobi sweep: memory-bound.
    case stencil
    /// Mandelbrot escape counts: compute-bound and branchy.
    case mandelbrot
    /// FNV-1a hash: latency-bound.
    case hash
    /// Interpreter code only: `while n > 0: n -= 1` (Beazley's test). Never releases the lock.
    case countdown
    /// Interpreter code only: a matrix product over lists of floats.
    case pymatmul
    /// Interpreter code only: parse text lines into dicts, aggregate, serialize back.
    case records
    /// I/O-bound: a little interpreter code, then a blocking sleep of `size` microseconds.
    case ioSleep = "io-sleep"
    /// I/O-bound: round trips of `size`-byte messages to an echo server on 127.0.0.1.
    case ioEcho = "io-echo"
    /// I/O: reads of `size`-byte blocks from a file the run creates in a temporary folder.
    case ioFile = "io-file"

    /// One line for `gillab list`.
    public var summary: String {
        switch self {
        case .gemm: "interpreter code sets an element of A, calls OpenBLAS dgemm (size×size), reads back part of C"
        case .gemmCall: "gemm with the least glue: set A[0,0], call dgemm, return C[0,0] (a ctypes call; compare-cpython runs it)"
        case .stencil: "5-point Jacobi sweep on a size×size grid (memory-bound C kernel, Swift glue)"
        case .mandelbrot: "Mandelbrot escape counts, one size-wide row per unit, 256 iterations (C kernel, Swift glue)"
        case .hash: "FNV-1a over a size-byte buffer (latency-bound C kernel, Swift glue)"
        case .countdown: "interpreter only: count size down to zero in total, split in units (Beazley's test)"
        case .pymatmul: "interpreter only: size×size matrix product over lists of floats, per unit"
        case .records: "interpreter only: parse size text lines into dicts, aggregate, serialize, per unit"
        case .ioSleep: "I/O-bound: a little interpreter code, then a blocking call of size µs (released in release mode)"
        case .ioEcho: "I/O-bound: size-byte request/response round trips to an echo server gillab runs on 127.0.0.1"
        case .ioFile: "I/O: pread of size-byte blocks of a temporary file (from the page cache: a copy, not a wait)"
        }
    }

    /// Whether the workload waits on I/O (a sleep, a socket, a file) rather than computes.
    public var isIOBound: Bool {
        switch self {
        case .ioSleep, .ioEcho, .ioFile: true
        default: false
        }
    }

    /// Whether the workload calls a kernel, so that `hold` and `release` differ.
    public var callsKernel: Bool {
        switch self {
        case .gemm, .gemmCall, .stencil, .mandelbrot, .hash, .ioSleep, .ioEcho, .ioFile: true
        case .countdown, .pymatmul, .records: false
        }
    }

    /// The largest size accepted, where there is one: an io-echo message must fit loopback's
    /// socket buffers whole, and an io-file block is kept to 16 MiB.
    public var maximumSize: Int? {
        switch self {
        case .ioEcho: EchoWorkload.maximumSize
        case .ioFile: FileWorkload.maximumSize
        default: nil
        }
    }

    /// The size used when none is given.
    public var defaultSize: Int {
        switch self {
        case .gemm, .gemmCall, .stencil, .mandelbrot: 512
        case .hash: 1 << 20
        case .countdown: 20_000_000
        case .pymatmul: 32
        case .records, .ioSleep: 1000
        case .ioEcho: 256
        case .ioFile: 16384
        }
    }

    /// Units that make a serial run take roughly a quarter of a second on a current core
    /// (countdown: 64 chunks of the total).
    public func defaultUnits(size: Int) -> Int {
        if self == .countdown { return 64 }
        // 240 divides evenly among 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 16, … threads.
        if self == .ioSleep { return 240 }
        if self == .ioEcho || self == .ioFile { return 4800 }
        let n = Double(size)
        let seconds: Double = switch self {
        case .gemm, .gemmCall: 2 * n * n * n / 40e9 + 50 * n * 1e-9
        case .stencil: n * n * 0.7e-9
        case .mandelbrot: n * 40e-9
        case .hash: n * 0.7e-9
        case .countdown, .ioSleep, .ioEcho, .ioFile: 1
        case .pymatmul: n * n * n * 500e-9
        case .records: n * 20e-6
        }
        return min(max(Int((0.25 / max(seconds, 1e-9)).rounded(.up)), 8), 200_000)
    }

    /// Bytes one thread's buffers take.
    public func bytesPerThread(size: Int) -> Int {
        func product(_ factors: Int...) -> Int {
            factors.reduce(1) { total, factor in
                let (result, overflow) = total.multipliedReportingOverflow(by: factor)
                return overflow ? .max : result
            }
        }
        return switch self {
        case .gemm, .gemmCall: product(size, size, 24)
        case .stencil: product(size, size, 16)
        case .mandelbrot: product(size, 4)
        case .hash: size
        case .countdown, .ioSleep: 0
        case .ioEcho: product(size, 8)  // message, reply and the interpreter's strings
        case .ioFile: product(size, 8)
        case .pymatmul: product(size, size, 3, 64)  // three lists of boxed floats
        case .records: product(size, 600)  // lines, parts, dicts
        }
    }

    /// The workload at `size`.
    /// - Throws: ``WorkloadError/invalid(_:)`` when `size` < 1.
    /// - Parameters:
    ///   - size: the problem size per unit.
    ///   - units: the units the run will hand out.
    ///   - releaseThreshold: `gemm` and `gemm-call` only: release dgemm only above this matrix order.
    public func make(size: Int, units: Int, releaseThreshold: Int? = nil) throws(WorkloadError) -> any Workload {
        guard size >= 1 else { throw .invalid("\(rawValue) size must be at least 1, got \(size)") }
        switch self {
        case .gemm, .gemmCall:
            do throws(KernelError) {
                var workload = try GemmWorkload(size: size, kind: self)
                workload.releaseThreshold = releaseThreshold
                return workload
            } catch {
                throw .kernel(error)
            }
        case .stencil: return StencilWorkload(size: size)
        case .mandelbrot: return MandelbrotWorkload(size: size)
        case .hash: return HashWorkload(size: size)
        case .countdown: return ProgramWorkload.countdown(size: size, units: max(units, 1))
        case .pymatmul: return ProgramWorkload.pymatmul(size: size)
        case .records: return ProgramWorkload.records(size: size)
        case .ioSleep: return SleepWorkload(microseconds: size)
        case .ioEcho: return try EchoWorkload(size: size)
        case .ioFile: return try FileWorkload(size: size, units: max(units, 1))
        }
    }
}

// MARK: - Glue

/// A unit's result, folded as FNV-1a folds bytes: every mode must compute the same digests, so
/// their sum is the checksum that rows are compared on. Folding polls nothing; the glue loops
/// that call it poll the eval breaker themselves.
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

