import Histogram

// The convoy effect (bpo-7946), measured. One I/O thread repeats "block, then a little
// Python-level work" beside 0, 1 or 2 CPU-bound threads. Each block releases the lock; what the
// scenario measures is how much longer than the block itself the I/O thread needs before it
// holds the lock again, and how much the CPU-bound threads get done meanwhile.

/// What `gillab scenario convoy` runs.
public struct ConvoyPlan: Sendable, Equatable {
    /// The policies to compare; `per-interpreter` uses ``/GILLabLock/LockConfiguration/interpreters`` of `lock`.
    public var policies: [LockPolicy]
    /// CPU-bound threads beside the I/O thread; 0 measures the I/O thread alone.
    public var cpuThreads: [Int]
    /// Measured blocks per configuration and round, after ``warmupSamples`` uncounted ones.
    public var samples: Int
    /// Rounds over every configuration. Rounds alternate their order (A B … B A) so that a drift
    /// of the machine falls on every configuration alike; latencies pool over rounds, and CPU
    /// throughput is the median over them.
    public var rounds: Int
    /// How long each blocking call blocks: a remote call or a disk read.
    public var block: Duration
    /// Switch interval, check interval and interpreters; the policy is set per configuration.
    public var lock: LockConfiguration
    /// A configuration that has not finished its samples by this time stops early and says so,
    /// so that a policy that starves the I/O thread cannot hang the scenario.
    public var timeLimit: Duration
    /// The I/O thread's timer slack (Linux): how late the kernel may end its block. The default
    /// slack, 50 µs, would make up most of what "alone" measures; 1 µs leaves the scheduler's
    /// and the lock's share. `nil` keeps the default, as CPython's `time.sleep` does.
    public var timerSlack: Duration?

    /// Uncounted blocks at the start of each configuration.
    public static let warmupSamples = 10
    /// Iterations of the CPU threads' countdown between looks at the stop flag.
    static let cpuChunk = 20_000

    /// The standard scenario: every policy; alone, then beside 1 and 2 CPU
    /// threads; 1 ms blocks; CPython's 5 ms switch interval.
    public init(policies: [LockPolicy] = LockPolicy.allCases, cpuThreads: [Int] = [0, 1, 2], samples: Int = 150,
                rounds: Int = 3, block: Duration = .milliseconds(1), lock: LockConfiguration = .default,
                timeLimit: Duration = .seconds(10), timerSlack: Duration? = .microseconds(1)) {
        self.policies = policies
        self.cpuThreads = cpuThreads
        self.samples = samples
        self.rounds = rounds
        self.block = block
        self.lock = lock
        self.timeLimit = timeLimit
        self.timerSlack = timerSlack
    }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard !policies.isEmpty else { throw .setting("policies", "no policies given", subject: "") }
        guard !cpuThreads.isEmpty else { throw .setting("cpuThreads", "no CPU thread counts given", subject: "") }
        if let bad = cpuThreads.first(where: { !(0...64).contains($0) }) {
            throw .setting("cpuThreads", "must be between 0 and 64, got \(bad)", subject: "CPU threads")
        }
        guard (1...1_000_000).contains(samples) else { throw .setting("samples", "must be between 1 and 1000000, got \(samples)") }
        guard (1...100).contains(rounds) else { throw .setting("rounds", "must be between 1 and 100, got \(rounds)") }
        let longestBlock = Duration.seconds(10)
        guard block >= .zero, block <= longestBlock else {
            throw .setting("block", "must be between 0 and \(longestBlock), got \(block)")
        }
        guard timeLimit > .zero else { throw .setting("timeLimit", "must be positive, got \(timeLimit)") }
        if let timerSlack, timerSlack <= .zero || timerSlack > .seconds(1) {
            throw .setting("timerSlack", "must be between 1ns and 1s, got \(timerSlack)")
        }
    }
}

/// Percentiles of the I/O thread's extra wake-up latency, in microseconds, from HdrHistogram
/// (3 significant digits).
public struct LatencyPercentiles: Sendable, Codable, Equatable {
    /// The median.
    public var p50: Double
    /// The 99th percentile.
    public var p99: Double
    /// The largest sample.
    public var max: Double
}

