import Foundation

// GILLab next to the real thing. `scripts/cpython_side.py` measures dgemm (ctypes: PyDLL keeps
// the GIL, CDLL drops it), countdown and the convoy in the CPython it runs under; then the same
// workloads run here under the lock configuration given, and each row pairs the two speedups.
// The switch-interval sweep pairs the convoy's p50 latency at each `sys.setswitchinterval`
// with GILLab's at the same `--switch-interval`.

/// A part of `gillab compare-cpython`.
public enum CPythonComparisonPart: String, Sendable, CaseIterable, Codable {
    /// dgemm's hold and release speedups at each size.
    case dgemm
    /// countdown on 2 threads against 1.
    case countdown
    /// The request rate of a thread sleeping 1 ms beside a CPU thread ÷ alone.
    case convoy
    /// The convoy's p50 latency beside a CPU thread at each of ``CPythonComparisonPlan/switchIntervals``.
    case switchInterval = "switch-interval"
}

/// What `gillab compare-cpython` runs.
public struct CPythonComparisonPlan: Sendable, Equatable {
    /// The CPython interpreter to run the script with.
    public var python: String
    /// `scripts/cpython_side.py`.
    public var script: String
    /// dgemm orders.
    public var sizes: [Int]
    /// The countdown's total count.
    public var countdown: Int
    /// Counted rounds per row on both sides, after one warm-up.
    public var repeats: Int
    /// GILLab's lock; `new-gil` with CPython's 5 ms interval by default.
    public var lock: LockConfiguration
    /// Whether to pad GILLab's dgemm glue to CPython's held time per call (``GlueMatch``).
    public var matchGlue: Bool
    /// The parts to run, in ``CPythonComparisonPart`` order whatever the order here.
    public var parts: [CPythonComparisonPart]
    /// The switch intervals of the sweep; GILLab's lock takes each in turn, its other settings kept.
    public var switchIntervals: [Duration]
    /// Blocks per side and switch interval in the sweep.
    public var sweepSamples: Int

    /// dgemm at 16, 64, 256 and 512, a countdown of 10 M, 9 repeats, `new-gil`, glue matched;
    /// every part, the sweep at 1, 5 and 20 ms with 200 blocks each.
    public init(python: String, script: String, sizes: [Int] = [16, 64, 256, 512], countdown: Int = 10_000_000,
                repeats: Int = 9, lock: LockConfiguration = .default, matchGlue: Bool = true,
                parts: [CPythonComparisonPart] = CPythonComparisonPart.allCases,
                switchIntervals: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(20)], sweepSamples: Int = 200) {
        self.matchGlue = matchGlue
        self.parts = parts
        self.switchIntervals = switchIntervals
        self.sweepSamples = sweepSamples
        self.python = python
        self.script = script
        self.sizes = sizes
        self.countdown = countdown
        self.repeats = repeats
        self.lock = lock
    }

    /// Checks every setting but the script (``validateScript()``).
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !sizes.isEmpty else { throw .setting("sizes", "no sizes given", subject: "") }
        if let bad = sizes.first(where: { !(1...4096).contains($0) }) {
            throw .setting("sizes", "must be between 1 and 4096, got \(bad)")
        }
        guard countdown >= 1 else { throw .setting("countdown", "must be at least 1, got \(countdown)") }
        guard (1...50).contains(repeats) else { throw .setting("repeats", "must be between 1 and 50, got \(repeats)", subject: "repeat") }
        guard !parts.isEmpty else { throw .setting("parts", "no parts given", subject: "") }
        if parts.contains(.switchInterval) {
            guard !switchIntervals.isEmpty else { throw .setting("switchIntervals", "no switch intervals given", subject: "") }
            for interval in switchIntervals {
                do throws(LockConfigurationError) { _ = try LockConfiguration(switchInterval: interval) } catch {
                    throw .setting("switchIntervals", error.problem, subject: "switch interval")
                }
            }
            guard (1...100_000).contains(sweepSamples) else {
                throw .setting("sweepSamples", "must be between 1 and 100000, got \(sweepSamples)")
            }
        }
    }

    /// Checks that the CPython side's script can be read, as ``CPythonComparison/run(_:progress:)``
    /// does before it starts.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the script.
    public func validateScript() throws(RunnerError) {
        guard FileManager.default.isReadableFile(atPath: script) else {
            throw .setting("script", "cannot read the CPython side's script '\(script)'", subject: "")
        }
    }
}

