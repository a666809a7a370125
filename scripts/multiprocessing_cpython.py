#!/usr/bin/env python3
"""The processes claim in real CPython, for the figures beside gillab's: Beazley's countdown,
N iterations in all, on 1 thread, on T threads, and on a multiprocessing Pool of T processes
(spawn, as gillab's workers are started), split into 4T chunks as Pool.map does by default.
Wall time includes the pool's start-up, as gillab's processes rows do, and the pool's start-up
alone is timed too. Each figure is the
median over R interleaved rounds.

Usage: scripts/multiprocessing_cpython.py [N=20000000] [T=2] [R=5]
"""
import multiprocessing
import statistics
import sys
import threading
import time


def countdown(n):
    while n > 0:
        n -= 1
    return n


def chunks(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def serial(total, t):
    for n in chunks(total, 4 * t):
        countdown(n)


def threads(total, t):
    work = chunks(total, 4 * t)
    lock = threading.Lock()

    def run():
        while True:
            with lock:
                if not work:
                    return
                n = work.pop()
            countdown(n)

    pool = [threading.Thread(target=run) for _ in range(t)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def processes(total, t):
    with multiprocessing.get_context("spawn").Pool(t) as pool:
        pool.map(countdown, chunks(total, 4 * t), chunksize=1)


def startup(total, t):
    """The pool alone: start T spawned workers, map nothing of substance, join."""
    processes(0, t)


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    t = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    modes = {"serial": serial, "threads": threads, "processes": processes, "startup": startup}
    walls = {name: [] for name in modes}
    for r in range(rounds + 1):  # round 0 warms up
        order = list(modes) if r % 2 == 0 else list(reversed(modes))
        for name in order:
            start = time.perf_counter()
            modes[name](total, t)
            if r > 0:
                walls[name].append(time.perf_counter() - start)
    base = statistics.median(walls["serial"])
    print(f"CPython {sys.version.split()[0]}: countdown {total} in all, {t} threads or processes, median of {rounds} rounds")
    for name, samples in walls.items():
        if name == "startup":
            print(f"  pool of {t} started, mapped nothing, joined: {statistics.median(samples) * 1e3:.1f} ms")
        else:
            print(f"  {name:9} wall {statistics.median(samples) * 1e3:8.1f} ms  speedup {base / statistics.median(samples):.2f}")
