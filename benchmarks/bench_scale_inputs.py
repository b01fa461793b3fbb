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
``--browser`` also opens the smallest report in headless chromium (network cut) and times it until the
paged firm table and the map are ready. ``--before DIR`` also runs ``efficiency`` and ``report`` of the checkout
at DIR (e.g. ``/work/main``, the code before a change; its own package and data) on the same table, each just
before this tree's, and records them under ``before`` with this tree's ratios to them (same run, same load). Results: ``benchmarks/results/scale_inputs.json``; a run merges its
sizes into the file (the other sizes stay; the row a size replaces is kept under ``previous``).

Run: ``.venv/bin/python benchmarks/bench_scale_inputs.py [--n 100000 1000000] [--report-n N …] [--no-report] [--browser]
[--before DIR]``.
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


def measure(cmd: list[str], tmp: Path, tag: str, *, tree: Path | None = None) -> dict:
    """Run ``cmd`` in a fresh wrapper process; its wall/CPU time and peak RSS, with the load around it.
    ``tree``: run it in that checkout (its ``xclz_geo`` first on the path) instead of this one."""
    out = tmp / f"{tag}.json"
    load0 = os.getloadavg()[0]
    env = None
    if tree is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    subprocess.check_call([sys.executable, "-c", _WRAP, str(out), *cmd], cwd=tree or ROOT, env=env)
    res = json.loads(out.read_text())
    res["load_before"] = round(load0, 2)
    res["loadavg_1_5_15_before"] = [round(x, 2) for x in os.getloadavg()]
    res["load_after"] = round(os.getloadavg()[0], 2)
    for k in ("wall_s", "cpu_s", "peak_rss_mb"):
        res[k] = round(res[k], 2)
    if res["exit"] != 0:
        res["stderr_tail"] = Path(str(out) + ".err").read_text(encoding="utf-8", errors="replace")[-600:]
    return res


def open_report(html: Path) -> dict:
    """Seconds until the report's paged table and the map in its iframe are ready (headless chromium, offline).

    The page is opened at its map (``#sec-map``), so the map's frame is on screen and renders at once (an
    off-screen frame is not painted). Two clocks: ``*_ready_s`` from Python through chromedriver (includes the
    driver's round trips, which grow with the machine's load), and ``*_in_page_s`` from the page's own clock
    (``performance.now()`` since the navigation started): the paged table script done, the map's first frame
    after its layers were drawn, and the load event of the page."""
    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    why = browser_unavailable_reason()
    if why:
        return {"skipped": why}
    with HeadlessBrowser(page_load_timeout_s=180) as b:
        d = b.driver
        b.console_errors()
        t0 = time.perf_counter()
        d.get(html.as_uri() + "#sec-map")

        def wait(js: str, limit_s: float = 120) -> bool:
            end = time.perf_counter() + limit_s
            while time.perf_counter() < end:
                if d.execute_script(js):
                    return True
                time.sleep(0.02)
            return False

        table_ok = wait("return window.xclzPagedReady === true")
        table_s = time.perf_counter() - t0
        frame = d.find_element("css selector", "iframe.map")
        d.switch_to.frame(frame)
        map_ok = wait("return window.xclzMapReady === true")
        map_s = time.perf_counter() - t0
        inner = d.execute_script("return [performance.timeOrigin, window.xclzFirstRenderMs || null]")
        d.switch_to.default_content()
        outer = d.execute_script("var n = performance.getEntriesByType('navigation')[0]; "
                                 "return [performance.timeOrigin, window.xclzPagedReadyMs || null, n ? n.loadEventEnd : null]")
        rows = d.execute_script("return document.querySelectorAll('table.paged tbody tr').length")
        off = inner[0] - outer[0]
        sec = lambda ms: None if ms is None else round(ms / 1000, 2)  # noqa: E731
        return {"table_ready_s": round(table_s, 2), "table_ready": table_ok, "map_ready_s": round(map_s, 2), "map_ready": map_ok,
                "table_ready_in_page_s": sec(outer[1]), "map_rendered_in_page_s": sec(None if inner[1] is None else off + inner[1]),
                "page_load_event_s": sec(outer[2]), "rows_in_dom": rows, "console_errors": b.console_errors()[:5],
                "how": "opened at #sec-map (the map frame on screen); *_in_page_s by the page's clock from navigation start"}


