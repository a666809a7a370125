import ArgumentParser
import GILLab

/// The library's typed errors as one-line usage errors (exit 64) that name the option. The rules
/// (limits, valid values) live once, in the library's plans; the CLI only swaps the plan's name
/// for a setting with the option that sets it. Options are named after the plan's properties,
/// as ArgumentParser names them (`blasThreads` → `--blas-threads`), except those listed here.
enum UsageError {
    /// Settings whose option is not named after the property.
    static let optionNames = ["repeats": "--repeat", "parts": "--only"]

    /// The option that sets the plan's property `setting`.
    static func option(for setting: String) -> String {
        optionNames[setting] ?? "--" + setting.reduce(into: "") { name, character in
            name += character.isUppercase ? "-" + character.lowercased() : String(character)
        }
    }

    /// `error` as a usage error naming the option, when it is a bad setting; unchanged otherwise.
    /// - Parameter given: what was typed for options whose value the library prints in another
    ///   form (durations: the library says "0.0 seconds" where the user typed `0ms`), by setting.
    static func from(_ error: any Error, given: [String: any CustomStringConvertible] = [:]) -> any Error {
        let setting: String, subject: String, problem: String
        switch error {
        case RunnerError.invalidSetting(let bad):
            (setting, subject, problem) = (bad.setting, bad.subject, bad.problem)
        case let bad as LockConfigurationError:
            (setting, subject, problem) = (bad.setting, bad.subject, bad.problem)
        default:
            return error
        }
        var line = option(for: setting) + (subject.isEmpty ? ": " : " ") + problem
        if let text = given[setting] { line += " ('\(text)')" }
        return ValidationError(line)
    }

    /// Runs `body`, a plan's validation, turning what it throws into usage errors: a bad setting
    /// names its option, and any other refusal of the plan (too large for memory) is its message.
    static func checking(given: [String: any CustomStringConvertible] = [:], _ body: () throws -> Void) throws {
        do { try body() } catch {
            let mapped = from(error, given: given)
            if let refused = mapped as? RunnerError { throw ValidationError(refused.description) }
            throw mapped
        }
    }
}
