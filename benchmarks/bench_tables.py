"""Benchmark: tables end to end — ``xclz-geo locate --input FILE --out FILE`` against the I/O floor.

Whole processes, median of ``--repeat`` runs, each with wall time, CPU time (user + sys) and peak RSS
from ``resource.getrusage(RUSAGE_CHILDREN)`` of a fresh measuring parent. The machine is shared:
CPU time is the figure least disturbed by other jobs (the commands are single-threaded but for
the locate core, which is a few per cent of the work here).

CSV → CSV (``--rows``, default 10⁶; id, name, lon, lat written by pyarrow), status only (``--no-distance``):

* ``arrow_floor`` — ``pyarrow.csv.read_csv`` + ``write_csv`` of the same file in one process (types
  inferred; the fast floor the issue names), including its start-up;
* ``arrow_text_floor`` — the same with every column read as text (what a tool that must give every
  cell back unchanged reads);
* ``xclz`` — ``xclz-geo locate --input sites.csv --out out.csv --no-distance`` (warm disk cache: the
  zone grid is memory-mapped, not rebuilt; the zone itself comes from the cached batch zone,
  :mod:`xclz_geo.geo.batchzone`, without pandas or geopandas);
* ``xclz_full_zone`` — the same with ``XCLZ_GEO_BATCH_ZONE=off``: the zone loaded from the boundaries
  file with pandas and geopandas, as before the batch zone (the grid still from the cache);
* ``xclz_startup`` / ``xclz_full_zone_startup`` — both on a CSV of one row: the start-up share;
* ``arrow_startup`` — ``import pyarrow.csv`` alone (the floor's own start-up).

XLSX → XLSX (``--xlsx-rows``, default 10⁵):

* ``openpyxl_floor`` — openpyxl read-only read of every cell + write-only write of them all, one process;
* ``xclz`` — ``xclz-geo locate --input sites.xlsx --out out.xlsx --no-distance``.

Target (issue 18): within 1.5× of the floor. Results: ``benchmarks/results/tables.json``.
Run: ``.venv/bin/python benchmarks/bench_tables.py [--rows 1000000 10000000] [--xlsx-rows 100000] [--repeat 3]``
(``--xlsx-rows 0`` skips the workbook; ``--results FILE`` writes elsewhere)
(sizes from 5·10⁶ rows up are run once).
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

import numpy as np
from _proc import compiled_bytecode, measure

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tables.json"


ARROW = """
import sys, pyarrow.csv as c
t = c.read_csv(sys.argv[1]); c.write_csv(t, sys.argv[2])
"""
ARROW_TEXT = """
import sys, pyarrow as pa, pyarrow.csv as c
names = c.open_csv(sys.argv[1]).schema.names
t = c.read_csv(sys.argv[1], convert_options=c.ConvertOptions(column_types={n: pa.string() for n in names}))
c.write_csv(t, sys.argv[2])
"""
OPENPYXL = """
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
rows = [tuple(c.value for c in r) for r in wb.worksheets[0].iter_rows()]
out = openpyxl.Workbook(write_only=True); ws = out.create_sheet("sites")
for r in rows:
    ws.append(r)
