import Synchronization

/// Why a run was refused or failed.
public enum RunnerError: Error, Equatable, CustomStringConvertible {
    /// A plan's setting is out of range; the error names the setting and its value.
    case invalidSetting(InvalidSetting)
    /// Something the run needs failed outside GILLab (a script, a program it starts); the message
    /// says what.
    case failed(String)
    /// The buffers would not fit in memory.
    case tooLarge(workload: String, size: Int, threads: Int, bytes: Int, available: UInt64)
    /// Two rows computed different results: a bug, never a timing artefact.
    case checksumMismatch(mode: Mode, threads: Int, expected: String, actual: String)
    /// A workload failed: a kernel refused its arguments, or the program raised.
    case workload(WorkloadError)
    /// A worker process of a `processes` row failed; the message names it.
    case worker(WorkerError)
    /// A service strategy answered a request differently from the serial reference: a bug.
    case responseMismatch(strategy: String, request: Int, expected: String)

    /// A one-line message naming the bad value.
    public var description: String {
        switch self {
        case .invalidSetting(let error):
            error.description
        case .failed(let detail):
            detail
        case .tooLarge(let workload, let size, let threads, let bytes, let available):
            "\(workload) size \(size) on \(counted(threads, "thread")) needs about \(formatBytes(bytes)), more than the \(formatBytes(Int(clamping: available))) of memory here"
        case .checksumMismatch(let mode, let threads, let expected, let actual):
            "checksum mismatch: \(mode.rawValue) on \(counted(threads, "thread")) computed \(actual), serial computed \(expected)"
        case .workload(let error):
            error.description
        case .worker(let error):
            error.description
        case .responseMismatch(let strategy, let request, let expected):
            "response mismatch: \(strategy) answered request \(request) differently from the serial reference (\(expected))"
        }
    }
}

extension RunnerError {
    /// What a trial threw, as the runner reports it: a workload's or a worker's failure wrapped,
    /// a runner error as it is. Trials throw nothing else.
    static func wrapping(_ error: any Error) -> RunnerError {
        switch error {
        case let error as RunnerError: error
        case let error as WorkloadError: .workload(error)
        case let error as WorkerError: .worker(error)
        default: preconditionFailure("unexpected error \(error)")
        }
    }

    /// ``invalidSetting(_:)`` for `setting` (see ``InvalidSetting/init(_:_:subject:)``).
    static func setting(_ setting: String, _ problem: String, subject: String? = nil) -> RunnerError {
        .invalidSetting(InvalidSetting(setting, problem, subject: subject))
    }

    /// ``invalidSetting(_:)`` for a lock configuration a plan carries.
    static func setting(_ error: LockConfigurationError) -> RunnerError {
        .invalidSetting(InvalidSetting(error.setting, error.problem, subject: error.subject))
    }
}

func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : "\((value * 10).rounded() / 10) \(units[unit])"
}

/// What to run: one workload at one size, over modes and thread counts.
public struct RunPlan: Sendable, Equatable {
    /// The workload.
    public var workload: WorkloadKind
    /// The problem size per unit.
    public var size: Int
    /// Total units of work, split across the threads of each row; `nil` picks a count that
    /// takes about a quarter of a second serially.
    public var units: Int?
    /// Thread counts for the threaded modes. `serial` always runs on one.
    public var threads: [Int]
    /// Modes to report. `serial` is always run, as the baseline.
    public var modes: [Mode]
    /// Counted runs per row, after one warm-up.
    public var repeats: Int
    /// OpenBLAS threads during the run; restored afterwards.
    public var blasThreads: Int
    /// The lock's policy and switch interval.
    public var lock: LockConfiguration
    /// How `processes` rows get their input to the workers.
    public var transfer: Transfer
    /// The executable that `processes` and `hybrid` rows start as workers: any binary whose
    /// `main` calls ``WorkerProcess/runIfWorker()`` first, as gillab's does. `nil` means this
    /// process's own executable.
    public var workerExecutable: String?
    /// How long a worker process may take to answer any one message before every worker is
    /// killed and the run fails.
    public var workerTimeout: Duration
    /// Where `hybrid` rows compute.
    public var compute: HybridCompute
    /// Workers in `hybrid`'s compute pool.
    public var computeWorkers: Int
    /// `gemm` under `release`: release dgemm only above this matrix order, as numpy releases
    /// only above 500 elements; `nil` releases always.
    public var releaseThreshold: Int? = nil
    /// Record the first counted repeat of each row that runs its threads in this process, and
    /// charge every wait to the holder and the code it waited behind (``LockSummary/waitsBehind``, ``LockSummary/blockers``):
    /// what `gillab run --stats` and `gillab report` print. A trace passed to the runner does it
    /// too.
    public var attributeWaits = false
    /// A user's program to run instead of the workload (`--program`): its `unit(size)` is called
    /// once per unit. Runs in the in-process modes only.
    public var program: UserProgram? = nil

