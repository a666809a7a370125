#include "ck_lock.h"

#include <stddef.h>

/* Written once, before any thread can reach the macros (the first InterpreterLock installs
 * them), then only read. */
static ck_lock_hooks installed;
/* initial-exec: a plain %fs-relative load and store, not a __tls_get_addr call, on every
 * take of the lock (which binds the taker's state). CKernels is linked into the program. */
static _Thread_local void *bound __attribute__((tls_model("initial-exec")));

void ck_lock_install(ck_lock_hooks hooks) { installed = hooks; }

void ck_lock_bind(void *state) { bound = state; }

void *ck_lock_bound(void) { return bound; }

void *ck_lock_save(int release) {
    if (!release || bound == NULL || installed.release == NULL) return NULL;
    void *state = bound;
    installed.release(state);
    return state;
}

void ck_lock_restore(void *saved) {
    if (saved != NULL && installed.acquire != NULL) installed.acquire(saved);
}
