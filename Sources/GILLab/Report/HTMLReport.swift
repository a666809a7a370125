import Foundation

// `report.html`: the report folder's one-page view. Everything is inline (CSS, the SVG charts)
// and nothing is fetched: no script, no web font, no image file, so the page reads the same
// from a CI artifact, an e-mail attachment or a machine with no network. The layout is one
// column that narrows with the window; wide tables scroll inside their own box, so a phone
// never has to scroll the page sideways.

/// Writes a sweep's report as one self-contained HTML page.
public enum HTMLReport {
    /// The page.
    /// - Parameters:
    ///   - report: the run's report.
    ///   - trace: its recorded events; the rows but `serial` get a timeline strip.
    ///   - command: the command line that made it, shown so anyone can rerun it.
    ///   - timelineMilliseconds: how much of each row the timeline strips show.
    public static func render(_ report: RunReport, trace: RunTrace, command: String,
                              timelineMilliseconds: Double = 50) -> String {
        let config = report.config
        let title = "GILLab report: \(config.workload) size \(config.size)"
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<p class=\"command\">Made with <code>\(escape(command))</code></p>\n"

        body += "<section id=\"verdict\"><h2>Verdict</h2>\n"
        if let verdict = Verdict.scaling(report.results, cores: report.machine.cores) {
            body += "<p class=\"verdict\">\(escape(verdict))</p>\n"
        } else {
            body += "<p>No verdict: the run has no row to compare with serial.</p>\n"
        }
        if let warning = Verdict.noise(report.results) { body += "<p class=\"noise\">\(escape(warning))</p>\n" }
        body += "</section>\n"

        body += "<section id=\"speedup\"><h2>Speedup</h2>\n<figure class=\"chart\">"
        body += inlineSVG(SVGChart.speedup(report), label: "Speedup against threads, per mode")
        body += "</figure>\n" + resultsTable(report.results) + "</section>\n"

        let charted = trace.segments.filter { $0.mode != .serial }
        if !charted.isEmpty {
            body += "<section id=\"timeline\"><h2>Who held the lock</h2>\n"
            body += "<p>\(escape(ReportFolder.timelineLegend(milliseconds: timelineMilliseconds)))</p>\n"
            for segment in charted {
                body += "<figure class=\"chart\">"
                body += inlineSVG(ReportFolder.timelineChart(segment, of: report, milliseconds: timelineMilliseconds),
                                  label: "Timeline of \(segment.label)")
                body += "</figure>\n"
            }
            body += "</section>\n"
        }

        let attributed = report.results.filter { ($0.lock.waitsBehind?.isEmpty == false) }
        if !attributed.isEmpty {
            body += "<section id=\"waits\"><h2>Who waited behind whom</h2>\n"
            body += "<p>Every moment of every wait in the first counted repeat, charged to the thread that held the lock then "
            body += "and to where it was: the line of its last poll point, a native call that kept the lock, or the interpreter's "
            body += "glue. <em>(handoff)</em> is time nobody held it, the next holder waking up. Each cell is seconds and the "
            body += "share of the waiter's time in the row; the darker, the larger.</p>\n"
            for result in attributed { body += waitSection(result) }
            body += "</section>\n"
        }

        body += "<section id=\"machine\"><h2>The machine</h2>\n<dl>\n"
        let m = report.machine
        for (term, value) in [("cores", "\(m.cores)"), ("CPU", m.cpuModel), ("Swift", m.swiftVersion),
                              ("OpenBLAS", "\(m.openblasCorename) kernels; \(m.openblasConfig)"),
                              ("OPENBLAS_CORETYPE", m.openblasCoretype),
                              ("run", String(ReportRenderer.configLine(config).dropFirst("run: ".count)).replacingOccurrences(of: "\n", with: "; "))] {
            body += "<dt>\(escape(term))</dt><dd>\(escape(value))</dd>\n"
        }
        body += "</dl>\n<p>The figures are in <a href=\"\(ReportFolder.resultsName)\">\(ReportFolder.resultsName)</a>; the lock's "
        body += "timeline in <a href=\"\(ReportFolder.traceName)\">\(ReportFolder.traceName)</a>, for Perfetto or chrome://tracing.</p>\n"
        body += "</section>\n"

        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <main>
            \(body)</main>
            </body>
            </html>

            """
    }

    /// One row per result: the speedup table.
    static func resultsTable(_ results: [RunResult]) -> String {
        var rows = ""
        for r in results {
            let cells = [r.mode.rawValue, "\(r.threads)", r.policy.rawValue, fixed(r.wall.median * 1e3, 2), fixed(r.speedup, 2),
                         fixed(r.lock.heldFraction, 3), "\(r.lock.switches)", ReportRenderer.percent(r.lock.waitingFraction)]
            rows += "<tr>" + cells.enumerated().map { $0 < 3 ? "<td>\(escape($1))</td>" : "<td class=\"n\">\(escape($1))</td>" }.joined() + "</tr>\n"
        }
        return table(header: ["mode", "threads", "policy", "wall (ms, median)", "speedup", "held", "switches", "waiting"],
                     rows: rows, caption: "Each row: the median of its counted runs; speedup over serial in the same rounds.")
    }

    /// A row's wait matrix as a heat map, and its blockers.
    static func waitSection(_ r: RunResult) -> String {
        let matrix = r.lock.waitsBehind ?? []
        let waiters = orderedUnique(matrix.map(\.waiter))
        var holders = orderedUnique(matrix.map(\.holder)).filter { $0 != WaitAttribution.handoffName }.sorted()
        if matrix.contains(where: { $0.holder == WaitAttribution.handoffName }) { holders.append(WaitAttribution.handoffName) }
        var rows = ""
        for waiter in waiters.sorted() {
            rows += "<tr><th scope=\"row\">\(escape(waiter))</th>"
            for holder in holders {
                if let cell = matrix.first(where: { $0.waiter == waiter && $0.holder == holder }) {
                    let alpha = 0.08 + 0.8 * min(max(cell.shareOfLife, 0), 1)
                    rows += "<td class=\"n heat\" style=\"background:rgba(200,40,40,\(fixed(alpha, 3)))\">"
                        + "\(fixed(cell.seconds, 4)) s<br><small>\(ReportRenderer.percent(cell.shareOfLife))</small></td>"
                } else {
                    rows += "<td class=\"n\">–</td>"
                }
            }
            rows += "</tr>\n"
        }
        var text = "<h3>\(escape("\(r.mode.rawValue) ×\(r.threads)"))</h3>\n"
        text += table(header: ["waiter \\ behind"] + holders, rows: rows, caption: "Seconds each waiter (row) waited behind each holder (column).",
                      className: "heatmap")
        var places = ""
        for blocker in (r.lock.blockers ?? []).prefix(10) {
            places += "<tr><td><code>\(escape(blocker.location))</code></td><td class=\"n\">\(fixed(blocker.seconds, 4))</td>"
                + "<td class=\"n\">\(ReportRenderer.percent(blocker.share))</td><td class=\"n\">\(blocker.handoffs)</td></tr>\n"
        }
        text += table(header: ["location", "others waited (s)", "share", "handoffs"], rows: places,
                      caption: "Where the holder was while others waited, largest first; handoffs: drops from there to a waiting thread.")
        return text
    }

    static func table(header: [String], rows: String, caption: String, className: String = "") -> String {
        let head = header.map { "<th scope=\"col\">\(escape($0))</th>" }.joined()
        let attribute = className.isEmpty ? "" : " class=\"\(className)\""
        return "<div class=\"scroll\"><table\(attribute)><caption>\(escape(caption))</caption>\n<thead><tr>\(head)</tr></thead>\n"
            + "<tbody>\n\(rows)</tbody></table></div>\n"
    }

    /// An SVG chart inline, without its XML declaration, labelled for screen readers.
    static func inlineSVG(_ svg: String, label: String) -> String {
        var text = svg
        if text.hasPrefix("<?xml"), let end = text.range(of: "?>") { text = String(text[end.upperBound...]) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "<svg ", with: "<svg role=\"img\" aria-label=\"\(escape(label))\" ", options: [], range: nil)
    }

    /// Text made safe for HTML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func orderedUnique(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    /// One column, system fonts only, charts that shrink with the window, tables that scroll in
    /// their own box.
    static let style = """
        :root{color-scheme:light;--ink:#1d232b;--muted:#5b6570;--rule:#d8dde3}
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
        main{max-width:1100px;margin:0 auto;padding:16px}
        h1{font-size:1.6rem;margin:.4em 0}
        h2{font-size:1.25rem;margin:1.6em 0 .5em;border-bottom:1px solid var(--rule)}
        h3{font-size:1.05rem;margin:1.2em 0 .4em}
        code{font:.9em/1.4 ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
        .command code{background:#f3f5f7;padding:2px 4px}
        .verdict{font-weight:600}
        .noise{color:#8a4b00}
        figure.chart{margin:12px 0}
        figure.chart svg{display:block;max-width:100%;height:auto}
        .scroll{overflow-x:auto;margin:8px 0 16px}
        table{border-collapse:collapse;font-size:.92rem}
        caption{text-align:left;color:var(--muted);font-size:.85rem;padding-bottom:4px}
        th,td{border:1px solid var(--rule);padding:4px 8px;text-align:left;vertical-align:top}
        td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        table.heatmap td.heat{color:#111}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px}
        dt{font-weight:600}
        dd{margin:0;overflow-wrap:anywhere}
        @media (max-width:600px){body{font-size:15px}main{padding:10px}dl{grid-template-columns:1fr}dd{margin-bottom:6px}}
        """
}
