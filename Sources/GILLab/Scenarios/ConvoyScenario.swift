import Histogram
import Synchronization

// The convoy effect (bpo-7946), measured. One or more I/O threads repeat "block, then a little
// Python-level work" beside 0, 1 or 2 CPU-bound threads. Each block releases the lock; what the
// scenario measures is how much longer than the block itself an I/O thread needs before it
// holds the lock again, and what that costs the CPU-bound threads: their throughput beside the
// I/O threads against alone, and their longest wait for the lock.

/// What `gillab scenario convoy` runs.
public struct ConvoyPlan: Sendable, Equatable {
    /// The policies to compare; `per-interpreter` uses ``/GILLabLock/LockConfiguration/interpreters`` of `lock`.
    public var policies: [LockPolicy]
    /// CPU-bound threads beside the I/O threads; 0 measures the I/O threads alone.
    public var cpuThreads: [Int]
    /// I/O threads, each doing ``samples`` blocks; 1 by default, the convoy of bpo-7946. Several
    /// show whether a stream of I/O threads can starve a CPU-bound one.
    public var ioThreads: Int
    /// Measured blocks per I/O thread, configuration and round, after ``warmupSamples`` uncounted ones.
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
    /// How long the CPU threads run alone, before each configuration with CPU threads, for
    /// ``ConvoyResult/cpuThroughputVersusAlone``.
    public static let aloneDuration: Duration = .milliseconds(200)

