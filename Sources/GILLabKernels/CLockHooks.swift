import CKernels
import GILLabLock

/// The hooks behind CKernels' `CK_BEGIN_ALLOW_THREADS` / `CK_END_ALLOW_THREADS` (`ck_lock.h`).
///
/// A C extension function releases the lock through the macros, which call `ck_lock_save` and
/// `ck_lock_restore`; those ask these hooks for the calling thread's ``/GILLabLock/ThreadState/current``
/// state and release or take back its lock as ``/GILLabLock/ThreadState/withoutLock(reason:_:)`` does, with
/// the same checks (a nested release traps, naming the thread). Until the hooks are installed,
/// or on a thread with no current state, the macros do nothing.
public enum CLockHooks {
    /// Installs the hooks; idempotent and cheap after the first call. The Swift faces of C
    /// extension functions (``Kernels/relax(_:passes:threshold:)``) call it themselves; call it
    /// before calling your own C code that uses `ck_lock.h`'s macros directly.
    public static func install() { _ = installed }

    private static let installed: Void = {
        ck_lock_install(ck_lock_hooks(
            current: {
                ThreadState.current.map { Unmanaged.passUnretained($0).toOpaque() }
            },
            release: { raw in
                let thread = Unmanaged<ThreadState>.fromOpaque(raw!).takeUnretainedValue()
                thread.cReleaseStart = thread.beginReleased(.kernel, by: "CK_BEGIN_ALLOW_THREADS")
            },
            acquire: { raw in
                let thread = Unmanaged<ThreadState>.fromOpaque(raw!).takeUnretainedValue()
                thread.endReleased(.kernel, since: thread.cReleaseStart)
            }))
    }()
}
