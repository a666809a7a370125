#if canImport(Glibc)
import Glibc
#endif
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import GILLabLock
import GILLabTestSupport

@Suite("Event hooks and statistics")
struct EventHookTests {
    /// A scripted 2-thread run: A holds; B asks and waits; A releases around a kernel, so B
    /// gets the lock, gives it back and leaves; A takes it again and leaves.
    @Test("a scripted 2-thread run gives wants → acquired → released, in order, for each thread")
    func scriptedOrder() throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(eventHook: recorder)
        let a = lock.makeThreadState(name: "a")
        a.acquire()
        let bIsWaiting = Counter()
        let b = NativeThread {
            let b = lock.makeThreadState(name: "b")
            bIsWaiting.store(1)
            b.acquire()
            b.release(reason: .end)
            b.detach()
        }
        // B has asked once the lock counts a waiter.
        let deadline = monotonicNanoseconds() + 10_000_000_000
        while bIsWaiting.load == 0 || lock.state.waitingCount == 0 {
            #expect(monotonicNanoseconds() < deadline, "B never started waiting")
            if monotonicNanoseconds() >= deadline { break }
            sched_yield()
        }
        a.withoutLock { b.join() }
        a.detach()

        let threads = recorder.threads
        #expect(threads.map(\.name) == ["a", "b"])
        // B's timed wait may have asked A to drop, on a slow machine: that is not what is checked.
        let kinds = threads.map { $0.events.map(\.kind).filter { if case .dropRequest = $0 { false } else { true } } }
        #expect(kinds[0] == [.threadStart, .wants, .acquired, .released(.kernel), .wants, .acquired, .released(.exit), .threadExit])
        #expect(kinds[1] == [.threadStart, .wants, .acquired, .released(.end), .threadExit])
        for thread in threads {
            let times = thread.events.map(\.nanoseconds)
            #expect(times == times.sorted(), "\(thread.name)'s events go back in time")
            #expect(thread.events.allSatisfy { $0.threadID == thread.id })
        }
        // Across threads: B asked before A let go, and got the lock only after.
        let aReleased = try #require(threads[0].events.first { $0.kind == .released(.kernel) }).nanoseconds
        let bWants = try #require(threads[1].events.first { $0.kind == .wants }).nanoseconds
        let bAcquired = try #require(threads[1].events.first { $0.kind == .acquired }).nanoseconds
        let bReleased = try #require(threads[1].events.first { $0.kind == .released(.end) }).nanoseconds
        let aBack = threads[0].events.filter { $0.kind == .acquired }[1].nanoseconds
        #expect(bWants < aReleased)
        #expect(aReleased <= bAcquired)
        #expect(bReleased <= aBack)
    }

    @Test("per thread, hold + wait + released is the thread's life, and the events say the same",
          arguments: [LockPolicy.newGIL, .legacyGIL, .ioPriority, .perInterpreter, .free])
    func statisticsAddUp(policy: LockPolicy) throws {
        let recorder = LockEventRecorder()
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy, switchInterval: .microseconds(200),
                                                                       checkInterval: 50),
                                   eventHook: recorder)
        let states = Collector<(String, LockStatistics)>()
        let started = monotonicNanoseconds()
        runThreads(3) { index in
            let thread = lock.makeThreadState(name: "t\(index)")
            var spin: UInt64 = 0
            for step in 0..<300 {
                thread.acquire()
                for _ in 0..<200 { spin &+= 1; thread.checkpoint() }
                if step % 3 == 0 {
                    thread.withoutLock(reason: step % 2 == 0 ? .io : .kernel) { for _ in 0..<500 { spin &+= 1 } }
                }
                thread.release()
            }
            thread.detach()
            states.append((thread.name, thread.statistics))
            #expect(spin > 0)
        }
        let wall = monotonicNanoseconds() - started
        for (_, statistics) in states.all {
            let sum = statistics.totalHoldNanoseconds + statistics.totalWaitNanoseconds + statistics.releasedNanoseconds
            #expect(statistics.lifetimeNanoseconds > 0)
            #expect(sum == statistics.lifetimeNanoseconds, "hold + wait + released = \(sum), life = \(statistics.lifetimeNanoseconds)")
            #expect(statistics.releasedNanoseconds >= statistics.releasedKernelNanoseconds + statistics.releasedIONanoseconds)
        }
        // The timeline and the counters come from the same clock reads.
        for thread in recorder.threads {
            let statistics = try #require(states.all.first { $0.0 == thread.name }).1
            var hold: UInt64 = 0, wait: UInt64 = 0, since: UInt64 = 0
            for event in thread.events {
                switch event.kind {
                case .wants: since = event.nanoseconds
                case .acquired: wait += event.nanoseconds - since; since = event.nanoseconds
                case .released: hold += event.nanoseconds - since
                default: break
                }
            }
            #expect(statistics.totalHoldNanoseconds == hold)
            #expect(statistics.totalWaitNanoseconds == wait)
        }
        let lockStatistics = lock.statistics
        #expect(lockStatistics.someoneWaitingNanoseconds <= wall)
        if policy == .free { #expect(lockStatistics.someoneWaitingNanoseconds == 0) }
    }

    @Test("a callback hook hears every thread, and a lock without a hook records nothing")
    func callbackHook() {
        let heard = Counter()
        let lock = InterpreterLock(eventHook: LockEventCallback { _ in heard.add() })
        runThreads(2) { _ in
            let thread = lock.makeThreadState()
            thread.acquire()
            thread.release()
            thread.detach()
        }
        #expect(heard.load == 2 * 5)  // start, wants, acquired, released, exit
        #expect(InterpreterLock().eventHook == nil)
    }

    @Test("a recorder keeps at most its limit per thread and counts the rest")
    func recorderLimit() {
        let recorder = LockEventRecorder(eventsPerThread: 4)
        let thread = InterpreterLock(eventHook: recorder).makeThreadState()
        for _ in 0..<3 { thread.acquire(); thread.release() }
        thread.detach()
        let recording = recorder.threads[0]
        #expect(recording.events.count == 4)
        #expect(recording.dropped == 1 + 3 * 3 + 1 - 4)
    }
}
