#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import GILLabLock
import GILLabTestSupport

@Suite("What a sampler sees")
struct PeekTests {
    @Test("peek reads the lock word: free, held by a thread, waited for, and let go", arguments: [LockPolicy.newGIL, .ioPriority, .legacyGIL])
    func peek(policy: LockPolicy) throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: policy))
        #expect(lock.peek() == LockPeek(held: false, someoneWaiting: false, lastHolder: 0))
        let holder = lock.makeThreadState(name: "holder")
        holder.acquire()
        #expect(lock.peek() == LockPeek(held: true, someoneWaiting: false, lastHolder: holder.id))
        // A second thread asks and waits; the holder sees it in the word before letting go.
        let waiterHeld = Counter()
        let waiter = NativeThread {
            let thread = lock.makeThreadState(name: "waiter")
            thread.acquire()
            waiterHeld.add()
            thread.detach()
        }
        // Until the waiter shows, or 30 s (a deadline, not a timing: it only keeps a broken lock
        // from hanging the test).
        var waited = false
        let deadline = monotonicNanoseconds() + 30_000_000_000
        while !waited && monotonicNanoseconds() < deadline {
            waited = lock.peek().someoneWaiting
            if !waited { sched_yield() }
        }
        #expect(waited && lock.peek().held)
        holder.detach()
        waiter.join()
        #expect(waiterHeld.load == 1)
        #expect(lock.peek().held == false && lock.peek().someoneWaiting == false)
    }

    @Test("under free, held means someone is attached")
    func free() throws {
        let lock = InterpreterLock(configuration: try LockConfiguration(policy: .free))
        #expect(!lock.peek().held)
        let thread = lock.makeThreadState(name: "a")
        thread.acquire()
        #expect(lock.peek().held && !lock.peek().someoneWaiting)
        thread.detach()
        #expect(!lock.peek().held)
    }
}
