#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A joinable OS thread. The runner uses raw threads, not Swift concurrency, because each
/// simulated Python thread must be exactly one OS thread for the lock's handoff to mean what
/// it means in CPython.
final class NativeThread {
    private var handle: pthread_t

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var handle = pthread_t()
        #else
        var handle: pthread_t? = nil
        #endif
        let err = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(err == 0, "pthread_create failed: \(err)")
        #if canImport(Glibc)
        self.handle = handle
        #else
        self.handle = handle!
        #endif
    }

    /// Waits for the thread to finish.
    func join() {
        let err = pthread_join(handle, nil)
        precondition(err == 0, "pthread_join failed: \(err)")
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

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
}

/// A value shared between threads, guarded by a pthread mutex (see `Posix.swift` for why not
/// `Synchronization.Mutex`).
final class Locked<Value>: @unchecked Sendable {
    private let mutex = PosixMutex()
    private var value: Value  // guarded by mutex

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
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
