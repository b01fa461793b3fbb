"""Benchmark: exact-coverage land cover per part and per parcel, against the peers, in one run.

A 10,000 × 10,000 uint8 categorical GeoTIFF (10 m cells, EPSG:4549, tiled 256 × 256, DEFLATE)
is generated in a temporary folder, covering the three parts of the bundled (schematic) zone
``data/boundaries/zone.geojson`` (or the synthetic rectangles of ``tests/conftest.py`` when that file
is missing or ``--synthetic`` is given).
Two workloads:

* the three parts;
* 1,000 parcel polygons (a Voronoi tessellation of each part, clipped to it).

Methods (each also run once in a fresh subprocess for its peak memory: growth of the kernel's
peak-RSS mark, reset after imports):

* ``xclz_geo``: :func:`xclz_geo.landuse.overlay.landcover_by_polygons` (exact coverage);
* ``exactextract``: ``exact_extract(rast, vec, ["unique", "frac", "count"])`` (exact coverage);
* ``rasterstats``: ``zonal_stats(categorical=True)`` (cell-centre rule; timed once per workload, it
  is ~40× slower);
* ``cell_centre``: window read + ``rasterio.features.rasterize`` + ``np.bincount`` (cell-centre rule).

Timing: ``--rounds`` (5) independent rounds, each ``--reps`` (3) interleaved runs of every method in
this process (the order rotating), compared by their medians: every round is a same-run ratio, and
the 5× target must hold in every round. The load average is recorded per round (the machine is shared).

``--big``: a 40,000 × 40,000 uint8 raster of 1 m cells (a county; 1.6 GB uncompressed) is generated
by windows into a temporary folder, with the three parts, 1,000 parcels of the parts and 1,000
parcels tessellating the whole county; each method runs in fresh processes (``xclz_geo`` before and
after ``exactextract``) for time and whole-process peak memory. Results go to
``benchmarks/results/landuse_big.json``.

Accuracy: per polygon and class, |xclz_geo − exactextract| / exactextract area (classes above one
cell), the worst over all polygons and the total over all classes. Results go to
``benchmarks/results/landuse.json``.

Run: ``.venv/bin/python benchmarks/bench_landuse.py [--rounds 5] [--reps 3] [--synthetic] [--big]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

N = 10_000
CELL = 10.0


def make_parts(bundled: bool):
    import geopandas as gpd

    if bundled and (ROOT / "data" / "boundaries" / "zone.geojson").exists():
        from xclz_geo.boundaries.zone import Zone

        z = Zone.load()
        parts = z.parts_gk[["part_id", "geometry"]]
        return gpd.GeoDataFrame(parts, geometry="geometry", crs=z.gk_crs).to_crs("EPSG:4549"), "bundled zone.geojson"
    from conftest import make_synthetic_boundaries

    return make_synthetic_boundaries().to_crs("EPSG:4549")[["part_id", "geometry"]], "synthetic rectangles (tests/conftest.py)"


def make_parcels(parts, n_total: int, seed: int = 7):
    import geopandas as gpd
    from conftest import random_voronoi_cells

    rng = np.random.default_rng(seed)
    areas = parts.geometry.area.to_numpy()
    counts = np.maximum(1, np.round(areas / areas.sum() * n_total)).astype(int)
    counts[-1] += n_total - counts.sum()
    geoms, pid = [], []
    for (_, row), k in zip(parts.iterrows(), counts):
        cells = random_voronoi_cells(row.geometry, k, rng)
        geoms.extend(cells)
        pid.extend([row["part_id"]] * len(cells))
    gdf = gpd.GeoDataFrame({"parcel": np.arange(len(geoms)), "part_id": pid}, geometry=list(geoms), crs=parts.crs)
    return gdf.iloc[:n_total].reset_index(drop=True)


def make_raster(path: Path, parts, seed: int = 3) -> dict:
    import rasterio
    from rasterio.transform import Affine

    def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
        # rasterio's from_origin, without affine 3's PendingDeprecationWarning
        return Affine(xsize, 0.0, west, 0.0, -ysize, north)
    from rasterio.windows import Window

    minx, miny, maxx, maxy = parts.total_bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    x0 = math.floor((cx - N * CELL / 2) / CELL) * CELL + 3.7  # not aligned to the parts' corners
    y0 = math.floor((cy + N * CELL / 2) / CELL) * CELL + 1.3
    T = from_origin(x0, y0, CELL, CELL)
    rng = np.random.default_rng(seed)
    prof = dict(driver="GTiff", height=N, width=N, count=1, dtype="uint8", crs="EPSG:4549", transform=T,
                nodata=0, tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    with rasterio.open(path, "w", **prof) as dst:
        step = 1000
        for r in range(0, N, step):
            coarse = rng.integers(1, 10, size=(step // 20 + 1, N // 20 + 1), dtype=np.uint8)
            block = np.kron(coarse, np.ones((20, 20), dtype=np.uint8))[:step, :N]
            noise = rng.random((step, N)) < 0.15
            block = np.where(noise, rng.integers(1, 10, size=(step, N), dtype=np.uint8), block)
            block[rng.random((step, N)) < 0.002] = 0  # scattered nodata
            dst.write(block, 1, window=Window(0, r, N, step))
    return {"shape": [N, N], "cell_m": CELL, "crs": "EPSG:4549", "dtype": "uint8", "full_size_mb": N * N / 1e6,
            "file_size_mb": round(path.stat().st_size / 1e6, 1), "tiling": "256x256 DEFLATE"}


# ------------------------------------------------------------------ methods


def run_xclz(raster, polys):
    from xclz_geo.landuse.overlay import landcover_by_polygons

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return landcover_by_polygons(polys, raster, ids=list(range(len(polys))), gk_crs="EPSG:4549")


def conv_xclz(res):
    bc = res.by_class
    return {(int(i), int(v)): float(a) for i, v, a in zip(bc["id"], bc["value"], bc["area_m2"])}


def run_exactextract(raster, polys):
    from exactextract import exact_extract

    return exact_extract(str(raster), polys.assign(_i=np.arange(len(polys))), ["unique", "frac", "count"],
                         include_cols=["_i"], output="pandas")


def conv_exactextract(df):
    out = {}
    for i, u, f, c in zip(df["_i"], df["unique"], df["frac"], df["count"]):
        for v, fr in zip(u, f):
            out[(int(i), int(v))] = float(fr) * float(c) * CELL * CELL
    return out


def run_rasterstats(raster, polys):
    from rasterstats import zonal_stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zonal_stats(list(polys.geometry), str(raster), categorical=True, nodata=0)


def conv_rasterstats(zs):
    return {(i, int(v)): float(c) * CELL * CELL for i, d in enumerate(zs) for v, c in d.items()}


def run_cell_centre(raster, polys):
    """Cell-centre rule done well: one window per part (parcels grouped by their part), rasterize, bincount."""
    import rasterio
    from rasterio.features import rasterize
    from rasterio.windows import from_bounds

    out = {}
    with rasterio.open(raster) as src:
        for _, grp in polys.groupby("part_id", sort=False):
            minx, miny, maxx, maxy = grp.total_bounds
            w = from_bounds(minx, miny, maxx, maxy, src.transform).round_offsets().round_lengths()
            data = src.read(1, window=w, boundless=False)
            idx = grp.index.to_numpy()
            labels = rasterize(((g, i + 1) for i, g in enumerate(grp.geometry)), out_shape=data.shape,
                               transform=src.window_transform(w), fill=0, dtype="int32")
            m = (labels > 0) & (data != 0)
            cnt = np.bincount(labels[m].astype(np.int64) * 256 + data[m], minlength=(len(grp) + 1) * 256).reshape(-1, 256)[1:]
            i, v = np.nonzero(cnt)
            for a, b in zip(i, v):
                out[(int(idx[a]), int(b))] = float(cnt[a, b]) * CELL * CELL
    return out


METHODS = {"xclz_geo": run_xclz, "exactextract": run_exactextract, "rasterstats": run_rasterstats, "cell_centre": run_cell_centre}
#: conversion of each method's own output to {(polygon, class): area m²}, outside the timing
CONVERT = {"xclz_geo": conv_xclz, "exactextract": conv_exactextract, "rasterstats": conv_rasterstats, "cell_centre": lambda d: d}


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def child(method: str, raster: str, polys_path: str) -> None:
    """Run one method once in a fresh process; print its peak RSS growth (MB) and time.

    The kernel's peak-RSS mark is reset (``/proc/self/clear_refs`` = 5) after imports and input
    loading, so the peak counts only what the method itself allocates (GDAL block cache included).
    """
    import geopandas as gpd
    import rasterio  # noqa: F401  (import cost outside the measurement)
    import exactextract  # noqa: F401
    import rasterstats  # noqa: F401
    from xclz_geo.landuse import overlay as landuse

    polys = gpd.read_file(polys_path)
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_kb("VmRSS")
    t = time.perf_counter()
    METHODS[method](raster, polys)
    dt = time.perf_counter() - t
    peak = _status_kb("VmHWM")
    print(json.dumps({"peak_rss_growth_mb": (peak - base) / 1024.0, "peak_rss_mb": peak / 1024.0, "time_s": dt}))


def compare(a: dict, b: dict, min_area: float) -> dict:
    """Relative deviation of a from b per (polygon, class) with b above min_area, and overall."""
    keys = set(a) | set(b)
    worst = 0.0
    worst_key = None
    abs_sum = 0.0
    for k in keys:
        va, vb = a.get(k, 0.0), b.get(k, 0.0)
        abs_sum += abs(va - vb)
        if vb >= min_area:
            d = abs(va - vb) / vb
            if d > worst:
                worst, worst_key = d, k
    total = sum(b.values())
    return {"max_rel_dev_per_class": worst, "worst_key": list(worst_key) if worst_key else None,
            "sum_abs_dev_over_total": abs_sum / total if total else 0.0}


#: methods timed in every round (rasterstats, ~40× slower, is timed once per workload for reference)
ROUND_METHODS = ("xclz_geo", "exactextract", "cell_centre")


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed_rounds(raster, polys, *, rounds: int, reps: int) -> list[dict]:
    """``rounds`` independent same-run comparisons: in each, ``reps`` interleaved repetitions of every
    method (the order rotating), and the ratio of the medians."""
    out = []
    for r in range(rounds):
        times: dict[str, list[float]] = {m: [] for m in ROUND_METHODS}
        load0 = _loadavg()
        for k in range(reps):
            order = ROUND_METHODS[k % len(ROUND_METHODS):] + ROUND_METHODS[:k % len(ROUND_METHODS)]
            for m in order:
                t = time.perf_counter()
                METHODS[m](raster, polys)
                times[m].append(time.perf_counter() - t)
        med = {m: float(np.median(v)) for m, v in times.items()}
        out.append({"round": r + 1, "median_s": med, "times_s": times, "loadavg_1_5_15": load0,
                    "speedup_vs_exactextract": med["exactextract"] / med["xclz_geo"],
                    "ratio_to_cell_centre": med["xclz_geo"] / med["cell_centre"]})
    return out


def peak_child(method: str, raster: Path, ppath: Path, timeout_s: float | None = None) -> dict:
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", method, str(raster), str(ppath)],
                              capture_output=True, text=True, check=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"timed_out_after_s": timeout_s}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="independent same-run comparisons (default 5)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions per round; each round compares medians")
    ap.add_argument("--synthetic", action="store_true",
                    help="use the synthetic rectangles of tests/conftest.py even when data/boundaries/zone.geojson exists")
    ap.add_argument("--big", action="store_true",
                    help="instead: a 40,000² raster at 1 m (a county), generated by windows in a temp dir; "
                         "time and peak memory of each method in fresh processes")
    ap.add_argument("--big-size", type=int, default=40_000, help=argparse.SUPPRESS)
    ap.add_argument("--ee-timeout", type=float, default=1800.0, help="--big: give up on exactextract after this many seconds")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", nargs=3, metavar=("METHOD", "RASTER", "POLYS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.big:
        return main_big(args)
    out_path = Path(args.out or ROOT / "benchmarks" / "results" / "landuse.json")
    parts, parts_src = make_parts(not args.synthetic)
    parcels = make_parcels(parts, 1000)
    out = {"machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                       "processor": platform.processor() or platform.machine()},
           "parts_source": parts_src, "rounds": args.rounds, "reps_per_round": args.reps,
           "timing": "each round: reps interleaved runs of every method in one process (order rotating), "
                     "ratio of the medians; rounds are independent same-run comparisons",
           "loadavg_start": _loadavg(), "workloads": {}}
    with tempfile.TemporaryDirectory() as tmp:
        raster = Path(tmp) / "landcover_10000.tif"
        t = time.perf_counter()
        out["raster"] = make_raster(raster, parts)
        out["raster"]["build_s"] = round(time.perf_counter() - t, 1)
        for name, polys in (("3 parts", parts.reset_index(drop=True)), ("1000 parcels", parcels)):
            ppath = Path(tmp) / f"{name.replace(' ', '_')}.gpkg"
            polys.to_file(ppath, driver="GPKG")
            wl: dict = {"polygons": len(polys), "area_km2": float(polys.area.sum() / 1e6), "methods": {}}
            results = {m: CONVERT[m](fn(raster, polys)) for m, fn in METHODS.items()}  # warm-up + results
            t = time.perf_counter()
            METHODS["rasterstats"](raster, polys)
            rs_s = time.perf_counter() - t
            rounds = timed_rounds(raster, polys, rounds=args.rounds, reps=args.reps)
            for m in METHODS:
                mem = peak_child(m, raster, ppath)
                meds = [r["median_s"][m] for r in rounds] if m in ROUND_METHODS else [rs_s]
                wl["methods"][m] = {"median_s_per_round": meds, "best_s": min(min(r["times_s"][m]) for r in rounds) if m in ROUND_METHODS else rs_s,
                                    "peak_rss_growth_mb": round(mem["peak_rss_growth_mb"], 1)}
            wl["rounds"] = rounds
            sp = [r["speedup_vs_exactextract"] for r in rounds]
            wl["speedup_vs_exactextract_per_round"] = sp
            wl["speedup_vs_exactextract_min"] = min(sp)
            wl["ratio_to_cell_centre_per_round"] = [r["ratio_to_cell_centre"] for r in rounds]
            wl["speedup_vs_rasterstats_once"] = rs_s / rounds[0]["median_s"]["xclz_geo"]
            wl["accuracy_vs_exactextract"] = compare(results["xclz_geo"], results["exactextract"], min_area=CELL * CELL)
            wl["cell_centre_vs_exactextract"] = compare(results["cell_centre"], results["exactextract"], min_area=CELL * CELL)
            out["workloads"][name] = wl
            print(f"{name}: " + ", ".join(f"{m} {v['median_s_per_round'][0] * 1000:.1f} ms / {v['peak_rss_growth_mb']:.0f} MB"
                                          for m, v in wl["methods"].items()))
            for r in rounds:
                print(f"   round {r['round']}: xclz_geo {r['median_s']['xclz_geo'] * 1000:.1f} ms, exactextract "
                      f"{r['median_s']['exactextract'] * 1000:.1f} ms → {r['speedup_vs_exactextract']:.1f}×; "
                      f"{r['ratio_to_cell_centre']:.2f}× cell-centre time; load {r['loadavg_1_5_15'][0]}")
            print(f"   max per-class deviation from exactextract {wl['accuracy_vs_exactextract']['max_rel_dev_per_class']:.2e}")
    p = out["workloads"]["1000 parcels"]
    out["loadavg_end"] = _loadavg()
    targets = {
        f"1000 parcels >= 5x exactextract in {args.rounds} of {args.rounds} rounds": all(x >= 5 for x in p["speedup_vs_exactextract_per_round"]),
        "rounds passing (1000 parcels >= 5x)": f"{sum(x >= 5 for x in p['speedup_vs_exactextract_per_round'])} of {args.rounds}",
        "1000 parcels within 0.1% of exactextract per class": p["accuracy_vs_exactextract"]["max_rel_dev_per_class"] <= 1e-3,
        "3 parts <= 1.5x cell-centre (median of rounds)": float(np.median(out["workloads"]["3 parts"]["ratio_to_cell_centre_per_round"])) <= 1.5,
        "peak memory well under the raster's full size (100 MB)": max(
            w["methods"]["xclz_geo"]["peak_rss_growth_mb"] for w in out["workloads"].values()) < out["raster"]["full_size_mb"] / 2,
    }
    out["targets"] = targets
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(targets, indent=1, ensure_ascii=False))
    print(f"written {out_path}")
    return 0


# ------------------------------------------------------------------ --big: a county at 1 m


BIG_CELL = 1.0


def make_big_raster(path: Path, x0: float, y0: float, n: int, seed: int = 11) -> dict:
    """An ``n × n`` uint8 GeoTIFF of 1 m cells, written 256 rows at a time (the generator's memory is
    bounded by one band of rows: ~n × 256 × 6 bytes)."""
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    T = Affine(BIG_CELL, 0.0, x0, 0.0, -BIG_CELL, y0)
    rng = np.random.default_rng(seed)
    prof = dict(driver="GTiff", height=n, width=n, count=1, dtype="uint8", crs="EPSG:4549", transform=T,
                nodata=0, tiled=True, blockxsize=256, blockysize=256, compress="deflate", zlevel=1, BIGTIFF="IF_SAFER")
    step = 256
    patch = 64
    with rasterio.open(path, "w", **prof) as dst:
        for r in range(0, n, step):
            h = min(step, n - r)
            coarse = rng.integers(1, 10, size=(step // patch + 1, n // patch + 1), dtype=np.uint8)
            block = np.repeat(np.repeat(coarse, patch, axis=0), patch, axis=1)[:h, :n]
            noise = rng.random((h, n), dtype=np.float32)
            block = np.where(noise < 0.15, (noise * 60).astype(np.uint8) % 9 + 1, block)
            block[noise > 0.998] = 0  # scattered nodata
            dst.write(block, 1, window=Window(0, r, n, h))
    return {"shape": [n, n], "cell_m": BIG_CELL, "crs": "EPSG:4549", "dtype": "uint8", "full_size_mb": n * n / 1e6,
            "file_size_mb": round(path.stat().st_size / 1e6, 1), "tiling": "256x256 DEFLATE"}


def main_big(args) -> int:
    import shutil

    import geopandas as gpd
    import shapely
    from conftest import random_voronoi_cells

    n = args.big_size
    out_path = Path(args.out or ROOT / "benchmarks" / "results" / "landuse_big.json")
    parts, parts_src = make_parts(not args.synthetic)
    parts = parts.reset_index(drop=True)
    # the zone spans 69 km east-west: the western part is moved 40 km east so the three fit a 40 km county
    b = parts.bounds
    far = b["maxx"] < b["minx"].max() - n * BIG_CELL * 0.75
    moved = parts.geometry.where(~far, parts.geometry.translate(xoff=40_000.0))
    parts = parts.set_geometry(moved)
    minx, miny, maxx, maxy = parts.total_bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    x0 = math.floor(cx - n * BIG_CELL / 2) + 0.37
    y0 = math.floor(cy + n * BIG_CELL / 2) + 0.13
    parcels = make_parcels(parts, 1000)
    county = shapely.box(x0 + 5, y0 - n * BIG_CELL + 5, x0 + n * BIG_CELL - 5, y0 - 5)
    rng = np.random.default_rng(17)
    cells = random_voronoi_cells(county, 1000, rng)
    county_parcels = gpd.GeoDataFrame({"parcel": np.arange(len(cells)), "part_id": "county"}, geometry=list(cells), crs="EPSG:4549")
    with tempfile.TemporaryDirectory() as tmp:
        free_gb = shutil.disk_usage(tmp).free / 1e9
        if free_gb < 4:
            print(f"--big needs about 1 GB of temporary disk (and room to spare); {tmp} has {free_gb:.1f} GB free")
            return 1
        out: dict = {"machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
                     "parts_source": parts_src + (" (western part moved 40 km east)" if far.any() else ""),
                     "tmp_free_gb": round(free_gb, 1), "loadavg_start": _loadavg(), "workloads": {}}
        raster = Path(tmp) / f"county_{n}.tif"
        t = time.perf_counter()
        out["raster"] = make_big_raster(raster, x0, y0, n)
        out["raster"]["build_s"] = round(time.perf_counter() - t, 1)
        print(f"raster {n}² built in {out['raster']['build_s']} s, {out['raster']['file_size_mb']} MB on disk")
        for name, polys in (("3 parts", parts), ("1000 parcels of the parts", parcels),
                            ("1000 parcels tessellating the county", county_parcels)):
            ppath = Path(tmp) / f"{len(out['workloads'])}.gpkg"
            polys.to_file(ppath, driver="GPKG")
            wl: dict = {"polygons": len(polys), "area_km2": float(polys.area.sum() / 1e6), "methods": {}}
            # fresh processes, one after the other: xclz_geo, exactextract, xclz_geo again (the ratio uses
            # the mean of the two xclz_geo runs around the exactextract run)
            x1 = peak_child("xclz_geo", raster, ppath)
            x1["loadavg"] = _loadavg()
            ee = peak_child("exactextract", raster, ppath, timeout_s=args.ee_timeout)
            ee["loadavg"] = _loadavg()
            x2 = peak_child("xclz_geo", raster, ppath)
            x2["loadavg"] = _loadavg()
            wl["methods"] = {"xclz_geo": [x1, x2], "exactextract": ee}
            xt = (x1["time_s"] + x2["time_s"]) / 2
            if "time_s" in ee:
                wl["speedup_vs_exactextract"] = ee["time_s"] / xt
            out["workloads"][name] = wl
            print(f"{name}: xclz_geo {x1['time_s']:.1f} s / {x2['time_s']:.1f} s, peak RSS {max(x1['peak_rss_mb'], x2['peak_rss_mb']):.0f} MB "
                  f"(+{max(x1['peak_rss_growth_mb'], x2['peak_rss_growth_mb']):.0f} MB for the call); exactextract "
                  + (f"{ee['time_s']:.1f} s, peak {ee['peak_rss_mb']:.0f} MB → {wl['speedup_vs_exactextract']:.1f}×"
                     if "time_s" in ee else f"did not finish in {args.ee_timeout:.0f} s"))
    out["loadavg_end"] = _loadavg()
    peak = max(max(m["peak_rss_mb"] for m in w["methods"]["xclz_geo"]) for w in out["workloads"].values())
    out["targets"] = {"40,000² raster streamed with peak memory under 500 MB (whole process)": peak < 500}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out["targets"], indent=1, ensure_ascii=False))
    print(f"written {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
