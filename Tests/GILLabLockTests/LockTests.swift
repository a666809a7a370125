import Foundation
import Testing
@testable import GILLabLock
import GILLabTestSupport

@Suite("Interpreter lock (new-gil)")
struct LockTests {
    static func lock(intervalMicroseconds: Int = 100, policy: LockPolicy = .newGIL, spinMicroseconds: Int = 0) -> InterpreterLock {
        InterpreterLock(configuration: try! LockConfiguration(
            policy: policy, switchInterval: .microseconds(intervalMicroseconds), checkInterval: 10,
            spin: .microseconds(spinMicroseconds)))
    }

    /// The policies that promise mutual exclusion, and new-gil with the fast handoff's spin.
    static let exclusive: [(LockPolicy, Int)] = [(.newGIL, 0), (.newGIL, 50), (.legacyGIL, 0), (.ioPriority, 0)]

    @Test("never two holders, whatever mix of checkpoints, releases and drop requests", arguments: exclusive)
    func mutualExclusion(policy: LockPolicy, spinMicroseconds: Int) {
        let lock = Self.lock(policy: policy, spinMicroseconds: spinMicroseconds)
        let holders = Counter(), violations = Counter(), entries = Counter()
        let threads = 6, iterations = 20_000
        let perThread = Collector<LockStatistics>()

        @Sendable func critical() {
            if holders.add() != 1 { violations.add() }
            entries.add()
            holders.subtract()
        }

        runThreads(threads) { index in
            let thread = lock.makeThreadState()
            thread.acquire()
            for i in 0..<iterations {
                critical()
                thread.checkpoint()
                critical()
                if i % 7 == index % 7 {
                    // Release and take back, like a tiny kernel call or blocking read; the
                    // latter comes back with priority under io-priority.
                    thread.withoutLock(reason: i % 2 == 0 ? .io : .kernel) {}
                }
            }
            thread.detach()
            perThread.append(thread.statistics)
        }

        #expect(violations.load == 0)
        #expect(entries.load == threads * iterations * 2)
        let total = perThread.all.reduce(LockStatistics()) { $0.adding($1) }
        let lockStats = lock.statistics
        // The statistics add up: per-thread counters sum to the lock's.
        #expect(total.acquisitions == lockStats.acquisitions)
        #expect(total.contendedAcquisitions == lockStats.contendedAcquisitions)
        #expect(total.switches == lockStats.switches)
        #expect(total.dropRequests == lockStats.dropRequests)
        #expect(total.forcedSwitches == lockStats.forcedSwitches)
        #expect(total.priorityRequests == lockStats.priorityRequests)
        #expect(total.starvedWaiters == lockStats.starvedWaiters)
        #expect(total.totalHoldNanoseconds == lockStats.totalHoldNanoseconds)
        #expect(lockStats.contendedAcquisitions <= lockStats.acquisitions)
        #expect(lockStats.maxWaitNanoseconds <= lockStats.totalWaitNanoseconds)
    }

    @Test("a holder that only polls is made to hand over: drop requests, forced switches and switches happen")
    func dropRequestAndForcedSwitch() {
        // Two CPU-bound threads; each can count only while it holds the lock. Both reach the
        // target only if the lock changes hands many times, which only the drop request can
        // cause, since neither thread ever releases voluntarily.
        let lock = Self.lock(intervalMicroseconds: 500)
        let counts = [Counter(), Counter()]
        let target = 20
        let watchdog = Watchdog()

        runThreads(2) { index in
            let thread = lock.makeThreadState()
            thread.acquire()
            while !watchdog.hasFired {
                thread.checkpoint()  // may hand the lock over and take it back
                let acquired = Int(thread.statistics.acquisitions)
                if acquired != counts[index].load {
                    counts[index].store(acquired)
                    watchdog.tick()
                }
                if counts.allSatisfy({ $0.load >= target }) { break }
            }
            thread.detach()
        }
        watchdog.finish()

        #expect(!watchdog.hasFired, "no progress for 5 s: a lost wake-up or a handoff that never came")
        let stats = lock.statistics
        #expect(stats.dropRequests > 0)
        // Forced switches are counted too, but whether a given drop needs one depends on who the
        // scheduler runs first; forcedSwitch() below pins that down.
        #expect(stats.switches >= UInt64(target))
        #expect(stats.acquisitions >= UInt64(2 * target))
    }

    @Test("forced switching: a drop on request returns only after another thread has taken the lock")
    func forcedSwitch() {
        let lock = Self.lock()
        let holder = lock.makeThreadState(name: "holder")
        holder.acquire()
        lock.state.setDropRequest()  // as a waiter whose interval ran out would
        let taken = Counter()
        let waiter = NativeThread {
            // Arrive only once the holder is waiting for the handoff: it counts the forced
            // switch under switchMutex just before it sleeps on switchCond.
            while lock.statistics.forcedSwitches == 0 { sched_yield() }
            lock.makeThreadState(name: "waiter").withLock { _ = taken.add() }
        }
        holder.release(reason: .dropRequest)
        // The waiter's take counts its acquisition under the mutex before the holder can read
        // the counters, so this sees it if and only if the handoff happened first.
        #expect(lock.statistics.acquisitions == 2, "the dropper returned before anyone took the lock")
        #expect(holder.statistics.forcedSwitches == 1)
        #expect(lock.statistics.forcedSwitches == 1)
        #expect(!lock.isDropRequested)
        waiter.join()
        #expect(taken.load == 1)
    }

