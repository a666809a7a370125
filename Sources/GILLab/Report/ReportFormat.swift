import Foundation

/// Output formats of a run report.
public enum ReportFormat: String, Sendable, CaseIterable, Codable {
    /// Aligned columns for a terminal.
    case table
    /// One JSON object, keys sorted: `{"machine": …, "config": …, "results": […]}`.
    case json
    /// A header line and one line per result.
    case csv
    /// A GitHub-flavoured Markdown table.
    case markdown
}

/// Renders run reports. Reads result values only; computes no figure of its own.
public enum ReportRenderer {
    /// The columns of the table, CSV and Markdown forms.
    static let columns = ["workload", "size", "mode", "threads", "wall_med_ms", "wall_min_ms", "wall_max_ms",
                          "speedup", "efficiency", "amdahl", "held", "switches", "drop_req", "wait_ms", "rss_mib", "checksum"]

    static func cells(_ r: RunResult) -> [String] {
        [r.workload, "\(r.size)", r.mode.rawValue, "\(r.threads)",
         fixed(r.wall.median * 1e3, 2), fixed(r.wall.min * 1e3, 2), fixed(r.wall.max * 1e3, 2),
         fixed(r.speedup, 2), fixed(r.efficiency, 2), fixed(r.amdahlSpeedup, 2),
         fixed(r.lock.heldFraction, 3), "\(r.lock.switches)", "\(r.lock.dropRequests)",
         fixed(r.lock.waitSeconds * 1e3, 2), fixed(Double(r.residentBytes) / 1_048_576, 1), r.checksum]
    }

    /// Renders `report` in `format`.
    public static func render(_ report: RunReport, as format: ReportFormat) -> String {
        switch format {
        case .json: json(report)
        case .csv, .markdown: delimited(header: columns, rows: report.results.map(cells), markdown: format == .markdown)
        case .table:
            machineLine(report.machine) + "\n" + configLine(report.config) + "\n\n" + table(report.results)
                + processLines(report.results)
        }
    }

    /// Under the table, one line per row with worker processes: what multiprocessing cost.
    static func processLines(_ results: [RunResult]) -> String {
        let lines = results.compactMap { r -> String? in
            guard let p = r.processes else { return nil }
            let shared = p.sharedBytes > 0 ? ", \(formatBytes(p.sharedBytes)) in shared memory" : ""
            return "\(r.mode.rawValue) on \(r.threads) (transfer \(p.transfer.rawValue)): start-up \(fixed(p.startupSeconds.median * 1e3, 1)) ms "
                + "median per worker, IPC \(fixed(p.ipcSeconds * 1e3, 2)) ms over \(formatBytes(p.pipeBytes)) of pipes\(shared), "
                + "peak RSS \(formatBytes(Int(p.workerPeakResidentBytes))) per worker, "
                + "\(formatBytes(Int(r.residentBytes))) resident in all"
        }
        return lines.isEmpty ? "" : "\n" + lines.joined(separator: "\n") + "\n"
    }

    /// Sorted-key, pretty-printed JSON of any report value.
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of numbers and strings cannot fail.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Aligned columns: text to the left, numbers to the right.
    public static func table(_ results: [RunResult]) -> String {
        alignedTable(header: columns, rows: results.map(cells))
    }

    /// Aligns `rows` under `header`; a cell that parses as a number is right-aligned.
    public static func alignedTable(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        let numeric = numericColumns(header: header, rows: rows)
        return all.map { row in
            row.indices.map { column in
                let pad = String(repeating: " ", count: widths[column] - row[column].count)
                return numeric[column] ? pad + row[column] : row[column] + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }

    /// For each column, whether every cell in it reads as a number (and so aligns right).
    static func numericColumns(header: [String], rows: [[String]]) -> [Bool] {
        header.indices.map { column in !rows.isEmpty && rows.allSatisfy { Double($0[column]) != nil } }
    }

    /// A scenario's report in `format`: `report` as JSON, `rows` under `header` as CSV or
    /// Markdown, or for a terminal the machine, `preamble` (what ran, what the columns mean)
    /// and the aligned table.
    static func renderScenario<Report: Encodable>(_ report: Report, machine: MachineInfo, header: [String],
                                                  rows: [[String]], as format: ReportFormat,
                                                  preamble: () -> String) -> String {
        switch format {
        case .json: json(report)
        case .csv, .markdown: delimited(header: header, rows: rows, markdown: format == .markdown)
        case .table: machineLine(machine) + "\n" + preamble() + "\n" + alignedTable(header: header, rows: rows)
        }
    }

    /// `rows` under `header` as CSV, or as a Markdown table with numeric columns aligned right.
    static func delimited(header: [String], rows: [[String]], markdown: Bool) -> String {
        guard markdown else { return ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n" }
        let align = numericColumns(header: header, rows: rows).map { $0 ? "---:" : "---" }
        return ([header, align] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n") + "\n"
    }

    /// One line naming the machine.
    public static func machineLine(_ m: MachineInfo) -> String {
        "machine: \(m.cores) cores, \(m.cpuModel), OpenBLAS \(m.openblasCorename) (OPENBLAS_CORETYPE=\(m.openblasCoretype)), Swift \(m.swiftVersion)"
    }

    static func configLine(_ c: RunSettings) -> String {
        "run: \(c.workload) size \(c.size), \(c.units) units split across threads, \(c.repeats) counted runs after \(c.warmup) warm-up, "
            + "policy \(c.policy.rawValue)\(c.interpreters > 1 ? " (\(c.interpreters) interpreters)" : ""), switch interval \(fixed(c.switchIntervalSeconds * 1e3, 3)) ms, BLAS threads \(c.blasThreads)"
    }
}

/// `value` with `digits` decimals, no exponent.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
    return String(format: "%.\(digits)f", value)
}
