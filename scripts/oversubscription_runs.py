#!/usr/bin/env python3
"""Runs `gillab scenario oversubscription` several times and prints, per cell, the median of
its wall time relative to the fix for the same app thread count (above 1 is a slowdown), with
the range. Each invocation is itself the median of interleaved rounds.

Usage: scripts/oversubscription_runs.py N [gillab-scenario-oversubscription-arguments...]
"""
import json
import statistics
import subprocess
import sys

if len(sys.argv) < 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
    sys.exit("usage: scripts/oversubscription_runs.py N [arguments...]")
count, arguments = int(sys.argv[1]), sys.argv[2:]
cells = {}
for _ in range(count):
    output = subprocess.run([".build/release/gillab", "scenario", "oversubscription", *arguments, "--format", "json"],
                            check=True, capture_output=True, text=True).stdout
    for r in json.loads(output)["results"]:
        cells.setdefault((r["app_threads"], r["blas_threads"]), []).append(r)
print(f"{count} invocations of: gillab scenario oversubscription {' '.join(arguments)}")
for (app, blas), results in sorted(cells.items()):
    ratios = [r["vs_fix"] for r in results]
    speedups = [r["speedup"] for r in results]
    tag = " (fix)" if results[0]["is_fix"] else (" oversubscribed" if results[0]["oversubscribed"] else "")
    print(f"  app {app} × BLAS {blas}: vs fix median {statistics.median(ratios):.2f} range {min(ratios):.2f}-{max(ratios):.2f}"
          f"  speedup vs 1×1 {statistics.median(speedups):.2f}{tag}")
