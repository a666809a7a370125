import Histogram

// The switch interval's trade-off, measured: CPython's one tuning knob for its lock is
// `sys.setswitchinterval` (5 ms by default). A shorter interval lets a thread back from I/O get
// the lock sooner, since under `new-gil` it must wait out a whole interval before it may ask the
// holder to drop; it also makes CPU-bound threads switch, and so hand the lock over, more often.
// CPython's `Tools/ccbench` measured one interval per run, and was removed in 3.13. This
// scenario sweeps the intervals: at each, the convoy scenario's I/O thread (block, then a little
// Python-level work) beside CPU-bound threads, with the I/O thread's latency, the CPU threads'
// throughput against theirs alone, how often the lock changed hands and what the handoffs cost.

/// What `gillab scenario switch-interval` runs.
public struct SwitchIntervalPlan: Sendable, Equatable {
    /// The switch intervals to sweep, each a ``/GILLabLock/LockConfiguration/switchInterval``.
    public var intervals: [Duration]
    /// The policies; those with a switch interval: `new-gil`, `io-priority`, `per-interpreter`.
    public var policies: [LockPolicy]
    /// CPU-bound threads beside the one I/O thread, each count a configuration of its own.
    public var cpuThreads: [Int]
    /// Measured blocks per configuration and round, after ``ConvoyPlan/warmupSamples`` uncounted ones.
    public var samples: Int
    /// Rounds over every configuration, in alternating order; latencies pool over rounds.
    public var rounds: Int
    /// How long each blocking call blocks.
    public var block: Duration
    /// The I/O latency (p99) that the verdict asks each policy to keep under.
    public var latencyTarget: Duration
    /// The lock's other settings; the policy and the switch interval are set per configuration.
    public var lock: LockConfiguration
    /// The I/O thread's timer slack, as in ``ConvoyPlan/timerSlack``; `nil` keeps the kernel's.
    public var timerSlack: Duration?

    /// CPython's advice and folklore, from 50 µs (bpo-7946's victims) to four times the default.
    public static let defaultIntervals: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(20),
    ]
    /// The longest interval a sweep takes.
    public static let longestInterval: Duration = .seconds(1)
    /// The policies that have a switch interval to tune.
    public static let tunablePolicies: [LockPolicy] = [.newGIL, .ioPriority, .perInterpreter]

    /// The standard sweep: eight intervals, `new-gil` and `io-priority`, beside 1 and 2 CPU
    /// threads, 1 ms blocks, a 1 ms latency target.
    public init(intervals: [Duration] = SwitchIntervalPlan.defaultIntervals, policies: [LockPolicy] = [.newGIL, .ioPriority],
                cpuThreads: [Int] = [1, 2], samples: Int = 100, rounds: Int = 3, block: Duration = .milliseconds(1),
                latencyTarget: Duration = .milliseconds(1), lock: LockConfiguration = .default,
                timerSlack: Duration? = .microseconds(1)) {
        self.intervals = intervals
        self.policies = policies
        self.cpuThreads = cpuThreads
        self.samples = samples
        self.rounds = rounds
        self.block = block
        self.latencyTarget = latencyTarget
        self.lock = lock
        self.timerSlack = timerSlack
    }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !intervals.isEmpty else { throw .setting("intervals", "no switch intervals given", subject: "") }
        for interval in intervals {
            do throws(LockConfigurationError) { _ = try LockConfiguration(switchInterval: interval) } catch {
                throw .setting("intervals", error.problem, subject: "switch interval")
            }
            // Under new-gil each sample may wait a whole interval: past a second a sweep takes hours.
            guard interval <= Self.longestInterval else {
                throw .setting("intervals", "must be at most \(Self.longestInterval) in a sweep, got \(interval)", subject: "switch interval")
            }
        }
        guard !policies.isEmpty else { throw .setting("policies", "no policies given", subject: "") }
        if let bad = policies.first(where: { !Self.tunablePolicies.contains($0) }) {
            throw .setting("policies", "'\(bad.rawValue)' has no switch interval to tune (\(bad == .legacyGIL ? "it switches every check interval of ticks" : "it has no lock to hand over")); use \(Self.tunablePolicies.map(\.rawValue).joined(separator: ", "))",
                           subject: "policy")
        }
        guard !cpuThreads.isEmpty else { throw .setting("cpuThreads", "no CPU thread counts given", subject: "") }
        if let bad = cpuThreads.first(where: { !(1...64).contains($0) }) {
            throw .setting("cpuThreads", "must be between 1 and 64, got \(bad)", subject: "CPU threads")
        }
        var convoy = convoyPlan(policy: policies[0], cpuThreads: cpuThreads[0], interval: intervals[0])
        convoy.rounds = rounds
        try convoy.validate()
        guard latencyTarget > .zero, latencyTarget <= .seconds(10) else {
            throw .setting("latencyTarget", "must be between 1ns and 10s, got \(latencyTarget)")
        }
    }

    /// One point of the sweep as a convoy plan: one I/O thread, one round, and a time limit of
    /// ten times what the samples need when each waits a whole interval, so that a run that
    /// starves the I/O thread stops and says so instead of hanging.
    func convoyPlan(policy: LockPolicy, cpuThreads: Int, interval: Duration) -> ConvoyPlan {
        var configuration = lock
        configuration.policy = policy
        configuration.switchInterval = interval
        let blocks = ConvoyPlan.warmupSamples + samples
        return ConvoyPlan(policies: [policy], cpuThreads: [cpuThreads], ioThreads: 1, samples: samples, rounds: 1, block: block,
                          lock: configuration, timeLimit: (block + interval) * (10 * blocks) + .seconds(10), timerSlack: timerSlack)
    }
}

