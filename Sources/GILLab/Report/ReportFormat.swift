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
    /// The widest a table may print without `--wide`: a terminal of 100 columns.
    public static let tableWidth = 100

    /// The columns of the wide table, CSV and Markdown forms: every field.
    static let columns = ["workload", "size", "mode", "threads", "wall_med_ms", "wall_min_ms", "wall_max_ms",
                          "speedup", "efficiency", "amdahl", "held", "switches", "drop_req", "wait_ms", "rss_mib", "checksum"]
    /// The columns of the default table, which fit ``tableWidth``.
    static let narrowColumns = ["workload", "size", "mode", "threads", "wall_med_ms", "speedup", "amdahl", "held",
                                "switches", "drop_req"]

    /// Shown where a figure is not defined for the row (JSON writes `null`).
    static let undefined = "—"

    static func cells(_ r: RunResult) -> [String] {
        [r.workload, "\(r.size)", r.mode.rawValue, "\(r.threads)",
         fixed(r.wall.median * 1e3, 2), fixed(r.wall.min * 1e3, 2), fixed(r.wall.max * 1e3, 2),
         fixed(r.speedup, 2), r.efficiency.map { fixed($0, 2) } ?? undefined, r.amdahlSpeedup.map { fixed($0, 2) } ?? undefined,
         fixed(r.lock.heldFraction, 3), "\(r.lock.switches)", "\(r.lock.dropRequests)",
         fixed(r.lock.waitSeconds * 1e3, 2), fixed(Double(r.residentBytes) / 1_048_576, 1), r.checksum]
    }

    /// Renders `report` in `format`. A table shows the columns that fit 100 characters unless
    /// `wide`; CSV, Markdown and JSON always carry every field.
    public static func render(_ report: RunReport, as format: ReportFormat, wide: Bool = false) -> String {
        switch format {
        case .json: json(report)
        case .csv, .markdown: delimited(header: columns, rows: report.results.map(cells), markdown: format == .markdown)
        case .table:
            machineLine(report.machine) + "\n" + configLine(report.config) + "\n\n" + table(report.results, wide: wide)
                + processLines(report.results)
        }
    }

    /// Under the table, one line per row with worker processes: what multiprocessing cost.
    static func processLines(_ results: [RunResult]) -> String {
        let lines = results.compactMap { r -> String? in
            guard let p = r.processes else { return nil }
            let shared = p.sharedBytes > 0 ? ", \(formatBytes(p.sharedBytes)) in shared memory" : ""
            return "\(r.mode.rawValue) on \(counted(r.threads, "worker")) (transfer \(p.transfer.rawValue)): start-up \(fixed(p.startupSeconds.median * 1e3, 1)) ms "
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
        // A figure with nothing to measure is NaN (no samples, say), which JSON has no number
        // for: it is written as the string "nan" (Python's json reads NaN, not this, so a reader
        // sees it is not a number), instead of failing the whole report.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Encoding plain structs of numbers and strings cannot fail once non-finite numbers are
        // written as strings.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The run's rows as aligned columns (the narrow set unless `wide`), then a legend for the
    /// columns that need one and the checksum every row computed.
    public static func table(_ results: [RunResult], wide: Bool = false) -> String {
        let (header, rows) = selecting(wide ? columns : narrowColumns, from: columns, rows: results.map(cells))
        var legend = ["speedup: median of per-round serial ÷ row times", "amdahl: bound from serial's held share"]
        if wide { legend.insert("efficiency: speedup ÷ min(threads, cores)", at: 1) }
        if results.contains(where: { $0.amdahlSpeedup == nil }) {
            legend.append("\(undefined): undefined for I/O-bound rows, whose threads wait")
        }
        let checksums = Set(results.map(\.checksum))
        if !wide, checksums.count == 1, let checksum = checksums.first {
            legend.append("checksum \(checksum) in every row")
        }
        if !wide { legend.append("--wide: every column") }
        return alignedTable(header: header, rows: rows) + wrapped(legend, width: tableWidth)
    }

    /// `header` narrowed to the columns named in `keep`, in `keep`'s order, and each row with it.
    static func selecting(_ keep: [String], from header: [String], rows: [[String]]) -> ([String], [[String]]) {
        let indices = keep.compactMap { header.firstIndex(of: $0) }
        return (indices.map { header[$0] }, rows.map { row in indices.map { row[$0] } })
    }

    /// Legend entries joined with "; " into lines no wider than `width`.
    static func wrapped(_ entries: [String], width: Int) -> String {
        var lines: [String] = []
        for entry in entries {
            if let last = lines.last, last.count + 2 + entry.count <= width {
                lines[lines.count - 1] = last + "; " + entry
            } else {
                lines.append(entry)
            }
        }
        return lines.map { $0 + "\n" }.joined()
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
        // A placeholder for a missing figure ("-", "—") does not make a column of numbers text.
        header.indices.map { column in
            !rows.isEmpty && rows.allSatisfy { Double($0[column]) != nil || $0[column] == "-" || $0[column] == undefined }
        }
    }

    /// A scenario's report in `format`: `report` as JSON, `rows` under `header` as CSV or
    /// Markdown, or for a terminal the machine, `preamble` (what ran, what the columns mean)
    /// and the aligned table. `narrow`, when given, names the columns a table shows unless `wide`.
    static func renderScenario<Report: Encodable>(_ report: Report, machine: MachineInfo, header: [String],
                                                  rows: [[String]], as format: ReportFormat,
                                                  narrow: [String]? = nil, wide: Bool = false,
                                                  preamble: () -> String) -> String {
        switch format {
        case .json: return json(report)
        case .csv, .markdown: return delimited(header: header, rows: rows, markdown: format == .markdown)
        case .table:
            let (shown, cells) = wide || narrow == nil ? (header, rows) : selecting(narrow!, from: header, rows: rows)
            return machineLine(machine) + "\n" + preamble() + "\n" + alignedTable(header: shown, rows: cells)
                + (shown.count < header.count ? "(\(header.count - shown.count) more columns with --wide: "
                   + header.filter { !shown.contains($0) }.joined(separator: ", ") + ")\n" : "")
        }
    }

    /// `rows` under `header` as CSV, or as a Markdown table with numeric columns aligned right.
    static func delimited(header: [String], rows: [[String]], markdown: Bool) -> String {
        guard markdown else { return ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n" }
        let align = numericColumns(header: header, rows: rows).map { $0 ? "---:" : "---" }
        return ([header, align] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n") + "\n"
    }

    /// Two lines naming the machine and its OpenBLAS.
    public static func machineLine(_ m: MachineInfo) -> String {
        "machine: \(counted(m.cores, "core")), \(m.cpuModel), Swift \(m.swiftVersion)\n"
            + "OpenBLAS: \(m.openblasCorename) kernels (OPENBLAS_CORETYPE=\(m.openblasCoretype))"
    }

    static func configLine(_ c: RunSettings) -> String {
        "run: \(c.workload) size \(c.size), \(c.units) units split across threads, \(counted(c.repeats, "counted run")) after \(c.warmup) warm-up\n"
            + "lock: policy \(c.policy.rawValue)\(c.interpreters > 1 ? " (\(c.interpreters) interpreters)" : ""), switch interval \(fixed(c.switchIntervalSeconds * 1e3, 3)) ms, BLAS threads \(c.blasThreads)"
    }
}

/// "1 thread", "2 threads": `count` and `noun`, plural unless the count is 1.
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// `value` with `digits` decimals, no exponent.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
    return String(format: "%.\(digits)f", value)
}
