import ArgumentParser
import Foundation
import GILLab

/// A tool gillab needs is missing: exits 69 (EX_UNAVAILABLE) with one line.
struct UnavailableError: Error, CustomStringConvertible {
    let description: String
}

/// A scenario whose sweep `compare-cpython --sweep` runs on both sides.
enum CPythonSweep: String, ExpressibleByArgument, CaseIterable {
    case switchInterval = "switch-interval"
}

/// `gillab compare-cpython`: GILLab and real CPython, side by side, in one run.
struct CompareCPython: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-cpython",
        abstract: "Run the same workloads in the CPython on PATH and in GILLab, and print the speedups side by side.",
        discussion: """
            CPython runs scripts/cpython_side.py (standard library only: ctypes and the system's \
            libopenblas): dgemm at each size on 1 and 2 threads, through ctypes.PyDLL (keeps the GIL) \
            and ctypes.CDLL (drops it); countdown on 2 threads; a 1 ms sleeper beside a CPU thread. \
            GILLab then runs gemm-call (the script's Python-level glue around each call, line for \
            line: set A[0,0], call, read C[0,0]), countdown and the convoy scenario under the lock \
            options. ctypes converting 14 arguments holds the GIL longer than GILLab's native call \
            holds its lock, so first both sides' glue is measured (a zero-order call) and GILLab's \
            unit is padded with Python-level work to the same held time (--no-match-glue skips \
            this). Last, the switch-interval sweep: CPython's own convoy (a thread sleeping 1 ms \
            beside one CPU-bound thread) at sys.setswitchinterval 1, 5 and 20 ms, each followed by \
            GILLab's convoy at the same --switch-interval; p50 and p99 latency side by side. Without \
            a python3 it exits 69. Examples:
              gillab compare-cpython --format json
              gillab compare-cpython --only switch-interval --switch-intervals 1ms,5ms,20ms
            With --sweep switch-interval it runs gillab scenario switch-interval's whole sweep instead: at \
            each interval (50us to 20ms by default), CPython's sleeper beside 1 and 2 countdown threads, then \
            GILLab's under --policy, back to back, and prints p50, p99, max and the CPU threads' throughput \
            against alone on both sides:
              gillab compare-cpython --sweep switch-interval --sweep-samples 200
            """)

    @Option(help: ArgumentHelp("The CPython to run; default: python3 on PATH.", valueName: "path"))
    var python: String?

    @Option(help: ArgumentHelp("The CPython side's script; default: cpython_side.py beside the gillab binary, in ../share/gillab/ (make install), or scripts/cpython_side.py in the checkout it was built in.",
                               valueName: "path"))
    var script: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated dgemm orders.", valueName: "sizes"),
            transform: CommaList<Int>.parse)
    var sizes = CommaList<Int>(CPythonComparisonPlan(python: "", script: "").sizes)

    @Option(parsing: .unconditional, help: "The countdown's total count.")
    var countdown = CPythonComparisonPlan(python: "", script: "").countdown

    @Option(name: .customLong("repeat"), parsing: .unconditional,
            help: "Counted rounds per row on each side, after one warm-up (9: a noisy 2-core VM needs them).")
    var repeats = CPythonComparisonPlan(python: "", script: "").repeats

    @Flag(inversion: .prefixedNo,
          help: "Pad GILLab's dgemm unit with Python-level work until it holds the lock as long per call as CPython's ctypes call does, so that the two sides differ only in their locks.")
    var matchGlue = true

    @Option(help: ArgumentHelp("Comma-separated parts: \(CPythonComparisonPart.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "parts"),
            transform: CommaList<CPythonComparisonPart>.parse)
    var only = CommaList<CPythonComparisonPart>(CPythonComparisonPart.allCases)

    @Option(help: ArgumentHelp("Comma-separated switch intervals of the convoy sweep (sys.setswitchinterval on the CPython side); default: 1ms,5ms,20ms, or with --sweep the scenario's eight from 50us to 20ms.",
                               valueName: "durations"))
    var switchIntervals: CommaList<DurationArgument>?

    @Option(parsing: .unconditional, help: "Blocks per side and switch interval in the sweep.")
    var sweepSamples = CPythonComparisonPlan(python: "", script: "").sweepSamples

    @Option(help: ArgumentHelp("Instead of the parts (--only, --sizes, --countdown and --repeat do not apply), run a scenario's sweep on both sides: switch-interval (gillab scenario switch-interval's sweep, with --policy's lock, beside CPython's own; --switch-intervals, --sweep-samples and --cpu-threads set it).",
                               valueName: "scenario"))
    var sweep: CPythonSweep?

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated counts of CPU-bound threads beside the sleeper, with --sweep.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var cpuThreads = CommaList<Int>([1, 2])

    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        // Which python and script are settled in run(): a missing python3 is exit 69, not 64.
        if sweep != nil {
            var plan = try sweepPlan(python: "python3", script: "")
            plan.script = "/dev/null"  // settled in run()
            try UsageError.checking { try plan.validate() }
            return
        }
        let plan = try plan(python: "python3", script: "")
        try UsageError.checking { try plan.validate() }
    }

    func plan(python: String, script: String) throws -> CPythonComparisonPlan {
        var plan = CPythonComparisonPlan(python: python, script: script, sizes: sizes.values, countdown: countdown,
                                         repeats: repeats, lock: try lock.configuration(), matchGlue: matchGlue, parts: only.values,
                                         sweepSamples: sweepSamples)
        if let switchIntervals { plan.switchIntervals = switchIntervals.values.map(\.duration) }
        return plan
    }

    func sweepPlan(python: String, script: String) throws -> SwitchIntervalComparisonPlan {
        var plan = SwitchIntervalComparisonPlan(python: python, script: script, cpuThreads: cpuThreads.values, samples: sweepSamples,
                                                lock: try lock.configuration())
        if let switchIntervals { plan.intervals = switchIntervals.values.map(\.duration) }
        return plan
    }

    func run() throws {
        guard let python = python ?? Self.onPath("python3") else {
            throw UnavailableError(description: "no python3 on PATH; compare-cpython needs CPython 3 (give one with --python)")
        }
        guard Self.isExecutableProgram(python) else {
            throw UnavailableError(description: "--python: '\(python)' is not an executable file")
        }
        let candidates = Self.scriptCandidates()
        guard let script = script ?? candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw ValidationError("cannot find the CPython side's script (looked for \(candidates.joined(separator: ", "))); give its path with --script")
        }
        if sweep != nil {
            let plan = try sweepPlan(python: python, script: script)
            try UsageError.checking { try plan.validate() }
            Interrupt.install()
            let report = try ProgressLine("gillab compare-cpython --sweep switch-interval", output: output).around {
                try SwitchIntervalComparison.run(plan, stop: Interrupt.request, progress: $0)
            }
            print(report.rendered(as: output.format, wide: output.wide), terminator: "")
            if output.format == .table { for line in report.verdicts { print("verdict: " + line) } }
            if report.interrupted == true {
                printDiagnostic("gillab: interrupted: reported the intervals completed before the signal")
                Foundation.exit(Interrupt.exitStatus)
            }
            return
        }
        let plan = try plan(python: python, script: script)
        try UsageError.checking { try plan.validateScript() }
        let report = try ProgressLine("gillab compare-cpython", output: output).around {
            try CPythonComparison.run(plan, progress: $0)
        }
        print(ReportRenderer.render(report, as: output.format), terminator: "")
        if output.format == .table, let verdict = Verdict.comparison(report) { print("\nverdict: " + verdict) }
    }

    /// The first executable `name` in a directory of PATH.
    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first(where: isExecutableProgram)
    }

    /// A regular file with an execute bit. `access(X_OK)` alone says yes to any file for root.
    static func isExecutableProgram(_ path: String) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let permissions = attributes[.posixPermissions] as? Int else { return false }
        return permissions & 0o111 != 0
    }

    /// Where the CPython side's script may be, in order, found from the gillab binary and never
    /// from the current directory: beside the binary, then in `../share/gillab/` (where `make
    /// install` puts it), then `scripts/cpython_side.py` in the checkout it was built in (the binary lives in
    /// `<checkout>/.build/<triple>/<configuration>/`, or one level less for `.build/release`).
    static func scriptCandidates() -> [String] {
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let binary = executable.resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [binary.appendingPathComponent("cpython_side.py").path,
                          binary.deletingLastPathComponent().appendingPathComponent("share/gillab/cpython_side.py").path]
        var directory = binary
        for _ in 0..<4 {
            directory.deleteLastPathComponent()
            candidates.append(directory.appendingPathComponent("scripts/cpython_side.py").path)
        }
        return candidates
    }
}
