#ifndef CK_PROBE_H
#define CK_PROBE_H

/*
 * Test-only C functions that exercise ck_lock.h from C, as an extension would. Not part of the
 * shipped CKernels library.
 */

/// Sets errno to `value` inside a released block and returns errno as seen after it: a test
/// that the macros preserve errno across the lock's own system calls.
int ck_probe_errno(int value);

#endif /* CK_PROBE_H */
