"""Benchmark: province scale — in-memory chunked against the Dask local cluster (xclz_geo.scale).

Data (SYNTHETIC, generated into a temporary folder, never committed): the 200-zone province of
:mod:`xclz_geo.scale.sample` (691 parts); random sites (30 % near a zone, a bad coordinate every
100,000th row) and random 三调-style rectangular parcels (60 % near a zone), both written
Hilbert-partitioned by ``xclz-geo partition`` (:func:`xclz_geo.scale.partition.partition_file`:
Parquet with ``xclz_bbox`` metadata, GeoParquet with its ``bbox``), as a user would.

Cases:

* ``province`` — rows spread over the province's box, where the 200 zones are: every one of 40
  Hilbert files touches a zone, so nothing can be pruned (the skipped share is measured, not assumed);
* ``national`` — the same zones, but 90 % of the rows spread over a box around China
  (:data:`xclz_geo.scale.sample.NATIONAL_BBOX`) and 10 % near a zone: the case where pruning fires;
* ``pruning_share`` — without timing: the share of files that would be skipped for 40 … 1,000
  Hilbert files of the province and national data (from the files' boxes, as the engine decides).

Sizes: ``--full`` (the issue's): 2×10⁷ points and 10⁶ parcels in 40 files each, national 2×10⁶
points and 10⁵ parcels; about 20 min on 2 shared cores under load 7–14. Default (reduced): 2×10⁵ and 2×10⁶ points,
10⁴ and 10⁵ parcels, national 2×10⁵ points and 2×10⁴ parcels, plus the per-million-rows memory run
(``--no-memory-per-million`` to skip it; about 5 min, most of it the run with distances).

Methods, each in a fresh subprocess (so its peak RSS is its own):

* ``memory`` — in-memory chunked: one file at a time, ``locate_annotated`` or ``landuse_by_part``
  (the code scheme detected once, on the first file; ``summaries=False``: the per-parcel table,
  the work the Dask engine does per partition), each chunk written as Parquet; the grid of
  the same cell size as the workers' (:func:`xclz_geo.scale.engine.province_cell_m`), built once;
  no pruning (a plain loop over files);
* ``dask`` — ``LocalCluster(n_workers=2, threads_per_worker=1)``, ``locate_dask`` /
  ``landuse_dask`` (pruning on) written by :func:`xclz_geo.scale.cluster.write_partitions`; the
  cluster's start-up is timed apart (``startup_seconds``) and included in ``seconds``.

Site checks run without distances (status, zone, block, part). Reported: wall time, rows per
second, peak RSS of the process (memory) or of each worker and of the client (dask), the
skipped-partition share, the load average before and after each run; progress on stdout/stderr.

Results: ``benchmarks/results/scale.json`` (reduced) or ``scale_full.json`` (``--full``).
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "scale.json"
OUT_FULL = ROOT / "benchmarks" / "results" / "scale_full.json"


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

#: share of the rows near a zone in the national case (the rest over the box around China)
NATIONAL_NEAR = 0.1


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {msg}", flush=True)


def make_zones(d: Path) -> Path:
    from xclz_geo.scale import sample

    zf = d / "zones.gpkg"
    if not zf.exists():
        sample.synthetic_province_zones().to_file(zf)
    return zf


def make_points(d: Path, n: int, *, extent: str, npartitions: int) -> tuple[Path, np.ndarray]:
    """Synthetic sites, Hilbert-partitioned into ``npartitions`` files; also each valid row's lon/lat box."""
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.scale import sample
    from xclz_geo.scale.partition import partition_file

    zones = gpd.read_file(make_zones(d))
    kw = {"near_share": NATIONAL_NEAR, "bbox": sample.NATIONAL_BBOX} if extent == "national" else {}
    pts = sample.synthetic_points(zones, n, bad_every=100_000, **kw)
    raw = d / f"raw_points_{extent}_{n}"
    sample.write_partitions(pts, raw, npartitions=4)
    out = d / f"points_{extent}_{n}"
    partition_file(raw, out, npartitions=npartitions)
    x = pd.to_numeric(pts["lon"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(pts["lat"], errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    return out, np.column_stack([x[ok], y[ok], x[ok], y[ok]])


def make_parcels(d: Path, n: int, *, extent: str, npartitions: int) -> tuple[Path, np.ndarray]:
    """Synthetic parcels, Hilbert-partitioned into ``npartitions`` GeoParquet files; also each parcel's box."""
    import geopandas as gpd

    from xclz_geo.scale import sample
    from xclz_geo.scale.partition import partition_file

    zones = gpd.read_file(make_zones(d))
    kw = {"near_share": NATIONAL_NEAR, "bbox": sample.NATIONAL_BBOX} if extent == "national" else {}
    parcels = sample.synthetic_parcels(zones, n, **kw)
    raw = d / f"raw_parcels_{extent}_{n}"
    sample.write_partitions(parcels, raw, npartitions=4)
    out = d / f"parcels_{extent}_{n}"
    partition_file(raw, out, npartitions=npartitions)
    return out, parcels.geometry.bounds.to_numpy(dtype=float)


def pruning_shares(boxes_rows: np.ndarray, zone_boxes: np.ndarray, counts: list[int]) -> dict[str, float]:
    """Share of Hilbert files (ordered by box centre, as ``partition_file`` does) whose box touches no zone."""
    from xclz_geo.scale.engine import prunable
    from xclz_geo.scale.partition import hilbert_keys

    cx = (boxes_rows[:, 0] + boxes_rows[:, 2]) / 2
    cy = (boxes_rows[:, 1] + boxes_rows[:, 3]) / 2
    order = np.argsort(hilbert_keys(cx, cy, (cx.min(), cy.min(), cx.max(), cy.max())), kind="stable")
    b = boxes_rows[order]
    out = {}
    for k in counts:
        cuts = np.linspace(0, len(b), k + 1).astype(int)
        pb = np.array([[b[i:j, 0].min(), b[i:j, 1].min(), b[i:j, 2].max(), b[i:j, 3].max()] for i, j in zip(cuts[:-1], cuts[1:])])
        out[str(k)] = round(float(prunable(pb, zone_boxes).mean()), 3)
    return out


# ------------------------------------------------------------------ one measurement (subprocess)


def _progress(i: int, total: int, t0: float) -> None:
    if (i + 1) % 10 == 0 or i + 1 == total:
        print(f"    memory: {i + 1}/{total} files, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def run_one(engine: str, task: str, data: str, zones: str, out: str) -> dict:
    warnings.simplefilter("ignore")
    from xclz_geo.boundaries.zone import Zone

    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
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
                _progress(i, len(files), t0)
        else:
            from xclz_geo.landuse.overlay import landuse_by_part

            rows = 0
            scheme = "auto"
            for i, f in enumerate(files):
                gdf = read_file(f, "geoparquet")
                r = landuse_by_part(zone, gdf, scheme=scheme, summaries=False)  # the per-parcel table, as on Dask
                scheme = r.method["scheme"]  # detected once, on the first file
                r.parcels.to_parquet(Path(out) / f"part.{i:05d}.parquet", index=False)
                rows += len(gdf)
                _progress(i, len(files), t0)
        res["skipped_partitions"] = 0
        res["peak_rss_mb"] = round(_peak_mb(), 1)
        res["cpu_seconds"] = round(time.process_time() - cpu0, 1)
    else:
        from distributed import Client, LocalCluster

        from xclz_geo.scale.cluster import write_partitions
        from xclz_geo.scale.engine import landuse_dask, locate_dask

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                               host="127.0.0.1", memory_limit="6GiB")
        client = Client(cluster)
        res["startup_seconds"] = round(time.perf_counter() - t0, 2)
        wcpu0 = client.run(_cpu_seconds)
        job = locate_dask(zone, data, with_distance=False) if task == "locate" else landuse_dask(zone, data)
        print(f"    dask: {job.pruning}", file=sys.stderr, flush=True)
        counts = write_partitions(job.frame, out, client=client, status_col="xclz_status" if task == "locate" else "status",
                                  progress=True)
        rows = sum(counts.values())
        res["skipped_partitions"] = job.skipped
        res["pruning"] = job.pruning
        res["worker_peak_rss_mb"] = sorted(round(v, 1) for v in client.run(_peak_since_reset).values())
        res["client_peak_rss_mb"] = round(_peak_mb(), 1)
        wcpu1 = client.run(_cpu_seconds)
        res["worker_cpu_seconds"] = sorted(round(wcpu1[w] - wcpu0[w], 1) for w in wcpu1 if w in wcpu0)
        res["client_cpu_seconds"] = round(time.process_time() - cpu0, 1)
        res["cpu_seconds"] = round(sum(res["worker_cpu_seconds"]) + res["client_cpu_seconds"], 1)
        client.close()
        cluster.close()
    res["rows"] = rows
    res["seconds"] = round(time.perf_counter() - t0, 2)
    res["rows_per_second"] = round(rows / res["seconds"])
    res["skipped_share"] = round(res["skipped_partitions"] / max(len(files), 1), 3)
    res["load_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
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
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1",
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


def _cpu_seconds() -> float:
    return time.process_time()


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
    # the child's stderr (progress) goes straight to ours; its last stdout line is the result
    r = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=env, timeout=7200)
    if r.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed with exit code {r.returncode}: {r.stdout[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _measure(results: list, task: str, extent: str, n: int, data: Path, zones: Path, d: Path) -> None:
    for engine in ("memory", "dask"):
        out = d / f"out_{task}_{extent}_{engine}_{n}"
        out.mkdir()
        log(f"{task} {extent} {n:,} rows: {engine} …")
        r = _sub(["--one", engine, task, str(data), str(zones), str(out)])
        r["extent"] = extent
        results.append(r)
        log(f"  {engine}: {r['seconds']} s, {r['rows_per_second']:,} rows/s, skipped {r['skipped_partitions']} of {r['partitions']}")
        print(json.dumps(r), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="province-scale benchmark (Dask vs in-memory chunked)")
    ap.add_argument("--full", action="store_true", help="the issue's sizes: 2×10⁷ points, 10⁶ parcels (about 20 min on 2 loaded cores)")
    ap.add_argument("--no-memory-per-million", action="store_true", help="skip the per-million-rows memory run (5 min)")
    ap.add_argument("--only", choices=("locate", "landuse"), default=None, help="run only the site checks or only the parcel overlays")
    ap.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/scale.json, scale_full.json with --full)")
    ap.add_argument("--one", nargs=5, metavar=("ENGINE", "TASK", "DATA", "ZONES", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-per-million", nargs=2, metavar=("ZONES", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(*a.one)))
        return 0
    if a.memory_per_million:
        print(json.dumps(memory_per_million(a.memory_per_million[0], Path(a.memory_per_million[1]))))
        return 0
    from xclz_geo.boundaries.zone import Zone
    from xclz_geo.scale.engine import zone_boxes

    if a.full:  # the sizes only (the smaller ones are the reduced run's), to stay under 40 min on 2 shared cores
        point_sizes, parcel_sizes = [20_000_000], [1_000_000]
        national_points, national_parcels = 2_000_000, 100_000
    else:
        point_sizes, parcel_sizes = [200_000, 2_000_000], [10_000, 100_000]
        national_points, national_parcels = 200_000, 20_000
    if a.only == "landuse":
        point_sizes, national_points = [], 0
    if a.only == "locate":
        parcel_sizes, national_parcels = [], 0
    nfiles = 40
    out_file = a.out or (OUT_FULL if a.full else OUT)
    t_all = time.perf_counter()
    results = {"machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                           "load_1min_at_start": os.getloadavg()[0]},
               "full": a.full, "only": a.only, "files": nfiles, "locate": [], "landuse": [], "pruning_share": {}}
    log(f"bench_scale {'--full' if a.full else '(reduced)'}: points {point_sizes}, parcels {parcel_sizes}, national "
        f"{national_points} points / {national_parcels} parcels, {nfiles} files each → {out_file}")
    counts = [40, 100, 400, 1000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tempfile.TemporaryDirectory(prefix="xclz-bench-scale-") as tmp:
            d = Path(tmp)
            zf = make_zones(d)
            boxes = zone_boxes(Zone.from_boundaries(zf))
            for n in point_sizes:
                log(f"generating {n:,} points and partitioning them into {nfiles} Hilbert files …")
                data, rowboxes = make_points(d, n, extent="province", npartitions=nfiles)
                if n == point_sizes[-1]:
                    results["pruning_share"]["points_province"] = pruning_shares(rowboxes, boxes, counts)
                del rowboxes
                _measure(results["locate"], "locate", "province", n, data, zf, d)
            if national_points:
                log(f"generating {national_points:,} national points …")
                data, rowboxes = make_points(d, national_points, extent="national", npartitions=nfiles)
                results["pruning_share"]["points_national"] = pruning_shares(rowboxes, boxes, counts)
                _measure(results["locate"], "locate", "national", national_points, data, zf, d)
            for n in parcel_sizes:
                log(f"generating {n:,} parcels and partitioning them into {nfiles} Hilbert files …")
                data, rowboxes = make_parcels(d, n, extent="province", npartitions=nfiles)
                if n == parcel_sizes[-1]:
                    results["pruning_share"]["parcels_province"] = pruning_shares(rowboxes, boxes, counts)
                _measure(results["landuse"], "landuse", "province", n, data, zf, d)
            if national_parcels:
                log(f"generating {national_parcels:,} national parcels …")
                data, rowboxes = make_parcels(d, national_parcels, extent="national", npartitions=nfiles)
                results["pruning_share"]["parcels_national"] = pruning_shares(rowboxes, boxes, counts)
                _measure(results["landuse"], "landuse", "national", national_parcels, data, zf, d)
            log(f"pruning share by number of Hilbert files: {json.dumps(results['pruning_share'])}")
            if not (a.full or a.no_memory_per_million):
                log("memory per million rows …")
                results["memory_per_million_rows"] = _sub(["--memory-per-million", str(zf), str(d)])
                print(json.dumps(results["memory_per_million_rows"]), flush=True)
    results["machine"]["load_1min_at_end"] = os.getloadavg()[0]
    results["total_seconds"] = round(time.perf_counter() - t_all, 1)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {out_file} ({results['total_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
