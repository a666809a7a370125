/// One-line interpretations of measured results.
public enum Verdict {
    /// ``scalingParts(_:cores:)`` as a terminal prints it: `verdict: gemm size 512`, then one
    /// indented line per mode.
    public static func scalingLines(_ results: [RunResult], cores: Int) -> String? {
        scalingParts(results, cores: cores).map { "verdict: \($0.label)\n" + $0.parts.map { "  \($0)\n" }.joined() }
    }

    /// What a set of rows of one workload says about scaling under the lock: for every mode in
    /// the run but `serial`, its widest row against the serial baseline, judged against what the
    /// cores allow (CPU-bound work) or the thread count (I/O-bound work, which waits).
    /// - Returns: a sentence with the measured figures, or `nil` when there is nothing to compare.
    public static func scaling(_ results: [RunResult], cores: Int) -> String? {
        scalingParts(results, cores: cores).map { "\($0.label): " + $0.parts.joined(separator: "; ") }
    }

    /// ``scaling(_:cores:)`` in pieces: what ran (`gemm size 512`) and one clause per mode, for
    /// a terminal that prints a clause per line.
    public static func scalingParts(_ results: [RunResult], cores: Int) -> (label: String, parts: [String])? {
        guard let any = results.first else { return nil }
        let label = "\(any.workload) size \(any.size)"
        let callsKernel = WorkloadKind(rawValue: any.workload)?.callsKernel != false
        var parts: [String] = []
        for mode in Mode.allCases where mode != .serial {
            guard let row = results.filter({ $0.mode == mode }).max(by: { $0.threads < $1.threads }),
                  row.threads > 1 || mode == .processes || mode == .hybrid else { continue }
            let figure = "\(fixed(row.speedup, 2))×"
            let sentence: String = switch mode {
            case .serial: ""
            case .hold where !callsKernel: "Python-level threads: \(figure) on \(counted(row.threads, "thread"))"
            case .hold: "holding the lock: \(figure) on \(counted(row.threads, "thread"))"
            case .release: "releasing the lock: \(figure) on \(counted(row.threads, "thread"))"
            case .free: "no lock (free): \(figure) on \(counted(row.threads, "thread"))"
            case .eventloop: "event loop: \(figure) with \(counted(row.threads, "task")) on one thread"
            case .processes: "processes: \(figure) on \(counted(row.threads, "worker"))"
            case .hybrid: "hybrid: \(figure) with \(counted(row.threads, "thread")) and a compute pool"
            }
            parts.append("\(sentence) (\(judge(row, cores: cores)))")
        }
        guard !parts.isEmpty else { return nil }
        return (label, parts)
    }

    /// The most a row could gain over serial: min(threads, cores) for work that computes (one
    /// for an event loop, which computes on one thread), the thread count for I/O-bound work.
    static func ideal(_ row: RunResult, cores: Int) -> Double {
        if WorkloadKind(rawValue: row.workload)?.isIOBound == true { return Double(row.threads) }
        return switch row.mode {
        case .serial, .eventloop: 1
        case .hybrid: Double(cores)
        default: Double(min(row.threads, cores))
        }
    }

    /// A warning when the repeats of some row disagree by more than `threshold` (max − min over
    /// the median): on a shared or throttled machine one run can be far slower than the next,
    /// and a speedup built on such rows needs more repeats before it is quoted.
    /// - Returns: one line naming the worst row, or `nil` when every row is steady.
    public static func noise(_ results: [RunResult], threshold: Double = 0.25) -> String? {
        func spread(_ row: RunResult) -> Double { (row.wall.max - row.wall.min) / row.wall.median }
        let noisy = results.filter { spread($0) > threshold }
        guard let worst = noisy.max(by: { spread($0) < spread($1) }) else { return nil }
        let others = noisy.count > 1 ? " (and \(counted(noisy.count - 1, "other row")) over \(Int(threshold * 100))%)" : ""
        return "warning: \(worst.workload) size \(worst.size), \(worst.mode.rawValue) on \(counted(worst.threads, "thread")) "
            + "varied by \(Int((spread(worst) * 100).rounded()))% across its runs (\(fixed(worst.wall.min * 1e3, 1))–"
            + "\(fixed(worst.wall.max * 1e3, 1)) ms)\(others); the machine is noisy, so raise --repeat before quoting a speedup"
    }

    /// "scales", "scales partly" or "no gain" against ``ideal(_:cores:)``; a speedup more than
    /// 5% above it is no lock's doing but a measurement problem, and says what to do; one
    /// above it by less is said to be so.
    static func judge(_ row: RunResult, cores: Int) -> String {
        let ideal = ideal(row, cores: cores)
        if row.speedup > 1.05 * ideal {
            let bound = WorkloadKind(rawValue: row.workload)?.isIOBound == true
                ? counted(row.threads, "waiting thread") : row.mode == .eventloop ? "one thread" : counted(cores, "core")
            return "above the \(fixed(ideal, 2))× possible with \(bound): a measurement problem, most likely a slow "
                + "serial round; re-run with a higher --repeat on a quiet machine"
        }
        if ideal <= 1 { return row.mode == .eventloop ? "one thread computes: nothing to gain" : "one core: nothing to gain" }
        if row.speedup >= 1.005 * ideal {
            // A few percent over can be noise, or two cores' caches holding more than one's.
            return "scales; \(Int(((row.speedup / ideal - 1) * 100).rounded()))% above the \(fixed(ideal, 2))× possible, "
                + "within noise (past 5% it would be a measurement problem)"
        }
        if row.speedup >= 0.85 * ideal { return "scales" }
        if row.speedup > 1.15 { return "scales partly" }
        return row.speedup < 0.95 ? "no gain, a loss" : "no gain: one thread at a time"
    }
}
