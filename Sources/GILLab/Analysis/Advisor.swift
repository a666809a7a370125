// Profile first, then choose: `gillab advise` runs a workload briefly on one thread and on
// several, reads where each thread's time went (holding the lock, released in kernels,
// released in I/O, waiting), classifies the workload, and recommends a strategy with the
// Amdahl-style prediction that justifies it.

/// What to profile.
public enum AdviceTarget: Sendable, Equatable {
    /// A built-in workload at a size (`nil`: its default).
    case workload(WorkloadKind, size: Int?)
    /// One client of `gillab scenario service`'s request loop.
    case service
    /// A user's program that defines `unit(size)` (`--program`), at a size (`nil`: the default).
    case program(UserProgram, size: Int?)

    /// The name, as `--workload` spells it.
    public var name: String {
        switch self {
        case .workload(let kind, _): kind.rawValue
        case .service: "service"
        case .program(let program, _): program.filename
        }
    }
}

/// How a workload spends its time.
public enum WorkloadClass: String, Sendable, Codable {
    /// Mostly waiting in blocking calls with the lock released.
    case ioBound = "io-bound"
    /// Mostly Python-level work holding the lock.
    case cpuHoldingLock = "cpu-bound-holding-lock"
    /// Mostly in kernels that release the lock.
    case cpuReleased = "cpu-bound-released"
    /// No part dominates.
    case mixed
}

/// A recommended way to run a workload.
public enum RecommendedStrategy: String, Sendable, Codable {
    /// Threads, the lock released around blocking calls (or an event loop).
    case threads
    /// Worker processes, each with its own lock (multiprocessing).
    case processes
    /// Threads calling kernels that release the lock: the service scenario's
    /// ``ServiceStrategy/threadsRelease``, whose name it shares.
    case threadsRelease = "threads+release"
    /// I/O threads with a compute pool of one worker per core.
    case hybrid
}

/// What `gillab advise` found and recommends.
public struct Advice: Sendable, Codable, Equatable {
    /// The workload's name.
    public var workload: String
    /// Its size, for a built-in workload.
    public var size: Int?
    /// What the machine was.
    public var machine: MachineInfo
    /// The thread count of the second run.
    public var threads: Int
    /// Time shares on one thread: the profile the classification reads.
    public var oneThread: TimeShares
    /// Time shares with `threads` threads, where waiting shows contention.
    public var manyThreads: TimeShares
    /// Measured speedup of `threads` threads (lock released around kernels) over one.
    public var measuredThreadSpeedup: Double
    /// How the workload spends its time.
    public var classification: WorkloadClass
    /// The strategy that fits the class.
    public var recommendation: RecommendedStrategy
    /// Amdahl's prediction for the recommendation on `threads` workers: the held share runs
    /// one at a time under one lock, kernels spread over the cores, I/O over the threads.
    public var predictedSpeedup: Double
    /// The prediction for plain threads, for comparison.
    public var predictedThreadSpeedup: Double

    enum CodingKeys: String, CodingKey {
        case workload, size, machine, threads, oneThread = "one_thread", manyThreads = "many_threads"
        case measuredThreadSpeedup = "measured_thread_speedup", classification, recommendation
        case predictedSpeedup = "predicted_speedup", predictedThreadSpeedup = "predicted_thread_speedup"
    }
}

/// The profile-then-advise step.
public enum Advisor {
    /// A class needs this share of one thread's time to be named for it; below, `mixed`.
    public static let dominantShare = 0.7