/// One configuration of the convoy scenario: a policy with some CPU-bound threads.
public struct ConvoyResult: Sendable, Codable, Equatable {
    /// The lock's policy.
    public var policy: LockPolicy
    /// CPU-bound threads beside the I/O thread.
    public var cpuThreads: Int
    /// Blocks measured, over all rounds.
    public var samples: Int
    /// How much longer than the block itself each blocking call took, up to the moment the I/O
    /// thread held the lock again: timer slack plus the wait for the lock.
    public var latencyMicroseconds: LatencyPercentiles
    /// Countdown iterations per second, summed over the CPU threads; the median over rounds.
    /// `nil` with no CPU threads.
    public var cpuIterationsPerSecond: Double?
    /// ``cpuIterationsPerSecond`` ÷ `new-gil`'s with as many CPU threads, when both were run.
    public var cpuThroughputVersusNewGIL: Double?
    /// The I/O thread's completed requests per second, median over rounds.
    public var ioRequestsPerSecond: Double
    /// The lock's counters, summed over rounds.
    public var lock: LockStatistics
    /// Whether some round hit the time limit before its samples were done.
    public var truncated: Bool

    enum CodingKeys: String, CodingKey {
        case policy, cpuThreads = "cpu_threads", samples, latencyMicroseconds = "latency_us"
        case cpuIterationsPerSecond = "cpu_iterations_per_s", cpuThroughputVersusNewGIL = "cpu_throughput_vs_new_gil"
        case ioRequestsPerSecond = "io_requests_per_s", lock, truncated
    }
}

/// The settings a convoy scenario ran with.
public struct ConvoySettings: Sendable, Codable, Equatable {
    /// Policies compared.
    public var policies: [LockPolicy]
    /// CPU thread counts.
    public var cpuThreads: [Int]
    /// Measured blocks per configuration and round.
    public var samples: Int
    /// Rounds completed: the plan's, or fewer when the run was stopped early.
    public var rounds: Int
    /// Uncounted blocks per configuration and round.
    public var warmup: Int
    /// The block, in microseconds.
    public var blockMicroseconds: Double
    /// The switch interval, in seconds.
    public var switchIntervalSeconds: Double
    /// `legacy-gil`'s check interval.
    public var checkInterval: Int
    /// `per-interpreter`'s interpreters.
    public var interpreters: Int
    /// The I/O thread's timer slack in microseconds; `nil` when the system default was kept.
    public var timerSlackMicroseconds: Double?

    enum CodingKeys: String, CodingKey {
        case policies, cpuThreads = "cpu_threads", samples, rounds, warmup, blockMicroseconds = "block_us"
        case switchIntervalSeconds = "switch_interval_s", checkInterval = "check_interval", interpreters
        case timerSlackMicroseconds = "timer_slack_us"
    }
}

/// What the convoy scenario produced: `{"machine": …, "config": …, "results": […]}`.
public struct ConvoyReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings.
    public var config: ConvoySettings
    /// One row per (policy, CPU threads), in plan order.
    public var results: [ConvoyResult]
    /// Set when the run was stopped early: the rows pool the rounds completed by then.
    public var interrupted: Bool? = nil
}

extension ConvoyReport: ScenarioReport {}
extension ConvoyPlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(policies: LockPolicy.allCases) }
}

/// The convoy scenario.
public enum ConvoyScenario: Scenario {
    public static let name = "convoy"
    public static let summary = "The convoy effect: an I/O thread's wake-up latency beside CPU-bound threads, per policy"