/// One workload, mode and thread count on both sides.
public struct CPythonComparisonRow: Sendable, Codable, Equatable {
    /// `dgemm`, `countdown` or `convoy`.
    public var workload: String
    /// Matrix order, total count, or the block in µs.
    public var size: Int
    /// `hold`, `release` or (convoy) `beside-cpu`.
    public var mode: String
    /// Threads on both sides.
    public var threads: Int
    /// Speedup over 1 thread releasing (dgemm), over 1 thread (countdown), or request rate beside
    /// a CPU thread ÷ alone (convoy).
    public var cpythonSpeedup: Double
    /// The same figure measured in GILLab.
    public var gillabSpeedup: Double
    /// GILLab's minus CPython's.
    public var difference: Double

    enum CodingKeys: String, CodingKey {
        case workload, size, mode, threads, cpythonSpeedup = "cpython_speedup", gillabSpeedup = "gillab_speedup", difference
    }
}

/// The convoy at one switch interval on both sides: a thread sleeping 1 ms beside one CPU-bound
/// thread, and how much longer than 1 ms each sleep took until the thread held the lock again.
public struct SwitchIntervalRow: Sendable, Codable, Equatable {
    /// The switch interval both sides ran with, in milliseconds.
    public var switchIntervalMilliseconds: Double
    /// CPython's p50 extra latency, µs.
    public var cpythonP50Microseconds: Double
    /// GILLab's p50 extra latency, µs.
    public var gillabP50Microseconds: Double
    /// CPython's p99, µs.
    public var cpythonP99Microseconds: Double
    /// GILLab's p99, µs.
    public var gillabP99Microseconds: Double

    /// GILLab's p50 ÷ CPython's.
    public var p50Ratio: Double { gillabP50Microseconds / cpythonP50Microseconds }

    enum CodingKeys: String, CodingKey {
        case switchIntervalMilliseconds = "switch_interval_ms", cpythonP50Microseconds = "cpython_p50_us"
        case gillabP50Microseconds = "gillab_p50_us", cpythonP99Microseconds = "cpython_p99_us", gillabP99Microseconds = "gillab_p99_us"
    }
}

/// How `compare-cpython` evened out the Python-level work around each dgemm call: CPython's
/// ctypes call converts 14 arguments with the GIL held, which costs more than GILLab's native
/// call, so GILLab's unit gets extra Python-level work (`pad`) until it holds the lock as long.
/// Then the two sides differ only in their locks.
public struct GlueMatch: Sendable, Codable, Equatable {
    /// CPython: µs per dgemm unit with a zero-order call (the arithmetic left out).
    public var cpythonMicroseconds: Double
    /// GILLab: µs the lock is held per `gemm-call` unit at n = 1, unpadded.
    public var gillabMicroseconds: Double
    /// GILLab: what one pad iteration adds, in µs.
    public var microsecondsPerPadIteration: Double
    /// Pad iterations added to each GILLab unit; 0 if GILLab's glue was already the dearer.
    public var padIterations: Int

    enum CodingKeys: String, CodingKey {
        case cpythonMicroseconds = "cpython_us", gillabMicroseconds = "gillab_us"
        case microsecondsPerPadIteration = "us_per_pad_iteration", padIterations = "pad_iterations"
    }

