import Foundation
import GILLabKernels
import Synchronization

// How far sampling profilers are from the truth. Tools that watch CPython's lock from outside
// estimate: gil_load samples "is it held, is anyone waiting" at random times (exponential
// intervals, 5 ms mean); py-spy --gil samples the holder at a fixed 100 Hz; gilknocker times its
// own takes of the lock. GILLab knows the exact answer for every run, from the lock's own events.
// This scenario runs the three samplers as real threads beside a workload, one sampler per run,
// and sets each estimate beside the exact figure of the same run, over --repeat runs, with each
// sampler's cost to the workload against a run with no sampler (the runs of a repeat alternate
// their order, so that a drift of the machine falls on all alike).

/// One of the samplers.
public enum Sampler: String, Sendable, CaseIterable, Codable {
    /// gil_load: at random times (exponential intervals), whether the lock is held, whether
    /// anyone waits for it, and which threads wait. It runs at three mean intervals at once, for the rate × duration table.
    case gilLoad = "gil_load"
    /// py-spy --gil: at a fixed rate, which thread holds the lock and where it is in its code.
    case pySpy = "py-spy"
    /// gilknocker: every interval, a thread of its own takes the lock and times the take; the
    /// estimate is its time waiting over the run, and each take competes with the workload.
    case gilknocker
}

/// What `gillab scenario sampling` runs.
public struct SamplingPlan: Sendable, Equatable {
    /// The workload the samplers watch.
    public var workload: WorkloadKind
    /// A user's program instead of the workload (`--program`).
    public var program: UserProgram?
    /// The workload's size.
    public var size: Int
    /// Threads running the workload.
    public var threads: Int
    /// `hold` or `release`: how the workload's kernels treat the lock.
    public var mode: Mode
    /// How long each run lasts; the workload's units run until then.
    public var duration: Duration
    /// Runs per sampler (and of the run with no sampler), each sampler's runs in rounds.
    public var repeats: Int
    /// gil_load's mean interval; the table also runs a fifth and four times this.
    public var sampleInterval: Duration
    /// py-spy's period: 10 ms is its default 100 Hz.
    public var pySpyPeriod: Duration
    /// gilknocker's interval between knocks.
    public var knockInterval: Duration
    /// The lock.
    public var lock: LockConfiguration
    /// A seed for gil_load's random intervals; `nil` draws one per run.
    public var seed: UInt64?

    /// gemm 64 releasing on 2 threads (a lock held about two thirds of the time, with waits), 1 s runs,
    /// 3 repeats, gil_load at 5 ms, py-spy at 100 Hz, a knock every 5 ms.
    public init(workload: WorkloadKind = .gemm, program: UserProgram? = nil, size: Int = 64, threads: Int = 2,
                mode: Mode = .release, duration: Duration = .seconds(1), repeats: Int = 3,
                sampleInterval: Duration = .milliseconds(5), pySpyPeriod: Duration = .milliseconds(10),
                knockInterval: Duration = .milliseconds(5), lock: LockConfiguration = .default, seed: UInt64? = nil) {
        self.workload = workload
        self.program = program
        self.size = size
        self.threads = threads
        self.mode = mode
        self.duration = duration
        self.repeats = repeats
        self.sampleInterval = sampleInterval
        self.pySpyPeriod = pySpyPeriod
        self.knockInterval = knockInterval
        self.lock = lock
        self.seed = seed
    }

    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public func validate() throws(RunnerError) {
        guard (1...64).contains(threads) else { throw .setting("threads", "must be between 1 and 64, got \(threads)") }
        guard mode == .hold || mode == .release else {
            throw .setting("mode", "must be hold or release (threads sharing one lock), got \(mode.rawValue)")
        }
        guard lock.policy != .free else {
            throw .setting("policy", "free has no lock to sample: nobody holds it and nobody waits", subject: "policy")
        }
        guard lock.policy != .perInterpreter else {
            throw .setting("policy", "per-interpreter has a lock per interpreter, and the samplers watch one: use new-gil, legacy-gil or io-priority",
                           subject: "policy")
        }
        guard duration >= .milliseconds(50), duration <= .seconds(600) else {
            throw .setting("duration", "must be between 50ms and 600s, got \(duration)")
        }
        guard (1...100).contains(repeats) else { throw .setting("repeats", "must be between 1 and 100, got \(repeats)", subject: "repeat") }
        // At least ten samples a run at each sampler's mean rate, so that no estimate is empty.
        for (name, interval) in [("sampleInterval", sampleInterval), ("pySpyPeriod", pySpyPeriod), ("knockInterval", knockInterval)] {
            guard interval >= .microseconds(10), interval <= duration / 10 else {
                throw .setting(name, "must be between 10µs and a tenth of the run's duration (\(duration / 10)), got \(interval)")
            }
        }
        // The size's limits and the buffers' memory, as `gillab run` checks them.
        var run = RunPlan(workload: workload, size: size, units: 1, threads: [threads], modes: [mode], lock: lock)
        run.program = program
        try run.validate()
    }

