// One protocol for every scenario, so that `gillab scenario NAME`, `gillab report --scenario
// NAME` and `gillab list` are driven from one list (``Scenarios/all``), and each stops the same
// way on Ctrl-C.

/// A set piece that measures one claim: a plan with defaults, checked before anything runs; a
/// run that reports progress and can be stopped; a report that carries the machine it ran on.
public protocol Scenario: Sendable {
    /// What to run; `Plan()` is the default the CLI starts from and `report --scenario` uses.
    associatedtype Plan: ScenarioPlan
    /// What the run measured.
    associatedtype Report: ScenarioReport

    /// The name on the command line (`gillab scenario NAME`).
    static var name: String { get }
    /// One line for `gillab list` and `--help`: what the scenario measures.
    static var summary: String { get }

    /// Runs `plan` (validating it first).
    /// - Parameters:
    ///   - plan: the settings.
    ///   - stop: when requested, the run ends after the step in progress and reports the rounds
    ///     it completed (``ScenarioReport/interrupted``), as `gillab run` does on Ctrl-C.
    ///   - progress: hears (steps done, steps in all).
    /// - Throws: ``RunnerError``.
    static func run(_ plan: Plan, stop: StopRequest?, progress: (Int, Int) -> Void) throws(RunnerError) -> Report
}

/// A scenario's settings.
public protocol ScenarioPlan: Sendable {
    /// The defaults.
    init()
    /// Checks every setting.
    /// - Throws: ``RunnerError/invalidSetting(_:)`` naming the setting and the bad value.
    func validate() throws(RunnerError)
}

/// A scenario's results.
public protocol ScenarioReport: Sendable, Encodable {
    /// The machine the scenario ran on.
    var machine: MachineInfo { get }
    /// Set when a stop request ended the run early: the figures cover the rounds completed.
    var interrupted: Bool? { get }
}

/// Every scenario, in the order `gillab list` shows them.
public enum Scenarios {
    /// The scenarios.
    public static let all: [any Scenario.Type] = [
        ConvoyScenario.self, SwitchIntervalScenario.self, SamplingScenario.self, ServiceScenario.self, OversubscriptionScenario.self,
        CrossoverScenario.self,
    ]

    /// The scenario called `name`, if there is one.
    public static func named(_ name: String) -> (any Scenario.Type)? {
        all.first { $0.name == name }
    }
}
