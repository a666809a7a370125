#!/usr/bin/env bash
# Times interpreter programs, one thread, in CPython and in GILLab's interpreter, alternating the
# two PAIRS times per workload, and prints each pair's ratio GILLab ÷ CPython and their median.
# Both run the very same source (`gillab list --source WORKLOAD`) on the same arguments:
#   countdown   unit(20000000), once                  (Beazley's countdown)
#   pymatmul    unit(64, k % 17) for k in 0..<4        (pure-Python matrix product)
#   records     unit(2000, 7 k) for k in 0..<48        (parse, dicts, strings)
# CPython's time is perf_counter around the calls; GILLab's is the run's timed trial
# (`gillab run --modes serial --repeat 1`, whose warm-up is not timed), so neither includes
# start-up or compilation.
# Usage: scripts/countdown_vs_cpython.sh [PAIRS] [WORKLOAD...]   (default: 7 countdown; needs python3)
# The gillab binary is $GILLAB if set, else this checkout's release build (built first if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-7}
shift || true
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(countdown)
if [ -n "${GILLAB:-}" ]; then
  gillab=$GILLAB
else
  gillab="$(swift build -c release --show-bin-path)/gillab"
  [ -x "$gillab" ] || swift build -c release --product gillab >&2
fi
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 69; }

median() { sort -g | awk '{ a[NR] = $1 } END { printf "%.2f (%.2f–%.2f)", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'; }

for workload in "${workloads[@]}"; do
  case $workload in
    countdown) size=20000000 units=1 args='size' ;;
    pymatmul) size=64 units=4 args='size, k % 17' ;;
    records) size=2000 units=48 args='size, k * 7' ;;
    *) echo "unknown workload '$workload'; expected countdown, pymatmul or records" >&2; exit 64 ;;
  esac
  source=$("$gillab" list --source "$workload")
  ratios=()
  for _ in $(seq "$pairs"); do
    py=$(python3 -c "
import time
$source
size, units = $size, $units
t = time.perf_counter()
for k in range(units):
    unit($args)
print(time.perf_counter() - t)")
    gl=$("$gillab" run --workload "$workload" --size "$size" --units "$units" --threads 1 --modes serial \
           --repeat 1 --format csv | awk -F, 'NR == 2 { print $5 / 1000 }')
    ratio=$(python3 -c "print($gl / $py)")
    printf '%-9s cpython %.3f s   gillab %.3f s   ratio %.2f\n' "$workload" "$py" "$gl" "$ratio"
    ratios+=("$ratio")
  done
  printf '%-9s median ratio gillab/cpython: %s over %d pairs\n' "$workload" "$(printf '%s\n' "${ratios[@]}" | median)" "$pairs"
done
