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
 - `per-interpreter` (PEP 684): one `new-gil` state per interpreter. A thread is bound to
   interpreter `(id - 1) % interpreters` when it is made, and only ever takes that lock.
 - `io-priority`, GILLab's fix for the convoy. A thread coming back from a release for I/O
   takes with priority: if the holder has held the lock for `minimumSlice` (a tenth of the
   switch interval) it sets the drop request at once, and otherwise it waits only until that
   point. Drops wake every waiter (broadcast), and a free lock goes to the highest-ranked
   waiter: starving, then priority, then the rest. A waiter that has waited a whole switch
   interval becomes starving, and nobody, priority threads included, takes the lock before it.
   The bound that gives, however many I/O threads there are: a CPU-bound thread waits at most
   one switch interval plus the time the holder needs to reach its next checkpoint, as
   `new-gil` intends, and once it holds the lock no priority request preempts it before
   `minimumSlice`. So a stream of I/O threads costs a CPU-bound thread at most one drop per
   `minimumSlice` of its running time, and never all of it.

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
///
/// Under `per-interpreter` one `InterpreterLock` stands for the whole runtime: it holds one lock
/// per interpreter and binds each new thread state to one of them, round-robin.
public final class InterpreterLock: Sendable {
    /// The policy and switch interval this lock was made with.
    public let configuration: LockConfiguration
    /// One state per interpreter: one, except under `per-interpreter`.
    let states: [LockState]
    private let threadIDs = Atomic<Int>(0)
    /// Who hears the lock's events; `nil` costs each event one test.
    public let eventHook: (any LockEventHook)?

    /// The first interpreter's state; the only one unless the policy is `per-interpreter`.
    var state: LockState { states[0] }

    /// Creates a lock with the given configuration (CPython's defaults unless told otherwise).
    /// - Parameters:
    ///   - configuration: the policy and its settings.
    ///   - eventHook: hears every thread's events (``LockEvent``); threads made later get a sink
    ///     from it. `nil`, the default, records nothing.
    public init(configuration: LockConfiguration = .default, eventHook: (any LockEventHook)? = nil) {
        ThreadState.installCHooks
        self.configuration = configuration
        self.eventHook = eventHook
        self.states = (0..<configuration.lockCount).map { _ in LockState(configuration) }
    }

    /// Makes the state for a new thread. The thread does not hold the lock yet. Under
    /// `per-interpreter` the thread joins interpreter `(id - 1) % interpreters`.
    /// - Parameter name: shown in statistics and in trap messages.
    public func makeThreadState(name: String? = nil) -> ThreadState {
        let id = threadIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let interpreter = (id - 1) % states.count
        let name = name ?? "thread-\(id)"
        return ThreadState(lock: self, state: states[interpreter], interpreter: interpreter, id: id, name: name,
                           sink: eventHook?.sink(forThread: id, name: name))
    }

    /// A consistent snapshot of the lock's counters, summed over the interpreters.
    public var statistics: LockStatistics {
        states.reduce(LockStatistics()) { $0.adding($1.snapshot()) }
    }

    /// One snapshot per interpreter, in interpreter order.
    public var statisticsByInterpreter: [LockStatistics] { states.map { $0.snapshot() } }

    /// Zeroes the lock's counters; the lock's state is untouched.
    public func resetStatistics() { states.forEach { $0.resetCounters() } }

    /// Whether a drop request is pending in any interpreter. Cheap; for tests and diagnostics.
    public var isDropRequested: Bool { states.contains { $0.isDropRequested } }
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
    /// How take and drop behave; `per-interpreter` runs `new-gil` in each interpreter.
    enum Handoff { case newGIL, legacyGIL, free, ioPriority }

    /// `io-priority`'s waiter ranks. A free lock goes to a waiter that nobody outranks.
    enum Rank: Int { case normal, priority, starving }

    let handoff: Handoff
    let switchIntervalNanoseconds: UInt64
    let checkInterval: Int
    /// `io-priority`: how long a holder keeps the lock before a thread back from I/O may ask it
    /// to drop. A tenth of the switch interval: 500 µs by default.
    let minimumSliceNanoseconds: UInt64

