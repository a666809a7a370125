// `gillab run --stats` and `gillab report`: who waited behind whom, and behind which code.

extension ReportRenderer {
    /// The blockers listed per row: the largest, down to this many.
    static let blockersShown = 5

    /// For each row whose waits were attributed, the wait matrix (waiter × holder, seconds and
    /// share of the waiter's life) and the locations others waited behind most:
    ///
    /// ```text
    /// hold ×2: who waited behind whom (first counted repeat)
    ///   waiter    behind     wait_s  of_life
    ///   worker-1  worker-0   S       P%
    ///   …
    ///   countdown.py:2 in unit (while n > 0:)  held while others waited T (P%), N handoffs
    /// ```
    /// `nil` when no row has attributed waits.
    public static func waits(_ results: [RunResult]) -> String? {
        let sections = results.compactMap { r -> String? in
            guard let matrix = r.lock.waitsBehind, let blockers = r.lock.blockers else { return nil }
            var text = "\(r.mode.rawValue) ×\(r.threads): who waited behind whom (first counted repeat)\n"
            if matrix.isEmpty { return text + "  nobody waited\n" }
            let rows = matrix.map { [$0.waiter, $0.holder, fixed($0.seconds, 4), percent($0.shareOfLife)] }
            text += alignedTable(header: ["waiter", "behind", "wait_s", "of_life"], rows: rows)
                .split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
            for blocker in blockers.prefix(blockersShown) { text += "  " + line(blocker) + "\n" }
            return text
        }
        return sections.isEmpty ? nil : sections.joined(separator: "\n")
    }

    /// `countdown.py:2 in unit (while n > 0:)  held while others waited T (P%), N handoffs`
    static func line(_ blocker: BlockerFigures) -> String {
        if blocker.location == WaitAttribution.handoffName {
            return "\(blocker.location)  nobody held (the next holder waking up) while others waited "
                + "\(seconds(blocker.seconds)) (\(percent(blocker.share)))"
        }
        return "\(blocker.location)  held while others waited \(seconds(blocker.seconds)) (\(percent(blocker.share))), "
            + "\(blocker.handoffs) handoff\(blocker.handoffs == 1 ? "" : "s")"
    }

    /// `text` as a Markdown code span inside a table cell: a source line may hold a `|` (which
    /// would end the cell) or a backtick (which would end a one-backtick span).
    static func markdownCode(_ text: String) -> String {
        let cell = text.replacingOccurrences(of: "|", with: "\\|")
        return cell.contains("`") ? "`` \(cell) ``" : "`\(cell)`"
    }

    /// Seconds with three significant digits, or milliseconds below one second.
    static func seconds(_ value: Double) -> String {
        value >= 1 ? fixed(value, 2) + " s" : value >= 1e-3 ? fixed(value * 1e3, 2) + " ms" : fixed(value * 1e6, 1) + " µs"
    }

    /// ``waits(_:)`` as Markdown: a wait matrix and a blockers table per row.
    static func waitsMarkdown(_ results: [RunResult]) -> String? {
        let sections = results.compactMap { r -> String? in
            guard let matrix = r.lock.waitsBehind, let blockers = r.lock.blockers, !matrix.isEmpty else { return nil }
            let cells = matrix.map { [$0.waiter, $0.holder, fixed($0.seconds, 4), percent($0.shareOfLife)] }
            let places = blockers.prefix(blockersShown).map {
                [markdownCode($0.location), fixed($0.seconds, 4), percent($0.share), "\($0.handoffs)"]
            }
            return "#### \(r.mode.rawValue) ×\(r.threads)\n\n"
                + delimited(header: ["waiter", "behind", "wait_s", "of_life"], rows: cells, markdown: true) + "\n"
                + delimited(header: ["location", "others_waited_s", "share", "handoffs"], rows: Array(places), markdown: true)
        }
        return sections.isEmpty ? nil : sections.joined(separator: "\n")
    }
}

extension Verdict {
    /// A warning when some row's waits were attributed only in part, because its recorder kept
    /// at most 1,000,000 events per thread; `nil` otherwise.
    public static func truncatedWaits(_ results: [RunResult]) -> String? {
        let rows = results.filter { $0.lock.waitsTruncated == true }.map { "\($0.mode.rawValue) ×\($0.threads)" }
        guard !rows.isEmpty else { return nil }
        return "gillab: warning: the recorder dropped events of \(rows.joined(separator: ", ")): their waits are attributed "
            + "only up to the first thread's last kept event (fewer units, or a smaller --size, keep them whole)"
    }
}
