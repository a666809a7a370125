#include "ck_dense.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <cblas.h>

// MARK: - Shape checks, made by every matrix kernel before it touches a buffer

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

// MARK: - Dense linear algebra

ck_status ck_dgemm(double alpha, ck_const_dmatrix a, ck_const_dmatrix b, double beta, ck_dmatrix c) {
    if (a.cols != b.rows || c.rows != a.rows || c.cols != b.cols) return CK_ESHAPE;
    ck_status s;
    if ((s = ck_check(a)) != CK_OK) return s;
    if ((s = ck_check(b)) != CK_OK) return s;
    if ((s = ck_check_mut(c)) != CK_OK) return s;
    if (a.rows > INT_MAX || b.cols > INT_MAX || a.cols > INT_MAX ||
        a.ld > INT_MAX || b.ld > INT_MAX || c.ld > INT_MAX) {
        return CK_EOVERFLOW;
    }
    if (c.rows == 0 || c.cols == 0) return CK_OK;
    // CBLAS requires ld >= max(1, cols) even for empty operands.
    int lda = a.ld > 0 ? (int)a.ld : 1, ldb = b.ld > 0 ? (int)b.ld : 1;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)a.rows, (int)b.cols, (int)a.cols,
                alpha, a.base, lda, b.base, ldb, beta, c.base, (int)c.ld);
    return CK_OK;
}

// MARK: - Stencil

ck_status ck_stencil5(ck_const_dmatrix in, ck_dmatrix out) {
    if (in.rows != out.rows || in.cols != out.cols) return CK_ESHAPE;
    if (in.rows == 0 || in.cols == 0) return CK_EINVAL;
    ck_status s;
    if ((s = ck_check(in)) != CK_OK) return s;
    if ((s = ck_check_mut(out)) != CK_OK) return s;

    const size_t rows = in.rows, cols = in.cols;
    for (size_t i = 0; i < rows; i++) {
        const double *row = in.base + i * in.ld;
        double *dst = out.base + i * out.ld;
        if (i == 0 || i == rows - 1 || cols < 3) {
            for (size_t j = 0; j < cols; j++) dst[j] = row[j];
            continue;
        }
        const double *up = row - in.ld, *down = row + in.ld;
        dst[0] = row[0];
        for (size_t j = 1; j + 1 < cols; j++) {
            dst[j] = 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1]);
        }
        dst[cols - 1] = row[cols - 1];
    }
    return CK_OK;
}

// MARK: - Mandelbrot

ck_status ck_mandelbrot(double x0, double y0, double dx, double dy, size_t width, size_t row_begin,
                        size_t rows, uint32_t max_iter, uint32_t *out, size_t out_count) {
    if (max_iter == 0 || !isfinite(x0) || !isfinite(y0) || !isfinite(dx) || !isfinite(dy)) {
        return CK_EINVAL;
    }
    if (rows != 0 && width > SIZE_MAX / rows) return CK_EOVERFLOW;
    if (rows * width > out_count) return CK_ERANGE;
    if (rows * width != 0 && out == NULL) return CK_EINVAL;
    // An empty grid has nothing to compute; without this, rows = SIZE_MAX and width = 0 would
    // spin through 2^64 empty rows (found by the fuzzer).
    if (rows == 0 || width == 0) return CK_OK;

    for (size_t r = 0; r < rows; r++) {
        const double ci = y0 + (double)(row_begin + r) * dy;
        for (size_t x = 0; x < width; x++) {
            const double cr = x0 + (double)x * dx;
            double zr = 0, zi = 0;
            uint32_t k = 0;
            while (k < max_iter) {
                const double zr2 = zr * zr, zi2 = zi * zi;
                if (zr2 + zi2 > 4.0) break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                k++;
            }
            out[r * width + x] = k;
        }
    }
    return CK_OK;
}

// MARK: - Hash

ck_status ck_fnv1a64(const uint8_t *data, size_t count, uint64_t seed, uint64_t *out) {
    if (out == NULL || (data == NULL && count != 0)) return CK_EINVAL;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < count; i++) {
        h ^= data[i];
        h *= 0x100000001b3ull;
    }
    *out = h;
    return CK_OK;
}

