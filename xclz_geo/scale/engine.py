"""Site checks and parcel overlays on Dask: the same answers as the in-memory path, partition by partition.

:func:`locate_dask` and :func:`landuse_dask` take a dask(-geopandas) DataFrame or a folder/glob of
GeoParquet, Parquet or CSV files (:func:`xclz_geo.scale.inputs.open_input`) and return a *lazy*
dask DataFrame with exactly the columns of the in-memory versions:

* :func:`locate_dask` ↔ :func:`xclz_geo.geo.locate.locate_annotated` (every input column, then
  ``xclz_status``, ``xclz_zone``, ``xclz_block``, ``xclz_part``, ``xclz_distance_m``,
  ``xclz_quality``, ``xclz_note``);
* :func:`landuse_dask` ↔ the ``parcels`` table of :func:`xclz_geo.landuse.overlay.landuse_by_part`
  (``row``, ``code_in``, ``code``, ``code_status``, ``name``, ``zone_id``, ``part_ids``,
  ``area_m2``, ``inside_m2``, ``status``), ``row`` numbered over the whole input.

**The zone travels once.** The zone is pickled once on the client (:class:`ZoneBlob`, keyed by the
SHA-256 of its geometry, ids and uncertainties) and enters the graph as one ``dask.delayed`` key
shared by every task, so each worker receives it once (a scattered copy would be lost with a
worker that dies mid-run; a graph key is recomputed). A module-level cache in each worker process unpickles it
and builds its lookup grid (and prepared geometries) on first use, under a lock; every later task of
that process reuses them. :func:`worker_builds` reports how often that happened.

**Bad rows never fail a task.** Bad coordinates come out ``invalid`` with a note, as in memory; if a
whole partition cannot be processed (a file with other columns), its rows come out ``invalid`` with
the reason, and the job goes on.

**Pruning.** A partition whose bounds (GeoParquet ``bbox`` metadata, Parquet min/max statistics of
the coordinate columns, or the ``spatial_partitions`` of a dask-geopandas frame) touch no zone's
box — widened by the positional uncertainty and a safety margin — skips the point test: its valid
rows are ``outside`` (bad rows still ``invalid``). Distances need every point measured, so site
checks prune only without distances (``with_distance=False``). The count of skipped partitions is
:attr:`ScaleJob.skipped`.
"""

from __future__ import annotations

import math
import pickle
import threading
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from xclz_geo.errors import InputDataError
from xclz_geo.geo.locate import XCLZ_COLUMNS, annotate_table, locate_table
from xclz_geo.scale.inputs import PartitionedInput, open_input

#: target number of cells of a province grid (≈ 4 bytes a cell in a worker)
PROVINCE_GRID_CELLS = 4_000_000
#: safety margin around each zone's box when pruning partitions, metres
PRUNE_MARGIN_M = 500.0
#: extra margin for GCJ-02/BD-09 input (their offsets from WGS84 reach about 700 m), degrees
DATUM_MARGIN_DEG = 0.02

#: columns of the per-parcel table of :func:`landuse_dask` (the in-memory ``LanduseResult.parcels``)
PARCEL_COLUMNS = ("row", "code_in", "code", "code_status", "name", "zone_id", "part_ids", "area_m2", "inside_m2", "status")


# ------------------------------------------------------------------ the zone, once per worker


@dataclass(frozen=True)
class ZoneBlob:
    """A zone pickled once on the client: ``key`` (content hash) and ``payload`` (bytes)."""

    key: str
    payload: bytes


