import ArgumentParser
import Foundation

/// A file the command will write when it is done, opened (and so checked) before any work
/// starts: a path in a missing folder or without write permission is a usage error at once.
struct OutputFile {
    let path: String
    private let handle: FileHandle

    /// Creates or truncates `path`.
    /// - Throws: `ValidationError` naming the option and the path.
    init(path: String, option: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("\(option): cannot write '\(path)': \(reason)")
        }
        self.handle = handle
    }

    /// Writes `text` and closes the file.
    func write(_ text: String) throws {
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }
}
