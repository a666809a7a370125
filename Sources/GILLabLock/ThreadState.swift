import Synchronization

/// One thread's use of an ``InterpreterLock``: CPython's `PyThreadState`.
///
/// A `ThreadState` belongs to the thread that uses it. Make it on that thread with
/// ``InterpreterLock/makeThreadState(name:interpreter:)``, and read its ``statistics`` from
/// elsewhere only after the thread has finished.
///
/// ## Runtime checks
///
/// Each break of the lock discipline traps with a `precondition` whose message names the
/// thread, instead of corrupting the lock or hanging every other thread. CPython catches the
/// same mistakes with `Py_FatalError` ("PyEval_SaveThread: the function must be called with
/// the GIL held", "PyThreadState_Delete: tstate is still current").
///
/// Releasing a lock the thread does not hold:
///
/// ```swift
/// let thread = gil.makeThreadState(name: "worker-1")
/// thread.withoutLock { kernel() }
/// // worker-1: withoutLock() without holding the interpreter lock
/// ```
///
/// Releasing inside a released region (nested `Py_BEGIN_ALLOW_THREADS`):
///
/// ```swift
/// thread.acquire()
/// thread.withoutLock {
///     thread.withoutLock { kernel() }
/// }
/// // worker-1: nested release: withoutLock() inside a region that has already released
/// // the interpreter lock
/// ```
///
/// Taking the lock while already holding it (a self-deadlock in CPython):
///
/// ```swift
/// thread.acquire()
/// thread.acquire()
/// // worker-1: acquire() while already holding the interpreter lock
/// ```
///
/// Ending a thread that still holds the lock, which would leave every other thread waiting:
///
/// ```swift
/// Thread.detachNewThread {
///     let thread = gil.makeThreadState(name: "worker-1")
///     thread.acquire()
///     work()
/// }   // no detach(): the state is freed holding the lock
/// // worker-1: the thread ended while holding the interpreter lock; call detach() or
/// // release() first
/// ```
///
/// And a ``ReleasedLock`` token dropped without ``ReleasedLock/reacquire()``:
///
/// ```swift
/// do {
///     let released = thread.releaseLock()
///     heavyLoop(buffer)
/// }   // the token goes out of scope
/// // worker-1: a ReleasedLock was dropped without reacquire(); the thread would go on
/// // without the interpreter lock
/// ```
///
/// The tests in `ReleaseAPITests.swift` run each of these in an exit test and check the message.
public final class ThreadState {
    /// The lock this thread takes.
    public let lock: InterpreterLock
    /// A small integer, unique within the lock.
    public let id: Int
    /// The name given at creation, or `thread-<id>`.
    public let name: String
    // The mutable fields below skip Swift's run-time exclusivity checks: a `ThreadState` is
    // used by its own thread only, and the checks (a thread-local access set, two runtime
    // calls per access) cost more than the whole fast path of a release round trip.

    /// This thread's counters. `dropRequests` counts the requests it set while waiting;
    /// `forcedSwitches` counts its drops that waited for a handoff.
    @exclusivity(unchecked) public private(set) var statistics = LockStatistics()
    /// Whether this thread holds the lock now.
    @exclusivity(unchecked) public private(set) var holdsLock = false
    /// The interpreter this thread belongs to: 0 except under `per-interpreter`.
    public let interpreter: Int

