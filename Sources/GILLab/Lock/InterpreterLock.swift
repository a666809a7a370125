import Synchronization

/*
 Notes about the implementation
 ==============================

 This is the "new GIL" of CPython 3.2 and later (Antoine Pitrou, `Python/ceval_gil.c`), written
 again in Swift with the same state and the same steps, so that what GILLab measures is what
 CPython does.

 - The lock is a `locked` flag guarded by a mutex, with a condition variable (`cond`) that
   waiters sleep on. It is not a plain mutex because a plain mutex gives no say in who gets it
   next, and the protocol below needs that say.

 - A thread that wants the lock while another holds it waits on `cond` for at most the switch
   interval (5 ms by default). If the wait times out, the lock is still held, and no switch has
   happened meanwhile (`switchNumber` has not moved), the waiter sets the drop request. Setting
   it also sets the eval breaker, the one word the holder polls.

 - The holder polls the eval breaker at checkpoints only: in CPython 3.10+ these are backward
   jumps and calls in the eval loop. A thread inside a C call that keeps the lock polls nothing,
   so it cannot be asked to let go until it returns. When the holder sees the request it drops
   the lock and takes it again; the waiter it wakes gets it first because of the next point.

 - FORCE_SWITCHING. On a multicore machine the dropper is running and the woken waiter is not,
   so the dropper would usually win the lock straight back. To prevent that, a thread that
   drops while a drop request is pending waits on a second condition variable (`switchCond`)
   until `lastHolder` shows that another thread has taken the lock. A thread that releases for
   the last time (thread exit) does not wait, as in CPython (gh-104341).

 - Releasing around blocking work (Py_BEGIN_ALLOW_THREADS) is a drop followed later by a take
   that goes through the same protocol. So a thread coming back from I/O while a CPU-bound
   thread holds the lock waits up to one whole interval before it can even ask: the convoy
   effect, bpo-7946, which CPython never fixed.

 - `switchNumber` counts acquisitions by a thread other than the previous holder. A waiter
   compares it across its timed wait so that it does not ask for a drop when the lock has
   changed hands in the meantime and the new holder has had less than an interval.

 Other policies share the state and differ in take and drop:

 - `legacy-gil` (CPython 2): take waits on `cond` with no timeout and sets no drop request; drop
   clears `locked` and signals. The holder lets go every `checkInterval` checkpoints and asks
   again at once. Nothing hands the lock over, so the releaser, still running, usually wins.
   Its checkpoints find a permanent "ticker" bit in the eval breaker, which sends them to the
   slow path that counts ticks, so `new-gil`'s fast path stays one load.
 - `free` (PEP 703): take and drop only count. There is no mutual exclusion.

 Lock order: `mutex` before `switchMutex`. `take` holds both while it publishes the new holder;
 `drop` takes `switchMutex` alone, after it has let `mutex` go.
*/

/// A simulated global interpreter lock.
///
/// One `InterpreterLock` plays the part of CPython's `_gil_runtime_state`: one per interpreter.
/// Threads do not take it directly; each makes a ``ThreadState`` (CPython's `PyThreadState`)
/// and acquires, polls and releases through that.
///
/// ```swift
/// let gil = InterpreterLock()
/// let thread = gil.makeThreadState(name: "worker-1")
/// thread.acquire()
/// for item in work {
///     thread.checkpoint()                 // where CPython polls the eval breaker
///     try thread.withoutLock { try kernel(item) }   // Py_BEGIN/END_ALLOW_THREADS
/// }
/// thread.detach()
/// ```
public final class InterpreterLock: Sendable {
    /// The policy and switch interval this lock was made with.
    public let configuration: LockConfiguration
    let state: LockState

    /// Creates a lock with the given configuration (CPython's defaults unless told otherwise).
    public init(configuration: LockConfiguration = .default) {
        self.configuration = configuration
        self.state = LockState(configuration)
    }

