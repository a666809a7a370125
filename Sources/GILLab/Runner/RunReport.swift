/// Median, minimum and maximum of a set of samples.
public struct Summary: Sendable, Codable, Equatable {
    /// The middle sample; the mean of the middle two for an even count.
    public var median: Double
    /// The smallest sample.
    public var min: Double
    /// The largest sample.
    public var max: Double

    /// Summarizes non-empty `samples`; the median of an even count is the mean of the middle two.
    public init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "Summary of no samples")
        let sorted = samples.sorted()
        let mid = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
    }
}

/// The lock's figures for one result row, from the counted run with the median wall time.
public struct LockSummary: Sendable, Codable, Equatable {
    /// Time the lock was held, summed over threads, ÷ wall time. Near 1 means serialized. Under a
    /// lock it cannot exceed 1; under `free` holds overlap and it can reach the thread count.
    public var heldFraction: Double
    /// Acquisitions by a thread other than the previous holder.
    public var switches: UInt64
    /// Drop requests set by waiters whose interval ran out.
    public var dropRequests: UInt64
    /// Drops on request that waited for the handoff.
    public var forcedSwitches: UInt64
    /// Acquisitions, in all.
    public var acquisitions: UInt64
    /// Acquisitions that found the lock held and had to wait.
    public var contendedAcquisitions: UInt64
    /// Total time all threads spent waiting for the lock, in seconds.
    public var waitSeconds: Double
    /// The longest single wait, in seconds.
    public var maxWaitSeconds: Double
    /// Fraction of the wall time during which at least one thread was waiting for the lock:
    /// gil_load's "wait" figure, measured exactly rather than sampled.
    public var waitingFraction: Double
    /// `free` only: acquisitions that found another thread holding at the same moment, each a
    /// wait that a GIL would have imposed; 0 under the other policies.
    public var concurrentAcquisitions: UInt64
    /// Who waited behind whom, from the row's first counted repeat, when waits were attributed
    /// (`--stats`, `report`, `--trace`) and the row has a holder to wait behind: threads in this
    /// process, more than one, any policy but `free`. Largest first. JSON `waits_behind`.
    public var waitsBehind: [WaitBehind]? = nil
    /// The locations others waited behind, from the same repeat, largest first. JSON `blockers`.
    public var blockers: [BlockerFigures]? = nil
    /// `true` when the recorder dropped events of that repeat (it keeps 1,000,000 per thread), so
    /// that only the waits up to the first thread's last kept event were attributed; absent
    /// otherwise. JSON `waits_truncated`.
    public var waitsTruncated: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case heldFraction = "held_fraction", switches, dropRequests = "drop_requests"
        case forcedSwitches = "forced_switches", acquisitions, contendedAcquisitions = "contended_acquisitions"
        case waitSeconds = "wait_s", maxWaitSeconds = "max_wait_s", waitingFraction = "waiting_fraction"
        case concurrentAcquisitions = "concurrent_acquisitions", waitsBehind = "waits_behind", blockers
        case waitsTruncated = "waits_truncated"
    }

    /// Fills ``waitsBehind``, ``blockers`` and ``waitsTruncated``.
    mutating func attribute(_ waits: AttributedWaits) {
        waitsBehind = waits.waitsBehind
        blockers = waits.blockers
        waitsTruncated = waits.truncated ? true : nil
    }

    init(_ statistics: LockStatistics, wallNanoseconds: UInt64) {
        heldFraction = Double(statistics.totalHoldNanoseconds) / Double(max(wallNanoseconds, 1))
        switches = statistics.switches
        dropRequests = statistics.dropRequests
        forcedSwitches = statistics.forcedSwitches
        acquisitions = statistics.acquisitions
        contendedAcquisitions = statistics.contendedAcquisitions
        waitSeconds = statistics.totalWaitSeconds
        maxWaitSeconds = Double(statistics.maxWaitNanoseconds) / 1e9
        waitingFraction = Double(statistics.someoneWaitingNanoseconds) / Double(max(wallNanoseconds, 1))
        concurrentAcquisitions = statistics.concurrentAcquisitions
    }
}

