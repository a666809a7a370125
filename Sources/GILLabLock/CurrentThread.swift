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
// the list of the states made on it (a pthread key, set when a state is made), and the current
// one is found when asked, which is rare: the state of that list that holds its lock, or is
// inside a released region. That keeps the uncontended round trip at two compare-and-swaps, and
// this module free of any C of ours (a C `_Thread_local` would need one).

extension ThreadState {
    /// The thread states made on one OS thread, weakly: a state that goes away leaves a `nil`.
    private final class StatesOfThread {
        struct Entry { weak var state: ThreadState? }
        var entries: [Entry] = []

        /// Drops the states that have gone.
        func prune() { entries.removeAll { $0.state == nil } }
    }

    private static let statesKey: pthread_key_t = {
        var key = pthread_key_t()
        let err = pthread_key_create(&key) { raw in
            #if canImport(Glibc)
            if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() }
            #else
            Unmanaged<AnyObject>.fromOpaque(raw).release()
            #endif
        }
        precondition(err == 0, "pthread_key_create failed: \(err)")
        return key
    }()

    /// The calling OS thread's list, made on first use.
    private static var statesOfThisThread: StatesOfThread {
        if let raw = pthread_getspecific(statesKey) {
            return Unmanaged<StatesOfThread>.fromOpaque(raw).takeUnretainedValue()
        }
        let states = StatesOfThread()
        let err = pthread_setspecific(statesKey, Unmanaged.passRetained(states).toOpaque())
        precondition(err == 0, "pthread_setspecific failed: \(err)")
        return states
    }

    /// Records that `self` was made on the calling OS thread, which is the thread that uses it.
    func registerWithThisThread() {
        let states = Self.statesOfThisThread
        states.prune()
        states.entries.append(.init(state: self))
    }

    /// The calling OS thread's current thread state: of the states made on this thread, the
    /// latest that holds its lock, else the latest not yet detached, which is then inside a
    /// released region (``withoutLock(reason:_:)``) or between takes; `nil` on a thread that
    /// made none, or whose states have all detached.
    ///
    /// CPython's `PyThreadState_GetUnchecked()`; `ThreadState.current?.holdsLock == true` is
    /// its `PyGILState_Check()`.
    public static var current: ThreadState? {
        guard let raw = pthread_getspecific(statesKey) else { return nil }
        let entries = Unmanaged<StatesOfThread>.fromOpaque(raw).takeUnretainedValue().entries
        var attached: ThreadState?
        for entry in entries.reversed() {
            guard let state = entry.state else { continue }
            if state.holdsLock { return state }
            if attached == nil && !state.hasDetached { attached = state }
        }
        return attached
    }
}
