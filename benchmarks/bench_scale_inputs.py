"""Benchmark: ``efficiency`` and ``report`` on 10⁵ and 10⁶ SYNTHETIC firms — wall time and peak memory.

Each ``--n`` (default 100,000 and 1,000,000) makes a synthetic enterprise table by repeating the bundled
synthetic sample (``data/samples/enterprises_synthetic.csv``, every firm invented, ``数据质量 = synthetic``)
with fresh credit codes (as ``bench_efficiency.py`` does), then runs, each as its own process, as a
user would:

* ``efficiency``: ``xclz-geo efficiency --enterprises F --out DIR`` (read, validate, locate in the
  bundled zone, score, rank, class, summarise; write scores.csv, scores.xlsx, summary.json);
* ``report``: ``xclz-geo report --enterprises F --no-samples --out DIR`` (the same evaluation plus
  charts, map, XLSX, GeoPackage and the HTML);
* ``baseline``: a plain pandas script — ``read_csv``, 亩均税收 = tax / land, and its rank within
  规上/规下 (``groupby().rank()``) — the floor any tool reading the file pays; no validation, no output.

Per run: wall seconds, CPU seconds (user + system, all threads) and the peak resident memory of the
whole process (``getrusage(RUSAGE_CHILDREN)`` of a wrapper that runs only that command), with the
ratios to the baseline. The machine's load average before and after each run is recorded: the
machine may be shared, so wall times are only meaningful beside the CPU times and the load.
``--browser`` also opens the 10⁵ report in headless chromium (network cut) and times it until the
paged firm table and the map are ready. Results: ``benchmarks/results/scale_inputs.json``.

Run: ``.venv/bin/python benchmarks/bench_scale_inputs.py [--n 100000 1000000] [--no-report] [--browser]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: runs the command given after it and prints its wall time and getrusage(RUSAGE_CHILDREN) as JSON
_WRAP = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.call(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1] + '.err', 'w'))
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({'exit': code, 'wall_s': wall, 'cpu_s': ru.ru_utime + ru.ru_stime, 'peak_rss_mb': ru.ru_maxrss / 1024}, open(sys.argv[1], 'w'))
"""

_BASELINE = r"""
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1], encoding="utf-8-sig")
land = pd.to_numeric(df["用地面积(亩)"], errors="coerce")
tax = pd.to_numeric(df["实缴税金(万元)"], errors="coerce")
df["tax_per_mu"] = tax / land.where(land > 0)
df["rank"] = df.groupby("是否规上")["tax_per_mu"].rank(method="min", ascending=False)
print(int(df["rank"].notna().sum()))
"""


def measure(cmd: list[str], tmp: Path, tag: str) -> dict:
    """Run ``cmd`` in a fresh wrapper process; its wall/CPU time and peak RSS, with the load around it."""
    out = tmp / f"{tag}.json"
    load0 = os.getloadavg()[0]
    subprocess.check_call([sys.executable, "-c", _WRAP, str(out), *cmd], cwd=ROOT)
    res = json.loads(out.read_text())
    res["load_before"] = round(load0, 2)
    res["load_after"] = round(os.getloadavg()[0], 2)
    for k in ("wall_s", "cpu_s", "peak_rss_mb"):
        res[k] = round(res[k], 2)
    if res["exit"] != 0:
        res["stderr_tail"] = Path(str(out) + ".err").read_text(encoding="utf-8", errors="replace")[-600:]
    return res