    /// The standard scenario: every policy; alone, then beside 1 and 2 CPU
    /// threads; 1 ms blocks; CPython's 5 ms switch interval.
    public init(policies: [LockPolicy] = LockPolicy.allCases, cpuThreads: [Int] = [0, 1, 2], ioThreads: Int = 1,
                samples: Int = 150, rounds: Int = 3, block: Duration = .milliseconds(1), lock: LockConfiguration = .default,
                timeLimit: Duration = .seconds(10), timerSlack: Duration? = .microseconds(1)) {
        self.policies = policies
        self.cpuThreads = cpuThreads
        self.ioThreads = ioThreads
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
        guard (1...64).contains(ioThreads) else {
            throw .setting("ioThreads", "must be between 1 and 64, got \(ioThreads)", subject: "I/O threads")
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

/// Percentiles of the I/O threads' extra wake-up latency, in microseconds, from HdrHistogram
/// (3 significant digits).
public struct LatencyPercentiles: Sendable, Codable, Equatable {
    /// The median.
    public var p50: Double
    /// The 99th percentile.
    public var p99: Double
    /// The largest sample.
    public var max: Double
    /// The mean, where reported (the switch-interval sweep): steadier than the median when the
    /// samples fall in two modes, as a sleeper's do when it races other waiters for each handoff.
    public var mean: Double? = nil
}

/// One configuration of the convoy scenario: a policy with some CPU-bound threads.
public struct ConvoyResult: Sendable, Codable, Equatable {
    /// The lock's policy.
    public var policy: LockPolicy
    /// CPU-bound threads beside the I/O threads.
    public var cpuThreads: Int
    /// Blocks measured, over all I/O threads and rounds.
    public var samples: Int
    /// How much longer than the block itself each blocking call took, up to the moment the I/O
    /// thread held the lock again: timer slack plus the wait for the lock.
    public var latencyMicroseconds: LatencyPercentiles
    /// Of that, the wait for the lock alone: from asking for it again after the block to holding
    /// it. The rest is the block's own overshoot: timer slack, and the time the kernel took to
    /// run the woken thread (on this 2-core VM up to several ms when both cores look busy).
    public var lockWaitMicroseconds: LatencyPercentiles
    /// Countdown iterations per second, summed over the CPU threads; the median over rounds.
    /// `nil` with no CPU threads.
    public var cpuIterationsPerSecond: Double?
    /// ``cpuIterationsPerSecond`` ÷ `new-gil`'s with as many CPU threads, when both were run.
    public var cpuThroughputVersusNewGIL: Double?
    /// The CPU threads' throughput beside the I/O threads ÷ theirs alone, under the same
    /// policy, just before, for ``ConvoyPlan/aloneDuration``; the median over rounds. `nil`
    /// with no CPU threads.
    public var cpuThroughputVersusAlone: Double?
    /// The CPU threads' longest single wait for the lock, in microseconds, over all rounds, from
    /// the start gate on (the I/O threads' warm-up included): behind the I/O threads and, with
    /// several CPU threads, behind each other. `nil` with no CPU threads.
    public var cpuMaxWaitMicroseconds: Double?
    /// The I/O threads' completed requests per second, summed over them; median over rounds.
    public var ioRequestsPerSecond: Double
    /// The lock's counters, summed over rounds.
    public var lock: LockStatistics
    /// Whether some round hit the time limit before its samples were done.
    public var truncated: Bool
    /// What the I/O threads waited behind, summed over rounds (warm-up included), largest first:
    /// the CPU threads' loop line, a native call, the glue, or the handoff. `handoffs` is 0.
    /// Empty under `free`, which has no holder.
    public var ioWaitedBehind: [BlockerFigures] = []

    enum CodingKeys: String, CodingKey {
        case policy, cpuThreads = "cpu_threads", samples, latencyMicroseconds = "latency_us"
        case lockWaitMicroseconds = "lock_wait_us"
        case cpuIterationsPerSecond = "cpu_iterations_per_s", cpuThroughputVersusNewGIL = "cpu_throughput_vs_new_gil"
        case cpuThroughputVersusAlone = "cpu_throughput_vs_alone", cpuMaxWaitMicroseconds = "cpu_max_wait_us"
        case ioRequestsPerSecond = "io_requests_per_s", lock, truncated, ioWaitedBehind = "io_waited_behind"
    }
}

/// The settings a convoy scenario ran with.
public struct ConvoySettings: Sendable, Codable, Equatable {
    /// Policies compared.
    public var policies: [LockPolicy]
    /// CPU thread counts.
    public var cpuThreads: [Int]
    /// I/O threads.
    public var ioThreads: Int
    /// Measured blocks per I/O thread, configuration and round.
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
        case policies, cpuThreads = "cpu_threads", ioThreads = "io_threads", samples, rounds, warmup, blockMicroseconds = "block_us"
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
            let cpuThreads = configurations[index].cpuThreads
            // The CPU threads alone first, then beside the I/O threads: a pair within the round.
            let alone = cpuThreads == 0 ? 0 : try cpuAlone(lock: configuration, cpuThreads: cpuThreads)
            var round = try runOnce(plan, lock: configuration, cpuThreads: cpuThreads)
            round.cpuAloneIterationsPerSecond = alone
            rounds[index].append(round)
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
            policies: plan.policies, cpuThreads: plan.cpuThreads, ioThreads: plan.ioThreads, samples: plan.samples, rounds: whole,
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
        var waits = rounds[0].lockWaits
        for round in rounds.dropFirst() { waits.add(round.lockWaits) }
        let microseconds = { (nanoseconds: UInt64) in Double(nanoseconds) / 1e3 }
        func percentiles(_ histogram: Histogram<UInt64>) -> LatencyPercentiles {
            histogram.totalCount == 0
                ? LatencyPercentiles(p50: .nan, p99: .nan, max: .nan)
                : LatencyPercentiles(p50: microseconds(histogram.valueAtPercentile(50)),
                                     p99: microseconds(histogram.valueAtPercentile(99)), max: microseconds(histogram.max))
        }
        return ConvoyResult(
            policy: policy, cpuThreads: cpuThreads, samples: Int(pooled.totalCount), latencyMicroseconds: percentiles(pooled),
            lockWaitMicroseconds: percentiles(waits),
            cpuIterationsPerSecond: cpuThreads == 0 ? nil : Summary(rounds.map(\.cpuIterationsPerSecond)).median,
            cpuThroughputVersusNewGIL: nil,
            cpuThroughputVersusAlone: cpuThreads == 0 ? nil : Summary(rounds.map {
                $0.cpuAloneIterationsPerSecond > 0 ? $0.cpuIterationsPerSecond / $0.cpuAloneIterationsPerSecond : 0
            }).median,
            cpuMaxWaitMicroseconds: cpuThreads == 0 ? nil : microseconds(rounds.map(\.cpuMaxWaitNanoseconds).max() ?? 0),
            ioRequestsPerSecond: Summary(rounds.map(\.ioRequestsPerSecond)).median,
            lock: rounds.reduce(LockStatistics()) { $0.adding($1.lock) },
            truncated: rounds.contains(where: \.truncated),
            ioWaitedBehind: Self.pooledBlockers(rounds.map(\.ioWaitedBehind)))
    }

    /// Sums each location's time over rounds; shares are of the I/O threads' whole wait.
    private static func pooledBlockers(_ rounds: [[String: UInt64]]) -> [BlockerFigures] {
        var total: [String: UInt64] = [:]
        for round in rounds { total.merge(round, uniquingKeysWith: +) }
        let all = Double(max(total.values.reduce(0, +), 1))
        return total.map { BlockerFigures(location: $0.key, seconds: Double($0.value) / 1e9, share: Double($0.value) / all, handoffs: 0) }
            .sorted { $0.seconds != $1.seconds ? $0.seconds > $1.seconds : $0.location < $1.location }
    }

    /// One configuration, once: the I/O threads and `cpuThreads` CPU threads on one fresh lock.
    static func runOnce(_ plan: ConvoyPlan, lock configuration: LockConfiguration,
                        cpuThreads: Int) throws(RunnerError) -> ConvoyRound {
        // Recorded, so that what the I/O threads waited behind can be named.
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: configuration, eventHook: recorder)
        let gate = StartGate()
        let stop = StopFlag()
        let ioLeft = Atomic<Int>(plan.ioThreads)
        let cpuResults = Locked<[CPUThreadResult]>([])
        let ioResults = Locked<[Result<IOThreadResult, RunnerError>]>([])
        let blockNanoseconds = plan.block.wholeNanoseconds
        let limit = plan.timeLimit.wholeNanoseconds

        // Thread i joins interpreter i mod K, the I/O threads first: with 2 interpreters and one
        // I/O thread, it is alone in interpreter 0 beside 1 CPU thread, and shares it with cpu-1
        // beside 2.
        let ios = (0..<plan.ioThreads).map { ioIndex in NativeThread {
            let thread = lock.makeThreadState(name: plan.ioThreads == 1 ? "io" : "io-\(ioIndex)",
                                              interpreter: ioIndex % lock.interpreterCount)
            if let slack = plan.timerSlack { try? Kernels.setTimerSlack(slack) }  // not on macOS: kept default
            var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
            var waits = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
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
                let waitedBefore = thread.statistics.totalWaitNanoseconds
                let failed = thread.call(discipline, reason: .io) { () -> KernelError? in
                    do throws(KernelError) { try Kernels.sleep(for: plan.block) } catch { return error }
                    return nil
                }
                let extra = (monotonicNanoseconds() - before) &- blockNanoseconds
                let waited = thread.statistics.totalWaitNanoseconds &- waitedBefore  // this take's wait alone
                if let failed { throw PyError(.runtimeError, "blocking_io(): \(failed)") }
                recorded += 1
                if recorded > ConvoyPlan.warmupSamples {
                    _ = histogram.record(Int64(bitPattern: extra) < 0 ? 0 : extra)
                    _ = waits.record(waited)
                }
                return PyNone.shared
            }
            do throws(PyError) { try interpreter.load(Programs.convoyRequest, filename: "convoy-request.py") } catch { failure = .workload(.python(error)) }
            thread.release(reason: .exit)
            gate.arriveAndWait()

            var seconds = 0.0
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
                seconds = requests > 0 ? Double(monotonicNanoseconds() - measuredFrom) / 1e9 : 0
            }
            // The CPU threads stop when the last I/O thread is done, or at once on a failure.
            if failure != nil || ioLeft.wrappingSubtract(1, ordering: .relaxed).newValue == 0 { stop.raise() }
            thread.detach()
            ioResults.withLock {
                $0.append(failure.map { .failure($0) } ?? .success(IOThreadResult(
                    latencies: histogram, lockWaits: waits, requestsPerSecond: seconds > 0 ? Double(requests) / seconds : 0,
                    truncated: truncated)))
            }
        } }

