#!/usr/bin/env bash
# One command for the test suite: the same bootstrap as demo.sh, plus the test extras and, when
# possible, Debian's chromium + chromium-driver (browser tests) and a CJK font (chart labels).
set -euo pipefail
XCLZ_EXTRAS=test,scale
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"

# browser tests (chromium + chromedriver) and Chinese chart labels (a CJK font)
ensure_debian_packages chromium chromium-driver fonts-noto-cjk
cd "$ROOT"
exec "$VPY" -m pytest "$@"
