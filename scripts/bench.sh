#!/usr/bin/env bash
# Run every benchmark in benchmarks/ (same bootstrap as the other scripts). Each writes
# benchmarks/results/<name>.json with the plain-library baseline measured in the same run.
# Usage: scripts/bench.sh [name ...]   e.g. scripts/bench.sh locate landuse
set -euo pipefail
XCLZ_EXTRAS=test
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
  names=(digitize locate landuse efficiency maps cold tables scale_inputs)
fi
for n in "${names[@]}"; do
  f="benchmarks/bench_${n}.py"
  if [ ! -f "$f" ]; then
    echo "bench: no benchmark $f" >&2
    exit 2
  fi
  echo ">> $f"
  "$VPY" "$f"
done
echo "results: $(ls benchmarks/results/*.json | tr '\n' ' ')"
