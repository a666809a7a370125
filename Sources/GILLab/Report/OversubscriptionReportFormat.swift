extension ReportRenderer {
    /// The columns of the oversubscription table, CSV and Markdown forms.
    static let oversubscriptionColumns = ["app_threads", "blas_threads", "asked", "oversubscribed", "wall_med_ms",
                                          "wall_min_ms", "wall_max_ms", "speedup", "vs_fix", "checksum"]

    static func oversubscriptionCells(_ r: OversubscriptionResult) -> [String] {
        ["\(r.appThreads)", "\(r.blasThreads)" + (r.isFix ? " (fix)" : ""), "\(r.threadsAsked)",
         r.oversubscribed ? "yes" : "no", fixed(r.wall.median * 1e3, 1), fixed(r.wall.min * 1e3, 1),
         fixed(r.wall.max * 1e3, 1), fixed(r.speedup, 2), fixed(r.versusFix, 2), r.checksum]
    }

}

extension Verdict {
    /// One line per app thread count: the slowest oversubscribed cell against the fix.
    public static func oversubscription(_ report: OversubscriptionReport) -> [String] {
        let apps = Set(report.results.map(\.appThreads)).sorted()
        return apps.compactMap { app in
            let row = report.results.filter { $0.appThreads == app }
            guard let fix = row.first(where: \.isFix) else { return nil }
            let head = "\(counted(app, "app thread")): fix BLAS \(fix.blasThreads)"
            guard let worst = row.filter(\.oversubscribed).max(by: { $0.versusFix < $1.versusFix }) else {
                return head + "; no cell asks for more threads than the \(report.config.cores) cores"
            }
            let effect = worst.versusFix > 1.05
                ? "\(fixed(worst.versusFix, 2))× slower than the fix"
                : "within 5% of the fix (\(fixed(worst.versusFix, 2))×): no measurable slowdown here"
            return head + "; BLAS \(worst.blasThreads) asks for \(worst.threadsAsked) threads on \(report.config.cores) cores, " + effect
        }
    }
}

extension OversubscriptionReport: TabularScenarioReport {
    public static var columns: [String] { ReportRenderer.oversubscriptionColumns }
    public static var narrowColumns: [String]? {
        ["app_threads", "blas_threads", "asked", "oversubscribed", "wall_med_ms", "speedup", "vs_fix"]
    }
    public var rows: [[String]] { results.map(ReportRenderer.oversubscriptionCells) }

    public var preamble: String {
        let c = config
        return "oversubscription: gemm n=\(c.size), \(c.units) dgemm calls split across the app threads (lock released "
             + "around each), \(counted(c.rounds, "round")) after 1 warm-up; fix = max(1, \(c.cores) cores ÷ app threads); "
             + "OpenBLAS threads restored to \(c.blasThreadsBefore) after every cell\n"
             + "vs_fix: wall ÷ the fix's wall for the same app threads (above 1 is a slowdown)\n"
    }
}