/// A traced repeat's waits, attributed as soon as it ran, so that its events need not be kept.
struct AttributedWaits {
    var waitsBehind: [WaitBehind]
    var blockers: [BlockerFigures]
    var truncated: Bool

    /// `nil` when the segment has no holder to wait behind: `free`, or one thread.
    init?(_ segment: RunTrace.Segment) {
        guard segment.policy != .free, segment.recordings.count > 1 else { return nil }
        let attribution = segment.waitAttribution
        let names = Dictionary(attribution.threads.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let lives = Dictionary(attribution.threads.map { ($0.id, $0.lifeNanoseconds) }, uniquingKeysWith: { first, _ in first })
        waitsBehind = attribution.charges.map { charge in
            WaitBehind(waiter: names[charge.waiter] ?? "thread-\(charge.waiter)",
                       holder: charge.holder.map { names[$0] ?? "thread-\($0)" } ?? WaitAttribution.handoffName,
                       seconds: Double(charge.nanoseconds) / 1e9,
                       shareOfLife: Double(charge.nanoseconds) / Double(max(lives[charge.waiter] ?? 0, 1)))
        }
        let total = Double(max(attribution.totalWaitNanoseconds, 1))
        blockers = attribution.blockers.map {
            BlockerFigures(location: $0.location, seconds: Double($0.nanoseconds) / 1e9,
                           share: Double($0.nanoseconds) / total, handoffs: $0.handoffs)
        }
        truncated = attribution.truncatedAt != nil
    }
}

/// Time one thread waited behind another: a cell of the wait matrix.
public struct WaitBehind: Sendable, Codable, Equatable {
    /// The waiting thread's name.
    public var waiter: String
    /// The holder's name, or `(handoff)` for the time nobody held the lock (the next holder
    /// waking up).
    public var holder: String
    /// Seconds.
    public var seconds: Double
    /// `seconds` ÷ the waiter's life in the timed region.
    public var shareOfLife: Double

    enum CodingKeys: String, CodingKey {
        case waiter, holder, seconds, shareOfLife = "share_of_life"
    }
}

/// A location in code that held the lock while others waited.
public struct BlockerFigures: Sendable, Codable, Equatable {
    /// `file:line in function (text)` of a poll point, `name (hold)` of a native call that kept the lock,
    /// `(interpreter glue)`, or `(handoff)`.
    public var location: String
    /// Seconds others spent waiting while a holder was there, summed over the waiters.
    public var seconds: Double
    /// `seconds` ÷ all the waiting in the row.
    public var share: Double
    /// Times a holder let the lock go from there to a waiting thread.
    public var handoffs: Int
}

/// One row: a workload at one size, in one mode, on one thread count.
public struct RunResult: Sendable, Codable, Equatable {
    /// The workload's name.
    public var workload: String
    /// The problem size per unit.
    public var size: Int
    /// Total work units, the same in every row.
    public var units: Int
    /// How the work was spread, and what happened to the lock around kernels.
    public var mode: Mode
    /// Threads that shared the work.
    public var threads: Int
    /// The lock's handoff policy.
    public var policy: LockPolicy
    /// Wall time of the counted runs, in seconds.
    public var wall: Summary
    /// The median over the counted rounds of `serial`'s wall ÷ this row's wall in the same
    /// round (rows interleave within a round).
    public var speedup: Double
    /// `speedup` ÷ min(threads, cores); `nil` for an I/O-bound workload, whose threads mostly
    /// wait rather than compute, so that the cores are no bound (16 threads sleeping 1 ms each
    /// finish 16 times sooner on 2 cores). JSON writes `null`.
    public var efficiency: Double?
    /// 1 ÷ (s + (1 − s) / min(threads, cores)), s the held fraction of the serial run: what this
    /// row could reach if only the Python-level part were serial. `nil` for an I/O-bound
    /// workload, as ``efficiency`` is. JSON writes `null`.
    public var amdahlSpeedup: Double?
    /// The lock's figures from the counted run with the median wall time.
    public var lock: LockSummary
    /// The wrapping sum of all unit digests, in hex; equal in every row, or the run fails.
    public var checksum: String
    /// Resident memory once every worker was set up, in bytes: this process for the threaded
    /// modes; this process plus every worker process for `processes`.
    public var residentBytes: UInt64 = 0
    /// Each thread's share of the median run: hold, wait and released time. For `processes`,
    /// each worker's interpreter thread.
    public var perThread: [ThreadFigures] = []
    /// What multiprocessing cost; present only for `processes` rows.
    public var processes: ProcessFigures? = nil

