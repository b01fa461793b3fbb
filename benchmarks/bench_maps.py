"""Benchmark: a 100,000-site offline map in headless chromium (file size, time to first render).

The measurement lives in ``tests/test_maps_browser.py::test_100k_sites_first_render_and_size`` (it needs the
browser fixture); this script runs that test with ``XCLZ_MAPS_RESULT`` set so the figures, with the
plain-folium baseline measured in the same run, are written to ``benchmarks/results/maps.json``.

Run: ``.venv/bin/python benchmarks/bench_maps.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "maps.json"


def main() -> int:
    env = dict(os.environ, XCLZ_MAPS_RESULT=str(OUT))
    test = "tests/test_maps_browser.py"
    code = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test, "-k", "100k_sites"],
        cwd=ROOT,
        env=env,
    )
    if code == 0 and OUT.exists():
        print(json.dumps(json.loads(OUT.read_text(encoding="utf-8")), indent=2, ensure_ascii=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
