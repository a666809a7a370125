#include "ck_probe.h"

#include <errno.h>

#include "ck_lock.h"

int ck_probe_errno(int value) {
    CK_BEGIN_ALLOW_THREADS
        errno = value;
    CK_END_ALLOW_THREADS
    return errno;
}
