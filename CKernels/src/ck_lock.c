#include "ck_lock.h"

#include <stddef.h>

/* Written once, before any thread can reach the macros, then only read. */
static ck_lock_hooks installed;

void ck_lock_install(ck_lock_hooks hooks) { installed = hooks; }

void *ck_lock_save(int release) {
    if (!release || installed.current == NULL) return NULL;
    void *state = installed.current();
    if (state != NULL) installed.release(state);
    return state;
}

void ck_lock_restore(void *saved) {
    if (saved != NULL) installed.acquire(saved);
}
