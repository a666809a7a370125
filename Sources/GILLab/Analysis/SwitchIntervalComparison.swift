import Foundation

// The switch-interval sweep on both sides: at each interval, `scripts/cpython_side.py --only
// sweep` runs CPython's own convoy (a thread sleeping 1 ms beside countdown threads, under
// `sys.setswitchinterval`), and `SwitchIntervalScenario` runs GILLab's at the same interval,
// one right after the other (their order alternating from one interval to the next), so that a
// drift of the machine falls on both sides of a pair alike. Both keep the kernel's timer slack,
// as CPython's `time.sleep` does.

/// What `gillab compare-cpython --sweep switch-interval` runs.
public struct SwitchIntervalComparisonPlan: Sendable, Equatable {
    /// The CPython interpreter to run the script with.
    public var python: String
    /// `scripts/cpython_side.py`.
    public var script: String
    /// The intervals, CPython's `sys.setswitchinterval` and GILLab's switch interval alike.
    public var intervals: [Duration]
    /// CPU-bound threads beside the sleeper, each count a point of its own.
    public var cpuThreads: [Int]
    /// Measured sleeps per side and point.
    public var samples: Int
    /// GILLab's lock: a policy with a switch interval, `new-gil` (CPython's) by default.
    public var lock: LockConfiguration

    /// The scenario's eight intervals, beside 1 and 2 CPU threads, 200 sleeps each, `new-gil`.
    public init(python: String, script: String, intervals: [Duration] = SwitchIntervalPlan.defaultIntervals,
                cpuThreads: [Int] = [1, 2], samples: Int = 200, lock: LockConfiguration = .default) {
        self.python = python
        self.script = script
        self.intervals = intervals
        self.cpuThreads = cpuThreads
        self.samples = samples
        self.lock = lock
    }

    /// GILLab's side at one interval.
    func gillabPlan(_ interval: Duration) -> SwitchIntervalPlan {
        SwitchIntervalPlan(intervals: [interval], policies: [lock.policy], cpuThreads: cpuThreads, samples: samples, rounds: 1,
                           block: .milliseconds(1), lock: lock, timerSlack: nil)
    }

    /// Checks every setting and that the script can be read.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard let first = intervals.first else { throw .setting("switchIntervals", "no switch intervals given", subject: "") }
        do throws(RunnerError) {
            var plan = gillabPlan(first)
            plan.intervals = intervals
            try plan.validate()
        } catch .invalidSetting(let bad) {
            // The CLI's names for the scenario's settings.
            let names = ["intervals": "switchIntervals", "samples": "sweepSamples", "policies": "policy"]
            throw .invalidSetting(InvalidSetting(names[bad.setting] ?? bad.setting, bad.problem, subject: bad.subject))
        }
        guard FileManager.default.isReadableFile(atPath: script) else {
            throw .setting("script", "cannot read the CPython side's script '\(script)'", subject: "")
        }
    }
}

/// One interval and CPU thread count on both sides.
public struct SwitchIntervalComparisonRow: Sendable, Codable, Equatable {
    /// The switch interval, in ms.
    public var switchIntervalMilliseconds: Double
    /// CPU-bound threads beside the sleeper.
    public var cpuThreads: Int
    /// CPython's extra latency per sleep, µs.
    public var cpython: LatencyPercentiles
    /// GILLab's, µs.
    public var gillab: LatencyPercentiles
    /// CPython's CPU threads' throughput beside the sleeper ÷ alone.
    public var cpythonCPUVersusAlone: Double
    /// GILLab's.
    public var gillabCPUVersusAlone: Double

    /// GILLab's p50 ÷ CPython's.
    public var p50Ratio: Double { gillab.p50 / cpython.p50 }
    /// GILLab's mean ÷ CPython's; NaN when a side has no mean.
    public var meanRatio: Double { (gillab.mean ?? .nan) / (cpython.mean ?? .nan) }

    enum CodingKeys: String, CodingKey {
        case switchIntervalMilliseconds = "switch_interval_ms", cpuThreads = "cpu_threads", cpython, gillab
        case cpythonCPUVersusAlone = "cpython_cpu_vs_alone", gillabCPUVersusAlone = "gillab_cpu_vs_alone", p50Ratio = "p50_ratio"
        case meanRatio = "mean_ratio"
    }

    /// Creates a row.
    public init(switchIntervalMilliseconds: Double, cpuThreads: Int, cpython: LatencyPercentiles, gillab: LatencyPercentiles,
                cpythonCPUVersusAlone: Double, gillabCPUVersusAlone: Double) {
        self.switchIntervalMilliseconds = switchIntervalMilliseconds
        self.cpuThreads = cpuThreads
        self.cpython = cpython
        self.gillab = gillab
        self.cpythonCPUVersusAlone = cpythonCPUVersusAlone
        self.gillabCPUVersusAlone = gillabCPUVersusAlone
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(switchIntervalMilliseconds: try container.decode(Double.self, forKey: .switchIntervalMilliseconds),
                  cpuThreads: try container.decode(Int.self, forKey: .cpuThreads),
                  cpython: try container.decode(LatencyPercentiles.self, forKey: .cpython),
                  gillab: try container.decode(LatencyPercentiles.self, forKey: .gillab),
                  cpythonCPUVersusAlone: try container.decode(Double.self, forKey: .cpythonCPUVersusAlone),
                  gillabCPUVersusAlone: try container.decode(Double.self, forKey: .gillabCPUVersusAlone))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(switchIntervalMilliseconds, forKey: .switchIntervalMilliseconds)
        try container.encode(cpuThreads, forKey: .cpuThreads)
        try container.encode(cpython, forKey: .cpython)
        try container.encode(gillab, forKey: .gillab)
        try container.encode(cpythonCPUVersusAlone, forKey: .cpythonCPUVersusAlone)
        try container.encode(gillabCPUVersusAlone, forKey: .gillabCPUVersusAlone)
        try container.encode(p50Ratio, forKey: .p50Ratio)
        if meanRatio.isFinite { try container.encode(meanRatio, forKey: .meanRatio) }
    }
}

