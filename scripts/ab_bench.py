#!/usr/bin/env python3
"""A/B: the package-benchmark suite of another revision against this checkout's, interleaved
(A B, B A, …) so that a drift of the machine falls on both, with the per-pair ratio of the wall
clock p50 for every benchmark and its median. For "this change moves the lock's cost by less
than 3%" and the like.

Usage: scripts/ab_bench.py REV [PAIRS=6] [TARGET[:FILTER] ...]
  e.g. scripts/ab_bench.py 0760f15 8 'Lock:release \\+ reacquire.*' Interpreter

REV is checked out in a temporary worktree (removed at the end); both sides' benchmarks are built
before the first pair, so no build runs while one measures. Nothing else should run meanwhile.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r"│ Time \(wall clock\) \(ns\) \*\s*│\s*(\d+)\s*│\s*\d+\s*│\s*(\d+)")


def bench(checkout, target, pattern):
    """One run of `target` in `checkout`: {benchmark name: wall clock p50 in ns}."""
    command = ["swift", "package", "--disable-sandbox", "benchmark", "--target", target, "--no-progress"]
    if pattern:
        command += ["--filter", pattern]
    text = subprocess.run(command, cwd=os.path.join(checkout, "benchmarks"), check=True,
                          capture_output=True, text=True).stdout
    result, name = {}, None
    for line in text.splitlines():
        if line and not line.startswith(("│", "╒", "╞", "├", "╘", "=")) and not line.startswith("Host"):
            name = line.strip()
        match = ROW.match(line)
        if match and name:
            result[name] = int(match.group(2))
            name = None
    return result


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: scripts/ab_bench.py REV [PAIRS] [TARGET[:FILTER] ...]")
    rev = sys.argv[1]
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 6
    specs = [a for a in sys.argv[2:] if not a.isdigit()] or ["Lock:release \\+ reacquire.*", "Interpreter"]
    targets = [(s.split(":", 1) + [None])[:2] for s in specs]
    base = tempfile.mkdtemp(prefix="gillab-ab-")
    subprocess.run(["git", "worktree", "add", "--detach", base, rev], cwd=ROOT, check=True, capture_output=True)
    try:
        for checkout in (base, ROOT):  # build both first
            subprocess.run(["swift", "package", "--disable-sandbox", "benchmark", "list"],
                           cwd=os.path.join(checkout, "benchmarks"), check=True, capture_output=True)
        samples = {}
        for pair in range(pairs):
            for side in (("A", "B") if pair % 2 == 0 else ("B", "A")):
                for target, pattern in targets:
                    for name, p50 in bench(base if side == "A" else ROOT, target, pattern).items():
                        samples.setdefault(name, {"A": {}, "B": {}})[side][pair] = p50
            print(f"pair {pair + 1} of {pairs} done", file=sys.stderr)
        print(f"wall clock p50 (ns), A = {rev}, B = this checkout, {pairs} interleaved pairs")
        for name, sides in samples.items():
            ratios = [sides["B"][i] / sides["A"][i] for i in sides["A"] if i in sides["B"] and sides["A"][i]]
            if not ratios:  # a benchmark that only one side has
                only = "A" if sides["A"] else "B"
                print(f"  {name}: only {only} has it: {sorted(sides[only].values())}")
                continue
            print(f"  {name}: A {sorted(sides['A'].values())}  B {sorted(sides['B'].values())}  "
                  f"B/A median {statistics.median(ratios):.3f} (pairs {min(ratios):.3f}-{max(ratios):.3f})")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT)


if __name__ == "__main__":
    main()
