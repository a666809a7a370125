#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Foundation
import Testing
@testable import GILLab

@Suite("Release APIs: the token, the C macros, misuse caught")
struct ReleaseAPITests {
    @Test("releaseLock() gives the lock up until reacquire(): another thread takes it meanwhile")
    func tokenReleases() {
        let lock = InterpreterLock()
        let thread = lock.makeThreadState(name: "main")
        thread.acquire()
        let released = thread.releaseLock()
        #expect(!thread.holdsLock)
        let other = NativeThread {
            let visitor = lock.makeThreadState(name: "visitor")
            visitor.acquire()  // would wait forever if the token had not released
            visitor.detach()
        }
        other.join()
        released.reacquire()
        #expect(thread.holdsLock)
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

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

    static let values = (0..<1_000).map { Double(($0 * 37) % 101) / 7 }

    @Test("a C extension releases the lock itself above its threshold, and not below")
    func cExtensionReleases() throws {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        let held = try Kernels.relax(Self.values, passes: 3, threshold: 1_000_000)
        #expect(thread.statistics.acquisitions == 1)  // below the threshold: kept the lock
        let released = try Kernels.relax(Self.values, passes: 3, threshold: 100)
        #expect(thread.statistics.acquisitions == 2)  // released once, taken back once
        #expect(thread.holdsLock)
        #expect(held == released)
        // Each pass keeps the ends and averages the interior; check against Swift.
        var expected = Self.values
        for _ in 0..<3 {
            var next = expected
            for i in 1..<expected.count - 1 { next[i] = (expected[i - 1] + expected[i] + expected[i + 1]) / 3 }
            expected = next
        }
        #expect(released.values == expected)
        thread.detach()
    }

    @Test("the early exit takes the lock back before returning the error")
    func earlyExit() {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        var values = Self.values
        values[500] = .nan
        #expect(throws: KernelError.self) { try Kernels.relax(values, passes: 2, threshold: 0) }
        #expect(thread.holdsLock)
        #expect(thread.statistics.acquisitions == 2)
        #expect(throws: KernelError.self) { try Kernels.relax([1, 2], passes: 1) }  // validated, never released
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

    @Test("errno set inside the released block survives the lock's own calls")
    func errnoPreserved() {
        let thread = InterpreterLock().makeThreadState(name: "extension")
        thread.acquire()
        #expect(ck_ext_errno_probe(EDOM) == EDOM)
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
    }

    @Test("outside any interpreter thread the macros do nothing")
    func noThreadState() throws {
        let result = Locked<Double?>(nil)
        NativeThread {  // a thread that never took a lock: nothing is bound
            result.withLock { $0 = try? Kernels.relax(Self.values, passes: 2, threshold: 0).sum }
        }.join()
        #expect(result.withLock { $0 } != nil)
    }

    // MARK: - Misuse traps, each naming the thread

    static func stderr(_ result: ExitTest.Result?) throws -> String {
        String(decoding: try #require(result).standardErrorContent, as: UTF8.self)
    }

    @Test("a token dropped without reacquire() traps")
    func droppedToken() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "forgetful")
            thread.acquire()
            _ = thread.releaseLock()
        })
        #expect(stderr.contains("forgetful: a ReleasedLock was dropped without reacquire()"), "\(stderr)")
    }

    @Test("a nested release traps")
    func nestedRelease() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "nested")
            thread.acquire()
            thread.withoutLock { thread.withoutLock {} }
        })
        #expect(stderr.contains("nested: nested release: withoutLock()"), "\(stderr)")
    }

    @Test("a C extension called inside a released region traps as a nested release")
    func nestedCRelease() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "c-nested")
            thread.acquire()
            thread.withoutLock { _ = try? Kernels.relax(ReleaseAPITests.values, passes: 1, threshold: 0) }
        })
        #expect(stderr.contains("c-nested: nested release: CK_BEGIN_ALLOW_THREADS"), "\(stderr)")
    }

    @Test("a release by a thread that does not hold the lock traps")
    func releaseWithoutHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            InterpreterLock().makeThreadState(name: "idle").release()
        })
        #expect(stderr.contains("idle: release() without holding the interpreter lock"), "\(stderr)")
    }

    @Test("taking the lock while holding it traps")
    func acquireWhileHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let thread = InterpreterLock().makeThreadState(name: "greedy")
            thread.acquire()
            thread.acquire()
        })
        #expect(stderr.contains("greedy: acquire() while already holding the interpreter lock"), "\(stderr)")
    }

    @Test("a thread that ends holding the lock traps")
    func endsHolding() async throws {
        let stderr = try Self.stderr(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let lock = InterpreterLock()
            NativeThread { lock.makeThreadState(name: "quitter").acquire() }.join()
        })
        #expect(stderr.contains("quitter: the thread ended while holding the interpreter lock"), "\(stderr)")
    }
}

