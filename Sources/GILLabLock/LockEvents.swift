// Event hooks: who holds the lock, who waits, and for how long, as Ruby 3.2's GVL
// instrumentation API reports it (RUBY_INTERNAL_THREAD_EVENT_READY, _RESUMED, _SUSPENDED), and
// what gil_load and gilknocker sample from outside.
//
// Each thread state asks the hook once, when it is made, for a sink of its own, and then hands
// every event of that thread to that sink, on that thread, in order. A sink is never shared, so a
// recorder appends to a plain array with no lock and no atomic. With no hook installed a thread
// state has no sink, and an event costs one test of an optional that is nil.
//
// The timestamps are the very clock reads the statistics use, so a timeline and the counters
// agree to the nanosecond: per thread, hold + wait + released spans the thread's life.

/// One thing that happened to the interpreter lock.
public struct LockEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// The thread state was made (or its statistics were reset, see
        /// ``ThreadState/resetStatistics()``).
        case threadStart
        /// The thread asked for the lock: it waits from here until ``acquired``.
        case wants
        /// The thread holds the lock.
        case acquired
        /// The thread let the lock go, and why.
        case released(ReleaseReason)
        /// The thread is done with the lock for good (``ThreadState/detach()``).
        case threadExit
        /// The thread is now at another place in its code: an index into the lock's
        /// ``InterpreterLock/locations`` (``LockLocations/glue``, 0, when it is in none). Only
        /// changes are recorded, when the thread passes a poll point or enters a native call
        /// (``ThreadState/enter(location:)``), so a hold is at the last location recorded before
        /// or during it: what ``WaitAttribution`` charges others' waits to.
        case location(Int)
        /// The thread, waiting, asked the holder to drop: CPython's `SET_GIL_DROP_REQUEST`.
        /// `holder` is the ``ThreadState/id`` of the thread it asked.
        case dropRequest(holder: Int)
    }

    /// What happened.
    public var kind: Kind
    /// When, in nanoseconds on the lock's clock: the CPU's invariant time-stamp counter
    /// calibrated against `CLOCK_MONOTONIC`, or that clock itself (``LockClock/source`` says which).
    public var nanoseconds: UInt64
    /// The ``ThreadState/id`` of the thread it happened to.
    public var threadID: Int

    /// Creates an event.
    public init(_ kind: Kind, at nanoseconds: UInt64, thread threadID: Int) {
        self.kind = kind
        self.nanoseconds = nanoseconds
        self.threadID = threadID
    }
}

/// Where one thread's events go. Called only on that thread, in event order, so an
/// implementation needs no synchronization of its own.
public protocol LockEventSink: AnyObject {
    /// Receives one event. It runs inside the lock's take and drop paths (never under the lock's
    /// internal mutex), so it should be quick: append to a buffer, bump a counter.
    func record(_ event: LockEvent)
}

/// A subscription to an ``InterpreterLock``'s events, given when the lock is made.
///
/// ```swift
/// let recorder = LockEventRecorder()
/// let gil = InterpreterLock(configuration: .default, eventHook: recorder)
/// // … threads acquire, release, detach …
/// for thread in recorder.threads { print(thread.name, thread.events.count) }
/// ```
public protocol LockEventHook: AnyObject, Sendable {
    /// Called once for each thread state the lock makes, on the thread that makes it; returns
    /// where that thread's events go.
    func sink(forThread id: Int, name: String) -> any LockEventSink

    /// The same, also told which interpreter the thread joined (always 0 except under
    /// `per-interpreter`, whose interpreters each have a lock of their own). The lock calls this
    /// one; by default it calls ``sink(forThread:name:)``.
    func sink(forThread id: Int, name: String, interpreter: Int) -> any LockEventSink
}

extension LockEventHook {
    public func sink(forThread id: Int, name: String, interpreter: Int) -> any LockEventSink {
        sink(forThread: id, name: name)
    }
}

/// A hook that calls one closure for every event of every thread. The closure runs on the
/// thread the event happened to, so calls for different threads may run at the same time.
public final class LockEventCallback: LockEventHook {
    private let body: @Sendable (LockEvent) -> Void

    /// Creates a hook that calls `body` for every event.
    public init(_ body: @escaping @Sendable (LockEvent) -> Void) {
        self.body = body
    }

    public func sink(forThread id: Int, name: String) -> any LockEventSink {
        Forwarder(body)
    }

    private final class Forwarder: LockEventSink {
        let body: @Sendable (LockEvent) -> Void
        init(_ body: @escaping @Sendable (LockEvent) -> Void) { self.body = body }
        func record(_ event: LockEvent) { body(event) }
    }
}

/// Records every thread's events into a buffer of its own, to be read after the threads are
/// done: the recorder behind `gillab run --trace`.
///
/// Recording costs an append to a preallocated array per event. Reading is for after the
/// recorded threads have finished (joined); reading while they run is a data race.
public final class LockEventRecorder: LockEventHook, @unchecked Sendable {
    /// One thread's recording.
    public final class ThreadRecording: LockEventSink {
        /// The thread's ``ThreadState/id``.
        public let id: Int
        /// The thread's name.
        public let name: String
        /// The interpreter it joined: 0 except under `per-interpreter`.
        public let interpreter: Int
        /// Its events, oldest first; at most the recorder's `eventsPerThread`.
        public private(set) var events: [LockEvent] = []
        /// Events past the limit, counted but not kept.
        public private(set) var dropped = 0
        private let limit: Int

        init(id: Int, name: String, interpreter: Int, limit: Int) {
            self.id = id
            self.name = name
            self.interpreter = interpreter
            self.limit = limit
            events.reserveCapacity(min(limit, 4_096))
        }

        public func record(_ event: LockEvent) {
            if events.count < limit { events.append(event) } else { dropped += 1 }
        }
    }

    /// Events kept per thread; later ones are only counted.
    public let eventsPerThread: Int
    private let mutex = PosixMutex()
    /// Guarded by `mutex`.
    private var recordings: [ThreadRecording] = []

    /// Creates a recorder that keeps up to `eventsPerThread` events of each thread (about
    /// 32 bytes each).
    public init(eventsPerThread: Int = 1_000_000) {
        self.eventsPerThread = max(eventsPerThread, 1)
    }

    public func sink(forThread id: Int, name: String) -> any LockEventSink {
        sink(forThread: id, name: name, interpreter: 0)
    }

    public func sink(forThread id: Int, name: String, interpreter: Int) -> any LockEventSink {
        let recording = ThreadRecording(id: id, name: name, interpreter: interpreter, limit: eventsPerThread)
        mutex.lock()
        recordings.append(recording)
        mutex.unlock()
        return recording
    }

    /// Every thread's recording, in the order the threads were made. Read after they finish.
    public var threads: [ThreadRecording] {
        mutex.lock()
        defer { mutex.unlock() }
        return recordings
    }
}
