"""Spatial partitioning: sort rows along a Hilbert curve or by geohash and write one Parquet file per partition.

Rows that are near each other on the ground end up in the same file, so each file's bounds are
small and the Dask engine can skip files that touch no zone (:mod:`xclz_geo.scale.engine`).

* A vector input (GeoParquet, GeoPackage, GeoJSON, Shapefile) is written as **GeoParquet**, one
  file per partition, each with its ``bbox`` in the GeoParquet metadata; rows are ordered by the
  centre of each geometry's box.
* A table with coordinate columns (CSV, XLSX, Parquet) is written as Parquet with its columns
  **unchanged** (text stays text, so a bad value is reported as it was written), and the box of
  the file's valid coordinates in the Parquet metadata key ``xclz_bbox``; rows whose coordinates
  cannot be read go to the last partition.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from xclz_geo.errors import InputDataError

#: bits per axis of the Hilbert and geohash keys
KEY_BITS = 16


def hilbert_keys(x: np.ndarray, y: np.ndarray, bounds: tuple[float, float, float, float], *, bits: int = KEY_BITS) -> np.ndarray:
    """Hilbert-curve index of each point on a 2^bits × 2^bits grid over ``bounds`` (NaN points last)."""
    x0, y0, x1, y1 = bounds
    n = 1 << bits
    ok = np.isfinite(x) & np.isfinite(y)
    xs = np.zeros(x.shape, dtype=np.int64)
    ys = np.zeros(y.shape, dtype=np.int64)
    sx = (n - 1) / max(x1 - x0, 1e-12)
    sy = (n - 1) / max(y1 - y0, 1e-12)
    xs[ok] = np.clip(((x[ok] - x0) * sx).astype(np.int64), 0, n - 1)
    ys[ok] = np.clip(((y[ok] - y0) * sy).astype(np.int64), 0, n - 1)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n // 2
    while s > 0:
        rx = ((xs & s) > 0).astype(np.int64)
        ry = ((ys & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ry == 0
        swap_x = flip & (rx == 1)
        xs = np.where(swap_x, n - 1 - xs, xs)
        ys = np.where(swap_x, n - 1 - ys, ys)
        xs, ys = np.where(flip, ys, xs), np.where(flip, xs, ys)
        s //= 2
    d[~ok] = np.iinfo(np.int64).max
    return d


def geohash_keys(lon: np.ndarray, lat: np.ndarray, *, bits: int = KEY_BITS) -> np.ndarray:
    """Geohash order (bits of longitude and latitude interleaved over the whole globe) of lon/lat points."""
    n = 1 << bits
    ok = np.isfinite(lon) & np.isfinite(lat)
    xs = np.zeros(lon.shape, dtype=np.int64)
    ys = np.zeros(lat.shape, dtype=np.int64)
    xs[ok] = np.clip(((lon[ok] + 180.0) / 360.0 * n).astype(np.int64), 0, n - 1)
    ys[ok] = np.clip(((lat[ok] + 90.0) / 180.0 * n).astype(np.int64), 0, n - 1)
    d = np.zeros(lon.shape, dtype=np.int64)
    for b in range(bits - 1, -1, -1):
        d = (d << 2) | (((xs >> b) & 1) << 1) | ((ys >> b) & 1)
    d[~ok] = np.iinfo(np.int64).max
    return d


def _read_any(path: str | Path, *, sheet: Any = None, layer: str | None = None) -> Any:
    from xclz_geo.scale.inputs import list_files, open_input

    p = Path(str(path))
    suffix = p.suffix.lower()
    if p.is_file() and suffix in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
        from xclz_geo.io import read_vector

        return read_vector(p, layer=layer)
    if p.is_file() and suffix in (".xlsx", ".xlsm", ".xls"):
        from xclz_geo.io import read_table

        return read_table(p, sheet=sheet)
    list_files(path)  # a clear error when nothing matches
    inp = open_input(path)
    import dask

    with dask.config.set(scheduler="synchronous"):
        df = inp.frame.compute()
    return df.reset_index(drop=True)


def partition_file(
    path: str | Path,
    out_dir: str | Path,
    *,
    by: str = "hilbert",
    npartitions: int | None = None,
    rows_per_partition: int = 500_000,
    x: str | None = None,
    y: str | None = None,
    datum: str = "wgs84",
    crs: Any | None = None,
    sheet: Any = None,
    layer: str | None = None,
) -> dict[str, Any]:
    """Write ``path`` (a file, folder or glob) spatially partitioned into ``out_dir``; returns a summary.

    Parameters
    ----------
    by
        ``hilbert`` (Hilbert curve over the data's box) or ``geohash`` (over the globe, lon/lat).
    npartitions
        Number of files (default: ``ceil(rows / rows_per_partition)``).
    x, y, datum, crs
        Coordinate columns of a table and how to read them (as for ``xclz-geo locate``); only the
        order uses them, the values are written unchanged.
    """
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.locate import detect_xy_columns, parse_coordinates

    if by not in ("hilbert", "geohash"):
        raise InputDataError(f"--by must be hilbert or geohash, not {by!r}")
    df = _read_any(path, sheet=sheet, layer=layer)
    n = len(df)
    k = int(npartitions) if npartitions else max(1, math.ceil(n / max(rows_per_partition, 1)))
    if k < 1:
        raise InputDataError("--npartitions must be at least 1")
    geo = isinstance(df, gpd.GeoDataFrame) and x is None and y is None
    if geo:
        b = df.geometry.bounds.to_numpy(dtype=float)
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        src_crs = df.crs
        valid_xy = None
    else:
        xc, yc = detect_xy_columns(list(df.columns), x=x, y=y, source=str(path))
        cx, _ = parse_coordinates(df[xc])
        cy, _ = parse_coordinates(df[yc])
        src_crs = crs
        valid_xy = np.isfinite(cx) & np.isfinite(cy)
        if crs is None:
            valid_xy &= (np.abs(cx) <= 180) & (np.abs(cy) <= 90)
        cx = np.where(valid_xy, cx, np.nan)
        cy = np.where(valid_xy, cy, np.nan)
    if by == "geohash":
        lon, lat = cx, cy
        if src_crs is not None and not _crs.to_crs(src_crs).is_geographic:
            lon, lat = _crs.transformer(_crs.to_crs(src_crs), _crs.WGS84).transform(cx, cy)
        keys = geohash_keys(np.asarray(lon, float), np.asarray(lat, float))
    else:
        fin = np.isfinite(cx) & np.isfinite(cy)
        bounds = (float(cx[fin].min()), float(cy[fin].min()), float(cx[fin].max()), float(cy[fin].max())) if fin.any() else (0, 0, 1, 1)
        keys = hilbert_keys(cx, cy, bounds)
    order = np.argsort(keys, kind="stable")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(p.name.startswith("part.") for p in out.iterdir()):
        raise InputDataError(f"{out}: the folder already holds part.* files; choose an empty or new folder")
    cuts = np.linspace(0, n, k + 1).astype(int)
    files = []
    for i in range(k):
        idx = order[cuts[i]:cuts[i + 1]]
        piece = df.iloc[idx]
        f = out / f"part.{i:05d}.parquet"
        if geo:
            piece.to_parquet(f, index=False)
        else:
            table = pa.Table.from_pandas(piece, preserve_index=False)
            v = valid_xy[idx]
            bbox = [float(cx[idx][v].min()), float(cy[idx][v].min()), float(cx[idx][v].max()), float(cy[idx][v].max())] if v.any() else None
            meta = dict(table.schema.metadata or {})
            meta[b"xclz_bbox"] = json.dumps({"bbox": bbox, "x": str(xc), "y": str(yc)}).encode()
            pq.write_table(table.replace_schema_metadata(meta), f)
        files.append(str(f))
    return {"input": str(path), "output": str(out), "rows": n, "partitions": k, "by": by,
            "format": "GeoParquet" if geo else "Parquet (columns unchanged, xclz_bbox metadata)"}


__all__ = ["geohash_keys", "hilbert_keys", "partition_file"]
