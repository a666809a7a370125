import ArgumentParser
import Foundation
import GILLab

/// `gillab exec`: the user's own Python program, under the lock.
struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run your own Python program in GILLab's interpreter, with its threads, under a lock policy.",
        discussion: """
            The program's output goes to stdout as it runs; then gillab prints, on stderr, the wall time, \
            each thread's time (holding the lock, waiting for it, blocked in sleep, join, queue and lock \
            waits, in kernels), who waited behind whom, and a verdict: I/O-bound, Python-CPU-bound or \
            native-CPU-bound, and the strategy to try. The subset of Python it runs is in the DocC article \
            "Writing a program for GILLab". Exit status: the program's (0; 1 after an uncaught exception, \
            65 when it is outside the subset, 124 at --time-limit, 130 on Ctrl-C, 143 on SIGTERM). Example:
              gillab exec --policies new-gil,free,per-interpreter examples/programs/cpu_threads.py 2
            gillab's options go before the script; what follows it is the program's (sys.argv[1:]).
            """)

    @Argument(help: ArgumentHelp("The program.", valueName: "script.py"))
    var script: String

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The program's arguments (sys.argv[1:]).", valueName: "args"))
    var arguments: [String] = []

    @OptionGroup var lock: LockOptions

    @Option(help: ArgumentHelp("Comma-separated policies to run it under, one after another, and compare wall times (instead of --policy).",
                               valueName: "policies"))
    var policies: CommaList<LockPolicy>?

    @Option(help: ArgumentHelp("Stop the program after this long, as Ctrl-C does (exit 124).", valueName: "duration"))
    var timeLimit: DurationArgument?

    @Option(help: ArgumentHelp("Write the lock's timeline as Chrome Trace Event JSON (Perfetto, chrome://tracing).", valueName: "file"))
    var trace: String?

    @Option(help: "table: the program's output, then the lab's report on stderr; json: the report on stdout, with the program's output inside it.")
    var format: ReportFormat = .table

    @Flag(help: "Also run it in the CPython on PATH (it must import only threading, time, math, queue and sys) and print both wall times, and with --threads both speedups.")
    var compareCpython = false

    @Option(help: ArgumentHelp("--compare-cpython: the CPython to run; default: python3 on PATH.", valueName: "path"))
    var python: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("--compare-cpython: thread counts to give the program as its first argument; speedups are against the first.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var threads: CommaList<Int>?

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "--compare-cpython: paired runs per thread count; medians are reported (3 by default).")
    var repeats: Int?

    func validate() throws {
        guard format == .table || format == .json else { throw ValidationError("--format: exec writes table or json, not '\(format.rawValue)'") }
        // Options after the script are the program's; one of gillab's there is almost surely a slip.
        let own = ["--policy", "--policies", "--switch-interval", "--spin", "--time-limit", "--trace", "--format", "--compare-cpython",
                   "--python", "--threads", "--repeat", "--check-interval", "--interpreters"]
        if let misplaced = arguments.first(where: { argument in own.contains { argument == $0 || argument.hasPrefix($0 + "=") } }) {
            throw ValidationError("'\(misplaced)' comes after the script, so it would go to the program: put gillab's options before \(script)")
        }
        if policies != nil && lock.policy != LockConfiguration.default.policy {
            throw ValidationError("--policy and --policies: give one")
        }
        if !compareCpython {
            if threads != nil { throw ValidationError("--threads goes with --compare-cpython") }
            if python != nil { throw ValidationError("--python goes with --compare-cpython") }
            if repeats != nil { throw ValidationError("--repeat goes with --compare-cpython") }
        } else {
            if policies != nil { throw ValidationError("--compare-cpython runs one policy: give --policy, not --policies") }
            if trace != nil { throw ValidationError("--trace does not go with --compare-cpython") }
            try UsageError.checking {
                try ProgramComparisonPlan(python: "python3", path: script, source: "", threads: threads?.values, repeats: repeats ?? 3,
                                          lock: try lock.configuration()).validate()
            }
        }
        for plan in try plans(source: "") {
            try UsageError.checking(given: ["timeLimit": timeLimit.map { "\($0)" } ?? ""]) { try plan.validate() }
        }
    }

    private func plans(source: String) throws -> [ProgramPlan] {
        let chosen = policies?.values ?? [lock.policy]
        return try chosen.map { policy in
            var plan = ProgramPlan(source: source, filename: script, lock: try lock.tuning.configuration(policy: policy),
                                   timeLimit: timeLimit?.duration)
            plan.arguments = arguments
            return plan
        }
    }

    func run() throws {
        // Everything the run made is gone before exit, so that LeakSanitizer sees no leak.
        let status = try execute()
        if status != 0 { Foundation.exit(status) }
    }

    /// Runs the program (or the comparison) and returns the exit status.
    private func execute() throws -> Int32 {
        guard let data = FileManager.default.contents(atPath: script) else {
            throw ValidationError("cannot read '\(script)': \(FileManager.default.fileExists(atPath: script) ? "permission denied or not a file" : "no such file")")
        }
        guard let source = String(data: data, encoding: .utf8) else {
            throw ValidationError("'\(script)' is not UTF-8 text")
        }
        if compareCpython { return try compare(source: source) }
        let traceFile = try trace.map { try OutputFile(path: $0, option: "--trace") }
        let recording = RunTrace()
        Interrupt.install()
        var records: [ProgramRunRecord] = []
        let plans = try plans(source: source)
        for plan in plans {
            if plans.count > 1 && format == .table { printDiagnostic("── \(plan.lock.policy.rawValue) ──") }
            let captured = Captured()
            let json = format == .json
            let run = try ProgramRunner.run(
                plan, stop: Interrupt.request,
                output: { text in if json { captured.append(text) } else { FileHandle.standardOutput.write(Data(text.utf8)) } },
                errorOutput: { text in FileHandle.standardError.write(Data(text.utf8)) },
                prepare: { GILLabModule.install(in: $0) })
            if case .rejected(let error) = run.end {
                // Outside the subset: the caret report, and nothing measured.
                printDiagnostic(error.report)
                return run.end.exitStatus
            }
            if let segment = run.segment { recording.append(segment) }
            let record = ProgramRunRecord(run, output: json ? captured.text : nil)
            records.append(record)
            if format == .table { printDiagnostic(ReportRenderer.program(record).trimmingCharacters(in: .newlines)) }
            if run.end == .interrupted || run.end == .timedOut { break }
        }
        if format == .json { print(ReportRenderer.programJSON(records), terminator: "") }
        if records.count > 1 && format == .table { printDiagnostic(ReportRenderer.programComparison(records).trimmingCharacters(in: .newlines)) }
        if let traceFile {
            try traceFile.write(ChromeTrace.render(program: recording, file: script, machine: MachineInfo.current()))
        }
        // Stopped by a signal: 128 + that signal (SIGTERM's 143 as well as Ctrl-C's 130).
        if Interrupt.request.isRequested, records.contains(where: { $0.exitStatus == ProgramEnd.interrupted.exitStatus }) {
            return Interrupt.exitStatus
        }
        return records.map(\.exitStatus).first { $0 != 0 } ?? 0
    }
}