    /// Makes the state for a new thread of this interpreter. The thread does not hold the lock yet.
    /// - Parameter name: shown in statistics and in trap messages.
    public func makeThreadState(name: String? = nil) -> ThreadState {
        ThreadState(lock: self, id: state.nextThreadID(), name: name)
    }

    /// A consistent snapshot of the lock's counters.
    public var statistics: LockStatistics { state.snapshot() }

    /// Zeroes the lock's counters; the lock's state is untouched.
    public func resetStatistics() { state.resetCounters() }

    /// Whether a drop request is pending. Cheap; for tests and diagnostics.
    public var isDropRequested: Bool { state.isDropRequested }
}

/// Why a holder lets the lock go. Statistics and, later, event hooks report it.
public enum ReleaseReason: Sendable, Equatable {
    /// A checkpoint saw the drop request.
    case dropRequest
    /// The thread releases around a kernel call.
    case kernel
    /// The thread releases around blocking I/O.
    case io
    /// The thread is done with the lock for now, as at the end of a `withLock` scope.
    case end
    /// `legacy-gil`'s periodic release, every check interval.
    case tick
    /// The thread is done with the lock for good; no forced switch.
    case exit
}

// MARK: - State

/// The lock's shared state. `@unchecked Sendable` is confined here: every mutable field below
/// is guarded as its comment says, and the eval breaker is atomic.
final class LockState: @unchecked Sendable {
    let policy: LockPolicy
    let switchIntervalNanoseconds: UInt64
    let checkInterval: Int

    let mutex = PosixMutex()
    /// Waiters for the lock sleep here (CPython's `gil->cond`).
    let cond = PosixCondition()
    /// Guarded by `mutex`.
    var locked = false
    /// Guarded by `mutex`. Threads sleeping on `cond`.
    var waiters = 0
    /// Guarded by `mutex`.
    var switchNumber: UInt64 = 0
    /// Guarded by `mutex`.
    var counters = LockStatistics()

    let switchMutex = PosixMutex()
    /// A dropper on request sleeps here until another thread has the lock (FORCE_SWITCHING).
    let switchCond = PosixCondition()
    /// The id of the last holder. Written under `mutex`, and under `switchMutex` too for
    /// `new-gil`, whose forced-switch dropper reads it under `switchMutex` alone.
    var lastHolder = 0
    /// Guarded by `switchMutex`.
    var forcedSwitches: UInt64 = 0

    /// Bit 0 is the drop request; bit 1, always set under `legacy-gil`, sends every checkpoint
    /// to the tick counter. The holder polls this word at every checkpoint.
    let evalBreaker = Atomic<UInt32>(0)
    static let dropRequestBit: UInt32 = 1
    static let tickerBit: UInt32 = 2

    private let threadIDs = Atomic<Int>(0)

    init(_ configuration: LockConfiguration) {
        policy = configuration.policy
        switchIntervalNanoseconds = max(configuration.switchIntervalNanoseconds, 1)
        checkInterval = configuration.checkInterval
        if policy == .legacyGIL { evalBreaker.store(Self.tickerBit, ordering: .relaxed) }
    }

    func nextThreadID() -> Int {
        threadIDs.wrappingAdd(1, ordering: .relaxed).newValue
    }

    var isDropRequested: Bool {
        evalBreaker.load(ordering: .relaxed) & Self.dropRequestBit != 0
    }

    // CPython's SET_GIL_DROP_REQUEST / RESET_GIL_DROP_REQUEST. Relaxed is enough: the request is
    // a hint, and the handoff itself is ordered by `mutex`.
    func setDropRequest() {
        evalBreaker.bitwiseOr(Self.dropRequestBit, ordering: .relaxed)
    }

    func resetDropRequest() {
        evalBreaker.bitwiseAnd(~Self.dropRequestBit, ordering: .relaxed)
    }

    func resetCounters() {
        mutex.lock()
        counters = LockStatistics()
        switchMutex.lock()
        forcedSwitches = 0
        switchMutex.unlock()
        mutex.unlock()
    }

