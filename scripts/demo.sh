#!/usr/bin/env bash
# One command for a new user: set up .venv, install xclz_geo, and run the main job on bundled data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
OUT="${1:-$ROOT/demo_output}"
mkdir -p "$OUT"
echo ">> xclz-geo areas  (official totals against the bundled boundaries)"
status=0
xclz-geo areas || status=$?
if [ "$status" -ne 0 ]; then
  echo "demo: area check exited with status $status" >&2
  exit "$status"
fi
