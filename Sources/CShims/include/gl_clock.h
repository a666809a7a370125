// The interpreter lock's clock. Every hold, wait and released span GILLab reports is the
// difference of two readings of it, so a timed round trip costs two readings: on x86-64 with an
// invariant time-stamp counter (/proc/cpuinfo shows both `constant_tsc` and `nonstop_tsc`, and the
// kernel's own clocksource is `tsc`, so it found the cores' counters in step) a
// reading is `rdtsc` and a multiply, about half a `clock_gettime` vDSO call (11 against 22-25 ns
// on the 2-core Intel Xeon VM, measured with a C loop); elsewhere
// it is `clock_gettime(CLOCK_MONOTONIC)`. The counter is calibrated against CLOCK_MONOTONIC the
// first time the clock is read, so readings are nanoseconds on that clock's scale, anchored at
// that moment. `GILLAB_CLOCK=monotonic` in the environment keeps the system clock.
#ifndef GL_CLOCK_H
#define GL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

typedef struct {
    /// Set once, by gl_clock_setup: the clock is ready.
    bool ready;
    /// Whether readings come from the time-stamp counter.
    bool tsc;
    /// The counter and CLOCK_MONOTONIC at the calibration's start.
    uint64_t tsc0, ns0;
    /// Nanoseconds per tick, times 2^32.
    uint64_t mult;
    /// The counter's frequency in kHz, as calibrated (0 without the counter).
    uint64_t khz;
} gl_clock_state;

extern gl_clock_state gl_clock;

/// Decides the source and calibrates, once per process (later calls return at once).
void gl_clock_setup(void);

/// Whether readings come from the time-stamp counter (sets the clock up first).
static inline bool gl_clock_uses_tsc(void) {
    gl_clock_setup();
    return gl_clock.tsc;
}

/// The counter's calibrated frequency in kHz; 0 without the counter.
static inline uint64_t gl_clock_tsc_khz(void) {
    gl_clock_setup();
    return gl_clock.khz;
}

/// Nanoseconds on CLOCK_MONOTONIC, always the system clock: for times compared across
/// processes, whose counters are calibrated apart.
static inline uint64_t gl_clock_system_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/// Nanoseconds on the lock's clock.
static inline uint64_t gl_clock_ns(void) {
    if (__builtin_expect(!__atomic_load_n(&gl_clock.ready, __ATOMIC_ACQUIRE), 0)) gl_clock_setup();
#if defined(__x86_64__)
    if (gl_clock.tsc) {
        // A core whose counter reads a little behind the calibrating one's start counts as 0.
        int64_t ticks = (int64_t)(__rdtsc() - gl_clock.tsc0);
        if (ticks < 0) ticks = 0;
        return gl_clock.ns0 + (uint64_t)(((unsigned __int128)(uint64_t)ticks * gl_clock.mult) >> 32);
    }
#endif
    return gl_clock_system_ns();
}

#endif
