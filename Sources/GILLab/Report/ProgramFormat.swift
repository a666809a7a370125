import Foundation

// `gillab exec`: a program's run as a table (on stderr, after the program's own output) or JSON.

/// A program run and its verdict, as `gillab exec --format json` writes them.
public struct ProgramRunRecord: Sendable, Codable, Equatable {
    /// The file.
    public var file: String
    /// The policy.
    public var policy: LockPolicy
    /// 0, 1 (an uncaught exception), 65 (rejected), 124 (time limit), 130 (Ctrl-C).
    public var exitStatus: Int32
    /// The exception's last traceback line, when one ended the program.
    public var error: String?
    /// Seconds.
    public var wallSeconds: Double
    /// What `print` wrote, when it was captured.
    public var output: String?
    /// The threads, the main thread first.
    public var threads: [ProgramThread]
    /// The lock's figures, with who waited behind whom.
    public var lock: LockSummary
    /// The verdict; `nil` when the program was rejected before it ran.
    public var verdict: ProgramVerdict?

    enum CodingKeys: String, CodingKey {
        case file, policy, exitStatus = "exit_status", error, wallSeconds = "wall_s", output, threads, lock, verdict
    }

    /// The record of `run`, with the output `print` wrote if it was captured.
    public init(_ run: ProgramRun, output: String? = nil) {
        file = run.filename
        policy = run.policy
        exitStatus = run.end.exitStatus
        switch run.end {
        case .exception(let error), .rejected(let error): self.error = error.oneLine
        default: error = nil
        }
        wallSeconds = run.wallSeconds
        self.output = output
        threads = run.threads
        lock = run.lock
        if case .rejected = run.end { verdict = nil } else { verdict = ProgramVerdict(run) }
    }
}

extension ReportRenderer {
    /// The lab's report on one program run:
    ///
    /// ```text
    /// gillab exec crawl.py: new-gil, 0.412 s, exit 0
    ///   thread             life_s  held_s  waiting_s  io_s  kernel_s  on_threads_s
    ///   MainThread         …
    ///   lock held 12.0% of the wall time, a waiter 3.1% of it; 240 switches, 0 forced
    ///   who waited behind whom … (as gillab run --stats)
    ///   verdict: I/O-bound: …
    /// ```
    public static func program(_ record: ProgramRunRecord) -> String {
        var text = "gillab exec \(record.file): \(record.policy.rawValue), \(fixed(record.wallSeconds, 3)) s, exit \(record.exitStatus)\n"
        if let error = record.error { text += "  ended by \(error)\n" }
        let rows = record.threads.map {
            [$0.name, fixed($0.lifeSeconds, 3), fixed($0.heldSeconds, 3), fixed($0.waitingSeconds, 3),
             fixed($0.releasedIOSeconds, 3), fixed($0.releasedKernelSeconds, 3), fixed($0.synchronizingSeconds, 3)]
        }
        text += alignedTable(header: ["thread", "life_s", "held_s", "waiting_s", "io_s", "kernel_s", "on_threads_s"], rows: rows)
            .split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
        text += "  lock held \(percent(record.lock.heldFraction)) of the wall time, a thread waiting \(percent(record.lock.waitingFraction)) of it; "
            + "\(record.lock.switches) switches, \(record.lock.dropRequests) drop requests, \(record.lock.forcedSwitches) forced\n"
        if let matrix = record.lock.waitsBehind, let blockers = record.lock.blockers, !matrix.isEmpty {
            text += "  who waited behind whom:\n"
            let cells = matrix.map { [$0.waiter, $0.holder, fixed($0.seconds, 4), percent($0.shareOfLife)] }
            text += alignedTable(header: ["waiter", "behind", "wait_s", "of_life"], rows: cells)
                .split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n")
            text += "  top blockers:\n"
            for blocker in blockers.prefix(blockersShown) { text += "    " + line(blocker) + "\n" }
        }
        if let verdict = record.verdict { text += "  verdict: \(verdict.summary)\n" }
        return text
    }

    /// Several policies' runs side by side: wall time and its ratio to the first.
    public static func programComparison(_ records: [ProgramRunRecord]) -> String {
        guard let first = records.first else { return "" }
        let rows = records.map {
            [$0.policy.rawValue, fixed($0.wallSeconds, 3), fixed($0.wallSeconds / max(first.wallSeconds, 1e-9), 2),
             percent($0.lock.heldFraction), "\($0.exitStatus)"]
        }
        return "\(first.file) under each policy (wall ÷ \(first.policy.rawValue)'s):\n"
            + alignedTable(header: ["policy", "wall_s", "ratio", "held", "exit"], rows: rows)
    }

