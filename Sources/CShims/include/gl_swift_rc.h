// The Swift runtime's reference-count entry points that the interpreter's eval loop calls
// directly (Sources/GILLabInterpreter/References.swift explains why). libswiftCore exports them
// with the C calling convention, as its own headers declare them (swift/Runtime/HeapObject.h);
// Swift code may not name runtime symbols itself.
#ifndef GL_SWIFT_RC_H
#define GL_SWIFT_RC_H

#include <stdbool.h>

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

#endif