def open_report(html: Path) -> dict:
    """Seconds until the report's paged table and the map in its iframe are ready (headless chromium, offline)."""
    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    why = browser_unavailable_reason()
    if why:
        return {"skipped": why}
    with HeadlessBrowser(page_load_timeout_s=180) as b:
        t0 = time.perf_counter()
        rep = b.open(html, ready_js="return window.xclzPagedReady === true", timeout_s=120)
        table_s = time.perf_counter() - t0
        d = b.driver
        frame = d.find_element("css selector", "iframe.map")
        d.execute_script("arguments[0].scrollIntoView();", frame)  # an off-screen frame does not render
        d.switch_to.frame(frame)
        deadline = time.perf_counter() + 120
        ready = False
        while time.perf_counter() < deadline:
            if d.execute_script("return window.xclzMapReady === true"):
                ready = True
                break
            time.sleep(0.05)
        map_s = time.perf_counter() - t0
        rows = None
        d.switch_to.default_content()
        rows = d.execute_script("return document.querySelectorAll('table.paged tbody tr').length")
        return {"table_ready_s": round(table_s, 2), "table_ready": rep.ready, "map_ready_s": round(map_s, 2), "map_ready": ready,
                "rows_in_dom": rows, "console_errors": b.console_errors()[:5]}


def main(argv: list[str] | None = None) -> int:
    from bench_efficiency import make_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--no-report", action="store_true", help="time efficiency and the baseline only")
    ap.add_argument("--report-n", type=int, nargs="*", default=None, metavar="N",
                    help="sizes at which report is timed too (default: every --n)")
    ap.add_argument("--browser", action="store_true", help="open the smallest report in headless chromium")
    a = ap.parse_args(argv)
    py = [sys.executable, "-m", "xclz_geo.cli.main"]
    env_note = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    runs = []
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in a.n:
            path = tmp / f"firms_{n}.csv"
            make_table(n, path)
            row = {"firms": n, "data": "synthetic (bundled synthetic sample repeated, fresh credit codes)",
                   "input_mb": round(path.stat().st_size / 2**20, 1)}
            row["baseline"] = measure([sys.executable, "-c", _BASELINE, str(path)], tmp, f"base{n}")
            row["efficiency"] = measure([*py, "efficiency", "--enterprises", str(path), "--out", str(tmp / f"eff{n}")], tmp, f"eff{n}")
            if not a.no_report and (a.report_n is None or n in a.report_n):
                out = tmp / f"rep{n}"
                row["report"] = measure([*py, "report", "--enterprises", str(path), "--no-samples", "--out", str(out)], tmp, f"rep{n}")
                html = out / "land_efficiency_report.html"
                if html.exists():
                    row["report"]["html_mb"] = round(html.stat().st_size / 2**20, 1)
                    row["report"]["xlsx_mb"] = round((out / "land_efficiency_report.xlsx").stat().st_size / 2**20, 1)
                    if a.browser and n == min(a.n):
                        row["report"]["browser"] = open_report(html)
            b = row["baseline"]
            for what in ("efficiency", "report"):
                r = row.get(what)
                if r and r["exit"] == 0:
                    r["ratio_wall_vs_baseline"] = round(r["wall_s"] / b["wall_s"], 1)
                    r["ratio_cpu_vs_baseline"] = round(r["cpu_s"] / b["cpu_s"], 1)
                    r["ratio_memory_vs_baseline"] = round(r["peak_rss_mb"] / b["peak_rss_mb"], 1)
            runs.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            _write(runs, env_note, partial=n != a.n[-1])
    return 0


def _write(runs: list[dict], env_note: dict, *, partial: bool) -> None:
    """Write the results so far (after each size, so a long run leaves what it measured)."""
    result = {
        "benchmark": "scale_inputs",
        "targets": {"efficiency_1e6_wall_s": 60, "efficiency_1e6_peak_mb": 4096, "report_1e5_html_open_s": 5},
        "runs": runs,
        "baseline": "pandas read_csv + tax per mu + groupby(是否规上).rank(); no validation, statuses, outputs",
        "note": "wall time depends on the machine's load (load_before/after, 1-minute average); cpu_s is user + system "
                "time of all threads of the process",
        "machine": env_note,
    }
    if partial:
        result["partial"] = True
    dest = ROOT / "benchmarks" / "results" / "scale_inputs.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {dest}")


if __name__ == "__main__":
    sys.exit(main())
