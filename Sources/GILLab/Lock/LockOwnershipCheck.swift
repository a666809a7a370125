#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Debug builds only: which ThreadState the calling OS thread last acquired with, so that code
// touching interpreter objects can check that this thread holds the lock, and name it when it
// does not (CPython's debug allocator checks the GIL the same way; pybind11 has
// PYBIND11_ASSERT_GIL_HELD_INCREF_DECREF). Release builds carry none of this.

extension ThreadState {
    private final class DebugContext {
        weak var state: ThreadState?
        var exemptions = 0
        /// Objects made on this thread minus objects freed on it (see `PyObject.liveObjects`).
        var objectBalance = 0
    }

    private static let key: pthread_key_t = {
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

    private static var context: DebugContext {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<DebugContext>.fromOpaque(raw).takeUnretainedValue()
        }
        let context = DebugContext()
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
        return context
    }

    /// Records that `self` is the calling thread's state.
    func noteCurrentThread() {
        Self.context.state = self
    }

    /// `nil` when the calling thread holds an interpreter lock (or is exempt); otherwise a
    /// phrase naming the thread, for a trap message.
    static func lockHeldProblem() -> String? {
        let context = context
        if context.exemptions > 0 { return nil }
        guard let state = context.state else { return "a thread with no interpreter thread state" }
        return state.holdsLock ? nil : "thread '\(state.name)'"
    }

    /// Counts an interpreter object made (+1) or freed (-1) on the calling thread.
    static func noteObject(_ change: Int) {
        context.objectBalance += change
    }

    /// Interpreter objects made on the calling thread minus those freed on it.
    static var objectBalance: Int { context.objectBalance }

    /// Runs `body` with the lock check off on this thread, for making process-wide immutable
    /// constants (None, True, False, small ints) before any lock exists.
    static func withLockCheckExempt<T>(_ body: () -> T) -> T {
        let context = context
        context.exemptions += 1
        defer { context.exemptions -= 1 }
        return body()
    }
}
#endif
