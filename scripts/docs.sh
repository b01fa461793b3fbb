#!/usr/bin/env bash
# Build the documentation site into site/ (offline: no fonts, scripts or styles are fetched) and print
# where to open it. Same set-up as the other scripts (.venv with the `test` extra, which has mkdocs).
# Usage: scripts/docs.sh [extra mkdocs build options]
set -euo pipefail
XCLZ_EXTRAS=test
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
cd "$ROOT"
NO_MKDOCS_2_WARNING=1 "$VPY" -m mkdocs build --strict --site-dir "$ROOT/site" "$@"
echo "docs: open $ROOT/site/index.html in a browser (works from the folder, offline)"