    /// Creates a plan; nothing is checked until ``Runner/run(_:trace:stop:progress:)``.
    public init(workload: WorkloadKind, size: Int? = nil, units: Int? = nil, threads: [Int] = [1, 2],
                modes: [Mode] = [.serial, .hold, .release], repeats: Int = 5, blasThreads: Int = 1,
                lock: LockConfiguration = .default, transfer: Transfer = .pipe, workerExecutable: String? = nil,
                workerTimeout: Duration = .seconds(60), compute: HybridCompute = .processes,
                computeWorkers: Int = MachineInfo.onlineCores) {
        self.compute = compute
        self.computeWorkers = computeWorkers
        self.transfer = transfer
        self.workerExecutable = workerExecutable
        self.workerTimeout = workerTimeout
        self.workload = workload
        self.size = size ?? workload.defaultSize
        self.units = units
        self.threads = threads
        self.modes = modes
        self.repeats = repeats
        self.blasThreads = blasThreads
        self.lock = lock
    }

    /// The units the run will use.
    public var resolvedUnits: Int { units ?? (program != nil ? UserProgram.defaultUnits : workload.defaultUnits(size: size)) }

    /// The workload's name in reports: the program's file name, or the built-in workload's.
    var workloadName: String { program?.filename ?? workload.rawValue }

    /// Checks every setting, and that the buffers fit in memory.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` or ``RunnerError/tooLarge(workload:size:threads:bytes:available:)``.
    public func validate() throws(RunnerError) {
        guard size >= 1 else { throw .setting("size", "must be at least 1, got \(size)") }
        if program != nil {
            // The program's own size and memory are its business; the built-in workload's limits do not apply.
            return try validateCommon()
        }
        if let most = workload.maximumSize, size > most {
            throw .setting("size", "must be at most \(most) bytes for \(workload.rawValue), got \(size)")
        }
        try validateCommon()
        let most = threads.max() ?? 1
        let perThread = workload.bytesPerThread(size: size)
        let (bytes, overflow) = perThread.multipliedReportingOverflow(by: most)
        let available = MachineInfo.physicalMemoryBytes
        if overflow || UInt64(bytes) > available / 10 * 8 {
            throw .tooLarge(workload: workload.rawValue, size: size, threads: most,
                            bytes: overflow ? .max : bytes, available: available)
        }
    }

    /// The checks that do not depend on the workload.
    private func validateCommon() throws(RunnerError) {
        if let units, units < 1 { throw .setting("units", "must be at least 1, got \(units)") }
        if program != nil, let mode = modes.first(where: { $0 == .processes || $0 == .hybrid }) {
            throw .setting("modes", "--program runs in this process: \(mode.rawValue) rows would need the program in worker processes; use serial, hold, release, free or eventloop",
                           subject: "")
        }
        guard !threads.isEmpty else { throw .setting("threads", "no thread counts given", subject: "") }
        if let bad = threads.first(where: { $0 < 1 }) { throw .setting("threads", "must be at least 1, got \(bad)", subject: "thread count") }
        if let bad = threads.first(where: { $0 > 4096 }) { throw .setting("threads", "must be at most 4096, got \(bad)", subject: "thread count") }
        guard !modes.isEmpty else { throw .setting("modes", "no modes given", subject: "") }
        guard repeats >= 1 else { throw .setting("repeats", "must be at least 1, got \(repeats)", subject: "repeat") }
        guard blasThreads >= 1 else { throw .setting("blasThreads", "must be at least 1, got \(blasThreads)", subject: "BLAS threads") }
        guard workerTimeout > .zero else { throw .setting("workerTimeout", "must be positive, got \(workerTimeout)") }
        if releaseThreshold != nil && (program != nil || (workload != .gemm && workload != .gemmCall)) {
            throw .setting("releaseThreshold", "applies to gemm and gemm-call only, got workload \(workloadName)",
                           subject: "release threshold")
        }
        guard (1...256).contains(computeWorkers) else {
            throw .setting("computeWorkers", "must be between 1 and 256, got \(computeWorkers)")
        }
    }

