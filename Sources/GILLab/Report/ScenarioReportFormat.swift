// How every scenario's report prints: its table (or JSON, CSV, Markdown) and the verdict lines
// under a table, behind one protocol, so that the CLI drives every scenario the same way.

/// A scenario report this folder knows how to print.
public protocol PrintableScenarioReport: ScenarioReport {
    /// The report in `format`; a table shows every column only when `wide`.
    func rendered(as format: ReportFormat, wide: Bool) -> String
    /// One-line interpretations, printed under the table as `verdict: …`.
    var verdicts: [String] { get }
    /// Charts for the report folder (`gillab report --scenario`); none by default.
    var charts: [ScenarioChart] { get }
}

/// An SVG chart of a scenario's report, written beside its report.md.
public struct ScenarioChart: Sendable, Equatable {
    /// The file's name in the report folder.
    public var name: String
    /// What it shows, as report.md's image text.
    public var caption: String
    /// The SVG document.
    public var svg: String

    /// A chart called `name`.
    public init(name: String, caption: String, svg: String) {
        self.name = name
        self.caption = caption
        self.svg = svg
    }
}

/// A scenario report that prints as one table: the machine line and the preamble above it in
/// table form, the bare table as CSV or Markdown, the report itself as JSON.
public protocol TabularScenarioReport: PrintableScenarioReport {
    /// The table's columns.
    static var columns: [String] { get }
    /// One row of cells per result.
    var rows: [[String]] { get }
    /// What was measured and how, above the table.
    var preamble: String { get }
    /// The columns a table shows without `--wide`, so that it fits 100 characters; `nil`: all.
    static var narrowColumns: [String]? { get }
}

extension TabularScenarioReport {
    public static var narrowColumns: [String]? { nil }

    /// The report in `format`; a table shows only ``narrowColumns`` unless `wide`.
    public func rendered(as format: ReportFormat, wide: Bool) -> String {
        ReportRenderer.renderScenario(self, machine: machine, header: Self.columns, rows: rows, as: format,
                                      narrow: Self.narrowColumns, wide: wide) { preamble }
    }
}

extension PrintableScenarioReport {
    public var charts: [ScenarioChart] { [] }

    /// The report in `format`, as a table with the columns that fit 100 characters.
    public func rendered(as format: ReportFormat) -> String { rendered(as: format, wide: false) }
}

extension ReportRenderer {
    /// Renders a scenario's report in `format`.
    public static func render<Report: PrintableScenarioReport>(_ report: Report, as format: ReportFormat,
                                                               wide: Bool = false) -> String {
        report.rendered(as: format, wide: wide)
    }
}

extension ConvoyReport {
    /// The verdicts for the fewest CPU threads beside the I/O thread.
    public var verdicts: [String] {
        guard let count = Set(results.map(\.cpuThreads)).subtracting([0]).min() else { return [] }
        return Verdict.convoy(self, cpuThreads: count) + Verdict.convoyWaitedBehind(self)
    }
}

extension ServiceReport {
    public var verdicts: [String] { Verdict.service(self) }
}

extension OversubscriptionReport {
    public var verdicts: [String] { Verdict.oversubscription(self) }
}
