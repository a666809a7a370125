#!/usr/bin/env python3
"""Runs one gillab command several times and prints, per result row, the median of its figures
across the invocations with their range. On a shared, noisy machine one invocation (itself a
median of interleaved rounds) can land in a slow spell; the median of several is what to quote.

Usage: scripts/repeat.py [--against OTHER-GILLAB] N gillab-arguments...
  e.g. scripts/repeat.py 5 showcase
       scripts/repeat.py 5 run --workload gemm --size 512 --threads 1,2 --modes serial,hold,release
       scripts/repeat.py 3 scenario service --compute processes
       scripts/repeat.py 3 scenario oversubscription
       scripts/repeat.py --against /tmp/old/.build/release/gillab 5 run --workload gemm --size 512

With --against, each of the N rounds runs the other binary and this one, in alternating order
(A B, B A, …), and both are summarized, the other first: an A/B of two builds on the same
machine in the same minutes.

The figures shown depend on the command: the showcase's rows show speedup; `run` and `project` rows show speedup (and, for
processes rows, start-up and IPC), `scenario service` throughput against threads+hold,
`scenario oversubscription` the wall time against the fix, `scenario convoy` the latency
percentiles. --format json is added; every row's checksum, where it has one, must agree.

The gillab binary is $GILLAB if set, else the release build of this checkout
(`swift build -c release --show-bin-path`), built first if missing.
"""
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The fields that tell rows apart, and the figures to summarize, by command.
KEYS = ["workload", "size", "mode", "threads", "strategy", "app_threads", "blas_threads", "policy", "cpu_threads", "kernel"]
FIGURES = {
    "showcase": ["speedup"],
    "run": ["speedup", "lock.held_fraction", "lock.switches", "processes.startup_s.median", "processes.ipc_s"],
    "scenario service": ["vs_threads_hold", "throughput_rps", "latency_us.p50", "latency_us.p99", "cpu_utilisation"],
    "scenario oversubscription": ["vs_fix", "speedup"],
    "scenario convoy": ["latency_us.p50", "latency_us.p99", "lock_wait_us.p99", "cpu_throughput_vs_new_gil", "cpu_throughput_vs_alone", "cpu_max_wait_us"],
}


def gillab():
    """The gillab binary: $GILLAB, or this checkout's release build."""
    if os.environ.get("GILLAB"):
        return os.environ["GILLAB"]
    folder = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.strip()
    binary = os.path.join(folder, "gillab")
    if not os.access(binary, os.X_OK):
        subprocess.run(["swift", "build", "-c", "release", "--product", "gillab"], cwd=ROOT, check=True)
    return binary


def field(row, path):
    for part in path.split("."):
        if not isinstance(row, dict) or part not in row:
            return None
        row = row[part]
    return row if isinstance(row, (int, float)) and not isinstance(row, bool) else None


def summarize(title, rows, figures):
    print(title)
    for key, results in rows.items():
        label = "  ".join(f"{name} {value}" for name, value in key)
        parts = []
        for name in figures:
            values = [v for v in (field(r, name) for r in results) if v is not None]
            if values:
                parts.append(f"{name} {statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})")
        print(f"  {label}: " + "  ".join(parts))


def main():
    argv = sys.argv[1:]
    other = None
    if argv[:1] == ["--against"] and len(argv) > 1:
        other, argv = argv[1], argv[2:]
    if len(argv) < 2 or not argv[0].isdigit() or int(argv[0]) < 1:
        sys.exit("usage: scripts/repeat.py [--against OTHER-GILLAB] N gillab-arguments...  (see the top of this file)")
    count, arguments = int(argv[0]), argv[1:]
    command = " ".join(arguments[:2]) if arguments[0] == "scenario" else arguments[0]
    figures = FIGURES.get(command, FIGURES["run"])
    binaries = [gillab()] if other is None else [other, gillab()]
    rows = [{} for _ in binaries]
    checksums = {}  # per workload and size: every row of one must agree
    for round in range(count):
        sides = list(range(len(binaries)))
        for side in (sides if round % 2 == 0 else sides[::-1]):
            output = subprocess.run([binaries[side], *arguments, "--format", "json"], check=True, capture_output=True,
                                    text=True).stdout
            report = json.loads(output)
            # The showcase prints several runs ("cases"), each with its results.
            results = [r for case in report["cases"] for r in case["results"]] if "cases" in report else report["results"]
            for result in results:
                key = tuple((name, result[name]) for name in KEYS if name in result)
                rows[side].setdefault(key, []).append(result)
                if "checksum" in result:
                    checksums.setdefault((result.get("workload"), result.get("size")), set()).add(result["checksum"])
    for side, binary in enumerate(binaries):
        shown = os.path.relpath(binary, ROOT) if binary.startswith(ROOT + os.sep) else binary
        summarize(f"{count} invocations of: {shown} {' '.join(arguments)}", rows[side], figures)
    if checksums:
        bad = {k: v for k, v in checksums.items() if len(v) > 1}
        print(f"checksums: {'all equal' if not bad else 'MISMATCH ' + str(bad)}")
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