    /// The (mode, threads) rows in run order: serial first, then each mode over each count.
    var rows: [(mode: Mode, threads: Int)] {
        var rows: [(Mode, Int)] = [(.serial, 1)]
        for mode in modes where mode != .serial {
            for count in threads where !rows.contains(where: { $0 == (mode, count) }) { rows.append((mode, count)) }
        }
        return rows
    }
}

/// Asks a run to stop at the next trial boundary, as a SIGINT handler does: the run then reports
/// the rows of the rounds it completed. Stopping is one atomic store, safe in a signal handler.
public final class StopRequest: Sendable {
    private let requested = Atomic<Bool>(false)

    /// Creates a request that has not been made yet.
    public init() {}

    /// Asks the run to stop after the trial in progress.
    public func stop() { requested.store(true, ordering: .relaxed) }

    /// Whether a stop was asked for.
    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// Runs plans under the measurement contract: fixed total work, one warm-up, interleaved
/// counted repeats, medians, and checksums that must agree.
public enum Runner {
    /// Runs `plan`.
    /// - Parameters:
    ///   - plan: what to run.
    ///   - trace: where to record the lock events of the first counted repeat of each row run
    ///     in this process; `nil` records nothing.
    ///   - stop: checked between trials; once requested, the run reports the rounds completed
    ///     so far, with ``RunReport/interrupted`` set.
    ///   - progress: called before each trial with (trials done, trials in all).
    /// - Throws: ``RunnerError``; a checksum mismatch fails the whole run.
    public static func run(_ plan: RunPlan, trace: RunTrace? = nil, stop: StopRequest? = nil,
                           progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> RunReport {
        try plan.validate()
        let workload: any Workload
        do {
            if let program = plan.program {
                workload = UserProgramWorkload(program: program, size: plan.size)
            } else {
                workload = try plan.workload.make(size: plan.size, units: plan.resolvedUnits, releaseThreshold: plan.releaseThreshold)
            }
        } catch {
            throw .workload(error)
        }
        return try run(plan, workload: workload, trace: trace, stop: stop, progress: progress)
    }

    /// Runs `plan` on a workload already made, and closes it when done, failed or not.
    static func run(_ plan: RunPlan, workload: any Workload, trace: RunTrace? = nil, stop: StopRequest? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws(RunnerError) -> RunReport {
        defer { workload.close() }  // the echo server and temporary files go, also on failure
        try plan.validate()
        let units = plan.resolvedUnits
        let rows = plan.rows
        let cores = MachineInfo.onlineCores

        let machine = MachineInfo.current()  // before the BLAS thread count is changed
        // Waits are attributed right after each traced trial; the events are kept only for a
        // trace the caller asked for.
        let recordsEvents = trace != nil || plan.attributeWaits
        let eventsPerThread = trace?.eventsPerThread ?? RunTrace.defaultEventsPerThread
        var attributed: [Int: AttributedWaits] = [:]
        return try BLAS.withThreads(plan.blasThreads) { () throws(RunnerError) -> RunReport in
            // Round 0 is the warm-up; rounds 1...repeats are counted.
            var outcomes = Array(repeating: [TrialOutcome](), count: rows.count)
            var expected: UInt64?
            let wholeRounds = try interleavedRounds(plan.repeats + 1, over: rows.count, stop: stop,
                                                    progress: progress) { (round, index) throws(RunnerError) in
                let row = rows[index]
                var outcome: TrialOutcome
                // The first counted repeat is the one traced.
                let recorder = recordsEvents && round == 1 ? LockEventRecorder(eventsPerThread: eventsPerThread) : nil
                do {
                    let lock = row.mode.lockConfiguration(plan.lock)
                    switch row.mode {
                    case .eventloop:
                        outcome = try runEventLoopTrial(workload: workload, units: units, tasks: row.threads, lock: lock,
                                                        eventHook: recorder)
                    case .processes:
                        let (trial, figures) = try runProcessTrial(
                            workload: workload, kind: plan.workload, units: units, processes: row.threads,
                            transfer: plan.transfer, lock: lock, blasThreads: plan.blasThreads,
                            executable: workerExecutable(plan.workerExecutable), timeout: plan.workerTimeout)
                        outcome = trial
                        outcome.processes = figures
                    case .hybrid:
                        outcome = try runHybridTrial(
                            workload: workload, kind: plan.workload, units: units, threads: row.threads,
                            compute: plan.compute, computeWorkers: plan.computeWorkers, transfer: plan.transfer, lock: lock,
                            blasThreads: plan.blasThreads, executable: workerExecutable(plan.workerExecutable),
                            timeout: plan.workerTimeout)
                    default:
                        outcome = try runTrial(workload: workload, units: units, threads: row.threads,
                                               discipline: row.mode.discipline, lock: lock, eventHook: recorder)
                    }
                } catch {
                    throw .wrapping(error)
                }
                if let expected, expected != outcome.checksum {
                    throw .checksumMismatch(mode: row.mode, threads: row.threads,
                                            expected: hex(expected), actual: hex(outcome.checksum))
                }
                expected = outcome.checksum
                if round > 0 { outcomes[index].append(outcome) }
                if let recorder, !recorder.threads.isEmpty {
                    let segment = RunTrace.segment(mode: row.mode, threads: row.threads, policy: row.mode.lockConfiguration(plan.lock).policy,
                                                   start: outcome.startNanoseconds, wall: outcome.wallNanoseconds, recorder: recorder,
                                                   locationNames: outcome.locationNames)
                    attributed[index] = AttributedWaits(segment)
                    trace?.append(segment, row: index)
                }
            }
            let completedRounds = max(wholeRounds - 1, 0)
            let interrupted = completedRounds < plan.repeats
            if interrupted {
                // Only whole rounds count, so that every row has the same number of repeats.
                outcomes = outcomes.map { Array($0.prefix(completedRounds)) }
                if completedRounds == 0 {
                    return RunReport(machine: machine, config: settings(plan, units: units, repeats: 0), results: [], interrupted: true)
                }
            }

            let serialWalls = outcomes[0].map { Double($0.wallNanoseconds) }
            let serialMedianRun = medianOutcome(outcomes[0])
            let serialHeld = LockSummary(serialMedianRun.lock, wallNanoseconds: serialMedianRun.wallNanoseconds).heldFraction
            let results = rows.enumerated().compactMap { index, row -> RunResult? in
                guard row.mode != .serial || plan.modes.contains(.serial) else { return nil }
                let walls = Summary(outcomes[index].map { Double($0.wallNanoseconds) / 1e9 })
                let median = medianOutcome(outcomes[index])
                let usable = Double(min(row.mode.osThreads(row.threads, computeWorkers: plan.computeWorkers), cores))
                let s = min(max(serialHeld, 0), 1)
                // The median of per-round ratios: serial and this row ran side by side in each
                // round, so a drift of the machine between rounds cancels in each ratio, where a
                // ratio of medians would carry one slow serial run into every row.
                let speedup = Summary(zip(serialWalls, outcomes[index]).map { $0 / Double($1.wallNanoseconds) }).median
                // Cores bound only work that computes: I/O-bound threads mostly wait.
                let computes = plan.program != nil || !plan.workload.isIOBound
                var lock = LockSummary(median.lock, wallNanoseconds: median.wallNanoseconds)
                if let waits = attributed[index] { lock.attribute(waits) }
                return RunResult(
                    workload: plan.workloadName, size: plan.size, units: units, mode: row.mode,
                    threads: row.threads, policy: row.mode.lockConfiguration(plan.lock).policy, wall: walls, speedup: speedup,
                    efficiency: computes ? speedup / usable : nil,
                    amdahlSpeedup: computes ? 1 / (s + (1 - s) / usable) : nil,
                    lock: lock,
                    checksum: hex(median.checksum), residentBytes: median.residentBytes,
                    perThread: median.perThread.enumerated().map { index, statistics in
                        ThreadFigures(name: index < median.threadNames.count ? median.threadNames[index] : "worker-\(index)", statistics)
                    },
                    processes: median.processes.map { ProcessFigures($0, transfer: plan.transfer) })
            }
            return RunReport(machine: machine, config: settings(plan, units: units, repeats: completedRounds), results: results,
                             interrupted: interrupted ? true : nil)
        }
    }

    private static func settings(_ plan: RunPlan, units: Int, repeats: Int) -> RunSettings {
        RunSettings(workload: plan.workloadName, size: plan.size, units: units, threads: plan.threads,
                    modes: plan.modes, repeats: repeats, warmup: 1, blasThreads: plan.blasThreads,
                    policy: plan.lock.policy,
                    switchIntervalSeconds: Double(plan.lock.switchIntervalNanoseconds) / 1e9,
                    interpreters: plan.lock.lockCount)
    }

    /// The counted run whose wall time is the median (the lower middle for an even count).
    private static func medianOutcome(_ outcomes: [TrialOutcome]) -> TrialOutcome {
        medianElement(outcomes, by: \.wallNanoseconds)
    }
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}
