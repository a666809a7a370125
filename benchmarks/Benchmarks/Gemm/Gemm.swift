import Benchmark
import COpenBLAS
import GILLab

// GEMM through the Swift bindings on one thread, holding the interpreter lock during the call
// and releasing it around the call. The difference is the cost of one uncontended release and
// re-take (CPython: Py_BEGIN/END_ALLOW_THREADS), set against the kernel it wraps. And
// `cblas_dgemm` called directly on the same buffers, with no lock, no checks and no C shim:
// what the bindings add (the goal: at most 2 % at n = 256).

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000)

    // The runner's own overhead at --threads 1: a serial run of 64 gemm units (one warm-up and
    // one counted trial, so 128 units) against the same 128 dgemm calls made directly. The
    // runner adds a thread per trial, the interpreter glue of each unit, set-up and the report.
    Benchmark("runner: gemm n=64, 64 units, serial, 1 repeat + warm-up") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Runner.run(RunPlan(workload: .gemm, size: 64, units: 64, threads: [1], modes: [.serial], repeats: 1)))
        }
    }
    Benchmark("runner baseline: 128 gemm n=64 calls on this thread") { benchmark in
        let a = try Matrix(rows: 64, columns: 64, repeating: 1.5)
        let b = try Matrix(rows: 64, columns: 64, repeating: 0.5)
        var c = try Matrix(rows: 64, columns: 64)
        try BLAS.setThreads(1)
        for _ in benchmark.scaledIterations {
            for _ in 0..<128 { try Kernels.gemm(a, b, into: &c) }
        }
        blackHole(c[0, 0])
    }

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
        Benchmark("gemm n=\(size) cblas_dgemm direct") { benchmark in
            let a = [Double](repeating: 1.5, count: size * size)
            let b = [Double](repeating: 0.5, count: size * size)
            var c = [Double](repeating: 0, count: size * size)
            try BLAS.setThreads(1)
            let n = Int32(size)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, &c, n)
            }
            benchmark.stopMeasurement()
            blackHole(c[0])
        }
    }
}