    /// Checks the profile's settings, as ``advise(_:threads:repeats:units:)`` does first.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    public static func validate(threads: Int, repeats: Int) throws(RunnerError) {
        guard (2...256).contains(threads) else { throw .setting("threads", "must be between 2 and 256, got \(threads)") }
        guard (1...50).contains(repeats) else { throw .setting("repeats", "must be between 1 and 50, got \(repeats)", subject: "repeat") }
    }

    /// Profiles `target` on one thread and on `threads` threads (lock released around kernels
    /// and I/O, as a well-behaved extension does), `repeats` times each, and advises.
    /// - Parameters:
    ///   - target: the workload, or the service scenario, to profile.
    ///   - threads: the thread count of the second profile.
    ///   - repeats: counted runs per profile.
    ///   - units: units per run for a workload; `nil` is half its default.
    /// - Throws: ``RunnerError``.
    public static func advise(_ target: AdviceTarget, threads: Int = max(2, MachineInfo.onlineCores),
                              repeats: Int = 3, units: Int? = nil) throws(RunnerError) -> Advice {
        try validate(threads: threads, repeats: repeats)
        let machine = MachineInfo.current()
        let one: (wall: UInt64, statistics: LockStatistics), many: (wall: UInt64, statistics: LockStatistics)
        switch target {
        case .workload(let kind, let size):
            (one, many) = try profile(kind, size: size ?? kind.defaultSize, units: units, threads: threads, repeats: repeats)
        case .service:
            (one, many) = try profileService(threads: threads, repeats: repeats)
        case .program(let program, let size):
            (one, many) = try profile(UserProgramWorkload(program: program, size: size ?? UserProgram.defaultSize),
                                      units: units ?? UserProgram.defaultUnits, threads: threads, repeats: repeats)
        }
        let oneShares = TimeShares(one.statistics, wallNanoseconds: one.wall, threads: 1)
        let manyShares = TimeShares(many.statistics, wallNanoseconds: many.wall, threads: threads)
        var size: Int? = nil
        if case .workload(let kind, let given) = target { size = given ?? kind.defaultSize }
        if case .program(_, let given) = target { size = given ?? UserProgram.defaultSize }
        return decide(workload: target.name, size: size, machine: machine, threads: threads, one: oneShares,
                      many: manyShares, measured: Double(one.wall) / Double(max(many.wall, 1)))
    }

    /// The class of a profile whose busy time splits into these shares (they sum to 1): the part
    /// that reaches ``dominantShare`` names it; none does, `mixed`.
    public static func classify(held: Double, kernel: Double, io: Double) -> WorkloadClass {
        io >= dominantShare ? .ioBound
            : held >= dominantShare ? .cpuHoldingLock
            : kernel >= dominantShare ? .cpuReleased
            : .mixed
    }

    /// The strategy for a class.
    public static func strategy(for classification: WorkloadClass) -> RecommendedStrategy {
        switch classification {
        case .ioBound: .threads
        case .cpuHoldingLock: .processes
        case .cpuReleased: .threadsRelease
        case .mixed: .hybrid
        }
    }

    /// Classifies `one` and picks a strategy for `threads` workers on `machine.cores` cores.
    static func decide(workload: String, size: Int?, machine: MachineInfo, threads: Int, one: TimeShares,
                       many: TimeShares, measured: Double) -> Advice {
        let (held, kernel, io) = one.normalized
        let parallel = Double(min(threads, machine.cores))
        // One lock: held work one at a time; kernels over the cores; blocking calls overlap.
        let threadPrediction = 1 / (held + kernel / parallel + io / Double(threads))
        // A lock per process (or the compute in a process pool): all compute over the cores.
        let processPrediction = 1 / ((held + kernel) / parallel + io / Double(threads))

        let classification = classify(held: held, kernel: kernel, io: io)
        let recommendation = strategy(for: classification)
        let predicted = recommendation == .processes || recommendation == .hybrid ? processPrediction : threadPrediction
        return Advice(workload: workload, size: size, machine: machine, threads: threads, oneThread: one, manyThreads: many,
                      measuredThreadSpeedup: measured, classification: classification, recommendation: recommendation,
                      predictedSpeedup: predicted, predictedThreadSpeedup: threadPrediction)
    }

    private static func profile(_ kind: WorkloadKind, size: Int, units: Int?, threads: Int, repeats: Int)
        throws(RunnerError) -> ((UInt64, LockStatistics), (UInt64, LockStatistics)) {
        let plan = RunPlan(workload: kind, size: size, units: units, threads: [threads])
        try plan.validate()
        // Brief: half the run's default work, enough for the shares to settle.
        let units = units ?? max(plan.resolvedUnits / 2, threads)
        let workload: any Workload
        do { workload = try kind.make(size: size, units: units) } catch { throw .workload(error) }
        defer { workload.close() }
        return try profile(workload, units: units, threads: threads, repeats: repeats)
    }

    /// Runs `workload` on one thread and on `threads`, releasing, `repeats` times each; the medians.
    private static func profile(_ workload: any Workload, units: Int, threads: Int, repeats: Int)
        throws(RunnerError) -> ((UInt64, LockStatistics), (UInt64, LockStatistics)) {
        var ones: [TrialOutcome] = [], manys: [TrialOutcome] = []
        do throws(WorkloadError) {
            try BLAS.withThreads(1) { () throws(WorkloadError) in
                _ = try runTrial(workload: workload, units: units, threads: 1, discipline: .release, lock: .default)  // warm-up
                for _ in 0..<repeats {
                    ones.append(try runTrial(workload: workload, units: units, threads: 1, discipline: .release, lock: .default))
                    manys.append(try runTrial(workload: workload, units: units, threads: threads, discipline: .release, lock: .default))
                }
            }
        } catch {
            throw .workload(error)
        }
        func median(_ outcomes: [TrialOutcome]) -> (UInt64, LockStatistics) {
            let chosen = medianElement(outcomes, by: \.wallNanoseconds)
            return (chosen.wallNanoseconds, chosen.perThread.reduce(LockStatistics()) { $0.adding($1) })
        }
        return (median(ones), median(manys))
    }

    private static func profileService(threads: Int, repeats: Int)
        throws(RunnerError) -> ((UInt64, LockStatistics), (UInt64, LockStatistics)) {
        let base = ServicePlan(strategies: [.threadsRelease], requests: 120, concurrency: 1)
        var many = base
        many.concurrency = threads
        var ones: [ServiceRound] = [], manys: [ServiceRound] = []
        try BLAS.withThreads(1) { () throws(RunnerError) in
            let expected = try ServiceScenario.reference(base)
            _ = try ServiceScenario.runRound(.threadsRelease, base, expected: expected)  // warm-up
            for _ in 0..<repeats {
                ones.append(try ServiceScenario.runRound(.threadsRelease, base, expected: expected))
                manys.append(try ServiceScenario.runRound(.threadsRelease, many, expected: expected))
            }
        }
        func median(_ rounds: [ServiceRound]) -> (UInt64, LockStatistics) {
            let chosen = medianElement(rounds, by: \.wallNanoseconds)
            return (chosen.wallNanoseconds, chosen.threadStatistics)
        }
        return (median(ones), median(manys))
    }
}
