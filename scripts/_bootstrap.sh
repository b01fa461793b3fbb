# shellcheck shell=bash
# Shared bootstrap of scripts/demo.sh and scripts/test.sh (sourced, not run).
# Creates .venv at the repository root when absent and installs the package with
# everything it needs. Safe to run again: pip skips what is already satisfied.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found; install Python 3.10 or newer (3.11 recommended)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
EXTRAS="${XCLZ_EXTRAS:-}"
STAMP=".venv/.xclz-installed"
WANT="$(cat pyproject.toml | sha256sum | cut -c1-16)${EXTRAS}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo ">> installing xclz_geo${EXTRAS:+[$EXTRAS]} into .venv (first run takes a few minutes)"
  "$VPY" -m pip install --quiet --upgrade pip
  "$VPY" -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export MPLBACKEND=Agg
