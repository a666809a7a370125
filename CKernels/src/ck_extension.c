#include "ck_extension.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ck_lock.h"

ck_status ck_ext_relax(const double *input, size_t n, int passes, size_t threshold, double *output, double *sum) {
    /* 1. Validate, holding the lock. */
    if (input == NULL || output == NULL || sum == NULL || n < 3 || passes < 0) return CK_EINVAL;
    if (n > SIZE_MAX / (2 * sizeof(double))) return CK_EOVERFLOW;

    /* 2. Copy into plain buffers this function owns. */
    double *current = malloc(2 * n * sizeof(double));
    if (current == NULL) return CK_ENOMEM;
    double *next = current + n;
    memcpy(current, input, n * sizeof(double));
    next[0] = current[0];
    next[n - 1] = current[n - 1];
    size_t work = (size_t)passes > SIZE_MAX / n ? SIZE_MAX : n * (size_t)passes;

    /* 3. The heavy loop, released when it is worth a handoff. */
    CK_BEGIN_ALLOW_THREADS_IF(work > threshold)
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(current[i])) {
                CK_BLOCK_THREADS
                free(current);
                return CK_EINVAL;
            }
        }
        for (int pass = 0; pass < passes; pass++) {
            for (size_t i = 1; i + 1 < n; i++) next[i] = (current[i - 1] + current[i] + current[i + 1]) / 3.0;
            double *swap = current;
            current = next;
            next = swap;
        }
    CK_END_ALLOW_THREADS

    /* 4. Holding the lock again: build the result. */
    double total = 0;
    for (size_t i = 0; i < n; i++) total += current[i];
    memcpy(output, current, n * sizeof(double));
    *sum = total;
    free(current < next ? current : next);
    return CK_OK;
}