    let mutex = PosixMutex()
    /// Waiters for the lock sleep here (CPython's `gil->cond`).
    let cond = PosixCondition()
    /// Guarded by `mutex`.
    var locked = false {
        didSet { lockedMirror.store(locked, ordering: .relaxed) }
    }
    /// `locked`, readable without `mutex`, for a spinning waiter.
    let lockedMirror = Atomic<Bool>(false)
    /// Fast handoff: how long a waiter spins before it sleeps; 0 sleeps at once.
    let spinNanoseconds: UInt64
    /// Guarded by `mutex`. Threads sleeping on `cond`.
    var waiters = 0
    /// Guarded by `mutex`.
    var switchNumber: UInt64 = 0
    /// Guarded by `mutex`.
    var counters = LockStatistics()
    /// Guarded by `mutex`. When the current holder took the lock.
    var heldSince: UInt64 = 0
    /// Guarded by `mutex`. When the last holder's hold ended (its release's clock read). An
    /// uncontended take starts its hold at max(its own request, this), with no clock read of
    /// its own, and still never overlaps the hold before it.
    var lastDropAt: UInt64 = 0
    /// Guarded by `mutex`. `io-priority`'s waiters, counted by rank.
    var waitingByRank = [0, 0, 0]
    /// Guarded by `mutex`. Threads between finding the lock held and taking it, spinners
    /// included (`waiters` counts only the sleepers, which is what signalling needs).
    var waitingThreads = 0
    /// Guarded by `mutex`. Since when `waitingThreads` has been above zero.
    var someoneWaitingSince: UInt64 = 0
    /// Guarded by `mutex`. When `waitingThreads` last fell to zero.
    var someoneWaitingEnded: UInt64 = 0

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

