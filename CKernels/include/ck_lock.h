#ifndef CK_LOCK_H
#define CK_LOCK_H

/*
 * Releasing the interpreter lock from C, as a CPython extension does with
 * Py_BEGIN_ALLOW_THREADS.
 *
 * The kernels in this library know nothing of the lock. An "extension function" that wants to
 * give it up around its heavy loop uses these macros; they call hooks that GILLab installs
 * (GILLabKernels' CLockHooks, before its first call into such a function). Outside an
 * interpreter thread (no hooks, or no current thread state on the calling thread) the macros
 * do nothing, so the same function runs anywhere.
 *
 * Recipe:
 *
 *     ck_status my_extension(const double *in, size_t n, double *out) {
 *         if (in == NULL || out == NULL) return CK_EINVAL;      // 1. validate, holding the lock
 *         double *work = malloc(n * sizeof *work);               // 2. copy into a plain buffer
 *         if (work == NULL) return CK_ENOMEM;
 *         memcpy(work, in, n * sizeof *work);
 *         CK_BEGIN_ALLOW_THREADS_IF(n > 4096)                    // 3. release for the heavy loop
 *             for (...) {
 *                 if (!isfinite(work[i])) {                      //    early exit: take the lock
 *                     CK_BLOCK_THREADS                           //    back first, then return
 *                     free(work);
 *                     return CK_EINVAL;
 *                 }
 *                 ...
 *             }
 *         CK_END_ALLOW_THREADS                                   // 4. lock held again
 *         memcpy(out, work, n * sizeof *work);                   // 5. build the result
 *         free(work);
 *         return CK_OK;
 *     }
 *
 * Rules:
 *   - Call the function holding the lock; BEGIN/END must pair in one function. They open and
 *     close a C block, so an unpaired BEGIN does not compile.
 *   - No nesting: a BEGIN inside a released region traps (the Swift side names the thread).
 *   - Between BEGIN and END touch no interpreter object, and nothing that another thread may
 *     change under the lock: only plain buffers this function owns.
 *   - Every return between BEGIN and END goes through CK_BLOCK_THREADS first.
 *   - errno set inside the block survives END (the lock's own system calls do not clobber it).
 *
 * CPython, for comparison: Py_BEGIN_ALLOW_THREADS / Py_BLOCK_THREADS / Py_UNBLOCK_THREADS /
 * Py_END_ALLOW_THREADS (Include/ceval.h), whose PyEval_RestoreThread also preserves errno;
 * numpy's NPY_BEGIN_THREADS_THRESHOLDED(n) releases only when n > 500.
 */

#include <errno.h>

/// The hooks GILLab installs: find the calling thread's state (NULL for none, like CPython's
/// PyThreadState_GetUnchecked), and release or take back the lock of a state.
typedef struct ck_lock_hooks {
    void *(*current)(void);
    void (*release)(void *state);
    void (*acquire)(void *state);
} ck_lock_hooks;

/// Installs the hooks, once, before any thread can reach the macros.
void ck_lock_install(ck_lock_hooks hooks);

/// Releases the calling thread's lock when `release` is nonzero and the thread has a state.
/// Returns the state to hand to ck_lock_restore, or NULL when nothing was released.
void *ck_lock_save(int release);

/// Takes the lock back for a state ck_lock_save returned; does nothing for NULL.
void ck_lock_restore(void *saved);

#define CK_BEGIN_ALLOW_THREADS_IF(condition) { void *ck_saved_ = ck_lock_save((condition) ? 1 : 0); int ck_errno_;
#define CK_BEGIN_ALLOW_THREADS CK_BEGIN_ALLOW_THREADS_IF(1)
/* Take the lock back inside the block, before an early return (Py_BLOCK_THREADS). */
#define CK_BLOCK_THREADS ck_errno_ = errno; ck_lock_restore(ck_saved_); ck_saved_ = 0; errno = ck_errno_;
/* Give it up again after CK_BLOCK_THREADS (Py_UNBLOCK_THREADS). */
#define CK_UNBLOCK_THREADS ck_saved_ = ck_lock_save(1);
#define CK_END_ALLOW_THREADS ck_errno_ = errno; ck_lock_restore(ck_saved_); errno = ck_errno_; }

#endif /* CK_LOCK_H */
