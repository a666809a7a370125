#ifndef CK_EXTENSION_H
#define CK_EXTENSION_H

#include <stddef.h>
#include "ck_status.h"

/*
 * An "extension function" written as a CPython extension would be: it validates its arguments
 * and copies them into a plain buffer holding the interpreter lock, releases the lock itself
 * with CK_BEGIN_ALLOW_THREADS_IF around the heavy loop, and takes it back to build the result.
 * See ck_lock.h.
 */

/// Relaxes `input` (n values, n >= 3) `passes` times: each interior value becomes the mean of
/// itself and its neighbours; the ends stay. Writes the result to `output` (may alias `input`)
/// and the sum of the result to `*sum`. Releases the lock when n × passes > `threshold`.
/// Returns CK_EINVAL for NULL pointers, n < 3, passes < 0 or a value that is not finite (found
/// in the released loop: the early exit takes the lock back first), CK_EOVERFLOW when
/// n × sizeof(double) overflows, CK_ENOMEM when the working buffer cannot be allocated.
ck_status ck_ext_relax(const double *input, size_t n, int passes, size_t threshold, double *output, double *sum);

#endif /* CK_EXTENSION_H */
