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
EXTRAS="${XCLZ_EXTRAS-web}"  # demo: the library + the web workbench (xclz-geo serve); test.sh: test (includes web)
HASH="$(sha256sum pyproject.toml | cut -c1-16)"
stamp_ok() { [ -f ".venv/.xclz-installed-$1" ] && [ "$(cat ".venv/.xclz-installed-$1")" = "$HASH" ]; }
# an install with the test extras (which include web) also satisfies the plain and the web one
if ! stamp_ok "${EXTRAS:-base}" && ! { [ "$EXTRAS" != test ] && stamp_ok test; }; then
  echo ">> installing xclz_geo${EXTRAS:+[$EXTRAS]} into .venv (first run takes a few minutes)"
  "$VPY" -m pip install --quiet --upgrade pip
  "$VPY" -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
  echo "$HASH" > ".venv/.xclz-installed-${EXTRAS:-base}"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export MPLBACKEND=Agg

# ensure_debian_packages PKG... — install missing Debian packages when root with apt-get;
# otherwise say what is missing and what will be skipped. Never fails the script.
ensure_debian_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo ">> installing ${missing[*]} with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/tmp/xclz-apt.log 2>&1 \
      || echo ">> apt-get failed (see /tmp/xclz-apt.log): what needs ${missing[*]} will be skipped with a reason"
  else
    echo ">> not root or no apt-get: cannot install ${missing[*]}; what needs them will be skipped with a reason"
  fi
  return 0
}
