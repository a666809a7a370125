#!/usr/bin/env python3
"""The CPython side of `gillab compare-cpython`: the same workloads, measured the same way, in
the CPython that runs this script. Standard library only: ctypes and the system's libopenblas.

- dgemm: each unit sets A[0] to float(unit % 7), calls cblas_dgemm (order n, row-major) and reads
  back C[0], as GILLab's gemm-call workload does in its interpreter, line for line. A fixed number of units is split
  across 1 or 2 threads. `hold` calls through ctypes.PyDLL, which keeps the GIL during the call;
  `release` through ctypes.CDLL, which drops it. The baseline is 1 thread through CDLL, like
  GILLab's serial row, which releases around its kernels.
- countdown: `while n > 0: n -= 1` (Beazley's test), the total count split across the threads.
- convoy: a thread repeats time.sleep(0.001) and a little Python code, alone and beside one
  CPU-bound thread; reported is the request rate beside ÷ alone.
- switch-interval: the convoy's latency at sys.setswitchinterval(--switch-interval): a thread
  repeats time.sleep(0.001) and a little Python code beside one CPU-bound thread; reported is
  how much longer than 1 ms each sleep took until the thread ran Python code again (p50, p99 µs),
  as `gillab scenario convoy --default-timer-slack` measures it.
- sweep: the switch-interval sweep's point at sys.setswitchinterval(--switch-interval), beside each
  of --cpu-threads CPU-bound threads: the CPU threads alone for 0.2 s, then the sleeper beside
  them; reported are p50, p99, max and mean extra latency and the CPU threads' throughput ÷ alone, as
  `gillab scenario switch-interval --default-timer-slack` measures them.
- glue: the dgemm unit with a zero-order call (M = N = K = 0: OpenBLAS returns at once), through
  CDLL: what a unit costs besides the arithmetic, almost all of it with the GIL held (ctypes
  converts the 14 arguments before it lets go). gillab compare-cpython pads GILLab's unit to
  the same held time, so that both sides compare their locks, not their call overheads.

Every speedup is the median over --repeat rounds of the baseline's wall ÷ the row's wall in the
same round; within a round the rows run in turn (A B C …) and odd rounds in reverse, so that a
drift of the machine falls on every row alike. GILLab's runner computes its speedups the same way.

Prints one JSON object: {"python": …, "openblas": …, "rows": [{"workload", "size", "mode",
"threads", "speedup", "wall_s"}], "glue_us": … (with --only glue), "convoy_latency": {"p50_us",
"p99_us", "samples"} (with --only switch-interval), "sweep": [{"interval_ms", "cpu_threads",
"p50_us", "p99_us", "max_us", "mean_us", "samples", "cpu_vs_alone"}] (with --only sweep)}.
"""
import argparse
import ctypes
import ctypes.util
import json
import statistics
import sys
import threading
import time

CBLAS_ROW_MAJOR, CBLAS_NO_TRANS = 101, 111


def load_openblas():
    name = ctypes.util.find_library("openblas") or "libopenblas.so.0"
    try:
        release = ctypes.CDLL(name)
        hold = ctypes.PyDLL(name)
    except OSError as error:
        sys.exit(f"cpython_side.py: cannot load OpenBLAS ({name}): {error}")
    for lib in (release, hold):
        lib.cblas_dgemm.restype = None
        lib.cblas_dgemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_double, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                    ctypes.c_double, ctypes.c_void_p, ctypes.c_int]
    release.openblas_set_num_threads(1)
    config = ctypes.c_char_p
    release.openblas_get_config.restype = config
    return release, hold, release.openblas_get_config().decode()