    init(_ configuration: LockConfiguration) {
        handoff = switch configuration.policy {
        case .newGIL, .perInterpreter: .newGIL
        case .legacyGIL: .legacyGIL
        case .free: .free
        case .ioPriority: .ioPriority
        }
        switchIntervalNanoseconds = max(configuration.switchIntervalNanoseconds, 1)
        minimumSliceNanoseconds = max(switchIntervalNanoseconds / 10, 1)
        checkInterval = configuration.checkInterval
        spinNanoseconds = configuration.spin.wholeNanoseconds
        if handoff == .legacyGIL { evalBreaker.store(Self.tickerBit, ordering: .relaxed) }
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
        if waitingThreads > 0 { someoneWaitingSince = monotonicNanoseconds() }
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

    /// Counts the caller among the waiters (gil_load's "someone is waiting"); `mutex` held.
    private func beginWaiting(since start: UInt64) {
        // `start` was read before the mutex was taken, so it may fall inside the last waiting
        // span; starting from that span's end keeps the spans from overlapping.
        if waitingThreads == 0 { someoneWaitingSince = max(start, someoneWaitingEnded) }
        waitingThreads += 1
    }

    /// The caller, a waiter, took the lock at `now`; `mutex` held.
    private func endWaiting(at now: UInt64) {
        waitingThreads -= 1
        if waitingThreads == 0 {
            counters.someoneWaitingNanoseconds += now &- min(someoneWaitingSince, now)
            someoneWaitingEnded = max(someoneWaitingEnded, now)
        }
    }

    /// Takes the lock for `thread`, following CPython's `take_gil`.
    /// - Parameters:
    ///   - priority: the thread is coming back from a release for I/O; only `io-priority`
    ///     acts on it.
    ///   - start: when the thread asked, on the monotonic clock; waits are measured from it.
    /// - Returns: what the thread should add to its own counters, and when it got the lock.
    func take(threadID: Int, priority: Bool = false, since start: UInt64) -> (LockStatistics, acquiredAt: UInt64) {
        var mine = LockStatistics()
        var contended = false
        mutex.lock()
        switch handoff {
        case .free:
            // No exclusion: count, note the holder, and go.
            mine.recordAcquisition(waitedNanoseconds: nil, switched: noteHolder(threadID))
            counters.add(mine)
            mutex.unlock()
            return (mine, start)
        case .legacyGIL:
            // A plain lock: wait as long as it takes, ask nobody to drop.
            if locked {
                contended = true
                beginWaiting(since: start)
                waiters += 1
                while locked { cond.wait(mutex) }
                waiters -= 1
            }
            locked = true
            let switched = noteHolder(threadID)
            let now = contended ? monotonicNanoseconds() : max(start, lastDropAt)
            if contended { endWaiting(at: now) }
            mine.recordAcquisition(waitedNanoseconds: contended ? now - start : nil, switched: switched)
            counters.add(mine)
            mutex.unlock()
            return (mine, now)
        case .newGIL, .ioPriority:
            break
        }

        var rank: Rank = handoff == .ioPriority && priority ? .priority : .normal
        if locked && spinNanoseconds > 0 && handoff == .newGIL {
            // Fast handoff: watch the holder for a moment before sleeping, as an adaptive mutex
            // does. A holder that drops soon (a short kernel, a checkpoint) hands over without a
            // futex wake-up; a long holder costs one spin, then the usual sleep.
            // The dropper clears `locked` before it lets `mutex` go, so a spinner that saw the
            // lock free would find `mutex` still held and sleep on it (a default pthread mutex
            // does not spin): the very futex wake-up the spin is there to avoid. So it keeps
            // spinning, on trylock, for what is left of its spin.
            contended = true
            beginWaiting(since: start)
            mutex.unlock()
            let until = start &+ spinNanoseconds
            var owned = false
            while monotonicNanoseconds() < until {
                if !lockedMirror.load(ordering: .relaxed) && mutex.tryLock() {
                    owned = true
                    break
                }
            }
            if !owned { mutex.lock() }
        }
        if locked || isOutranked(rank) {
            if !contended { beginWaiting(since: start) }
            contended = true
            waiters += 1
            waitingByRank[rank.rawValue] += 1
            while locked || isOutranked(rank) {
                let saved = switchNumber
                var timeout = switchIntervalNanoseconds
                if rank == .priority && locked {
                    // Back from I/O: ask at once, once the holder has had its minimum slice.
                    let held = monotonicNanoseconds() &- heldSince
                    if held < minimumSliceNanoseconds {
                        timeout = minimumSliceNanoseconds - held
                    } else {
                        if !isDropRequested {
                            setDropRequest()
                            mine.dropRequests += 1
                            mine.priorityRequests += 1
                        }
                        timeout = minimumSliceNanoseconds  // look again if a third thread gets it
                    }
                }
                let timedOut = cond.wait(mutex, nanoseconds: timeout)
                guard timedOut, rank != .priority else { continue }
                // A whole interval passed with the same holder: ask it to drop.
                if locked && switchNumber == saved {
                    setDropRequest()
                    mine.dropRequests += 1
                }
                // io-priority's bound: after a whole interval of waiting, nobody goes first.
                if handoff == .ioPriority && rank == .normal
                    && monotonicNanoseconds() - start >= switchIntervalNanoseconds {
                    waitingByRank[rank.rawValue] -= 1
                    rank = .starving
                    waitingByRank[rank.rawValue] += 1
                    mine.starvedWaiters += 1
                }
            }
            waitingByRank[rank.rawValue] -= 1
            waiters -= 1
        }

        // Publish the new holder under switchMutex, so a forced-switch dropper that checks
        // lastHolder either sees us or is already waiting for the signal below. A thread taking
        // the lock back from itself changes no holder, and no dropper can be waiting for it:
        // a dropper waits only while it is itself the last holder.
        let switched: Bool
        if lastHolder == threadID {
            locked = true
            switched = false
        } else {
            switchMutex.lock()
            locked = true
            switched = noteHolder(threadID)
            switchCond.signal()
            switchMutex.unlock()
        }
        // Uncontended, the hold began when the thread asked, or when the hold before it ended if
        // that came later (the thread read the clock, then another held and dropped the lock
        // before this one got the mutex): no second clock read.
        heldSince = contended ? monotonicNanoseconds() : max(start, lastDropAt)
        if contended { endWaiting(at: heldSince) }

        // A pending request was aimed at the previous holder; it is served.
        if isDropRequested { resetDropRequest() }

        mine.recordAcquisition(waitedNanoseconds: contended ? heldSince - start : nil, switched: switched)
        counters.add(mine)
        mutex.unlock()
        return (mine, heldSince)
    }

    /// The lock's state in one line, read under its mutexes: what a watchdog prints when no
    /// thread makes progress.
    var stateDump: String {
        mutex.lock()
        switchMutex.lock()
        let line = "locked=\(locked) lastHolder=\(lastHolder) sleepers=\(waiters) waiting=\(waitingThreads) "
            + "switchNumber=\(switchNumber) dropRequested=\(isDropRequested) waitingByRank=\(waitingByRank) "
            + "acquisitions=\(counters.acquisitions) forcedSwitches=\(forcedSwitches)"
        switchMutex.unlock()
        mutex.unlock()
        return line
    }

    /// Threads waiting for the lock now, spinners included; for tests and diagnostics.
    var waitingCount: Int {
        mutex.lock()
        defer { mutex.unlock() }
        return waitingThreads
    }

    /// `io-priority`'s waiters by rank, read under the mutex; for tests.
    var waitingByRankSnapshot: [Int] {
        mutex.lock()
        defer { mutex.unlock() }
        return waitingByRank
    }

    /// Whether a waiter of higher rank than `rank` is waiting; `mutex` must be held.
    private func isOutranked(_ rank: Rank) -> Bool {
        guard handoff == .ioPriority else { return false }
        return waitingByRank[(rank.rawValue + 1)...].contains { $0 > 0 }
    }

    /// Lets the lock go, following CPython's `drop_gil`.
    /// - Returns: whether this drop waited for another thread to take the lock.
    /// - Parameter releasedAt: the clock read that ended the hold.
    func drop(threadID: Int, heldNanoseconds: UInt64, reason: ReleaseReason, at releasedAt: UInt64) -> Bool {
        mutex.lock()
        counters.totalHoldNanoseconds += heldNanoseconds
        lastDropAt = max(lastDropAt, releasedAt)
        if handoff == .free {
            mutex.unlock()
            return false
        }
        precondition(locked, "drop: the interpreter lock is not locked")
        locked = false
        // io-priority wakes everyone, so that the waiter who should go first is among them.
        // With nobody asleep there is nobody to wake (a spinner watches `lockedMirror`).
        if waiters > 0 {
            if handoff == .ioPriority { cond.broadcast() } else { cond.signal() }
        }
        mutex.unlock()
        if handoff == .legacyGIL { return false }  // no handoff: that is the point

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
