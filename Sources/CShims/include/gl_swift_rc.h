// The eval loop's reference counting (Sources/GILLabInterpreter/References.swift explains why):
// the Swift runtime's own entry points, and the same counts updated inline, as CPython's
// Py_INCREF updates ob_refcnt, once a check at start-up has shown that this runtime lays its
// count word out as below. libswiftCore exports the entry points with the C calling convention,
// as its own headers declare them (swift/Runtime/HeapObject.h); Swift code may not name runtime
// symbols itself.
#ifndef GL_SWIFT_RC_H
#define GL_SWIFT_RC_H

#include <stdbool.h>
#include <stdint.h>

void *swift_nonatomic_retain(void *object);
void swift_nonatomic_release(void *object);
bool swift_isUniquelyReferenced_nonNull_native(const void *object);

/// Takes a strong reference without a locked instruction: sound only while no other thread can
/// touch the object's count, as under an interpreter lock.
static inline void gl_nonatomic_retain(void *object) { (void)swift_nonatomic_retain(object); }
/// Drops a strong reference without a locked instruction; frees the object when it was the last.
static inline void gl_nonatomic_release(void *object) { swift_nonatomic_release(object); }
/// Whether the object has exactly one strong reference.
static inline bool gl_is_uniquely_referenced(const void *object) {
    return swift_isUniquelyReferenced_nonNull_native(object);
}

// A Swift object's second word is its inline count (swift/RefCount.h, 64-bit layout): the strong
// references beyond the first in bits 33-62, and bit 63 set when the count lives in a side table
// or the object is immortal. Either way the inline paths below leave it to the runtime.
static const uint64_t GL_RC_ONE = (uint64_t)1 << 33;
static const uint64_t GL_RC_STRONG_EXTRA = (uint64_t)0x3FFFFFFF << 33;
static const uint64_t GL_RC_SLOW = (uint64_t)1 << 63;

// Swift's optimizer moves and pairs up the retains and releases it sees, assuming nothing else
// reads the count. These inline paths do read and write it, so each is fenced off from that
// motion by an empty asm statement, which the optimizer must treat as an unknown use.
#define GL_RC_FENCE() __asm__ volatile("" ::: "memory")

/// The count word, for the start-up check of the layout.
static inline uint64_t gl_rc_word(const void *object) {
    GL_RC_FENCE();
    return ((const uint64_t *)object)[1];
}

/// Takes a strong reference with a plain add, as `Py_INCREF` does.
__attribute__((always_inline)) static inline void gl_inline_retain(void *object) {
    GL_RC_FENCE();
    uint64_t *word = (uint64_t *)object + 1;
    uint64_t bits = *word;
    if (__builtin_expect((bits & GL_RC_SLOW) == 0 && (bits & GL_RC_STRONG_EXTRA) != GL_RC_STRONG_EXTRA, 1)) {
        *word = bits + GL_RC_ONE;
    } else {
        (void)swift_nonatomic_retain(object);
    }
}

/// Drops a strong reference with a plain subtract, unless it is the last one. Returns true, and
/// changes nothing, when it is the last: the caller then frees the object or keeps it for reuse.
__attribute__((always_inline)) static inline bool gl_inline_release_unless_last(void *object) {
    GL_RC_FENCE();
    uint64_t *word = (uint64_t *)object + 1;
    uint64_t bits = *word;
    if (__builtin_expect((bits & GL_RC_SLOW) == 0, 1)) {
        if ((bits & GL_RC_STRONG_EXTRA) == 0) return true;
        *word = bits - GL_RC_ONE;
        return false;
    }
    if (swift_isUniquelyReferenced_nonNull_native(object)) return true;
    swift_nonatomic_release(object);
    return false;
}

#endif
