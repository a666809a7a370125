#ifndef CK_DENSE_H
#define CK_DENSE_H

/*
 * Pure compute kernels on caller buffers: dense linear algebra, a stencil, Mandelbrot, a hash.
 *
 * Rules every kernel here keeps:
 *   - It knows nothing of the interpreter lock. Releasing the lock is the caller's discipline.
 *   - It allocates nothing and touches nothing but its arguments, so it is safe to run with
 *     the lock released on any number of threads at once.
 *   - It validates its arguments and returns a ck_status; on an error it writes nothing.
 *   - A buffer travels with its element count; a matrix travels with its shape and stride.
 */

#include <stddef.h>
#include <stdint.h>
#include "ck_status.h"

/// A row-major view of a caller's matrix: element (i, j) is `base[i * ld + j]`.
/// `count` is the number of elements the buffer holds; a kernel checks that the shape fits.
typedef struct ck_dmatrix {
    double *base;
    size_t count;
    size_t rows;
    size_t cols;
    size_t ld;
} ck_dmatrix;

/// The read-only form of ck_dmatrix, for kernel inputs.
typedef struct ck_const_dmatrix {
    const double *base;
    size_t count;
    size_t rows;
    size_t cols;
    size_t ld;
} ck_const_dmatrix;

// MARK: - Dense linear algebra

/**
 * C := alpha * A * B + beta * C
 *
 * @param alpha  scale of the product.
 * @param a      m×k input.
 * @param b      k×n input.
 * @param beta   scale of C's previous contents; 0 ignores them (NaNs included).
 * @param c      m×n output; may not alias a or b.
 * @return CK_OK; CK_ESHAPE when the shapes do not conform; CK_EINVAL when a stride is smaller
 *         than its row; CK_ERANGE when a buffer is too small; CK_EOVERFLOW when a dimension
 *         exceeds CBLAS's int.
 *
 * Implementation notes: calls OpenBLAS's cblas_dgemm (row-major), which uses as many threads as
 * the process-wide OpenBLAS setting (ck_blas_set_num_threads) allows. An empty product
 * (m, n or k zero) is valid and follows BLAS: C := beta * C.
 */
ck_status ck_dgemm(double alpha, ck_const_dmatrix a, ck_const_dmatrix b, double beta, ck_dmatrix c);

// MARK: - Our own kernels, each of a different character

/**
 * One Jacobi sweep of the 5-point Laplace stencil:
 *   out(i, j) := (in(i-1, j) + in(i+1, j) + in(i, j-1) + in(i, j+1)) / 4   for interior points,
 *   out(i, j) := in(i, j)                                                  on the boundary.
 *
 * @param in   rows×cols input, rows ≥ 1 and cols ≥ 1.
 * @param out  output of the same shape; may not alias in.
 * @return CK_OK, CK_ESHAPE, CK_EINVAL or CK_ERANGE.
 *
 * Implementation notes: memory-bound, two loads per flop; scales until memory bandwidth runs out.
 */
ck_status ck_stencil5(ck_const_dmatrix in, ck_dmatrix out);

/**
 * Mandelbrot escape counts over a grid of the complex plane:
 *   out[r * width + x] := least k < max_iter with |z_k| > 2, where z_0 = 0, z_{k+1} = z_k² + c,
 *   and c = (x0 + x * dx) + (y0 + (row_begin + r) * dy) i; max_iter if it never escapes.
 *
 * @param x0, y0     the plane coordinates of grid point (0, 0).
 * @param dx, dy     grid spacing; finite.
 * @param width      points per row.
 * @param row_begin  first grid row to compute, so threads can split the rows.
 * @param rows       number of rows to compute.
 * @param max_iter   iteration cap, ≥ 1.
 * @param out        rows × width counts.
 * @param out_count  elements `out` holds.
 * @return CK_OK, CK_EINVAL or CK_ERANGE.
 *
 * Implementation notes: compute-bound and branchy, no memory traffic; scales perfectly.
 */
ck_status ck_mandelbrot(double x0, double y0, double dx, double dy, size_t width, size_t row_begin,
                        size_t rows, uint32_t max_iter, uint32_t *out, size_t out_count);

/**
 * 64-bit FNV-1a hash of a byte buffer:
 *   h := 0xcbf29ce484222325; for each byte b: h := (h XOR b) * 0x100000001b3.
 *
 * @param data   the bytes; may be NULL when count is 0.
 * @param count  number of bytes.
 * @param seed   XORed into the offset basis, so callers can chain or separate hashes; 0 gives
 *               standard FNV-1a.
 * @param out    receives the hash.
 * @return CK_OK or CK_EINVAL.
 *
 * Implementation notes: latency-bound, one multiply per byte on a serial dependency chain.
 */
ck_status ck_fnv1a64(const uint8_t *data, size_t count, uint64_t seed, uint64_t *out);

#endif /* CK_DENSE_H */