    @usableFromInline let state: LockState
    @exclusivity(unchecked) private var heldSince: UInt64 = 0
    /// `free`: 3.13t's `tstate->state`, attached or detached, changed only by this thread's
    /// compare-and-swap (in 3.13t a stop-the-world pause may change it too; GILLab has none).
    private let attachState = Atomic<UInt8>(ThreadState.detached)
    private static let detached: UInt8 = 0
    private static let attached: UInt8 = 1
    /// The last release was for I/O, so the next acquire is a return from a blocking call.
    @exclusivity(unchecked) private var returningFromIO = false
    /// Inside `withoutLock`, a `ReleasedLock`'s span or a C extension's released block.
    @exclusivity(unchecked) var inReleasedRegion = false
    /// ``detach()`` has run: the state is no longer its thread's current one unless it takes
    /// the lock again.
    @exclusivity(unchecked) var hasDetached = false
    /// Where the current released block of C code began: the hooks that release the lock for C
    /// callers keep it here between their release and their take.
    @exclusivity(unchecked) package var cReleaseStart: UInt64 = 0
    /// The drop requests a take sets, for the sink, which is not called under the lock's mutex:
    /// one buffer per thread, kept with its capacity, so that a take allocates nothing under
    /// the mutex (where work after setting the request would change who the holder's signal
    /// wakes). Used only with a sink, by this thread only.
    @exclusivity(unchecked) private var pendingRequests: [(UInt64, Int)] = []
    /// Where this thread's events go; `nil` when the lock has no hook.
    private let sink: (any LockEventSink)?
    /// When the statistics began: creation, or the last reset.
    @exclusivity(unchecked) private var accountingSince: UInt64
    /// When the thread last stopped holding the lock (or `accountingSince`): the start of the
    /// span that the next acquire adds to `releasedNanoseconds`.
    @exclusivity(unchecked) private var lastRelease: UInt64
    /// Whether holds and released spans are timed: ``LockTiming/timed``, or any lock with an
    /// event hook. Untimed, an uncontended round trip reads no clock.
    private let timed: Bool
    /// Whether ``enter(location:)`` records anything: the lock has an event hook. Code that
    /// reports locations can skip naming them when this is false.
    public let tracksLocations: Bool
    /// The last location entered (``LockLocations/glue`` at first); kept only when tracked.
    /// Written only by this thread; atomic (a plain load and store on x86 and ARM) so that a
    /// sampling profiler on another thread may read it, as py-spy reads a thread's frame.
    @usableFromInline let locationWord = Atomic<Int>(LockLocations.glue)
    /// Whether the thread is between asking for the lock and holding it, for samplers on other
    /// threads (``isWaiting``). Kept only when the lock has an event hook, so that a lock
    /// nobody watches pays nothing for it.
    private let waitingWord = Atomic<Bool>(false)

    init(lock: InterpreterLock, state: LockState, interpreter: Int, id: Int, name: String, sink: (any LockEventSink)?) {
        self.lock = lock
        self.id = id
        self.name = name
        self.state = state
        self.interpreter = interpreter
        self.sink = sink
        self.timed = lock.configuration.timing == .timed || sink != nil
        self.tracksLocations = sink != nil
        let now = monotonicNanoseconds()
        accountingSince = now
        lastRelease = now
        sink?.record(LockEvent(.threadStart, at: now, thread: id))
        registerWithThisThread()
    }

    deinit {
        // A thread that goes away holding the lock would leave every other thread waiting
        // forever; CPython's PyThreadState_Clear/Delete complain of the same thing.
        precondition(!holdsLock, "\(name): the thread ended while holding the interpreter lock; call detach() or release() first")
    }

    // MARK: - Taking and dropping

    /// Takes the lock, waiting under the policy's rules (CPython's `take_gil`; under `free`,
    /// 3.13t's attach, which never waits).
    public func acquire() {
        precondition(!holdsLock, "\(name): acquire() while already holding the interpreter lock")
        if timed { take(since: monotonicNanoseconds()) } else { takeUntimed() }
    }

    /// Untimed: the fast path reads no clock; a take that must wait reads it, for the wait.
    @inline(__always)
    private func takeUntimed() {
        if state.takeFast(threadID: id) {
            statistics.acquisitions += 1
            tookLock()
        } else if state.handoff == .free {
            attach()
            tookLock()
        } else {
            take(since: monotonicNanoseconds())
        }
    }

    /// Takes the lock for a caller that asked at `wantsAt`: the fast path if it can, else
    /// the policy's slow path.
    @inline(__always)
    private func take(since wantsAt: UInt64) {
        if let sink {
            sink.record(LockEvent(.wants, at: wantsAt, thread: id))
            waitingWord.store(true, ordering: .relaxed)
        }
        let acquiredAt: UInt64
        if state.takeFast(threadID: id) {
            // Uncontended: the hold starts as the slow path's would, with no clock read.
            acquiredAt = max(wantsAt, state.lastDropAt.load(ordering: .relaxed))
            statistics.acquisitions += 1
            statistics.totalWaitNanoseconds += acquiredAt &- wantsAt
        } else if state.handoff == .free {
            attach()  // never waits: the hold starts when the thread asked
            acquiredAt = wantsAt
        } else {
            let outcome: LockStatistics
            if let sink {
                if pendingRequests.capacity == 0 { pendingRequests.reserveCapacity(8) }
                (outcome, acquiredAt) = withUnsafeMutablePointer(to: &pendingRequests) { requests in
                    state.take(threadID: id, priority: returningFromIO, since: wantsAt, requests: requests)
                }
                for (time, holder) in pendingRequests { sink.record(LockEvent(.dropRequest(holder: holder), at: time, thread: id)) }
                pendingRequests.removeAll(keepingCapacity: true)
            } else {
                (outcome, acquiredAt) = state.take(threadID: id, priority: returningFromIO, since: wantsAt)
            }
            statistics.add(outcome)
            // Per thread, asking to holding is wait even when nobody held the lock (tens of ns),
            // so that hold + wait + released covers the thread's whole life.
            if outcome.contendedAcquisitions == 0 { statistics.totalWaitNanoseconds += acquiredAt &- wantsAt }
        }
        heldSince = acquiredAt
        if timed { statistics.releasedNanoseconds += wantsAt &- lastRelease }
        tookLock()
        if let sink {
            waitingWord.store(false, ordering: .relaxed)
            sink.record(LockEvent(.acquired, at: acquiredAt, thread: id))
        }
    }