    /// The pad that brings GILLab's glue to CPython's: (CPython − GILLab) ÷ cost per iteration,
    /// rounded, and never negative.
    /// - Parameters:
    ///   - cpython: CPython's µs per call.
    ///   - gillab: GILLab's unpadded µs per call.
    ///   - perIteration: µs one pad iteration adds.
    /// - Returns: whole iterations; 0 when GILLab's glue is already the dearer or the cost is not positive.
    public static func padIterations(cpython: Double, gillab: Double, perIteration: Double) -> Int {
        guard perIteration > 0, cpython > gillab, (cpython - gillab).isFinite else { return 0 }
        return Int(((cpython - gillab) / perIteration).rounded())
    }
}

/// What the comparison produced.
public struct CPythonComparisonReport: Sendable, Codable, Equatable {
    /// The machine both sides ran on.
    public var machine: MachineInfo
    /// CPython's version, as `sys.version` gives it.
    public var python: String
    /// GILLab's lock policy.
    public var policy: LockPolicy
    /// Counted rounds per row on each side.
    public var repeats: Int
    /// One row per workload, size, mode and thread count measured on both sides.
    public var rows: [CPythonComparisonRow]
    /// How the dgemm glue was matched; `nil` when it was not (`--no-match-glue`, or no dgemm).
    public var glue: GlueMatch?
    /// The switch-interval sweep, one row per interval; empty when it did not run.
    public var switchIntervalRows: [SwitchIntervalRow] = []

    enum CodingKeys: String, CodingKey {
        case machine, python, policy, repeats = "repeat", rows, glue, switchIntervalRows = "switch_interval"
    }

    /// The largest |difference| over dgemm's hold and release rows at n ≥ 64 on 2 threads: the
    /// figure the ±0.10 goal is about.
    public var largestDgemmDifference: Double? {
        rows.filter { $0.workload == "dgemm" && $0.size >= 64 && $0.threads == 2 }.map { abs($0.difference) }.max()
    }
}

/// `gillab compare-cpython`.
public enum CPythonComparison {
    /// The rows the Python script prints.
    struct PythonSide: Decodable {
        struct Row: Decodable {
            var workload: String
            var size: Int
            var mode: String
            var threads: Int
            var speedup: Double
        }
        var python: String
        var rows: [Row]
        /// With `--only glue`: µs per unit besides the arithmetic.
        var glueMicroseconds: Double?
        /// With `--only switch-interval`: the convoy's percentiles.
        var latency: Latency?

        struct Latency: Decodable {
            var p50: Double
            var p99: Double
            enum CodingKeys: String, CodingKey { case p50 = "p50_us", p99 = "p99_us" }
        }

        enum CodingKeys: String, CodingKey {
            case python, rows, glueMicroseconds = "glue_us", latency = "convoy_latency"
        }
    }

