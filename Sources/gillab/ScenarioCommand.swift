import ArgumentParser
import Foundation
import GILLab

/// `gillab scenario`: set pieces that measure one claim each, one subcommand per entry of the
/// library's `Scenarios.all` (a test checks that the two lists agree).
struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run a scenario that measures one effect of the lock.",
        subcommands: [Convoy.self, SwitchInterval.self, Sampling.self, Service.self, Oversubscription.self, Crossover.self])

    /// Runs `plan` as every scenario subcommand does: a progress line; Ctrl-C (or SIGTERM) stops after the
    /// step in progress, prints what the whole rounds so far measured and exits 130; the report in
    /// the chosen format; the verdicts under a table.
    static func run<S: Scenario>(_ scenario: S.Type, _ plan: S.Plan, output: OutputOptions) throws -> S.Report
    where S.Report: PrintableScenarioReport {
        Interrupt.install()
        let report = try ProgressLine("gillab scenario \(S.name)", output: output).around {
            try S.run(plan, stop: Interrupt.request, progress: $0)
        }
        print(report.rendered(as: output.format, wide: output.wide), terminator: "")
        if output.format == .table && !report.verdicts.isEmpty {
            print("")
            for line in report.verdicts { print("verdict: " + line) }
        }
        if report.interrupted == true {
            printDiagnostic("gillab: interrupted: reported the rounds completed before the signal")
            Foundation.exit(Interrupt.exitStatus)
        }
        return report
    }
}

/// `gillab scenario convoy`: bpo-7946, measured under each policy.
struct Convoy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: ConvoyScenario.name,
        abstract: ConvoyScenario.summary + ".",
        discussion: """
            One I/O thread (or --io-threads of them) repeats "block, then a little Python-level work". It \
            runs alone, then beside CPU-bound threads (a countdown loop), under each policy. Reported: how \
            much longer than the block each blocking call took until the lock was held again (HdrHistogram \
            p50, p99, max), and the CPU threads' throughput (against new-gil's, and against their own alone \
            just before) and longest wait, so that a fix which only moves the cost shows up. Examples:
              gillab scenario convoy --cpu-threads 0,1 --policies new-gil,io-priority --format json
              gillab scenario convoy --io-threads 4 --block 100us --cpu-threads 1 --samples 4000
            """)

    @Option(help: ArgumentHelp("Comma-separated policies: \(LockPolicy.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "policies"),
            transform: CommaList<LockPolicy>.parse)
    var policies = CommaList<LockPolicy>(ConvoyPlan().policies)

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated counts of CPU-bound threads; 0 is the I/O thread alone.",
                                                        valueName: "counts"),
            transform: CommaList<Int>.parse)
    var cpuThreads = CommaList<Int>(ConvoyPlan().cpuThreads)

    @Option(parsing: .unconditional, help: "I/O threads, each doing --samples blocks.")
    var ioThreads = ConvoyPlan().ioThreads

    @Option(parsing: .unconditional, help: "Measured blocks per I/O thread, configuration and round.")
    var samples = ConvoyPlan().samples

    @Option(parsing: .unconditional, help: "Rounds over all configurations, in alternating order.")
    var rounds = ConvoyPlan().rounds

    @Option(help: ArgumentHelp("How long each blocking call blocks.", valueName: "duration"))
    var block = DurationArgument(ConvoyPlan().block)

    @Option(help: ArgumentHelp("Stop a configuration's round early after this long.", valueName: "duration"))
    var timeLimit = DurationArgument(ConvoyPlan().timeLimit)

    @Flag(help: "Keep the kernel's timer slack (50 µs on Linux) for the I/O thread's block, as CPython's time.sleep does; by default it is 1 µs.")
    var defaultTimerSlack = false

    @OptionGroup var tuning: LockTuningOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let plan = try plan()
        try UsageError.checking(given: ["block": block, "timeLimit": timeLimit]) { try plan.validate() }
    }

    func plan() throws -> ConvoyPlan {
        ConvoyPlan(policies: policies.values, cpuThreads: cpuThreads.values, ioThreads: ioThreads, samples: samples, rounds: rounds,
                   block: block.duration, lock: try tuning.configuration(policy: .newGIL), timeLimit: timeLimit.duration,
                   timerSlack: defaultTimerSlack ? nil : .microseconds(1))
    }

    func run() throws {
        let report = try ScenarioCommand.run(ConvoyScenario.self, try plan(), output: output)
        if let truncated = report.results.first(where: \.truncated) {
            printDiagnostic("warning: \(truncated.policy.rawValue) with \(truncated.cpuThreads) CPU threads hit the time limit; its figures cover fewer samples")
        }
    }
}

