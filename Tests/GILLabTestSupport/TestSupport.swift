import Foundation
import Synchronization
import GILLabInterpreter
import GILLabLock
import Testing

/// Each test target's suites that call OpenBLAS nest under one `.serialized` parent suite, and
/// that parent holds this trait: the whole suite runs while it holds a process-wide gate, so
/// that two targets' suites never run at once (the test targets share one process, and
/// OpenBLAS's thread count is global to it). The gate is taken once for the suite, before any of
/// its tests starts, so waiting for it counts against no test's time limit.
///
/// ```swift
/// @Suite(.serialized, .openBLASExclusive) enum OpenBLASProcessWide {}
/// ```
package struct OpenBLASExclusive: SuiteTrait, TestScoping {
    package var isRecursive: Bool { false }

    package func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite ? self : nil
    }

    package func provideScope(for test: Test, testCase: Test.Case?,
                              performing function: @Sendable () async throws -> Void) async throws {
        await Self.gate.enter()
        do {
            try await function()
        } catch {
            await Self.gate.leave()
            throw error
        }
        await Self.gate.leave()
    }

    private static let gate = AsyncGate()
}

extension Trait where Self == OpenBLASExclusive {
    /// The suite runs alone among suites with this trait, in every test target.
    package static var openBLASExclusive: Self { OpenBLASExclusive() }
}

/// A lock that suspends its waiters instead of blocking a thread of the cooperative pool.
package actor AsyncGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    package init() {}

    package func enter() async {
        guard busy else { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    package func leave() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// The gillab binary built beside this test bundle (the test binary and the products share a
/// folder): what the CLI tests run, and the worker processes' executable.
package let gillabExecutable: String = {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("gillab").path
}()

/// Runs `count` threads, each calling `body(index)`, and waits for all of them.
package func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let threads = (0..<count).map { index in NativeThread { body(index) } }
    for thread in threads { thread.join() }
}

/// A flag a watchdog raises when a test has made no progress for too long, so a broken lock
/// fails the test instead of hanging it.
package final class Watchdog: @unchecked Sendable {
    private let fired = Atomic<Bool>(false)
    private let done = Atomic<Bool>(false)
    private let progress = Atomic<Int>(0)
    private var thread: NativeThread?  // set in init, joined by finish(), on the test's thread

    /// Starts watching: fires when `progress` has not moved for `stall` seconds, and then calls
    /// `onFire` (to print what the test was waiting on).
    package init(stall: Double = 5, onFire: @escaping @Sendable () -> Void = {}) {
        thread = NativeThread { [self] in
            var last = -1
            var quiet = 0.0
            while !done.load(ordering: .acquiring) {
                usleep(10_000)
                let now = progress.load(ordering: .relaxed)
                if now == last { quiet += 0.01 } else { quiet = 0; last = now }
                if quiet >= stall {
                    fired.store(true, ordering: .releasing)
                    onFire()
                    return
                }
            }
        }
    }

    package var hasFired: Bool { fired.load(ordering: .acquiring) }
    package func tick() { progress.wrappingAdd(1, ordering: .relaxed) }
    /// Stops watching and joins the watchdog's thread.
    package func finish() {
        done.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }
}

package struct Boom: Error, Equatable { package init() {} }

/// A shareable atomic counter (Atomic itself cannot be captured by an escaping closure).
package final class Counter: Sendable {
    package init() {}
    private let value = Atomic<Int>(0)
    @discardableResult package func add(_ n: Int = 1) -> Int { value.wrappingAdd(n, ordering: .acquiringAndReleasing).newValue }
    package func subtract(_ n: Int = 1) { value.wrappingSubtract(n, ordering: .acquiringAndReleasing) }
    package func store(_ n: Int) { value.store(n, ordering: .releasing) }
    package var load: Int { value.load(ordering: .acquiring) }
}

/// Collects values from many threads. Built on a pthread mutex: `Synchronization.Mutex` trips
/// a ThreadSanitizer false positive on this toolchain.
package final class Collector<Value: Sendable>: @unchecked Sendable {
    package init() {}
    private let mutex = PosixMutex()
    private var values: [Value] = []  // guarded by mutex

    package func append(_ value: Value) {
        mutex.lock()
        values.append(value)
        mutex.unlock()
    }

    package var all: [Value] {
        mutex.lock()
        defer { mutex.unlock() }
        return values
    }
}

/// Whether two threads of `lock` can hold it at the same time: each acquires, then stays inside
/// until both have been seen inside (at most 10 s), which is impossible under one lock.
package func twoThreadsHoldAtOnce(_ lock: InterpreterLock) -> Bool {
    let inside = Counter(), maximum = Counter()
    runThreads(2) { _ in
        let thread = lock.makeThreadState()
        thread.acquire()
        let now = inside.add()
        if now > maximum.load { maximum.store(now) }
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while maximum.load < 2 && monotonicNanoseconds() < deadline { sched_yield() }
        thread.checkpoint()
        inside.subtract()
        thread.release()
    }
    return maximum.load == 2
}

/// Runs `body` on a fresh lock's thread state, holding the lock.
package func withInterpreter<R>(_ body: (Interpreter) throws -> R) rethrows -> R {
    let thread = InterpreterLock().makeThreadState(name: "test")
    thread.acquire()
    defer { thread.detach() }
    return try body(Interpreter(thread: thread))
}

/// Loads `source` and calls `function` with int arguments; returns Python's `str()` of the result.
package func evaluate(_ source: String, _ function: String = "main", _ arguments: [Int] = []) throws -> String {
    try withInterpreter { interpreter in
        try interpreter.load(source)
        return try Interpreter.str(try interpreter.call(function, arguments.map(interpreter.int)))
    }
}

/// How long a thread stayed at `location`, from its recorded events: from entering it to its next
/// location event or release.
package func timeAt(_ location: Int, in events: [LockEvent]) -> UInt64 {
    var total: UInt64 = 0, since: UInt64?
    for event in events {
        switch event.kind {
        case .location(let index):
            if let start = since { total += event.nanoseconds - start; since = nil }
            if index == location { since = event.nanoseconds }
        case .released:
            if let start = since { total += event.nanoseconds - start; since = nil }
        default: break
        }
    }
    return total
}

/// Runs a whole program as `gillab exec` does (the module body, then every thread it started)
/// under a fresh lock, and returns what it printed.
package func runProgram(_ source: String, filename: String = "test.py",
                        configuration: LockConfiguration = .default) throws -> String {
    let lock = InterpreterLock(configuration: configuration)
    let thread = lock.makeThreadState(name: "MainThread")
    thread.acquire()
    defer { thread.detach() }
    let interpreter = Interpreter(thread: thread, sharedByThreads: true)
    let output = Locked("")
    interpreter.output = { text in output.withLock { $0 += text } }
    interpreter.errorOutput = { text in output.withLock { $0 += text } }
    try interpreter.load(source, filename: filename)
    try interpreter.joinThreads()
    return output.withLock { $0 }
}
