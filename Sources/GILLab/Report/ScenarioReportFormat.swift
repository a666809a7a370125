// How every scenario's report prints: its table (or JSON, CSV, Markdown) and the verdict lines
// under a table, behind one protocol, so that the CLI drives every scenario the same way.

/// A scenario report this folder knows how to print.
public protocol PrintableScenarioReport: ScenarioReport {
    /// The report in `format`.
    func rendered(as format: ReportFormat) -> String
    /// One-line interpretations, printed under the table as `verdict: …`.
    var verdicts: [String] { get }
}

extension ConvoyReport: PrintableScenarioReport {
    public func rendered(as format: ReportFormat) -> String { ReportRenderer.render(self, as: format) }

    /// The verdicts for the fewest CPU threads beside the I/O thread.
    public var verdicts: [String] {
        guard let count = Set(results.map(\.cpuThreads)).subtracting([0]).min() else { return [] }
        return Verdict.convoy(self, cpuThreads: count)
    }
}

extension ServiceReport: PrintableScenarioReport {
    public func rendered(as format: ReportFormat) -> String { ReportRenderer.render(self, as: format) }
    public var verdicts: [String] { Verdict.service(self) }
}

extension OversubscriptionReport: PrintableScenarioReport {
    public func rendered(as format: ReportFormat) -> String { ReportRenderer.render(self, as: format) }
    public var verdicts: [String] { Verdict.oversubscription(self) }
}

extension CrossoverReport: PrintableScenarioReport {
    public func rendered(as format: ReportFormat) -> String { ReportRenderer.render(self, as: format) }
    public var verdicts: [String] { Verdict.crossover(self) }
}
