import ArgumentParser
import GILLab

/// Options of the interpreter lock other than its policy, shared by every command that runs work.
struct LockTuningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How long a waiter waits before it asks the holder to drop (sys.setswitchinterval); new-gil.",
                               valueName: "duration"))
    var switchInterval = DurationArgument(LockConfiguration.defaultSwitchInterval)

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Checkpoints between the holder's periodic releases (sys.setcheckinterval); legacy-gil.",
                               valueName: "ticks"))
    var checkInterval = LockConfiguration.defaultCheckInterval

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Interpreters, each with its own lock; thread i of a group joins interpreter i mod K. per-interpreter.",
                               valueName: "count"))
    var interpreters = LockConfiguration.defaultInterpreters

    @Option(help: ArgumentHelp("Fast handoff: how long a waiter spins before it sleeps (0 = CPython's sleep at once); new-gil.",
                               valueName: "duration"))
    var spin = DurationArgument(LockConfiguration.default.spin)

    func validate() throws {
        _ = try configuration(policy: .newGIL)
    }

    /// The configuration; a bad value is a usage error naming its option.
    func configuration(policy: LockPolicy) throws -> LockConfiguration {
        do {
            return try LockConfiguration(policy: policy, switchInterval: switchInterval.duration, checkInterval: checkInterval,
                                         interpreters: interpreters, spin: spin.duration)
        } catch {
            throw UsageError.from(error, given: ["switchInterval": switchInterval, "spin": spin])
        }
    }
}

/// Options of the interpreter lock, shared by every command that runs work under one policy.
struct LockOptions: ParsableArguments {
    @Option(help: "Lock policy.")
    var policy: LockPolicy = LockConfiguration.default.policy

    @OptionGroup var tuning: LockTuningOptions

    func configuration() throws -> LockConfiguration {
        try tuning.configuration(policy: policy)
    }
}

/// Output options shared by every command that prints results.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format.")
    var format: ReportFormat = .table

    @Flag(help: "Tables: every column. By default a table shows the columns that fit 100 characters; JSON, CSV and Markdown always carry every field.")
    var wide = false

    @Flag(help: "No progress line on stderr (it shows only on a terminal, after 2 s, and never with --format json).")
    var quiet = false
}
