#ifndef CK_OS_H
#define CK_OS_H

/*
 * Blocking calls into the operating system, as a blocking extension function makes them: a
 * sleep, a poll with a nanosecond timeout, and the thread's timer slack. Each validates its
 * arguments and returns a ck_status; none knows of the interpreter lock.
 */

#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include "ck_status.h"

/**
 * Blocks the calling thread for `nanoseconds`, as a blocking system call would.
 *
 * @return CK_OK, or CK_EINTR when the operating system refuses the sleep.
 *
 * Implementation notes: nanosleep, restarted on EINTR with the time that remains, so a signal
 * does not shorten the block.
 */
ck_status ck_sleep_ns(uint64_t nanoseconds);

/**
 * Waits, as poll(2) does, until one of `fds` is ready or `timeout_ns` has passed, with the
 * timeout in nanoseconds (poll's own is in milliseconds, too coarse for a 1 ms timer).
 *
 * @param timeout_ns the longest wait; negative waits for a descriptor however long it takes.
 * @param ready set to how many descriptors are ready; 0 after a timeout or a signal.
 * @return CK_OK, CK_EINVAL for a NULL `ready` or `fds` with `count` > 0, or CK_EINTR when the
 *         system refuses the wait for another reason (errno tells which).
 */
ck_status ck_poll_ns(struct pollfd *fds, size_t count, int64_t timeout_ns, int *ready);

/**
 * Sets the calling thread's timer slack: how late the kernel may wake it from a timed sleep so
 * that it can batch wake-ups. Linux's default is 50 µs, which would otherwise dominate a
 * measurement of wake-up latency.
 *
 * @param nanoseconds the slack; 0 restores the thread's default.
 * @return CK_OK, or CK_EINVAL where the system has no per-thread timer slack (not Linux) or
 *         refuses the value.
 */
ck_status ck_set_timer_slack_ns(uint64_t nanoseconds);

#endif /* CK_OS_H */
