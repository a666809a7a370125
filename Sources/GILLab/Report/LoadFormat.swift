// `gillab run --stats`: how loaded the lock was, as gil_load and gilknocker report it, and each
// thread's hold, wait and released time.

extension ReportRenderer {
    static let loadColumns = ["mode", "threads", "held", "waiting", "thread", "hold_ms", "wait_ms", "released_ms", "acquisitions"]

    /// The lock's load per row: `held` is the share of wall time some thread held the lock
    /// (summed over interpreters, so it can pass 1 under `free` and `per-interpreter`),
    /// `waiting` the share during which at least one thread waited; then one line per thread.
    public static func load(_ results: [RunResult]) -> String {
        var rows: [[String]] = []
        for r in results {
            let lead = [r.mode.rawValue, "\(r.threads)", percent(r.lock.heldFraction), percent(r.lock.waitingFraction)]
            if r.perThread.isEmpty {
                rows.append(lead + ["-", "-", "-", "-", "-"])
            }
            for (index, thread) in r.perThread.enumerated() {
                rows.append((index == 0 ? lead : ["", "", "", ""]) + [
                    thread.name, fixed(thread.holdSeconds * 1e3, 2), fixed(thread.waitSeconds * 1e3, 2),
                    fixed(thread.releasedSeconds * 1e3, 2), "\(thread.acquisitions)",
                ])
            }
        }
        return "lock load (held: share of wall time the lock was held; waiting: share with at least one thread waiting):\n"
            + alignedTable(header: loadColumns, rows: rows)
    }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 1) + "%" }
}

extension ReportRenderer {
    /// ``load(_:)`` as a Markdown table.
    static func loadMarkdown(_ results: [RunResult]) -> String {
        let rows = results.flatMap { r in
            r.perThread.map { thread in
                [r.mode.rawValue, "\(r.threads)", percent(r.lock.heldFraction), percent(r.lock.waitingFraction), thread.name,
                 fixed(thread.holdSeconds * 1e3, 2), fixed(thread.waitSeconds * 1e3, 2),
                 fixed(thread.releasedSeconds * 1e3, 2), "\(thread.acquisitions)"]
            }
        }
        return delimited(header: loadColumns, rows: rows, markdown: true)
    }
}
