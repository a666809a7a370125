#include "ck_blas.h"

#include <cblas.h>

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