def main(argv: list[str] | None = None) -> int:
    from bench_efficiency import make_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--no-report", action="store_true", help="time efficiency and the baseline only")
    ap.add_argument("--report-n", type=int, nargs="*", default=None, metavar="N",
                    help="sizes at which report is timed too (default: every --n)")
    ap.add_argument("--browser", action="store_true", help="open the smallest report in headless chromium")
    ap.add_argument("--before", metavar="DIR", type=Path, default=None,
                    help="also time efficiency/report of the checkout at DIR (the code before a change), same table, same run")
    a = ap.parse_args(argv)
    py = [sys.executable, "-m", "xclz_geo.cli.main"]
    env_note = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    runs = []
    base = _read_runs()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in a.n:
            path = tmp / f"firms_{n}.csv"
            make_table(n, path)
            row = {"firms": n, "data": "synthetic (bundled synthetic sample repeated, fresh credit codes)",
                   "input_mb": round(path.stat().st_size / 2**20, 1),
                   "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "loadavg_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()]}
            row["baseline"] = measure([sys.executable, "-c", _BASELINE, str(path)], tmp, f"base{n}")
            if a.before is not None:
                row["before"] = {"tree": str(a.before), "commit": _commit(a.before)}
                row["before"]["efficiency"] = measure([*py, "efficiency", "--enterprises", str(path), "--out", str(tmp / f"beff{n}")],
                                                      tmp, f"beff{n}", tree=a.before)
                row["commit"] = _commit(ROOT)
            row["efficiency"] = measure([*py, "efficiency", "--enterprises", str(path), "--out", str(tmp / f"eff{n}")], tmp, f"eff{n}")
            if not a.no_report and (a.report_n is None or n in a.report_n):
                out = tmp / f"rep{n}"
                if a.before is not None:
                    row["before"]["report"] = measure([*py, "report", "--enterprises", str(path), "--no-samples", "--out",
                                                       str(tmp / f"brep{n}")], tmp, f"brep{n}", tree=a.before)
                row["report"] = measure([*py, "report", "--enterprises", str(path), "--no-samples", "--out", str(out)], tmp, f"rep{n}")
                html = out / "land_efficiency_report.html"
                if html.exists():
                    row["report"]["html_mb"] = round(html.stat().st_size / 2**20, 1)
                    row["report"]["xlsx_mb"] = round((out / "land_efficiency_report.xlsx").stat().st_size / 2**20, 1)
                    if a.browser and n == min(a.report_n or a.n):
                        row["report"]["browser"] = open_report(html)
                        row["report"]["browser"]["loadavg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
            b = row["baseline"]
            for what in ("efficiency", "report"):
                r = row.get(what)
                if r and r["exit"] == 0:
                    r["ratio_wall_vs_baseline"] = round(r["wall_s"] / b["wall_s"], 1)
                    r["ratio_cpu_vs_baseline"] = round(r["cpu_s"] / b["cpu_s"], 1)
                    r["ratio_memory_vs_baseline"] = round(r["peak_rss_mb"] / b["peak_rss_mb"], 1)
                old = (row.get("before") or {}).get(what)
                if r and old and r["exit"] == 0 and old["exit"] == 0:
                    r["ratio_wall_vs_before"] = round(r["wall_s"] / old["wall_s"], 2)
                    r["ratio_cpu_vs_before"] = round(r["cpu_s"] / old["cpu_s"], 2)
                    r["ratio_memory_vs_before"] = round(r["peak_rss_mb"] / old["peak_rss_mb"], 2)
            runs.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            _write(runs, env_note, partial=n != a.n[-1], base=base)
    return 0


def _commit(tree: Path) -> str | None:
    """The checked-out commit of ``tree`` (``None`` when git cannot tell)."""
    try:
        return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _merge(old: list[dict], new: list[dict]) -> list[dict]:
    """The runs of the results file with this run's sizes replaced: a size measured now takes the place of
    its earlier row, which is kept under ``previous`` (one level); sizes not measured now are left as they were."""
    out = {int(r["firms"]): r for r in old if isinstance(r, dict) and "firms" in r}
    for r in new:
        before = out.get(int(r["firms"]))
        if before is not None:
            before = {k: v for k, v in before.items() if k != "previous"}
            r = {**r, "previous": before}
        out[int(r["firms"])] = r
    return [out[k] for k in sorted(out)]


RESULTS = ROOT / "benchmarks" / "results" / "scale_inputs.json"


def _read_runs() -> list[dict]:
    """The runs already in the results file (empty when there is none or it does not parse)."""
    try:
        runs = json.loads(RESULTS.read_text(encoding="utf-8")).get("runs", [])
    except (OSError, ValueError, AttributeError):
        return []
    return runs if isinstance(runs, list) else []


def _write(runs: list[dict], env_note: dict, *, partial: bool, base: list[dict]) -> None:
    """Merge the results so far into ``base`` (the file's runs before this run) and write the file (after
    each size, so a long run leaves what it measured; the other sizes in the file are kept)."""
    dest = RESULTS
    result = {
        "benchmark": "scale_inputs",
        "targets": {"efficiency_1e6_wall_s": 60, "efficiency_1e6_peak_mb": 4096, "report_1e5_html_open_s": 5,
                    "report_1e6_peak_mb": 4096},
        "runs": _merge(base, runs),
        "baseline": "pandas read_csv + tax per mu + groupby(是否规上).rank(); no validation, statuses, outputs",
        "note": "wall time depends on the machine's load (load_before/after, 1-minute average; loadavg_1_5_15); cpu_s is user + "
                "system time of all threads of the process. Each size's row is from its own run (see 'measured'); "
                "'previous' keeps the row it replaced.",
        "machine": env_note,
    }
    if partial:
        result["partial"] = True
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {dest}")


if __name__ == "__main__":
    sys.exit(main())
