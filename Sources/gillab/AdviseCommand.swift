import ArgumentParser
import GILLab

/// `gillab advise`: profile a workload, classify it, recommend a strategy.
struct Advise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Profile a workload briefly, classify it, and recommend a concurrency strategy.",
        discussion: """
            Runs the workload on one thread and on several, with the lock released around kernels and \
            I/O, and reads where each thread's time went: holding the lock, released in kernels, \
            released in I/O, waiting. The class follows from the share that reaches 70%: io-bound, \
            cpu-bound-holding-lock, cpu-bound-released, else mixed. Examples:
              gillab advise --workload countdown
              gillab advise --workload service --format json
            """)

    @Option(help: ArgumentHelp("A workload (\(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", "))) or service.",
                               valueName: "name"))
    var workload: String?

    @Option(help: ArgumentHelp("Instead of --workload, a Python file that defines unit(size) (as for gillab run --program).",
                               valueName: "file"))
    var program: String?

    @Option(parsing: .unconditional, help: "Problem size; default depends on the workload. Not for service.")
    var size: Int?

    @Option(parsing: .unconditional, help: "Threads of the second run; default: the core count, at least 2.")
    var threads = max(2, MachineInfo.onlineCores)

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Runs per thread count; the median is read.")
    var repeats = 3

    @OptionGroup var output: OutputOptions

    func validate() throws {
        let target = try target()
        try UsageError.checking {
            try Advisor.validate(threads: threads, repeats: repeats)
            if case .workload(let kind, let size) = target { try RunPlan(workload: kind, size: size, threads: [threads]).validate() }
        }
    }

    func target() throws -> AdviceTarget {
        if let program {
            guard workload == nil else { throw ValidationError("--workload and --program: give one") }
            return .program(try RunOptions.readProgram(program, option: "--program"), size: size)
        }
        guard let workload else { throw ValidationError("give --workload NAME or --program FILE") }
        if workload == "service" {
            guard size == nil else { throw ValidationError("--size does not apply to service; see gillab scenario service") }
            return .service
        }
        guard let kind = WorkloadKind(rawValue: workload) else {
            let names = WorkloadKind.allCases.map(\.rawValue) + ["service"]
            throw ValidationError("unknown workload '\(workload)'; valid: \(names.joined(separator: ", "))")
        }
        return .workload(kind, size: size)
    }

    func run() throws {
        let advice = try Advisor.advise(try target(), threads: threads, repeats: repeats)
        print(ReportRenderer.render(advice, as: output.format), terminator: "")
    }
}