    /// The records as JSON: one object, or an array for several policies.
    public static func programJSON(_ records: [ProgramRunRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = records.count == 1 ? try? encoder.encode(records[0]) : try? encoder.encode(records)
        return (data.map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }
}

extension ReportRenderer {
    /// `gillab exec --compare-cpython`: wall times and speedups side by side.
    public static func programComparison(_ report: ProgramComparisonReport) -> String {
        var text = "\(report.file): GILLab (\(report.policy.rawValue)) and CPython \(report.cpythonVersion) on this machine, "
            + "median of \(report.repeats) paired run\(report.repeats == 1 ? "" : "s")\n"
        let threaded = report.rows.first?.threads != nil
        let rows = report.rows.map { row -> [String] in
            var cells = [row.threads.map(String.init) ?? "-", fixed(row.gillabSeconds, 3), fixed(row.cpythonSeconds, 3),
                         fixed(row.gillabSeconds / max(row.cpythonSeconds, 1e-9), 2)]
            if threaded {
                cells += [fixed(row.gillabSpeedup, 2), fixed(row.cpythonSpeedup, 2),
                          (row.gillabSpeedup >= row.cpythonSpeedup ? "+" : "") + fixed(row.gillabSpeedup - row.cpythonSpeedup, 2)]
            }
            return cells
        }
        let header = ["threads", "gillab_s", "cpython_s", "time_ratio"] + (threaded ? ["gillab_speedup", "cpython_speedup", "difference"] : [])
        text += alignedTable(header: header, rows: rows)
        text += report.outputsMatch ? "both printed the same output\n"
            : "the outputs differ: GILLab printed \"\(report.firstDifference?[0] ?? "")\" where CPython printed \"\(report.firstDifference?[1] ?? "")\"\n"
        return text
    }

    /// The comparison as JSON.
    public static func programComparisonJSON(_ report: ProgramComparisonReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return ((try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }
}

extension ReportFolder {
    /// Writes a program run's report (`gillab report --exec`): `report.md` with each thread's
    /// time, who waited behind whom, the verdict and the program's output; `results.json`; the
    /// Chrome trace; and the timeline chart of the run.
    /// - Returns: the names of the files written.
    public static func write(program record: ProgramRunRecord, trace: RunTrace, machine: MachineInfo, command: String,
                             to directory: URL, timelineMilliseconds: Double = 50) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var files: [(String, String)] = [
            (resultsName, ReportRenderer.programJSON([record])),
            (traceName, ChromeTrace.render(program: trace, file: record.file, machine: machine)),
        ]
        var text = "# GILLab report: \(record.file)\n\n"
        text += ReportRenderer.machineLine(machine) + "\n\n"
        text += "Made with `\(command)`. The figures are in [\(resultsName)](\(resultsName)); the lock's timeline is in "
        text += "[\(traceName)](\(traceName)): open it in [Perfetto](https://ui.perfetto.dev) or chrome://tracing.\n\n"
        text += "Policy `\(record.policy.rawValue)`: \(fixed(record.wallSeconds, 3)) s, exit \(record.exitStatus)"
        text += record.error.map { ", ended by " + ReportRenderer.markdownCode($0) } ?? ""
        text += ".\n\n"
        if let verdict = record.verdict { text += "**Verdict:** \(verdict.summary).\n\n" }
        text += "## Threads\n\n"
        text += "Seconds per thread: holding the lock, waiting for it, blocked in I/O (`time.sleep`), in kernels that "
        text += "release it, and waiting for the program's other threads (join, Lock, Queue, Event).\n\n"
        let rows = record.threads.map {
            [$0.name, fixed($0.lifeSeconds, 3), fixed($0.heldSeconds, 3),
             fixed($0.waitingSeconds, 3), fixed($0.releasedIOSeconds, 3),
             fixed($0.releasedKernelSeconds, 3), fixed($0.synchronizingSeconds, 3)]
        }
        text += ReportRenderer.delimited(header: ["thread", "life_s", "held_s", "waiting_s", "io_s", "kernel_s", "on_threads_s"],
                                         rows: rows, markdown: true) + "\n"
        if let matrix = record.lock.waitsBehind, let blockers = record.lock.blockers, !matrix.isEmpty {
            text += "## Who waited behind whom\n\n"
            let cells = matrix.map { [$0.waiter, $0.holder, fixed($0.seconds, 4), ReportRenderer.percent($0.shareOfLife)] }
            text += ReportRenderer.delimited(header: ["waiter", "behind", "wait_s", "of_life"], rows: cells, markdown: true) + "\n"
            let places = blockers.prefix(ReportRenderer.blockersShown).map {
                [ReportRenderer.markdownCode($0.location), fixed($0.seconds, 4), ReportRenderer.percent($0.share), "\($0.handoffs)"]
            }
            text += ReportRenderer.delimited(header: ["held at", "others waited_s", "share", "handoffs"], rows: places, markdown: true) + "\n"
        }
        if let segment = trace.segments.first {
            let chart = "timeline-program.svg"
            let title = "\(record.file) (\(record.policy.rawValue)): first \(SVGChart.format(timelineMilliseconds)) ms"
            files.append((chart, SVGChart.timeline(segment, title: title, milliseconds: timelineMilliseconds)))
            text += "## Timeline\n\n" + timelineLegend(milliseconds: timelineMilliseconds) + "\n\n![Timeline](\(chart))\n\n"
        }
        if let output = record.output {
            text += "## The program's output\n\n```text\n\(output.hasSuffix("\n") ? output : output + "\n")```\n"
        }
        files.insert((markdownName, text), at: 0)
        for (name, content) in files {
            try Data(content.utf8).write(to: directory.appendingPathComponent(name))
        }
        return files.map(\.0)
    }
}
