#!/usr/bin/env bash
# One command for the test suite: the same bootstrap as demo.sh, plus the test extras and, when
# possible, Debian's chromium + chromium-driver (browser tests) and a CJK font (chart labels).
set -euo pipefail
XCLZ_EXTRAS=test
source "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || need_apt+=(fonts-noto-cjk)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo ">> installing ${need_apt[*]} with apt-get (browser tests, CJK font)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"; } >/tmp/xclz-apt.log 2>&1 \
      || echo ">> apt-get failed (see /tmp/xclz-apt.log): browser/font tests will be skipped with a reason"
  else
    echo ">> not root or no apt-get: cannot install ${need_apt[*]}; those tests will be skipped with a reason"
  fi
fi
cd "$ROOT"
exec "$VPY" -m pytest "$@"
