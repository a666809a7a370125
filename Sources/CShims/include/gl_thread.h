// A number for the calling thread, unique in the process: PEP 703's `ob_tid` for GILLab's
// interpreter objects. Unlike a folded `pthread_self()`, two live threads never share one, which
// matters because under `free` an object's owner counts its references with plain adds.
#ifndef GL_THREAD_H
#define GL_THREAD_H

#include <stdint.h>

/// This thread's number, 0 until it first asks.
extern __thread uint32_t gl_thread_token_value;

/// Gives the calling thread the next number (from 1; after 2^32 - 1 threads it wraps).
uint32_t gl_thread_token_assign(void);

/// The calling thread's number: a thread-local load after the first call.
static inline uint32_t gl_thread_token(void) {
    uint32_t token = gl_thread_token_value;
    return token != 0 ? token : gl_thread_token_assign();
}

/// Whether objects this thread makes may be touched by threads running at once: a program's
/// threads under policy `free` (`gillab exec`). Lists and dicts made then lock around each access.
extern __thread uint8_t gl_shared_objects_value;

static inline uint8_t gl_shared_objects(void) { return gl_shared_objects_value; }
static inline void gl_set_shared_objects(uint8_t on) { gl_shared_objects_value = on; }

#endif