    /// `free`'s take: the thread's own compare-and-swap, then the lock's shared count, which
    /// says whether another thread was attached at the same moment.
    private func attach() {
        changeAttachState(from: Self.detached, to: Self.attached)
        let attached = state.attachFree()
        statistics.acquisitions += 1
        if attached > 1 { statistics.concurrentAcquisitions += 1 }
        if attached > statistics.maxConcurrentHolders { statistics.maxConcurrentHolders = attached }
    }

    /// `free`'s attach or detach of this thread: 3.13t's `tstate_try_attach` / `tstate_set_detached`.
    private func changeAttachState(from old: UInt8, to new: UInt8) {
        let changed = attachState.compareExchange(expected: old, desired: new, ordering: .relaxed).exchanged
        precondition(changed, "\(name): the thread state is not \(old == Self.attached ? "attached" : "detached")")
    }

    /// What every take does once the thread holds the lock.
    @inline(__always)
    private func tookLock() {
        returningFromIO = false
        holdsLock = true
    }

    /// Lets the lock go (CPython's `drop_gil`; under `free`, 3.13t's detach).
    /// - Parameter reason: why; ``ReleaseReason/exit`` skips the forced-switch wait, as CPython
    ///   3.12+ does on a thread's final release.
    public func release(reason: ReleaseReason = .end) {
        _ = releaseStamped(reason)
    }

    /// `release(reason:)`, returning when it let go (0 untimed): the start of a released region.
    @inline(__always)
    private func releaseStamped(_ reason: ReleaseReason) -> UInt64 {
        precondition(holdsLock, "\(name): release() without holding the interpreter lock")
        holdsLock = false
        returningFromIO = reason == .io
        if state.handoff == .free { changeAttachState(from: Self.attached, to: Self.detached) }
        guard timed else {
            if state.drop(threadID: id, heldNanoseconds: 0, reason: reason, at: 0) { statistics.forcedSwitches += 1 }
            return 0
        }
        let now = monotonicNanoseconds()
        let held = now &- heldSince
        statistics.totalHoldNanoseconds += held
        lastRelease = now
        if state.drop(threadID: id, heldNanoseconds: held, reason: reason, at: now) {
            statistics.forcedSwitches += 1
        }
        // After the drop, so that recording never lengthens a hold; stamped with the release time.
        sink?.record(LockEvent(.released(reason), at: now, thread: id))
        return now
    }

    /// Zeroes this thread's counters and starts its accounting afresh from now: hold, wait and
    /// released time are counted from here.
    public func resetStatistics() {
        statistics = LockStatistics()
        let now = monotonicNanoseconds()
        accountingSince = now
        if holdsLock { heldSince = now } else { lastRelease = now }
    }

    /// Releases the lock if held, for the last time on this thread, and closes its accounting:
    /// ``LockStatistics/lifetimeNanoseconds`` is set, and the hook hears `threadExit`.
    public func detach() {
        if holdsLock { release(reason: .exit) }
        hasDetached = true
        let now = monotonicNanoseconds()
        if timed { statistics.releasedNanoseconds += now &- lastRelease }
        statistics.lifetimeNanoseconds = now &- accountingSince
        lastRelease = now
        sink?.record(LockEvent(.threadExit, at: now, thread: id))
    }

    // MARK: - Checkpoints

    /// Polls the eval breaker, as CPython's eval loop does at its poll points (3.11's
    /// `Python/ceval.c`: RESUME, backward jumps, the return from a call to a native function).
    /// When a drop is requested it drops the lock, waits for the handoff, and takes the lock
    /// again.
    ///
    /// Under `legacy-gil` a checkpoint is one tick of CPython 2.7's ticker instead, and when the
    /// ticker runs out the thread releases the lock and at once asks for it again. 2.7's eval
    /// loop ticks once per opcode that goes back to the top of the loop, not for one that ends
    /// with `goto fast_next_opcode` or is entered by a successful PREDICT; the interpreter calls
    /// this once per such opcode (see ``LockPolicy/legacyGIL``). Code that is not bytecode
    /// counts one tick per checkpoint.
    ///
    /// Costs one relaxed atomic load when nothing is requested. Inlinable, so that an eval loop
    /// in another module pays no call for it.
    ///
    /// - Returns: whether ``InterpreterLock/requestInterrupt()`` has asked every thread to stop
    ///   (CPython's pending-signals bit of the same eval breaker): an interpreter raises
    ///   KeyboardInterrupt then. Always `false` when nothing was asked, at no extra cost.
    @inlinable @discardableResult
    public func checkpoint() -> Bool {
        if state.evalBreaker.load(ordering: .relaxed) != 0 {
            return handleEvalBreaker()
        }
        return false
    }

