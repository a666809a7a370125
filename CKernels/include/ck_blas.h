#ifndef CK_BLAS_H
#define CK_BLAS_H

/*
 * OpenBLAS's process-wide settings: its thread count, and what it was built for and chose.
 */

#include "ck_status.h"

/// The number of threads OpenBLAS uses. Process-wide.
int ck_blas_get_num_threads(void);

/// Sets the number of threads OpenBLAS uses, process-wide. Returns CK_EINVAL for n < 1.
ck_status ck_blas_set_num_threads(int n);

/// openblas_get_config(): build options, for example "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
const char *ck_blas_config(void);

/// openblas_get_corename(): the kernel set OpenBLAS chose for this CPU.
const char *ck_blas_corename(void);

#endif /* CK_BLAS_H */
