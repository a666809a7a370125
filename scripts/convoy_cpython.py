#!/usr/bin/env python3
"""The convoy effect in CPython itself, measured as `gillab scenario convoy` measures it: one
thread repeats time.sleep(0.001) followed by a little Python code, alone and beside 1 and 2
CPU-bound threads; reported is how much longer than 1 ms each sleep took until the thread ran
Python code again (p50, p99, max in µs). time.sleep keeps the kernel's default timer slack, so
compare with `gillab scenario convoy --default-timer-slack`.

Usage: scripts/convoy_cpython.py [SAMPLES]
"""
import statistics
import sys
import threading
import time

samples = int(sys.argv[1]) if len(sys.argv) > 1 else 450
BLOCK = 0.001


def spin(stop, counts, index):
    done = 0
    while not stop.is_set():
        n = 20_000
        while n > 0:
            n -= 1
        done += 20_000
    counts[index] = done


def request(k):
    total = 0
    for i in range(20):
        total += (k * i) % 7
    return total


def measure(cpu_threads):
    stop = threading.Event()
    counts = [0] * cpu_threads
    workers = [threading.Thread(target=spin, args=(stop, counts, i)) for i in range(cpu_threads)]
    for worker in workers:
        worker.start()
    extra = []
    start = time.perf_counter()
    for k in range(10 + samples):
        before = time.perf_counter()
        time.sleep(BLOCK)
        after = time.perf_counter()
        request(k)
        if k >= 10:
            extra.append((after - before - BLOCK) * 1e6)
    elapsed = time.perf_counter() - start
    stop.set()
    for worker in workers:
        worker.join()
    extra.sort()
    return {
        "cpu_threads": cpu_threads,
        "p50_us": round(statistics.median(extra)),
        "p99_us": round(extra[min(len(extra) - 1, int(len(extra) * 0.99))]),
        "max_us": round(extra[-1]),
        "cpu_Mit_per_s": round(sum(counts) / elapsed / 1e6, 2),
    }


print(f"CPython {sys.version.split()[0]}, switch interval {sys.getswitchinterval() * 1e3:.1f} ms, {samples} samples")
for cpu_threads in (0, 1, 2):
    print(measure(cpu_threads))