    /// Runs each workload in CPython, then at once in GILLab, workload by workload, so that a
    /// drift of the machine falls on both sides of a pair alike.
    /// - Throws: ``RunnerError``; a failing script is a ``RunnerError/failed(_:)`` with its stderr.
    public static func run(_ plan: CPythonComparisonPlan, progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> CPythonComparisonReport {
        try plan.validate()
        try plan.validateScript()
        let machine = MachineInfo.current()
        let parts = Set(plan.parts)
        let dgemm = parts.contains(.dgemm)
        let steps = (dgemm ? 2 * plan.sizes.count + (plan.matchGlue ? 1 : 0) : 0)
            + (parts.contains(.countdown) ? 2 : 0) + (parts.contains(.convoy) ? 2 : 0)
            + (parts.contains(.switchInterval) ? 2 * plan.switchIntervals.count : 0)
        var step = 0
        var version = ""
        var rows: [CPythonComparisonRow] = []
        var glue: GlueMatch?
        var sweep: [SwitchIntervalRow] = []
        func pair(_ cpython: PythonSide, _ gillab: [String: Double]) {
            version = cpython.python
            for row in cpython.rows {
                guard let ours = gillab["\(row.workload) \(row.size) \(row.mode) \(row.threads)"] else { continue }
                rows.append(CPythonComparisonRow(workload: row.workload, size: row.size, mode: row.mode, threads: row.threads,
                                                 cpythonSpeedup: row.speedup, gillabSpeedup: ours, difference: ours - row.speedup))
            }
        }
        func next() { progress(step, steps); step += 1 }

        if dgemm && plan.matchGlue {
            next()
            let cpython = try runScript(plan, ["--only", "glue"])
            guard let cpythonGlue = cpython.glueMicroseconds else {
                throw .failed("the CPython side's script printed no glue_us for --only glue")
            }
            let unpadded = try gillabGlue(pad: 0, plan)
            let perIteration = (try gillabGlue(pad: Self.calibrationPad, plan) - unpadded) / Double(Self.calibrationPad)
            glue = GlueMatch(cpythonMicroseconds: cpythonGlue, gillabMicroseconds: unpadded, microsecondsPerPadIteration: perIteration,
                             padIterations: GlueMatch.padIterations(cpython: cpythonGlue, gillab: unpadded, perIteration: perIteration))
        }
        for size in dgemm ? plan.sizes : [] {
            next()
            let cpython = try runScript(plan, ["--only", "dgemm", "--sizes", "\(size)"])
            next()
            // gemm-call: the script's glue, line for line, padded to the same held time, so
            // that both sides hold the lock as long around each call.
            let gemm = try gemmCall(size: size, pad: glue?.padIterations ?? 0)
            let report = try Runner.run(RunPlan(workload: .gemmCall, size: size, threads: [1, 2], modes: [.serial, .hold, .release],
                                                repeats: plan.repeats, lock: plan.lock), workload: gemm)
            pair(cpython, Dictionary(uniqueKeysWithValues: report.results.filter { $0.mode != .serial }.map {
                ("dgemm \(size) \($0.mode.rawValue) \($0.threads)", $0.speedup)
            }))
        }
        if parts.contains(.countdown) {
            next()
            let cpythonCountdown = try runScript(plan, ["--only", "countdown", "--countdown", "\(plan.countdown)"])
            next()
            let countdown = try Runner.run(RunPlan(workload: .countdown, size: plan.countdown, threads: [2], modes: [.serial, .hold],
                                                   repeats: plan.repeats, lock: plan.lock))
            pair(cpythonCountdown, Dictionary(uniqueKeysWithValues: countdown.results.filter { $0.mode == .hold }.map {
                ("countdown \(plan.countdown) hold \($0.threads)", $0.speedup)
            }))
        }
        if parts.contains(.convoy) {
            next()
            let cpythonConvoy = try runScript(plan, ["--only", "convoy"])
            next()
            // The convoy as CPython's time.sleep sees it: default timer slack, 1 ms blocks.
            let convoy = try ConvoyScenario.run(ConvoyPlan(policies: [plan.lock.policy], cpuThreads: [0, 1], samples: 150,
                                                           rounds: max(1, plan.repeats / 2), lock: plan.lock, timerSlack: nil))
            if let alone = convoy.results.first(where: { $0.cpuThreads == 0 }),
               let beside = convoy.results.first(where: { $0.cpuThreads == 1 }) {
                pair(cpythonConvoy, ["convoy 1000 beside-cpu 2": beside.ioRequestsPerSecond / alone.ioRequestsPerSecond])
            }
        }
        for interval in parts.contains(.switchInterval) ? plan.switchIntervals : [] {
            // CPython's own convoy at sys.setswitchinterval(interval), then GILLab's at once.
            next()
            let seconds = Double(interval.wholeNanoseconds) / 1e9
            let cpython = try runScript(plan, ["--only", "switch-interval", "--switch-interval", "\(seconds)",
                                               "--convoy-samples", "\(plan.sweepSamples)"])
            guard let latency = cpython.latency else {
                throw .failed("the CPython side's script printed no convoy_latency for --only switch-interval")
            }
            version = cpython.python
            next()
            var lock = plan.lock
            lock.switchInterval = interval
            // Ten times what the samples need at one interval of wait each, so that a policy
            // that starves the sleeper (legacy-gil) stops early and says so instead of hanging.
            let limit = Duration.milliseconds(1) * (10 * plan.sweepSamples) + interval * (10 * plan.sweepSamples) + .seconds(10)
            let convoy = try ConvoyScenario.run(ConvoyPlan(policies: [lock.policy], cpuThreads: [1], samples: plan.sweepSamples,
                                                           rounds: 1, lock: lock, timeLimit: limit, timerSlack: nil))
            guard let beside = convoy.results.first else { throw .failed("the convoy at \(interval) produced no row") }
            sweep.append(SwitchIntervalRow(
                switchIntervalMilliseconds: seconds * 1e3, cpythonP50Microseconds: latency.p50,
                gillabP50Microseconds: beside.latencyMicroseconds.p50, cpythonP99Microseconds: latency.p99,
                gillabP99Microseconds: beside.latencyMicroseconds.p99))
        }
        progress(steps, steps)
        return CPythonComparisonReport(machine: machine, python: version, policy: plan.lock.policy,
                                       repeats: plan.repeats, rows: rows, glue: glue, switchIntervalRows: sweep)
    }

    /// Pad iterations used to measure what one costs.
    static let calibrationPad = 200

    /// A `gemm-call` workload at `size` with `pad` iterations of extra glue per unit.
    static func gemmCall(size: Int, pad: Int) throws(RunnerError) -> GemmWorkload {
        do throws(KernelError) {
            var workload = try GemmWorkload(size: size, kind: .gemmCall)
            workload.padIterations = pad
            return workload
        } catch {
            throw .workload(.kernel(error))
        }
    }

    /// µs the lock is held per `gemm-call` unit at n = 1 with `pad` iterations, serial, median
    /// of the plan's repeats: GILLab's glue, as the script's zero-order call measures CPython's.
    static func gillabGlue(pad: Int, _ plan: CPythonComparisonPlan) throws(RunnerError) -> Double {
        let units = 20_000
        let report = try Runner.run(RunPlan(workload: .gemmCall, size: 1, units: units, threads: [1], modes: [.serial],
                                            repeats: plan.repeats, lock: plan.lock), workload: try gemmCall(size: 1, pad: pad))
        guard let serial = report.results.first else { throw .failed("the glue calibration produced no row") }
        return serial.lock.heldFraction * serial.wall.median / Double(units) * 1e6
    }

    /// Runs the script with `arguments` after the repeat count; returns its rows.
    static func runScript(_ plan: CPythonComparisonPlan, _ arguments: [String]) throws(RunnerError) -> PythonSide {
        let data = try runPython(plan.python, [plan.script, "--repeat", "\(plan.repeats)"] + arguments, what: plan.script)
        do {
            return try JSONDecoder().decode(PythonSide.self, from: data)
        } catch {
            throw .failed("the CPython side printed something other than its JSON report: \(error)")
        }
    }

    /// Runs `python` with `arguments` and returns what it printed on stdout; a failure names
    /// `what` and the last line of its stderr.
    static func runPython(_ python: String, _ arguments: [String], what: String) throws(RunnerError) -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw .failed("cannot start \(python): \(error.localizedDescription)")
        }
        // Read stderr on the side, so that a chatty script cannot fill its pipe and stall.
        let stderr = Locked(Data())
        let reader = NativeThread { let data = errors.fileHandleForReading.readDataToEndOfFile(); stderr.withLock { $0 = data } }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        reader.join()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: stderr.withLock { $0 }, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw .failed("the CPython side (\(python) \(what)) failed with status \(process.terminationStatus): \(message)")
        }
        return data
    }
}