        let cpus = (0..<cpuThreads).map { index in
            cpuThread(lock: lock, index: index, interpreter: (plan.ioThreads + index) % lock.interpreterCount,
                      gate: gate, stop: stop, results: cpuResults)
        }

        let joined = gate.openAndJoin(ios + cpus, lock: lock)

        var pooled: IOThreadResult?
        for result in ioResults.withLock({ $0 }) {
            switch result {
            case .failure(let error): throw error
            case .success(let io):
                if pooled == nil { pooled = io; continue }
                pooled!.latencies.add(io.latencies)
                pooled!.lockWaits.add(io.lockWaits)
                pooled!.requestsPerSecond += io.requestsPerSecond
                pooled!.truncated = pooled!.truncated || io.truncated
            }
        }
        guard let pooled else { throw .failed("the I/O threads reported nothing") }
        let cpu = cpuResults.withLock { $0 }
        var waitedBehind: [String: UInt64] = [:]
        if configuration.policy != .free {
            let attribution = WaitAttribution(recorder, locations: lock.locations)
            for thread in recorder.threads where thread.name.hasPrefix("io") {
                for blocker in attribution.blockers(waitedBy: thread.id) { waitedBehind[blocker.location, default: 0] += blocker.nanoseconds }
            }
        }
        return ConvoyRound(
            latencies: pooled.latencies, lockWaits: pooled.lockWaits, cpuIterationsPerSecond: cpu.reduce(0) { $0 + $1.iterationsPerSecond },
            cpuAloneIterationsPerSecond: 0, cpuMaxWaitNanoseconds: cpu.map(\.maxWaitNanoseconds).max() ?? 0,
            ioRequestsPerSecond: pooled.requestsPerSecond, lock: lock.statistics, truncated: pooled.truncated,
            ioWaitedBehind: waitedBehind, wallNanoseconds: joined.wall,
            handoffNanoseconds: configuration.policy == .free ? 0
                : WaitAttribution.handoffNanoseconds(recorder, window: joined.start..<joined.start + joined.wall))
    }

    /// The CPU threads alone on a fresh lock of the same configuration, for
    /// ``ConvoyPlan/aloneDuration``: the baseline of ``ConvoyResult/cpuThroughputVersusAlone``.
    /// - Returns: countdown iterations per second, summed over the threads.
    static func cpuAlone(lock configuration: LockConfiguration, cpuThreads: Int) throws(RunnerError) -> Double {
        // Recorded as the run beside the I/O threads is, so that the ratio between them does not
        // carry the recorder's cost.
        let lock = InterpreterLock(configuration: configuration, eventHook: LockEventRecorder())
        let gate = StartGate()
        let stop = StopFlag()
        let results = Locked<[CPUThreadResult]>([])
        let cpus = (0..<cpuThreads).map { index in
            cpuThread(lock: lock, index: index, interpreter: index % lock.interpreterCount, gate: gate, stop: stop, results: results)
        }
        let timer = NativeThread {
            gate.arriveAndWait()
            try? Kernels.sleep(for: ConvoyPlan.aloneDuration)
            stop.raise()
        }
        _ = gate.openAndJoin(cpus + [timer], lock: lock)
        return results.withLock { $0 }.reduce(0) { $0 + $1.iterationsPerSecond }
    }

    /// A CPU-bound thread: countdown in chunks of ``ConvoyPlan/cpuChunk`` until `stop`.
    private static func cpuThread(lock: InterpreterLock, index: Int, interpreter: Int, gate: StartGate,
                                  stop: StopFlag, results: Locked<[CPUThreadResult]>) -> NativeThread {
        NativeThread {
            let thread = lock.makeThreadState(name: "cpu-\(index)", interpreter: interpreter)
            thread.acquire()
            let interpreter = Interpreter(thread: thread)
            let loaded = (try? interpreter.load(Programs.countdown, filename: "countdown.py")) != nil
            let chunk = interpreter.int(ConvoyPlan.cpuChunk)
            thread.release(reason: .exit)
            gate.arriveAndWait()
            var iterations = 0
            thread.resetStatistics()
            thread.acquire()
            let begin = monotonicNanoseconds()
            // At least one chunk, so that a thread that starts late still has a rate.
            while loaded {
                guard (try? interpreter.call("unit", [chunk])) != nil else { break }
                iterations += ConvoyPlan.cpuChunk
                if stop.isRaised { break }
            }
            let seconds = Double(monotonicNanoseconds() - begin) / 1e9
            thread.detach()
            let result = CPUThreadResult(iterationsPerSecond: seconds > 0 ? Double(iterations) / seconds : 0,
                                         maxWaitNanoseconds: thread.statistics.maxWaitNanoseconds)
            results.withLock { $0.append(result) }
        }
    }
}