/// `gillab scenario switch-interval`: the convoy at each switch interval, per policy.
struct SwitchInterval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: SwitchIntervalScenario.name,
        abstract: SwitchIntervalScenario.summary + ".",
        discussion: """
            sys.setswitchinterval, swept: at each interval, one I/O thread (block 1 ms, then a little \
            Python-level work, as in the convoy scenario) beside 1 and 2 CPU-bound threads, under new-gil \
            and io-priority. Each point reports the I/O thread's latency (HdrHistogram p50, p99, max), the \
            CPU threads' throughput against theirs alone just before, switches and drop requests per \
            second, and the lock's own overhead: the share of the run it sat free while a thread waited \
            (the handoffs). The verdict names, per policy, the largest interval whose p99 stays within \
            --latency-target and what it costs the CPU threads. `gillab report --scenario switch-interval` \
            adds a trade-off chart; `gillab compare-cpython --sweep switch-interval` runs the same sweep in \
            CPython beside GILLab's. Examples:
              gillab scenario switch-interval
              gillab scenario switch-interval --intervals 0.1ms,1ms,5ms --cpu-threads 2 --format json
            """)

    @Option(help: ArgumentHelp("Comma-separated switch intervals to sweep.", valueName: "durations"))
    var intervals = CommaList<DurationArgument>(SwitchIntervalPlan().intervals.map { DurationArgument($0) })

    @Option(help: ArgumentHelp("Comma-separated policies with a switch interval: \(SwitchIntervalPlan.tunablePolicies.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "policies"),
            transform: CommaList<LockPolicy>.parse)
    var policies = CommaList<LockPolicy>(SwitchIntervalPlan().policies)

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated counts of CPU-bound threads beside the I/O thread.",
                                                        valueName: "counts"),
            transform: CommaList<Int>.parse)
    var cpuThreads = CommaList<Int>(SwitchIntervalPlan().cpuThreads)

    @Option(parsing: .unconditional, help: "Measured blocks per point and round.")
    var samples = SwitchIntervalPlan().samples

    @Option(parsing: .unconditional, help: "Rounds over all points, in alternating order.")
    var rounds = SwitchIntervalPlan().rounds

    @Option(help: ArgumentHelp("How long each blocking call blocks.", valueName: "duration"))
    var block = DurationArgument(SwitchIntervalPlan().block)

    @Option(help: ArgumentHelp("The I/O p99 the verdict asks each policy to keep under.", valueName: "duration"))
    var latencyTarget = DurationArgument(SwitchIntervalPlan().latencyTarget)

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Interpreters, each with its own lock, for per-interpreter; thread i joins interpreter i mod K.",
                               valueName: "count"))
    var interpreters = LockConfiguration.defaultInterpreters

    @Flag(help: "Keep the kernel's timer slack (50 µs on Linux) for the I/O thread's block, as CPython's time.sleep does; by default it is 1 µs.")
    var defaultTimerSlack = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        let plan = try plan()
        try UsageError.checking(given: ["block": block, "latencyTarget": latencyTarget]) { try plan.validate() }
    }

    func plan() throws -> SwitchIntervalPlan {
        let lock: LockConfiguration
        do { lock = try LockConfiguration(policy: .newGIL, interpreters: interpreters) } catch { throw UsageError.from(error) }
        return SwitchIntervalPlan(intervals: intervals.values.map(\.duration), policies: policies.values, cpuThreads: cpuThreads.values,
                                  samples: samples, rounds: rounds, block: block.duration, latencyTarget: latencyTarget.duration,
                                  lock: lock, timerSlack: defaultTimerSlack ? nil : .microseconds(1))
    }

    func run() throws {
        let report = try ScenarioCommand.run(SwitchIntervalScenario.self, try plan(), output: output)
        for row in report.results where row.truncated {
            printDiagnostic("warning: \(row.policy.rawValue) with \(row.cpuThreads) CPU thread\(row.cpuThreads == 1 ? "" : "s") at \(row.switchIntervalMilliseconds) ms hit the time limit; its figures cover fewer samples")
        }
    }
}

