/// A plan's setting that is out of range: which setting, and a one-line message naming the bad
/// value. Every plan's `validate()` throws these (wrapped in ``RunnerError/invalidSetting(_:)``),
/// so that the rule (the limit, the valid values) lives once, in the plan, and the CLI only swaps
/// the plan's name for the setting with its option's name.
public struct InvalidSetting: Error, Equatable, CustomStringConvertible {
    /// The plan's property that holds the bad value, such as `"blasThreads"`. The CLI's option is
    /// named after it (`--blas-threads`).
    public var setting: String
    /// How the message names the setting, such as "BLAS threads"; empty when `problem` says it all.
    public var subject: String
    /// What is wrong, naming the bad value: "must be at least 1, got 0".
    public var problem: String

    /// Creates the error for `setting`.
    /// - Parameters:
    ///   - setting: the plan's property name.
    ///   - subject: the setting in words; by default the property name's words ("cpuThreads" →
    ///     "cpu threads").
    ///   - problem: the rule that was broken and the bad value.
    public init(_ setting: String, _ problem: String, subject: String? = nil) {
        self.setting = setting
        self.problem = problem
        self.subject = subject ?? setting.reduce(into: "") { words, character in
            if character.isUppercase { words += " " + character.lowercased() } else { words.append(character) }
        }
    }

    /// The message: subject and problem.
    public var description: String { subject.isEmpty ? problem : "\(subject) \(problem)" }
}