/// One I/O thread's figures from one round.
private struct IOThreadResult {
    var latencies: Histogram<UInt64>
    var lockWaits: Histogram<UInt64>
    var requestsPerSecond: Double
    var truncated: Bool
}

/// One CPU thread's figures from one round.
private struct CPUThreadResult {
    var iterationsPerSecond: Double
    var maxWaitNanoseconds: UInt64
}

/// One configuration's figures from one round.
struct ConvoyRound: Sendable {
    var latencies: Histogram<UInt64>
    /// The I/O threads' waits for the lock after each block, a part of `latencies`.
    var lockWaits: Histogram<UInt64>
    var cpuIterationsPerSecond: Double
    var cpuAloneIterationsPerSecond: Double
    var cpuMaxWaitNanoseconds: UInt64
    var ioRequestsPerSecond: Double
    var lock: LockStatistics
    var truncated: Bool
    /// Nanoseconds the I/O threads waited behind each location.
    var ioWaitedBehind: [String: UInt64] = [:]
    /// From the start gate to the last thread's end: the span `lock`'s counters cover.
    var wallNanoseconds: UInt64 = 0
    /// Of that, the time the lock sat free while a thread waited for it (the handoffs); 0 under `free`.
    var handoffNanoseconds: UInt64 = 0
}
