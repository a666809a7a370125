import Foundation

/// The folder `gillab report` writes: `report.md` with the tables and verdicts, the SVG charts it
/// shows, `report.html` (the same on one self-contained page), the Chrome trace and the JSON
/// report, side by side.
public enum ReportFolder {
    /// The report itself: tables, verdicts and the charts, in Markdown.
    public static let markdownName = "report.md"
    /// The same as one self-contained HTML page (``HTMLReport``): charts inline, nothing fetched.
    public static let htmlName = "report.html"
    /// The run's JSON report.
    public static let resultsName = "results.json"
    /// The Chrome trace of the lock.
    public static let traceName = "trace.json"
    /// Speedup against threads, per mode.
    public static let speedupName = "speedup.svg"

    /// The timeline chart's file name for a traced row, such as `timeline-release-2.svg`.
    public static func timelineName(_ segment: RunTrace.Segment) -> String {
        "timeline-\(segment.mode.rawValue)-\(segment.threads).svg"
    }

    /// Writes a sweep's report into `directory`, made if missing.
    /// - Parameters:
    ///   - report: the run's report.
    ///   - trace: its recorded events; each traced row but `serial` gets a timeline chart.
    ///   - command: the command line that made it, quoted in the report so anyone can rerun it.
    ///   - directory: the folder to write.
    ///   - timelineMilliseconds: how much of each row the timeline charts show.
    /// - Returns: the names of the files written.
    public static func write(_ report: RunReport, trace: RunTrace, command: String, to directory: URL,
                             timelineMilliseconds: Double = 50) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [(String, String)] = [
            (resultsName, ReportRenderer.json(report)),
            (traceName, ChromeTrace.render(trace, report: report)),
            (speedupName, SVGChart.speedup(report)),
        ]
        let charted = trace.segments.filter { $0.mode != .serial }
        for segment in charted {
            files.append((timelineName(segment), timelineChart(segment, of: report, milliseconds: timelineMilliseconds)))
        }
        files.insert((markdownName, markdown(report, timelines: charted, command: command,
                                             timelineMilliseconds: timelineMilliseconds)), at: 0)
        files.insert((htmlName, HTMLReport.render(report, trace: trace, command: command,
                                                  timelineMilliseconds: timelineMilliseconds)), at: 1)
        for (name, text) in files {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        }
        return files.map(\.0)
    }

    /// Writes a scenario's report: `report.md`, the scenario's JSON and its charts, if any.
    /// - Returns: the names of the files written.
    public static func write(scenario name: String, markdown table: String, json: String, machine: MachineInfo,
                             command: String, charts: [ScenarioChart] = [], to directory: URL) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var text = """
            # GILLab report: scenario \(name)

            \(ReportRenderer.machineLine(machine))

            Made with `\(command)`; the figures are in [\(name).json](\(name).json).

            \(table)
            """
        if !charts.isEmpty { text += "\n" + charts.map { "![\($0.caption)](\($0.name))\n" }.joined(separator: "\n") }
        for chart in charts { try Data(chart.svg.utf8).write(to: directory.appendingPathComponent(chart.name)) }
        try Data(json.utf8).write(to: directory.appendingPathComponent("\(name).json"))
        // report.md last: it links every other file.
        try Data(text.utf8).write(to: directory.appendingPathComponent(markdownName))
        return [markdownName, "\(name).json"] + charts.map(\.name)
    }

    /// A traced row's timeline chart, titled with the run and the span it shows.
    static func timelineChart(_ segment: RunTrace.Segment, of report: RunReport, milliseconds: Double) -> String {
        let title = "\(report.config.workload) size \(report.config.size), \(segment.label) (\(segment.policy.rawValue)): "
            + "first \(SVGChart.format(milliseconds)) ms"
        return SVGChart.timeline(segment, title: title, milliseconds: milliseconds)
    }

    /// What the timeline charts show, above them in report.md and report.html.
    static func timelineLegend(milliseconds: Double) -> String {
        "The first \(SVGChart.format(milliseconds)) ms of the first counted repeat of each row: green while a thread "
            + "holds the lock, red while it waits, blue while it runs a kernel with the lock released, orange while it "
            + "blocks on I/O with the lock released. A hold or a wait shorter than a pixel is drawn a pixel wide."
    }

    /// `report.md` of a sweep.
    static func markdown(_ report: RunReport, timelines: [RunTrace.Segment], command: String,
                         timelineMilliseconds: Double) -> String {
        var text = "# GILLab report: \(report.config.workload) size \(report.config.size)\n\n"
        text += ReportRenderer.machineLine(report.machine) + "\n\n"
        text += ReportRenderer.configLine(report.config) + "\n\n"
        text += "Made with `\(command)`. The figures are in [\(resultsName)](\(resultsName)); the lock's timeline is in "
        text += "[\(traceName)](\(traceName)): open it in [Perfetto](https://ui.perfetto.dev) or chrome://tracing.\n\n"
        text += "## Speedup\n\n"
        text += ReportRenderer.render(report, as: .markdown) + "\n"
        if let verdict = Verdict.scaling(report.results, cores: report.machine.cores) {
            text += "**Verdict:** \(verdict)\n\n"
        }
        if let warning = Verdict.noise(report.results) { text += "**Noise:** \(warning)\n\n" }
        text += "![Speedup against threads](\(speedupName))\n\n"
        text += "## The lock's load\n\n"
        text += "`held` is the share of wall time the lock was held; `waiting`, the share during which at least one "
        text += "thread waited for it (what gil_load reports). Per thread: time holding, waiting, and neither (released).\n\n"
        text += ReportRenderer.loadMarkdown(report.results) + "\n"
        if let waits = ReportRenderer.waitsMarkdown(report.results) {
            text += "## Who waited behind whom\n\n"
            text += "From the first counted repeat of each row: every moment of every wait charged to the thread that held "
            text += "the lock then, and to where that holder was (the line of its last poll point, a native call that kept "
            text += "the lock, or the interpreter's glue). `(handoff)` is time nobody held it: the next holder waking up. "
            text += "`of_life` is the share of the waiter's time in the row; `handoffs`, how often a holder let the lock go "
            text += "from there to a waiting thread.\n\n"
            text += waits + "\n"
        }
        if !timelines.isEmpty {
            text += "## Who held the lock\n\n"
            text += timelineLegend(milliseconds: timelineMilliseconds) + "\n\n"
            for segment in timelines {
                text += "### \(segment.label)\n\n![Timeline of \(segment.label)](\(timelineName(segment)))\n\n"
            }
        }
        return text
    }
}
