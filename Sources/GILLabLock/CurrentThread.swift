#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The calling OS thread's current thread state, CPython's `_PyThreadState_GET()`, asked by
// `PyGILState_Check()`. Two kinds of reader need it: native code that releases the lock through
// hooks installed for it (C macros standing for Py_BEGIN_ALLOW_THREADS), which must find the state
// to release, and debug checks that interpreter objects are touched only by a thread that holds
// the lock.
//
// CPython stores the state in a thread-local on every take (PyEval_RestoreThread). Here nothing
// happens on a take: a ThreadState belongs to the thread that made it, so each OS thread keeps
// the list of the states made on it (``PerThread``, set when a state is made), and the current
// one is found when asked, which is rare: the state of that list that holds its lock, or is
// inside a released region. That keeps the uncontended round trip at two compare-and-swaps, and
// this module free of any C of ours (a C `_Thread_local` would need one).

extension ThreadState {
    /// The thread states made on one OS thread, weakly: a state that goes away leaves a `nil`.
    private final class StatesOfThread: @unchecked Sendable {  // used by its own thread only
        struct Entry { weak var state: ThreadState? }
        var entries: [Entry] = []

        /// Drops the states that have gone.
        func prune() { entries.removeAll { $0.state == nil } }
    }

    private static let statesOfThread = PerThread { StatesOfThread() }

    /// Records that `self` was made on the calling OS thread, which is the thread that uses it.
    func registerWithThisThread() {
        let states = Self.statesOfThread.value
        states.prune()
        states.entries.append(.init(state: self))
    }

    /// The calling OS thread's current thread state: of the states made on this thread, the
    /// latest inside a released region (``withoutLock(reason:_:)``, a ``ReleasedLock``'s span),
    /// else the latest that holds its lock; `nil` when none does either, as on a thread that
    /// made no state or that has let its lock go.
    ///
    /// CPython's `PyThreadState_GetUnchecked()`, except that a state inside a released region
    /// stays current, so that a release nested in it is caught and named rather than taken
    /// for a release of another state; `ThreadState.current?.holdsLock == true` is
    /// `PyGILState_Check()`.
    public static var current: ThreadState? {
        guard let entries = statesOfThread.existing?.entries else { return nil }
        var holding: ThreadState?
        for entry in entries.reversed() {
            guard let state = entry.state else { continue }
            if state.inReleasedRegion { return state }
            if holding == nil && state.holdsLock { holding = state }
        }
        return holding
    }

    /// The latest state made on the calling OS thread that has not detached, holding its lock
    /// or not: the thread to name in a message about the lock's absence.
    package static var latestOnThisThread: ThreadState? {
        statesOfThread.existing?.entries.reversed().lazy.compactMap(\.state).first { !$0.hasDetached }
    }
}
