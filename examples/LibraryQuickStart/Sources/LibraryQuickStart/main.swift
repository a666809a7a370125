// Two threads, each calling dgemm of order 512 sixteen times, first holding the interpreter lock through the
// call and then releasing it, as a C extension does with Py_BEGIN_ALLOW_THREADS. Prints the
// wall time of each and the lock's statistics. `make example` builds and runs it.
import Foundation
import GILLab

// OpenBLAS starts one thread per core. Then a dgemm that holds the lock already keeps every
// core busy, and holding looks as fast as releasing; one BLAS thread per call shows the lock.
try BLAS.setThreads(1)

let n = 512, threads = 2, callsPerThread = 16
let a = try Matrix(rows: n, columns: n) { i, j in Double((i + 2 * j) % 7) - 3 }
let b = try Matrix(rows: n, columns: n) { i, j in Double((3 * i + j) % 5) - 2 }

/// What the threads hand back: each thread's statistics and the sum of its results.
final class Collected: @unchecked Sendable {
    private let guardLock = NSLock()
    private(set) var threadStatistics: [String: LockStatistics] = [:]
    private(set) var checksum = 0.0
    private(set) var failures: [String] = []

    func add(_ name: String, _ statistics: LockStatistics, _ sum: Double) {
        guardLock.withLock { threadStatistics[name] = statistics; checksum += sum }
    }
    func fail(_ message: String) { guardLock.withLock { failures.append(message) } }
}

/// Runs `threads` threads under a fresh lock, each calling dgemm under `discipline`.
func run(_ discipline: CallDiscipline) -> (seconds: Double, lock: InterpreterLock, collected: Collected) {
    let gil = InterpreterLock()  // new-gil, CPython's 5 ms switch interval
    let collected = Collected()
    let finished = DispatchGroup()
    let start = Date()
    for k in 0..<threads {
        finished.enter()
        Thread {
            // A thread state is made and used on its own thread, as CPython's PyThreadState is.
            let thread = gil.makeThreadState(name: "worker-\(k)")
            thread.acquire()
            var sum = 0.0
            do {
                var c = try Matrix(rows: n, columns: n)
                for _ in 0..<callsPerThread {
                    thread.checkpoint()  // where the eval loop would poll the eval breaker
                    // Matrices are plain buffers, not interpreter objects: safe without the lock.
                    try thread.call(discipline) { () throws(KernelError) in try Kernels.gemm(a, b, into: &c) }
                    sum += c[0, 0] + c[n - 1, n - 1]
                }
            } catch {
                collected.fail("worker-\(k): \(error)")
            }
            thread.detach()
            collected.add(thread.name, thread.statistics, sum)
            finished.leave()
        }.start()
    }
    finished.wait()
    return (Date().timeIntervalSince(start), gil, collected)
}

var checksums: [Double] = []
for discipline in [CallDiscipline.hold, .release] {
    let (seconds, gil, collected) = run(discipline)
    guard collected.failures.isEmpty else {
        FileHandle.standardError.write(Data((collected.failures.joined(separator: "\n") + "\n").utf8))
        exit(1)
    }
    checksums.append(collected.checksum)
    print("== \(discipline.rawValue): \(threads) threads × \(callsPerThread) dgemm of order \(n): \(String(format: "%.1f", seconds * 1e3)) ms")
    print("the lock:\n" + gil.statistics.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    for (name, statistics) in collected.threadStatistics.sorted(by: { $0.key < $1.key }) {
        print("\(name):\n" + statistics.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    }
    print()
}
// Both ways compute the same products; only the lock differs.
guard checksums[0] == checksums[1] else {
    FileHandle.standardError.write(Data("checksums differ: hold \(checksums[0]), release \(checksums[1])\n".utf8))
    exit(1)
}
print("checksums agree: \(checksums[0])")