def run_threads(threads, target, args_for):
    workers = [threading.Thread(target=target, args=args_for(k)) for k in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


_buffers = {}


def buffers(n, k):
    """Thread k's A, B and C for order n, made once and kept: filling them is not timed."""
    if (n, k) not in _buffers:
        size = n * n
        _buffers[(n, k)] = ((ctypes.c_double * size)(*([1.5] * size)), (ctypes.c_double * size)(*([0.5] * size)),
                            (ctypes.c_double * size)())
    return _buffers[(n, k)]


def dgemm_trial(lib, n, units, threads):
    def work(count, k):
        a, b, c = buffers(n, k)
        total = 0.0
        for unit in range(count):
            a[0] = float(unit % 7)
            lib.cblas_dgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, n, n, n, 1.0, a, n, b, n, 0.0, c, n)
            total += c[0]
        return total

    for k in range(threads):
        buffers(n, k)
    return run_threads(threads, work, lambda k: ((units * (k + 1)) // threads - (units * k) // threads, k))


def countdown(n):
    while n > 0:
        n -= 1


def countdown_trial(n, threads):
    return run_threads(threads, countdown, lambda k: ((n * (k + 1)) // threads - (n * k) // threads,))


def convoy_rate(cpu_threads, samples):
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            countdown(20_000)

    workers = [threading.Thread(target=spin) for _ in range(cpu_threads)]
    for worker in workers:
        worker.start()
    for k in range(10):  # warm-up
        time.sleep(0.001)
    start = time.perf_counter()
    for k in range(samples):
        time.sleep(0.001)
        total = 0
        for i in range(20):
            total += (k * i) % 7
    elapsed = time.perf_counter() - start
    stop.set()
    for worker in workers:
        worker.join()
    return samples / elapsed


def convoy_latency(samples, block=0.001):
    """Percentiles of how much longer than `block` each sleep took, beside one CPU-bound thread."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            countdown(20_000)

    worker = threading.Thread(target=spin)
    worker.start()
    extra = []
    for k in range(10 + samples):  # the first 10 are the warm-up
        before = time.perf_counter()
        time.sleep(block)
        after = time.perf_counter()  # time.sleep returns once it holds the GIL again
        total = 0
        for i in range(20):
            total += (k * i) % 7
        if k >= 10:
            extra.append((after - before - block) * 1e6)
    stop.set()
    worker.join()
    extra.sort()
    return {"p50_us": statistics.median(extra), "p99_us": extra[min(len(extra) - 1, int(len(extra) * 0.99))],
            "samples": samples}


def start_spinners(cpu_threads):
    """Starts `cpu_threads` countdown threads; returns a function that stops them and gives
    their iterations per second, summed."""
    stop = threading.Event()
    done = []

    def spin():
        iterations = 0
        start = time.perf_counter()
        while not stop.is_set():
            countdown(20_000)
            iterations += 20_000
        done.append(iterations / (time.perf_counter() - start))

    workers = [threading.Thread(target=spin) for _ in range(cpu_threads)]
    for worker in workers:
        worker.start()

    def finish():
        stop.set()
        for worker in workers:
            worker.join()
        return sum(done)
    return finish


def cpu_rate_alone(cpu_threads, seconds=0.2):
    """Countdown iterations per second of `cpu_threads` CPU-bound threads alone for `seconds`."""
    finish = start_spinners(cpu_threads)
    time.sleep(seconds)
    return finish()


def sweep_point(cpu_threads, samples, block=0.001):
    """The switch-interval sweep's point at the current sys.setswitchinterval: a thread sleeping
    `block` beside `cpu_threads` countdown threads, as `gillab scenario switch-interval` runs it:
    the CPU threads alone for 0.2 s first, then beside the sleeper. Returns the sleeper's extra
    latency (p50, p99, max, µs) and the CPU threads' throughput beside it ÷ alone."""
    alone = cpu_rate_alone(cpu_threads)
    finish = start_spinners(cpu_threads)
    extra = []
    for k in range(10 + samples):  # the first 10 are the warm-up
        before = time.perf_counter()
        time.sleep(block)
        after = time.perf_counter()  # time.sleep returns once it holds the GIL again
        total = 0
        for i in range(20):
            total += (k * i) % 7
        if k >= 10:
            extra.append(max(0.0, (after - before - block) * 1e6))
    beside = finish()
    extra.sort()
    return {"p50_us": statistics.median(extra), "p99_us": extra[min(len(extra) - 1, int(len(extra) * 0.99))],
            "max_us": extra[-1], "mean_us": statistics.fmean(extra), "samples": samples,
            "cpu_vs_alone": beside / alone if alone > 0 else 0.0}


def glue_microseconds(lib, rounds, units=50_000):
    """Median µs per dgemm unit with a zero-order call: the unit's cost besides the arithmetic."""
    a, b, c = buffers(1, 0)
    samples = []
    for _ in range(rounds + 1):  # the first is the warm-up
        start = time.perf_counter()
        total = 0.0
        for unit in range(units):
            a[0] = float(unit % 7)
            lib.cblas_dgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_NO_TRANS, 0, 0, 0, 1.0, a, 1, b, 1, 0.0, c, 1)
            total += c[0]
        samples.append((time.perf_counter() - start) / units * 1e6)
    return statistics.median(samples[1:])


def calibrate_units(lib, n, seconds):
    """Units of dgemm n that take about `seconds` on one thread (at least 16)."""
    probe = 4
    while True:
        elapsed = dgemm_trial(lib, n, probe, 1)
        if elapsed > 0.05 or probe >= 1 << 20:
            return max(16, int(probe * seconds / elapsed))
        probe *= 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="16,64,256,512")
    parser.add_argument("--countdown", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=float, default=0.25, help="serial seconds per dgemm row")
    parser.add_argument("--convoy-samples", type=int, default=150)
    parser.add_argument("--switch-interval", type=float, default=0.005,
                        help="sys.setswitchinterval for --only switch-interval, in seconds")
    parser.add_argument("--only", choices=["dgemm", "countdown", "convoy", "glue", "switch-interval", "sweep"],
                        help="run one workload only")
    parser.add_argument("--cpu-threads", default="1,2",
                        help="CPU-bound threads beside the sleeper, comma-separated, for --only sweep")
    args = parser.parse_args()
    if args.repeat < 1:
        sys.exit(f"cpython_side.py: --repeat must be at least 1, got {args.repeat}")
    if not args.switch_interval > 0:
        sys.exit(f"cpython_side.py: --switch-interval must be positive, got {args.switch_interval}")
    if args.convoy_samples < 1:
        sys.exit(f"cpython_side.py: --convoy-samples must be at least 1, got {args.convoy_samples}")
    # OpenBLAS only where a workload calls it: countdown and the convoys run without it.
    try:
        cpu_counts = [int(c) for c in args.cpu_threads.split(",")]
    except ValueError:
        sys.exit(f"cpython_side.py: --cpu-threads must be whole numbers, got {args.cpu_threads!r}")
    if not all(1 <= c <= 64 for c in cpu_counts):
        sys.exit(f"cpython_side.py: --cpu-threads must each be between 1 and 64, got {args.cpu_threads!r}")
    needs_blas = args.only in (None, "dgemm", "glue")
    release, hold, config = load_openblas() if needs_blas else (None, None, None)
    sys.setswitchinterval(0.005)

    rows = []

    def measure(workload, size, trials):
        """trials: [(mode, threads, callable)], the first is the baseline."""
        walls = {key: [] for key, _, _ in trials}
        for round_index in range(args.repeat + 1):  # round 0 is the warm-up
            order = trials if round_index % 2 == 0 else list(reversed(trials))
            for key, _, trial in order:
                wall = trial()
                if round_index > 0:
                    walls[key].append(wall)
        baseline = walls[trials[0][0]]
        for key, threads, _ in trials[1:]:
            ratios = [base / wall for base, wall in zip(baseline, walls[key])]
            rows.append({"workload": workload, "size": size, "mode": key[0], "threads": threads,
                         "speedup": statistics.median(ratios), "wall_s": statistics.median(walls[key])})

    wanted = (lambda workload: args.only in (None, workload))
    for n in [int(s) for s in args.sizes.split(",") if s] if wanted("dgemm") else []:
        units = calibrate_units(release, n, args.seconds)
        measure("dgemm", n, [
            (("serial", 1), 1, lambda: dgemm_trial(release, n, units, 1)),
            (("hold", 1), 1, lambda: dgemm_trial(hold, n, units, 1)),
            (("hold", 2), 2, lambda: dgemm_trial(hold, n, units, 2)),
            (("release", 1), 1, lambda: dgemm_trial(release, n, units, 1)),
            (("release", 2), 2, lambda: dgemm_trial(release, n, units, 2)),
        ])
    if wanted("countdown"):
        measure("countdown", args.countdown, [
            (("serial", 1), 1, lambda: countdown_trial(args.countdown, 1)),
            (("hold", 2), 2, lambda: countdown_trial(args.countdown, 2)),
        ])
    if wanted("convoy"):
        # The convoy: rate beside one CPU thread ÷ rate alone, median over rounds.
        ratios = []
        for _ in range(max(1, args.repeat // 2)):
            alone = convoy_rate(0, args.convoy_samples)
            beside = convoy_rate(1, args.convoy_samples)
            ratios.append(beside / alone)
        rows.append({"workload": "convoy", "size": 1000, "mode": "beside-cpu", "threads": 2,
                     "speedup": statistics.median(ratios), "wall_s": None})

    output = {"python": sys.version.split()[0], "openblas": config, "rows": rows}
    if args.only == "glue":
        output["glue_us"] = glue_microseconds(release, args.repeat)
    if args.only == "switch-interval":
        sys.setswitchinterval(args.switch_interval)
        output["convoy_latency"] = convoy_latency(args.convoy_samples)
    if args.only == "sweep":
        # One interval per run: --switch-interval, at each CPU thread count in turn.
        sys.setswitchinterval(args.switch_interval)
        output["sweep"] = [dict(sweep_point(count, args.convoy_samples), cpu_threads=count,
                                interval_ms=args.switch_interval * 1e3) for count in cpu_counts]
    print(json.dumps(output))


if __name__ == "__main__":
    main()
