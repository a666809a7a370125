import ArgumentParser
import GILLab

/// `gillab list`: what can be run.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List workloads, modes, lock policies, transfers, strategies and formats.")

    @Flag(name: .shortAndLong, help: "Also print each interpreter program's source and bytecode (* marks the instructions that poll the eval breaker).")
    var verbose = false

    @Option(name: .customLong("source"), help: ArgumentHelp("Print only the Python source of this workload's interpreter program (as CPython can run it) and exit.", valueName: "workload"))
    var sourceOf: WorkloadKind?

    func validate() throws {
        if let sourceOf, Programs.source(of: sourceOf) == nil {
            throw ValidationError("workload '\(sourceOf.rawValue)' has no interpreter program; these do: \(WorkloadKind.allCases.filter { Programs.source(of: $0) != nil }.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        if let sourceOf, let source = Programs.source(of: sourceOf) {
            print(source)
            return
        }
        print("workloads (--workload):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "default size", "description"],
            rows: WorkloadKind.allCases.map { [$0.rawValue, "\($0.defaultSize)", $0.summary] })))
        print("modes (--modes):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "description"], rows: Mode.allCases.map { [$0.rawValue, $0.summary] })))
        print("policies (--policy):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "description"], rows: LockPolicy.allCases.map { [$0.rawValue, $0.summary] })))
        print("transfers (--transfer, for processes and hybrid rows):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "description"], rows: Transfer.allCases.map { [$0.rawValue, $0.summary] })))
        print("hybrid compute (--compute): " + HybridCompute.allCases.map(\.rawValue).joined(separator: ", "))
        print("service strategies (gillab scenario service --strategies):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "description"], rows: ServiceStrategy.allCases.map { [$0.rawValue, $0.summary] })))
        print("scenarios (gillab scenario NAME, gillab report --scenario NAME):")
        print(indent(ReportRenderer.alignedTable(
            header: ["name", "description"], rows: Scenarios.all.map { [$0.name, $0.summary] })))
        print("profiling: gillab advise --workload NAME")
        print("formats (--format): " + ReportFormat.allCases.map(\.rawValue).joined(separator: ", "))
        if verbose { try printPrograms() }
    }

    private func printPrograms() throws {
        print("""

            Programs and their bytecode. First column: `*` marks a poll of the eval breaker, where CPython 3.11's \
            ceval.c polls (RESUME on a frame's entry, after JUMP_BACKWARD, after a CALL whose callee is native \
            returns). Second column: the ticks CPython 2.7 counts for the instruction, what legacy-gil counts \
            (blank: none, as for an opcode that ends with `goto fast_next_opcode` in 2.7's ceval.c or is entered by a PREDICT; ? depends on the value).
            """)
        for workload in WorkloadKind.allCases {
            guard let source = Programs.source(of: workload), let listing = try Programs.disassembly(of: workload) else { continue }
            print("\n== \(workload.rawValue): source\n")
            print(source)
            print("\n== \(workload.rawValue): bytecode\n")
            print(listing)
        }
    }

    private func indent(_ text: String) -> String {
        text.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }
}

/// `gillab info`: the machine and the lock defaults.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the machine, OpenBLAS and lock defaults.")

    @OptionGroup var output: OutputOptions

    struct Defaults: Codable {
        var policy: String
        var switchIntervalSeconds: Double
        var blasThreadsDuringRuns: Int
        var referenceCounting = Interpreter.referenceCounting
        var lockClock = LockClock.source

        enum CodingKeys: String, CodingKey {
            case policy, switchIntervalSeconds = "switch_interval_s", blasThreadsDuringRuns = "blas_threads_during_runs"
            case referenceCounting = "reference_counts", lockClock = "lock_clock"
        }
    }

    struct Output: Codable {
        var machine: MachineInfo
        var lockDefaults: Defaults

        enum CodingKeys: String, CodingKey { case machine, lockDefaults = "lock_defaults" }
    }

    func run() {
        let machine = MachineInfo.current()
        let defaults = Defaults(policy: LockConfiguration.default.policy.rawValue,
                                switchIntervalSeconds: seconds(LockConfiguration.defaultSwitchInterval),
                                blasThreadsDuringRuns: RunPlan(workload: .gemm).blasThreads)
        if output.format == .json {
            print(ReportRenderer.json(Output(machine: machine, lockDefaults: defaults)), terminator: "")
            return
        }
        let rows: [[String]] = [
            ["cores", "\(machine.cores)"],
            ["cpu", machine.cpuModel],
            ["memory", "\(machine.memoryBytes / (1 << 20)) MiB"],
            ["openblas_config", machine.openblasConfig],
            ["openblas_corename", machine.openblasCorename],
            ["OPENBLAS_CORETYPE", machine.openblasCoretype],
            ["openblas_threads", "\(machine.openblasThreads) at start-up; runs use --blas-threads (default \(defaults.blasThreadsDuringRuns))"],
            ["swift_version", machine.swiftVersion],
            ["lock policy", "\(defaults.policy) (default)"],
            ["switch interval", "\(defaults.switchIntervalSeconds * 1e3) ms (default, as CPython's sys.getswitchinterval())"],
            ["lock clock", defaults.lockClock],
            ["reference counts", "\(defaults.referenceCounting) (the eval loop's, under an exclusive lock)"],
        ]
        let width = rows.map { $0[0].count }.max() ?? 0
        for row in rows {
            print(row[0] + String(repeating: " ", count: width - row[0].count) + "  " + row[1])
        }
    }
}

private func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
