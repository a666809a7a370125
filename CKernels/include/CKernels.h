// Umbrella header of the CKernels module.
#include "ck_status.h"
#include "ck_kernels.h"
#include "ck_lock.h"
#include "ck_extension.h"
