import Foundation
import Testing
import GILLabLock
@testable import GILLabInterpreter

@Suite("allowThreads and interpreter objects")
struct AllowThreadsTests {
    @Test("allowThreads runs a @Sendable closure released: copied values in, a value out")
    func allowThreads() throws {
        let thread = InterpreterLock().makeThreadState(name: "ungil")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        let list = interpreter.list([interpreter.float(1.5), interpreter.float(2.5)])
        // Copy out of the interpreter object under the lock; only the copy crosses.
        let numbers = try (0..<2).map { index in
            unsafeDowncast(try Interpreter.getItem(list, interpreter.int(index)), to: PyFloat.self).value
        }
        let sum = thread.allowThreads { numbers.reduce(0, +) }
        #expect(sum == 4)
        #expect(thread.holdsLock && thread.statistics.acquisitions == 2)
        thread.detach()
    }
}

/// The compile-time rule, checked by compiling: `allowThreads` must refuse a closure that
/// captures an interpreter object, and accept one that captures plain values.
@Suite("The @Sendable rule of allowThreads")
struct SendableRuleTests {
    /// Type-checks `source` against the GILLabInterpreter and GILLabLock modules this test binary
    /// was built with.
    /// - Returns: the compiler's exit status and its diagnostics.
    static func typecheck(_ source: String) throws -> (status: Int32, output: String) {
        // The test binary lives in <scratch>/<triple>/debug; so do the modules it was built from.
        let products = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        let modules = products.appendingPathComponent("Modules")
        try #require(FileManager.default.fileExists(atPath: modules.appendingPathComponent("GILLabInterpreter.swiftmodule").path),
                     "no GILLabInterpreter.swiftmodule in \(modules.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-sendable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("snippet.swift")
        try source.write(to: file, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // GILLabInterpreter imports one C module, CShims, whose module map SwiftPM writes beside
        // its objects.
        let shims = products.appendingPathComponent("CShims.build/module.modulemap")
        process.arguments = ["swiftc", "-typecheck", "-swift-version", "6", "-I", modules.path,
                             "-Xcc", "-fmodule-map-file=\(shims.path)", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    static func snippet(capturing capture: String) -> String {
        """
        import GILLabInterpreter
        import GILLabLock
        func kernel(_ thread: ThreadState, _ interpreter: Interpreter) -> Int {
            let object = interpreter.int(7)
            let number = 7
            return thread.allowThreads { \(capture) * 2 }
        }
        """
    }

    @Test("capturing a plain value compiles (the harness works)")
    func plainValueCompiles() throws {
        let result = try Self.typecheck(Self.snippet(capturing: "number"))
        #expect(result.status == 0, "\(result.output)")
    }

    @Test("capturing an interpreter object does not compile")
    func interpreterObjectRefused() throws {
        let result = try Self.typecheck(Self.snippet(capturing: "(object === object ? 1 : 0)"))
        #expect(result.status != 0)
        #expect(result.output.contains("non-Sendable type 'PyObject'"), "\(result.output)")
        #expect(result.output.contains("@Sendable"), "\(result.output)")
    }
}