    @inline(never) @usableFromInline
    func handleEvalBreaker() -> Bool {
        precondition(holdsLock, "\(name): checkpoint() without holding the interpreter lock")
        if state.handoff == .legacyGIL {
            // CPython 2.7's ceval.c: `if (--_Py_Ticker < 0) { _Py_Ticker = _Py_CheckInterval;
            // ... PyThread_release_lock(interpreter_lock); PyThread_acquire_lock(interpreter_lock, 1); }`
            // So a release comes every checkInterval + 1 ticks.
            let left = state.ticker.load(ordering: .relaxed) - 1
            if left >= 0 {
                state.ticker.store(left, ordering: .relaxed)
            } else {
                state.ticker.store(state.checkInterval, ordering: .relaxed)
                release(reason: .tick)
                acquire()
            }
        } else if state.isDropRequested {
            release(reason: .dropRequest)
            acquire()
        }
        return state.isInterruptRequested
    }

    // MARK: - Locations

    /// Says where in its code this thread now is, for ``WaitAttribution``: a poll point's line,
    /// or a native function it calls holding the lock. `location` is an index from the lock's
    /// ``InterpreterLock/locations``.
    ///
    /// Recorded (as a ``LockEvent/Kind/location(_:)`` event, with a clock read) only when the
    /// lock has an event hook and the location differs from the last one; otherwise it costs a
    /// test of a constant. An interpreter calls it at each poll point, so a loop whose poll
    /// points are all on one line records nothing after its first pass.
    @inlinable
    public func enter(location: Int) {
        if tracksLocations && location != locationWord.load(ordering: .relaxed) { moveLocation(to: location) }
    }

    @inline(never) @usableFromInline
    func moveLocation(to location: Int) {
        locationWord.store(location, ordering: .relaxed)
        sink?.record(LockEvent(.location(location), at: monotonicNanoseconds(), thread: id))
    }

    /// Whether the thread is waiting for the lock now: between its `wants` and its `acquired`
    /// events. Safe to read from any thread (a sampler's view, gil_load's "is thread T
    /// waiting": it may be a moment old); always `false` when the lock has no event hook.
    public var isWaiting: Bool { waitingWord.load(ordering: .relaxed) }

    /// The last location entered, or ``LockLocations/glue`` when the lock has no event hook.
    /// Safe to read from any thread (a sampler's view: it may be a moment old).
    public var currentLocation: Int { locationWord.load(ordering: .relaxed) }

    /// Runs `body` at `location`, and is back at the location before it when `body` returns
    /// or throws: a native call that keeps the lock, say, so that waits behind it are charged to
    /// the call (`dgemm (hold)`) and not to the line that made it.
    @inlinable
    public func at<Result, Failure: Error>(location: Int, _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        guard tracksLocations else { return try body() }
        let before = locationWord.load(ordering: .relaxed)
        enter(location: location)
        defer { enter(location: before) }
        return try body()
    }

    // MARK: - Scopes

