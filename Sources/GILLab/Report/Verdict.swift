/// One-line interpretations of measured results.
public enum Verdict {
    /// What a set of rows of one workload says about scaling under the lock: compares the
    /// widest `hold` and `release` rows against the serial baseline.
    /// - Returns: a sentence with the measured figures, or `nil` when there is nothing to compare.
    public static func scaling(_ results: [RunResult], cores: Int) -> String? {
        guard let any = results.first else { return nil }
        let label = "\(any.workload) size \(any.size)"
        func widest(_ mode: Mode) -> RunResult? {
            results.filter { $0.mode == mode }.max { $0.threads < $1.threads }
        }
        let hold = widest(.hold), release = widest(.release)
        var parts: [String] = []
        if let release, release.threads > 1 {
            parts.append("releasing the lock: \(fixed(release.speedup, 2))× on \(release.threads) threads (\(judge(release, cores: cores)))")
        }
        if let hold, hold.threads > 1 {
            let what = WorkloadKind(rawValue: hold.workload)?.callsKernel == false
                ? "Python-level threads" : "holding the lock"
            parts.append("\(what): \(fixed(hold.speedup, 2))× on \(hold.threads) threads (\(judge(hold, cores: cores)))")
        }
        guard !parts.isEmpty else { return nil }
        return "\(label): " + parts.joined(separator: "; ")
    }

    /// A warning when the repeats of some row disagree by more than `threshold` (max − min over
    /// the median): on a shared or throttled machine one run can be far slower than the next,
    /// and a speedup built on such rows needs more repeats before it is quoted.
    /// - Returns: one line naming the worst row, or `nil` when every row is steady.
    public static func noise(_ results: [RunResult], threshold: Double = 0.25) -> String? {
        func spread(_ row: RunResult) -> Double { (row.wall.max - row.wall.min) / row.wall.median }
        guard let worst = results.max(by: { spread($0) < spread($1) }), spread(worst) > threshold else { return nil }
        let threads = worst.threads == 1 ? "1 thread" : "\(worst.threads) threads"
        return "warning: \(worst.mode.rawValue) on \(threads) varied by \(Int((spread(worst) * 100).rounded()))% "
            + "across its runs (\(fixed(worst.wall.min * 1e3, 1))–\(fixed(worst.wall.max * 1e3, 1)) ms); the machine is noisy, so raise --repeat before quoting a speedup"
    }

    /// "scales", "scales partly" or "no gain", against min(threads, cores).
    static func judge(_ row: RunResult, cores: Int) -> String {
        let ideal = Double(min(row.threads, cores))
        if ideal <= 1 { return "one core: nothing to gain" }
        if row.speedup >= 0.85 * ideal { return "scales" }
        if row.speedup > 1.15 { return "scales partly" }
        return row.speedup < 0.95 ? "no gain, a loss" : "no gain: one thread at a time"
    }
}
