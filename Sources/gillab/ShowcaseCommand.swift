import ArgumentParser
import GILLab

/// `gillab` with no arguments: the claims of the foundation, measured in about half a minute.
struct Showcase: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, measured, that a kernel releasing the lock scales and one holding it does not (default).")

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Counted runs per row, after one warm-up.")
    var repeats = 5

    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let lock = try lock.configuration()
        try UsageError.checking { try RunPlan(workload: .gemm, repeats: repeats, lock: lock).validate() }
    }

    /// 1, 2, 4, … up to the core count, and the core count itself.
    static func threadLadder(cores: Int) -> [Int] {
        var counts = [1]
        while counts.last! * 2 <= cores { counts.append(counts.last! * 2) }
        if counts.last! != cores { counts.append(cores) }
        return counts.count == 1 ? [1, 2] : counts
    }

    struct Case: Codable {
        var title: String
        var config: RunSettings
        var results: [RunResult]
        var verdict: String?
    }

    struct Output: Codable {
        var machine: MachineInfo
        var cases: [Case]
    }

    func run() throws {
        let machine = MachineInfo.current()
        let ladder = Self.threadLadder(cores: machine.cores)
        let configuration = try lock.configuration()
        let plans: [(String, RunPlan)] = [
            ("A large BLAS kernel: does releasing the lock let it use the cores?",
             RunPlan(workload: .gemm, size: 512, threads: ladder, repeats: repeats, lock: configuration)),
            ("A small BLAS kernel: the lock round trip and the glue weigh more",
             RunPlan(workload: .gemm, size: 64, threads: ladder, repeats: repeats, lock: configuration)),
            ("I/O-bound threads: a blocking call that releases the lock scales past the core count",
             RunPlan(workload: .ioSleep, size: 1000, threads: [1, 2, 4, 8, 16], repeats: repeats, lock: configuration)),
            ("CPU-bound Python-level threads: interpreter bytecode only, nothing to release around",
             RunPlan(workload: .countdown, size: 4_000_000, threads: ladder, modes: [.serial, .hold],
                     repeats: repeats, lock: configuration)),
        ]
        if output.format == .table {
            print(ReportRenderer.machineLine(machine))
        }
        var cases: [Case] = []
        for (title, plan) in plans {
            let report = try Runner.run(plan)
            let verdict = Verdict.scaling(report.results, cores: machine.cores)
            if let warning = Verdict.noise(report.results) { printDiagnostic(warning) }
            cases.append(Case(title: title, config: report.config, results: report.results, verdict: verdict))
            switch output.format {
            case .table:
                print("\n== \(title)\n")
                print(ReportRenderer.table(report.results, wide: output.wide), terminator: "")
                if let lines = Verdict.scalingLines(report.results, cores: machine.cores) { print(lines, terminator: "") }
            case .markdown:
                print("### \(title)\n")
                print(ReportRenderer.render(report, as: .markdown))
                if let verdict { print("**Verdict:** \(verdict)\n") }
            case .csv:
                let text = ReportRenderer.render(report, as: .csv)
                print(cases.count == 1 ? text : String(text.drop { $0 != "\n" }.dropFirst()), terminator: "")
            case .json:
                break
            }
        }
        if output.format == .json {
            print(ReportRenderer.json(Output(machine: machine, cases: cases)), terminator: "")
        }
    }
}
