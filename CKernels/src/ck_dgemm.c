#include <limits.h>
#include <cblas.h>
#include "ck_shape.h"

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

int ck_blas_get_num_threads(void) {
    return openblas_get_num_threads();
}

ck_status ck_blas_set_num_threads(int n) {
    if (n < 1) return CK_EINVAL;
    openblas_set_num_threads(n);
    return CK_OK;
}

const char *ck_blas_config(void) {
    return openblas_get_config();
}

const char *ck_blas_corename(void) {
    return openblas_get_corename();
}
