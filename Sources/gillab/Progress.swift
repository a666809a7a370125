#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A progress line on stderr for long runs: "gillab run: 12/36 trials, 4.1 s". It appears only
/// after 2 s, only when stderr is a terminal, and never with `--quiet` or JSON output, so that
/// short runs, pipes and logs stay clean. It redraws at most ten times a second and erases
/// itself when the work is done.
final class ProgressLine {
    private let label: String
    /// Whether the line is ever drawn.
    let enabled: Bool
    private let start = Date()
    private var lastDrawn: Date?

    /// - Parameters:
    ///   - label: what is running, such as `gillab run`.
    ///   - output: the command's output options; `--quiet` and JSON turn the line off.
    convenience init(_ label: String, output: OutputOptions) {
        self.init(label, quiet: output.quiet || output.format == .json)
    }

    /// - Parameters:
    ///   - label: what is running.
    ///   - quiet: never show the line.
    init(_ label: String, quiet: Bool) {
        self.label = label
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    /// Called with (steps done, steps in all); matches the library's `progress` callbacks.
    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed >= 2, lastDrawn.map({ now.timeIntervalSince($0) >= 0.1 }) ?? true else { return }
        lastDrawn = now
        let line = "\(label): \(done)/\(total) trials, \(String(format: "%.1f", elapsed)) s"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Erases the line, if it was ever drawn.
    func finish() {
        guard lastDrawn != nil else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        lastDrawn = nil
    }

    /// Runs `body` with this line as its progress callback, and erases the line after, also
    /// when `body` throws.
    func around<T>(_ body: ((Int, Int) -> Void) throws -> T) rethrows -> T {
        defer { finish() }
        return try body(update)
    }
}
