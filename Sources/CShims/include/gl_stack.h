// How much of the calling thread's stack is left: the interpreter's guard against deep recursion,
// beside its depth limit. Threads differ (a Swift concurrency worker may have 512 KiB, the main
// thread 8 MiB) and sanitizers multiply frame sizes, so no single depth is safe everywhere.
#ifndef GL_STACK_H
#define GL_STACK_H

#include <stddef.h>
#include <stdint.h>

/// The lowest usable address of the calling thread's stack, 0 until first asked.
extern __thread uintptr_t gl_stack_low_value;

/// Finds the calling thread's stack bounds (pthread_getattr_np); 0 if they cannot be found.
uintptr_t gl_stack_low_find(void);

/// Bytes of stack left below the caller's frame; SIZE_MAX when the bounds are unknown.
static inline size_t gl_stack_left(void) {
    uintptr_t low = gl_stack_low_value;
    if (low == 0) low = gl_stack_low_find();
    if (low == 0) return SIZE_MAX;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    return here > low ? (size_t)(here - low) : 0;
}

#endif
