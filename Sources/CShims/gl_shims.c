// CShims: declarations Swift calls (gl_swift_rc.h, header-only), the lock's clock (gl_clock.h)
// and the interpreter's thread numbers (gl_thread.h).
#define _GNU_SOURCE 1  // pthread_getattr_np
#include "gl_swift_rc.h"
#include "gl_clock.h"
#include "gl_thread.h"
#include "gl_stack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gl_clock_state gl_clock;

__thread uintptr_t gl_stack_low_value;

uintptr_t gl_stack_low_find(void) {
#if defined(__linux__)
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0) return 0;
    void *low = NULL;
    size_t size = 0;
    int failed = pthread_attr_getstack(&attributes, &low, &size);
    pthread_attr_destroy(&attributes);
    if (failed || low == NULL) return 0;
    gl_stack_low_value = (uintptr_t)low;
    return gl_stack_low_value;
#else
    return 0;
#endif
}

__thread uint32_t gl_thread_token_value;
__thread uint8_t gl_shared_objects_value;
static uint32_t next_thread_token;

uint32_t gl_thread_token_assign(void) {
    uint32_t token;
    do token = __atomic_add_fetch(&next_thread_token, 1, __ATOMIC_RELAXED); while (token == 0);
    gl_thread_token_value = token;
    return token;
}

/// Whether the CPU's flags line lists both `constant_tsc` (the counter ticks at a fixed rate
/// whatever the core's frequency) and `nonstop_tsc` (it keeps ticking in deep idle states).
static bool invariant_tsc(void) {
#if defined(__x86_64__)
    FILE *cpuinfo = fopen("/proc/cpuinfo", "r");
    if (!cpuinfo) return false;
    char *line = NULL;
    size_t capacity = 0;
    bool constant = false, nonstop = false, seen = false;
    while (!seen && getline(&line, &capacity, cpuinfo) > 0) {
        if (strncmp(line, "flags", 5) != 0) continue;
        seen = true;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
    }
    free(line);
    fclose(cpuinfo);
    if (!(constant && nonstop)) return false;
    // The flags say the counter ticks steadily, not that the cores' counters agree. The kernel
    // checks that at boot and keeps `tsc` as its clocksource only if they do; a thread that moved
    // between unsynchronised counters could read time going backwards.
    FILE *source = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!source) return false;
    char name[32] = {0};
    bool tsc = fgets(name, sizeof name, source) != NULL && strncmp(name, "tsc", 3) == 0
        && (name[3] == '\n' || name[3] == '\0');
    fclose(source);
    return tsc;
#else
    return false;
#endif
}

#if defined(__x86_64__)
/// The narrowest of eight (counter, clock) brackets: the counter at the clock reading's midpoint.
static void bracket(uint64_t *tsc, uint64_t *ns, uint64_t *width) {
    *width = UINT64_MAX;
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t before = __rdtsc(), now = gl_clock_system_ns(), after = __rdtsc();
        if (after - before < *width) {
            *width = after - before;
            *tsc = before + (after - before) / 2;
            *ns = now;
        }
    }
}
#endif

static void calibrate(void) {
    const char *choice = getenv("GILLAB_CLOCK");
    bool wanted = !(choice && strcmp(choice, "monotonic") == 0);
    if (wanted && invariant_tsc()) {
#if defined(__x86_64__)
        // Two (counter, clock) pairs 2 ms apart. Each clock reading is bracketed by counter
        // readings, whose midpoint pairs with it; of several tries the narrowest bracket counts,
        // so that a preemption inside one does not skew the rate. Against 2 ms, a bracket of a
        // few tens of ns leaves the rate good to about 30 ppm; wider than 2 µs, the clock stays.
        uint64_t tsc0, ns0, width0, tsc1, ns1, width1;
        bracket(&tsc0, &ns0, &width0);
        struct timespec pause = {0, 2000000};
        while (nanosleep(&pause, &pause) != 0) {}
        bracket(&tsc1, &ns1, &width1);
        uint64_t khz = tsc1 > tsc0 && ns1 > ns0 ? (tsc1 - tsc0) * 1000000u / (ns1 - ns0) : 0;
        if (width0 < 6000 && width1 < 6000 && khz > 100000 && khz < 10000000) {
            gl_clock.tsc0 = tsc0;
            gl_clock.ns0 = ns0;
            gl_clock.mult = (uint64_t)(((unsigned __int128)(ns1 - ns0) << 32) / (tsc1 - tsc0));
            gl_clock.khz = khz;
            gl_clock.tsc = true;
        }
#endif
    }
    __atomic_store_n(&gl_clock.ready, true, __ATOMIC_RELEASE);
}

void gl_clock_setup(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, calibrate);
}