/// One point of the sweep: a policy, a CPU thread count and a switch interval.
public struct SwitchIntervalResult: Sendable, Codable, Equatable {
    /// The lock's policy.
    public var policy: LockPolicy
    /// CPU-bound threads beside the I/O thread.
    public var cpuThreads: Int
    /// The switch interval, in milliseconds.
    public var switchIntervalMilliseconds: Double
    /// Blocks measured, over rounds.
    public var samples: Int
    /// How much longer than the block each blocking call took until the I/O thread held the
    /// lock again, in µs.
    public var latencyMicroseconds: LatencyPercentiles
    /// Of that, the wait for the lock alone, in µs.
    public var lockWaitMicroseconds: LatencyPercentiles
    /// The CPU threads' throughput beside the I/O thread ÷ theirs alone just before, under the
    /// same policy and interval; the median over rounds.
    public var cpuThroughputVersusAlone: Double
    /// Countdown iterations per second, summed over the CPU threads; the median over rounds.
    public var cpuIterationsPerSecond: Double
    /// Times the lock passed to another thread, per second of the run.
    public var switchesPerSecond: Double
    /// Drop requests per second: waiters whose timed wait ran out, and (`io-priority`) threads
    /// back from I/O.
    public var dropRequestsPerSecond: Double
    /// The lock's own overhead: the share of the run during which it sat free while a thread
    /// waited for it (each handoff: the drop, the next holder waking up, its take).
    public var handoffShare: Double
    /// That time per switch, in µs; `nil` when the lock never changed hands.
    public var handoffMicrosecondsPerSwitch: Double?
    /// Whether some round hit its time limit before its samples were done.
    public var truncated: Bool

    enum CodingKeys: String, CodingKey {
        case policy, cpuThreads = "cpu_threads", switchIntervalMilliseconds = "switch_interval_ms", samples
        case latencyMicroseconds = "latency_us", lockWaitMicroseconds = "lock_wait_us"
        case cpuThroughputVersusAlone = "cpu_throughput_vs_alone", cpuIterationsPerSecond = "cpu_iterations_per_s"
        case switchesPerSecond = "switches_per_s", dropRequestsPerSecond = "drop_requests_per_s"
        case handoffShare = "handoff_share", handoffMicrosecondsPerSwitch = "handoff_us_per_switch", truncated
    }
}

/// The settings a switch-interval sweep ran with.
public struct SwitchIntervalSettings: Sendable, Codable, Equatable {
    /// The intervals swept, in milliseconds.
    public var intervalsMilliseconds: [Double]
    /// Policies compared.
    public var policies: [LockPolicy]
    /// CPU thread counts.
    public var cpuThreads: [Int]
    /// Measured blocks per configuration and round.
    public var samples: Int
    /// Rounds completed.
    public var rounds: Int
    /// Uncounted blocks per configuration and round.
    public var warmup: Int
    /// The block, in µs.
    public var blockMicroseconds: Double
    /// The verdict's p99 target, in µs.
    public var latencyTargetMicroseconds: Double
    /// The I/O thread's timer slack in µs; `nil` when the system default was kept.
    public var timerSlackMicroseconds: Double?
    /// `per-interpreter`'s interpreters.
    public var interpreters: Int

    enum CodingKeys: String, CodingKey {
        case intervalsMilliseconds = "intervals_ms", policies, cpuThreads = "cpu_threads", samples, rounds, warmup
        case blockMicroseconds = "block_us", latencyTargetMicroseconds = "latency_target_us"
        case timerSlackMicroseconds = "timer_slack_us", interpreters
    }
}

/// What the sweep produced: `{"machine": …, "config": …, "results": […], "verdicts": […]}`.
public struct SwitchIntervalReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings.
    public var config: SwitchIntervalSettings
    /// One row per policy × CPU threads × interval, in that order.
    public var results: [SwitchIntervalResult]
    /// Set when the run was stopped early: the rows pool the rounds completed by then.
    public var interrupted: Bool? = nil

    /// The rows of one policy and CPU thread count, shortest interval first.
    public func curve(_ policy: LockPolicy, cpuThreads: Int) -> [SwitchIntervalResult] {
        results.filter { $0.policy == policy && $0.cpuThreads == cpuThreads }.sorted { $0.switchIntervalMilliseconds < $1.switchIntervalMilliseconds }
    }
}

extension SwitchIntervalReport: ScenarioReport {}
extension SwitchIntervalPlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(intervals: SwitchIntervalPlan.defaultIntervals) }
}

