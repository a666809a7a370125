#!/usr/bin/env python3
"""Beazley's test in CPython and in GILLab, interleaved: the speedup of 2 threads each counting
N/2 over 1 thread counting N. Prints each pair and the medians, so the two are compared on the
same machine in the same minutes.

Usage: scripts/countdown_threads_vs_cpython.py [PAIRS] [N]
The gillab binary is $GILLAB if set, else this checkout's release build (built first if missing).
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000_000


def count(k):
    while k > 0:
        k -= 1


def threaded():
    workers = [threading.Thread(target=count, args=(n // 2,)) for _ in range(2)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def serial():
    start = time.perf_counter()
    count(n)
    return time.perf_counter() - start


def cpython_speedup():
    """As GILLab's runner measures it: one warm-up round, then 3 rounds of serial and 2 threads,
    and the median of the per-round ratios (a single cold serial run read high here)."""
    serial(), threaded()
    return statistics.median(serial() / threaded() for _ in range(3))


def gillab_speedup():
    output = subprocess.run([GILLAB, "run", "--workload", "countdown", "--size", str(n),
                             "--threads", "2", "--modes", "serial,hold", "--repeat", "3", "--format", "json"],
                            check=True, capture_output=True, text=True).stdout
    return next(r["speedup"] for r in json.loads(output)["results"] if r["mode"] == "hold")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from repeat import gillab as find_gillab  # noqa: E402

GILLAB = find_gillab()
cpython, gillab = [], []
for _ in range(pairs):
    cpython.append(cpython_speedup())
    gillab.append(gillab_speedup())
    print(f"CPython {cpython[-1]:.2f}   GILLab {gillab[-1]:.2f}")
print(f"median 2-thread speedup over {pairs} pairs: CPython {statistics.median(cpython):.2f}, "
      f"GILLab {statistics.median(gillab):.2f}")
