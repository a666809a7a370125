extension SamplingReport: PrintableScenarioReport {
    static let estimateColumns = ["sampler", "figure", "estimate", "exact", "error_median", "error_largest", "samples"]
    static let accuracyColumns = ["mean_interval_ms", "duration_s", "samples", "rms_error", "binomial_error"]
    static let costColumns = ["sampler", "throughput_vs_none"]

    var estimateRows: [[String]] {
        estimates.map { e in
            [e.sampler.rawValue, e.figure, fixed(e.estimate, 3), fixed(e.exact, 3), signed(e.errorMedian), fixed(e.errorLargest, 3), "\(e.samples)"]
        }
    }
    var accuracyRows: [[String]] {
        accuracy.map { a in
            [ReportRenderer.milliseconds(a.meanIntervalMilliseconds), ReportRenderer.milliseconds(a.seconds), "\(a.samples)",
             fixed(a.rmsError, 3), fixed(a.binomialError, 3)]
        }
    }
    var costRows: [[String]] { costs.map { [$0.sampler.rawValue, fixed($0.throughputVersusNone, 3)] } }

    private func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + fixed(value, 3) }

    var preamble: String {
        let c = config
        return "sampling: \(c.workload) size \(c.size), \(c.mode.rawValue) on \(counted(c.threads, "thread")) under \(c.policy.rawValue) "
            + "(switch interval \(fixed(c.switchIntervalSeconds * 1e3, 3)) ms), \(fixed(c.durationSeconds, 2)) s per run, "
            + "\(counted(c.repeats, "run")) per sampler and without one, in alternating order\n"
            + "samplers: gil_load at random times (mean \(ReportRenderer.milliseconds(c.sampleIntervalMilliseconds)) ms; the table also "
            + "\(ReportRenderer.milliseconds(c.sampleIntervalMilliseconds / 5)) and \(ReportRenderer.milliseconds(c.sampleIntervalMilliseconds * 4)) ms), "
            + "py-spy every \(ReportRenderer.milliseconds(c.pySpyPeriodMilliseconds)) ms, gilknocker every "
            + "\(ReportRenderer.milliseconds(c.knockIntervalMilliseconds)) ms; exact: from the lock's events of the same run\n"
    }

    public func rendered(as format: ReportFormat, wide: Bool) -> String {
        switch format {
        case .json: return ReportRenderer.json(self)
        case .csv: return ReportRenderer.delimited(header: Self.estimateColumns, rows: estimateRows, markdown: false)
        case .markdown:
            return ReportRenderer.delimited(header: Self.estimateColumns, rows: estimateRows, markdown: true)
                + "\ngil_load's error on the held share, by mean interval and run length:\n\n"
                + ReportRenderer.delimited(header: Self.accuracyColumns, rows: accuracyRows, markdown: true)
                + "\nEach sampler's cost: the workload's throughput with it ÷ without:\n\n"
                + ReportRenderer.delimited(header: Self.costColumns, rows: costRows, markdown: true)
        case .table:
            return ReportRenderer.machineLine(machine) + "\n" + preamble + "\n"
                + ReportRenderer.alignedTable(header: Self.estimateColumns, rows: estimateRows)
                + "\ngil_load's error on the held share, by mean interval and run length (rms over the runs; "
                + "binomial: what independent samples would give):\n"
                + ReportRenderer.alignedTable(header: Self.accuracyColumns, rows: accuracyRows)
                + "\neach sampler's cost to the workload:\n"
                + ReportRenderer.alignedTable(header: Self.costColumns, rows: costRows)
        }
    }

    public var verdicts: [String] { Verdict.sampling(self) }
}

extension Verdict {
    /// One line per sampler: how far its headline figure is from the truth, and what it costs.
    public static func sampling(_ report: SamplingReport) -> [String] {
        func cost(_ sampler: Sampler) -> String {
            report.costs.first { $0.sampler == sampler }.map { "; the workload ran at \(fixed($0.throughputVersusNone, 3))× its speed without it" } ?? ""
        }
        func line(_ sampler: Sampler, _ figure: String, _ what: String) -> String? {
            guard let e = report.estimates.first(where: { $0.sampler == sampler && $0.figure == figure }) else { return nil }
            return "\(sampler.rawValue): \(what) \(fixed(e.estimate, 3)) against exactly \(fixed(e.exact, 3)) "
                + "(error \(e.errorMedian >= 0 ? "+" : "")\(fixed(e.errorMedian, 3)), at most \(fixed(e.errorLargest, 3)) over "
                + "\(counted(report.config.repeats, "run")), \(e.samples) samples a run)\(cost(sampler))"
        }
        var lines = [line(.gilLoad, "held", "held"), line(.pySpy, "held", "held")].compactMap { $0 }
        if let knock = report.estimates.first(where: { $0.sampler == .gilknocker }) {
            lines.append("gilknocker: contention \(fixed(knock.estimate, 3)) beside a held share of \(fixed(knock.exact, 3)): it times its "
                + "own takes, which wait for the rest of the current hold (or, when the holder does not let go by itself, up to a "
                + "switch interval and a forced switch), so it measures how long a newcomer waits, not how much of the time the lock "
                + "is held\(cost(.gilknocker))")
        }
        let whole = report.accuracy.map(\.seconds).max()
        let cells = report.accuracy.filter { $0.seconds == whole }
        if !cells.isEmpty {
            var line = "gil_load's error on the held share over whole runs: " + cells.map {
                "rms \(fixed($0.rmsError, 3)) at a \(ReportRenderer.milliseconds($0.meanIntervalMilliseconds)) ms mean (\($0.samples) samples; "
                    + "independent samples would give \(fixed($0.binomialError, 3)))"
            }.joined(separator: ", ")
            if cells.contains(where: { $0.rmsError > 2 * $0.binomialError }) {
                line += "; where it stays above that over these runs, the samples may not be independent of the workload (a "
                    + "sampler is a thread too, and runs when the scheduler gives it a core, not at a random moment), and more "
                    + "samples would not help; more --repeat runs say it surer"
            }
            lines.append(line)
        }
        return lines
    }
}
