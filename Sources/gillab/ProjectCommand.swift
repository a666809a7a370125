import ArgumentParser
import GILLab

/// `gillab project`: speedups past this machine's cores, from what it measures.
struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sweep, then project each mode's speedup to more cores with Amdahl's law.",
        discussion: """
            Two projections per mode: from the held share of a unit (the lock's serial part, with free \
            handoffs), and from the Karp–Flatt serial fraction of the speedup measured at the largest \
            thread count that fits the cores (handoffs and overheads included). CPU-bound workloads only. \
            Example:
              gillab project --cores 4,8,16 --workload gemm --size 256 --threads 1,2
            """)

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated core counts to project to.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var cores = CommaList<Int>(Projection.defaultCores)

    @OptionGroup var options: RunOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try UsageError.checking { try Projection.validate(cores: cores.values) }
    }

    func run() throws {
        let plan = try options.plan()
        let report = try ProgressLine("gillab project", output: output).around { try Runner.run(plan, progress: $0) }
        print(ReportRenderer.render(Projection.project(report, cores: cores.values), as: output.format, wide: output.wide), terminator: "")
    }
}