out.save(sys.argv[2])
"""


def series(cmd: list[str], env: dict[str, str], repeat: int) -> dict:
    runs = [measure(cmd, env) for _ in range(repeat)]
    out = {k: float(np.median([r[k] for r in runs])) for k in ("seconds", "cpu_seconds", "peak_rss_mb")}
    out["best_seconds"] = float(min(r["seconds"] for r in runs))
    out["best_cpu_seconds"] = float(min(r["cpu_seconds"] for r in runs))
    out["rc"] = [r["rc"] for r in runs]
    if any(out["rc"]):
        out["stderr_tail"] = runs[-1]["stderr_tail"]
    return out


def make_csv(path: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    step = 1_000_000
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("lon", pa.float64()), ("lat", pa.float64())])
    with pacsv.CSVWriter(path, schema) as w:
        for a in range(0, n, step):
            b = min(a + step, n)
            ids = np.arange(a, b)
            w.write_table(pa.table({"id": ids, "name": pa.array([f"site {i}" for i in ids]),
                                    "lon": np.round(rng.uniform(118.6, 119.6, b - a), 7),
                                    "lat": np.round(rng.uniform(30.8, 31.0, b - a), 7)}, schema=schema))


def make_xlsx(path: Path, n: int) -> None:
    import openpyxl

    rng = np.random.default_rng(1)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("sites")
    ws.append(["id", "企业名称", "经度", "纬度"])
    lon = np.round(rng.uniform(118.6, 119.6, n), 7)
    lat = np.round(rng.uniform(30.8, 31.0, n), 7)
    for i in range(n):
        ws.append([i, f"企业 {i}", float(lon[i]), float(lat[i])])
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", type=Path, default=RESULTS, help="results file (default: benchmarks/results/tables.json)")
    args = ap.parse_args()
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    res: dict = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average_at_start": list(os.getloadavg()),
                 "csv": {}}
    cli = [py, "-m", "xclz_geo.cli.main", "locate"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env["XCLZ_GEO_CACHE"] = str(t / "cache")
        res["bytecode"] = compiled_bytecode(env, t, ROOT / "xclz_geo")
        for n in args.rows:
            src, dst = t / f"sites_{n}.csv", t / "out.csv"
            make_csv(src, n)
            subprocess.run(cli + ["--input", str(src), "--out", str(dst), "--no-distance", "--overwrite"], env=env, capture_output=True)
            rep = args.repeat if n < 5_000_000 else 1  # 10⁷ rows: once (a minute a run on the shared machine)
            row = {"rows": n, "input_mb": src.stat().st_size / 2**20, "repeat": rep, "load_average_before": list(os.getloadavg())}
            row["arrow_floor"] = series([py, "-c", ARROW, str(src), str(t / "a.csv")], env, rep)
            row["arrow_text_floor"] = series([py, "-c", ARROW_TEXT, str(src), str(t / "a.csv")], env, rep)
            row["xclz"] = series(cli + ["--input", str(src), "--out", str(dst), "--no-distance", "--overwrite"], env, rep)
            full_env = dict(env, XCLZ_GEO_BATCH_ZONE="off")
            row["xclz_full_zone"] = series(cli + ["--input", str(src), "--out", str(dst), "--no-distance", "--overwrite"],
                                           full_env, rep)
            one = t / "one.csv"
            one.write_text("id,name,lon,lat\n0,site 0,119.4681,30.8931\n", encoding="utf-8")
            one_cmd = cli + ["--input", str(one), "--out", str(t / "one_out.csv"), "--no-distance", "--overwrite"]
            row["xclz_startup"] = series(one_cmd, env, rep)
            row["xclz_full_zone_startup"] = series(one_cmd, full_env, rep)
            row["arrow_startup"] = series([py, "-c", "import pyarrow.csv"], env, rep)
            with open(dst, encoding="utf-8-sig") as f:
                row["output_rows"] = sum(1 for _ in f) - 1
            row["ratios"] = {f"{x}_vs_{b}_{k}": row[x][k] / row[b][k] for x in ("xclz", "xclz_full_zone")
                             for b in ("arrow_floor", "arrow_text_floor") for k in ("seconds", "cpu_seconds")}
            for x in ("xclz", "xclz_full_zone"):  # start-up share of the whole command
                row["ratios"][f"{x}_startup_share_cpu"] = row[f"{x}_startup"]["cpu_seconds"] / row[x]["cpu_seconds"]
            row["ratios"]["xclz_startup_vs_arrow_startup_cpu"] = row["xclz_startup"]["cpu_seconds"] / row["arrow_startup"]["cpu_seconds"]
            res["csv"][str(n)] = row
            print(f"CSV {n:,}: xclz {row['xclz']['seconds']:.2f} s (cpu {row['xclz']['cpu_seconds']:.2f}, "
                  f"{row['xclz']['peak_rss_mb']:.0f} MB; start-up cpu {row['xclz_startup']['cpu_seconds']:.2f}); "
                  f"full zone {row['xclz_full_zone']['seconds']:.2f} s (cpu {row['xclz_full_zone']['cpu_seconds']:.2f}, "
                  f"{row['xclz_full_zone']['peak_rss_mb']:.0f} MB; start-up cpu {row['xclz_full_zone_startup']['cpu_seconds']:.2f}); arrow {row['arrow_floor']['seconds']:.2f} s "
                  f"(cpu {row['arrow_floor']['cpu_seconds']:.2f}); ratios "
                  + ", ".join(f"{k} {v:.2f}" for k, v in row["ratios"].items()), flush=True)
            src.unlink()
        if args.xlsx_rows:
            n = args.xlsx_rows
            src, dst = t / "sites.xlsx", t / "out.xlsx"
            make_xlsx(src, n)
            row = {"rows": n, "repeat": args.repeat, "load_average_before": list(os.getloadavg())}
            row["openpyxl_floor"] = series([py, "-c", OPENPYXL, str(src), str(t / "o.xlsx")], env, args.repeat)
            row["xclz"] = series(cli + ["--input", str(src), "--out", str(dst), "--no-distance", "--overwrite"], env, args.repeat)
            row["ratios"] = {f"xclz_vs_openpyxl_floor_{k}": row["xclz"][k] / row["openpyxl_floor"][k]
                             for k in ("seconds", "cpu_seconds")}
            res["xlsx"] = row
            print(f"XLSX {n:,}: xclz {row['xclz']['seconds']:.2f} s (cpu {row['xclz']['cpu_seconds']:.2f}, "
                  f"{row['xclz']['peak_rss_mb']:.0f} MB); openpyxl {row['openpyxl_floor']['seconds']:.2f} s "
                  f"(cpu {row['openpyxl_floor']['cpu_seconds']:.2f}, {row['openpyxl_floor']['peak_rss_mb']:.0f} MB); ratios "
                  + ", ".join(f"{k} {v:.2f}" for k, v in row["ratios"].items()), flush=True)
    # sizes and tables not run this time are kept from the previous results, marked with that run's start
    try:
        old = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    for n, row in (old.get("csv") or {}).items():
        if n not in res["csv"]:
            res["csv"][n] = dict(row, from_earlier_run=row.get("from_earlier_run", old.get("started")))
    if "xlsx" not in res and old.get("xlsx"):
        res["xlsx"] = dict(old["xlsx"], from_earlier_run=old["xlsx"].get("from_earlier_run", old.get("started")))
    res["load_average_at_end"] = list(os.getloadavg())
    res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
