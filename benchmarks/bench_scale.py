"""Benchmark: province scale — in-memory chunked against the Dask local cluster (xclz_geo.scale).

Data (SYNTHETIC, generated into a temporary folder, never committed): the 200-zone province of
:mod:`xclz_geo.scale.sample` (691 parts), random sites (30 % near a zone, a bad coordinate every
100,000th row) written Hilbert-partitioned by ``xclz-geo partition`` (Parquet, ``xclz_bbox``
metadata), and random 三调-style parcels (60 % near a zone) in GeoParquet files.

Sizes: the issue's are 2×10⁷ points in 40 partitions and 10⁶ parcels (``--full``; do not run them
on the shared 2-core machines). By default: 2×10⁵ and 2×10⁶ points in 40 partitions, 10⁴ parcels in 4
and 10⁵ parcels in 20 partitions — two sizes each, to see where the crossover lies.

Methods, each in a fresh subprocess (so its peak RSS is its own):

* ``memory`` — in-memory chunked: one file at a time, ``locate_annotated`` (2 threads) or
  ``landuse_by_part``, each chunk written as Parquet; the grid of the same cell size as the
  workers' (:func:`xclz_geo.scale.engine.province_cell_m`), built once;
* ``dask`` — ``LocalCluster(n_workers=2, threads_per_worker=1)``, ``locate_dask`` /
  ``landuse_dask`` written by :func:`xclz_geo.scale.cluster.write_partitions`; the cluster's
  start-up is timed apart (``startup_seconds``) and included in ``seconds``.

Site checks run without distances (status, zone, block, part; pruning on). Reported: wall time,
rows per second, peak RSS of the process (memory) or of each worker and of the client (dask), the
skipped-partition share, and per-worker memory per million rows (a separate run on 2 partitions of
10⁶ rows: peak minus the worker's RSS once the grid is built).

Results: ``benchmarks/results/scale.json``.
Run: ``.venv/bin/python benchmarks/bench_scale.py [--full]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "scale.json"


def _peak_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM; ``ru_maxrss`` keeps the parent's peak across exec)."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# ------------------------------------------------------------------ data


def make_data(d: Path, *, points: int, parcels: int, point_parts: int, parcel_parts: int) -> dict:
    from xclz_geo.scale import sample
    from xclz_geo.scale.partition import partition_file

    zones = sample.synthetic_province_zones()
    zf = d / "zones.gpkg"
    if not zf.exists():
        zones.to_file(zf)
    info = {"zones": str(zf)}
    if points:
        raw = d / f"raw_points_{points}"
        sample.write_partitions(sample.synthetic_points(zones, points, bad_every=100_000), raw, npartitions=4)
        out = d / f"points_{points}"
        partition_file(raw, out, npartitions=point_parts)
        info["points"] = str(out)
    if parcels:
        out = d / f"parcels_{parcels}"
        sample.write_partitions(sample.synthetic_parcels(zones, parcels), out, npartitions=parcel_parts)
        info["parcels"] = str(out)
    return info


# ------------------------------------------------------------------ one measurement (subprocess)


def run_one(engine: str, task: str, data: str, zones: str, out: str) -> dict:
    warnings.simplefilter("ignore")
    from xclz_geo.boundaries.zone import Zone

    zone = Zone.from_boundaries(zones)
    files = sorted(Path(data).glob("part.*.parquet"))
    t0 = time.perf_counter()
    res: dict = {"engine": engine, "task": task, "partitions": len(files)}
    if engine == "memory":
        from xclz_geo.scale.inputs import read_file

        if task == "locate":
            from xclz_geo.geo.grid import build_grid, make_frame
            from xclz_geo.geo.locate import locate_annotated
            from xclz_geo.scale.engine import province_cell_m

            grid = build_grid(zone, frame=make_frame(), cell_m=province_cell_m(zone), cache=False)
            res["grid_seconds"] = round(time.perf_counter() - t0, 2)
            rows = 0
            for i, f in enumerate(files):
                df = read_file(f, "parquet")
                located = locate_annotated(zone, df, with_distance=False, grid=grid)
                located.to_parquet(Path(out) / f"part.{i:05d}.parquet", index=False)
                rows += len(df)
        else:
            from xclz_geo.landuse.overlay import landuse_by_part

            rows = 0
            for i, f in enumerate(files):
                gdf = read_file(f, "geoparquet")
                r = landuse_by_part(zone, gdf)
                r.parcels.to_parquet(Path(out) / f"part.{i:05d}.parquet", index=False)
                rows += len(gdf)
        res["skipped_partitions"] = 0
        res["peak_rss_mb"] = round(_peak_mb(), 1)
    else:
        from distributed import Client, LocalCluster

        from xclz_geo.scale.cluster import write_partitions
        from xclz_geo.scale.engine import landuse_dask, locate_dask

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1", memory_limit="6GiB")
        client = Client(cluster)
        res["startup_seconds"] = round(time.perf_counter() - t0, 2)
        job = locate_dask(zone, data, with_distance=False) if task == "locate" else landuse_dask(zone, data)
        counts = write_partitions(job.frame, out, client=client, status_col="xclz_status" if task == "locate" else "status",
                                  progress=False)
        rows = sum(counts.values())
        res["skipped_partitions"] = job.skipped
        res["pruning"] = job.pruning
        res["worker_peak_rss_mb"] = sorted(round(v, 1) for v in client.run(_peak_since_reset).values())
        res["client_peak_rss_mb"] = round(_peak_mb(), 1)
        client.close()
        cluster.close()
    res["rows"] = rows
    res["seconds"] = round(time.perf_counter() - t0, 2)
    res["rows_per_second"] = round(rows / res["seconds"])
    res["skipped_share"] = round(res["skipped_partitions"] / max(len(files), 1), 3)
    return res


def memory_per_million(zones: str, d: Path) -> dict:
    """Worker RSS added by a partition of 10⁶ rows (site checks without distances; and with)."""
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster

    from xclz_geo.boundaries.zone import Zone
    from xclz_geo.scale import sample
    from xclz_geo.scale.engine import locate_dask

    zone = Zone.from_boundaries(zones)
    pts = sample.synthetic_points(zone.parts, 2_000_000, bad_every=0, seed=7)
    sample.write_partitions(pts, d / "m1", npartitions=2)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1",
                           memory_limit="6GiB")
    client = Client(cluster)
    out = {}
    # warm-up: every worker builds its grid on a tiny input
    sample.write_partitions(pts.iloc[:4], d / "warm", npartitions=2)
    locate_dask(zone, d / "warm", with_distance=True).frame.compute()
    base = client.run(_rss_after_gc)
    for dist in (False, True):
        client.run(_reset_peak)
        t = time.perf_counter()
        n = len(locate_dask(zone, d / "m1", with_distance=dist).frame.map_partitions(len).compute())
        peak = client.run(_peak_since_reset)
        out["with_distance" if dist else "status_only"] = {
            "worker_idle_rss_mb": sorted(round(v, 1) for v in base.values()),
            "worker_peak_rss_mb": sorted(round(v, 1) for v in peak.values()),
            "added_per_million_rows_mb": round(max(peak[w] - base[w] for w in peak), 1),
            "seconds": round(time.perf_counter() - t, 2), "partitions": n,
        }
    client.close()
    cluster.close()
    return out


def _rss_after_gc() -> float:
    import gc

    gc.collect()
    return _rss_mb()


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) of the process
    try:
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_since_reset() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _sub(args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, timeout=7200)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description="province-scale benchmark (Dask vs in-memory chunked)")
    ap.add_argument("--full", action="store_true", help="the issue's sizes: 2×10⁷ points, 10⁶ parcels (hours on 2 cores)")
    ap.add_argument("--one", nargs=5, metavar=("ENGINE", "TASK", "DATA", "ZONES", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-per-million", nargs=2, metavar=("ZONES", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(*a.one)))
        return 0
    if a.memory_per_million:
        print(json.dumps(memory_per_million(a.memory_per_million[0], Path(a.memory_per_million[1]))))
        return 0
    point_sizes = [2_000_000, 20_000_000] if a.full else [200_000, 2_000_000]
    parcel_sizes = [100_000, 1_000_000] if a.full else [10_000, 100_000]
    results = {"machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                           "load_1min_at_start": os.getloadavg()[0]},
               "full": a.full, "locate": [], "landuse": []}
    with tempfile.TemporaryDirectory(prefix="xclz-bench-scale-") as tmp:
        d = Path(tmp)
        for n in point_sizes:
            info = make_data(d, points=n, parcels=0, point_parts=40, parcel_parts=0)
            for engine in ("memory", "dask"):
                out = d / f"out_{engine}_{n}"
                out.mkdir()
                r = _sub(["--one", engine, "locate", info["points"], info["zones"], str(out)])
                results["locate"].append(r)
                print(json.dumps(r), flush=True)
        for n in parcel_sizes:
            info = make_data(d, points=0, parcels=n, point_parts=0, parcel_parts=40 if a.full else max(4, n // 5_000))
            for engine in ("memory", "dask"):
                out = d / f"lu_{engine}_{n}"
                out.mkdir()
                r = _sub(["--one", engine, "landuse", info["parcels"], info["zones"], str(out)])
                results["landuse"].append(r)
                print(json.dumps(r), flush=True)
        results["memory_per_million_rows"] = _sub(["--memory-per-million", str(d / "zones.gpkg"), str(d)])
        print(json.dumps(results["memory_per_million_rows"]), flush=True)
    results["machine"]["load_1min_at_end"] = os.getloadavg()[0]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
