/// Median, minimum and maximum of a set of samples.
public struct Summary: Sendable, Codable, Equatable {
    public var median: Double
    public var min: Double
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
    /// Time the lock was held ÷ wall time. Above 1 cannot happen; near 1 means serialized.
    public var heldFraction: Double
    /// Acquisitions by a thread other than the previous holder.
    public var switches: UInt64
    /// Drop requests set by waiters whose interval ran out.
    public var dropRequests: UInt64
    /// Drops on request that waited for the handoff.
    public var forcedSwitches: UInt64
    /// Acquisitions, and how many of them had to wait.
    public var acquisitions: UInt64
    public var contendedAcquisitions: UInt64
    /// Total time all threads spent waiting for the lock, in seconds.
    public var waitSeconds: Double
    /// The longest single wait, in seconds.
    public var maxWaitSeconds: Double

    enum CodingKeys: String, CodingKey {
        case heldFraction = "held_fraction", switches, dropRequests = "drop_requests"
        case forcedSwitches = "forced_switches", acquisitions, contendedAcquisitions = "contended_acquisitions"
        case waitSeconds = "wait_s", maxWaitSeconds = "max_wait_s"
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
    }
}

/// One row: a workload at one size, in one mode, on one thread count.
public struct RunResult: Sendable, Codable, Equatable {
    public var workload: String
    public var size: Int
    /// Total work units, the same in every row.
    public var units: Int
    public var mode: Mode
    public var threads: Int
    public var policy: LockPolicy
    /// Wall time of the counted runs, in seconds.
    public var wall: Summary
    /// Median wall of `serial` ÷ median wall of this row.
    public var speedup: Double
    /// `speedup` ÷ min(threads, cores).
    public var efficiency: Double
    /// 1 ÷ (s + (1 − s) / min(threads, cores)), s the held fraction of the serial run: what this
    /// row could reach if only the Python-level part were serial.
    public var amdahlSpeedup: Double
    public var lock: LockSummary
    /// The wrapping sum of all unit digests, in hex; equal in every row, or the run fails.
    public var checksum: String

    enum CodingKeys: String, CodingKey {
        case workload, size, units, mode, threads, policy, wall = "wall_s", speedup, efficiency
        case amdahlSpeedup = "amdahl_speedup", lock, checksum
    }
}

/// The settings a run used, echoed into its report.
public struct RunSettings: Sendable, Codable, Equatable {
    public var workload: String
    public var size: Int
    public var units: Int
    public var threads: [Int]
    public var modes: [Mode]
    public var repeats: Int
    public var warmup: Int
    public var blasThreads: Int
    public var policy: LockPolicy
    public var switchIntervalSeconds: Double

    enum CodingKeys: String, CodingKey {
        case workload, size, units, threads, modes, repeats = "repeat", warmup, blasThreads = "blas_threads"
        case policy, switchIntervalSeconds = "switch_interval_s"
    }
}

/// Everything one run produced: `{"machine": …, "config": …, "results": […]}`.
public struct RunReport: Sendable, Codable, Equatable {
    public var machine: MachineInfo
    public var config: RunSettings
    public var results: [RunResult]
}
