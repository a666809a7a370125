import Benchmark
import Foundation
import GILLab

// What wait attribution costs (`gillab run --stats`, `gillab report`): the lock records every
// thread's events, the interpreter names its location at each poll point and native call, and
// the waits are swept once at the end. Goals: ≤ 1 % on gemm n=256 released, ≤ 3 % on countdown
// holding (the worst case: a poll point every iteration, a switch every 5 ms).
//
// Two kinds of benchmark. "off" and "on" run the 2-thread work with it off and on, one after
// the other, as package-benchmark runs benchmarks: on this shared VM the host's drift between
// them is larger than the effect. "on ÷ off" runs an off and an on trial in each iteration, in
// alternating order, and records their ratio in thousandths: interleaved pairs, whose median is
// the figure to quote.

/// Two threads, each with its own interpreter running `source`'s `unit(n)` `units / 2` times
/// with argument `argument`, under a lock with or without attribution.
func twoThreads(source: String, filename: String, units: Int, argument: Int, attribute: Bool,
                natives: @escaping @Sendable (Interpreter) -> Void = { _ in }) {
    let recorder = attribute ? LockEventRecorder() : nil
    let lock = InterpreterLock(eventHook: recorder)
    let done = DispatchGroup()
    for index in 0..<2 {
        done.enter()
        Thread.detachNewThread {
            let thread = lock.makeThreadState(name: "worker-\(index)")
            thread.acquire()
            let interpreter = Interpreter(thread: thread)
            natives(interpreter)
            try! interpreter.load(source, filename: filename)
            for _ in 0..<(units / 2) { blackHole(try! interpreter.call("unit", [interpreter.int(argument)])) }
            thread.detach()
            done.leave()
        }
    }
    done.wait()
    if let recorder { blackHole(WaitAttribution(recorder, locations: lock.locations).blockers.count) }
}

/// `unit(k)` calls a native dgemm of order 256 that releases the lock, as the gemm workload's
/// glue does.
let gemmSource = """
    def unit(k):
        dgemm()
        return k
    """

func registerGemm(_ interpreter: Interpreter) {
    let a = try! Matrix(rows: 256, columns: 256, repeating: 1.5)
    let b = try! Matrix(rows: 256, columns: 256, repeating: 0.5)
    var c = try! Matrix(rows: 256, columns: 256)
    let zero = interpreter.int(0)
    interpreter.register("dgemm", discipline: .release, arity: 0...0) { thread, discipline, _ throws(PyError) in
        thread.call(discipline) { try! Kernels.gemm(a, b, into: &c) }
        return zero
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput],  // the default metrics; ARC metrics crash here
        timeUnits: .microseconds,
        warmupIterations: 2,
        maxDuration: .seconds(6),
        maxIterations: 1_000_000)
    try? BLAS.setThreads(1)

    func pairs(_ name: String, _ trial: @escaping @Sendable (Bool) -> Void) {
        let metric = BenchmarkMetric.custom("on ÷ off (‰)", polarity: .prefersSmaller, useScalingFactor: false)
        Benchmark("\(name), on ÷ off", configuration: .init(metrics: [metric], maxDuration: .seconds(40), maxIterations: 81)) { benchmark in
            for iteration in benchmark.scaledIterations {
                var nanoseconds: [Bool: UInt64] = [:]
                for attribute in iteration % 2 == 0 ? [false, true] : [true, false] {
                    let start = DispatchTime.now().uptimeNanoseconds
                    trial(attribute)
                    nanoseconds[attribute] = DispatchTime.now().uptimeNanoseconds - start
                }
                benchmark.measurement(metric, Int((Double(nanoseconds[true]!) / Double(nanoseconds[false]!) * 1000).rounded()))
            }
        }
    }
    pairs("gemm n=256 ×2 released") { attribute in
        twoThreads(source: gemmSource, filename: "gemm.py", units: 64, argument: 0, attribute: attribute, natives: registerGemm)
    }
    pairs("countdown ×2 holding") { attribute in
        twoThreads(source: Programs.countdown, filename: "countdown.py", units: 8, argument: 250_000, attribute: attribute)
    }

    for attribute in [false, true] {
        let name = attribute ? "attribution on" : "attribution off"
        Benchmark("gemm n=256 ×2 released, \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                twoThreads(source: gemmSource, filename: "gemm.py", units: 16, argument: 0, attribute: attribute,
                           natives: registerGemm)
            }
        }
        Benchmark("countdown ×2 holding, \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                twoThreads(source: Programs.countdown, filename: "countdown.py", units: 8, argument: 250_000, attribute: attribute)
            }
        }
    }
}
