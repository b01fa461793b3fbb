"""A SYNTHETIC province: 200 development zones with several parts each, points and parcels on demand.

Nothing here describes real land. The zones are invented star-shaped polygons scattered over a
box the size of Anhui province (114.9–119.6°E, 29.4–34.6°N), labelled ``synthetic`` in the
``quality`` column and in their ``source``; the points and parcels are random. They exist to
test and measure the province-scale engine (:mod:`xclz_geo.scale`) and are generated, never
committed (``scripts/make_province_sample.py``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

#: lon/lat box the synthetic zones are scattered over (about Anhui province)
PROVINCE_BBOX = (114.9, 29.4, 119.6, 34.6)
#: lon/lat box around China (sea and neighbours included) for national-extent synthetic rows
NATIONAL_BBOX = (73.5, 18.2, 134.8, 53.6)
#: 三调 DLBM codes of the synthetic parcels, with names and weights
PARCEL_CODES = (
    ("0601", "工业用地", 0.40), ("0508", "物流仓储用地", 0.06), ("05H1", "商业服务业设施用地", 0.06),
    ("0701", "城镇住宅用地", 0.08), ("0702", "农村宅基地", 0.05), ("08H2", "科教文卫用地", 0.03),
    ("0810", "公园与绿地", 0.04), ("1004", "城镇村道路用地", 0.06), ("1104", "坑塘水面", 0.04),
    ("0101", "水田", 0.10), ("0103", "旱地", 0.05), ("0301", "乔木林地", 0.03),
)
SOURCE = "synthetic: invented by xclz_geo.scale.sample (scripts/make_province_sample.py); not a real development zone"


def _star(rng: np.random.Generator, cx: float, cy: float, r_m: float, *, vertices: int) -> Any:
    """A star-shaped polygon around (cx, cy) lon/lat with mean radius ``r_m`` metres."""
    import shapely

    ang = np.sort(rng.uniform(0, 2 * math.pi, vertices))
    rad = r_m * rng.uniform(0.6, 1.0, vertices)
    dlat = rad / 111_000.0
    dlon = rad / (111_000.0 * math.cos(math.radians(cy)))
    return shapely.Polygon(np.column_stack([cx + dlon * np.cos(ang), cy + dlat * np.sin(ang)]))


def synthetic_province_zones(*, zones: int = 200, seed: int = 17, uncertainty_m: float = 30.0) -> "Any":
    """A boundaries-schema GeoDataFrame (EPSG:4490) of ``zones`` synthetic zones, 2–5 parts each.

    Each zone has one or two blocks; its parts are star-shaped polygons 0.4–2 km across, a few km
    apart. Columns: ``zone_id`` (``Z001`` …), ``zone_name_zh``, ``part_id`` (``Z001_B1_P1``),
    ``block_id``, ``name_zh``, ``name_en``, ``official_area_km2`` (empty: nothing official here),
    ``quality = synthetic``, ``positional_uncertainty_m``, ``source``.
    """
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = PROVINCE_BBOX
    # zone centres on a jittered grid, so zones never overlap
    cols = int(math.ceil(math.sqrt(zones * (x1 - x0) / (y1 - y0))))
    rows = int(math.ceil(zones / cols))
    cells = rng.permutation(cols * rows)[:zones]
    rows_out: list[dict[str, Any]] = []
    for z, c in enumerate(sorted(cells)):
        gx, gy = c % cols, c // cols
        cx = x0 + (gx + rng.uniform(0.3, 0.7)) * (x1 - x0) / cols
        cy = y0 + (gy + rng.uniform(0.3, 0.7)) * (y1 - y0) / rows
        zid = f"Z{z + 1:03d}"
        nblocks = 1 + int(rng.random() < 0.4)
        nparts = int(rng.integers(2, 6))
        for k in range(nparts):
            b = 1 + (k % nblocks)
            ang = 2 * math.pi * k / nparts + rng.uniform(-0.3, 0.3)
            dist_m = 0.0 if k == 0 else rng.uniform(2500, 5000)
            px = cx + dist_m * math.cos(ang) / (111_000.0 * math.cos(math.radians(cy)))
            py = cy + dist_m * math.sin(ang) / 111_000.0
            rows_out.append({
                "zone_id": zid,
                "zone_name_zh": f"合成开发区{z + 1:03d}",
                "part_id": f"{zid}_B{b}_P{k + 1}",
                "block_id": f"{zid}_B{b}",
                "name_zh": f"合成开发区{z + 1:03d}第{k + 1}片",
                "name_en": f"synthetic zone {z + 1:03d} part {k + 1}",
                "official_area_km2": float("nan"),
                "quality": "synthetic",
                "positional_uncertainty_m": float(uncertainty_m),
                "source": SOURCE,
                "geometry": _star(rng, px, py, rng.uniform(400, 1000), vertices=int(rng.integers(8, 20))),
            })
    return gpd.GeoDataFrame(rows_out, geometry="geometry", crs="EPSG:4490")


def synthetic_points(parts: "Any", n: int, *, seed: int = 18, near_share: float = 0.3, bad_every: int = 10_000,
                     bbox: tuple[float, float, float, float] = PROVINCE_BBOX) -> "Any":
    """``n`` random points (columns ``id``, ``lon``, ``lat``; WGS84), ``near_share`` of them near a zone.

    The others are spread uniformly over ``bbox`` (lon/lat; default the province,
    :data:`NATIONAL_BBOX` for a national extent).

    Every ``bad_every``-th row carries a bad coordinate (blank, text, latitude 95, NaN) so bad rows
    are part of every test; the coordinate columns are then text (as a CSV would give them).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bbox
    near = int(n * near_share)
    lon = rng.uniform(x0, x1, n)
    lat = rng.uniform(y0, y1, n)
    if near and len(parts):
        b = parts.geometry.bounds.to_numpy()
        pick = rng.integers(0, len(b), near)
        pad = 0.01
        lon[:near] = rng.uniform(b[pick, 0] - pad, b[pick, 2] + pad)
        lat[:near] = rng.uniform(b[pick, 1] - pad, b[pick, 3] + pad)
        order = rng.permutation(n)
        lon, lat = lon[order], lat[order]
    df = pd.DataFrame({"id": np.arange(n, dtype=np.int64), "lon": np.round(lon, 7), "lat": np.round(lat, 7)})
    if bad_every and n >= bad_every:
        bad = np.arange(bad_every // 2, n, bad_every)
        df["lon"] = df["lon"].astype(object)
        df["lat"] = df["lat"].astype(object)
        kinds = ["", "abc", 95.0, float("nan")]
        for i, r in enumerate(bad):
            v = kinds[i % len(kinds)]
            if v == 95.0:
                df.at[r, "lat"] = v
            else:
                df.at[r, "lon"] = v
        df["lon"] = df["lon"].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
        df["lat"] = df["lat"].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return df


def synthetic_parcels(parts: "Any", n: int, *, seed: int = 19, near_share: float = 0.6,
                      bbox: tuple[float, float, float, float] = PROVINCE_BBOX) -> "Any":
    """``n`` random rectangular parcels (EPSG:4490) with ``DLBM``/``DLMC`` codes, ``near_share`` near a zone
    (the others spread over ``bbox``, lon/lat: the province by default)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bbox
    near = int(n * near_share)
    cx = rng.uniform(x0, x1, n)
    cy = rng.uniform(y0, y1, n)
    if near and len(parts):
        b = parts.geometry.bounds.to_numpy()
        pick = rng.integers(0, len(b), near)
        cx[:near] = rng.uniform(b[pick, 0], b[pick, 2])
        cy[:near] = rng.uniform(b[pick, 1], b[pick, 3])
    order = rng.permutation(n)
    cx, cy = cx[order], cy[order]
    w = rng.uniform(40, 250, n) / (111_000.0 * np.cos(np.radians(cy)))
    h = rng.uniform(40, 250, n) / 111_000.0
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    codes = np.array([c for c, _, _ in PARCEL_CODES])
    names = np.array([m for _, m, _ in PARCEL_CODES])
    p = np.array([w_ for _, _, w_ in PARCEL_CODES])
    k = rng.choice(len(codes), n, p=p / p.sum())
    return gpd.GeoDataFrame({"BSM": np.arange(n, dtype=np.int64), "DLBM": codes[k], "DLMC": names[k], "quality": "synthetic"},
                            geometry=geoms, crs="EPSG:4490")


def write_partitions(df: "Any", out: str | Path, *, npartitions: int, stem: str = "part") -> list[Path]:
    """Write ``df`` as ``npartitions`` Parquet files (GeoParquet for a GeoDataFrame) in row order."""
    import geopandas as gpd

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    files = []
    bounds = np.linspace(0, len(df), npartitions + 1).astype(int)
    for i in range(npartitions):
        piece = df.iloc[bounds[i]:bounds[i + 1]]
        f = d / f"{stem}.{i:04d}.parquet"
        if isinstance(piece, gpd.GeoDataFrame):
            piece.to_parquet(f, index=False, write_covering_bbox=False)
        else:
            piece.to_parquet(f, index=False)
        files.append(f)
    return files


__all__ = ["NATIONAL_BBOX", "PROVINCE_BBOX", "synthetic_parcels", "synthetic_points", "synthetic_province_zones", "write_partitions"]
