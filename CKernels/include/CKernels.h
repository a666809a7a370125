// Umbrella header of the CKernels module: one header per source.
#include "ck_status.h"
#include "ck_dense.h"
#include "ck_os.h"
#include "ck_blas.h"
#include "ck_lock.h"
#include "ck_extension.h"