/// What the side-by-side sweep produced.
public struct SwitchIntervalComparisonReport: Sendable, Codable, Equatable {
    /// The machine both sides ran on.
    public var machine: MachineInfo
    /// CPython's version.
    public var python: String
    /// GILLab's policy.
    public var policy: LockPolicy
    /// Measured sleeps per side and point.
    public var samples: Int
    /// One row per interval and CPU thread count, in the order run.
    public var points: [SwitchIntervalComparisonRow]
    /// Set when the run was stopped early: the rows cover the intervals completed.
    public var interrupted: Bool? = nil

    /// The intervals from which the ±15% goal on p50 applies: the latency is then the interval's
    /// own wait, which both locks implement alike.
    public static let goalFromMilliseconds = 1.0
    /// The goal: GILLab's p50 within this fraction of CPython's at those intervals.
    public static let goalTolerance = 0.15
}

extension SwitchIntervalComparisonReport: ScenarioReport {}

/// `gillab compare-cpython --sweep switch-interval`.
public enum SwitchIntervalComparison {
    /// What the script prints for `--only sweep`.
    struct PythonSweep: Decodable {
        struct Point: Decodable {
            var p50: Double, p99: Double, max: Double, mean: Double?
            var cpuThreads: Int
            var cpuVersusAlone: Double
            enum CodingKeys: String, CodingKey {
                case p50 = "p50_us", p99 = "p99_us", max = "max_us", mean = "mean_us", cpuThreads = "cpu_threads"
                case cpuVersusAlone = "cpu_vs_alone"
            }
        }
        var python: String
        var sweep: [Point]
    }

    /// Runs the sweep, interval by interval, each on both sides.
    /// - Parameters:
    ///   - plan: the intervals, CPU thread counts and samples, and both sides' programs.
    ///   - stop: ends the run after the interval in progress.
    ///   - progress: hears (steps done, steps in all), two steps per interval.
    /// - Throws: ``RunnerError``; a failing script is a ``RunnerError/failed(_:)`` with its stderr.
    public static func run(_ plan: SwitchIntervalComparisonPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> SwitchIntervalComparisonReport {
        try plan.validate()
        let machine = MachineInfo.current()
        let steps = 2 * plan.intervals.count
        var rows: [SwitchIntervalComparisonRow] = []
        var version = "?"
        var interrupted = false
        for (index, interval) in plan.intervals.enumerated() {
            if stop?.isRequested == true {
                interrupted = true
                break
            }
            var cpython: PythonSweep?
            var gillab: SwitchIntervalReport?
            // A B, then B A: neither side always runs first.
            for side in index % 2 == 0 ? [0, 1] : [1, 0] {
                progress(2 * index + (cpython == nil && gillab == nil ? 0 : 1), steps)
                if side == 0 {
                    cpython = try runScript(plan, interval: interval)
                } else {
                    gillab = try SwitchIntervalScenario.run(plan.gillabPlan(interval))
                }
            }
            guard let cpython, let gillab else { continue }
            version = cpython.python
            for count in plan.cpuThreads {
                guard let theirs = cpython.sweep.first(where: { $0.cpuThreads == count }),
                      let ours = gillab.results.first(where: { $0.cpuThreads == count }) else {
                    throw .failed("the sweep at \(interval) with \(count) CPU threads produced no row on \(cpython.sweep.contains { $0.cpuThreads == count } ? "GILLab's" : "CPython's") side")
                }
                rows.append(SwitchIntervalComparisonRow(
                    switchIntervalMilliseconds: Double(interval.wholeNanoseconds) / 1e6, cpuThreads: count,
                    cpython: LatencyPercentiles(p50: theirs.p50, p99: theirs.p99, max: theirs.max, mean: theirs.mean),
                    gillab: ours.latencyMicroseconds,
                    cpythonCPUVersusAlone: theirs.cpuVersusAlone, gillabCPUVersusAlone: ours.cpuThroughputVersusAlone))
            }
        }
        progress(steps, steps)
        return SwitchIntervalComparisonReport(machine: machine, python: version, policy: plan.lock.policy, samples: plan.samples,
                                              points: rows, interrupted: interrupted ? true : nil)
    }

    static func runScript(_ plan: SwitchIntervalComparisonPlan, interval: Duration) throws(RunnerError) -> PythonSweep {
        let seconds = Double(interval.wholeNanoseconds) / 1e9
        let data = try CPythonComparison.runPython(
            plan.python, [plan.script, "--only", "sweep", "--switch-interval", "\(seconds)", "--convoy-samples", "\(plan.samples)",
                          "--cpu-threads", plan.cpuThreads.map(String.init).joined(separator: ",")], what: plan.script)
        do {
            return try JSONDecoder().decode(PythonSweep.self, from: data)
        } catch {
            throw .failed("the CPython side printed something other than its sweep (\(plan.script) --only sweep): \(error)")
        }
    }
}