/// The switch-interval sweep.
public enum SwitchIntervalScenario: Scenario {
    public static let name = "switch-interval"
    public static let summary = "The switch interval's trade-off: an I/O thread's latency against CPU throughput, per interval and policy"

    /// Runs `plan`.
    /// - Parameters:
    ///   - plan: the intervals, policies and CPU thread counts to sweep.
    ///   - stop: ends the run after the point in progress, with the rounds completed.
    ///   - progress: called before each point with (done, in all).
    /// - Throws: ``RunnerError``.
    public static func run(_ plan: SwitchIntervalPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> SwitchIntervalReport {
        try plan.validate()
        let machine = MachineInfo.current()
        var points: [(policy: LockPolicy, cpuThreads: Int, interval: Duration)] = []
        for policy in plan.policies {
            for count in plan.cpuThreads {
                for interval in plan.intervals where !points.contains(where: { $0 == (policy, count, interval) }) {
                    points.append((policy, count, interval))
                }
            }
        }
        var rounds = Array(repeating: [ConvoyRound](), count: points.count)
        let whole = try interleavedRounds(plan.rounds, over: points.count, stop: stop, progress: progress) { (_, index) throws(RunnerError) in
            let point = points[index]
            let convoy = plan.convoyPlan(policy: point.policy, cpuThreads: point.cpuThreads, interval: point.interval)
            // The CPU threads alone, then beside the I/O thread: a pair within the round.
            let alone = try ConvoyScenario.cpuAlone(lock: convoy.lock, cpuThreads: point.cpuThreads)
            var round = try ConvoyScenario.runOnce(convoy, lock: convoy.lock, cpuThreads: point.cpuThreads)
            round.cpuAloneIterationsPerSecond = alone
            rounds[index].append(round)
        }
        let results = whole == 0 ? [] : points.indices.map { index in
            summarize(Array(rounds[index].prefix(whole)), policy: points[index].policy, cpuThreads: points[index].cpuThreads,
                      interval: points[index].interval)
        }
        let settings = SwitchIntervalSettings(
            intervalsMilliseconds: plan.intervals.map { Double($0.wholeNanoseconds) / 1e6 }, policies: plan.policies,
            cpuThreads: plan.cpuThreads, samples: plan.samples, rounds: whole, warmup: ConvoyPlan.warmupSamples,
            blockMicroseconds: Double(plan.block.wholeNanoseconds) / 1e3,
            latencyTargetMicroseconds: Double(plan.latencyTarget.wholeNanoseconds) / 1e3,
            timerSlackMicroseconds: plan.timerSlack.map { Double($0.wholeNanoseconds) / 1e3 }, interpreters: plan.lock.interpreters)
        return SwitchIntervalReport(machine: machine, config: settings, results: results,
                                    interrupted: whole < plan.rounds ? true : nil)
    }

    static func summarize(_ rounds: [ConvoyRound], policy: LockPolicy, cpuThreads: Int, interval: Duration) -> SwitchIntervalResult {
        var latencies = rounds[0].latencies, waits = rounds[0].lockWaits
        for round in rounds.dropFirst() {
            latencies.add(round.latencies)
            waits.add(round.lockWaits)
        }
        let wall = Double(max(rounds.reduce(0) { $0 + $1.wallNanoseconds }, 1))
        let switches = rounds.reduce(0) { $0 + $1.lock.switches }
        let handoff = Double(rounds.reduce(0) { $0 + $1.handoffNanoseconds })
        return SwitchIntervalResult(
            policy: policy, cpuThreads: cpuThreads, switchIntervalMilliseconds: Double(interval.wholeNanoseconds) / 1e6,
            samples: Int(latencies.totalCount), latencyMicroseconds: percentiles(latencies), lockWaitMicroseconds: percentiles(waits),
            cpuThroughputVersusAlone: Summary(rounds.map {
                $0.cpuAloneIterationsPerSecond > 0 ? $0.cpuIterationsPerSecond / $0.cpuAloneIterationsPerSecond : 0
            }).median,
            cpuIterationsPerSecond: Summary(rounds.map(\.cpuIterationsPerSecond)).median,
            switchesPerSecond: Double(switches) / wall * 1e9,
            dropRequestsPerSecond: Double(rounds.reduce(0) { $0 + $1.lock.dropRequests }) / wall * 1e9,
            handoffShare: handoff / wall,
            handoffMicrosecondsPerSwitch: switches == 0 ? nil : handoff / Double(switches) / 1e3,
            truncated: rounds.contains(where: \.truncated))
    }

    /// p50, p99 and max of `histogram` in µs; NaN when it is empty.
    static func percentiles(_ histogram: Histogram<UInt64>) -> LatencyPercentiles {
        guard histogram.totalCount > 0 else { return LatencyPercentiles(p50: .nan, p99: .nan, max: .nan) }
        return LatencyPercentiles(p50: Double(histogram.valueAtPercentile(50)) / 1e3, p99: Double(histogram.valueAtPercentile(99)) / 1e3,
                                  max: Double(histogram.max) / 1e3, mean: histogram.mean / 1e3)
    }
}
