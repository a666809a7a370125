#!/usr/bin/env bash
# Times Beazley's countdown (20,000,000 iterations, one thread) in CPython and in GILLab's
# interpreter, alternating the two PAIRS times, and prints the median ratio GILLab ÷ CPython.
# Usage: scripts/countdown_vs_cpython.sh [PAIRS]   (needs python3)
# The gillab binary is $GILLAB if set, else this checkout's release build (built first if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
if [ -n "${GILLAB:-}" ]; then
  gillab=$GILLAB
else
  gillab="$(swift build -c release --show-bin-path)/gillab"
  [ -x "$gillab" ] || swift build -c release --product gillab >&2
fi
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 69; }
ratios=()
for _ in $(seq "$pairs"); do
  py=$(python3 -c '
import time
def count(n):
    while n > 0:
        n -= 1
t = time.perf_counter(); count(20_000_000); print(time.perf_counter() - t)')
  gl=$("$gillab" run --workload countdown --size 20000000 --units 1 --threads 1 --modes serial --repeat 1 --format csv \
       | awk -F, 'NR == 2 { print $5 / 1000 }')
  ratio=$(python3 -c "print($gl / $py)")
  printf 'cpython %.3f s   gillab %.3f s   ratio %.2f\n' "$py" "$gl" "$ratio"
  ratios+=("$ratio")
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "median ratio gillab/cpython: %.2f (%d pairs)\n", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), NR }'