    /// gil_load's three mean intervals: a fifth of, once and four times ``sampleInterval``.
    var gilLoadIntervals: [Duration] { [sampleInterval / 5, sampleInterval, sampleInterval * 4] }
}

/// An estimate beside the exact figure.
public struct SamplingEstimate: Sendable, Codable, Equatable {
    /// Which sampler.
    public var sampler: Sampler
    /// What it estimates: `held` (the share of the run the lock was held), `waiting` (the share
    /// during which some thread waited), `worker-0 waiting` (that thread's share waiting),
    /// `held by worker-0`, `held at <location>`, or, for
    /// gilknocker, `contention` set beside the held share (what its users read it as).
    public var figure: String
    /// The estimate, median over the runs.
    public var estimate: Double
    /// The exact figure, median over the same runs.
    public var exact: Double
    /// Estimate − exact per run: the median.
    public var errorMedian: Double
    /// … and the largest |error| over the runs.
    public var errorLargest: Double
    /// Samples (or knocks) per run, the median.
    public var samples: Int

    enum CodingKeys: String, CodingKey {
        case sampler, figure, estimate, exact, errorMedian = "error_median", errorLargest = "error_largest_abs", samples
    }
}

/// One cell of gil_load's rate × duration table.
public struct SamplingAccuracy: Sendable, Codable, Equatable {
    /// The mean interval between samples, ms.
    public var meanIntervalMilliseconds: Double
    /// The span of the run the estimate used (its first part), s.
    public var seconds: Double
    /// Samples in it, the median over runs.
    public var samples: Int
    /// The root mean square of estimate − exact of the held share, over the runs.
    public var rmsError: Double
    /// What independent samples would give: √(p(1 − p) / n) at the exact share p.
    public var binomialError: Double

    enum CodingKeys: String, CodingKey {
        case meanIntervalMilliseconds = "mean_interval_ms", seconds = "duration_s", samples, rmsError = "rms_error"
        case binomialError = "binomial_error"
    }
}

/// A sampler's cost: the workload's units per second with it ÷ without, median of the pairs.
public struct SamplingCost: Sendable, Codable, Equatable {
    /// Which sampler.
    public var sampler: Sampler
    /// Throughput with the sampler ÷ without.
    public var throughputVersusNone: Double

    enum CodingKeys: String, CodingKey { case sampler, throughputVersusNone = "throughput_vs_none" }
}