    enum CodingKeys: String, CodingKey {
        case workload, size, units, mode, threads, policy, wall = "wall_s", speedup, efficiency
        case amdahlSpeedup = "amdahl_speedup", lock, checksum, residentBytes = "rss_bytes", processes
        case perThread = "per_thread"
    }

    /// As synthesized, except that a missing ``efficiency`` or ``amdahlSpeedup`` is written as
    /// `null` rather than left out, so that every row has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workload, forKey: .workload)
        try c.encode(size, forKey: .size)
        try c.encode(units, forKey: .units)
        try c.encode(mode, forKey: .mode)
        try c.encode(threads, forKey: .threads)
        try c.encode(policy, forKey: .policy)
        try c.encode(wall, forKey: .wall)
        try c.encode(speedup, forKey: .speedup)
        try c.encode(efficiency, forKey: .efficiency)
        try c.encode(amdahlSpeedup, forKey: .amdahlSpeedup)
        try c.encode(lock, forKey: .lock)
        try c.encode(checksum, forKey: .checksum)
        try c.encode(residentBytes, forKey: .residentBytes)
        try c.encode(perThread, forKey: .perThread)
        try c.encodeIfPresent(processes, forKey: .processes)
    }
}

/// One thread's time in one run: holding the lock, waiting for it, and neither.
public struct ThreadFigures: Sendable, Codable, Equatable {
    /// The thread's name (`worker-0`, `event-loop`, …).
    public var name: String
    /// Seconds holding the lock.
    public var holdSeconds: Double
    /// Seconds between asking for the lock and getting it.
    public var waitSeconds: Double
    /// Seconds neither holding nor waiting: in released regions (kernels, I/O) and outside.
    public var releasedSeconds: Double
    /// Times the thread took the lock.
    public var acquisitions: UInt64

    enum CodingKeys: String, CodingKey {
        case name, holdSeconds = "hold_s", waitSeconds = "wait_s", releasedSeconds = "released_s", acquisitions
    }

    init(name: String, _ statistics: LockStatistics) {
        self.name = name
        holdSeconds = Double(statistics.totalHoldNanoseconds) / 1e9
        waitSeconds = Double(statistics.totalWaitNanoseconds) / 1e9
        releasedSeconds = Double(statistics.releasedNanoseconds) / 1e9
        acquisitions = statistics.acquisitions
    }
}

/// The price of multiprocessing in one `processes` row, from the counted run with the median
/// wall time. That wall time includes start-up, as `Pool(T).map(...)` does.
public struct ProcessFigures: Sendable, Codable, Equatable {
    /// How the input travelled.
    public var transfer: Transfer
    /// Seconds from `posix_spawn` to ready, over the workers: exec, runtime start, job and
    /// input received, interpreter built.
    public var startupSeconds: Summary
    /// Bytes through the pipes, both ways: jobs, input under `pipe`, tasks and results.
    public var pipeBytes: Int
    /// Bytes of input placed in shared memory under `shm`.
    public var sharedBytes: Int
    /// Seconds spent moving input, summed over processes: serializing it (and writing it into
    /// shared memory) in the parent, reading it from the pipe or mapping it in each worker. 0
    /// under `none`. Building a worker from the bytes is set-up, as generating them is under
    /// `none`. Hybrid rows' per-unit round trips are not in it; they are in the wall time.
    public var ipcSeconds: Double
    /// The largest peak resident memory of one worker, in bytes (`wait4`'s `ru_maxrss`).
    public var workerPeakResidentBytes: UInt64
    /// Peak resident memory summed over the workers, in bytes.
    public var workersPeakResidentBytes: UInt64

