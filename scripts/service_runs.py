#!/usr/bin/env python3
"""Runs `gillab scenario service` several times and prints, per strategy, the median of its
throughput relative to threads+hold over the invocations (with the range), and the median
p50, p99, CPU utilisation and RSS. Each invocation is itself the median of interleaved rounds.

Usage: scripts/service_runs.py N [gillab-scenario-service-arguments...]
  e.g. scripts/service_runs.py 3 --compute processes
"""
import json
import statistics
import subprocess
import sys

if len(sys.argv) < 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
    sys.exit("usage: scripts/service_runs.py N [gillab-scenario-service-arguments...]")
count, arguments = int(sys.argv[1]), sys.argv[2:]
rows = {}
for _ in range(count):
    output = subprocess.run([".build/release/gillab", "scenario", "service", *arguments, "--format", "json"],
                            check=True, capture_output=True, text=True).stdout
    for result in json.loads(output)["results"]:
        rows.setdefault(result["strategy"], []).append(result)
print(f"{count} invocations of: gillab scenario service {' '.join(arguments)}")
for strategy, results in rows.items():
    ratios = [r.get("vs_threads_hold") or 0 for r in results]
    med = lambda key: statistics.median(key(r) for r in results)
    print(f"  {strategy:18} vs hold median {statistics.median(ratios):.2f} range {min(ratios):.2f}-{max(ratios):.2f}"
          f"  rps {med(lambda r: r['throughput_rps']):.0f}  p50 {med(lambda r: r['latency_us']['p50']) / 1e3:.1f} ms"
          f"  p99 {med(lambda r: r['latency_us']['p99']) / 1e3:.1f} ms  cpu {med(lambda r: r['cpu_utilisation']):.2f}"
          f"  rss {med(lambda r: r['rss_bytes']) / 2**20:.0f} MiB  checked {sum(r['responses_checked'] for r in results)}")
