extension ReportRenderer {
    static let comparisonColumns = ["workload", "size", "mode", "threads", "cpython_speedup", "gillab_speedup", "difference"]

    /// Renders a side-by-side comparison with CPython.
    public static func render(_ report: CPythonComparisonReport, as format: ReportFormat) -> String {
        let rows = report.rows.map { r in
            [r.workload, "\(r.size)", r.mode, "\(r.threads)", fixed(r.cpythonSpeedup, 2), fixed(r.gillabSpeedup, 2),
             (r.difference >= 0 ? "+" : "") + fixed(r.difference, 2)]
        }
        return renderScenario(report, machine: report.machine, header: comparisonColumns, rows: rows, as: format) {
            "CPython \(report.python) and GILLab (\(report.policy.rawValue)) on the same machine, \(report.repeats) repeats each: "
                + "dgemm speedups over 1 thread releasing (hold: ctypes.PyDLL keeps the GIL; release: ctypes.CDLL drops it; "
                + "GILLab runs gemm-call, the same glue), "
                + "countdown over 1 thread, convoy as the request rate of a thread sleeping 1 ms beside a CPU thread ÷ alone\n"
                + glueLine(report.glue)
        }
    }
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
        guard let largest = report.largestDgemmDifference else { return nil }
        let within = largest <= 0.10
        return "dgemm at n ≥ 64 on 2 threads: GILLab's hold and release speedups are \(within ? "within" : "not within") "
            + "±0.10 of CPython's (largest difference \(fixed(largest, 2)))"
    }
}
