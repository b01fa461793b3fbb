"""``xclz-geo locate --input`` on XLSX and Parquet tables: the cached zone (fast path) against the full path.

    python benchmarks/bench_batch_inputs.py [--xlsx-rows 100000] [--parquet-rows 1000000] [--repeats 2]

The full path is the same command with ``XCLZ_GEO_BATCH_ZONE=off`` (the zone loaded from the boundaries
file; the rest of the disk cache on). Runs alternate (full, fast, full, fast …) so both see the same load;
the result records the medians, their ratio and the load average. Sites are synthetic (random points
over the bundled zone's extent; quality ``synthetic``). Results go to ``benchmarks/results/batch_inputs.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import compiled_bytecode, measure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def make_inputs(tmp: Path, *, xlsx_rows: int, parquet_rows: int) -> dict[str, Path]:
    import numpy as np
    import pandas as pd

    from xclz_geo.io import write_xlsx_stream

    rng = np.random.default_rng(1)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"编号": [f"{i:07d}" for i in range(n)], "统一社会信用代码": [f"9134180{i:011d}" for i in range(n)],
                             "企业名称": [f"企业{i}" for i in range(n)], "经度": rng.uniform(118.6, 119.6, n).round(6),
                             "纬度": rng.uniform(30.5, 31.2, n).round(6)})

    out = {"xlsx": tmp / "sites.xlsx", "parquet": tmp / "sites.parquet", "xlsx_small": tmp / "small.xlsx"}
    write_xlsx_stream({"企业": frame(xlsx_rows)}, out["xlsx"])
    write_xlsx_stream({"企业": frame(200)}, out["xlsx_small"])  # start-up: what the cached zone saves
    frame(parquet_rows).to_parquet(out["parquet"], index=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--parquet-rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch_inputs.json"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = dict(os.environ, PYTHONPATH=str(ROOT), XCLZ_GEO_CACHE=str(tmp / "cache"))
        how = compiled_bytecode(env, tmp, ROOT / "xclz_geo")
        inputs = make_inputs(tmp, xlsx_rows=a.xlsx_rows, parquet_rows=a.parquet_rows)
        cases = [("xlsx_small", "xlsx"), ("xlsx", "xlsx"), ("xlsx", "csv"), ("parquet", "csv"), ("parquet", "parquet")]
        results = []
        for src, ext in cases:
            cmd = [sys.executable, "-m", "xclz_geo.cli.main", "locate", "--input", str(inputs[src]),
                   "--out", str(tmp / f"out.{ext}"), "--overwrite"]
            measure(cmd, env)  # warms the disk cache (batch zone and grid)
            runs: dict[str, list[dict]] = {"full": [], "fast": []}
            for _ in range(a.repeats):
                for name, e in (("full", dict(env, XCLZ_GEO_BATCH_ZONE="off")), ("fast", env)):
                    r = measure(cmd, e)
                    assert r["rc"] == 0, r["stderr_tail"]
                    runs[name].append(r)
            row = {"input": src, "output": ext, "rows": {"xlsx": a.xlsx_rows, "xlsx_small": 200}.get(src, a.parquet_rows)}
            for name, rs in runs.items():
                row[f"{name}_seconds"] = statistics.median(r["seconds"] for r in rs)
                row[f"{name}_cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in rs)
                row[f"{name}_peak_rss_mb"] = max(r["peak_rss_mb"] for r in rs)
            row["wall_ratio_full_over_fast"] = row["full_seconds"] / row["fast_seconds"]
            row["cpu_ratio_full_over_fast"] = row["full_cpu_seconds"] / row["fast_cpu_seconds"]
            row["loadavg"] = os.getloadavg()
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps({"bytecode": how, "repeats": a.repeats, "results": results}, ensure_ascii=False, indent=1)
                               + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