/// The settings a sampling run used.
public struct SamplingSettings: Sendable, Codable, Equatable {
    /// The workload's name, or the program's file name.
    public var workload: String
    /// Its size.
    public var size: Int
    /// Threads running it.
    public var threads: Int
    /// `hold` or `release`.
    public var mode: Mode
    /// The lock's policy.
    public var policy: LockPolicy
    /// The switch interval, in seconds.
    public var switchIntervalSeconds: Double
    /// Each run's length, in seconds.
    public var durationSeconds: Double
    /// Runs per sampler completed.
    public var repeats: Int
    /// gil_load's mean interval, ms.
    public var sampleIntervalMilliseconds: Double
    /// py-spy's period, ms.
    public var pySpyPeriodMilliseconds: Double
    /// gilknocker's interval, ms.
    public var knockIntervalMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case workload, size, threads, mode, policy, switchIntervalSeconds = "switch_interval_s", durationSeconds = "duration_s"
        case repeats = "repeat", sampleIntervalMilliseconds = "sample_interval_ms", pySpyPeriodMilliseconds = "py_spy_period_ms"
        case knockIntervalMilliseconds = "knock_interval_ms"
    }
}

/// What the sampling scenario produced.
public struct SamplingReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings.
    public var config: SamplingSettings
    /// Every estimate beside its exact figure, by sampler.
    public var estimates: [SamplingEstimate]
    /// gil_load's error on the held share by mean interval and run length.
    public var accuracy: [SamplingAccuracy]
    /// Each sampler's cost to the workload.
    public var costs: [SamplingCost]
    /// Set when the run was stopped early.
    public var interrupted: Bool? = nil
}

extension SamplingReport: ScenarioReport {}
extension SamplingPlan: ScenarioPlan {
    /// The defaults.
    public init() { self.init(workload: .gemm) }
}

/// The sampling scenario.
public enum SamplingScenario: Scenario {
    public static let name = "sampling"
    public static let summary = "How far sampling profilers (gil_load, py-spy --gil, gilknocker) are from the exact figures"