    func snapshot() -> LockStatistics {
        mutex.lock()
        var copy = counters
        switchMutex.lock()
        copy.forcedSwitches = forcedSwitches
        switchMutex.unlock()
        mutex.unlock()
        return copy
    }

    // MARK: - take and drop

    /// Records `threadID` as the holder; `mutex` must be held. Returns whether the holder
    /// changed, which is what `switchNumber` counts.
    private func noteHolder(_ threadID: Int) -> Bool {
        guard lastHolder != threadID else { return false }
        lastHolder = threadID
        switchNumber &+= 1
        return true
    }

    /// Takes the lock for `thread`, following CPython's `take_gil`.
    /// - Returns: what the thread should add to its own counters.
    func take(threadID: Int) -> (waited: UInt64?, switched: Bool, requested: UInt64) {
        let start = monotonicNanoseconds()
        var contended = false
        var requested: UInt64 = 0
        mutex.lock()
        switch policy {
        case .free:
            // No exclusion: count, note the holder, and go.
            let switched = noteHolder(threadID)
            counters.recordAcquisition(waitedNanoseconds: nil, switched: switched)
            mutex.unlock()
            return (nil, switched, 0)
        case .legacyGIL:
            // A plain lock: wait as long as it takes, ask nobody to drop.
            if locked {
                contended = true
                waiters += 1
                while locked { cond.wait(mutex) }
                waiters -= 1
            }
            locked = true
            let switched = noteHolder(threadID)
            let waited = contended ? monotonicNanoseconds() - start : nil
            counters.recordAcquisition(waitedNanoseconds: waited, switched: switched)
            mutex.unlock()
            return (waited, switched, 0)
        case .newGIL:
            break
        }
        if locked {
            contended = true
            waiters += 1
            while locked {
                let saved = switchNumber
                let timedOut = cond.wait(mutex, nanoseconds: switchIntervalNanoseconds)
                // A whole interval passed with the same holder: ask it to drop.
                if timedOut && locked && switchNumber == saved {
                    setDropRequest()
                    requested += 1
                }
            }
            waiters -= 1
        }

        // Publish the new holder under switchMutex, so a forced-switch dropper that checks
        // lastHolder either sees us or is already waiting for the signal below.
        switchMutex.lock()
        locked = true
        let switched = noteHolder(threadID)
        switchCond.signal()
        switchMutex.unlock()

        // A pending request was aimed at the previous holder; it is served.
        if isDropRequested { resetDropRequest() }

        let waited = contended ? monotonicNanoseconds() - start : nil
        counters.recordAcquisition(waitedNanoseconds: waited, switched: switched)
        counters.dropRequests += requested
        mutex.unlock()
        return (waited, switched, requested)
    }

    /// Lets the lock go, following CPython's `drop_gil`.
    /// - Returns: whether this drop waited for another thread to take the lock.
    func drop(threadID: Int, heldNanoseconds: UInt64, reason: ReleaseReason) -> Bool {
        mutex.lock()
        counters.totalHoldNanoseconds += heldNanoseconds
        if policy == .free {
            mutex.unlock()
            return false
        }
        precondition(locked, "drop: the interpreter lock is not locked")
        locked = false
        cond.signal()
        mutex.unlock()
        if policy == .legacyGIL { return false }  // no handoff: that is the point

        // FORCE_SWITCHING: a drop while a request is pending waits until someone else has taken
        // the lock, or the dropper would usually take it straight back.
        guard reason != .exit, isDropRequested else { return false }
        var forced = false
        switchMutex.lock()
        if lastHolder == threadID {
            resetDropRequest()
            forcedSwitches += 1
            forced = true
            // One wait, not a loop, as in CPython: a spurious wake-up only costs a lost handoff.
            switchCond.wait(switchMutex)
        }
        switchMutex.unlock()
        return forced
    }
}
