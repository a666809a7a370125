#ifndef CK_SHAPE_H
#define CK_SHAPE_H

// Internal: the shape checks every matrix kernel makes before it touches a buffer.

#include <stdbool.h>
#include "ck_kernels.h"

/// CK_OK when a rows×cols row-major matrix with leading dimension ld fits in count elements
/// at base (base may be NULL only for an empty matrix).
static inline ck_status ck_check_matrix(const void *base, size_t count, size_t rows, size_t cols,
                                        size_t ld) {
    if (ld < cols) return CK_EINVAL;
    if (rows == 0 || cols == 0) return CK_OK;
    if (base == NULL) return CK_EINVAL;
    // Elements needed: (rows - 1) * ld + cols, computed without overflow.
    size_t last_row = rows - 1;
    if (ld != 0 && last_row > (SIZE_MAX - cols) / ld) return CK_EOVERFLOW;
    if (last_row * ld + cols > count) return CK_ERANGE;
    return CK_OK;
}

static inline ck_status ck_check(ck_const_dmatrix m) {
    return ck_check_matrix(m.base, m.count, m.rows, m.cols, m.ld);
}

static inline ck_status ck_check_mut(ck_dmatrix m) {
    return ck_check_matrix(m.base, m.count, m.rows, m.cols, m.ld);
}

#endif /* CK_SHAPE_H */
