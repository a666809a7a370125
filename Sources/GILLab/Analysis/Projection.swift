// Past the cores of this machine. A 2-core machine measures speedups up to 2; `gillab project`
// extends them to N cores with Amdahl's law, from two serial fractions it measured:
//
// - `held`: the share of a unit's time that holds the lock, from the mode's 1-thread row (or
//   the serial row). Only that share is serialized, so this is the bound if handoffs were free.
// - `measured`: the Karp–Flatt serial fraction, e = (1/S − 1/T) ÷ (1 − 1/T), from the speedup S
//   measured at the largest thread count T that fits the cores. It carries everything that kept
//   S below T here: handoffs, waits, start-up, memory traffic.
//
// Assumptions: the work is CPU-bound (I/O-bound rows scale with latency, not cores, and are not
// projected); one OpenBLAS thread; the held share and the per-unit overheads stay what they were
// as threads are added (more threads mean more handoffs per second, which Karp–Flatt charges as
// serial work, and nothing else); no memory-bandwidth ceiling.

/// One mode's projection.
public struct ProjectionRow: Sendable, Codable, Equatable {
    /// The mode projected.
    public var mode: Mode
    /// The thread count the measured fraction comes from.
    public var measuredThreads: Int
    /// The speedup measured there.
    public var measuredSpeedup: Double
    /// The held share of a unit's time (Amdahl's s, handoffs free).
    public var heldFraction: Double
    /// The Karp–Flatt serial fraction implied by the measured speedup.
    public var measuredSerialFraction: Double
    /// Projected speedups, one per core count asked for.
    public var projections: [Point]

    /// Projected speedups at one core count.
    public struct Point: Sendable, Codable, Equatable {
        /// The core count projected to.
        public var cores: Int
        /// 1 ÷ (held + (1 − held) ÷ cores).
        public var amdahlHeld: Double
        /// 1 ÷ (e + (1 − e) ÷ cores), e the Karp–Flatt fraction.
        public var amdahlMeasured: Double

        enum CodingKeys: String, CodingKey {
            case cores, amdahlHeld = "amdahl_held", amdahlMeasured = "amdahl_measured"
        }
    }

    enum CodingKeys: String, CodingKey {
        case mode, measuredThreads = "measured_threads", measuredSpeedup = "measured_speedup"
        case heldFraction = "held_fraction", measuredSerialFraction = "measured_serial_fraction", projections
    }
}

/// A run and its projection: `{"machine", "config", "results", "projection"}`.
public struct ProjectionReport: Sendable, Codable, Equatable {
    /// The machine the sweep ran on.
    public var machine: MachineInfo
    /// The sweep's settings.
    public var config: RunSettings
    /// The sweep's rows, as `gillab run` reports them.
    public var results: [RunResult]
    /// One projection per threaded mode.
    public var projection: [ProjectionRow]
    /// Why some rows were not projected, if any were not.
    public var notes: [String]
}

/// Amdahl projections from a run's measurements.
public enum Projection {
    /// The core counts projected to unless told otherwise.
    public static let defaultCores = [4, 8, 16]

    /// The most cores a projection goes to.
    public static let maximumCores = 4096

    /// Checks the core counts to project to.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the bad count.
    public static func validate(cores: [Int]) throws(RunnerError) {
        guard !cores.isEmpty else { throw .setting("cores", "no core counts given", subject: "") }
        if let bad = cores.first(where: { !(1...maximumCores).contains($0) }) {
            throw .setting("cores", "must be between 1 and \(maximumCores), got \(bad)")
        }
    }

    /// Projects every threaded mode of `report` to each of `cores`.
    public static func project(_ report: RunReport, cores: [Int]) -> ProjectionReport {
        var rows: [ProjectionRow] = []
        var notes: [String] = []
        let workload = WorkloadKind(rawValue: report.config.workload)
        if let workload, workload.isIOBound {
            notes.append("\(workload.rawValue) is I/O-bound: its threads wait on latency, not on cores, so it is not projected")
        } else {
            let serial = report.results.first { $0.mode == .serial }
            var modes: [Mode] = []
            for row in report.results where row.mode != .serial && !modes.contains(row.mode) { modes.append(row.mode) }
            for mode in modes {
                let measured = report.results.filter { $0.mode == mode && $0.threads >= 2 && $0.threads <= report.machine.cores }
                guard let top = measured.max(by: { $0.threads < $1.threads }) else {
                    notes.append("\(mode.rawValue): no row with 2 to \(report.machine.cores) threads to measure from")
                    continue
                }
                let one = report.results.first { $0.mode == mode && $0.threads == 1 } ?? serial
                let held = min(max(one?.lock.heldFraction ?? 1, 0), 1)
                let t = Double(top.threads)
                let karpFlatt = min(max((1 / top.speedup - 1 / t) / (1 - 1 / t), 0), 1)
                rows.append(ProjectionRow(
                    mode: mode, measuredThreads: top.threads, measuredSpeedup: top.speedup, heldFraction: held,
                    measuredSerialFraction: karpFlatt,
                    projections: cores.map { n in
                        ProjectionRow.Point(cores: n, amdahlHeld: amdahl(held, Double(n)), amdahlMeasured: amdahl(karpFlatt, Double(n)))
                    }))
            }
        }
        return ProjectionReport(machine: report.machine, config: report.config, results: report.results, projection: rows, notes: notes)
    }

    static func amdahl(_ serial: Double, _ cores: Double) -> Double { 1 / (serial + (1 - serial) / cores) }
}