    enum CodingKeys: String, CodingKey {
        case transfer, startupSeconds = "startup_s", pipeBytes = "pipe_bytes", sharedBytes = "shared_bytes"
        case ipcSeconds = "ipc_s", workerPeakResidentBytes = "worker_peak_rss_bytes"
        case workersPeakResidentBytes = "workers_peak_rss_bytes"
    }

    init(_ trial: ProcessTrialFigures, transfer: Transfer) {
        self.transfer = transfer
        startupSeconds = Summary(trial.startupNanoseconds.map { Double($0) / 1e9 })
        pipeBytes = trial.pipeBytes
        sharedBytes = trial.sharedBytes
        ipcSeconds = Double(trial.ipcNanoseconds) / 1e9
        workerPeakResidentBytes = trial.peakResidentBytes.max() ?? 0
        workersPeakResidentBytes = trial.peakResidentBytes.reduce(0, +)
    }
}

/// The settings a run used, echoed into its report.
public struct RunSettings: Sendable, Codable, Equatable {
    /// The workload's name.
    public var workload: String
    /// The problem size per unit.
    public var size: Int
    /// Total units of work, split across the threads of each row.
    public var units: Int
    /// Thread counts of the threaded modes.
    public var threads: [Int]
    /// Modes asked for (`serial` runs regardless, as the baseline).
    public var modes: [Mode]
    /// Counted runs per row.
    public var repeats: Int
    /// Uncounted warm-up runs per row.
    public var warmup: Int
    /// OpenBLAS threads during the run.
    public var blasThreads: Int
    /// The lock's handoff policy.
    public var policy: LockPolicy
    /// The lock's switch interval, in seconds.
    public var switchIntervalSeconds: Double
    /// Interpreters, each with its own lock (more than one only under `per-interpreter`).
    public var interpreters: Int

    enum CodingKeys: String, CodingKey {
        case workload, size, units, threads, modes, repeats = "repeat", warmup, blasThreads = "blas_threads"
        case policy, switchIntervalSeconds = "switch_interval_s", interpreters
    }
}

/// Everything one run produced: `{"machine": …, "config": …, "results": […]}`.
public struct RunReport: Sendable, Codable, Equatable {
    /// What the machine was.
    public var machine: MachineInfo
    /// The settings the run used.
    public var config: RunSettings
    /// One row per (mode, threads), serial first.
    public var results: [RunResult]
    /// Set when the run was stopped early (``StopRequest``): the rows are medians over the
    /// rounds completed by then, and `config.repeat` says how many those were.
    public var interrupted: Bool? = nil
}

/// Where one thread's time went, as fractions of the wall time, summed over threads and
/// divided by their count.
public struct TimeShares: Sendable, Codable, Equatable {
    /// Holding the lock: Python-level work (and kernels called holding it).
    public var held: Double
    /// Released around kernels.
    public var releasedKernel: Double
    /// Released around blocking I/O.
    public var releasedIO: Double
    /// Waiting to take the lock.
    public var waiting: Double

    enum CodingKeys: String, CodingKey {
        case held, releasedKernel = "released_kernel", releasedIO = "released_io", waiting
    }

    /// (held, kernel, I/O) scaled to sum to 1: the remainder (thread start, clock reads) is
    /// not work any strategy changes.
    public var normalized: (held: Double, kernel: Double, io: Double) {
        let busy = max(held + releasedKernel + releasedIO, 1e-9)
        return (held / busy, releasedKernel / busy, releasedIO / busy)
    }

    init(_ statistics: LockStatistics, wallNanoseconds: UInt64, threads: Int) {
        let total = Double(max(wallNanoseconds, 1)) * Double(threads)
        held = Double(statistics.totalHoldNanoseconds) / total
        releasedKernel = Double(statistics.releasedKernelNanoseconds) / total
        releasedIO = Double(statistics.releasedIONanoseconds) / total
        waiting = Double(statistics.totalWaitNanoseconds) / total
    }
}