    @Test("a drop with no request pending, or a final one, does not wait")
    func noForcedSwitchWithoutRequest() {
        let lock = Self.lock()
        let thread = lock.makeThreadState()
        thread.acquire()
        thread.release(reason: .kernel)
        thread.acquire()
        lock.state.setDropRequest()
        thread.release(reason: .exit)  // thread exit never waits (CPython gh-104341)
        #expect(thread.statistics.forcedSwitches == 0)
        lock.state.resetDropRequest()
    }

    @Test("withoutLock takes the lock back when its body throws")
    func releaseRestoresOnThrow() {
        let thread = Self.lock().makeThreadState()
        thread.acquire()
        #expect(throws: Boom.self) {
            try thread.withoutLock { () throws(Boom) in
                #expect(!thread.holdsLock)
                throw Boom()
            }
        }
        #expect(thread.holdsLock)
        #expect(throws: Boom.self) {
            try thread.call(.release) { () throws(Boom) in throw Boom() }
        }
        #expect(thread.holdsLock)
        thread.release()
        #expect(!thread.holdsLock)
    }

    @Test("withLock releases when its body throws")
    func withLockReleasesOnThrow() {
        let lock = Self.lock()
        let thread = lock.makeThreadState()
        #expect(throws: Boom.self) {
            try thread.withLock { () throws(Boom) in
                #expect(thread.holdsLock)
                throw Boom()
            }
        }
        #expect(!thread.holdsLock)
        // Someone else can take it now.
        runThreads(1) { _ in lock.makeThreadState().withLock {} }
        #expect(lock.statistics.acquisitions == 2)
    }

    @Test("a released region really lets another thread in, and hold does not")
    func releaseLetsOthersIn() {
        let lock = Self.lock()
        let thread = lock.makeThreadState()
        thread.acquire()
        let entered = Counter()
        thread.call(.release) {
            // With the lock released, another thread can take it and finish.
            runThreads(1) { _ in
                lock.makeThreadState().withLock { _ = entered.add() }
            }
        }
        #expect(entered.load == 1)
        thread.call(.hold) { #expect(thread.holdsLock) }
        thread.release()
    }

    @Test("no lost wake-ups: many threads taking and dropping in a tight loop all finish",
          arguments: [(LockPolicy.newGIL, 1), (.newGIL, 50), (.newGIL, 5_000), (.legacyGIL, 50),
                      (.ioPriority, 1), (.ioPriority, 50), (.perInterpreter, 50)])
    func noLostWakeups(policy: LockPolicy, intervalMicroseconds: Int) {
        let lock = Self.lock(intervalMicroseconds: intervalMicroseconds, policy: policy)
        let watchdog = Watchdog()
        let finished = Counter()
        runThreads(8) { _ in
            let thread = lock.makeThreadState()
            for i in 0..<3_000 where !watchdog.hasFired {
                thread.acquire()
                if i % 3 == 0 { thread.checkpoint() }
                thread.release(reason: [.kernel, .end, .io][i % 3])
                watchdog.tick()
            }
            finished.add()
        }
        watchdog.finish()
        #expect(!watchdog.hasFired)
        #expect(finished.load == 8)
        // Every explicit acquire, plus one re-take per checkpoint that honoured a drop request.
        #expect(lock.statistics.acquisitions >= 8 * 3_000)
    }

    @Test("legacy-gil: the holder lets go and takes again every check interval, with no drop request")
    func legacyTicks() {
        let lock = Self.lock(policy: .legacyGIL)  // check interval 10
        let thread = lock.makeThreadState()
        thread.acquire()
        for _ in 0..<35 { thread.checkpoint() }
        // The first, then 2.7's `--_Py_Ticker < 0`: the ticker starts at 0, so the first tick
        // releases, and then every 10 + 1 ticks (checkpoints 1, 12, 23 and 34).
        #expect(thread.statistics.acquisitions == 5)
        #expect(lock.statistics.dropRequests == 0)
        #expect(!lock.isDropRequested)
        thread.release()
    }

    @Test("free: no exclusion, two threads hold at once, and the statistics count their attaches")
    func freeHasNoExclusion() {
        let lock = Self.lock(policy: .free)
        #expect(twoThreadsHoldAtOnce(lock))
        #expect(lock.statistics.acquisitions == 2)
        #expect(lock.statistics.contendedAcquisitions == 0)
    }

    @Test("switch number counts changes of holder only")
    func switchesCountChangesOfHolder() {
        let lock = Self.lock()
        let a = lock.makeThreadState(name: "a")
        for _ in 0..<5 { a.withLock {} }
        #expect(lock.statistics.switches == 1)
        runThreads(1) { _ in lock.makeThreadState(name: "b").withLock {} }
        a.withLock {}
        #expect(lock.statistics.switches == 3)
        #expect(lock.statistics.acquisitions == 7)
        #expect(a.statistics.switches == 2)
    }

    @Test("configuration rejects a non-positive switch interval")
    func configurationErrors() {
        #expect(throws: LockConfigurationError.nonPositiveSwitchInterval(.zero)) {
            try LockConfiguration(switchInterval: .zero)
        }
        #expect(throws: LockConfigurationError.self) { try LockConfiguration(switchInterval: .milliseconds(-1)) }
        #expect(throws: LockConfigurationError.switchIntervalTooLong(.seconds(3601))) {
            try LockConfiguration(switchInterval: .seconds(3601))
        }
        #expect(LockConfiguration.default.switchInterval == .milliseconds(5))
        #expect(LockConfiguration.default.policy == .newGIL)
        #expect(throws: LockConfigurationError.nonPositiveCheckInterval(0)) { try LockConfiguration(checkInterval: 0) }
        #expect(throws: LockConfigurationError.interpretersOutOfRange(0)) { try LockConfiguration(interpreters: 0) }
        #expect(throws: LockConfigurationError.interpretersOutOfRange(4097)) { try LockConfiguration(interpreters: 4097) }
    }
}
