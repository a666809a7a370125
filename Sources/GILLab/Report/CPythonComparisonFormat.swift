extension ReportRenderer {
    static let comparisonColumns = ["workload", "size", "mode", "threads", "cpython_speedup", "gillab_speedup", "difference"]

    /// Renders a side-by-side comparison with CPython.
    public static func render(_ report: CPythonComparisonReport, as format: ReportFormat) -> String {
        let rows = report.rows.map { r in
            [r.workload, "\(r.size)", r.mode, "\(r.threads)", fixed(r.cpythonSpeedup, 2), fixed(r.gillabSpeedup, 2),
             (r.difference >= 0 ? "+" : "") + fixed(r.difference, 2)]
        }
        let main = renderScenario(report, machine: report.machine, header: comparisonColumns, rows: rows, as: format) {
            "CPython \(report.python) and GILLab (\(report.policy.rawValue)) on the same machine, \(counted(report.repeats, "repeat")) each: "
                + "dgemm speedups over 1 thread releasing (hold: ctypes.PyDLL keeps the GIL; release: ctypes.CDLL drops it; "
                + "GILLab runs gemm-call, the same glue), "
                + "countdown over 1 thread, convoy as the request rate of a thread sleeping 1 ms beside a CPU thread ÷ alone\n"
                + glueLine(report.glue)
        }
        guard format != .json, !report.switchIntervalRows.isEmpty else { return main }
        if report.rows.isEmpty && format == .table {
            // Only the sweep ran: no empty speedup table above it.
            return machineLine(report.machine) + "\n" + "CPython \(report.python) and GILLab (\(report.policy.rawValue)) on the same machine\n"
                + sweepTable(report)
        }
        return main + sweepTable(report, format: format)
    }

    /// The switch-interval sweep as a second table.
    static func sweepTable(_ report: CPythonComparisonReport, format: ReportFormat = .table) -> String {
        // The sweep is a second table after a blank line (CSV and Markdown too).
        let sweep = report.switchIntervalRows.map { r in
            [fixed(r.switchIntervalMilliseconds, 3), fixed(r.cpythonP50Microseconds, 0), fixed(r.gillabP50Microseconds, 0),
             fixed(r.p50Ratio, 2), fixed(r.cpythonP99Microseconds, 0), fixed(r.gillabP99Microseconds, 0)]
        }
        let table = format == .table
            ? "\nswitch interval sweep: a thread sleeps 1 ms beside one CPU-bound thread; how much longer than 1 ms each sleep "
                + "took until it held the lock again (default timer slack on both sides)\n\n"
                + alignedTable(header: switchIntervalColumns, rows: sweep)
            : "\n" + delimited(header: switchIntervalColumns, rows: sweep, markdown: format == .markdown)
        return table
    }

    static let switchIntervalColumns = ["switch_interval_ms", "cpython_p50_us", "gillab_p50_us", "p50_ratio",
                                        "cpython_p99_us", "gillab_p99_us"]
}

extension ReportRenderer {
    /// How the glue was matched, in one line.
    static func glueLine(_ glue: GlueMatch?) -> String {
        guard let glue else { return "dgemm glue not matched (--no-match-glue): each side's own call overhead\n" }
        return "dgemm glue matched: CPython holds the GIL \(fixed(glue.cpythonMicroseconds, 2)) µs per call, GILLab its lock "
            + "\(fixed(glue.gillabMicroseconds, 2)) µs; GILLab's unit padded by \(glue.padIterations) iterations "
            + "(\(fixed(glue.microsecondsPerPadIteration * 1000, 0)) ns each)\n"
    }
}

extension Verdict {
    /// Whether GILLab's dgemm speedups at n ≥ 64 on 2 threads are within ±0.10 of CPython's.
    public static func comparison(_ report: CPythonComparisonReport) -> String? {
        let sweep = switchIntervalSweep(report)
        guard let largest = report.largestDgemmDifference else { return sweep }
        let within = largest <= 0.10
        return "dgemm at n ≥ 64 on 2 threads: GILLab's hold and release speedups are \(within ? "within" : "not within") "
            + "±0.10 of CPython's (largest difference \(fixed(largest, 2)))" + (sweep.map { "\nverdict: " + $0 } ?? "")
    }

    /// Whether GILLab's convoy p50 is within ±15 % of CPython's at every switch interval swept.
    static func switchIntervalSweep(_ report: CPythonComparisonReport) -> String? {
        let rows = report.switchIntervalRows
        guard !rows.isEmpty else { return nil }
        let worst = rows.max { abs($0.p50Ratio - 1) < abs($1.p50Ratio - 1) }!
        let within = rows.allSatisfy { abs($0.p50Ratio - 1) <= 0.15 }
        return "convoy p50 beside a CPU thread: GILLab's is \(within ? "within" : "not within") ±15 % of CPython's at every "
            + "switch interval (\(rows.map { "\(fixed($0.switchIntervalMilliseconds, 0)) ms: \(fixed($0.p50Ratio, 2))×" }.joined(separator: ", ")); "
            + "furthest \(fixed(worst.p50Ratio, 2))×)"
    }
}
