import CKernels

// The hooks behind CKernels' CK_BEGIN_ALLOW_THREADS / CK_END_ALLOW_THREADS (ck_lock.h). A C
// extension function calls ck_lock_save / ck_lock_restore through the macros; they find the
// calling thread's ThreadState, which binds itself (a C thread-local) whenever it takes the
// lock, and release or take back its lock as `withoutLock` does, with the same checks.

extension ThreadState {
    /// Installs the hooks once, before any lock is used.
    static let installCHooks: Void = {
        ck_lock_install(ck_lock_hooks(
            release: { raw in
                let thread = Unmanaged<ThreadState>.fromOpaque(raw!).takeUnretainedValue()
                thread.cReleaseStart = thread.beginReleased(.kernel, by: "CK_BEGIN_ALLOW_THREADS")
            },
            acquire: { raw in
                let thread = Unmanaged<ThreadState>.fromOpaque(raw!).takeUnretainedValue()
                thread.endReleased(.kernel, since: thread.cReleaseStart)
            }))
    }()

    /// Makes `self` the calling thread's state for the C macros.
    @inline(__always)
    func bindForC() {
        ck_lock_bind(Unmanaged.passUnretained(self).toOpaque())
    }

    /// Unbinds `self` if it is the calling thread's state (on a final release), so that the C
    /// macros never reach a state that has gone.
    func unbindForC() {
        if ck_lock_bound() == Unmanaged.passUnretained(self).toOpaque() { ck_lock_bind(nil) }
    }
}
