import Benchmark
import GILLab

// The interpreter's dispatch rate on Beazley's countdown (`while n > 0: n -= 1`), one thread,
// lock held and uncontended. Each iteration is nine bytecodes, one int allocation and one
// eval-breaker poll. CPython 3.11 runs the same loop; `scripts/countdown_vs_cpython.sh` times
// both in one run and prints the ratio.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 50)

    Benchmark("countdown 1M iterations", configuration: .init(scalingFactor: .mega)) { benchmark in
        let thread = InterpreterLock().makeThreadState(name: "bench")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        try interpreter.load(Programs.countdown)
        benchmark.startMeasurement()
        for _ in 0..<benchmark.scaledIterations.count / 1_000_000 {
            blackHole(try interpreter.call("unit", [interpreter.int(1_000_000)]))
        }
        benchmark.stopMeasurement()
        thread.release()
    }
}