def zone_blob(zone: Any) -> ZoneBlob:
    """Serialise ``zone`` for the workers (keyed by :func:`xclz_geo.geo.grid.zone_key`)."""
    from xclz_geo.geo.grid import zone_key

    return ZoneBlob(zone_key(zone), pickle.dumps(zone, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass
class _Prepared:
    zone: Any
    grids: dict[tuple[str, float], Any] = field(default_factory=dict)
    empty_zone: Any = None


_PREPARED: dict[str, _Prepared] = {}
_LOCK = threading.Lock()
#: per process: zones unpickled and grids built (tests read it through :func:`worker_builds`)
_BUILDS = {"zones": 0, "grids": 0}


def _prepared(blob: ZoneBlob) -> _Prepared:
    with _LOCK:
        hit = _PREPARED.get(blob.key)
        if hit is None:
            hit = _Prepared(pickle.loads(blob.payload))
            _PREPARED[blob.key] = hit
            _BUILDS["zones"] += 1
        return hit


def _grid_for(prep: _Prepared, frame: Any, cell_m: float) -> Any:
    from xclz_geo.geo.grid import build_grid

    k = (frame.key, cell_m)
    with _LOCK:
        g = prep.grids.get(k)
        if g is None:
            g = build_grid(prep.zone, frame=frame, cell_m=cell_m, cache=False)
            prep.grids[k] = g
            _BUILDS["grids"] += 1
        return g


def worker_builds() -> dict[str, int]:
    """Zones unpickled and grids built in this process so far (run it on the workers with ``client.run``)."""
    return dict(_BUILDS)


def clear_worker_cache() -> None:
    """Forget the zones and grids of this process."""
    with _LOCK:
        _PREPARED.clear()
        _BUILDS.update(zones=0, grids=0)


def _ship(blob: ZoneBlob) -> Any:
    """The zone as one key of the graph, shared by every task.

    Each worker fetches it once (from the worker that materialised it) and keeps it while the job
    runs. Not ``client.scatter(..., broadcast=True)``: scattered data exists only on workers, so a
    worker lost mid-run can take the zone with it ("lost scattered data, which can't be
    recovered", seen in tests/test_scale.py); a graph key is recomputed from the graph instead.
    """
    import dask

    return dask.delayed(blob, name=f"xclz-zone-{blob.key[:16]}")


def province_cell_m(zone: Any, *, target_cells: int = PROVINCE_GRID_CELLS) -> float:
    """Grid cell size (metres) spending about ``target_cells`` cells on the zones' extent (2–500 m).

    The in-memory default refines cells to 1/50 of the smallest part, which over a province means
    tens of millions of cells per worker; the answers do not depend on the cell size (the grid is
    exact), only the share of points sent to the exact test does.
    """
    import shapely

    g = zone.parts_gk.geometry
    g = g[g.notna() & ~g.is_empty]
    if not len(g):
        return 100.0
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(g.values, dtype=object))
    c = math.sqrt(max((x1 - x0 + 2000.0) * (y1 - y0 + 2000.0), 1.0) / max(target_cells, 1))
    return float(min(max(c, 2.0), 500.0))


# ------------------------------------------------------------------ pruning


def zone_boxes(zone: Any, *, datum: str | None = "wgs84", crs: Any | None = None) -> np.ndarray:
    """Each part's box in the input's coordinates, widened by its uncertainty and :data:`PRUNE_MARGIN_M` (k × 4)."""
    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.grid import make_frame

    frame = make_frame(datum=datum, crs=crs)
    parts = zone.parts
    ok = parts.geometry.notna() & ~parts.geometry.is_empty
    if not ok.any():
        return np.zeros((0, 4))
    geo = parts[ok].to_crs("EPSG:4326")
    b = geo.geometry.bounds.to_numpy()
    u = geo["positional_uncertainty_m"].fillna(0.0).to_numpy(dtype=float) + PRUNE_MARGIN_M
    dlat = u / 111_000.0
    dlon = u / (111_000.0 * np.cos(np.radians(np.clip(np.abs(b[:, 3]), 0, 89))))
    box = np.column_stack([b[:, 0] - dlon, b[:, 1] - dlat, b[:, 2] + dlon, b[:, 3] + dlat])
    if frame.datum is not None:
        if frame.datum in ("gcj02", "bd09"):
            box += np.array([-1, -1, 1, 1]) * DATUM_MARGIN_DEG
        return box
    tr = _crs.transformer(_crs.WGS84, frame.crs)
    out = np.array([tr.transform_bounds(*row) for row in box], dtype=float)
    return out


def prunable(part_bounds: np.ndarray | None, boxes: np.ndarray) -> np.ndarray:
    """Which partitions (rows of ``part_bounds``, NaN = unknown) touch none of ``boxes``."""
    if part_bounds is None:
        return np.zeros(0, dtype=bool)
    pb = np.asarray(part_bounds, dtype=float)
    known = np.isfinite(pb).all(axis=1)
    if not len(boxes):
        return known
    touch = ((pb[:, None, 0] <= boxes[None, :, 2]) & (pb[:, None, 2] >= boxes[None, :, 0])
             & (pb[:, None, 1] <= boxes[None, :, 3]) & (pb[:, None, 3] >= boxes[None, :, 1])).any(axis=1)
    return known & ~touch


# ------------------------------------------------------------------ jobs


@dataclass
class ScaleJob:
    """A lazy Dask result and what was decided while building it.

    Attributes
    ----------
    frame
        The lazy dask DataFrame (call ``.compute()``, ``.to_parquet()`` or :func:`xclz_geo.scale.cluster.write_geoparquet`).
    npartitions, skipped
        Partitions in all, and partitions whose point test / overlay is skipped (pruned).
    pruning
        Why pruning did or did not apply (text for the user).
    cell_m
        Cell size of the workers' grid (site checks).
    """

    frame: Any
    npartitions: int
    skipped: int
    pruning: str
    cell_m: float | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped_share(self) -> float:
        """Share of the partitions skipped."""
        return self.skipped / self.npartitions if self.npartitions else 0.0


def _empty_grid(grid: Any) -> Any:
    """A one-cell grid that answers ``outside`` for every valid point (same parts, frame and labels)."""
    from xclz_geo.geo.grid import OUTSIDE

    codes = np.zeros((1, 1), dtype=grid.codes.dtype)
    assert int(grid.status_lut[0]) == OUTSIDE
    return replace(grid, codes=codes, nx=1, ny=1, packed=None)


def _locate_partition(df: Any, blob: ZoneBlob, opts: dict[str, Any], skip: bool) -> Any:
    from xclz_geo.geo.grid import make_frame
    from xclz_geo.geo.locate import STATUS_LABELS

    prep = _prepared(blob)
    try:
        geo_input = _is_geo(df) and opts["x"] is None and opts["y"] is None
        crs = opts["crs"]
        if geo_input and crs is None and df.crs is not None and not (
                df.crs.is_geographic and opts["datum"] in ("gcj02", "bd09")):
            crs = df.crs
        frame = make_frame(datum=opts["datum"], crs=crs)
        grid = _grid_for(prep, frame, opts["cell_m"])
        if skip:
            grid = _empty_grid(grid)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = locate_table(prep.zone, df, x=opts["x"], y=opts["y"], datum=opts["datum"], crs=opts["crs"],
                               with_distance=opts["with_distance"], threads=1, source=opts["source"], grid=grid)
        return annotate_table(df, res, res.row_notes, with_distance=opts["with_distance"])
    except Exception as exc:  # a partition that cannot be read at all: its rows are invalid, the job goes on
        out = df.copy()
        for c in XCLZ_COLUMNS:
            out[c] = np.nan if c == "xclz_distance_m" else None
        out["xclz_status"] = STATUS_LABELS[3]
        out["xclz_note"] = f"partition not processed: {type(exc).__name__}: {str(exc)[:200]}"
        return out


def _is_geo(df: Any) -> bool:
    import geopandas as gpd

    return isinstance(df, gpd.GeoDataFrame)


def locate_dask(
    zone: Any,
    ddf_or_path: Any,
    *,
    x: str | None = None,
    y: str | None = None,
    datum: str = "wgs84",
    crs: Any | None = None,
    with_distance: bool = True,
    cell_m: float | None = None,
    prune: bool = True,
) -> ScaleJob:
    """Site checks of a partitioned table, lazily, with the columns of :func:`~xclz_geo.geo.locate.locate_annotated`.

    Parameters
    ----------
    zone
        The zone (one or many zones: a boundaries file with ``zone_id``).
    ddf_or_path
        A dask(-geopandas) DataFrame, or a folder / glob of GeoParquet, Parquet or CSV files
        (one partition per file; see :func:`xclz_geo.scale.inputs.open_input`).
    x, y, datum, crs
        As for :func:`~xclz_geo.geo.locate.locate_table` (a GeoDataFrame is located by its geometry).
    with_distance
        Signed distance to the nearest part boundary (every point is measured: no pruning).
    cell_m
        Grid cell size of the workers (default :func:`province_cell_m`).
    prune
        Skip the point test of partitions that touch no zone (needs known bounds and no distances).

    Returns
    -------
    ScaleJob
        ``job.frame`` is the lazy result; ``job.skipped`` the number of pruned partitions.
    """
    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.grid import make_frame

    make_frame(datum=datum, crs=crs)  # bad datum/CRS: fail now, on the client
    inp = ddf_or_path if isinstance(ddf_or_path, PartitionedInput) else open_input(ddf_or_path)
    ddf = inp.frame
    meta = ddf._meta
    geo_input = _is_geo(meta) and x is None and y is None
    if not geo_input:
        from xclz_geo.geo.locate import detect_xy_columns

        detect_xy_columns(list(meta.columns), x=x, y=y, source=inp.source)  # missing columns: fail now
    cell = float(cell_m) if cell_m is not None else province_cell_m(zone)
    opts = {"x": x, "y": y, "datum": _crs.normalize_datum(datum) if crs is None else datum, "crs": crs,
            "with_distance": with_distance, "cell_m": cell, "source": inp.source}
    skip = np.zeros(ddf.npartitions, dtype=bool)
    if not prune:
        why = "pruning off"
    elif with_distance:
        why = "no pruning: distances were asked, so every point is measured (use --no-distance to prune)"
    else:
        pb, bcrs = inp.bounds_for(x=x, y=y, geometry=geo_input)
        if pb is None:
            why = "no pruning: the partitions' bounds are unknown (CSV, or Parquet without statistics)"
        else:
            if bcrs is None:
                boxes = zone_boxes(zone, datum=datum, crs=crs)
            else:
                boxes = zone_boxes(zone, datum=None, crs=bcrs)
            skip = prunable(pb, boxes)
            why = f"{int(skip.sum())} of {len(skip)} partitions touch no zone and skip the point test"
    blob = zone_blob(zone)
    shipped = _ship(blob)
    out_meta = annotate_meta(meta)
    import dask.dataframe as dd

    frame = dd.map_partitions(_locate_partition_i, ddf, shipped, opts, list(map(bool, skip)),
                              meta=out_meta, align_dataframes=False, enforce_metadata=False,
                              partition_info=True)
    return ScaleJob(frame, ddf.npartitions, int(skip.sum()), why, cell_m=cell, source=inp.source)


def _locate_partition_i(df: Any, blob: ZoneBlob, opts: dict[str, Any], skip: list[bool], partition_info: Any = None) -> Any:
    i = partition_info["number"] if partition_info else 0
    return _locate_partition(df, blob, opts, bool(skip[i]) if i < len(skip) else False)


def annotate_meta(meta: Any) -> Any:
    """The empty output frame of :func:`locate_dask` for an input ``meta``."""
    import pandas as pd

    out = meta.copy()
    for c in XCLZ_COLUMNS:
        out[c] = pd.Series([], dtype=float if c == "xclz_distance_m" else object, index=meta.index)
    return out


# ------------------------------------------------------------------ parcels


def _outside_zone(prep: _Prepared) -> Any:
    """The zone with every polygon removed (same GK CRS, parts and ids): every overlay comes out 'outside'."""
    if prep.empty_zone is None:
        z = prep.zone
        gk = z.gk_crs
        empty = type(z)(z.parts.assign(**{z.parts.geometry.name: None}).set_geometry(z.parts.geometry.name, crs=z.parts.crs),
                        spec=z.spec, boundaries_source=z.boundaries_source)
        empty.__dict__["gk_crs"] = gk
        prep.empty_zone = empty
    return prep.empty_zone


def _landuse_partition(gdf: Any, blob: ZoneBlob, opts: dict[str, Any], skip: list[bool], offsets: list[int],
                       partition_info: Any = None) -> Any:
    import pandas as pd

    from xclz_geo.landuse.overlay import landuse_by_part

    i = partition_info["number"] if partition_info else 0
    prep = _prepared(blob)
    off = int(offsets[i]) if i < len(offsets) else 0
    try:
        zone = _outside_zone(prep) if (i < len(skip) and skip[i]) else prep.zone
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = landuse_by_part(zone, gdf.reset_index(drop=True), code_field=opts["code_field"],
                                  name_field=opts["name_field"], scheme=opts["scheme"], level=opts["level"],
                                  min_overlap_m2=opts["min_overlap_m2"], summaries=False)
        out = res.parcels.reindex(columns=list(PARCEL_COLUMNS))
        out["row"] = out["row"].to_numpy(dtype=np.int64) + off
    except Exception as exc:  # never a failed task: the partition's rows say why
        n = len(gdf)
        out = pd.DataFrame({c: [None] * n for c in PARCEL_COLUMNS})
        out["row"] = np.arange(off, off + n, dtype=np.int64)
        out["area_m2"] = np.nan
        out["inside_m2"] = np.nan
        out["status"] = f"partition not processed: {type(exc).__name__}: {str(exc)[:200]}"
    out.index = pd.RangeIndex(off, off + len(out))
    if opts["with_geometry"]:
        import geopandas as gpd

        out = gpd.GeoDataFrame(out, geometry=np.asarray(gdf.geometry.values, dtype=object), crs=gdf.crs)
    return out


def landuse_dask(
    zone: Any,
    parcels_ddf_or_path: Any,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    scheme: str = "auto",
    level: int = 2,
    min_overlap_m2: float = 0.01,
    with_geometry: bool = False,
    prune: bool = True,
) -> ScaleJob:
    """Per-parcel land-use overlay of a partitioned parcel layer, lazily (the ``parcels`` table of ``landuse_by_part``).

    Parameters
    ----------
    zone
        The zone (one or many zones).
    parcels_ddf_or_path
        A dask-geopandas GeoDataFrame, or a folder / glob of GeoParquet files (one partition per file).
    code_field, name_field, level, min_overlap_m2
        As for :func:`xclz_geo.landuse.overlay.landuse_by_part`.
    scheme
        ``"auto"`` detects the scheme once over the whole layer's codes and names (one pass over
        those two columns), so every partition classifies alike; or name it.
    with_geometry
        Also carry each parcel's geometry (for GeoParquet output).
    prune
        Skip the overlay of partitions that touch no zone (their parcels are ``outside the zone``;
        codes, areas and bad geometries are still reported).

    Returns
    -------
    ScaleJob
        ``job.frame`` has the columns :data:`PARCEL_COLUMNS` (+ ``geometry``), ``row`` numbered over the input;
        ``job.extra`` holds the scheme and fields used.
    """
    import dask.dataframe as dd
    import pandas as pd

    from xclz_geo.landuse.overlay import (CODE_FIELD_CANDIDATES, NAME_FIELD_CANDIDATES, _pick_field, detect_scheme,
                                          normalize_scheme)

    if level not in (1, 2, 3):
        raise InputDataError(f"level must be 1, 2 or 3, not {level!r}")
    inp = parcels_ddf_or_path if isinstance(parcels_ddf_or_path, PartitionedInput) else open_input(parcels_ddf_or_path)
    ddf = inp.frame
    meta = ddf._meta
    if not _is_geo(meta):
        raise InputDataError(f"{inp.source}: parcels need polygon geometry (GeoParquet, or a dask-geopandas GeoDataFrame)")
    cf = _pick_field(meta, code_field, CODE_FIELD_CANDIDATES, "land-use code", inp.source, required=True)
    nf = _pick_field(meta, name_field, NAME_FIELD_CANDIDATES, "class name", inp.source, required=name_field is not None)
    if scheme == "auto":
        cols = [cf] + ([nf] if nf else [])
        vc = ddf[cols].map_partitions(lambda d: d.value_counts(dropna=False).reset_index(name="n"),
                                      meta=pd.DataFrame({**{c: pd.Series([], dtype=object) for c in cols}, "n": pd.Series([], dtype="int64")}))
        vc = vc.compute()
        vc = vc.groupby(cols, dropna=False, sort=False)["n"].sum().reset_index()
        codes = np.repeat(vc[cf].to_numpy(dtype=object), vc["n"].to_numpy())
        names = np.repeat(vc[nf].to_numpy(dtype=object), vc["n"].to_numpy()) if nf else None
        det = detect_scheme(list(codes), list(names) if names is not None else None)
        scheme_used = det.scheme
    else:
        scheme_used = normalize_scheme(scheme)
        det = None
    lengths = inp.lengths()
    offsets = [0] + list(np.cumsum(lengths)[:-1].astype(int))
    skip = np.zeros(ddf.npartitions, dtype=bool)
    if not prune:
        why = "pruning off"
    else:
        pb, bcrs = inp.bounds_for(geometry=True)
        if pb is None:
            why = "no pruning: the partitions' bounds are unknown"
        else:
            skip = prunable(pb, zone_boxes(zone, datum=None, crs=bcrs or meta.crs))
            why = f"{int(skip.sum())} of {len(skip)} partitions touch no zone and skip the overlay"
    opts = {"code_field": cf, "name_field": nf, "scheme": scheme_used, "level": level, "min_overlap_m2": min_overlap_m2,
            "with_geometry": with_geometry}
    out_meta = pd.DataFrame({c: pd.Series([], dtype=("int64" if c == "row" else float if c.endswith("_m2") else object))
                             for c in PARCEL_COLUMNS})
    if with_geometry:
        import geopandas as gpd

        out_meta = gpd.GeoDataFrame(out_meta, geometry=gpd.GeoSeries([], crs=meta.crs))
    shipped = _ship(zone_blob(zone))
    frame = dd.map_partitions(_landuse_partition, ddf, shipped, opts, list(map(bool, skip)), offsets, meta=out_meta,
                              align_dataframes=False, enforce_metadata=False, partition_info=True)
    extra = {"scheme": scheme_used, "scheme_detection": det.to_dict() if det else None, "code_field": cf, "name_field": nf,
             "rows": int(sum(lengths))}
    return ScaleJob(frame, ddf.npartitions, int(skip.sum()), why, source=inp.source, extra=extra)


__all__ = ["PARCEL_COLUMNS", "ScaleJob", "ZoneBlob", "annotate_meta", "clear_worker_cache", "landuse_dask", "locate_dask",
           "province_cell_m", "prunable", "worker_builds", "zone_blob", "zone_boxes"]