    /// Runs `plan`.
    /// - Parameters:
    ///   - plan: the policies, CPU thread counts and samples to measure.
    ///   - stop: ends the run after the configuration in progress, with the rounds completed.
    ///   - progress: called before each configuration with (done, in all).
    /// - Throws: ``RunnerError``.
    public static func run(_ plan: ConvoyPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> ConvoyReport {
        try plan.validate()
        let machine = MachineInfo.current()
        var configurations: [(policy: LockPolicy, cpuThreads: Int)] = []
        for count in plan.cpuThreads {
            for policy in plan.policies where !configurations.contains(where: { $0 == (policy, count) }) {
                configurations.append((policy, count))
            }
        }

        var rounds = Array(repeating: [ConvoyRound](), count: configurations.count)
        let whole = try interleavedRounds(plan.rounds, over: configurations.count, stop: stop,
                                          progress: progress) { (_, index) throws(RunnerError) in
            var configuration = plan.lock
            configuration.policy = configurations[index].policy
            rounds[index].append(try runOnce(plan, lock: configuration, cpuThreads: configurations[index].cpuThreads))
        }
        // Only whole rounds count, so that every configuration pools as many.
        var results = whole == 0 ? [] : configurations.indices.map { index in
            summarize(Array(rounds[index].prefix(whole)), policy: configurations[index].policy,
                      cpuThreads: configurations[index].cpuThreads)
        }
        for index in results.indices {
            guard let mine = results[index].cpuIterationsPerSecond,
                  let baseline = results.first(where: { $0.policy == .newGIL && $0.cpuThreads == results[index].cpuThreads })?
                      .cpuIterationsPerSecond, baseline > 0 else { continue }
            results[index].cpuThroughputVersusNewGIL = mine / baseline
        }
        let settings = ConvoySettings(
            policies: plan.policies, cpuThreads: plan.cpuThreads, samples: plan.samples, rounds: whole,
            warmup: ConvoyPlan.warmupSamples, blockMicroseconds: Double(plan.block.wholeNanoseconds) / 1e3,
            switchIntervalSeconds: Double(plan.lock.switchIntervalNanoseconds) / 1e9,
            checkInterval: plan.lock.checkInterval, interpreters: plan.lock.interpreters,
            timerSlackMicroseconds: plan.timerSlack.map { Double($0.wholeNanoseconds) / 1e3 })
        return ConvoyReport(machine: machine, config: settings, results: results,
                            interrupted: whole < plan.rounds ? true : nil)
    }

    private static func summarize(_ rounds: [ConvoyRound], policy: LockPolicy, cpuThreads: Int) -> ConvoyResult {
        var pooled = rounds[0].latencies
        for round in rounds.dropFirst() { pooled.add(round.latencies) }
        let microseconds = { (nanoseconds: UInt64) in Double(nanoseconds) / 1e3 }
        let latency = pooled.totalCount == 0
            ? LatencyPercentiles(p50: .nan, p99: .nan, max: .nan)
            : LatencyPercentiles(p50: microseconds(pooled.valueAtPercentile(50)),
                                 p99: microseconds(pooled.valueAtPercentile(99)), max: microseconds(pooled.max))
        return ConvoyResult(
            policy: policy, cpuThreads: cpuThreads, samples: Int(pooled.totalCount), latencyMicroseconds: latency,
            cpuIterationsPerSecond: cpuThreads == 0 ? nil : Summary(rounds.map(\.cpuIterationsPerSecond)).median,
            cpuThroughputVersusNewGIL: nil,
            ioRequestsPerSecond: Summary(rounds.map(\.ioRequestsPerSecond)).median,
            lock: rounds.reduce(LockStatistics()) { $0.adding($1.lock) },
            truncated: rounds.contains(where: \.truncated))
    }

    /// One configuration, once: the I/O thread and `cpuThreads` CPU threads on one fresh lock.
    static func runOnce(_ plan: ConvoyPlan, lock configuration: LockConfiguration,
                        cpuThreads: Int) throws(RunnerError) -> ConvoyRound {
        let lock = InterpreterLock(configuration: configuration)
        let gate = StartGate()
        let stop = StopFlag()
        let cpuResults = Locked<[(iterations: Int, seconds: Double)]>([])
        let ioResult = Locked<Result<ConvoyRound, RunnerError>?>(nil)
        let blockNanoseconds = plan.block.wholeNanoseconds
        let limit = plan.timeLimit.wholeNanoseconds

        // Made first, so that under per-interpreter it is thread 1, in interpreter 0.
        let io = NativeThread {
            let thread = lock.makeThreadState(name: "io")
            if let slack = plan.timerSlack { try? Kernels.setTimerSlack(slack) }  // not on macOS: kept default
            var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
            var recorded = 0
            var requests = 0
            var truncated = false
            var failure: RunnerError?
            thread.acquire()
            let interpreter = Interpreter(thread: thread)
            // The blocking call: release for I/O, block, take the lock back; what that took beyond
            // the block itself is the extra latency.
            interpreter.register("blocking_io", discipline: .release, arity: 0...0) { thread, discipline, _ throws(PyError) in
                let before = monotonicNanoseconds()
                let failed = thread.call(discipline, reason: .io) { () -> KernelError? in
                    do throws(KernelError) { try Kernels.sleep(for: plan.block) } catch { return error }
                    return nil
                }
                let extra = (monotonicNanoseconds() - before) &- blockNanoseconds
                if let failed { throw PyError(.runtimeError, "blocking_io(): \(failed)") }
                recorded += 1
                if recorded > ConvoyPlan.warmupSamples { _ = histogram.record(Int64(bitPattern: extra) < 0 ? 0 : extra) }
                return PyNone.shared
            }
            do throws(PyError) { try interpreter.load(Programs.convoyRequest) } catch { failure = .workload(.python(error)) }
            thread.release(reason: .exit)
            gate.arriveAndWait()

            if failure == nil {
                let start = monotonicNanoseconds()  // the gate has just opened
                thread.acquire()
                let total = ConvoyPlan.warmupSamples + plan.samples
                var measuredFrom: UInt64 = 0
                do throws(PyError) {
                    for k in 0..<total {
                        if k == ConvoyPlan.warmupSamples {
                            measuredFrom = monotonicNanoseconds()
                            thread.resetStatistics()
                        }
                        _ = try interpreter.call("request", [interpreter.int(k)])
                        if k >= ConvoyPlan.warmupSamples { requests += 1 }
                        if monotonicNanoseconds() - start > limit {
                            truncated = true
                            break
                        }
                    }
                } catch {
                    failure = .workload(.python(error))
                }
                // Requests are counted only after the warm-up, which set measuredFrom.
                let seconds = requests > 0 ? Double(monotonicNanoseconds() - measuredFrom) / 1e9 : 0
                stop.raise()
                let statistics = thread.statistics
                thread.detach()
                ioResult.withLock {
                    $0 = failure.map { .failure($0) } ?? .success(ConvoyRound(
                        latencies: histogram, cpuIterationsPerSecond: 0,
                        ioRequestsPerSecond: seconds > 0 ? Double(requests) / seconds : 0,
                        lock: statistics, truncated: truncated))
                }
            } else {
                stop.raise()
                ioResult.withLock { $0 = .failure(failure!) }
            }
        }

        let cpus = (0..<cpuThreads).map { index in
            NativeThread {
                let thread = lock.makeThreadState(name: "cpu-\(index)")
                thread.acquire()
                let interpreter = Interpreter(thread: thread)
                let loaded = (try? interpreter.load(Programs.countdown)) != nil
                let chunk = interpreter.int(ConvoyPlan.cpuChunk)
                thread.release(reason: .exit)
                gate.arriveAndWait()
                var iterations = 0
                thread.acquire()
                let begin = monotonicNanoseconds()
                while loaded && !stop.isRaised {
                    guard (try? interpreter.call("unit", [chunk])) != nil else { break }
                    iterations += ConvoyPlan.cpuChunk
                }
                let seconds = Double(monotonicNanoseconds() - begin) / 1e9
                thread.detach()
                cpuResults.withLock { $0.append((iterations, seconds)) }
            }
        }

        _ = gate.openAndJoin([io] + cpus, lock: lock)

        var round: ConvoyRound
        switch ioResult.withLock({ $0 }) {
        case .success(let value)?: round = value
        case .failure(let error)?: throw error
        case nil: throw .failed("the I/O thread reported nothing")
        }
        round.cpuIterationsPerSecond = cpuResults.withLock { results in
            results.reduce(0) { $0 + (($1.seconds > 0) ? Double($1.iterations) / $1.seconds : 0) }
        }
        round.lock = lock.statistics
        return round
    }
}

/// One configuration's figures from one round.
struct ConvoyRound: Sendable {
    var latencies: Histogram<UInt64>
    var cpuIterationsPerSecond: Double
    var ioRequestsPerSecond: Double
    var lock: LockStatistics
    var truncated: Bool
}
