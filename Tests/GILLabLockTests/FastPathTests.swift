import Foundation
import Testing
@testable import GILLabLock
import GILLabTestSupport

/// The lock word's fast path: when it is taken, when it must not be, and that the statistics
/// it keeps add up to the slow path's, timed and untimed.
@Suite("Lock word fast path")
struct FastPathTests {
    static func lock(_ timing: LockTiming = .timed, policy: LockPolicy = .newGIL,
                     interval: Duration = .milliseconds(1)) -> InterpreterLock {
        InterpreterLock(configuration: try! LockConfiguration(policy: policy, switchInterval: interval, timing: timing))
    }

    /// Acquisitions the fast path made since the last reset.
    static func fastTakes(_ lock: InterpreterLock) -> UInt64 {
        lock.state.fastAcquisitions.load(ordering: .relaxed) - lock.state.fastAcquisitionsBase
    }

    @Test("the last holder's uncontended re-take is one compare-and-swap, and counts as the slow path would",
          arguments: LockTiming.allCases)
    func reTakeIsFast(timing: LockTiming) {
        let lock = Self.lock(timing)
        let thread = lock.makeThreadState(name: "solo")
        thread.acquire()  // the first take changes the holder: slow path
        #expect(Self.fastTakes(lock) == 0)
        for _ in 0..<1_000 { thread.withoutLock {} }
        thread.release()
        thread.acquire()
        #expect(Self.fastTakes(lock) == 1_001)
        thread.detach()

        let statistics = lock.statistics
        #expect(statistics.acquisitions == 1_002)
        #expect(statistics.switches == 1)
        #expect(statistics.contendedAcquisitions == 0)
        #expect(thread.statistics.acquisitions == 1_002)
        #expect(thread.statistics.totalHoldNanoseconds == statistics.totalHoldNanoseconds)
        if timing == .timed {
            let mine = thread.statistics
            #expect(mine.totalHoldNanoseconds > 0)
            #expect(mine.totalHoldNanoseconds + mine.totalWaitNanoseconds + mine.releasedNanoseconds == mine.lifetimeNanoseconds)
        } else {
            #expect(statistics.totalHoldNanoseconds == 0)
            #expect(thread.statistics.releasedNanoseconds == 0 && thread.statistics.releasedKernelNanoseconds == 0)
            #expect(thread.statistics.lifetimeNanoseconds > 0)
        }
    }

    @Test("only new-gil has a fast path; the other policies count every take the slow way",
          arguments: [LockPolicy.legacyGIL, .ioPriority, .free])
    func otherPoliciesAreSlow(policy: LockPolicy) {
        let lock = Self.lock(policy: policy)
        let thread = lock.makeThreadState()
        thread.acquire()
        for _ in 0..<100 { thread.withoutLock {} }
        thread.detach()
        #expect(Self.fastTakes(lock) == 0)
        #expect(lock.statistics.acquisitions == 101)
    }

    @Test("a waiter sets the waiters bit, so the holder's drop takes the slow path and wakes it")
    func waiterBlocksFastDrop() {
        // A long interval: no drop request, which would send the drop to the slow path anyway.
        let lock = Self.lock(interval: .seconds(60))
        let holder = lock.makeThreadState(name: "holder")
        holder.acquire()
        let got = Counter()
        let waiter = NativeThread {
            let thread = lock.makeThreadState(name: "waiter")
            thread.acquire()
            got.add()
            thread.detach()
        }
        // Until the waiter is in the slow path's wait loop.
        let deadline = Date().addingTimeInterval(10)
        while lock.state.word.load(ordering: .relaxed) & LockState.waitersBit == 0 && Date() < deadline { usleep(100) }
        #expect(lock.state.word.load(ordering: .relaxed) & LockState.waitersBit != 0)
        #expect(got.load == 0)
        #expect(!lock.isDropRequested)
        holder.release()  // the compare-and-swap fails on the bit; the slow path signals
        waiter.join()
        #expect(got.load == 1)
        #expect(lock.state.word.load(ordering: .relaxed) & (LockState.waitersBit | LockState.lockedBit) == 0)
        #expect(lock.statistics.contendedAcquisitions == 1)
        holder.detach()
    }

    @Test("a pending drop request sends the take to the slow path, which serves it")
    func dropRequestBlocksFastTake() {
        let lock = Self.lock()
        let thread = lock.makeThreadState()
        thread.acquire()
        thread.release()
        lock.state.setDropRequest()
        #expect(!lock.state.takeFast(threadID: thread.id))
        thread.acquire()
        #expect(!lock.isDropRequested)
        #expect(Self.fastTakes(lock) == 0)
        thread.detach()
        #expect(lock.statistics.acquisitions == 2)
    }

    @Test("another thread's last hold sends the take to the slow path, which counts a switch")
    func otherHolderIsSlow() {
        let lock = Self.lock()
        let a = lock.makeThreadState(name: "a")
        a.withLock {}
        runThreads(1) { _ in
            let b = lock.makeThreadState(name: "b")
            b.withLock {}
            b.detach()
        }
        a.withLock {}
        a.detach()
        #expect(lock.statistics.switches == 3)
        #expect(Self.fastTakes(lock) == 0)
    }

    @Test("a reset zeroes the fast path's counters too")
    func resetCoversFastPath() {
        let lock = Self.lock()
        let thread = lock.makeThreadState()
        thread.acquire()
        for _ in 0..<10 { thread.withoutLock {} }
        lock.resetStatistics()
        #expect(lock.statistics.acquisitions == 0)
        #expect(lock.statistics.totalHoldNanoseconds == 0)
        for _ in 0..<5 { thread.withoutLock {} }
        thread.detach()
        #expect(lock.statistics.acquisitions == 5)
        #expect(lock.statistics.totalHoldNanoseconds > 0)
    }

    @Test("untimed: contended waits are still timed, and an event hook brings the timing back")
    func untimedWaitsAndHooks() {
        let lock = Self.lock(.untimed)
        let holder = lock.makeThreadState(name: "holder")
        holder.acquire()
        let waited = Collector<LockStatistics>()
        let waiter = NativeThread {
            let thread = lock.makeThreadState(name: "waiter")
            thread.acquire()
            thread.detach()
            waited.append(thread.statistics)
        }
        while lock.state.waitingCount == 0 { usleep(100) }
        usleep(5_000)
        holder.release(reason: .exit)
        waiter.join()
        holder.detach()
        let statistics = waited.all[0]
        #expect(statistics.contendedAcquisitions == 1)
        #expect(statistics.totalWaitNanoseconds >= 4_000_000)
        #expect(statistics.totalHoldNanoseconds == 0)

        let recorded = InterpreterLock(configuration: try! LockConfiguration(timing: .untimed), eventHook: LockEventRecorder())
        let thread = recorded.makeThreadState()
        thread.acquire()
        usleep(1_000)
        thread.detach()
        #expect(thread.statistics.totalHoldNanoseconds >= 1_000_000)
    }
}