    /// Runs `body` holding the lock, taking it first and releasing it after, even when `body`
    /// throws.
    public func withLock<Result, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        acquire()
        defer { release(reason: .end) }
        return try body()
    }

    /// Runs `body` with the lock released: CPython's `Py_BEGIN_ALLOW_THREADS` …
    /// `Py_END_ALLOW_THREADS`. The lock is taken back when `body` returns or throws.
    ///
    /// `body` must not touch interpreter objects: copy what it needs into plain buffers first.
    ///
    /// - Parameters:
    ///   - reason: what the release is for, for statistics; a kernel call by default.
    ///   - body: the work to run without the lock.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws, after the lock is held again.
    @inlinable  // specialized in the caller: no generic dispatch around an empty kernel
    public func withoutLock<Result, Failure: Error>(
        reason: ReleaseReason = .kernel,
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let start = beginReleased(reason, by: "withoutLock()")
        defer { endReleased(reason, since: start) }
        return try body()
    }

    /// Runs `body` with the lock released, and proves at compile time that it captures no
    /// interpreter object: PyO3's `allow_threads` (now `detach`), whose closure must be
    /// `Ungil`.
    ///
    /// An interpreter's objects are deliberately not `Sendable` (they belong to whichever thread holds
    /// the lock), and `body` must be `@Sendable`, so capturing one does not compile:
    ///
    /// ```swift
    /// final class Box { var items: [Int] = [] }   // not Sendable, like an interpreter object
    /// let box = Box()
    /// thread.allowThreads {
    ///     print(box.items)   // error: capture of 'box' with non-Sendable type 'Box'
    ///                        //        in a '@Sendable' closure
    /// }
    /// ```
    ///
    /// Copy what the work needs into `Sendable` values (numbers, arrays of numbers, strings)
    /// while holding the lock, and capture those. ``withoutLock(reason:_:)`` takes any closure,
    /// for code that must capture buffers it owns (`inout` storage, non-`Sendable` handles);
    /// there the rule is the reader's to keep.
    /// - Parameters:
    ///   - reason: what the release is for, for statistics; a kernel call by default.
    ///   - body: the work to run without the lock.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws, after the lock is held again.
    @inlinable
    public func allowThreads<Result, Failure: Error>(
        reason: ReleaseReason = .kernel,
        _ body: @Sendable () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withoutLock(reason: reason, body)
    }

    /// Releases the lock and returns a token that must be given back with
    /// ``ReleasedLock/reacquire()``: the lock-free span need not be one closure.
    ///
    /// ```swift
    /// let released = thread.releaseLock()
    /// let sum = heavyLoop(buffer)     // plain buffers only, no interpreter objects
    /// released.reacquire()           // consumes the token; the lock is held again
    /// ```
    ///
    /// The token is `~Copyable`: it cannot be copied, so the lock cannot be taken back twice,
    /// and `reacquire()` consumes it. A token dropped without `reacquire()` traps, naming the
    /// thread, instead of leaving the thread running Python-level code without the lock.
    /// - Parameter reason: what the release is for, for statistics; a kernel call by default.
    public func releaseLock(reason: ReleaseReason = .kernel) -> ReleasedLock {
        ReleasedLock(thread: self, reason: reason, since: beginReleased(reason, by: "releaseLock()"))
    }

    // MARK: - Released regions

    /// Starts a released region: checks that this thread holds the lock and is not inside a
    /// released region already (no nesting), then releases.
    /// - Returns: the region's start, for ``endReleased(_:since:)``.
    @usableFromInline
    package func beginReleased(_ reason: ReleaseReason, by api: String) -> UInt64 {
        precondition(!inReleasedRegion, "\(name): nested release: \(api) inside a region that has already released the interpreter lock")
        precondition(holdsLock, "\(name): \(api) without holding the interpreter lock")
        let start = releaseStamped(reason)
        inReleasedRegion = true
        return start
    }

    /// Ends a released region: counts its time by reason (what `gillab advise` reads) and
    /// takes the lock back.
    @usableFromInline
    package func endReleased(_ reason: ReleaseReason, since start: UInt64) {
        inReleasedRegion = false
        guard timed else { return takeUntimed() }
        let now = monotonicNanoseconds()
        let released = now &- start
        if reason == .io { statistics.releasedIONanoseconds += released } else { statistics.releasedKernelNanoseconds += released }
        take(since: now)
    }
}

/// The lock given up by ``ThreadState/releaseLock(reason:)``, until ``reacquire()``.
///
/// A `~Copyable` token, like a Rust guard: it exists exactly while the lock is released.
/// Dropping it without `reacquire()` traps in `deinit` with the thread's name.
public struct ReleasedLock: ~Copyable {
    // Unmanaged so that `reacquire()` can `discard self` (only trivial fields allow it).
    private let thread: Unmanaged<ThreadState>
    private let reason: ReleaseReason
    private let start: UInt64

    init(thread: ThreadState, reason: ReleaseReason, since start: UInt64) {
        self.thread = .passRetained(thread)
        self.reason = reason
        self.start = start
    }

    /// Takes the lock back, waiting as ``ThreadState/acquire()`` does, and consumes the token.
    public consuming func reacquire() {
        let thread = self.thread.takeRetainedValue()
        thread.endReleased(reason, since: start)
        discard self
    }

    deinit {
        Self.trapDropped(thread.takeRetainedValue().name)
    }

    // Not `Never`, so that the compiler does not flag the deinit's implicit field teardown.
    private static func trapDropped(_ name: String) {
        preconditionFailure("\(name): a ReleasedLock was dropped without reacquire(); the thread would go on without the interpreter lock")
    }
}
