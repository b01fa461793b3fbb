#!/usr/bin/env bash
# One command for a new user: set up .venv, install xclz_geo, and run the main job on bundled data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
# a CJK font so a browser on this machine shows the report's Chinese text (tables, charts, map)
ensure_debian_packages fonts-noto-cjk
OUT="${1:-$ROOT/demo_output}"
mkdir -p "$OUT"
echo ">> xclz-geo areas  (official totals against the bundled boundaries)"
status=0
xclz-geo areas || status=$?
if [ "$status" -ne 0 ]; then
  echo "demo: area check exited with status $status" >&2
  exit "$status"
fi
echo
echo ">> xclz-geo report --out $OUT  (land-efficiency report on the bundled SYNTHETIC samples)"
status=0
xclz-geo report --out "$OUT" --overwrite || status=$?  # the demo may be run again into the same folder
if [ "$status" -ne 0 ]; then
  echo "demo: report exited with status $status" >&2
  exit "$status"
fi
echo
echo "demo: done. Open the report in any browser (it works offline):"
for f in land_efficiency_report.html land_efficiency_report.xlsx land_efficiency_report.gpkg; do
  if [ -f "$OUT/$f" ]; then
    echo "  $OUT/$f"
  fi
done
echo "The enterprise, parcel and land-cover data are synthetic and the boundaries schematic: every table,"
echo "chart and map layer says so. Run 'xclz-geo report --help' to use your own files."
