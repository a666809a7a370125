#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The calling OS thread's current thread state: the ThreadState that last took a lock on it,
// until that state detaches. CPython keeps the same thing in a thread-local
// (`_PyThreadState_GET()`), set by every PyEval_RestoreThread, and asks it in
// `PyGILState_Check()`. Two readers need it: C code releasing the lock with ck_lock.h's macros,
// which must find the state to release (GILLabKernels installs those hooks), and debug checks
// that interpreter objects are touched only by a thread holding the lock (GILLabInterpreter).
//
// A pthread key rather than a C `_Thread_local`, so that this module imports nothing of ours.
// A take compares before it stores: one `pthread_getspecific` per take in the common case of a
// thread that keeps one state.

extension ThreadState {
    private static let currentKey: pthread_key_t = {
        var key = pthread_key_t()
        let err = pthread_key_create(&key, nil)  // unretained: a state clears itself on detach
        precondition(err == 0, "pthread_key_create failed: \(err)")
        return key
    }()

    /// The thread state that last took an interpreter lock on the calling OS thread and has not
    /// detached since, or `nil`. It need not hold its lock now: see ``holdsLock``.
    ///
    /// CPython's `PyThreadState_GetUnchecked()`; `ThreadState.current?.holdsLock == true` is
    /// its `PyGILState_Check()`.
    public static var current: ThreadState? {
        guard let raw = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<ThreadState>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Makes `self` the calling thread's current state; called on every take.
    @inline(__always)
    func becomeCurrent() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        if pthread_getspecific(Self.currentKey) != me {
            let err = pthread_setspecific(Self.currentKey, me)
            precondition(err == 0, "pthread_setspecific failed: \(err)")
        }
    }

    /// Clears the calling thread's current state if it is `self`, so that nothing reaches a
    /// state that has gone.
    func resignCurrent() {
        if pthread_getspecific(Self.currentKey) == Unmanaged.passUnretained(self).toOpaque() {
            pthread_setspecific(Self.currentKey, nil)
        }
    }
}
