import ArgumentParser
import Foundation
import GILLab

/// The root command. With no subcommand it runs the showcase.
struct Gillab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gillab",
        abstract: "Measure what a Python-style global interpreter lock costs, and what releasing it buys.",
        discussion: """
            Threads hold a CPython-style interpreter lock around "Python-level" work and call C and \
            OpenBLAS kernels either holding it or releasing it. Every figure is measured: fixed total \
            work split across threads, one warm-up, interleaved repeats, medians, matching checksums.
            """,
        subcommands: [Showcase.self, Run.self, Exec.self, ScenarioCommand.self, Report.self, CompareCPython.self, Project.self, Advise.self, List.self, Info.self],
        defaultSubcommand: Showcase.self)
}

@main
enum GillabMain {
    /// Parses and runs, turning every error into one line on stderr. Usage errors exit 64
    /// (EX_USAGE), as ArgumentParser decides; runtime failures exit 1.
    static func main() {
        WorkerProcess.runIfWorker()  // `gillab --gillab-worker`: serve the job on stdin and exit
        if let unknown = unknownCommand(CommandLine.arguments.dropFirst()) {
            printDiagnostic(unknown)
            Foundation.exit(64)  // EX_USAGE
        }
        do {
            var command = try Gillab.parseAsRoot()
            try command.run()
        } catch let error as UnavailableError {
            printDiagnostic("gillab: error: \(error)")
            Foundation.exit(69)  // EX_UNAVAILABLE
        } catch {
            let code = Gillab.exitCode(for: error)
            if code == .success {
                print(Gillab.fullMessage(for: error))
                Foundation.exit(0)
            }
            printDiagnostic(oneLineError(error))
            Foundation.exit(code.rawValue)
        }
    }

    /// The error for a first argument that names no command. With a default subcommand,
    /// ArgumentParser would take `gillab foo` for the showcase with a stray argument and say
    /// only "Unexpected argument 'foo'".
    static func unknownCommand(_ arguments: ArraySlice<String>) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let names = Gillab.configuration.subcommands.map { $0._commandName }
        guard !names.contains(first), first != "help" else { return nil }
        return "gillab: error: unknown command '\(first)'; the commands are \(names.joined(separator: ", ")) "
            + "(gillab help COMMAND for one)"
    }

    /// `gillab: error: …` with only the first line of the message: help text is a `--help` away.
    static func oneLineError(_ error: any Error) -> String {
        let message = Gillab.message(for: error)
        let lines = message.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var first = lines.first ?? "\(error)"
        // ArgumentParser lists six or more valid values as bullets on the following lines; fold
        // them into the one line, so that the error still names every valid value.
        let bulleted = "one of the following:"
        if first.hasSuffix(bulleted) {
            let values = lines.dropFirst().map { $0.trimmingCharacters(in: " ") }.filter { $0.hasPrefix("- ") }
                .map { "'\($0.dropFirst(2))'" }
            first = String(first.dropLast(bulleted.count)) + "one of " + values.joined(separator: ", ") + "."
        }
        return "gillab: error: " + first.trimmingCharacters(in: " ")
    }
}

/// Writes one line to stderr, where diagnostics go, so that stdout stays parseable.
/// stdout is flushed first: redirected to a file it is block-buffered, and a warning must not
/// land in the middle of a table line written before it.
func printDiagnostic(_ line: String) {
    fflush(nil)  // every output stream, stdout among them (stdout itself is a global Swift 6 will not read)
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