/// `gillab scenario sampling`: gil_load, py-spy and gilknocker against the exact figures.
struct Sampling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: SamplingScenario.name,
        abstract: SamplingScenario.summary + ".",
        discussion: """
            Three samplers run as real threads beside a workload, one per run: gil_load (at random \
            times, whether the lock is held and whether anyone waits; it runs at three mean intervals at \
            once), py-spy --gil (at a fixed rate, which thread holds the lock and where in its code) and \
            gilknocker (a thread that takes the lock every interval and times its take). Each estimate \
            is set beside the exact figure of the same run, from the lock's events; then gil_load's error \
            by rate and run length, and each sampler's cost to the workload against a run with no sampler. \
            Examples:
              gillab scenario sampling
              gillab scenario sampling --workload countdown --threads 2 --mode hold --duration 2s --repeat 5
              gillab scenario sampling --program unit.py --size 20000
            """)

    @Option(help: "Workload the samplers watch.")
    var workload: WorkloadKind = SamplingPlan().workload

    @Option(help: ArgumentHelp("Instead of --workload, a Python file that defines unit(size), as for gillab run.", valueName: "file"))
    var program: String?

    @Option(parsing: .unconditional, help: "Problem size per unit; default: 64 for gemm, else the workload's default.")
    var size: Int?

    @Option(parsing: .unconditional, help: "Threads running the workload.")
    var threads = SamplingPlan().threads

    @Option(help: "hold or release: how the workload's kernels treat the lock.")
    var mode: Mode = SamplingPlan().mode

    @Option(help: ArgumentHelp("How long each run lasts.", valueName: "duration"))
    var duration = DurationArgument(SamplingPlan().duration)

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Runs per sampler, and without one, in alternating order.")
    var repeats = SamplingPlan().repeats

    @Option(help: ArgumentHelp("gil_load's mean interval between samples (exponential).", valueName: "duration"))
    var sampleInterval = DurationArgument(SamplingPlan().sampleInterval)

    @Option(help: ArgumentHelp("py-spy's period (10ms: its 100 Hz).", valueName: "duration"))
    var pySpyPeriod = DurationArgument(SamplingPlan().pySpyPeriod)

    @Option(help: ArgumentHelp("gilknocker's interval between knocks.", valueName: "duration"))
    var knockInterval = DurationArgument(SamplingPlan().knockInterval)

    @Option(parsing: .unconditional, help: "Seed of gil_load's random intervals; default: a new one each time.")
    var seed: UInt64?

    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let plan = try plan(readingProgram: false)
        try UsageError.checking(given: ["duration": duration, "sampleInterval": sampleInterval, "pySpyPeriod": pySpyPeriod,
                                        "knockInterval": knockInterval]) { try plan.validate() }
    }

    func plan(readingProgram: Bool = true) throws -> SamplingPlan {
        // Validation only needs to know there is a program; run() reads it.
        SamplingPlan(workload: workload,
                     program: try program.map { readingProgram ? try RunOptions.readProgram($0, option: "--program") : UserProgram(source: "", filename: $0) },
                     size: size ?? (program != nil ? UserProgram.defaultSize : workload == .gemm ? 64 : workload.defaultSize),
                     threads: threads, mode: mode, duration: duration.duration, repeats: repeats, sampleInterval: sampleInterval.duration,
                     pySpyPeriod: pySpyPeriod.duration, knockInterval: knockInterval.duration, lock: try lock.configuration(), seed: seed)
    }

    func run() throws {
        _ = try ScenarioCommand.run(SamplingScenario.self, try plan(), output: output)
    }
}

/// `gillab scenario oversubscription`: app threads × OpenBLAS threads on gemm.
struct Oversubscription: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: OversubscriptionScenario.name,
        abstract: OversubscriptionScenario.summary + ".",
        discussion: """
            Each app thread calls dgemm with the lock released; OpenBLAS runs each call on its own \
            threads. When app × BLAS threads exceed the cores the threads only take turns. The fix, \
            threadpoolctl's job done in-process: BLAS threads = max(1, cores ÷ app threads). The total \
            work is the same in every cell, and OpenBLAS's thread count is restored after each. Example:
              gillab scenario oversubscription --app-threads 1,2,4 --blas-threads 1,2,4 --format json
            """)

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated app thread counts.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var appThreads = CommaList<Int>(OversubscriptionPlan().appThreads)

    @Option(parsing: .unconditional, help: ArgumentHelp("Comma-separated OpenBLAS thread counts.", valueName: "counts"),
            transform: CommaList<Int>.parse)
    var blasThreads = CommaList<Int>(OversubscriptionPlan().blasThreads)

    @Option(parsing: .unconditional, help: "Matrix order of each dgemm.")
    var size = OversubscriptionPlan().size

    @Option(parsing: .unconditional, help: "Total dgemm calls per cell; default: about 0.5 s on one thread.")
    var units: Int?

    @Option(parsing: .unconditional, help: "Rounds over the grid, in alternating order.")
    var rounds = OversubscriptionPlan().rounds

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try UsageError.checking { try plan().validate() }
    }

    func plan() -> OversubscriptionPlan {
        OversubscriptionPlan(appThreads: appThreads.values, blasThreads: blasThreads.values, size: size, units: units,
                             rounds: rounds)
    }

    func run() throws {
        _ = try ScenarioCommand.run(OversubscriptionScenario.self, plan(), output: output)
    }
}

