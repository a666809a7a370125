/// One thread's use of an ``InterpreterLock``: CPython's `PyThreadState`.
///
/// A `ThreadState` belongs to the thread that uses it. Make it on that thread with
/// ``InterpreterLock/makeThreadState(name:)``, and read its ``statistics`` from elsewhere only
/// after the thread has finished.
///
/// The lock discipline it enforces, each break of which traps with the thread's name:
/// acquire only when not holding, release only when holding, and poll or release-around only
/// while holding.
public final class ThreadState {
    /// The lock this thread takes.
    public let lock: InterpreterLock
    /// A small integer, unique within the lock.
    public let id: Int
    /// The name given at creation, or `thread-<id>`.
    public let name: String
    /// This thread's counters. `dropRequests` counts the requests it set while waiting;
    /// `forcedSwitches` counts its drops that waited for a handoff.
    public private(set) var statistics = LockStatistics()
    /// Whether this thread holds the lock now.
    public private(set) var holdsLock = false
    /// The interpreter this thread belongs to: 0 except under `per-interpreter`.
    public let interpreter: Int

    private let state: LockState
    private var heldSince: UInt64 = 0
    /// `legacy-gil`: checkpoints left before the periodic release.
    private var ticksLeft: Int
    /// The last release was for I/O, so the next acquire is a return from a blocking call.
    private var returningFromIO = false

    init(lock: InterpreterLock, state: LockState, interpreter: Int, id: Int, name: String?) {
        self.lock = lock
        self.id = id
        self.name = name ?? "thread-\(id)"
        self.state = state
        self.interpreter = interpreter
        self.ticksLeft = state.checkInterval
    }

    // MARK: - Taking and dropping

    /// Takes the lock, waiting under the policy's rules (CPython's `take_gil`).
    public func acquire() {
        precondition(!holdsLock, "\(name): acquire() while already holding the interpreter lock")
        let outcome = state.take(threadID: id, priority: returningFromIO)
        returningFromIO = false
        heldSince = monotonicNanoseconds()
        holdsLock = true
        #if DEBUG
        noteCurrentThread()
        #endif
        statistics = statistics.adding(outcome)
    }

    /// Lets the lock go (CPython's `drop_gil`).
    /// - Parameter reason: why; ``ReleaseReason/exit`` skips the forced-switch wait.
    public func release(reason: ReleaseReason = .end) {
        precondition(holdsLock, "\(name): release() without holding the interpreter lock")
        let held = monotonicNanoseconds() - heldSince
        holdsLock = false
        returningFromIO = reason == .io
        statistics.totalHoldNanoseconds += held
        if state.drop(threadID: id, heldNanoseconds: held, reason: reason) {
            statistics.forcedSwitches += 1
        }
    }

    /// Zeroes this thread's counters.
    public func resetStatistics() {
        statistics = LockStatistics()
    }

    /// Releases the lock if held, for the last time on this thread.
    public func detach() {
        if holdsLock { release(reason: .exit) }
    }

    // MARK: - Checkpoints

    /// Polls the eval breaker, as CPython's eval loop does on backward jumps and calls. When a
    /// drop is requested it drops the lock, waits for the handoff, and takes the lock again.
    ///
    /// Costs one relaxed atomic load when nothing is requested.
    @inline(__always)
    public func checkpoint() {
        if state.evalBreaker.load(ordering: .relaxed) != 0 {
            handleEvalBreaker()
        }
    }

    @inline(never)
    private func handleEvalBreaker() {
        precondition(holdsLock, "\(name): checkpoint() without holding the interpreter lock")
        if state.handoff == .legacyGIL {
            // CPython 2: `if (--_Py_Ticker < 0)` → release, and at once take again.
            ticksLeft -= 1
            guard ticksLeft <= 0 else { return }
            ticksLeft = state.checkInterval
            release(reason: .tick)
            acquire()
            return
        }
        guard state.isDropRequested else { return }
        release(reason: .dropRequest)
        acquire()
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
    public func withoutLock<Result, Failure: Error>(
        reason: ReleaseReason = .kernel,
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        precondition(holdsLock, "\(name): withoutLock() without holding the interpreter lock")
        release(reason: reason)
        let start = monotonicNanoseconds()
        defer {
            // The released span, by why: what `gillab advise` reads to classify a workload.
            let released = monotonicNanoseconds() - start
            if reason == .io { statistics.releasedIONanoseconds += released } else { statistics.releasedKernelNanoseconds += released }
            acquire()
        }
        return try body()
    }
}
