import Benchmark
import Foundation
import GILLab

// What watching the lock costs. The same 2-thread run, gemm n=256 with the lock released around
// every dgemm, with no hook, with the timeline recorder behind `gillab run --trace`, and with a
// callback hook; then the uncontended release-and-reacquire round trip, where the per-event cost
// is not hidden behind a kernel. Compare the p50s of a pair: the goal is ≤ 1 % for no hook
// (one nil test per event) and ≤ 3 % for the recorder, on gemm.

/// Two threads share `units` dgemm calls of order `size`, releasing the lock around each.
func releasedGemm(units: Int, size: Int, hook: (any LockEventHook)?) throws {
    let lock = InterpreterLock(eventHook: hook)
    let a = try Matrix(rows: size, columns: size, repeating: 1.5)
    let b = try Matrix(rows: size, columns: size, repeating: 0.5)
    let done = DispatchGroup()
    for index in 0..<2 {
        done.enter()
        Thread.detachNewThread {
            let thread = lock.makeThreadState(name: "worker-\(index)")
            var c = try! Matrix(rows: size, columns: size)
            thread.acquire()
            for _ in 0..<(units / 2) {
                thread.checkpoint()
                try! thread.withoutLock { () throws(KernelError) in try Kernels.gemm(a, b, into: &c) }
            }
            thread.detach()
            blackHole(c[0, 0])
            done.leave()
        }
    }
    done.wait()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        warmupIterations: 2,
        maxDuration: .seconds(4),
        maxIterations: 1_000_000)
    try? BLAS.setThreads(1)

    let hooks: [(String, @Sendable () -> (any LockEventHook)?)] = [
        ("no hook", { nil }),
        ("timeline recorder", { LockEventRecorder() }),
        ("callback hook", { LockEventCallback { blackHole($0) } }),
    ]
    for (name, makeHook) in hooks {
        Benchmark("gemm n=256 ×2 released, \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                try releasedGemm(units: 16, size: 256, hook: makeHook())
            }
        }
    }
    for (name, makeHook) in hooks {
        Benchmark("release + reacquire round trip, \(name)", configuration: .init(scalingFactor: .kilo)) { benchmark in
            let hook = makeHook()
            let thread = InterpreterLock(eventHook: hook).makeThreadState(name: "bench")
            thread.acquire()
            // 1000 round trips per iteration; the recorder keeps its first million events and counts the rest.
            for _ in benchmark.scaledIterations {
                thread.withoutLock {}
            }
            thread.detach()
        }
    }
}
