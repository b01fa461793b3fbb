"""Benchmark: digitize a four-side 四至 on a county-size network (≥ 200,000 line features).

A synthetic street grid (``--n`` × ``--n`` streets, each street cut into one feature per block,
so ``2 n²`` features; n = 320 → 204,800 features over about 48 km × 48 km, in CGCS2000 lon/lat)
is written to a GeoPackage in a temporary folder. Four streets carry the boundary names; a
second "北环路" 20 km away makes one name ambiguous. The text is::

    东至东环路,南至南环路,西至西环路,北至北环路以北一公里处

Stages, each timed as the best of ``--repeat`` runs:

* ``load`` — :func:`xclz_geo.boundaries.network.load_network` (read the GeoPackage, normalise columns);
* ``match`` — build the :class:`~xclz_geo.boundaries.network.NetworkIndex` and resolve the names;
* ``assemble`` — the rest of :func:`~xclz_geo.boundaries.digitize.digitize` (project the matched lines,
  clusters, offset, corners, trimming, polygonize, record);
* ``total`` — ``load_network`` + ``digitize`` end to end.

Plain-library baseline in the same run (what a script would do without the toolkit, with no
name normalisation, no offsets, no gap closing and no record): ``geopandas.read_file`` of the
same file; ``GeoDataFrame[name.isin(names)]``; ``to_crs`` of the selection +
``shapely.union_all`` + ``shapely.polygonize`` and the largest face. Ratios are reported.
The check: the digitized polygon must match the hand-built rectangle (IoU ≥ 0.99).

Results go to ``benchmarks/results/digitize.json``.
Run: ``.venv/bin/python benchmarks/bench_digitize.py [--n 320] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPACING_M = 150.0
ORIGIN = (440_000.0, 3_400_000.0)  # GK zone 40 (EPSG:4549) metres, SW corner of the grid
TEXT = "东至东环路,南至南环路,西至西环路,北至北环路以北一公里处"


def build_network(n: int, path: Path) -> dict:
    """Write the grid to ``path`` (GeoPackage, EPSG:4490) and return the expected rectangle (GK)."""
    import geopandas as gpd
    import shapely

    x0, y0 = ORIGIN
    idx = np.arange(n)
    # vertical street i: segments from (i, j) to (i, j+1); horizontal street j: (i, j) to (i+1, j)
    i_v, j_v = np.meshgrid(idx, idx, indexing="ij")
    i_v, j_v = i_v.ravel(), j_v.ravel()
    xs_v = x0 + i_v * SPACING_M
    v_coords = np.stack([np.stack([xs_v, y0 + j_v * SPACING_M], 1), np.stack([xs_v, y0 + (j_v + 1) * SPACING_M], 1)], 1)
    ys_h = y0 + i_v * SPACING_M  # reuse grids: here i_v is the street index (row), j_v the block
    h_coords = np.stack([np.stack([x0 + j_v * SPACING_M, ys_h], 1), np.stack([x0 + (j_v + 1) * SPACING_M, ys_h], 1)], 1)
    coords = np.concatenate([v_coords, h_coords])
    geoms = shapely.linestrings(coords)
    street = np.concatenate([i_v, i_v])
    vertical = np.concatenate([np.ones(len(i_v), bool), np.zeros(len(i_v), bool)])
    names = np.where(vertical, np.char.add(np.char.add("经", street.astype(str)), "路"),
                     np.char.add(np.char.add("纬", street.astype(str)), "路")).astype(object)
    # the boundary streets (indices chosen near the middle of the grid)
    a, b = n // 2 - 10, n // 2 + 10  # west/east vertical streets
    c, d = n // 2 - 7, n // 2 + 7  # south/north horizontal streets
    names[vertical & (street == a)] = "西环路"
    names[vertical & (street == b)] = "东环路"
    names[~vertical & (street == c)] = "南环路"
    names[~vertical & (street == d)] = "北环路"
    far = min(n - 1, d + int(20_000 / SPACING_M))
    names[~vertical & (street == far) & (np.concatenate([j_v, j_v]) < n // 4)] = "北环路"  # same name, 20 km away
    kinds = np.full(len(geoms), "residential", dtype=object)
    gdf = gpd.GeoDataFrame({"osm_id": np.arange(len(geoms)), "name": names, "highway": kinds},
                           geometry=geoms, crs="EPSG:4549").to_crs("EPSG:4490")
    gdf.to_file(path, engine="pyogrio", layer="roads")
    expected = shapely.box(x0 + a * SPACING_M, y0 + c * SPACING_M, x0 + b * SPACING_M, y0 + d * SPACING_M + 1000.0)
    return {"features": len(gdf), "expected": expected,
            "extent_km": round(n * SPACING_M / 1000, 1)}


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=320, help="streets per direction (features = 2 n²; default 320)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "digitize.json"))
    args = ap.parse_args()

    import geopandas as gpd
    import shapely

    from xclz_geo.geo.crs import gk_crs_for
    from xclz_geo.boundaries.digitize import digitize
    from xclz_geo.boundaries.network import NetworkIndex, load_network
    from xclz_geo.boundaries.sizhi import parse_sizhi

    warnings.simplefilter("ignore", category=UserWarning)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "county.gpkg"
        t = time.perf_counter()
        info = build_network(args.n, path)
        t_build = time.perf_counter() - t
        print(f"network: {info['features']:,} features, {info['extent_km']} km square, built in {t_build:.1f} s",
              file=sys.stderr)
        spec = parse_sizhi(TEXT)

        # ---- xclz_geo, by stage
        t_load, net = best_of(lambda: load_network(path), args.repeat)

        def match():
            idx = NetworkIndex(net)
            for _, f in spec.features():
                idx.match(f, allow_fuzzy=False)
            return idx

        t_match, idx = best_of(match, args.repeat)
        t_dig, res = best_of(lambda: digitize(spec, idx, allow_fuzzy=False), args.repeat)
        t_assemble = res.record["timings_s"]["assemble"]

        def end_to_end():
            n2 = load_network(path)
            return digitize(TEXT, n2, allow_fuzzy=False)

        t_total, res2 = best_of(end_to_end, args.repeat)
        iou = float(shapely.intersection(res2.polygon, info["expected"]).area / shapely.union(res2.polygon, info["expected"]).area)

        # ---- plain-library baseline (no normalisation, offsets, gap closing or record)
        names = ["东环路", "南环路", "西环路", "北环路"]
        t_bload, raw = best_of(lambda: gpd.read_file(path, engine="pyogrio"), args.repeat)
        t_bmatch, sel = best_of(lambda: raw[raw["name"].isin(names)], args.repeat)

        def b_assemble():
            gk = gk_crs_for(sel)
            lines = sel.to_crs(gk).geometry.values
            faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
            return max(faces, key=lambda p: p.area) if len(faces) else None

        t_bassemble, _ = best_of(b_assemble, args.repeat)
        t_btotal = t_bload + t_bmatch + t_bassemble

    result = {
        "benchmark": "digitize",
        "text": TEXT,
        "network_features": info["features"],
        "network_extent_km": info["extent_km"],
        "network_format": "GeoPackage, EPSG:4490",
        "repeat": args.repeat,
        "xclz_geo_s": {"load": round(t_load, 3), "match": round(t_match, 3), "assemble": round(t_assemble, 3),
                       "digitize_call": round(t_dig, 3), "total": round(t_total, 3)},
        "baseline_s": {"load": round(t_bload, 3), "match": round(t_bmatch, 3), "assemble": round(t_bassemble, 3),
                       "total": round(t_btotal, 3)},
        "baseline": "geopandas.read_file + name.isin + to_crs + shapely.union_all + shapely.polygonize (largest face); "
                    "does not do the offset line, so its polygon is not the answer",
        "ratio_total_vs_baseline": round(t_total / t_btotal, 2),
        "target_total_s": 10.0,
        "meets_target": bool(t_total < 10.0),
        "iou_vs_hand_built": round(iou, 5),
        "area_km2": round(res2.area_km2, 4),
        "candidates_for_北环路": next(f["candidates"] for s in res2.record["sides"] for f in s["features"] if f["name"] == "北环路"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": {"geopandas": gpd.__version__, "shapely": shapely.__version__},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if iou < 0.99:
        print(f"FAIL: IoU {iou:.4f} < 0.99", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
