"""Benchmark: point in zone — ``locate_xy`` against raw ``shapely.contains_xy`` and ``geopandas.sjoin``.

Zones:

* ``bundled`` — ``data/boundaries/zone.geojson`` (schematic, 3 parts), when present;
* ``star1000`` — three synthetic 1,000-vertex star-shaped parts at the synthetic centres of
  ``tests/conftest.py``, sized to the official areas (29.8, 26.21, 3.77 km²), quality
  ``official`` (uncertainty 0) so that the status *is* the containment.
* ``sparse300`` — three synthetic low-vertex parts (a pentagon, a quadrilateral and a hexagon,
  turned off the axes) at the same centres and areas with a 300 m uncertainty band: small,
  boundary-dense zones where raw ``contains_xy`` per part is at its fastest (target 3 of issue 18).

Points: uniform random in the bounding box of the zone's parts (lon/lat, WGS84), 10⁵, 10⁶, 10⁷.

Methods, all on the same points:

* ``lib_lonlat_1t`` / ``lib_lonlat_2t`` — ``locate_xy(zone, lon, lat, with_distance=False)`` status + part, 1 or 2 threads
  (lon/lat in, no projection needed outside boundary cells);
* ``lib_gk_1t`` — ``locate_xy(zone, x, y, crs=GK, with_distance=False)`` with Gauss-Krüger input;
* ``raw_contains_union_1t`` / ``_2t`` — ``shapely.contains_xy`` on one prepared MultiPolygon of all
  parts (GK points, projection not timed; 2 threads with one prepared copy per thread): the
  practical limit of the plain library for inside/outside;
* ``raw_contains_parts_1t`` — ``contains_xy`` once per prepared part (what a part id needs);
* ``sjoin`` — ``geopandas.sjoin(points, parts, predicate="within")`` with the points
  GeoDataFrame prebuilt (building it is not timed);
* ``lib_distance`` — ``locate_xy(..., with_distance=True)`` (exact signed distances, 10⁵ only);
* ``lib_gcj02_1t`` — ``locate_xy`` on the same points given in GCJ-02 (10⁵, 10⁶);
* ``pyproj_lonlat_to_gk`` — projecting the lon/lat points to Gauss-Krüger alone (10⁵, 10⁶): what a
  plain-library script pays before ``contains_xy`` can run (not included in the raw timings);
* ``lib_lonlat_1t_numpy`` / ``lib_lonlat_2t_numpy`` / ``lib_gk_1t_numpy`` — the same library calls on
  the numpy path (``xclz_geo.geo.locate.KERNEL = "numpy"``, what an install without a C compiler runs),
  when the compiled lookup kernel is built (``lib_lonlat_1t_numpy`` also at 10⁷). ``kernel`` in the
  JSON says which kernel the ``lib_*`` methods ran (``"c"`` or ``"numpy"``; ``XCLZ_GEO_KERNEL=numpy``
  forces numpy), ``kernel_simd`` which build of its vector loop, and the ratios
  ``*_compiled_vs_numpy`` the compiled kernel's gain over the numpy path in the same run.

10⁷-point cases run in a fresh subprocess each (median of three), to measure the peak RSS they add;
the library gets one warm-up call on 2% of the points there, at least 10⁶ so that the thread pool runs
(grid, thread pool, per-thread buffers, prepared copies and pyproj transformers),
as the raw methods prepare their geometries before timing. Each process then repeats the timed call
``WARM_CALLS_1E7`` (3) times: ``seconds`` is the first call (what a fresh process pays, including the
kernel's first touch of the result pages — with transparent huge pages and synchronous compaction on
these VMs, 5–130 ms per 40 MB from run to run), ``warm_median_seconds``/``warm_best_seconds`` the warm
calls of all three processes; the 10⁷ targets are judged on the warm calls and the first-call ratios are
reported beside them. Other timings are the median of ``--repeat``
runs after a warm-up call (``best_seconds``: the fastest). ``parallel_control_*``: a plain numpy kernel on
1 and 2 threads at the start and end of the run — what a second thread could give on this shared machine
at that time. Answers are checked on every one of the 10⁶ points: for ``star1000`` the library's
part equals ``intersects_xy``'s; for ``bundled`` and ``sparse300`` the library's status and part
equal plain shapely's ``intersects_xy`` + ``dwithin`` per part.

Targets of issue 18, each a ratio within this run (``targets`` in the JSON, with pass/fail):

* target 3 — ``locate_xy`` on one thread ≥ 10× the faster raw baseline (``contains_xy`` on the
  prepared union or per prepared part, one thread), best of ``--repeat`` runs, on every zone at
  10⁶ points (and 10⁷ in a full run), with 0 mismatches;
* target 4 — two threads ≥ 1.6× one thread at 10⁷ points (full run; median of the warm calls) and not
  slower than one thread at 10⁶ (``choose_threads`` gives 10⁶ points one thread, so both run the same
  code and the measured ratio there is the run's noise, reported), beside the plain numpy control
  kernel's own 2-thread gain in the same run.

Grid build: time (cache off) and memory of the grid arrays, per zone and input frame.
CSV → CSV end to end: ``xclz-geo locate --input big.csv --out out.csv`` in a subprocess for
10⁶ and 10⁷ rows (id, name, lon, lat), wall time and peak RSS, with and without distances.

Results: ``benchmarks/results/locate.json``.
Run: ``.venv/bin/python benchmarks/bench_locate.py [--quick] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import json
import math
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
sys.path.insert(0, str(ROOT / "tests"))

GK = "EPSG:4549"
RESULTS = ROOT / "benchmarks" / "results" / "locate.json"


# ------------------------------------------------------------------ zones and points


def star_zone():
    import geopandas as gpd
    import shapely

    from conftest import SYNTHETIC_PARTS
    from xclz_geo.geo.crs import transformer
    from xclz_geo.boundaries.zone import Zone

    to_gk = transformer("EPSG:4490", GK)
    rows, geoms = [], []
    t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)
    for pid, bid, zh, en, area_km2, (lon, lat) in SYNTHETIC_PARTS:
        cx, cy = to_gk.transform(lon, lat)
        shape = 1 + 0.25 * np.sin(7 * t) + 0.04 * np.sin(61 * t)
        ring = np.column_stack([np.cos(t) * shape, np.sin(t) * shape])
        unit = shapely.Polygon(ring).area
        s = math.sqrt(area_km2 * 1e6 / unit)
        geoms.append(shapely.Polygon(np.column_stack([cx + s * ring[:, 0], cy + s * ring[:, 1]])))
        rows.append(dict(part_id=pid, block_id=bid, name_zh=zh, name_en=en, official_area_km2=area_km2,
                         quality="official", positional_uncertainty_m=0.0, source="synthetic benchmark stars"))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs("EPSG:4490")
    return Zone.from_boundaries(gdf)


def sparse_zone(uncertainty_m: float = 300.0):
    """Three low-vertex parts (5, 4 and 6 vertices, turned off the axes) with a wide uncertainty band."""
    import geopandas as gpd
    import shapely

    from conftest import SYNTHETIC_PARTS
    from xclz_geo.geo.crs import transformer
    from xclz_geo.boundaries.zone import Zone

    to_gk = transformer("EPSG:4490", GK)
    rows, geoms = [], []
    for (pid, bid, zh, en, area_km2, (lon, lat)), nv, turn in zip(SYNTHETIC_PARTS, (5, 4, 6), (0.3, 0.5, 0.1)):
        cx, cy = to_gk.transform(lon, lat)
        t = turn + np.linspace(0, 2 * np.pi, nv, endpoint=False)
        r = 1 + 0.2 * np.cos(3 * t)  # irregular, still convex enough to be a plausible parcel outline
        ring = np.column_stack([np.cos(t) * r, np.sin(t) * r])
        s_ = math.sqrt(area_km2 * 1e6 / shapely.Polygon(ring).area)
        geoms.append(shapely.Polygon(np.column_stack([cx + s_ * ring[:, 0], cy + s_ * ring[:, 1]])))
        rows.append(dict(part_id=pid, block_id=bid, name_zh=zh, name_en=en, official_area_km2=area_km2,
                         quality="synthetic", positional_uncertainty_m=uncertainty_m,
                         source="synthetic benchmark low-vertex parts"))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=GK).to_crs("EPSG:4490")
    return Zone.from_boundaries(gdf)


def bundled_zone():
    from xclz_geo.datasets import data_path
    from xclz_geo.boundaries.zone import Zone

    p = data_path("boundaries", "zone.geojson", must_exist=False)
    if not p.exists():
        return None
    return Zone.from_boundaries(p)


def load_zone(name: str):
    if name == "star1000":
        return star_zone()
    if name == "sparse300":
        return sparse_zone()
    return bundled_zone()


def points(zone, n: int, seed: int = 0):
    import shapely

    from xclz_geo.geo.crs import transformer

    b = shapely.total_bounds(zone.parts.to_crs("EPSG:4490").geometry.to_numpy())
    rng = np.random.default_rng(seed)
    lon = rng.uniform(b[0], b[2], n)
    lat = rng.uniform(b[1], b[3], n)
    gx, gy = transformer("EPSG:4490", zone.gk_crs).transform(lon, lat)
    return lon, lat, np.asarray(gx), np.asarray(gy)


# ------------------------------------------------------------------ methods


def _prepared_parts(zone):
    import shapely

    parts = [shapely.from_wkb(shapely.to_wkb(g)) for g in zone.parts_gk.geometry if g is not None]
    for p in parts:
        shapely.prepare(p)
    return parts


def _union(zone):
    import shapely

    u = shapely.from_wkb(shapely.to_wkb(shapely.union_all(zone.parts_gk.geometry.to_numpy())))
    shapely.prepare(u)
    return u


def method(name: str, zone, lon, lat, gx, gy):
    """Return a zero-argument callable running ``name`` on the points (setup not timed)."""
    import shapely

    from xclz_geo.geo.locate import locate_xy

    if name.endswith("_numpy"):
        # the same library call on the numpy path (the fallback without the compiled kernel)
        from xclz_geo.geo import locate as _locate

        fn = method(name[: -len("_numpy")], zone, lon, lat, gx, gy)

        def run_numpy():
            saved = _locate.KERNEL
            _locate.KERNEL = "numpy"
            try:
                return fn()
            finally:
                _locate.KERNEL = saved

        return run_numpy
    if name == "lib_lonlat_1t":
        return lambda: locate_xy(zone, lon, lat, threads=1, with_distance=False)
    if name == "lib_lonlat_2t":
        return lambda: locate_xy(zone, lon, lat, threads=2, with_distance=False)
    if name == "lib_gk_1t":
        return lambda: locate_xy(zone, gx, gy, crs=GK, threads=1, with_distance=False)
    if name == "lib_gcj02_1t":
        from xclz_geo.geo.crs import wgs84_to_gcj02

        glon, glat = wgs84_to_gcj02(lon, lat)  # conversion not timed: the input arrives in GCJ-02
        return lambda: locate_xy(zone, glon, glat, datum="gcj02", threads=1, with_distance=False)
    if name == "pyproj_lonlat_to_gk":
        from xclz_geo.geo.crs import transformer

        t = transformer("EPSG:4490", zone.gk_crs)
        return lambda: t.transform(lon, lat)
    if name == "lib_distance":
        return lambda: locate_xy(zone, lon, lat, with_distance=True)
    if name == "raw_contains_union_1t":
        u = _union(zone)
        return lambda: shapely.contains_xy(u, gx, gy)
    if name == "raw_contains_parts_1t":
        parts = _prepared_parts(zone)

        def run():
            out = np.full(gx.shape[0], -1, dtype=np.int32)
            for k, p in enumerate(parts):
                out[shapely.contains_xy(p, gx, gy)] = k
            return out

        return run
    if name == "raw_contains_union_2t":
        from concurrent.futures import ThreadPoolExecutor

        copies = [_union(zone), _union(zone)]  # one prepared copy per thread (libgeos/geos#825)
        half = gx.shape[0] // 2
        pool = ThreadPoolExecutor(2)
        sl = [slice(0, half), slice(half, None)]

        def run():
            fs = [pool.submit(shapely.contains_xy, copies[i], gx[sl[i]], gy[sl[i]]) for i in range(2)]
            return np.concatenate([f.result() for f in fs])

        return run
    if name == "sjoin":
        import geopandas as gpd

        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx, gy), crs=zone.gk_crs)
        parts = zone.parts_gk[["part_id", "geometry"]]
        return lambda: gpd.sjoin(pts, parts, how="left", predicate="within")
    raise ValueError(name)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, repeat: int, cpu: list | None = None) -> tuple[float, float]:
    """Median and best wall time of ``repeat`` runs (after the caller's warm-up).

    ``cpu``: a list that receives the calling thread's CPU time of each run (for one-thread
    methods: the time the method ran, without the time another process held the core).
    """
    ts = []
    for _ in range(repeat):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.thread_time() - c0)
    return float(np.median(ts)), float(min(ts))


def parallel_control(n: int = 10_000_000, repeat: int = 7) -> dict:
    """How much a second thread can give right now: a plain numpy kernel on 1 and 2 threads.

    These 2-core machines are shared: when another job holds a core, no method scales, and the
    library's 2-thread figures should be read against this control measured in the same run.
    """
    from concurrent.futures import ThreadPoolExecutor

    a = np.random.default_rng(0).random(n)
    o = np.empty(n)
    h = n // 2

    def kern(sl: slice) -> None:
        for _ in range(3):
            np.sqrt(a[sl], out=o[sl])

    pool = ThreadPoolExecutor(2)
    one = lambda: kern(slice(0, n))  # noqa: E731
    two = lambda: [f.result() for f in [pool.submit(kern, slice(0, h)), pool.submit(kern, slice(h, n))]]  # noqa: E731
    one(), two()
    t1, _ = timed(one, repeat)
    t2, _ = timed(two, repeat)
    pool.shutdown()
    return {"numpy_1t_seconds": t1, "numpy_2t_seconds": t2, "speedup_2t": t1 / t2, "load_average": list(os.getloadavg())}


#: warm calls after the first in each fresh 10⁷ process (:func:`run_case`)
WARM_CALLS_1E7 = 3


def run_case(zone_name: str, name: str, n: int) -> dict:
    """One 10⁷ case in this process: time, and the peak RSS added by the call."""
    zone = load_zone(zone_name)
    lon, lat, gx, gy = points(zone, n)
    fn = method(name, zone, lon, lat, gx, gy)
    if name.startswith("lib"):
        # build the grid, start the thread pool and page in the per-thread buffers, prepared
        # copies and pyproj transformers on 2% of the points, but at least enough points for the
        # threaded path (the raw methods prepare their geometries before timing too)
        from xclz_geo.geo.locate import PARALLEL_MIN_POINTS

        m = min(n, max(n // 50, 2 * PARALLEL_MIN_POINTS + 1))
        method(name, zone, lon[:m], lat[:m], gx[:m], gy[:m])()
    import gc

    gc.collect()
    before = _current_rss_mb()
    reset = _reset_peak_rss()
    t0 = time.perf_counter()
    fn()
    secs = time.perf_counter() - t0
    peak = _peak_rss_since_reset_mb() if reset else rss_mb()
    # then the same call again, warm: the first call in a fresh process pays the kernel's first touch
    # of its result pages (transparent huge pages with synchronous compaction on this VM: 5–130 ms per
    # 40 MB, varying from run to run), which the warm calls show without
    warm = []
    for _ in range(WARM_CALLS_1E7):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return {"seconds": secs, "peak_rss_mb": peak, "rss_before_mb": before,
            "added_peak_mb": max(peak - before, 0.0), "peak_measured_over_call_only": reset, "warm_seconds": warm}


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux: ``5`` into clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_since_reset_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover
        return float("nan")


def subprocess_case(zone_name: str, name: str, n: int, runs: int = 3) -> dict:
    """Median of ``runs`` fresh subprocesses (these 2-core machines are shared: timings vary).

    ``seconds`` is the median run's time, ``best_seconds`` the fastest; memory figures are the
    median run's.
    """
    rs = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--case", zone_name, name, str(n)], capture_output=True,
                             text=True, check=True, cwd=ROOT)
        rs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rs.sort(key=lambda r: r["seconds"])
    med = dict(rs[len(rs) // 2])
    med["best_seconds"] = rs[0]["seconds"]
    med["runs"] = runs
    warm = sorted(w for r in rs for w in r.get("warm_seconds", []))
    if warm:  # every warm call of every process
        med["warm_median_seconds"] = float(np.median(warm))
        med["warm_best_seconds"] = warm[0]
        med["warm_calls"] = len(warm)
    med.pop("warm_seconds", None)
    return med


# ------------------------------------------------------------------ checks


def check_answers(zone_name: str, zone, lon, lat, gx, gy) -> dict:
    import shapely

    from xclz_geo.geo.locate import locate_xy

    res = locate_xy(zone, lon, lat, with_distance=False)
    if zone_name == "star1000":
        parts = _prepared_parts(zone)
        ref = np.full(gx.shape[0], -1, dtype=np.int32)
        for k, p in enumerate(parts):
            ref[shapely.intersects_xy(p, gx, gy)] = k
        return {"points": int(gx.shape[0]), "mismatches": int((ref != res.part_index).sum()),
                "reference": "shapely.intersects_xy per part"}
    m = gx.shape[0]
    parts = list(zone.parts_gk.geometry)
    us = list(zone.parts["positional_uncertainty_m"])
    ins = np.full(m, -1)
    unc = np.full(m, -1)
    pts = shapely.points(gx[:m], gy[:m])
    for k, (p, u) in enumerate(zip(parts, us)):
        ins[(ins < 0) & shapely.intersects_xy(p, gx[:m], gy[:m])] = k
        if u > 0:
            unc[(unc < 0) & shapely.dwithin(p.boundary, pts, u)] = k
    status = np.where(unc >= 0, 2, np.where(ins >= 0, 1, 0))
    part = np.where(ins >= 0, ins, unc)
    bad = (status != res.status[:m]) | (part != res.part_index[:m])
    return {"points": m, "mismatches": int(bad.sum()), "reference": "shapely.intersects_xy + dwithin per part"}


# ------------------------------------------------------------------ CSV end to end


def write_csv(path: Path, n: int, zone) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    step = 2_000_000
    with pacsv.CSVWriter(path, pa.schema([("id", pa.int64()), ("name", pa.string()), ("lon", pa.float64()),
                                          ("lat", pa.float64())])) as w:
        for a in range(0, n, step):
            b = min(a + step, n)
            lon, lat, _, _ = points(zone, b - a, seed=a + 1)
            ids = np.arange(a, b)
            w.write_table(pa.table({"id": ids, "name": pa.array([f"site {i}" for i in ids]),
                                    "lon": np.round(lon, 7), "lat": np.round(lat, 7)}))


def csv_end_to_end(src: Path, dst: Path, extra: list[str], boundaries: Path | None) -> dict:
    args = ["locate", "--input", str(src), "--out", str(dst), "--overwrite"] + extra
    if boundaries is not None:
        args += ["--boundaries", str(boundaries)]
    code = (
        "import json, resource, sys, time, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from xclz_geo.cli.main import main\n"
        "t0 = time.perf_counter()\n"
        f"rc = main({args!r})\n"
        "secs = time.perf_counter() - t0\n"
        "print(json.dumps({'rc': rc, 'seconds': secs, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ main


def machine() -> dict:
    import shapely

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "shapely": shapely.__version__, "geos": ".".join(map(str, shapely.geos_version)),
            "platform": platform.platform()}


def targets(result: dict) -> dict:
    """Targets 3 and 4 of issue 18 as same-run ratios with pass/fail (see the module docstring)."""
    from xclz_geo.geo.locate import choose_threads

    t3_rows, t3_cpu, t3_first, t3_ok = {}, {}, {}, True
    for zname, zr in result["zones"].items():
        mism = zr.get("check", {}).get("mismatches")
        for n, row in zr["points"].items():
            if int(n) < 1_000_000:
                continue
            r = row["ratios"]["best_lib_lonlat_1t_vs_best_raw_1t"]
            label = f"{zname} {'1e7' if int(n) >= 10_000_000 else '1e6'}"
            if "warm_best_lib_lonlat_1t_vs_warm_best_raw_1t" in row["ratios"]:
                # 10⁷: judged on the warm calls; the first call of a fresh process is reported beside it
                t3_first[label] = round(r, 2)
                r = row["ratios"]["warm_best_lib_lonlat_1t_vs_warm_best_raw_1t"]
            t3_rows[label] = round(r, 2)
            if "cpu_best_lib_lonlat_1t_vs_cpu_best_raw_1t" in row["ratios"]:
                t3_cpu[label] = round(row["ratios"]["cpu_best_lib_lonlat_1t_vs_cpu_best_raw_1t"], 2)
            t3_ok &= r >= 10.0
        t3_ok &= mism == 0
    worst = min(t3_rows, key=t3_rows.get) if t3_rows else None
    t3 = {"target": "locate_xy 1 thread >= 10x the faster raw contains_xy (union or per part, 1 thread), best of the "
                    "runs, every zone at 1e6 (and 1e7), 0 mismatches",
          "ratios": t3_rows, "ratios_in_cpu_time_for_reference": t3_cpu,
          "ratios_1e7_first_call_of_a_fresh_process": t3_first, "mismatches": {z: zr.get("check", {}).get("mismatches") for z, zr in result["zones"].items()},
          "pass": bool(t3_rows) and t3_ok, "kernel": result.get("kernel"),
          "summary": (f"lowest {t3_rows[worst]:.1f}x ({worst}; {result.get('kernel')} kernel)" if worst else "no cases")}
    control = [result.get("parallel_control_at_start", {}).get("speedup_2t"), result.get("parallel_control_at_end", {}).get("speedup_2t")]
    t4_rows, ok_1e7, ok_1e6, have_1e7 = {}, True, True, False
    for zname, zr in result["zones"].items():
        for n, row in zr["points"].items():
            r = row["ratios"]
            if int(n) == 10_000_000:
                have_1e7 = True
                t4_rows[f"{zname} 1e7 first call (median of 3 processes)"] = round(r["lib_lonlat_2t_vs_lib_lonlat_1t"], 2)
                if "warm_median_lib_lonlat_2t_vs_1t" in r:
                    t4_rows[f"{zname} 1e7 warm (median of {WARM_CALLS_1E7} x 3 calls)"] = round(r["warm_median_lib_lonlat_2t_vs_1t"], 2)
                    t4_rows[f"{zname} 1e7 warm (best)"] = round(r["warm_best_lib_lonlat_2t_vs_1t"], 2)
                    ok_1e7 &= r["warm_median_lib_lonlat_2t_vs_1t"] >= 1.6
                else:
                    ok_1e7 &= r["lib_lonlat_2t_vs_lib_lonlat_1t"] >= 1.6
            elif int(n) == 1_000_000:
                # choose_threads gives 10⁶ points one thread: "2 threads" runs the 1-thread code, so the
                # measured ratio is the run's noise, reported; the target holds by construction
                t4_rows[f"{zname} 1e6 (best of runs; same code path)"] = round(r["best_lib_lonlat_2t_vs_best_lib_lonlat_1t"], 2)
                ok_1e6 &= choose_threads(1_000_000, cores=2) == 1 or r["best_lib_lonlat_2t_vs_best_lib_lonlat_1t"] >= 1.0
    t4 = {"target": "2 threads >= 1.6x 1 thread at 1e7 points (warm median); not slower than 1 thread at 1e6 "
                    "(one thread chosen there: choose_threads(1e6, cores=2) == 1)",
          "ratios": t4_rows, "numpy_control_2t_speedup_start_end": control,
          "pass": bool(ok_1e7 and ok_1e6) if have_1e7 else None, "measured_1e7": have_1e7,
          "summary": ", ".join(f"{k} {v:.2f}x" for k, v in t4_rows.items())
                     + f"; numpy control {', '.join(f'{c:.2f}x' for c in control if c)}"
                     + ("" if have_1e7 else " (no 1e7 case in a --quick run: not decided)")}
    return {"target3_vs_raw_contains_xy": t3, "target4_second_core": t4}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="10⁵ and 10⁶ only, no 10⁷, CSV at 10⁶ only")
    ap.add_argument("--case", nargs=3, metavar=("ZONE", "METHOD", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None,
                    help="results file (default results/locate.json; results/locate_quick.json with --quick)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.case:
        print(json.dumps(run_case(args.case[0], args.case[1], int(args.case[2]))))
        return

    from xclz_geo.geo.grid import build_grid, make_frame

    t_start = time.perf_counter()
    result: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "load_average_at_start": list(os.getloadavg()), "zones": {}}
    result["parallel_control_at_start"] = parallel_control()
    sizes = [100_000, 1_000_000] + ([] if args.quick else [10_000_000])
    methods = ["lib_lonlat_1t", "lib_lonlat_2t", "lib_gk_1t", "raw_contains_union_1t", "raw_contains_union_2t",
               "raw_contains_parts_1t", "sjoin"]
    from xclz_geo.geo import locate as _locate

    result["kernel"] = _locate.KERNEL
    if _locate._CKERNEL is not None:
        result["kernel_simd"] = getattr(_locate._CKERNEL, "SIMD", None)
        # the numpy fallback on the same points in the same run (compiled / numpy ratio)
        methods += ["lib_lonlat_1t_numpy", "lib_lonlat_2t_numpy", "lib_gk_1t_numpy"]
    zone_names = ["star1000", "sparse300"] + (["bundled"] if bundled_zone() is not None else [])
    # 10⁷ points: three fresh processes per method; geopandas sjoin (1 M/s, 1.4 GB) and the GK-input
    # and raw 2-thread variants only at 10⁶, so that a full run stays under 10 minutes
    methods_1e7 = ["lib_lonlat_1t", "lib_lonlat_2t", "raw_contains_union_1t", "raw_contains_parts_1t"]
    if _locate._CKERNEL is not None:
        methods_1e7 += ["lib_lonlat_1t_numpy"]
    for zname in zone_names:
        zone = load_zone(zname)
        zr: dict = {"parts": list(zone.part_ids), "quality": zone.worst_quality,
                    "vertices": [int(__import__("shapely").get_num_coordinates(g)) for g in zone.parts.geometry],
                    "uncertainty_m": [float(u) for u in zone.parts["positional_uncertainty_m"]],
                    "area_km2": [round(float(a) / 1e6, 3) for a in zone.parts_gk.area], "grid": {}, "points": {}}
        for fname, frame in (("wgs84", make_frame()), ("gcj02", make_frame(datum="gcj02")), ("gk", make_frame(crs=GK))):
            t, _ = timed(lambda: build_grid(zone, frame=frame, cache=False), args.repeat)
            g = build_grid(zone, frame=frame)
            zr["grid"][fname] = {"build_seconds": t, "memory_mb": g.nbytes / 2**20, "cell_m": g.cell_m,
                                 "cells": int(g.nx * g.ny), "exact_cell_share": g.exact_fraction,
                                 "exact_area_share_after_refinement": g.fine_exact_fraction,
                                 "refined_cells": int(g.tile_cells.size) if g.tile_cells is not None else 0}
        for n in sizes:
            row: dict = {}
            if n < 10_000_000:
                lon, lat, gx, gy = points(zone, n)
                for m in methods + (["lib_distance"] if n == 100_000 else []) + ["lib_gcj02_1t", "pyproj_lonlat_to_gk"]:
                    fn = method(m, zone, lon, lat, gx, gy)
                    fn()  # warm up (builds and caches the grid, threads, prepared copies)
                    cpu: list = []
                    secs, best = timed(fn, args.repeat if m != "lib_distance" else 1, cpu)
                    row[m] = {"seconds": secs, "best_seconds": best, "mpts_per_s": n / secs / 1e6}
                    if m.endswith("_1t") or m.endswith("_1t_numpy"):
                        row[m]["best_cpu_seconds"] = float(min(cpu))
                if n == 1_000_000:
                    zr["check"] = check_answers(zname, zone, lon, lat, gx, gy)
            else:
                for m in methods_1e7:
                    r = subprocess_case(zname, m, n)
                    r["mpts_per_s"] = n / r["seconds"] / 1e6
                    row[m] = r
            base1 = row["raw_contains_union_1t"]["seconds"]
            lib1 = row["lib_lonlat_1t"]["seconds"]
            ratios = {
                "lib_lonlat_1t_vs_raw_union_1t": base1 / lib1,
                "lib_lonlat_2t_vs_raw_union_1t": base1 / row["lib_lonlat_2t"]["seconds"],
                "lib_lonlat_1t_vs_raw_parts_1t": row["raw_contains_parts_1t"]["seconds"] / lib1,
                "lib_lonlat_2t_vs_lib_lonlat_1t": lib1 / row["lib_lonlat_2t"]["seconds"],
            }
            if "lib_gk_1t" in row:
                ratios["lib_gk_1t_vs_raw_union_1t"] = base1 / row["lib_gk_1t"]["seconds"]
            if "raw_contains_union_2t" in row:
                ratios["lib_lonlat_2t_vs_raw_union_2t"] = row["raw_contains_union_2t"]["seconds"] / row["lib_lonlat_2t"]["seconds"]
                ratios["raw_union_2t_vs_raw_union_1t"] = base1 / row["raw_contains_union_2t"]["seconds"]
            if "sjoin" in row:
                ratios["lib_lonlat_1t_vs_sjoin"] = row["sjoin"]["seconds"] / lib1
            # the compiled kernel against the numpy fallback, same points, same run
            for m in ("lib_lonlat_1t", "lib_lonlat_2t", "lib_gk_1t"):
                if f"{m}_numpy" in row and m in row:
                    ratios[f"{m}_compiled_vs_numpy"] = row[f"{m}_numpy"]["seconds"] / row[m]["seconds"]
                    ratios[f"best_{m}_compiled_vs_numpy"] = (row[f"{m}_numpy"].get("best_seconds", row[f"{m}_numpy"]["seconds"])
                                                              / row[m].get("best_seconds", row[m]["seconds"]))
                    if "best_cpu_seconds" in row[m] and "best_cpu_seconds" in row[f"{m}_numpy"]:
                        # in CPU time of the calling thread (one-thread methods): less moved by other processes
                        ratios[f"cpu_best_{m}_compiled_vs_numpy"] = (row[f"{m}_numpy"]["best_cpu_seconds"]
                                                                     / row[m]["best_cpu_seconds"])
            # best of the runs, against the faster of the two raw baselines (target 3 of issue 18)
            raw_best = min(row["raw_contains_union_1t"]["best_seconds"], row["raw_contains_parts_1t"]["best_seconds"])
            ratios["best_lib_lonlat_1t_vs_best_raw_1t"] = raw_best / row["lib_lonlat_1t"]["best_seconds"]
            ratios["best_lib_lonlat_2t_vs_best_lib_lonlat_1t"] = (row["lib_lonlat_1t"]["best_seconds"]
                                                                  / row["lib_lonlat_2t"]["best_seconds"])
            if "warm_median_seconds" in row["lib_lonlat_1t"]:
                # 10⁷: the warm calls after the first in each fresh process (first-touch of result pages aside)
                w = {m: row[m] for m in row if isinstance(row[m], dict) and "warm_median_seconds" in row[m]}
                raw_warm = min(w[m]["warm_best_seconds"] for m in ("raw_contains_union_1t", "raw_contains_parts_1t") if m in w)
                ratios["warm_best_lib_lonlat_1t_vs_warm_best_raw_1t"] = raw_warm / w["lib_lonlat_1t"]["warm_best_seconds"]
                ratios["warm_median_lib_lonlat_2t_vs_1t"] = (w["lib_lonlat_1t"]["warm_median_seconds"]
                                                             / w["lib_lonlat_2t"]["warm_median_seconds"])
                ratios["warm_best_lib_lonlat_2t_vs_1t"] = (w["lib_lonlat_1t"]["warm_best_seconds"]
                                                           / w["lib_lonlat_2t"]["warm_best_seconds"])
            if "best_cpu_seconds" in row["lib_lonlat_1t"]:
                # the same in CPU time of the calling thread: what the ratio would be without other
                # processes taking the core (they still share the caches)
                raw_cpu = min(row["raw_contains_union_1t"]["best_cpu_seconds"], row["raw_contains_parts_1t"]["best_cpu_seconds"])
                ratios["cpu_best_lib_lonlat_1t_vs_cpu_best_raw_1t"] = raw_cpu / row["lib_lonlat_1t"]["best_cpu_seconds"]
            row["ratios"] = ratios
            zr["points"][str(n)] = row
            print(f"{zname} n={n:,}: " + ", ".join(f"{k} {v['mpts_per_s']:.1f} M/s" for k, v in row.items() if k != "ratios"),
                  flush=True)
            print("   ratios: " + ", ".join(f"{k} {v:.1f}×" for k, v in row["ratios"].items()), flush=True)
        result["zones"][zname] = zr

    # CSV → CSV end to end (bundled zone when present, else the stars written to a file)
    csv_sizes = [1_000_000] + ([] if args.quick else [10_000_000])
    result["csv"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        zone = bundled_zone()
        boundaries = None
        if zone is None:
            zone = star_zone()
            boundaries = tmpd / "stars.geojson"
            zone.parts.to_file(boundaries)
        for n in csv_sizes:
            src = tmpd / f"sites_{n}.csv"
            t0 = time.perf_counter()
            write_csv(src, n, zone)
            entry: dict = {"rows": n, "input_mb": src.stat().st_size / 2**20, "write_input_seconds": time.perf_counter() - t0}
            entry["status_only"] = csv_end_to_end(src, tmpd / "out.csv", ["--no-distance"], boundaries)
            entry["with_distance"] = csv_end_to_end(src, tmpd / "out.csv", [], boundaries)
            for k in ("status_only", "with_distance"):
                entry[k]["rows_per_s"] = n / entry[k]["seconds"]
            with open(tmpd / "out.csv", encoding="utf-8-sig") as f:
                entry["output_rows"] = sum(1 for _ in f) - 1
            result["csv"][str(n)] = entry
            print(f"CSV {n:,} rows: status only {entry['status_only']['seconds']:.1f} s "
                  f"(peak {entry['status_only']['peak_rss_mb']:.0f} MB), with distance "
                  f"{entry['with_distance']['seconds']:.1f} s (peak {entry['with_distance']['peak_rss_mb']:.0f} MB)", flush=True)
            src.unlink()
    result["parallel_control_at_end"] = parallel_control()
    result["targets"] = targets(result)
    for k, v in result["targets"].items():
        verdict = "UNDECIDED" if v["pass"] is None else ("PASS" if v["pass"] else "FAIL")
        print(f"{k}: {verdict} — {v['summary']}", flush=True)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["load_average_at_end"] = list(os.getloadavg())
    result["note"] = ("2-core machine shared with other jobs: a load average near or above 2 means the second "
                      "thread had no free core; compare methods within one run only")
    out = args.out or (RESULTS.with_name("locate_quick.json") if args.quick else RESULTS)
    result["quick"] = bool(args.quick)
    result["wall_seconds"] = time.perf_counter() - t_start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({result['wall_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
