#if DEBUG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GILLabLock

// Debug builds only: checks that interpreter objects are made and touched by a thread that holds
// an interpreter lock, naming the thread when not (CPython's debug allocator checks the GIL the
// same way; pybind11 has PYBIND11_ASSERT_GIL_HELD_INCREF_DECREF), and counts objects made minus
// objects freed per OS thread, so tests can see reference counts balance. Release builds carry
// none of this.

enum ObjectAccounting {
    private final class Context: @unchecked Sendable {  // used by its own thread only
        /// Inside `withLockCheckExempt`, however deep.
        var exemptions = 0
        /// Objects made on this thread minus objects freed on it (see `PyObject.liveObjects`).
        var objectBalance = 0
    }

    private static let contexts = PerThread { Context() }
    private static var context: Context { contexts.value }

    /// `nil` when the calling thread holds an interpreter lock (or is exempt); otherwise a
    /// phrase naming the thread, for a trap message.
    static func lockHeldProblem() -> String? {
        if context.exemptions > 0 || ThreadState.current?.holdsLock == true { return nil }
        guard let state = ThreadState.latestOnThisThread else { return "a thread with no interpreter thread state" }
        return "thread '\(state.name)'"
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