/// `gillab scenario service`: a request-processing service under five strategies.
struct Service: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: ServiceScenario.name,
        abstract: ServiceScenario.summary + ".",
        discussion: """
            Each request fetches a record from a loopback backend (blocking I/O), parses it \
            (Python-level), multiplies with dgemm (a BLAS kernel) and serializes the answer \
            (Python-level). A closed loop of clients issues a fixed number of requests; every answer is \
            checked against the serial reference. Strategies: \(ServiceStrategy.allCases.map(\.rawValue).joined(separator: ", ")). Example:
              gillab scenario service --requests 400 --concurrency 8 --format json
            """)

    @Option(help: ArgumentHelp("Comma-separated strategies.", valueName: "strategies"),
            transform: CommaList<ServiceStrategy>.parse)
    var strategies = CommaList<ServiceStrategy>(ServicePlan().strategies)

    @Option(parsing: .unconditional, help: "Requests per strategy and round.")
    var requests = ServicePlan().requests

    @Option(parsing: .unconditional, help: "Clients in the closed loop (requests in flight).")
    var concurrency = ServicePlan().concurrency

    @Option(help: ArgumentHelp("The backend's answer delay: the fetch.", valueName: "duration"))
    var fetchDelay = DurationArgument(ServicePlan().fetchDelay)

    @Option(parsing: .unconditional, help: "Matrix order of the transform's dgemm.")
    var size = ServicePlan().size

    @Option(parsing: .unconditional, help: "Lines per fetched record (the parse step's work).")
    var lines = ServicePlan().lines

    @Option(parsing: .unconditional, help: "Rounds over the strategies, in alternating order.")
    var rounds = ServicePlan().rounds

    @Option(help: "Where hybrid computes: \(HybridCompute.allCases.map(\.rawValue).joined(separator: " or ")).")
    var compute: HybridCompute = ServicePlan().compute

    @Option(parsing: .unconditional, help: "Workers in hybrid's compute pool; default: the core count.")
    var computeWorkers = MachineInfo.onlineCores

    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let plan = try plan()
        try UsageError.checking(given: ["fetchDelay": fetchDelay]) { try plan.validate() }
    }

    func plan() throws -> ServicePlan {
        ServicePlan(strategies: strategies.values, requests: requests, concurrency: concurrency,
                    fetchDelay: fetchDelay.duration, size: size, lines: lines, rounds: rounds, compute: compute,
                    computeWorkers: computeWorkers, lock: try lock.configuration())
    }

    func run() throws {
        _ = try ScenarioCommand.run(ServiceScenario.self, try plan(), output: output)
    }
}

/// `gillab scenario crossover`: the smallest size from which releasing beats holding.
struct Crossover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: CrossoverScenario.name,
        abstract: CrossoverScenario.summary + ".",
        discussion: """
            For dgemm (driven by the interpreter) and fnv1a, at each size: hold and release at 2 threads \
            under new-gil, then under new-gil with a fast handoff (--spin). Each release hands the lock \
            to a waiter; a sleeping waiter costs a wake-up, which tiny kernels cannot repay. The dgemm \
            crossovers are saved for `gillab run --release-threshold auto`. Example:
              gillab scenario crossover --kernels dgemm --format json
            """)

    @Option(help: ArgumentHelp("Comma-separated kernels: \(CrossoverKernel.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kernels"),
            transform: CommaList<CrossoverKernel>.parse)
    var kernels = CommaList<CrossoverKernel>(CrossoverPlan().kernels)

    @Option(help: ArgumentHelp("The fast handoff's spin before a waiter sleeps.", valueName: "duration"))
    var spin = DurationArgument(CrossoverPlan().spin)

    @Option(parsing: .unconditional, help: "Threads of the hold and release rows.")
    var threads = CrossoverPlan().threads

    @Option(name: .customLong("repeat"), parsing: .unconditional, help: "Counted runs per row, after one warm-up.")
    var repeats = CrossoverPlan().repeats

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try UsageError.checking(given: ["spin": spin]) { try plan().validate() }
    }

    func plan() -> CrossoverPlan {
        CrossoverPlan(kernels: kernels.values, threads: threads, spin: spin.duration, repeats: repeats)
    }

    func run() throws {
        let report = try ScenarioCommand.run(CrossoverScenario.self, plan(), output: output)
        do { try CrossoverScenario.save(report, to: CrossoverCache.url) } catch {
            printDiagnostic("warning: could not save the crossovers to \(CrossoverCache.url.path): \(error)")
        }
    }
}

/// Where `gillab scenario crossover` keeps its dgemm crossovers for `--release-threshold auto`:
/// `$XDG_CACHE_HOME/gillab/crossover.json`, or `~/.cache/gillab/crossover.json` (the XDG base
/// directory default). The CLI decides; the library writes only where it is told.
enum CrossoverCache {
    static var url: URL {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : nil }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".cache")
        return base.appendingPathComponent("gillab").appendingPathComponent("crossover.json")
    }
}
