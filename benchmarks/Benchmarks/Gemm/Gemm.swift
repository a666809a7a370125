import Benchmark
import GILLab

// GEMM through the Swift bindings on one thread, holding the interpreter lock during the call
// and releasing it around the call. The difference is the cost of one uncontended release and
// re-take (CPython: Py_BEGIN/END_ALLOW_THREADS), set against the kernel it wraps.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    for size in [64, 256] {
        for discipline in CallDiscipline.allCases {
            Benchmark("gemm n=\(size) \(discipline.rawValue)") { benchmark in
                let a = try Matrix(rows: size, columns: size, repeating: 1.5)
                let b = try Matrix(rows: size, columns: size, repeating: 0.5)
                var c = try Matrix(rows: size, columns: size)
                let thread = InterpreterLock().makeThreadState(name: "bench")
                try BLAS.setThreads(1)
                thread.acquire()
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    try thread.call(discipline) { () throws(KernelError) in try Kernels.gemm(a, b, into: &c) }
                }
                benchmark.stopMeasurement()
                blackHole(c[0, 0])
                thread.release()
            }
        }
    }
}
