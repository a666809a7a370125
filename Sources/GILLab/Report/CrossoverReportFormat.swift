extension CrossoverReport: PrintableScenarioReport {
    /// JSON, or a table per kernel (sizes down, variants across) for the other formats; every
    /// column fits, so `wide` changes nothing.
    public func rendered(as format: ReportFormat, wide: Bool) -> String {
        let report = self
        if format == .json { return ReportRenderer.json(report) }
        var out = ReportRenderer.machineLine(report.machine) + "\n"
            + "crossover: release ÷ hold wall time at \(counted(report.config.threads, "thread")) (above 1, releasing pays), "
            + "\(counted(report.config.repeats, "repeat")) after 1 warm-up; new-gil+spin waits up to \(fixed(report.config.spinMicroseconds, 0)) µs spinning before it sleeps\n"
        let kernels = report.results.map(\.kernel).reduce(into: [CrossoverKernel]()) { if !$0.contains($1) { $0.append($1) } }
        for kernel in kernels {
            let sweeps = report.results.filter { $0.kernel == kernel }
            let header = ["size"] + sweeps.map { "\($0.policy) release/hold" }
            let sizes = sweeps.first?.points.map(\.size) ?? []
            let rows = sizes.map { size in
                ["\(size)"] + sweeps.map { sweep in sweep.points.first { $0.size == size }.map { fixed($0.releaseVersusHold, 2) } ?? "-" }
            }
            out += "\n\(kernel.rawValue):\n" + ReportRenderer.alignedTable(header: header, rows: rows)
        }
        return out
    }
}

extension Verdict {
    /// One line per kernel: each variant's crossover and their ratio.
    public static func crossover(_ report: CrossoverReport) -> [String] {
        let kernels = report.results.map(\.kernel).reduce(into: [CrossoverKernel]()) { if !$0.contains($1) { $0.append($1) } }
        return kernels.map { kernel in
            let sweeps = report.results.filter { $0.kernel == kernel }
            let parts = sweeps.map { "\($0.policy) \($0.crossoverSize.map(String.init) ?? "never")" }
            var line = "\(kernel.rawValue): releasing pays from size " + parts.joined(separator: ", ")
            if let slow = sweeps.first(where: { $0.policy == "new-gil" })?.crossoverSize,
               let fast = sweeps.first(where: { $0.policy == "new-gil+spin" })?.crossoverSize {
                line += " (the fast handoff's crossover is \(fixed(Double(fast) / Double(slow), 2))× new-gil's)"
            }
            return line
        }
    }
}

extension CrossoverReport {
    /// One line per kernel: each variant's crossover and their ratio.
    public var verdicts: [String] { Verdict.crossover(self) }
}
