#define _GNU_SOURCE 1  // ppoll
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <time.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#include "ck_shape.h"

// MARK: - Stencil

ck_status ck_stencil5(ck_const_dmatrix in, ck_dmatrix out) {
    if (in.rows != out.rows || in.cols != out.cols) return CK_ESHAPE;
    if (in.rows == 0 || in.cols == 0) return CK_EINVAL;
    ck_status s;
    if ((s = ck_check(in)) != CK_OK) return s;
    if ((s = ck_check_mut(out)) != CK_OK) return s;

    const size_t rows = in.rows, cols = in.cols;
    for (size_t i = 0; i < rows; i++) {
        const double *row = in.base + i * in.ld;
        double *dst = out.base + i * out.ld;
        if (i == 0 || i == rows - 1 || cols < 3) {
            for (size_t j = 0; j < cols; j++) dst[j] = row[j];
            continue;
        }
        const double *up = row - in.ld, *down = row + in.ld;
        dst[0] = row[0];
        for (size_t j = 1; j + 1 < cols; j++) {
            dst[j] = 0.25 * (up[j] + down[j] + row[j - 1] + row[j + 1]);
        }
        dst[cols - 1] = row[cols - 1];
    }
    return CK_OK;
}

// MARK: - Mandelbrot

ck_status ck_mandelbrot(double x0, double y0, double dx, double dy, size_t width, size_t row_begin,
                        size_t rows, uint32_t max_iter, uint32_t *out, size_t out_count) {
    if (max_iter == 0 || !isfinite(x0) || !isfinite(y0) || !isfinite(dx) || !isfinite(dy)) {
        return CK_EINVAL;
    }
    if (rows != 0 && width > SIZE_MAX / rows) return CK_EOVERFLOW;
    if (rows * width > out_count) return CK_ERANGE;
    if (rows * width != 0 && out == NULL) return CK_EINVAL;
    // An empty grid has nothing to compute; without this, rows = SIZE_MAX and width = 0 would
    // spin through 2^64 empty rows (found by the fuzzer).
    if (rows == 0 || width == 0) return CK_OK;

    for (size_t r = 0; r < rows; r++) {
        const double ci = y0 + (double)(row_begin + r) * dy;
        for (size_t x = 0; x < width; x++) {
            const double cr = x0 + (double)x * dx;
            double zr = 0, zi = 0;
            uint32_t k = 0;
            while (k < max_iter) {
                const double zr2 = zr * zr, zi2 = zi * zi;
                if (zr2 + zi2 > 4.0) break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                k++;
            }
            out[r * width + x] = k;
        }
    }
    return CK_OK;
}

// MARK: - Hash

ck_status ck_fnv1a64(const uint8_t *data, size_t count, uint64_t seed, uint64_t *out) {
    if (out == NULL || (data == NULL && count != 0)) return CK_EINVAL;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < count; i++) {
        h ^= data[i];
        h *= 0x100000001b3ull;
    }
    *out = h;
    return CK_OK;
}

// MARK: - Blocking

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
