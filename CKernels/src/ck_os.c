#define _GNU_SOURCE 1  // ppoll
#include "ck_os.h"

#include <errno.h>
#include <time.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

ck_status ck_sleep_ns(uint64_t nanoseconds) {
    struct timespec left = {
        .tv_sec = (time_t)(nanoseconds / 1000000000u),
        .tv_nsec = (long)(nanoseconds % 1000000000u),
    };
    int saved = errno;
    while (nanosleep(&left, &left) != 0) {
        if (errno != EINTR) {
            errno = saved;
            return CK_EINTR;
        }
    }
    errno = saved;
    return CK_OK;
}

ck_status ck_poll_ns(struct pollfd *fds, size_t count, int64_t timeout_ns, int *ready) {
    if (ready == NULL || (fds == NULL && count > 0)) return CK_EINVAL;
    int saved = errno, n;
#if defined(__linux__)
    struct timespec limit = {
        .tv_sec = (time_t)(timeout_ns / 1000000000),
        .tv_nsec = (long)(timeout_ns % 1000000000),
    };
    n = ppoll(fds, (nfds_t)count, timeout_ns < 0 ? NULL : &limit, NULL);
#else
    int ms = timeout_ns < 0 ? -1
        : timeout_ns / 1000000 >= INT32_MAX ? INT32_MAX : (int)((timeout_ns + 999999) / 1000000);
    n = poll(fds, (nfds_t)count, ms);
#endif
    if (n < 0) {
        if (errno != EINTR) return CK_EINTR;
        errno = saved;
        n = 0;
    }
    *ready = n;
    return CK_OK;
}

ck_status ck_set_timer_slack_ns(uint64_t nanoseconds) {
#if defined(__linux__)
    if (nanoseconds > (uint64_t)(unsigned long)-1) return CK_EINVAL;
    return prctl(PR_SET_TIMERSLACK, (unsigned long)nanoseconds, 0, 0, 0) == 0 ? CK_OK : CK_EINVAL;
#else
    (void)nanoseconds;
    return CK_EINVAL;
#endif
}
