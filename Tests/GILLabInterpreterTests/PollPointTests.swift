import Foundation
import Testing
import GILLabLock
@testable import GILLabInterpreter
import GILLabTestSupport

/// Where the eval loop gives the lock up: CPython 3.11's poll points, and 2.7's ticker under
/// `legacy-gil`. Every assertion counts events; none times anything.
@Suite("Poll points and 2.7's ticks")
struct PollPointTests {
    /// A lock whose waiters ask for a drop after 1 ms, and a thread holding it.
    static func holdingThread(_ policy: LockPolicy = .newGIL) -> (InterpreterLock, ThreadState) {
        let lock = InterpreterLock(configuration: try! LockConfiguration(policy: policy, switchInterval: .milliseconds(1)))
        let thread = lock.makeThreadState(name: "caller")
        thread.acquire()
        return (lock, thread)
    }

    /// Starts a thread that waits for `lock`, notes that it got it, and lets it go; returns once
    /// its timed wait has set the drop request.
    static func waiterAsksForTheLock(_ lock: InterpreterLock, got: Counter) -> NativeThread {
        let waiter = NativeThread {
            let thread = lock.makeThreadState(name: "waiter")
            thread.acquire()
            got.store(1)
            thread.detach()
        }
        let deadline = monotonicNanoseconds() + 60_000_000_000
        while !lock.isDropRequested && monotonicNanoseconds() < deadline { sched_yield() }
        #expect(lock.isDropRequested, "the waiter never asked for the lock")
        return waiter
    }

    @Test("a drop request that comes during a long native call holding the lock is served at its return, before the caller's next instruction")
    func servedAtCallReturn() throws {
        let (lock, thread) = Self.holdingThread()
        let got = Counter()
        var waiter: NativeThread?
        let interpreter = Interpreter(thread: thread)
        // The native call holds the lock until the waiter's timed wait has asked for it.
        interpreter.register("long_call", arity: 0...0) { _, _, _ throws(PyError) in
            waiter = Self.waiterAsksForTheLock(lock, got: got)
            return PyNone.shared
        }
        // After the call come only RETURN_VALUEs, which never poll: only the CALL's poll on the
        // native's return can hand the lock over before `f` is done.
        try interpreter.load("def f():\n    return long_call()\n")
        _ = try interpreter.call("f", [])
        #expect(got.load == 1)
        // Whether the drop then waited for the handoff (a forced switch) depends on who ran
        // first; that the waiter ran in between, and that the caller took the lock back once, is
        // the property.
        #expect(thread.statistics.acquisitions == 2)
        thread.detach()
        waiter?.join()
    }

    @Test("RESUME polls on entry: a request pending when a function is called is served before its first instruction")
    func servedAtResume() throws {
        let (lock, thread) = Self.holdingThread()
        let got = Counter()
        let interpreter = Interpreter(thread: thread)
        try interpreter.load("def g():\n    return 1\n")  // no loop, no call: RESUME is its only poll point
        let waiter = Self.waiterAsksForTheLock(lock, got: got)
        _ = try interpreter.call("g", [])
        #expect(got.load == 1)
        thread.detach()
        waiter.join()
    }

    @Test("legacy-gil: countdown releases every 50.5 iterations, as 2.7's ticker does (2 ticks per iteration, 101 per release)")
    func legacyCountdownPeriod() throws {
        let lock = InterpreterLock(configuration: try! LockConfiguration(policy: .legacyGIL))
        let thread = lock.makeThreadState(name: "countdown")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        try interpreter.load("def unit(n):\n    while n > 0:\n        n -= 1\n    return n\n")
        thread.resetStatistics()
        let iterations = 101_000
        _ = try interpreter.call("unit", [interpreter.int(iterations)])
        // RESUME ticks once, each iteration twice (INPLACE_SUBTRACT, JUMP_ABSOLUTE): 2N + 1
        // ticks. The ticker was left at some value by `load`; from there a release comes at
        // every 101st tick: 2000 or 2001 releases.
        let releases = Int(thread.statistics.acquisitions)
        #expect((2000...2001).contains(releases))
        let period = Double(iterations) / Double(releases)
        #expect(abs(period - 50.5) / 50.5 < 0.2, "released every \(period) iterations")
        #expect(lock.statistics.dropRequests == 0)
        thread.detach()
    }

    @Test("legacy-gil: UNARY_NOT ticks once on any value, as 2.7's does (its fast exit is POP_JUMP_IF_*'s alone)")
    func legacyNotTicksOnce() throws {
        let lock = InterpreterLock(configuration: try! LockConfiguration(policy: .legacyGIL))
        let thread = lock.makeThreadState(name: "not")
        thread.acquire()
        let interpreter = Interpreter(thread: thread)
        try interpreter.load("def unit(n):\n    x = 0\n    for i in range(n):\n        x = not i\n    return x\n")
        thread.resetStatistics()
        _ = try interpreter.call("unit", [interpreter.int(10_100)])
        // Each iteration ticks twice (UNARY_NOT, JUMP_ABSOLUTE; FOR_ITER before STORE_FAST, and the
        // loads and stores, do not), plus a few ticks around the loop: a release every 101 ticks,
        // about 200 in all. A second tick for `not` on a non-bool would make it about 300.
        let releases = Int(thread.statistics.acquisitions)
        #expect((198...203).contains(releases), "\(releases) releases")
        thread.detach()
    }

    @Test("legacy-gil: one ticker per lock; a thread that takes the lock goes on from where the last holder left it")
    func legacyTickerIsPerLock() {
        let lock = InterpreterLock(configuration: try! LockConfiguration(policy: .legacyGIL, checkInterval: 10))
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        a.checkpoint()                      // the ticker starts at 0: this tick releases, then 10 left
        for _ in 0..<5 { a.checkpoint() }   // 5 left
        a.release()
        #expect(a.statistics.acquisitions == 2)
        runThreads(1) { _ in
            let b = lock.makeThreadState(name: "b")
            b.acquire()
            for _ in 0..<5 { b.checkpoint() }  // 0 left: no release yet
            #expect(b.statistics.acquisitions == 1)
            b.checkpoint()                     // -1: release and take again
            #expect(b.statistics.acquisitions == 2)
            b.detach()
        }
    }
}
