extension ReportRenderer {
    /// Renders a run and its projection: the run's table, then one line per mode and core count.
    public static func render(_ report: ProjectionReport, as format: ReportFormat, wide: Bool = false) -> String {
        let header = ["mode", "measured_threads", "measured_speedup", "held_fraction", "karp_flatt", "cores",
                      "amdahl_held", "amdahl_measured"]
        let rows = report.projection.flatMap { row in
            row.projections.map { point in
                [row.mode.rawValue, "\(row.measuredThreads)", fixed(row.measuredSpeedup, 2), fixed(row.heldFraction, 3),
                 fixed(row.measuredSerialFraction, 3), "\(point.cores)", fixed(point.amdahlHeld, 2), fixed(point.amdahlMeasured, 2)]
            }
        }
        let notes = report.notes.map { "note: \($0)\n" }.joined()
        let narrow = ["mode", "measured_threads", "measured_speedup", "karp_flatt", "cores", "amdahl_held", "amdahl_measured"]
        return renderScenario(report, machine: report.machine, header: header, rows: rows, as: format, narrow: narrow, wide: wide) {
            configLine(report.config) + "\n\n" + table(report.results, wide: wide) + "\n"
                + "projection: amdahl_held = 1 ÷ (s + (1 − s) ÷ cores) with s the held share of a unit (free handoffs); "
                + "amdahl_measured uses the Karp–Flatt serial fraction of the measured speedup instead (handoffs, waits and "
                + "overheads included). Assumes CPU-bound work, 1 BLAS thread, and per-unit costs that do not grow with threads.\n"
                + notes
        }
    }
}