extension Exec {
    /// `--compare-cpython`: the same file in both interpreters, side by side.
    private func compare(source: String) throws -> Int32 {
        guard let python = python ?? CompareCPython.onPath("python3") else {
            throw UnavailableError(description: "no python3 on PATH; --compare-cpython needs CPython 3 (give one with --python)")
        }
        guard CompareCPython.isExecutableProgram(python) else {
            throw UnavailableError(description: "--python: '\(python)' is not an executable file")
        }
        // GILLab refuses what is outside its subset before anything is timed.
        let check = ProgramPlan(source: source, filename: script, lock: try lock.configuration())
        if let error = ProgramRunner.check(check) {
            printDiagnostic(error.report)
            return ProgramEnd.rejected(error).exitStatus
        }
        let plan = ProgramComparisonPlan(python: python, path: script, source: source, arguments: arguments,
                                         threads: threads?.values, repeats: repeats ?? 3, lock: try lock.configuration(),
                                         timeLimit: timeLimit?.duration ?? .seconds(300))
        Interrupt.install()
        let report = try ProgramComparison.run(plan)
        print(format == .json ? ReportRenderer.programComparisonJSON(report) : ReportRenderer.programComparison(report), terminator: "")
        return 0
    }
}

/// What `print` wrote, kept for the JSON report.
private final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ text: String) { lock.withLock { parts.append(text) } }
    var text: String { lock.withLock { parts.joined() } }
}
