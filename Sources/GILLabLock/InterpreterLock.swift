import Synchronization

/*
 Notes about the implementation
 ==============================

 This is the "new GIL" of CPython 3.2 and later (Antoine Pitrou; `Python/ceval_gil.h` until 3.11,
 `Python/ceval_gil.c` since 3.12), written again in Swift with the same state and the same steps,
 so that what GILLab measures is what CPython does. Where 3.11 and 3.12+ differ, GILLab follows
 3.12+ for a thread's final release and 3.11 for where the eval breaker is polled; both are
 below.

 - The lock is a `locked` flag with a mutex and a condition variable (`cond`) that waiters
   sleep on. It is not a plain mutex because a plain mutex gives no say in who gets it next,
   and the protocol below needs that say.

 - A thread that wants the lock while another holds it waits on `cond` for at most the switch
   interval (5 ms by default). If the wait times out, the lock is still held, and no switch has
   happened meanwhile (`switchNumber` has not moved), the waiter sets the drop request. Setting
   it also sets the eval breaker, the one word the holder polls. A request already pending is
   left as it is and not counted again: CPython's SET_GIL_DROP_REQUEST (3.11 `Python/ceval.c`)
   just stores 1, so `dropRequests` counts only the sets that found it clear.

 - The holder polls the eval breaker at checkpoints only. GILLab's eval loop has them where
   CPython 3.11's `Python/ceval.c` runs CHECK_EVAL_BREAKER: RESUME at a frame's entry, after
   JUMP_BACKWARD, and after a CALL whose callee is native has returned (a Python callee is
   polled by its own RESUME; 3.11 does not poll on its return). 3.13's `Python/bytecodes.c`
   polls JUMP_BACKWARD before the jump instead of after; GILLab follows 3.11. A thread inside a
   C call that keeps the lock polls nothing, so it cannot be asked to let go until it returns.
   When the holder sees the request it drops the lock and takes it again; the waiter it wakes
   gets it first because of the next point.

 - FORCE_SWITCHING. On a multicore machine the dropper is running and the woken waiter is not,
   so the dropper would usually win the lock straight back. To prevent that, a thread that
   drops while a drop request is pending waits on a second condition variable (`switchCond`)
   until `lastHolder` shows that another thread has taken the lock. A thread that releases for
   the last time (thread exit) does not wait. That is CPython 3.12+: since gh-104341, 3.12's
   `Python/pystate.c` passes a NULL tstate to the final release, and 3.12's `drop_gil` skips the
   wait for it (later versions pass an explicit `final_release` flag, gh-118727). In 3.11 (`Python/ceval.c`,
   `Python/ceval_gil.h`) the final `drop_gil` gets the thread's tstate and can wait for the
   handoff like any other.

 - Releasing around blocking work (Py_BEGIN_ALLOW_THREADS) is a drop like any other, followed
   later by a take that goes through the same protocol. Usually no request is pending then and
   the drop does not wait; but if a waiter has already timed out and set one, the drop waits
   for the handoff too, here as in CPython, whose `drop_gil` (3.12 `Python/ceval_gil.c`) does
   not ask why the thread releases. So a thread coming back from I/O while a CPU-bound thread
   holds the lock waits up to one whole interval before it can even ask: the convoy effect,
   bpo-7946, which CPython never fixed.

 - `switchNumber` counts acquisitions by a thread other than the previous holder. A waiter
   compares it across its timed wait so that it does not ask for a drop when the lock has
   changed hands in the meantime and the new holder has had less than an interval.

 The lock word and the fast path (not in CPython, and no change to what it does):

 - `locked`, a "someone waits" bit and `last_holder` share one atomic word. CPython takes its
   mutex on every take and drop, three lock/unlock pairs per round trip. Here the commonest
   round trip, a thread releasing around a kernel and taking the lock back while nobody wants
   it, is one compare-and-swap each way: a take succeeds only if the word says "free, last held
   by me, nobody waiting" and no drop request is pending, which are exactly the cases where
   CPython's take_gil would take the free lock at once and change nothing else; a drop succeeds
   only if nobody waits and no request is pending, where drop_gil's signal would wake nobody
   and no forced switch follows. Everything else takes the slow path below, unchanged. A waiter,
   asleep or spinning, sets the "someone waits" bit under the mutex before it looks at `locked`
   again, so a drop either fails its compare-and-swap and goes the slow way, which wakes it, or
   came first and the waiter sees the lock free. With anyone waiting, then, every take and drop
   goes through the mutex as before, and contention plays out exactly as without the fast path.
 - With `LockTiming.untimed` the fast path also skips the clock: statistics count instead of
   timing, except contended waits, which sleep anyway.

 Other policies share the state and differ in take and drop:

 - `legacy-gil` (CPython 2.7): a plain lock with no handoff, as 2.7's (on Linux a POSIX
   semaphore, 2.7 `Python/thread_pthread.h`). Take waits on `cond` with no timeout and sets no
   drop request; drop clears `locked` and signals. One ticker per lock, `ticker`, plays 2.7's
   global `_Py_Ticker` (2.7 `Python/ceval.c`): it starts at 0, every checkpoint decrements it,
   and when it goes below 0 it is reset to `checkInterval` and the holder releases and at once
   asks again. So a release comes every `checkInterval` + 1 ticks (101 by default). The
   interpreter ticks where 2.7's eval loop does, once per opcode that goes back to the top of
   the loop (the table is on `Instruction.python27Ticks(before:)`); other code ticks once per
   `checkpoint()`. Nothing hands the lock over, so the releaser, still running, usually wins.
   Its checkpoints find a permanent "ticker" bit in the eval breaker, which sends them to the
   slow path that counts ticks, so `new-gil`'s fast path stays one load.
 - `free` (PEP 703, CPython 3.13t): no mutual exclusion. Take and drop are 3.13t's attach and
   detach (`Python/pystate.c`): a compare-and-swap on the thread's own state word, no shared
   mutex. For its statistics GILLab adds one atomic add per attach and one subtract per detach
   on a shared word, `attachments` (plus, when timed, the hold's length on detach, and two more
   counters when an attach finds another thread attached): enough to count the attaches that
   found another thread attached, each of which would have been a wait under a GIL, and the
   most threads attached at once. No wait, and no switch, is ever recorded.
 - `per-interpreter` (PEP 684): one `new-gil` state per interpreter. A thread is bound when its
   state is made, to the interpreter its maker names or, with none named, to interpreter
   `(id - 1) % interpreters` in the order the states are made; it only ever takes that lock.
 - `io-priority`, GILLab's fix for the convoy. A thread coming back from a release for I/O
   takes with priority: if the holder has held the lock for `minimumSlice` (a tenth of the
   switch interval) it sets the drop request at once, and otherwise it waits only until that
   point. Drops wake every waiter (broadcast). Threads back from I/O go before CPU-bound
   waiters, and a starving waiter goes before threads back from I/O; one back from I/O that a
   starving waiter outranks still asks the holder to drop (which serves that waiter first) and
   looks again once the new holder has had its minimum slice, so it never waits out another
   thread's switch interval. A waiter, priority or
   not, becomes starving once a whole switch interval has passed since it asked. That is
   checked at every wake-up, not only when a wait times out, and a CPU-bound waiter's timed wait
   never sleeps past that point: I/O threads that keep dropping the lock wake it again and
   again, and a bound that waited for a timeout would never come. On becoming starving it asks
   a holder back from I/O to drop, and a CPU-bound holder too if the lock has not changed hands
   since it asked (what new-gil's timed request would do, had the wake-ups let the wait time
   out). The bound that gives, however many I/O threads there are: a
   CPU-bound thread waits for them at most about one switch interval plus the time the holder
   needs to reach its next checkpoint, and once it holds the lock no priority request preempts
   it before `minimumSlice`. So a stream of I/O threads costs a CPU-bound thread at most one
   drop per `minimumSlice` of its running time, and never all of it. Among CPU-bound threads
   nothing changes from `new-gil`: a starving waiter does not hold back a running CPU-bound
   thread that finds the lock free, and a CPU-bound holder is asked to drop by the timed
   request only. (Holding everyone back behind starving waiters made every take wait for a
   sleeping waiter's wake-up once many threads contend: a fair lock's convoy, ten times slower
   in the 64-thread stress test.)

 Lock order: `mutex` before `switchMutex`. A take that changes the holder holds both while it
 publishes the new one. A take by the last holder itself, on the slow path or the fast, changes
 nothing a forced-switch dropper waits for (that dropper would be the same thread) and takes no
 `switchMutex`. `drop` takes `switchMutex` alone, after it has let `mutex` go.
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
/// per interpreter and binds each new thread state to one of them: the one its maker names, or,
/// with none named, interpreter `(id - 1) % interpreterCount`, the states counted in the order
/// they are made (see ``makeThreadState(name:interpreter:)``).
public final class InterpreterLock: Sendable {
    /// The policy and switch interval this lock was made with.
    public let configuration: LockConfiguration
    /// One state per interpreter: one, except under `per-interpreter`.
    let states: [LockState]
    private let threadIDs = Atomic<Int>(0)
    /// Who hears the lock's events; `nil` costs each event one test.
    public let eventHook: (any LockEventHook)?
    /// The places in code that threads report with ``ThreadState/enter(location:)``, named once
    /// and then passed around as small integers.
    public let locations = LockLocations()

    /// The first interpreter's state; the only one unless the policy is `per-interpreter`.
    var state: LockState { states[0] }

    /// Creates a lock with the given configuration (CPython's defaults unless told otherwise).
    /// - Parameters:
    ///   - configuration: the policy and its settings.
    ///   - eventHook: hears every thread's events (``LockEvent``); threads made later get a sink
    ///     from it. `nil`, the default, records nothing.
    public init(configuration: LockConfiguration = .default, eventHook: (any LockEventHook)? = nil) {
        self.configuration = configuration
        self.eventHook = eventHook
        self.states = (0..<configuration.lockCount).map { _ in LockState(configuration) }
        LockClock.prepare()  // the clock's one calibration (2 ms), before any hold is timed
    }

    /// Makes the state for a new thread. The thread does not hold the lock yet.
    /// - Parameters:
    ///   - name: shown in statistics and in trap messages.
    ///   - interpreter: under `per-interpreter`, the interpreter the thread joins, from 0 to
    ///     ``interpreterCount`` − 1. `nil` joins interpreter `(id - 1) % interpreterCount`, which
    ///     depends on the order in which threads make their states: pass the interpreter when
    ///     the binding matters and the threads make their states on their own threads. Ignored
    ///     by the other policies, which have one lock.
    public func makeThreadState(name: String? = nil, interpreter: Int? = nil) -> ThreadState {
        let id = threadIDs.wrappingAdd(1, ordering: .relaxed).newValue
        if let interpreter {
            precondition(interpreter >= 0 && (states.count == 1 || interpreter < states.count),
                         "makeThreadState: interpreter \(interpreter) is not between 0 and \(states.count - 1)")
        }
        let index = states.count == 1 ? 0 : interpreter ?? (id - 1) % states.count
        let name = name ?? "thread-\(id)"
        return ThreadState(lock: self, state: states[index], interpreter: index, id: id, name: name,
                           sink: eventHook?.sink(forThread: id, name: name, interpreter: index))
    }

    /// What a sampling profiler outside the lock sees at this moment, from one relaxed load of
    /// the lock word: CPython's `gil->locked` and `gil->last_holder`, which gil_load and
    /// `py-spy --gil` read from outside the interpreter, and whether any thread waits. It takes
    /// nothing and orders nothing, so it may be a moment old, as theirs may.
    /// - Parameter interpreter: under `per-interpreter`, whose lock to look at.
    public func peek(interpreter: Int = 0) -> LockPeek {
        let state = states[states.count == 1 ? 0 : interpreter]
        if state.handoff == .free {
            // No lock word: "held" is someone attached.
            return LockPeek(held: state.attachments.load(ordering: .relaxed) & LockState.attachedMask != 0, someoneWaiting: false,
                            lastHolder: 0)
        }
        let word = state.word.load(ordering: .relaxed)
        return LockPeek(held: word & LockState.lockedBit != 0, someoneWaiting: word & LockState.waitersBit != 0,
                        lastHolder: Int(bitPattern: word >> LockState.holderShift))
    }

    /// Interpreters, each with its own lock: ``LockConfiguration/interpreters`` under
    /// `per-interpreter`, else 1.
    public var interpreterCount: Int { states.count }

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

    /// Asks every thread of every interpreter to stop: sets a bit of the eval breaker that stays
    /// set, as CPython's signal handler sets the pending-signals bit, so that each thread's next
    /// ``ThreadState/checkpoint()`` returns `true` (an interpreter raises KeyboardInterrupt there).
    /// Safe from any thread, holding the lock or not; the uncontended fast path is off from then on.
    public func requestInterrupt() {
        for state in states { state.evalBreaker.bitwiseOr(LockState.interruptBit, ordering: .relaxed) }
    }

    /// Whether ``requestInterrupt()`` has been called: what a blocking call checks while it waits
    /// with the lock released.
    public var isInterruptRequested: Bool { states.contains { $0.isInterruptRequested } }
}

/// The lock as a sampler sees it from outside (``InterpreterLock/peek(interpreter:)``).
public struct LockPeek: Sendable, Equatable {
    /// Some thread holds the lock (under `free`: some thread is attached).
    public var held: Bool
    /// Some thread is waiting for it, asleep or spinning.
    public var someoneWaiting: Bool
    /// The ``ThreadState/id`` of the last thread to take it, the holder while `held`; 0 before
    /// the first take and under `free`.
    public var lastHolder: Int

    /// A view, as ``InterpreterLock/peek(interpreter:)`` makes one.
    public init(held: Bool, someoneWaiting: Bool, lastHolder: Int) {
        self.held = held
        self.someoneWaiting = someoneWaiting
        self.lastHolder = lastHolder
    }
}

/// Why a holder lets the lock go. Statistics and event hooks report it.
public enum ReleaseReason: Sendable, Equatable {
    /// A checkpoint saw the drop request.
    case dropRequest
    /// The thread releases around a kernel call.
    case kernel
    /// The thread releases around blocking I/O.
    case io
    /// The thread is done with the lock for now, as at the end of a `withLock` scope.
    case end
    /// `legacy-gil`'s periodic release, when CPython 2.7's ticker runs out: every
    /// ``LockConfiguration/checkInterval`` + 1 ticks.
    case tick
    /// The thread is done with the lock for good: no forced-switch wait, as CPython 3.12+ skips
    /// it on a thread's final release (3.11 does not).
    case exit
}

// MARK: - State

/// 64 bytes of nothing, to keep the lock word off the cache line of the fields around it:
/// waiters write the word, and that should not take the holder's counters' line with it.
struct CacheLinePadding {
    private let bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// The lock's shared state. `@unchecked Sendable` is confined here: every mutable field below
/// is guarded as its comment says, and the rest are atomics.
@usableFromInline
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
    /// Whether the last holder may take the lock back, and drop it, without `mutex`: `new-gil`
    /// only (see "The lock word" in the notes above).
    let hasFastPath: Bool

    let mutex = PosixMutex()
    /// Waiters for the lock sleep here (CPython's `gil->cond`).
    let cond = PosixCondition()

    private let paddingBefore = CacheLinePadding()
    /// The lock word: bit 0 is CPython's `locked`, bit 1 is set while any thread waits for the
    /// lock, asleep or spinning, and the bits above hold the last holder's id (CPython's
    /// `last_holder`). Changed only by read-modify-writes, which the hardware orders one after
    /// another on this one word: a drop that clears `locked` without `mutex` fails if a waiter
    /// set bit 1 first, and a waiter that sets bit 1 sees `locked` already clear if the drop
    /// came first. So no wake-up is lost, and with anyone waiting every take and drop goes
    /// through `mutex`, as it would without the fast path: the fast path changes no race.
    let word = Atomic<UInt>(0)
    private let paddingAfter = CacheLinePadding()
    static let lockedBit: UInt = 1
    static let waitersBit: UInt = 2
    static let holderShift: UInt = 2

    /// Fast handoff: how long a waiter spins before it sleeps; 0 sleeps at once.
    let spinNanoseconds: UInt64
    /// Guarded by `mutex`. Threads in the slow take's wait loop, asleep on `cond` or about to
    /// look again: whom a drop must wake.
    var waiters = 0
    /// Guarded by `mutex`.
    var switchNumber: UInt64 = 0
    /// Guarded by `mutex`. Everything but the holder's own counters below.
    var counters = LockStatistics()
    /// Guarded by `mutex`. When the current holder took the lock (slow path; `io-priority`
    /// reads it).
    var heldSince: UInt64 = 0
    /// Guarded by `mutex`. `io-priority`: the current holder came back from I/O and took the
    /// lock with priority; a waiter that becomes starving asks only such a holder to drop.
    var holderHasPriority = false

    // The holder's own counters: written only by the thread that holds the lock, while it
    // holds it. A plain load and store, no read-modify-write, so they cost the fast path next
    // to nothing; atomics so that a snapshot may read them from any thread. Under `free`, where
    // every attached thread writes `holdNanoseconds` at once, its detach adds atomically.
    /// Time the lock was held, summed.
    let holdNanoseconds = Atomic<UInt64>(0)
    /// Acquisitions on the fast path, which never touches `counters`.
    let fastAcquisitions = Atomic<UInt64>(0)
    /// When the last hold ended (its release's clock read). An uncontended take starts its
    /// hold at max(its own request, this), with no clock read of its own, and still never
    /// overlaps the hold before it.
    let lastDropAt = Atomic<UInt64>(0)
    /// Guarded by `mutex`. The holder's counters at the last reset, which cannot write them.
    var holdBase: UInt64 = 0
    var fastAcquisitionsBase: UInt64 = 0

    /// `free`: threads attached now (the low bits, ``attachedMask``) and attaches so far (the
    /// bits above), in one word so that an attach is one atomic add. Written by every thread at
    /// once, on every take and drop: a counter shared by design, not a lock.
    let attachments = Atomic<UInt64>(0)
    static let attachedBits: UInt64 = 24
    static let attachedMask: UInt64 = (1 << attachedBits) - 1
    static let oneAttachment: UInt64 = 1 << attachedBits | 1
    /// `free`: attaches that found another thread attached.
    let concurrentAttachments = Atomic<UInt64>(0)
    /// `free`: the most threads attached at once since the last reset.
    let peakAttached = Atomic<UInt64>(0)
    /// Guarded by `mutex`. `free`'s counters at the last reset.
    var attachmentsBase: UInt64 = 0
    var concurrentBase: UInt64 = 0

    /// Guarded by `mutex`. `io-priority`'s waiters, counted by rank.
    var waitingByRank = [0, 0, 0]
    /// Guarded by `mutex`. Threads between finding the lock held and taking it, spinners
    /// included (`waiters` counts only the slow loop's, which is what waking needs). Bit 1 of
    /// `word` is set exactly while this is above zero.
    var waitingThreads = 0
    /// Guarded by `mutex`. Since when `waitingThreads` has been above zero.
    var someoneWaitingSince: UInt64 = 0
    /// Guarded by `mutex`. When `waitingThreads` last fell to zero.
    var someoneWaitingEnded: UInt64 = 0

    let switchMutex = PosixMutex()
    /// A dropper on request sleeps here until another thread has the lock (FORCE_SWITCHING).
    let switchCond = PosixCondition()
    /// Guarded by `switchMutex`.
    var forcedSwitches: UInt64 = 0

    /// `legacy-gil`: CPython 2.7's `_Py_Ticker`, one for the whole interpreter, whoever holds
    /// the lock. Written only by the holder; it starts at 0, as 2.7's does, "so that we hit a
    /// tick first thing".
    let ticker = Atomic<Int>(0)

    /// Bit 0 is the drop request; bit 1, always set under `legacy-gil`, sends every checkpoint
    /// to the ticker; bit 2 asks every thread to stop (``InterpreterLock/requestInterrupt()``).
    /// The holder polls this word at every checkpoint.
    @usableFromInline let evalBreaker = Atomic<UInt32>(0)
    static let dropRequestBit: UInt32 = 1
    static let tickerBit: UInt32 = 2
    static let interruptBit: UInt32 = 4

    init(_ configuration: LockConfiguration) {
        handoff = switch configuration.policy {
        case .newGIL, .perInterpreter: .newGIL
        case .legacyGIL: .legacyGIL
        case .free: .free
        case .ioPriority: .ioPriority
        }
        hasFastPath = handoff == .newGIL
        switchIntervalNanoseconds = max(configuration.switchIntervalNanoseconds, 1)
        minimumSliceNanoseconds = max(switchIntervalNanoseconds / 10, 1)
        checkInterval = configuration.checkInterval
        spinNanoseconds = configuration.spin.wholeNanoseconds
        if handoff == .legacyGIL { evalBreaker.store(Self.tickerBit, ordering: .relaxed) }
    }

    var isDropRequested: Bool {
        evalBreaker.load(ordering: .relaxed) & Self.dropRequestBit != 0
    }

    var isInterruptRequested: Bool {
        evalBreaker.load(ordering: .relaxed) & Self.interruptBit != 0
    }

    /// Whether some thread holds the lock. Exact under `mutex` only for the slow path's own
    /// changes: the fast path may flip it at any time, which is why taking is a compare-and-swap.
    var isLocked: Bool { word.load(ordering: .relaxed) & Self.lockedBit != 0 }

    /// The id of the last thread to take the lock (0: none yet).
    var lastHolder: Int { Int(bitPattern: word.load(ordering: .relaxed) >> Self.holderShift) }

    // CPython's SET_GIL_DROP_REQUEST / RESET_GIL_DROP_REQUEST. Relaxed is enough: the request is
    // a hint, and the handoff itself is ordered by the lock word.
    /// Sets the drop request.
    /// - Returns: whether it was clear before. Setting a set bit changes nothing, in CPython as
    ///   here, so `dropRequests` counts only the sets that return `true`.
    @discardableResult
    func setDropRequest() -> Bool {
        evalBreaker.bitwiseOr(Self.dropRequestBit, ordering: .relaxed).oldValue & Self.dropRequestBit == 0
    }

    func resetDropRequest() {
        evalBreaker.bitwiseAnd(~Self.dropRequestBit, ordering: .relaxed)
    }

    /// Adds to one of the holder's own counters: a load and a store, safe because only the
    /// holder writes it.
    @inline(__always)
    private static func bump(_ counter: borrowing Atomic<UInt64>, by amount: UInt64) {
        counter.store(counter.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }

    /// Adds a hold that ends at `releasedAt` to the holder's own counters; called by the holder
    /// before it lets go (not under `free`: see `detachFree`). Untimed, both are 0 and nothing is
    /// written.
    @inline(__always)
    private func accountHold(_ heldNanoseconds: UInt64, endingAt releasedAt: UInt64) {
        if heldNanoseconds != 0 { Self.bump(holdNanoseconds, by: heldNanoseconds) }
        if releasedAt > lastDropAt.load(ordering: .relaxed) { lastDropAt.store(releasedAt, ordering: .relaxed) }
    }

    /// Fast-path acquisitions since the last reset; `mutex` held.
    private var fastAcquisitionsSinceReset: UInt64 {
        fastAcquisitions.load(ordering: .relaxed) &- fastAcquisitionsBase
    }

    /// Every acquisition since the last reset, whichever path took it; `mutex` held. Under
    /// `free` that is the attaches, the top 40 bits of `attachments`: the count wraps there, so
    /// the difference is taken in 40 bits too.
    private var acquisitionsSinceReset: UInt64 {
        guard handoff == .free else { return counters.acquisitions &+ fastAcquisitionsSinceReset }
        return ((attachments.load(ordering: .relaxed) >> Self.attachedBits) &- attachmentsBase) & (UInt64.max >> Self.attachedBits)
    }

    func resetCounters() {
        mutex.lock()
        counters = LockStatistics()
        holdBase = holdNanoseconds.load(ordering: .relaxed)
        fastAcquisitionsBase = fastAcquisitions.load(ordering: .relaxed)
        attachmentsBase = attachments.load(ordering: .relaxed) >> Self.attachedBits
        concurrentBase = concurrentAttachments.load(ordering: .relaxed)
        peakAttached.store(attachments.load(ordering: .relaxed) & Self.attachedMask, ordering: .relaxed)
        if waitingThreads > 0 { someoneWaitingSince = monotonicNanoseconds() }
        switchMutex.lock()
        forcedSwitches = 0
        switchMutex.unlock()
        mutex.unlock()
    }

    func snapshot() -> LockStatistics {
        mutex.lock()
        var copy = counters
        copy.acquisitions = acquisitionsSinceReset
        copy.totalHoldNanoseconds = holdNanoseconds.load(ordering: .relaxed) &- holdBase
        if handoff == .free {
            copy.concurrentAcquisitions = concurrentAttachments.load(ordering: .relaxed) &- concurrentBase
            copy.maxConcurrentHolders = peakAttached.load(ordering: .relaxed)
        }
        switchMutex.lock()
        copy.forcedSwitches = forcedSwitches
        switchMutex.unlock()
        mutex.unlock()
        return copy
    }

    // MARK: - The fast path

    /// The uncontended take, `new-gil` only: the lock is free, this thread held it last,
    /// nobody waits in the slow path and no drop request is pending. Then the slow path would
    /// take the lock at once and change nothing else, so one compare-and-swap does the same:
    /// no mutex, no clock, no syscall.
    /// - Returns: whether the thread now holds the lock; if not, it takes the slow path.
    @inline(__always)
    func takeFast(threadID: Int) -> Bool {
        guard hasFastPath, evalBreaker.load(ordering: .relaxed) == 0 else { return false }
        let free = UInt(bitPattern: threadID) << Self.holderShift
        guard word.compareExchange(expected: free, desired: free | Self.lockedBit, ordering: .acquiring).exchanged else {
            return false
        }
        Self.bump(fastAcquisitions, by: 1)
        return true
    }

    // MARK: - take and drop

    /// Takes the lock for `threadID` if it is free: sets `locked` and the holder in one
    /// compare-and-swap, keeping the waiters bit. `mutex` must be held. When the holder changes,
    /// the new one is published under `switchMutex` too, so that a forced-switch dropper that
    /// checks the holder either sees it or is already waiting for the signal. A take by the last
    /// holder itself changes no holder and takes no `switchMutex`: the only dropper that could be
    /// waiting for a new holder is that same thread.
    /// - Returns: `nil` if the lock is held (or the last holder's fast path took it first);
    ///   else whether the holder changed, which is what `switchNumber` counts.
    private func claim(_ threadID: Int) -> Bool? {
        let current = word.load(ordering: .relaxed)
        guard current & Self.lockedBit == 0 else { return nil }
        let me = UInt(bitPattern: threadID)
        if current >> Self.holderShift == me {
            let taken = word.compareExchange(expected: current, desired: current | Self.lockedBit, ordering: .acquiring)
            return taken.exchanged ? false : nil
        }
        switchMutex.lock()
        defer { switchMutex.unlock() }
        let desired = me << Self.holderShift | current & Self.waitersBit | Self.lockedBit
        guard word.compareExchange(expected: current, desired: desired, ordering: .acquiring).exchanged else { return nil }
        switchNumber &+= 1
        switchCond.signal()
        return true
    }

    // MARK: - free

    /// `free`'s take: no exclusion and no mutex. The thread's own compare-and-swap (3.13t's
    /// `tstate->state`) is the caller's; this adds the thread to `attachments`, one atomic add,
    /// and counts an attach that found another thread attached: a wait, under a GIL.
    /// - Returns: the threads attached now, this one included.
    func attachFree() -> UInt64 {
        let attached = (attachments.wrappingAdd(Self.oneAttachment, ordering: .relaxed).newValue) & Self.attachedMask
        if attached > 1 { concurrentAttachments.wrappingAdd(1, ordering: .relaxed) }
        var peak = peakAttached.load(ordering: .relaxed)
        while attached > peak {
            let (exchanged, original) = peakAttached.compareExchange(expected: peak, desired: attached, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
        return attached
    }

    /// `free`'s drop: the hold's time, then one atomic subtract. No wake-up, no handoff.
    func detachFree(heldNanoseconds: UInt64) {
        if heldNanoseconds != 0 { holdNanoseconds.wrappingAdd(heldNanoseconds, ordering: .relaxed) }
        attachments.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Counts the caller among the waiters (gil_load's "someone is waiting") and sets the
    /// waiters bit, before the caller looks at `locked` again; `mutex` held.
    private func beginWaiting(since start: UInt64) {
        if waitingThreads == 0 {
            // `start` was read before the mutex was taken, so it may fall inside the last
            // waiting span; starting from that span's end keeps the spans from overlapping.
            someoneWaitingSince = max(start, someoneWaitingEnded)
            word.bitwiseOr(Self.waitersBit, ordering: .relaxed)
        }
        waitingThreads += 1
    }

    /// The caller, a waiter, took the lock at `now`; `mutex` held.
    private func endWaiting(at now: UInt64) {
        waitingThreads -= 1
        if waitingThreads == 0 {
            word.bitwiseAnd(~Self.waitersBit, ordering: .relaxed)
            counters.someoneWaitingNanoseconds += now &- min(someoneWaitingSince, now)
            someoneWaitingEnded = max(someoneWaitingEnded, now)
        }
    }

    /// Takes the lock for `thread`, following CPython's `take_gil`: the slow path, for every
    /// take that ``takeFast(threadID:)`` does not do. Never under `free`, whose take is the thread
    /// state's attach (`attachFree()`).
    /// - Parameters:
    ///   - priority: the thread is coming back from a release for I/O; only `io-priority`
    ///     acts on it.
    ///   - start: when the thread asked, on the monotonic clock; waits are measured from it.
    /// - Returns: what the thread should add to its own counters, and when it got the lock.
    ///   - requests: when not `nil`, each drop request this take sets is appended, as (when,
    ///     whom it asked), for the thread's event sink, which is not called under the mutex.
    func take(threadID: Int, priority: Bool = false, since start: UInt64,
              requests: UnsafeMutablePointer<[(UInt64, Int)]>? = nil) -> (LockStatistics, acquiredAt: UInt64) {
        var mine = LockStatistics()
        /// Sets the drop request and says whether it was newly set; notes it for the sink first.
        /// Setting the bit is the last thing done, as CPython's waiter goes from
        /// SET_GIL_DROP_REQUEST straight into COND_TIMED_WAIT: the holder sees the bit at its next
        /// checkpoint and comes for `mutex`, and work done here after the bit would keep the
        /// requester holding `mutex` longer, which decides which waiter the holder's signal wakes
        /// (glibc hands it to a waiter not yet asleep in the kernel). Only waiters set the bit,
        /// under `mutex`, so the look before it races with nobody but the holder's reset.
        func askToDrop() -> Bool {
            guard !isDropRequested else { return false }
            requests?.pointee.append((monotonicNanoseconds(), lastHolder))
            return setDropRequest()
        }
        mutex.lock()
        var contended = false
        var rank: Rank = handoff == .ioPriority && priority ? .priority : .normal
        if isLocked && spinNanoseconds > 0 && handoff == .newGIL {
            // Fast handoff: watch the holder for a moment before sleeping, as an adaptive mutex
            // does. A holder that drops soon (a short kernel, a checkpoint) hands over without a
            // futex wake-up; a long holder costs one spin, then the usual sleep.
            // A dropper on the slow path clears `locked` before it lets `mutex` go, so a spinner
            // that saw the lock free could find `mutex` still held and sleep on it (a default
            // pthread mutex does not spin): the very futex wake-up the spin is there to avoid.
            // So it keeps spinning, on trylock, for what is left of its spin.
            contended = true
            beginWaiting(since: start)
            mutex.unlock()
            let until = start &+ spinNanoseconds
            var owned = false
            while monotonicNanoseconds() < until {
                if !isLocked && mutex.tryLock() {
                    owned = true
                    break
                }
            }
            if !owned { mutex.lock() }
        }

        var switched = isOutranked(rank) ? nil : claim(threadID)
        if switched == nil {
            if !contended { beginWaiting(since: start) }
            contended = true
            // beginWaiting set the waiters bit before this loop's first look: a drop either sees
            // the bit and takes the slow path, which wakes us, or came first and we see the
            // lock free.
            waiters += 1
            waitingByRank[rank.rawValue] += 1
            let switchesWhenAsked = switchNumber
            while true {
                // io-priority's bound, checked at every wake-up and not only when a wait times
                // out: while I/O threads keep dropping the lock, their broadcasts wake a CPU
                // waiter again and again, and a bound that waited for a timeout would never come.
                // A priority waiter too: starving waiters outrank it, and it must not wait on them
                // for ever.
                if handoff == .ioPriority && rank != .starving
                    && monotonicNanoseconds() &- start >= switchIntervalNanoseconds {
                    waitingByRank[rank.rawValue] -= 1
                    rank = .starving
                    waitingByRank[rank.rawValue] += 1
                    mine.starvedWaiters += 1
                    // Nobody outranks it now. If an I/O thread holds the lock, ask it to drop, so
                    // that the turn comes at its next checkpoint. A CPU-bound holder is asked as
                    // new-gil's timed request would ask it: when the lock has not changed hands
                    // since this thread asked, a whole interval ago. That request cannot be left
                    // to the timed wait, which broadcasts from I/O threads may keep waking early.
                    if isLocked && (holderHasPriority || switchNumber == switchesWhenAsked) && askToDrop() {
                        mine.dropRequests += 1
                    }
                }
                if !isOutranked(rank), let taken = claim(threadID) {
                    switched = taken
                    break
                }
                if handoff == .legacyGIL {
                    // A plain lock: wait as long as it takes, ask nobody to drop.
                    cond.wait(mutex)
                    continue
                }
                let saved = switchNumber
                var timeout = switchIntervalNanoseconds
                if rank == .priority && !isLocked {
                    // Free, but a starving waiter outranks us and is about to take it; its claim
                    // wakes nobody. Look again after its minimum slice, not after a whole
                    // interval: that was the I/O thread's tail beside two CPU-bound threads,
                    // one of which is nearly always waiting and often starving (p99 4.7 ms of a
                    // 1 ms block, the lock's events showed, before this).
                    timeout = minimumSliceNanoseconds
                } else if rank == .priority {
                    // Back from I/O: ask at once, once the holder has had its minimum slice. Also
                    // when a starving waiter outranks us: the drop serves it first, and we ask
                    // again once it has had its own minimum slice, instead of waiting for the
                    // rest of its timed wait.
                    let held = monotonicNanoseconds() &- heldSince
                    if held < minimumSliceNanoseconds {
                        timeout = minimumSliceNanoseconds - held
                    } else {
                        if askToDrop() {
                            mine.dropRequests += 1
                            mine.priorityRequests += 1
                        }
                        timeout = minimumSliceNanoseconds  // look again if another thread gets it
                    }
                } else if handoff == .ioPriority && rank == .normal {
                    // Wake up no later than the bound, however the waits before went.
                    let waited = monotonicNanoseconds() &- start
                    timeout = waited < switchIntervalNanoseconds ? switchIntervalNanoseconds - waited : 1
                }
                let timedOut = cond.wait(mutex, nanoseconds: timeout)
                guard timedOut, rank != .priority else { continue }
                // The wait timed out with the same holder: ask it to drop. After a whole
                // interval under new-gil; under io-priority the bound at the top of the loop
                // asks too, and a request already set is not set, or counted, twice.
                if isLocked && switchNumber == saved && askToDrop() {
                    mine.dropRequests += 1
                }
            }
            waitingByRank[rank.rawValue] -= 1
            waiters -= 1
        }

        // Uncontended, the hold began when the thread asked, or when the hold before it ended if
        // that came later (the thread read the clock, then another held and dropped the lock
        // before this one got the mutex): no second clock read.
        heldSince = contended ? monotonicNanoseconds() : max(start, lastDropAt.load(ordering: .relaxed))
        if contended { endWaiting(at: heldSince) }
        holderHasPriority = rank == .priority

        // A pending request was aimed at the previous holder; it is served.
        if isDropRequested { resetDropRequest() }

        mine.recordAcquisition(waitedNanoseconds: contended ? heldSince &- min(start, heldSince) : nil, switched: switched ?? false)
        counters.add(mine)
        mutex.unlock()
        return (mine, heldSince)
    }

    /// The lock's state in one line, read under its mutexes: what a watchdog prints when no
    /// thread makes progress.
    var stateDump: String {
        mutex.lock()
        switchMutex.lock()
        let word = word.load(ordering: .relaxed)
        let acquisitions = acquisitionsSinceReset
        let line = "locked=\(word & Self.lockedBit != 0) lastHolder=\(word >> Self.holderShift) "
            + "waitersBit=\(word & Self.waitersBit != 0) waiters=\(waiters) waiting=\(waitingThreads) "
            + "switchNumber=\(switchNumber) dropRequested=\(isDropRequested) waitingByRank=\(waitingByRank) "
            + "acquisitions=\(acquisitions) forcedSwitches=\(forcedSwitches)"
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

    /// Whether a waiter that goes before `rank` is waiting; `mutex` must be held. A starving
    /// waiter goes before threads back from I/O, and those go before CPU-bound threads, but only
    /// while no starving waiter holds them back too: then a CPU-bound thread may take a free lock
    /// as under new-gil, where a running thread may beat a woken waiter, and the timed drop
    /// request settles the rest. (A strict order, starving before all, made every take wait for a
    /// sleeping starving waiter's wake-up once many threads contend: a fair lock's convoy, ten
    /// times slower in the 64-thread stress test.)
    private func isOutranked(_ rank: Rank) -> Bool {
        guard handoff == .ioPriority else { return false }
        let starving = waitingByRank[Rank.starving.rawValue] > 0
        return switch rank {
        case .normal: waitingByRank[Rank.priority.rawValue] > 0 && !starving
        case .priority: starving
        case .starving: false
        }
    }

    /// Lets the lock go, following CPython's `drop_gil`. The fast path is inlined into the
    /// caller; everything else is in ``dropSlow(threadID:heldNanoseconds:reason:at:)``.
    /// - Parameters:
    ///   - heldNanoseconds: the hold that ends; 0 when untimed.
    ///   - releasedAt: the clock read that ended the hold; 0 when untimed.
    /// - Returns: whether this drop waited for another thread to take the lock.
    @inline(__always)
    func drop(threadID: Int, heldNanoseconds: UInt64, reason: ReleaseReason, at releasedAt: UInt64) -> Bool {
        if handoff != .free {
            accountHold(heldNanoseconds, endingAt: releasedAt)  // while it still holds the lock

            // The fast path: nobody waits and no request is pending, so there is nobody to wake
            // and no forced switch; clear `locked` in one compare-and-swap. It fails if a waiter
            // has set the waiters bit, and then the slow path wakes it.
            let mine = UInt(bitPattern: threadID) << Self.holderShift
            if hasFastPath && evalBreaker.load(ordering: .relaxed) == 0
                && word.compareExchange(expected: mine | Self.lockedBit, desired: mine, ordering: .releasing).exchanged {
                return false
            }
        }
        return dropSlow(threadID: threadID, heldNanoseconds: heldNanoseconds, reason: reason, at: releasedAt)
    }

    /// `drop`'s slow path: under `mutex`, with the wake-up and the forced switch; and `free`'s
    /// detach, which takes no mutex (`detachFree`).
    @inline(never)
    private func dropSlow(threadID: Int, heldNanoseconds: UInt64, reason: ReleaseReason, at releasedAt: UInt64) -> Bool {
        if handoff == .free {
            detachFree(heldNanoseconds: heldNanoseconds)
            return false
        }
        mutex.lock()
        let before = word.bitwiseAnd(~Self.lockedBit, ordering: .releasing).oldValue
        precondition(before & Self.lockedBit != 0, "drop: the interpreter lock is not locked")
        // io-priority wakes everyone, so that the waiter who should go first is among them.
        // With nobody in the wait loop there is nobody to wake (a spinner watches the word).
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
