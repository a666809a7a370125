// CShims: declarations Swift calls (gl_swift_rc.h, header-only) and the lock's clock (gl_clock.h).
#include "gl_swift_rc.h"
#include "gl_clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gl_clock_state gl_clock;

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
    return constant && nonstop;
#else
    return false;
#endif
}

static void calibrate(void) {
    const char *choice = getenv("GILLAB_CLOCK");
    bool wanted = !(choice && strcmp(choice, "monotonic") == 0);
    if (wanted && invariant_tsc()) {
#if defined(__x86_64__)
        // Two (counter, clock) pairs 2 ms apart; each clock reading is bracketed by counter
        // readings, whose midpoint pairs with it. 2 ms against the clock's ~30 ns of jitter: the
        // rate is good to about 30 ppm.
        uint64_t before = __rdtsc(), ns0 = gl_clock_system_ns(), after = __rdtsc();
        uint64_t tsc0 = before + (after - before) / 2;
        struct timespec pause = {0, 2000000};
        while (nanosleep(&pause, &pause) != 0) {}
        before = __rdtsc();
        uint64_t ns1 = gl_clock_system_ns();
        after = __rdtsc();
        uint64_t tsc1 = before + (after - before) / 2;
        if (tsc1 > tsc0 && ns1 > ns0) {
            gl_clock.tsc0 = tsc0;
            gl_clock.ns0 = ns0;
            gl_clock.mult = (uint64_t)(((unsigned __int128)(ns1 - ns0) << 32) / (tsc1 - tsc0));
            gl_clock.khz = (tsc1 - tsc0) * 1000000u / (ns1 - ns0);
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
