import ArgumentParser
import Foundation
import GILLab

/// `gillab report`: a run (or a scenario) written up as a folder.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sweep or a scenario and write a report folder: report.md, SVG charts, the trace and the JSON.",
        discussion: """
            A sweep (the run options, as for gillab run) writes report.md (tables, verdicts, lock load), \
            speedup.svg (speedup against threads, with the ideal and Amdahl lines), one timeline-MODE-THREADS.svg \
            per traced row but serial, which has one thread and no handoff (who held the lock, the first --timeline of it, 50 ms by default), trace.json (Chrome trace, for Perfetto) and \
            results.json. --scenario runs that scenario with its defaults instead and writes report.md and its JSON. \
            Example:
              gillab report --out /tmp/gemm-report --workload gemm --size 256 --threads 1,2
            """)

    @Option(help: ArgumentHelp("The folder to write (made if missing).", valueName: "dir"))
    var out = "gillab-report"

    @Option(help: ArgumentHelp("Instead of a sweep, run this scenario with its defaults: \(Scenarios.all.map { $0.name }.joined(separator: ", ")).",
                               valueName: "name"))
    var scenario: ScenarioName?

    @Option(help: ArgumentHelp("Instead of a sweep, run this Python program as gillab exec does, under --policy, and write up its run.",
                               valueName: "script.py"))
    var exec: String?

    @Option(help: ArgumentHelp("How much of each traced row the timeline charts show.", valueName: "duration"))
    var timeline = DurationArgument(.milliseconds(50), text: "50ms")

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard timeline.duration > .zero else { throw ValidationError("--timeline must be positive, got '\(timeline)'") }
        if exec != nil && scenario != nil { throw ValidationError("--exec and --scenario: give one") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: out)
        // An unwritable folder is refused before the run, not after it.
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            _ = try OutputFile(path: directory.appendingPathComponent(ReportFolder.markdownName).path, option: "--out")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("--out: cannot write the folder '\(out)': \(error.localizedDescription)")
        }
        let progress = ProgressLine("gillab report", quiet: quiet)
        let command = (["gillab"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let files: [String], interrupted: Bool
        Interrupt.install()  // Ctrl-C or SIGTERM: the rounds done so far are written up, then exit 130 or 143
        let milliseconds = Double(timeline.duration.components.seconds) * 1e3 + Double(timeline.duration.components.attoseconds) / 1e15
        if let scenario {
            (files, interrupted) = try progress.around { try scenario.write(to: directory, command: command, progress: $0) }
        } else if let exec {
            guard let data = FileManager.default.contents(atPath: exec), let source = String(data: data, encoding: .utf8) else {
                throw ValidationError("--exec: cannot read '\(exec)' as UTF-8 text")
            }
            let output = Locked("")
            let run = try ProgramRunner.run(ProgramPlan(source: source, filename: exec, lock: try options.lock.configuration()),
                                            stop: Interrupt.request, output: { text in output.withLock { $0 += text } },
                                            errorOutput: { text in FileHandle.standardError.write(Data(text.utf8)) },
                                            prepare: { GILLabModule.install(in: $0) })
            if case .rejected(let error) = run.end {
                printDiagnostic(error.report)
                Foundation.exit(65)
            }
            let trace = RunTrace()
            if let segment = run.segment { trace.append(segment) }
            files = try ReportFolder.write(program: ProgramRunRecord(run, output: output.withLock { $0 }), trace: trace,
                                           machine: MachineInfo.current(), command: command, to: directory,
                                           timelineMilliseconds: milliseconds)
            interrupted = run.end == .interrupted
            if case .exception = run.end {
                print("wrote \(directory.path)/: " + files.joined(separator: ", "))
                Foundation.exit(run.end.exitStatus)
            }
        } else {
            let trace = RunTrace()
            let plan = try options.plan()
            let report = try progress.around { try Runner.run(plan, trace: trace, stop: Interrupt.request, progress: $0) }
            if let warning = Verdict.noise(report.results) { printDiagnostic(warning) }
            if let warning = Verdict.truncatedWaits(report.results) { printDiagnostic(warning) }
            files = try ReportFolder.write(report, trace: trace, command: command, to: directory,
                                           timelineMilliseconds: milliseconds)
            interrupted = report.interrupted == true
        }
        print("wrote \(directory.path)/: " + files.joined(separator: ", "))
        if interrupted {
            printDiagnostic("gillab: interrupted: the report covers the rounds completed before the signal")
            Foundation.exit(Interrupt.exitStatus)
        }
    }
}

/// `--scenario NAME`: one of the library's `Scenarios.all`.
struct ScenarioName: ExpressibleByArgument {
    let scenario: any GILLab.Scenario.Type

    init?(argument: String) {
        guard let scenario = Scenarios.named(argument) else { return nil }
        self.scenario = scenario
    }

    static var allValueStrings: [String] { Scenarios.all.map { $0.name } }

    /// Runs the scenario with its defaults (Ctrl-C stops it after the step in progress) and
    /// writes its report folder.
    /// - Returns: the files written, and whether Ctrl-C cut the run short.
    func write(to directory: URL, command: String, progress: (Int, Int) -> Void) throws -> ([String], Bool) {
        try Self.write(scenario, to: directory, command: command, progress: progress)
    }

    private static func write<S: GILLab.Scenario>(_: S.Type, to directory: URL, command: String,
                                                 progress: (Int, Int) -> Void) throws -> ([String], Bool) {
        let report = try S.run(S.Plan(), stop: Interrupt.request, progress: progress)
        guard let printable = report as? any PrintableScenarioReport else {
            preconditionFailure("\(S.name)'s report has no printed form")
        }
        var markdown = printable.rendered(as: .markdown)
        if !printable.verdicts.isEmpty { markdown += "\n" + printable.verdicts.map { "**Verdict:** \($0)\n" }.joined(separator: "\n") }
        let files = try ReportFolder.write(scenario: S.name, markdown: markdown, json: ReportRenderer.json(report),
                                           machine: report.machine, command: command, charts: printable.charts, to: directory)
        return (files, report.interrupted == true)
    }
}
