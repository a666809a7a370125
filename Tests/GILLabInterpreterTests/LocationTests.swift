#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import GILLabLock
@testable import GILLabInterpreter
import GILLabTestSupport

/// What the interpreter reports as its location: the line of each poll point, a native call
/// that keeps the lock, and the glue once it is back in Swift. Counts and names only; no timing
/// is asserted but the share of one measured wait.
@Suite("Locations for wait attribution")
struct LocationTests {
    /// The names of the locations a thread entered, in order.
    static func visited(_ thread: LockEventRecorder.ThreadRecording, in lock: InterpreterLock) -> [String] {
        thread.events.compactMap { event in
            if case .location(let index) = event.kind { return lock.locations.name(of: index) }
            return nil
        }
    }

    @Test("poll points name file:line in function (text); a loop's jump is its header's line; RESUME is the def's")
    func names() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(eventHook: recorder)
        let thread = lock.makeThreadState(name: "a")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        interpreter.register("kernel", arity: 0...0) { thread, _, _ throws(PyError) in
            #expect(lock.locations.name(of: thread.currentLocation) == "kernel (hold)")
            return PyNone.shared
        }
        try interpreter.load("def spin(n):\n    while n > 0:\n        n -= 1\n    kernel()\n    return n\n", filename: "spin.py")
        _ = try interpreter.call("spin", [interpreter.int(3)])
        #expect(thread.currentLocation == LockLocations.glue, "back in Swift: the glue")
        thread.release()
        thread.detach()
        let visited = Self.visited(recorder.threads[0], in: lock)
        #expect(visited == ["spin.py in <module>", LockLocations.glueName, "spin.py:1 in spin (def spin(n):)", "spin.py:2 in spin (while n > 0:)",
                            "kernel (hold)", "spin.py:4 in spin (kernel())", LockLocations.glueName])
    }

    @Test("an elif's test is its own line; back from a Python call, the caller's line again")
    func elifAndReturn() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(eventHook: recorder)
        let thread = lock.makeThreadState(name: "a")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        interpreter.register("probe", arity: 0...0) { _, _, _ throws(PyError) in PyBool.true }
        let source = [
            "def g():", "    return 1", "def f(x):", "    if x == 1:", "        return 1", "    elif probe():",
            "        y = g()", "        return y", "    return 3",
        ].joined(separator: "\n")
        try interpreter.load(source, filename: "f.py")
        _ = try interpreter.call("f", [interpreter.int(2)])
        thread.release()
        thread.detach()
        let visited = Self.visited(recorder.threads[0], in: lock)
        #expect(Array(visited.suffix(6)) == ["f.py:3 in f (def f(x):)", "probe (hold)", "f.py:6 in f (elif probe():)",
                                             "f.py:1 in g (def g():)", "f.py:7 in f (y = g())", LockLocations.glueName], "\(visited)")
    }

    @Test("without an event hook nothing is named")
    func untracked() throws {
        let lock = InterpreterLock()
        let thread = lock.makeThreadState()
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        try interpreter.load("def f(n):\n    while n > 0:\n        n -= 1\n    return n\n", filename: "f.py")
        _ = try interpreter.call("f", [interpreter.int(10)])
        #expect(lock.locations.all == [LockLocations.glueName])
        thread.release()
        thread.detach()
    }

    /// A runs a Python loop with a switch interval far longer than the loop, so it keeps the
    /// lock throughout; B waits all of it. B's wait is charged to A at the loop's line.
    @Test("a scripted 2-thread run: B's wait is charged to A at the function's line, within 5%")
    func chargedToTheLine() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(switchInterval: .seconds(1)), eventHook: recorder)
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        let interpreter = Interpreter(thread: a)
        try interpreter.load("def spin(n):\n    while n > 0:\n        n -= 1\n    return n\n", filename: "spin.py")
        let waited = Collector<UInt64>()
        let b = NativeThread {
            let b = lock.makeThreadState(name: "b")
            b.acquire()
            b.release()
            b.detach()
            waited.append(b.statistics.totalWaitNanoseconds)
        }
        while lock.state.waitingCount == 0 { sched_yield() }
        _ = try interpreter.call("spin", [interpreter.int(20_000)])
        a.release()
        b.join()
        a.detach()

        let attribution = WaitAttribution(recorder, locations: lock.locations)
        let wait = try #require(waited.all.first)
        let line = try #require(attribution.blockers.first { $0.location == "spin.py:2 in spin (while n > 0:)" })
        #expect(attribution.blockers.first?.location == line.location)
        // A's own time at the line, from its events: B waited all of it, so all of it is charged.
        let known = timeAt(lock.locations.index(of: "spin.py:2 in spin (while n > 0:)"), in: recorder.threads[0].events)
        #expect(known > 0)
        #expect(abs(Double(line.nanoseconds) - Double(known)) <= 0.05 * Double(known),
                "\(line.nanoseconds) ns charged at the line; A ran there \(known) ns")
        #expect(line.nanoseconds <= wait)
        let ids = Dictionary(attribution.threads.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
        #expect(attribution.chargedNanoseconds(waiter: ids["b"]!) == wait)
    }
}
