#!/usr/bin/env python3
"""Runs one `gillab run` command several times and prints, per row, the median speedup across
the invocations with its range. On a shared, noisy machine a single invocation (itself a median
of interleaved repeats) can land in a slow spell; the median of several is what to quote.

Usage: scripts/speedups.py N gillab-run-arguments...
  e.g. scripts/speedups.py 5 --workload gemm --size 512 --threads 1,2 --modes serial,hold,release
"""
import json
import statistics
import subprocess
import sys

if len(sys.argv) < 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
    sys.exit("usage: scripts/speedups.py N gillab-run-arguments...")
count, arguments = int(sys.argv[1]), sys.argv[2:]
rows, checksums = {}, set()
for _ in range(count):
    output = subprocess.run([".build/release/gillab", "run", *arguments, "--format", "json"],
                            check=True, capture_output=True, text=True).stdout
    for result in json.loads(output)["results"]:
        key = (result["mode"], result["threads"])
        rows.setdefault(key, []).append(result)
        checksums.add(result["checksum"])
print(f"{count} invocations of: gillab run {' '.join(arguments)}")
for (mode, threads), results in rows.items():
    speedups = [r["speedup"] for r in results]
    switches = statistics.median(r["lock"]["switches"] for r in results)
    held = statistics.median(r["lock"]["held_fraction"] for r in results)
    rss = statistics.median(r.get("rss_bytes", 0) for r in results) / 2**20
    line = (f"  {mode:9} {threads:3} threads  speedup median {statistics.median(speedups):.2f}"
            f"  range {min(speedups):.2f}-{max(speedups):.2f}  held {held:.3f}  switches {switches:g}  rss {rss:.1f} MiB")
    figures = [r["processes"] for r in results if "processes" in r]
    if figures:
        startup = statistics.median(f["startup_s"]["median"] for f in figures) * 1e3
        ipc = statistics.median(f["ipc_s"] for f in figures) * 1e3
        pipe = statistics.median(f["pipe_bytes"] for f in figures)
        peak = statistics.median(f["worker_peak_rss_bytes"] for f in figures) / 2**20
        line += (f"\n  {'':9} {'':3}          start-up {startup:.1f} ms/worker  IPC {ipc:.2f} ms  pipes {pipe:.0f} B"
                 f"  shared {figures[0]['shared_bytes']} B  worker peak RSS {peak:.1f} MiB")
    print(line)
print(f"checksums: {'all equal' if len(checksums) == 1 else 'MISMATCH ' + str(sorted(checksums))}")