    /// Runs `plan`.
    /// - Parameters:
    ///   - plan: the workload, the threads, the samplers' rates and the runs.
    ///   - stop: ends the run after the run in progress, with the whole repeats completed.
    ///   - progress: called before each run with (done, in all).
    /// - Throws: ``RunnerError``.
    public static func run(_ plan: SamplingPlan, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> SamplingReport {
        try plan.validate()
        let workload: any Workload
        do throws(WorkloadError) {
            if let program = plan.program {
                workload = UserProgramWorkload(program: program, size: plan.size)
            } else {
                workload = try plan.workload.make(size: plan.size, units: 1, releaseThreshold: nil)
            }
        } catch {
            throw .workload(error)
        }
        defer { workload.close() }
        return try run(plan, workload: workload, stop: stop, progress: progress)
    }

    /// Runs `plan` on a workload already made (a test's scripted one).
    static func run(_ plan: SamplingPlan, workload: any Workload, stop: StopRequest? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> SamplingReport {
        try plan.validate()
        let machine = MachineInfo.current()
        // Run 0 has no sampler; 1, 2, 3 one sampler each.
        let kinds: [Sampler?] = [nil] + Sampler.allCases
        var runs = Array(repeating: [SamplingRun](), count: kinds.count)
        var seeds = SplitMix64(seed: plan.seed ?? UInt64.random(in: 0...UInt64.max))
        // One uncounted run first, as every measurement here has its warm-up: the workload's
        // first run (page faults, OpenBLAS's buffers) would otherwise land on one sampler.
        _ = try runOnce(plan, workload: workload, sampler: nil, seed: 0)
        let whole = try interleavedRounds(plan.repeats, over: kinds.count, stop: stop, progress: progress) { (_, index) throws(RunnerError) in
            runs[index].append(try runOnce(plan, workload: workload, sampler: kinds[index], seed: seeds.next()))
        }
        let completed = runs.map { Array($0.prefix(whole)) }
        let settings = SamplingSettings(
            workload: plan.program?.filename ?? plan.workload.rawValue, size: plan.size, threads: plan.threads, mode: plan.mode,
            policy: plan.lock.policy, switchIntervalSeconds: Double(plan.lock.switchIntervalNanoseconds) / 1e9,
            durationSeconds: Double(plan.duration.wholeNanoseconds) / 1e9, repeats: whole,
            sampleIntervalMilliseconds: Double(plan.sampleInterval.wholeNanoseconds) / 1e6,
            pySpyPeriodMilliseconds: Double(plan.pySpyPeriod.wholeNanoseconds) / 1e6,
            knockIntervalMilliseconds: Double(plan.knockInterval.wholeNanoseconds) / 1e6)
        guard whole > 0 else {
            return SamplingReport(machine: machine, config: settings, estimates: [], accuracy: [], costs: [], interrupted: true)
        }
        var estimates: [SamplingEstimate] = []
        for (index, kind) in kinds.enumerated() {
            guard let kind else { continue }
            estimates += Self.estimates(kind, completed[index])
        }
        let costs = kinds.indices.dropFirst().map { index in
            SamplingCost(sampler: kinds[index]!, throughputVersusNone: Summary(zip(completed[index], completed[0]).map {
                $1.unitsPerSecond > 0 ? $0.unitsPerSecond / $1.unitsPerSecond : 0
            }).median)
        }
        let gilLoadRuns = completed[kinds.firstIndex(of: .gilLoad)!]
        return SamplingReport(machine: machine, config: settings, estimates: estimates,
                              accuracy: accuracy(gilLoadRuns, intervals: plan.gilLoadIntervals, duration: plan.duration),
                              costs: costs, interrupted: whole < plan.repeats ? true : nil)
    }

    // MARK: - Estimates

    /// Each figure the sampler estimates, beside the exact one, over its runs.
    static func estimates(_ sampler: Sampler, _ runs: [SamplingRun]) -> [SamplingEstimate] {
        func estimate(_ figure: String, samples: (SamplingRun) -> Int, _ pair: (SamplingRun) -> (Double, Double)) -> SamplingEstimate {
            let pairs = runs.map(pair)
            let errors = pairs.map { $0.0 - $0.1 }
            return SamplingEstimate(sampler: sampler, figure: figure, estimate: Summary(pairs.map(\.0)).median,
                                    exact: Summary(pairs.map(\.1)).median, errorMedian: Summary(errors).median,
                                    errorLargest: errors.map(abs).max() ?? 0, samples: Int(Summary(runs.map { Double(samples($0)) }).median))
        }
        switch sampler {
        case .gilLoad:
            // The primary sampler is the middle of the three rates.
            let primary = { (run: SamplingRun) in run.gilLoad[1] }
            var figures = [
                estimate("held", samples: { primary($0).count }) { run in (share(primary(run).map(\.held)), run.exact.held) },
                estimate("waiting", samples: { primary($0).count }) { run in (share(primary(run).map(\.waiting)), run.exact.waiting) },
            ]
            for (index, name) in runs[0].workerNames.enumerated() where index < 64 {
                figures.append(estimate("\(name) waiting", samples: { primary($0).count }) { run in
                    (share(primary(run).map { $0.waitingThreads & (1 << UInt64(index)) != 0 }), run.exact.waitingByThread[name] ?? 0)
                })
            }
            return figures
        case .pySpy:
            var figures = [estimate("held", samples: { $0.pySpy.count }) { run in (share(run.pySpy.map { $0.holder != nil }), run.exact.held) }]
            // Per holder and per location, for those the exact figures name, largest first (from the first run).
            let first = runs[0].exact
            for name in first.heldByThread.sorted(by: { $0.value > $1.value }).map(\.key) {
                figures.append(estimate("held by \(name)", samples: { $0.pySpy.count }) { run in
                    (share(run.pySpy.map { $0.holder == name }), run.exact.heldByThread[name] ?? 0)
                })
            }
            for location in first.heldAtLocation.sorted(by: { $0.value > $1.value }).prefix(3).map(\.key) {
                figures.append(estimate("held at \(location)", samples: { $0.pySpy.count }) { run in
                    (share(run.pySpy.map { $0.location == location }), run.exact.heldAtLocation[location] ?? 0)
                })
            }
            return figures
        case .gilknocker:
            return [estimate("contention", samples: \.knocks) { run in (run.knockerContention, run.exact.held) }]
        }
    }

    /// gil_load's held-share error at each mean interval, over the first quarter, half and all of the run.
    static func accuracy(_ runs: [SamplingRun], intervals: [Duration], duration: Duration) -> [SamplingAccuracy] {
        var cells: [SamplingAccuracy] = []
        for (rate, interval) in intervals.enumerated() {
            for fraction in [0.25, 0.5, 1.0] {
                var errors: [Double] = [], counts: [Double] = [], exacts: [Double] = []
                for run in runs {
                    let end = run.start + UInt64(Double(run.wall) * fraction)
                    let samples = run.gilLoad[rate].filter { $0.time < end }
                    guard !samples.isEmpty else { continue }
                    let exact = run.heldShare(upTo: end)
                    errors.append(share(samples.map(\.held)) - exact)
                    counts.append(Double(samples.count))
                    exacts.append(exact)
                }
                guard !errors.isEmpty else { continue }
                let n = Summary(counts).median, p = Summary(exacts).median
                cells.append(SamplingAccuracy(
                    meanIntervalMilliseconds: Double(interval.wholeNanoseconds) / 1e6,
                    seconds: Double(duration.wholeNanoseconds) / 1e9 * fraction, samples: Int(n),
                    rmsError: (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot(),
                    binomialError: (p * (1 - p) / max(n, 1)).squareRoot()))
            }
        }
        return cells
    }

    /// gil_load's wait before its next sample: exponential with mean `mean` (ns), from `random`.
    /// The real sampler and ``simulatedGilLoad(holds:from:to:meanInterval:seed:)`` draw alike.
    static func exponential(mean: Double, using random: inout SplitMix64) -> Double {
        -mean * log(1 - Double.random(in: 0..<1, using: &random))
    }

    /// gil_load's estimator on a known timeline: sample times drawn as the real sampler draws
    /// them (exponential intervals, seeded), each sample "held" when it falls in one of `holds`.
    /// What the real sampler would report if looking cost nothing and moved nothing.
    /// - Returns: the held share estimated, and the samples taken.
    static func simulatedGilLoad(holds: [(UInt64, UInt64)], from start: UInt64, to end: UInt64, meanInterval: Duration,
                                 seed: UInt64) -> (estimate: Double, samples: Int) {
        var random = SplitMix64(seed: seed)
        let mean = Double(meanInterval.wholeNanoseconds)
        var time = Double(start), held = 0, samples = 0, next = 0
        while true {
            time += exponential(mean: mean, using: &random)
            guard time < Double(end) else { break }
            let at = UInt64(time)
            while next < holds.count && holds[next].1 <= at { next += 1 }  // holds are sorted and apart
            if next < holds.count && holds[next].0 <= at { held += 1 }
            samples += 1
        }
        return (samples == 0 ? .nan : Double(held) / Double(samples), samples)
    }

    static func share(_ flags: [Bool]) -> Double {
        flags.isEmpty ? .nan : Double(flags.filter { $0 }.count) / Double(flags.count)
    }

    // MARK: - One run

    /// One run: the workload on `plan.threads` threads until `plan.duration`, with `sampler` beside it.
    static func runOnce(_ plan: SamplingPlan, workload: any Workload, sampler: Sampler?, seed: UInt64) throws(RunnerError) -> SamplingRun {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: plan.lock, eventHook: recorder)
        let gate = StartGate()
        let stop = StopFlag()
        let discipline = plan.mode.discipline
        let units = Atomic<Int>(0)
        let lastWorkerEnd = Atomic<UInt64>(0)
        let failure = Locked<WorkloadError?>(nil)
        // The workers' states by id, for py-spy's holder and location; filled before the gate opens.
        let states = Locked<[Int: ThreadState]>([:])

        var threads = (0..<plan.threads).map { index in NativeThread {
            let thread = lock.makeThreadState(name: "worker-\(index)")
            states.withLock { $0[thread.id] = thread }
            thread.acquire()
            var worker: (any WorkloadWorker)?
            do throws(WorkloadError) { worker = try workload.makeWorker(on: thread, discipline: discipline) } catch {
                failure.withLock { $0 = $0 ?? error }
            }
            thread.release(reason: .exit)
            gate.arriveAndWait()
            guard var worker else { return thread.detach() }
            thread.acquire()
            var unit = 0
            do throws(WorkloadError) {
                while !stop.isRaised {
                    _ = try worker.run(unit: unit, on: thread)
                    unit += 1
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
                stop.raise()
            }
            units.wrappingAdd(unit, ordering: .relaxed)
            lastWorkerEnd.max(monotonicNanoseconds(), ordering: .relaxed)
            thread.detach()
        } }
        // The samplers watch until the stop; the workers then finish the unit in hand.
        let stoppedAt = Atomic<UInt64>(0)
        threads.append(NativeThread {
            gate.arriveAndWait()
            // In steps, so that a worker that fails (and raises the stop) ends the run at once.
            let deadline = monotonicNanoseconds() + plan.duration.wholeNanoseconds
            while !stop.isRaised, case let now = monotonicNanoseconds(), now < deadline {
                try? Kernels.sleep(for: .nanoseconds(Int64(min(deadline - now, 50_000_000))))
            }
            stoppedAt.store(monotonicNanoseconds(), ordering: .relaxed)
            stop.raise()
        })

        // What the samplers collected, each written once by its own thread when it ends.
        let gilLoad = Locked([[GilLoadSample]](repeating: [], count: 3))
        let workerNames = Locked([String]())
        let pySpy = Locked([PySpySample]())
        let knocked = Locked((knocks: 0, waited: UInt64(0), span: UInt64(0)))
        switch sampler {
        case .gilLoad:
            for (rate, interval) in plan.gilLoadIntervals.enumerated() {
                threads.append(NativeThread {
                    var random = SplitMix64(seed: seed &+ UInt64(rate))
                    let mean = Double(interval.wholeNanoseconds)
                    var samples: [GilLoadSample] = []
                    gate.arriveAndWait()
                    let deadline = monotonicNanoseconds() + plan.duration.wholeNanoseconds
                    let workers = states.withLock { $0 }.values.sorted { $0.name < $1.name }
                    while !stop.isRaised {
                        // Exponential intervals: the sample times form a Poisson process, which no
                        // periodic pattern of the workload can line up with.
                        let wait = exponential(mean: mean, using: &random)
                        let now = monotonicNanoseconds()
                        if now + UInt64(min(wait, 1e15)) >= deadline { break }  // past the run: no sleep beyond it
                        try? Kernels.sleep(for: .nanoseconds(Int64(min(wait, 1e15))))
                        if stop.isRaised { break }
                        let peek = lock.peek()
                        var waiting: UInt64 = 0  // bit i: worker i (by name order) waits; no allocation per sample
                        for (index, worker) in workers.enumerated() where index < 64 && worker.isWaiting { waiting |= 1 << UInt64(index) }
                        samples.append(GilLoadSample(time: monotonicNanoseconds(), held: peek.held, waiting: peek.someoneWaiting,
                                                     waitingThreads: waiting))
                    }
                    workerNames.withLock { $0 = workers.map(\.name) }
                    gilLoad.withLock { $0[rate] = samples }
                })
            }
        case .pySpy:
            threads.append(NativeThread {
                var samples: [PySpySample] = []
                let period = plan.pySpyPeriod.wholeNanoseconds
                let names = lock.locations
                gate.arriveAndWait()
                let byID = states.withLock { $0 }
                var next = monotonicNanoseconds()
                while !stop.isRaised {
                    next += period
                    let now = monotonicNanoseconds()
                    if next > now { try? Kernels.sleep(for: .nanoseconds(Int64(next - now))) }
                    if stop.isRaised { break }
                    let peek = lock.peek()
                    let holder = peek.held ? byID[peek.lastHolder] : nil
                    samples.append(PySpySample(holder: holder?.name, location: holder.map { names.name(of: $0.currentLocation) }))
                }
                pySpy.withLock { $0 = samples }
            })
        case .gilknocker:
            threads.append(NativeThread {
                let thread = lock.makeThreadState(name: "gilknocker")
                gate.arriveAndWait()
                let begin = monotonicNanoseconds()
                var knocks = 0, waited: UInt64 = 0
                while !stop.isRaised {
                    try? Kernels.sleep(for: plan.knockInterval)
                    if stop.isRaised { break }
                    let before = monotonicNanoseconds()
                    thread.acquire()
                    waited += monotonicNanoseconds() - before
                    thread.release(reason: .end)
                    knocks += 1
                }
                let span = monotonicNanoseconds() - begin
                thread.detach()
                knocked.withLock { $0 = (knocks, waited, span) }
            })
        case nil:
            break
        }
        let joined = gate.openAndJoin(threads, lock: lock)
        if let error = failure.withLock({ $0 }) { throw .workload(error) }
        // The exact figures cover what the samplers watched: from the gate to the stop.
        let stopped = stoppedAt.load(ordering: .relaxed)
        let end = stopped > joined.start ? min(stopped, joined.start + joined.wall) : joined.start + joined.wall
        let window = joined.start..<end
        return SamplingRun(
            start: joined.start, wall: end - joined.start,
            // Over the workers' own span: a sampler's last sleep after the stop is not theirs.
            unitsPerSecond: Double(units.load(ordering: .relaxed))
                / (Double(max(lastWorkerEnd.load(ordering: .relaxed), joined.start + 1) - joined.start) / 1e9),
            exact: ExactFigures(recorder, locations: lock.locations, window: window),
            holds: holdIntervals(recorder, window: window), gilLoad: gilLoad.withLock { $0 }, workerNames: workerNames.withLock { $0 },
            pySpy: pySpy.withLock { $0 },
            knocks: knocked.withLock { $0.knocks },
            knockerContention: knocked.withLock { $0.span > 0 ? Double($0.waited) / Double($0.span) : 0 })
    }

    /// The workers' holds, as (from, to) within `window`, sorted: the exact held share of any
    /// part of the run. gilknocker's own holds are left out: what it watches is the workload.
    static func holdIntervals(_ recorder: LockEventRecorder, window: Range<UInt64>) -> [(UInt64, UInt64)] {
        var holds: [(UInt64, UInt64)] = []
        for thread in recorder.threads where thread.name != "gilknocker" {
            var since: UInt64?
            for event in thread.events {
                switch event.kind {
                case .acquired: since = event.nanoseconds
                case .released, .threadExit:
                    if let from = since {
                        let a = max(from, window.lowerBound), b = min(event.nanoseconds, window.upperBound)
                        if b > a { holds.append((a, b)) }
                    }
                    since = nil
                default: break
                }
            }
        }
        return holds.sorted { $0.0 < $1.0 }
    }
}

/// A gil_load sample.
struct GilLoadSample: Sendable {
    var time: UInt64
    var held: Bool
    var waiting: Bool
    /// The workers waiting at that moment, bit i for the i-th by name: gil_load's "is thread T waiting".
    var waitingThreads: UInt64 = 0
}

/// A py-spy sample: the holder's name and location, or `nil` when nobody held.
struct PySpySample: Sendable {
    var holder: String?
    var location: String?
}

/// The exact figures of one run, from the lock's events and counters.
struct ExactFigures: Sendable {
    /// The share of the run some worker held the lock.
    var held: Double
    /// The share during which some thread waited.
    var waiting: Double
    /// Per worker, its share of the run holding.
    var heldByThread: [String: Double]
    /// Per location, the share of the run some worker held the lock there.
    var heldAtLocation: [String: Double]
    /// Per worker, its share of the run waiting for the lock.
    var waitingByThread: [String: Double]

    init(_ recorder: LockEventRecorder, locations: LockLocations, window: Range<UInt64>) {
        let wall = Double(max(window.upperBound - window.lowerBound, 1))
        var byThread: [String: UInt64] = [:], byLocation: [String: UInt64] = [:], waits: [String: UInt64] = [:]
        for thread in recorder.threads where thread.name != "gilknocker" {
            // Walk the thread's events: while it holds, time goes to its current location.
            var holding = false, waiting = false, location = LockLocations.glue
            var last = window.lowerBound
            for event in thread.events {
                let now = min(max(event.nanoseconds, window.lowerBound), window.upperBound)
                if holding && now > last {
                    byThread[thread.name, default: 0] += now - last
                    byLocation[locations.name(of: location), default: 0] += now - last
                }
                if waiting && now > last { waits[thread.name, default: 0] += now - last }
                last = now
                switch event.kind {
                case .wants: waiting = true
                case .acquired:
                    holding = true
                    waiting = false
                case .released, .threadExit: holding = false
                case .location(let index): location = index
                default: break
                }
            }
        }
        held = Double(byThread.values.reduce(0, +)) / wall
        waiting = Double(Self.someoneWaiting(recorder, window: window)) / wall
        heldByThread = byThread.mapValues { Double($0) / wall }
        heldAtLocation = byLocation.mapValues { Double($0) / wall }
        waitingByThread = Dictionary(recorder.threads.filter { $0.name != "gilknocker" }.map { ($0.name, Double(waits[$0.name] ?? 0) / wall) },
                                     uniquingKeysWith: +)
    }
}

extension ExactFigures {
    /// The time within `window` during which at least one thread waited for the lock (between
    /// its `wants` and its `acquired`): what the lock word's waiters bit shows.
    static func someoneWaiting(_ recorder: LockEventRecorder, window: Range<UInt64>) -> UInt64 {
        var changes: [(UInt64, Int)] = []
        for thread in recorder.threads {
            for event in thread.events {
                switch event.kind {
                case .wants: changes.append((event.nanoseconds, 1))
                case .acquired: changes.append((event.nanoseconds, -1))
                default: break
                }
            }
        }
        changes.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var waiting = 0, since: UInt64 = 0, total: UInt64 = 0
        for (time, change) in changes {
            if waiting > 0 {
                let a = max(since, window.lowerBound), b = min(time, window.upperBound)
                if b > a { total += b - a }
            }
            waiting += change
            since = time
        }
        return total
    }
}

/// One run's raw material.
struct SamplingRun: Sendable {
    var start: UInt64
    /// From the gate to the stop: the span the samplers watched.
    var wall: UInt64
    var unitsPerSecond: Double
    var exact: ExactFigures
    /// The workers' holds within the run, sorted by start.
    var holds: [(UInt64, UInt64)]
    /// gil_load's samples at each of its three rates.
    var gilLoad: [[GilLoadSample]]
    /// The workers by name, in the order of ``GilLoadSample/waitingThreads``'s bits (gil_load runs only).
    var workerNames: [String]
    var pySpy: [PySpySample]
    var knocks: Int
    var knockerContention: Double

    /// The exact held share from the start to `end`.
    func heldShare(upTo end: UInt64) -> Double {
        let held = holds.reduce(UInt64(0)) { total, hold in hold.0 >= end ? total : total + (min(hold.1, end) - hold.0) }
        return end > start ? Double(held) / Double(end - start) : 0
    }
}

/// A small seeded generator (SplitMix64), so that a run's sample times can be drawn again.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
