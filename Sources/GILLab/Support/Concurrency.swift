#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A one-shot gate: threads get ready, the opener waits until all are ready, then lets them go
/// at once, so the timed region holds no thread creation.
final class StartGate: @unchecked Sendable {
    private let mutex = PosixMutex()
    private let cond = PosixCondition()
    private var ready = 0  // guarded by mutex
    private var isOpen = false  // guarded by mutex

    /// Called by each thread: announces it is ready and waits for the gate to open.
    func arriveAndWait() {
        mutex.lock()
        ready += 1
        cond.broadcast()
        while !isOpen { cond.wait(mutex) }
        mutex.unlock()
    }

    /// Waits until `count` threads are ready.
    func waitUntilReady(_ count: Int) {
        mutex.lock()
        while ready < count { cond.wait(mutex) }
        mutex.unlock()
    }

    /// Lets the waiting threads go.
    func open() {
        mutex.lock()
        isOpen = true
        cond.broadcast()
        mutex.unlock()
    }

    /// The timed region of a trial, from the opener's side: waits until `threads.count` threads
    /// stand ready, notes resident memory (everything is set up), zeroes `lock`'s counters (set-up
    /// took the lock too), opens the gate and joins every thread.
    /// - Returns: when the gate opened, on the monotonic clock; the time to the last join; and
    ///   resident memory before the gate opened.
    func openAndJoin(_ threads: [NativeThread], lock: InterpreterLock) -> (start: UInt64, wall: UInt64, resident: UInt64) {
        waitUntilReady(threads.count)
        let resident = residentBytes()
        lock.resetStatistics()
        let start = monotonicNanoseconds()
        open()
        for thread in threads { thread.join() }
        return (start, monotonicNanoseconds() - start, resident)
    }
}

/// A flag one thread raises and others poll.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .acquiring) }
    func raise() { raised.store(true, ordering: .releasing) }
}

/// A blocking queue between threads: `take` waits for an item, or returns `nil` once closed
/// and empty.
final class Mailbox<Item>: @unchecked Sendable {
    private let mutex = PosixMutex()
    private let cond = PosixCondition()
    private var items: [Item] = []  // guarded by mutex
    private var closed = false  // guarded by mutex

    func put(_ item: Item) {
        mutex.lock()
        items.append(item)
        cond.signal()
        mutex.unlock()
    }

    func take() -> Item? {
        mutex.lock()
        defer { mutex.unlock() }
        while items.isEmpty && !closed { cond.wait(mutex) }
        return items.isEmpty ? nil : items.removeFirst()
    }

    func close() {
        mutex.lock()
        closed = true
        cond.broadcast()
        mutex.unlock()
    }
}
