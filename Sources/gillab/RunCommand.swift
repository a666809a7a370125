import ArgumentParser
import Foundation
import GILLab

/// `gillab run`: one workload over modes and thread counts.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one workload in several modes and thread counts, and report speedups.",
        discussion: """
            The total work is fixed and split across the threads of each row. serial always runs, as \
            the baseline for speedup. Example:
              gillab run --workload gemm --size 512 --threads 1,2 --modes serial,hold,release --format json
            """)

    @OptionGroup var options: RunOptions

    @Option(help: ArgumentHelp("Write the lock's timeline as Chrome Trace Event JSON (open it in Perfetto or chrome://tracing): the first counted repeat of every in-process row.",
                               valueName: "file"))
    var trace: String?

    @Flag(help: "Also print the lock's load (held share, share with a waiter, each thread's hold, wait and released time) and who waited behind whom: the wait matrix and the code others waited behind.")
    var stats = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        var plan = try options.plan()
        plan.attributeWaits = stats
        // A trace file that cannot be written is refused before minutes of work, not after.
        let traceFile = try trace.map { try OutputFile(path: $0, option: "--trace") }
        let recording = traceFile.map { _ in RunTrace() }
        Interrupt.install()
        let report = try ProgressLine("gillab run", output: output).around {
            try Runner.run(plan, trace: recording, stop: Interrupt.request, progress: $0)
        }
        print(ReportRenderer.render(report, as: output.format, wide: output.wide), terminator: "")
        if output.format == .table, let verdict = Verdict.scalingLines(report.results, cores: report.machine.cores) {
            print("\n" + verdict, terminator: "")
        }
        if stats && output.format != .json {
            print("\n" + ReportRenderer.load(report.results), terminator: "")
            if let waits = ReportRenderer.waits(report.results) { print("\n" + waits, terminator: "") }
        }
        if let warning = Verdict.truncatedWaits(report.results) { printDiagnostic(warning) }
        if let warning = Verdict.noise(report.results) { printDiagnostic(warning) }
        if let traceFile, let recording {
            if recording.segments.isEmpty {
                printDiagnostic("gillab: warning: nothing to trace: processes and hybrid rows keep their locks in other processes")
            }
            try traceFile.write(ChromeTrace.render(recording, report: report))
            if recording.droppedEvents > 0 {
                printDiagnostic("gillab: warning: the trace kept \(recording.eventsPerThread) events per thread and row; \(recording.droppedEvents) later ones were left out")
            }
        }
        if report.interrupted == true {
            printDiagnostic("gillab: interrupted: reported \(report.config.repeats) of \(plan.repeats) rounds")
            Foundation.exit(Interrupt.exitStatus)
        }
    }
}

/// What to run: the options `gillab run` and `gillab report` share.
struct RunOptions: ParsableArguments {
    @Option(help: "Workload to run.")
    var workload: WorkloadKind = .gemm

    @Option(help: ArgumentHelp("Instead of --workload, a Python file that defines unit(size): called once per unit across the threads, its results digested (every mode must return the same). In-process modes only; --size defaults to \(UserProgram.defaultSize), --units to \(UserProgram.defaultUnits).",
                               valueName: "file"))
    var program: String?

    @Option(parsing: .unconditional, help: "Problem size per unit (matrix order, bytes, iterations); default depends on the workload.")
    var size: Int?

    @Option(parsing: .unconditional, help: "Total units of work split across threads; default: about 0.25 s of serial work.")
    var units: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated thread counts.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var threads = CommaList<Int>(RunPlan(workload: .gemm).threads)

    @Option(help: ArgumentHelp("Comma-separated modes: \(Mode.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "modes"),
            transform: CommaList<Mode>.parse)
    var modes = CommaList<Mode>(RunPlan(workload: .gemm).modes)

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Counted runs per row, after one warm-up.")
    var repeats = RunPlan(workload: .gemm).repeats

    @Option(parsing: .unconditional, help: "OpenBLAS threads during the run (restored afterwards).")
    var blasThreads = RunPlan(workload: .gemm).blasThreads

    @Option(help: ArgumentHelp("How processes rows send input to workers: none, pipe or shm.", valueName: "transfer"))
    var transfer: Transfer = RunPlan(workload: .gemm).transfer

    @Option(help: ArgumentHelp("How long a worker process may take to answer before all are stopped.", valueName: "duration"))
    var workerTimeout = DurationArgument(RunPlan(workload: .gemm).workerTimeout)

    @Option(help: "Where hybrid rows compute: processes (a worker process pool) or release (threads, lock released).")
    var compute: HybridCompute = RunPlan(workload: .gemm).compute

    @Option(parsing: .unconditional, help: "Workers in hybrid's compute pool; default: the core count.")
    var computeWorkers = MachineInfo.onlineCores

    @Option(help: ArgumentHelp("gemm under release: release dgemm only above this matrix order, or auto for the crossover measured by gillab scenario crossover.",
                               valueName: "n|auto"))
    var releaseThreshold: ReleaseThreshold?

    @OptionGroup var lock: LockOptions

    func validate() throws {
        let plan = try plan()
        try UsageError.checking(given: ["workerTimeout": workerTimeout]) { try plan.validate() }
    }

    func plan() throws -> RunPlan {
        var plan = RunPlan(workload: workload, size: size, units: units, threads: threads.values, modes: modes.values,
                repeats: repeats, blasThreads: blasThreads, lock: try lock.configuration(), transfer: transfer,
                workerTimeout: workerTimeout.duration, compute: compute, computeWorkers: computeWorkers)
        plan.releaseThreshold = try resolvedThreshold()
        if let program {
            plan.program = try Self.readProgram(program, option: "--program")
            if size == nil { plan.size = UserProgram.defaultSize }
        }
        return plan
    }

    /// The program at `path`, checked before any work: unreadable is a usage error, and a program
    /// outside the subset is refused with its file:line:column (exit 65).
    static func readProgram(_ path: String, option: String) throws -> UserProgram {
        guard let data = FileManager.default.contents(atPath: path), let source = String(data: data, encoding: .utf8) else {
            throw ValidationError("\(option): cannot read '\(path)' as UTF-8 text")
        }
        let program = UserProgram(source: source, filename: path)
        if let error = ProgramRunner.check(ProgramPlan(source: source, filename: path)) {
            printDiagnostic(error.report)
            Foundation.exit(65)
        }
        return program
    }

    /// The threshold to apply; `auto` reads the saved crossover for this lock's handoff.
    func resolvedThreshold() throws -> Int? {
        switch releaseThreshold {
        case nil: return nil
        case .fixed(let n)?: return n
        case .auto?:
            let spin = try lock.configuration().spin
            guard let measured = CrossoverScenario.savedThreshold(spin: spin, from: CrossoverCache.url) else {
                throw ValidationError("--release-threshold auto needs a measured crossover; run gillab scenario crossover --kernels dgemm first (it saves to \(CrossoverCache.url.path))")
            }
            // Release from the crossover size on: hold below it.
            return measured - 1
        }
    }
}