extension OpenBLASProcessWide {
    @Suite("Crossover and release threshold")
    struct CrossoverTests {
        @Test("the crossover is the smallest size from which every larger size releases faster")
        func crossoverRule() {
            func points(_ ratios: [(Int, Double)]) -> [CrossoverPoint] {
                ratios.map { CrossoverPoint(size: $0.0, releaseVersusHold: $0.1, holdSpeedup: 1, releaseSpeedup: $0.1) }
            }
            #expect(CrossoverScenario.crossover(points([(8, 0.5), (16, 1.2), (32, 0.9), (64, 1.5), (96, 1.9)])) == 64)
            #expect(CrossoverScenario.crossover(points([(8, 1.1), (16, 1.2)])) == 8)
            #expect(CrossoverScenario.crossover(points([(8, 0.5), (16, 0.9)])) == nil)
        }

        @Test("the scenario sweeps each kernel under new-gil and the fast handoff")
        func sweep() throws {
            var plan = CrossoverPlan(repeats: 1, secondsPerSize: 0.005)
            plan.sizes = [8, 16]
            let report = try CrossoverScenario.run(plan)
            #expect(report.results.map(\.policy) == ["new-gil", "new-gil+spin", "new-gil", "new-gil+spin"])
            #expect(report.results.allSatisfy { $0.points.map(\.size) == [8, 16] })
            let object = try #require(try JSONSerialization.jsonObject(
                with: Data(ReportRenderer.render(report, as: .json).utf8)) as? [String: Any])
            let first = try #require((object["results"] as? [[String: Any]])?.first)
            for key in ["kernel", "policy", "points"] { #expect(first[key] != nil, "\(key)") }
        }

        @Test("a release threshold above the size keeps dgemm holding; below it, dgemm releases")
        func threshold() throws {
            func acquisitions(_ threshold: Int?) throws -> UInt64 {
                var plan = RunPlan(workload: .gemm, size: 8, units: 20, threads: [1], modes: [.release], repeats: 1)
                plan.releaseThreshold = threshold
                return try #require(try Runner.run(plan).results.first { $0.mode == .release }).lock.acquisitions
            }
            #expect(try acquisitions(100) == 1)  // held through every dgemm
            #expect(try acquisitions(4) == 21)  // released around each of the 20
            #expect(try acquisitions(nil) == 21)
        }
    }
}

/// The compile-time rule, checked by compiling: `allowThreads` must refuse a closure that
/// captures an interpreter object, and accept one that captures plain values.
@Suite("The @Sendable rule of allowThreads")
struct SendableRuleTests {
    /// Type-checks `source` against the GILLab module this test binary was built with.
    /// - Returns: the compiler's exit status and its diagnostics.
    static func typecheck(_ source: String) throws -> (status: Int32, output: String) {
        // The test binary lives in <scratch>/<triple>/debug; so do the modules it was built from.
        let products = URL(fileURLWithPath: workerExecutable(nil)).deletingLastPathComponent()
        let modules = products.appendingPathComponent("Modules")
        let checkouts = products.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("checkouts")
        try #require(FileManager.default.fileExists(atPath: modules.appendingPathComponent("GILLab.swiftmodule").path),
                     "no GILLab.swiftmodule in \(modules.path)")
        // GILLab's Swift module imports C modules: CKernels and the dependencies' C shims.
        var moduleMaps = [products.appendingPathComponent("CKernels.build/module.modulemap").path]
        let enumerator = FileManager.default.enumerator(atPath: checkouts.path)
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix("include/module.modulemap") && path.contains("/Sources/") {
                moduleMaps.append(checkouts.appendingPathComponent(path).path)
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gillab-sendable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("snippet.swift")
        try source.write(to: file, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swiftc", "-typecheck", "-swift-version", "6", "-I", modules.path]
            + moduleMaps.flatMap { ["-Xcc", "-fmodule-map-file=\($0)"] } + [file.path]
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
        import GILLab
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
