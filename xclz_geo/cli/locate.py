"""``xclz-geo locate``: is this site, or this table of sites, inside the zone?

One site::

    xclz-geo locate 119.4681 30.8931 --datum gcj02 [--json]

Exit status 0 inside, 1 outside or uncertain, 2 invalid coordinates or bad options.

A table or vector file::

    xclz-geo locate --input firms.xlsx --datum bd09 --out firms_located.xlsx

CSV (UTF-8, UTF-8 with BOM, GBK), XLSX, GeoPackage, GeoJSON and GeoParquet in; the
output keeps every input row in order with every input column, plus ``xclz_status``,
``xclz_zone``, ``xclz_block``, ``xclz_part``, ``xclz_distance_m``, ``xclz_quality`` (the quality label of the
part the row fell in or is near; for ``outside`` the zone's least reliable label; empty for
``invalid``) and ``xclz_note``. CSV input is read in chunks, so memory stays bounded for tens
of millions of rows.

Tables are read as text (:func:`xclz_geo.io.read_table_text`): every input cell comes back as
the user typed it; a workbook comes back with all its sheets, its sheet name and the title rows
above the header (:func:`xclz_geo.io.write_table_back`). See docs/notes/tables.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from xclz_geo.cli._common import check_output_file, input_paths, load_zone, print_json, progress
from xclz_geo.cli.options import add_crs, add_datum, add_input, add_json, add_out, add_xy, add_zone, refuse_existing

#: columns added to every output row
OUT_COLUMNS = ("xclz_status", "xclz_zone", "xclz_block", "xclz_part", "xclz_distance_m", "xclz_quality", "xclz_note")
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb", ".geoparquet"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "locate",
        help="is a site (LON LAT) or a table of sites inside the zone? any datum: wgs84, cgcs2000, gcj02, bd09",
        description="Check sites against the zone's parts. One site: `xclz-geo locate LON LAT [--datum gcj02] [--json]` "
        "(exit 0 inside, 1 outside or uncertain, 2 invalid). A table: `xclz-geo locate --input FILE --out FILE` "
        "(CSV UTF-8/BOM/GBK, XLSX, GPKG, GeoJSON, GeoParquet); every row comes out, in order, with xclz_status "
        "(inside|outside|uncertain|invalid), xclz_zone, xclz_block, xclz_part, xclz_distance_m (signed, + inside), "
        "xclz_quality (quality label of the part the row fell in or is near; outside: the least reliable part's) and "
        "xclz_note. A point on the boundary is inside; 'uncertain' means within the part's positional "
        "uncertainty of its boundary.",
    )
    p.add_argument("coords", nargs="*", metavar="LON LAT", help="one site: longitude and latitude (or x y with --crs)")
    add_input(p, "table or vector file of sites")
    add_out(p, "file (format from its extension: .csv .xlsx .gpkg .geojson .parquet)")
    add_xy(p)
    add_datum(p)
    add_crs(p, "projected input")
    p.add_argument("--sheet", metavar="NAME", help="sheet of an XLSX input, by name or number (default: the first)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="row of the table's header, 1 = the first row (default: found; title rows above it are passed over)")
    p.add_argument("--csv-safe", action="store_true",
                   help="CSV output: prefix ' to cells starting with = + - @ (so Excel shows them as text, never as formulas); "
                   "default: every cell written exactly as read")
    p.add_argument("--layer", metavar="LAYER", help="layer of a GeoPackage input")
    p.add_argument("--no-distance", action="store_true", help="skip the distance to the boundary (faster for huge files)")
    p.add_argument("--chunk-rows", type=int, default=250_000, metavar="N", help="CSV rows per chunk (default 250000)")
    p.add_argument("--threads", type=int, metavar="N", help="most threads for the point lookup (default: the machine's cores); a chunk runs on more than one "
                   "only when it is large enough to gain from it (millions of points), so --chunk-rows bounds it too")
    add_json(p)  # one site: the answer; a table: the summary
    p.add_argument("--engine", choices=["memory", "dask"], default="memory",
                   help="dask: --input is a folder or glob of (Geo)Parquet/CSV files, --out a folder of GeoParquet; "
                   "runs on a local cluster or on --scheduler ADDRESS (see docs/notes/dask.md)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running Dask scheduler (tcp://host:8786)")
    add_zone(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError

    if args.input and args.coords:
        raise InputDataError("give either LON LAT or --input FILE, not both")
    if args.input:
        if not args.out:
            raise InputDataError("--input needs --out FILE (the output keeps every input row and adds xclz_* columns)")
        if getattr(args, "engine", "memory") == "dask":
            from xclz_geo.cli._common import check_output_folder, input_paths
            from xclz_geo.scale.jobs import locate_job

            check_output_folder(args.out, members=("part.00000.parquet",), inputs=input_paths(args))

            summary = locate_job(load_zone(args), args.input, args.out, x=args.x, y=args.y, datum=args.datum, crs=args.crs,
                                 with_distance=not args.no_distance, scheduler=args.scheduler, progress=not args.json)
            print_json(summary) if args.json else sys.stderr.write(f"xclz-geo: {summary['rows']:,} rows → {args.out} ({summary['counts']})\n")
            return 0
        return _run_batch(args)
    if len(args.coords) != 2:
        raise InputDataError(
            "give one site as LON LAT (e.g. `xclz-geo locate 119.4681 30.8931 --datum gcj02`) or a file with --input FILE"
        )
    return _run_single(args)


# ------------------------------------------------------------------ one site


def _number(text: str) -> Any:
    """The number a command-line value spells, or the text itself when it is none."""
    try:
        v = float(text)
    except ValueError:
        return text
    return v if math.isfinite(v) else text


def _fmt_m(v: float) -> str:
    return f"{abs(v):,.0f} m" if abs(v) >= 10 else f"{abs(v):.1f} m"


#: a point closer than this to a part boundary is reported as on it (text output only)
ON_BOUNDARY_M = 0.05


def _side(d: float, *, boundary: str = "the boundary") -> str:
    """``"12 m inside the boundary"`` / ``"on the boundary (0 m)"``: the distance in words, sign as side."""
    if abs(d) < ON_BOUNDARY_M:
        return f"on {boundary} (0 m)"
    return f"{_fmt_m(d)} {'inside' if d > 0 else 'outside'} {boundary}"


def _run_single(args: argparse.Namespace) -> int:
    info, zq = _single_fast(args) if not args.crs else (None, None)
    if info is None:
        info, zq = _single_full(args)
    return _print_single(args, info, zq)


def _single_fast(args: argparse.Namespace) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """One site from the disk-cached zone snapshot, importing neither geopandas, pandas nor pyproj
    (:mod:`xclz_geo.geo.site`); ``(None, None)`` when the full path must answer."""
    from xclz_geo.datasets import data_path, spec_path
    from xclz_geo.geo import cache as _cache
    from xclz_geo.geo import datums as _datums
    from xclz_geo.geo import site

    if _cache.cache_dir() is None:
        return None, None
    try:
        datum = _datums.normalize_datum(args.datum)
        boundaries = args.boundaries or data_path("boundaries", "zone.geojson", must_exist=False)
        if (not Path(boundaries).is_file() or _has_areas_layer(Path(boundaries))
                or (getattr(args, "spec", None) and not Path(args.spec).is_file())):
            return None, None  # functional areas (layer areas) and a missing --spec are answered by the full path
        key = site.snapshot_key(boundaries=boundaries, spec=getattr(args, "spec", None) or spec_path(),
                                layer=args.boundaries_layer)
    except Exception:  # noqa: BLE001 - any trouble: the full path reports it properly
        return None, None
    snap = site.load_snapshot(key)
    if snap is None:
        import warnings

        from xclz_geo.boundaries.zone import describe_quality

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            zone = load_zone(args, warn_schematic=False)
        if caught:  # a file that warns on loading is always loaded (its warnings are part of the answer)
            return None, None
        snap = site.snapshot_from_zone(zone, describe_quality=describe_quality(zone))
        if snap is None:
            return None, None
        site.store_snapshot(key, snap)
    ans = site.locate_site(snap, args.coords[0], args.coords[1], datum=datum)
    if ans is None:
        return None, None
    m = snap.meta
    k = int(ans["part_index"])
    row = m["parts"][k] if k >= 0 else None
    d = float(ans["distance_m"])
    info: dict[str, Any] = {
        "input": {"x": _number(args.coords[0]), "y": _number(args.coords[1]), "datum": datum, "crs": None},
        "status": ans["status"],
        "part_id": None if row is None else row["part_id"],
        "block_id": None if row is None else row["block_id"],
        "name_zh": None if row is None else row["name_zh"],
        "name_en": None if row is None else row["name_en"],
        "distance_m": None if not math.isfinite(d) else round(d, 2),
        "positional_uncertainty_m": None if row is None else float(row["positional_uncertainty_m"]),
        "quality": None if row is None else row["quality"],
        "xclz_quality": ans["row_quality"],
        "zone_quality": m["worst_quality"],
        "quality_by_part": m["quality_by_part"],
        "note": "",
        "boundaries": m["boundaries_source"],
        "wgs84": {"lon": round(ans["lon"], 7), "lat": round(ans["lat"], 7)},
        "gk": {"crs": m["gk"]["label"], "x": round(ans["gx"], 2), "y": round(ans["gy"], 2)},
        "area_id": None, "area_name_zh": None, "area_quality": None,  # no areas layer (else the full path answers)
    }
    zq = {k2: m[k2] for k2 in ("is_mixed_quality", "is_schematic", "worst_quality", "boundaries_source", "describe_quality")}
    zq["distance_raw"] = d
    return info, zq


def _single_full(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """One site through the table path (any input: text, invalid values, projected CRSs)."""
    import pandas as pd

    from xclz_geo.boundaries.zone import describe_quality
    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.locate import locate_table, parse_coordinates

    zone = load_zone(args, warn_schematic=False)
    df = pd.DataFrame({"x": [args.coords[0]], "y": [args.coords[1]]})
    res = locate_table(zone, df, x="x", y="y", datum=args.datum, crs=args.crs, with_distance=True)
    status = res.status_labels[0]
    k = int(res.part_index[0])
    d = float(res.distance_m[0]) if res.distance_m is not None else math.nan
    row = zone.parts.iloc[k] if k >= 0 else None
    info: dict[str, Any] = {
        "input": {"x": _number(args.coords[0]), "y": _number(args.coords[1]),
                  "datum": None if args.crs else _crs.normalize_datum(args.datum), "crs": args.crs},
        "status": status,
        "part_id": None if row is None else str(row["part_id"]),
        "block_id": None if row is None else str(row["block_id"]),
        "name_zh": None if row is None else str(row["name_zh"]),
        "name_en": None if row is None else str(row["name_en"]),
        "distance_m": None if not math.isfinite(d) else round(d, 2),
        "positional_uncertainty_m": None if row is None else float(row["positional_uncertainty_m"]),
        "quality": None if row is None else str(row["quality"]),
        "xclz_quality": res.row_quality[0],
        "zone_quality": zone.worst_quality,
        "quality_by_part": zone.quality_by_part,
        "note": str(res.row_notes[0]),
        "boundaries": zone.boundaries_source,
    }
    if status != "invalid":
        xv, _ = parse_coordinates(df["x"])
        yv, _ = parse_coordinates(df["y"])
        info.update(_positions(zone, float(xv[0]), float(yv[0]), args))
    info.update(_single_area(zone, df, args))  # functional area (碳中和示范区 …): area_id, or None (last, as the cached path)
    zq = {"is_mixed_quality": zone.is_mixed_quality, "is_schematic": zone.is_schematic,
          "worst_quality": zone.worst_quality, "boundaries_source": zone.boundaries_source,
          "describe_quality": describe_quality(zone) if zone.is_mixed_quality else "", "distance_raw": d}
    return info, zq


def _print_single(args: argparse.Namespace, info: dict[str, Any], zq: dict[str, Any]) -> int:
    """Print one site's answer (text or ``--json``); returns the exit status."""
    status = info["status"]
    d = zq["distance_raw"]  # unrounded, as the text output always used it
    row = info["part_id"]
    exit_code = {"inside": 0, "outside": 1, "uncertain": 1, "invalid": 2}[status]
    if args.json:
        print_json(info)
        return exit_code
    out = sys.stdout
    if status == "invalid":
        out.write(f"invalid: {info['note']}\n")
        return exit_code
    name = f"{info['name_zh']} ({info['part_id']}, block {info['block_id']})" if row is not None else ""
    if status == "inside":
        out.write(f"inside: {name}\n")
        out.write(f"  {_side(d)}\n")
    elif status == "outside":
        out.write("outside the zone\n")
        if math.isfinite(d):
            out.write(f"  {_fmt_m(d)} from the nearest part boundary\n")
    else:
        out.write(f"uncertain: {_side(d, boundary='the drawn boundary')} of {name}\n")
        out.write(f"  that boundary is {info['quality']}, uncertain by ±{info['positional_uncertainty_m']:,.0f} m: "
                  "the site may lie on either side; check it against the official red line\n")
    if info.get("area_id"):
        out.write(f"  functional area 功能区: {info['area_name_zh']} ({info['area_id']}, {info['area_quality']})\n")
    if "wgs84" in info:
        w = info["wgs84"]
        out.write(f"  WGS84 {w['lon']:.6f}, {w['lat']:.6f}; {info['gk']['crs']} E {info['gk']['x']:,.1f} N {info['gk']['y']:,.1f}\n")
    out.write(f"  quality of this answer: {info['xclz_quality']}"
              + (f" (boundaries: {zq['describe_quality']})" if zq["is_mixed_quality"] else "") + "\n")
    if zq["is_schematic"]:
        what = "are not all official" if zq["is_mixed_quality"] else f"are {zq['worst_quality']}, not official"
        out.write(f"  note: boundaries from {zq['boundaries_source']} {what}\n")
    return exit_code


def _positions(zone: Any, x: float, y: float, args: argparse.Namespace) -> dict[str, Any]:
    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.grid import make_frame

    frame = make_frame(datum=args.datum, crs=args.crs)
    if frame.datum:
        lon, lat = _crs.convert_datum(x, y, from_datum=frame.datum, to_datum="wgs84")
    else:
        lon, lat = _crs.transformer(frame.crs, _crs.WGS84).transform(x, y)
    gx, gy = _crs.transformer(_crs.CGCS2000_GEOGRAPHIC, zone.gk_crs).transform(lon, lat)
    epsg = zone.gk_crs.to_epsg()
    return {"wgs84": {"lon": round(float(lon), 7), "lat": round(float(lat), 7)},
            "gk": {"crs": f"EPSG:{epsg}" if epsg else zone.gk_crs.name, "x": round(float(gx), 2), "y": round(float(gy), 2)}}


# ------------------------------------------------------------------ tables and files


def _wgs84_points(res: Any, xv: Any, yv: Any, args: argparse.Namespace) -> Any:
    """WGS84 point geometries of located rows (``None`` for invalid rows), for vector outputs of tables."""
    from xclz_geo.geo.grid import make_frame
    from xclz_geo.geo.locate import wgs84_points

    return wgs84_points(make_frame(datum=args.datum, crs=args.crs), xv, yv, res.status != 3)


def _run_batch(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError
    from xclz_geo.io import read_table, read_vector

    src = Path(args.input)
    dst = Path(args.out)
    if not src.exists():
        from xclz_geo.errors import InputFileError

        raise InputFileError(f"{src}: file not found")
    if dst.resolve() == src.resolve():
        raise InputDataError(f"{dst}: the output would overwrite the input; choose another --out file")
    check_output_file(dst, inputs=input_paths(args))  # unwritable, a folder, odd names: exit 2 before any work
    refuse_existing([dst], overwrite=args.overwrite)
    suffix = src.suffix.lower()
    out_suffix = dst.suffix.lower()
    csv_stream = suffix in _CSV_SUFFIXES and out_suffix in (".csv", ".txt")
    # tables (CSV, workbooks, plain Parquet) are located by their coordinate columns: the zone may come from the
    # disk cache; vector files and GeoParquet are located by their geometry in their own CRS: the full zone
    located_by_columns = not (suffix in _VECTOR_SUFFIXES or (suffix == ".parquet" and _is_geoparquet(src)))
    zone = _batch_zone(args) if located_by_columns else load_zone(args)
    with_distance = not args.no_distance
    if args.chunk_rows <= 0:
        raise InputDataError("--chunk-rows must be a positive number of rows")
    parquet_plan = _parquet_csv_plan(args, zone, src, out_suffix) if suffix == ".parquet" and located_by_columns else None
    if csv_stream:
        counts = _batch_csv(args, zone, src, dst, with_distance)
    elif parquet_plan is not None:
        counts = _batch_parquet_csv(args, zone, src, dst, with_distance, parquet_plan)
    elif suffix in _VECTOR_SUFFIXES or (suffix == ".parquet" and _is_geoparquet(src)) or suffix == ".parquet":
        df = read_vector(src, layer=args.layer) if suffix != ".parquet" or _is_geoparquet(src) else read_table(src)
        out, counts = _locate_frame(args, zone, df, dst, with_distance, source=str(src))
        _write(out, dst, csv_safe=bool(getattr(args, "csv_safe", False)))
    else:
        counts = _batch_text_table(args, zone, src, dst, with_distance)
    summary = {"input": str(src), "output": str(dst), "rows": sum(counts.values()), "counts": counts,
               "boundaries": zone.boundaries_source, "quality": zone.worst_quality,
               "quality_by_part": zone.quality_by_part}
    if args.json:
        print_json(summary)
    else:
        order = ("inside", "outside", "uncertain", "invalid")
        parts = ", ".join(f"{k} {counts[k]:,}" for k in sorted(counts, key=lambda k: (order.index(k) if k in order else 9, k)))
        sys.stderr.write(f"xclz-geo: {summary['rows']:,} rows → {dst} ({parts})\n")
    return 0


def _batch_key(args: argparse.Namespace) -> str | None:
    """Disk-cache key of the batch zone of ``args`` (:mod:`xclz_geo.geo.batchzone`), or ``None`` when a
    batch must load the full zone: cache off, projected ``--crs``, a missing file, functional areas, or
    ``XCLZ_GEO_BATCH_ZONE=off`` (the full path with the rest of the cache on, for comparisons)."""
    from xclz_geo.datasets import data_path, spec_path
    from xclz_geo.geo import cache as _cache

    if _cache.cache_dir() is None or args.crs or os.environ.get("XCLZ_GEO_BATCH_ZONE", "").strip().lower() in _cache._OFF:
        return None
    try:
        boundaries = args.boundaries or data_path("boundaries", "zone.geojson", must_exist=False)
        if (not Path(boundaries).is_file() or _has_areas_layer(Path(boundaries))
                or (getattr(args, "spec", None) and not Path(args.spec).is_file())):
            return None
        from xclz_geo.geo.batchzone import batch_key

        return batch_key(boundaries=boundaries, spec=getattr(args, "spec", None) or spec_path(), layer=args.boundaries_layer)
    except Exception:  # noqa: BLE001 - any trouble: the full path reports it properly
        return None


def _batch_zone(args: argparse.Namespace) -> Any:
    """The zone of a batch of a table located by its coordinate columns (CSV, XLSX/XLS, plain Parquet):
    a :class:`~xclz_geo.geo.batchzone.BatchZone` from the disk cache when it and the grid of the input's
    datum are there (no boundaries file read; CSV → CSV imports neither pandas nor geopandas), else the
    full zone (:func:`load_zone`), whose batch zone is then stored for the next run.

    Both give the same rows: the batch zone is located by the same code on the same polygons and grid,
    and the rows are read and written by the same code whichever zone located them.
    """
    import warnings

    key = _batch_key(args)
    if key is None:
        return load_zone(args)
    from xclz_geo.geo.batchzone import batch_zone_from_zone, load_batch_zone, store_batch_zone
    from xclz_geo.geo.grid import make_frame

    bz = load_batch_zone(key)
    if bz is not None:
        try:
            frame = make_frame(datum=args.datum)
        except Exception:  # noqa: BLE001 - a bad --datum: the full path reports it
            frame = None
        if frame is not None and bz.grid(frame) is not None:
            bz.warn_if_schematic()
            return bz
    caught: list[Any] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            zone = load_zone(args, warn_schematic=False)
    finally:  # shown as they were raised (also before a loading error); a file that warns is never cached
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with warnings.catch_warnings(record=True) as schematic:
        warnings.simplefilter("always")
        zone.warn_if_schematic()
    for w in schematic:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if bz is None and not caught:
        try:
            new = batch_zone_from_zone(zone, schematic_warnings=[str(w.message) for w in schematic])
        except Exception:  # noqa: BLE001 - the cache only saves time
            new = None
        if new is not None:
            store_batch_zone(key, new)
    return zone


def _is_geoparquet(path: Path) -> bool:
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        return b"geo" in meta
    except Exception:
        return False


def _locate_frame(args: argparse.Namespace, zone: Any, df: Any, dst: Path, with_distance: bool, *, source: str) -> tuple[Any, dict[str, int]]:
    import geopandas as gpd

    from xclz_geo.geo.locate import detect_xy_columns, locate_table, parse_coordinates, rename_stale_result_columns

    df, _ = rename_stale_result_columns(df, source=source)  # xclz_* of an earlier run: kept renamed, recomputed
    grid = None
    if getattr(zone, "is_batch_zone", False):  # the batch zone from the disk cache: its cached grid
        from xclz_geo.geo.grid import make_frame

        grid = zone.grid(make_frame(datum=args.datum, crs=args.crs))
    res = locate_table(zone, df, x=args.x, y=args.y, datum=args.datum, crs=args.crs,
                       with_distance=with_distance, threads=args.threads, source=source, grid=grid)
    notes = res.row_notes
    from xclz_geo.geo.locate import annotate_table

    out = annotate_table(df, res, notes, with_distance=with_distance)
    _add_area_column(out, args, zone, df, source=source)
    is_geo = isinstance(out, gpd.GeoDataFrame)
    if not is_geo and dst.suffix.lower() in _VECTOR_SUFFIXES | {".geoparquet"}:
        xc, yc = detect_xy_columns(df.columns, x=args.x, y=args.y, source=source)
        xv, _ = parse_coordinates(df[xc])
        yv, _ = parse_coordinates(df[yc])
        out = gpd.GeoDataFrame(out, geometry=_wgs84_points(res, xv, yv, args), crs="EPSG:4326")
    return out, res.counts()


def _batch_text_table(args: argparse.Namespace, zone: Any, src: Path, dst: Path, with_distance: bool) -> dict[str, int]:
    """A CSV or workbook read as text, located, and written back with every input cell unchanged."""
    from xclz_geo.geo.locate import rename_stale_result_columns
    from xclz_geo.io import read_table_text, write_table_back

    table = read_table_text(src, sheet=args.sheet, header_row=args.header_row)
    where = f"{src}" + (f" (sheet {table.sheet_name})" if table.sheet_name else "")
    # xclz_* of an earlier run: cells kept under a new header (xclz_status_input), results recomputed
    frame, renamed = rename_stale_result_columns(table.frame, source=where)
    out, counts = _locate_frame(args, zone, frame, dst, with_distance, source=where)
    if dst.suffix.lower() in (".xlsx", ".xlsm", ".csv", ".txt"):
        added = [c for c in (*OUT_COLUMNS, "xclz_area") if c in out.columns]  # xclz_area: functional areas, when any
        write_table_back(table, out[added], dst, csv_safe=args.csv_safe,
                         rename_columns={str(k): v for k, v in renamed.items()})
    else:
        _write(out, dst, csv_safe=bool(getattr(args, "csv_safe", False)))
    return counts


def _write(out: Any, dst: Path, *, csv_safe: bool = False) -> None:
    from xclz_geo.errors import InputDataError
    from xclz_geo.io import write_table

    if dst.suffix.lower() in (".xlsx", ".xlsm") and len(out) > 1_048_575:
        raise InputDataError(f"{dst}: {len(out):,} rows do not fit in an Excel sheet (1,048,575 + header); write .csv or .parquet")
    write_table(out, dst, csv_safe=csv_safe)


def _batch_csv(args: argparse.Namespace, zone: Any, src: Path, dst: Path, with_distance: bool) -> dict[str, int]:
    """Chunked CSV → CSV (Arrow batches streamed to a temporary file, moved into place at the end)
    or CSV → any other format (collected, then written atomically). CSV → CSV imports no pandas."""
    from xclz_geo.io import csv_column_names, iter_csv_batches, temp_sibling

    names, headers = csv_column_names(src, header_row=args.header_row)
    shown = dict(zip(names, headers))  # the header is written back as typed (duplicates and all)
    counts = {"inside": 0, "outside": 0, "uncertain": 0, "invalid": 0}
    stream = dst.suffix.lower() in (".csv", ".txt")
    collected = []
    tmp = temp_sibling(dst, tag="partial")  # unique per run; removed on SIGTERM
    fh = None
    bar = progress(desc=f"locate {src.name}")
    try:
        if stream:
            dst.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")
            fh.write(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows Chinese text correctly
        first = True
        start = 0
        for batch in iter_csv_batches(src, chunk_rows=args.chunk_rows, header_row=args.header_row):
            if stream:
                c = _locate_batch_to_csv(args, zone, batch, fh, with_distance, header=first, source=str(src), shown=shown)
            else:
                import pandas as pd

                df = batch.to_pandas()
                df.index = pd.RangeIndex(start, start + len(df))
                out, c = _locate_frame(args, zone, df, dst, with_distance, source=str(src))
                collected.append(out)
            start += batch.num_rows
            for k, v in c.items():
                counts[k] += v
            first = False
            bar.update(batch.num_rows)
        if stream:
            assert fh is not None
            if first:  # a header without rows: write the header with the added columns
                _write_csv_header(fh, headers + [c for c in OUT_COLUMNS if c not in headers])
            fh.close()
            fh = None
            os.replace(tmp, dst)
        else:
            import geopandas as gpd
            import pandas as pd

            if not collected:  # a header without rows: an empty table with the added columns
                from xclz_geo.io import csv_layout

                cols = csv_layout(src)[2]
                collected.append(pd.DataFrame(columns=cols + [c for c in OUT_COLUMNS if c not in cols]))
            if isinstance(collected[0], gpd.GeoDataFrame):
                out = gpd.GeoDataFrame(pd.concat(collected), geometry="geometry", crs=collected[0].crs)
            else:
                out = pd.concat(collected)
            _write(out, dst, csv_safe=bool(getattr(args, "csv_safe", False)))
    finally:
        _discard_partial(bar, fh, tmp)
    return counts


#: Parquet column types the Arrow path writes as the full path does (pandas, then :func:`xclz_geo.io.write_csv_stream`)
_PARQUET_PLAIN_TYPES = ("string", "large_string", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                        "halffloat", "float", "double", "bool")


def _parquet_csv_plan(args: argparse.Namespace, zone: Any, src: Path, out_suffix: str) -> dict[str, str] | None:
    """How a plain Parquet → CSV batch is written without pandas, or ``None`` when it takes the full path.

    The full path reads the file with pandas and writes the CSV with :func:`xclz_geo.io.write_csv_stream`
    (more than :data:`~xclz_geo.io.STREAM_MIN_ROWS` rows) or ``DataFrame.to_csv`` (fewer, other quoting):
    the Arrow path is taken only where it writes the same bytes — the zone from the disk cache, more rows
    than that, no ``--csv-safe``, no stored pandas index, and columns of text, integers, floats and booleans.
    Returns ``{column: how}``: ``keep``, ``float`` (floats and integers with gaps that pandas reads as
    floats: NaN written empty), ``int_gaps`` (pandas' nullable integers with gaps: written through float64
    as the full path writes them) or ``bool`` (``True``/``False``).
    """
    from xclz_geo.io import STREAM_MIN_ROWS

    if not getattr(zone, "is_batch_zone", False) or out_suffix not in (".csv", ".txt") or getattr(args, "csv_safe", False):
        return None
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(src)
        meta = pf.metadata
        schema = pf.schema_arrow
        if meta.num_rows <= STREAM_MIN_ROWS or len(set(schema.names)) != len(schema.names):
            return None
        pandas_meta = json.loads((schema.metadata or {}).get(b"pandas", b"{}") or b"{}")
        if any(not isinstance(ix, dict) for ix in pandas_meta.get("index_columns", [])):
            return None  # an index stored as a column: pandas reads it back as the index
        if len(pandas_meta.get("column_indexes", [])) > 1:
            return None  # columns with several header levels
        numpy_types = {str(c.get("field_name", c.get("name"))): str(c.get("numpy_type", "")) for c in pandas_meta.get("columns", [])}
        plan: dict[str, str] = {}
        for j, field in enumerate(schema):
            t = str(field.type)
            if t not in _PARQUET_PLAIN_TYPES:
                return None
            if t == "bool":
                plan[field.name] = "bool"
            elif t in ("halffloat", "float", "double"):
                plan[field.name] = "float"
            elif t.startswith(("int", "uint")):
                gaps = 0
                for g in range(meta.num_row_groups):
                    st = meta.row_group(g).column(j).statistics
                    if st is None or not st.has_null_count:
                        return None  # cannot tell without reading: the full path
                    gaps += st.null_count
                kind = numpy_types.get(field.name, "")
                if not gaps:
                    plan[field.name] = "keep"
                elif kind[:3] in ("Int", "UIn"):  # pandas' nullable Int64 …: integers with gaps
                    plan[field.name] = "int_gaps"
                elif kind in ("", "float64") or kind.startswith(("int", "uint")):  # read as floats
                    plan[field.name] = "float"
                else:  # anything else pandas may restore: the full path
                    return None
            else:
                plan[field.name] = "keep"
        return plan
    except Exception:  # noqa: BLE001 - anything unexpected: the full path reads (and reports) it
        return None


def _parquet_batch_as_written(batch: Any, plan: dict[str, str]) -> Any:
    """A Parquet batch with each column as the full path writes it (see :func:`_parquet_csv_plan`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []  # (no pa.scalar/pa.array of Python values: they import pandas, see _float64_values)
    for name, col in zip(batch.schema.names, batch.columns):
        how = plan[name]
        if how == "float":  # as numpy converts: integers beyond 2⁵³ rounded to the nearest double; NaN empty
            col = pc.cast(col, pa.float64(), safe=False)
            col = pc.if_else(pc.is_nan(col), pa.nulls(len(col), pa.float64()), col)
        elif how == "int_gaps":
            col = pc.cast(pc.cast(col, pa.float64(), safe=False), pa.int64())
        elif how == "bool":
            col = pc.take(_arrow_strings(["False", "True"]), pc.cast(col, pa.int8()))
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def _batch_parquet_csv(args: argparse.Namespace, zone: Any, src: Path, dst: Path, with_distance: bool,
                       plan: dict[str, str]) -> dict[str, int]:
    """Plain Parquet → CSV in Arrow batches, without pandas when every coordinate is a number (the same
    bytes as the full path, see :func:`_parquet_csv_plan`); streamed to a temporary file, moved into place."""
    import pyarrow.parquet as pq

    from xclz_geo.geo.locate import rename_stale_result_columns
    from xclz_geo.io import _csv_quote, temp_sibling

    pf = pq.ParquetFile(src)
    counts = {"inside": 0, "outside": 0, "uncertain": 0, "invalid": 0}
    tmp = temp_sibling(dst, tag="partial")
    fh = None
    names: list[str] | None = None
    bar = progress(desc=f"locate {src.name}")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fh = open(tmp, "wb")
        fh.write(b"\xef\xbb\xbf")  # UTF-8 with BOM, as write_csv_stream
        for batch in pf.iter_batches(batch_size=args.chunk_rows):
            batch = _parquet_batch_as_written(batch, plan)
            if names is None:  # xclz_* of an earlier run: renamed once (one warning, as the full path gives) …
                batch, _ = rename_stale_result_columns(batch, source=str(src))
                names = list(batch.schema.names)
                header = names + [c for c in OUT_COLUMNS if c not in names]
                fh.write((",".join(_csv_quote(n, ",") for n in header) + "\n").encode("utf-8"))
            else:  # … and in every batch after it
                batch = batch.rename_columns(names)
            c = _locate_batch_to_csv(args, zone, batch, fh, with_distance, header=False, source=str(src))
            for k, v in c.items():
                counts[k] += v
            bar.update(batch.num_rows)
        fh.close()
        fh = None
        os.replace(tmp, dst)
    finally:
        _discard_partial(bar, fh, tmp)
    return counts


def _discard_partial(bar: Any, fh: Any, tmp: Path) -> None:
    """End a streamed batch: close its progress bar and partial file, and remove the partial file unless it
    was moved into place (a failed or interrupted run leaves no half-written output)."""
    bar.close()
    if fh is not None:
        fh.close()
    if tmp.exists():
        tmp.unlink()


def _write_csv_header(fh: Any, names: list[str]) -> None:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    fh.write(buf.getvalue().encode("utf-8"))


def _csv_safe_arrow(table: Any) -> Any:
    """``'`` before text cells starting with = + - @ tab CR (``--csv-safe``), column by column in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            hit = pc.match_substring_regex(col, r"^[=+\-@\t\r]")
            col = pc.if_else(pc.fill_null(hit, False), pc.binary_join_element_wise(pa.scalar("'"), col, ""), col)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.schema.names)


def _plain_numbers(col: Any) -> Any:
    """Float64 numpy array of an Arrow text column when every cell is a plain finite number, else ``None``.

    Arrow's parser (trimmed cells) gives the same doubles as :func:`~xclz_geo.geo.locate.parse_coordinates`
    on every cell it accepts (both round correctly) and is about 6× faster; a cell it refuses or reads
    as non-finite (blank, text, ``1,5``, ``12°``, ``nan``, ``inf``) sends the whole batch to that function,
    which writes the notes.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count:
        return None
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):  # typed columns (Parquet): their doubles
        v = _float64_values(pc.cast(col, pa.float64(), safe=False))
    else:
        try:
            v = _float64_values(pc.cast(pc.utf8_trim_whitespace(col), pa.float64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
    return v if np.isfinite(v).all() else None


# Arrow arrays from and to numpy through their buffers: ``pa.array``, ``pa.scalar`` and ``to_numpy`` ask
# pyarrow's pandas shim whether the value is a pandas object, which imports pandas (0.5–0.9 s of a batch's
# start-up); the buffers hold the same values, so the CSV written is the same byte for byte.


def _float64_values(arr: Any) -> Any:
    """The values of a float64 Arrow array without nulls as a numpy array (a copy)."""
    import numpy as np

    return np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8).copy()


def _arrow_ints(values: Any) -> Any:
    """An int64 Arrow array of a numpy integer array."""
    import numpy as np
    import pyarrow as pa

    v = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), v.shape[0], [None, pa.py_buffer(v)])


def _arrow_floats(values: Any) -> Any:
    """A float64 Arrow array of a numpy array, NaN as null (as ``pa.array(…, from_pandas=True)``)."""
    import numpy as np
    import pyarrow as pa

    v = np.ascontiguousarray(values, dtype=np.float64)
    valid = ~np.isnan(v)
    nulls = int(v.shape[0] - np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.float64(), v.shape[0], [bitmap, pa.py_buffer(v)], null_count=nulls)


def _arrow_strings(values: Any) -> Any:
    """A string Arrow array of a short sequence of ``str``/``None`` (``None`` as null)."""
    import numpy as np
    import pyarrow as pa

    vals = list(values)
    data = [b"" if v is None else str(v).encode("utf-8") for v in vals]
    offsets = np.zeros(len(vals) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    valid = np.array([v is not None for v in vals], dtype=bool)
    nulls = int(len(vals) - np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.large_string(), len(vals), [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))],
                                 null_count=nulls).cast(pa.string())


def _arrow_empty_strings(n: int) -> Any:
    """``n`` empty strings as an Arrow string array."""
    import numpy as np
    import pyarrow as pa

    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(np.zeros(n + 1, dtype=np.int32)), pa.py_buffer(b"")])


def _locate_text_columns(batch: Any, xc: str, yc: str, zone: Any, args: argparse.Namespace, with_distance: bool, *,
                         source: str) -> tuple[Any, Any]:
    """:func:`~xclz_geo.geo.locate.locate_table` on two columns of an Arrow batch, without pandas when every
    coordinate is a plain number in range (the common case: notes ``None``, all empty); any other batch
    takes ``locate_table``."""
    from xclz_geo.geo.locate import locate_table, locate_xy

    xv = _plain_numbers(batch.column(xc).combine_chunks() if hasattr(batch.column(xc), "combine_chunks") else batch.column(xc))
    yv = _plain_numbers(batch.column(yc).combine_chunks() if hasattr(batch.column(yc), "combine_chunks") else batch.column(yc)) \
        if xv is not None else None
    grid = None
    if getattr(zone, "is_batch_zone", False):  # the batch zone from the disk cache: its cached grid
        from xclz_geo.geo.grid import make_frame

        grid = zone.grid(make_frame(datum=args.datum, crs=args.crs))
    if xv is not None and yv is not None:
        res = locate_xy(zone, xv, yv, datum=args.datum, crs=args.crs, with_distance=with_distance, threads=args.threads,
                        grid=grid)
        if not res.reason.any():  # every row valid: no notes to write (None: all empty)
            return res, None
    coords = batch.select([xc, yc]).to_pandas()
    res = locate_table(zone, coords, x=xc, y=yc, datum=args.datum, crs=args.crs,
                       with_distance=with_distance, threads=args.threads, source=source, grid=grid)
    return res, res.row_notes


def _locate_batch_to_csv(args: argparse.Namespace, zone: Any, batch: Any, fh: Any, with_distance: bool, *,
                         header: bool, source: str, shown: dict[str, str] | None = None) -> dict[str, int]:
    """Locate one Arrow batch of text columns and append it, with the xclz_* columns, to the CSV."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from xclz_geo.geo.locate import STATUS_LABELS, detect_xy_columns, rename_stale_result_columns

    batch, _ = rename_stale_result_columns(batch, source=source)  # xclz_* of an earlier run: kept renamed, recomputed
    names = batch.schema.names
    xc, yc = detect_xy_columns(names, x=args.x, y=args.y, source=source)
    res, notes = _locate_text_columns(batch, xc, yc, zone, args, with_distance, source=source)
    k = len(res.part_ids)
    pidx = _arrow_ints(np.where(res.part_index >= 0, res.part_index, k))
    new = {
        "xclz_status": pc.take(_arrow_strings(STATUS_LABELS), _arrow_ints(res.status)),
        "xclz_zone": pc.take(_arrow_strings(list(res.zone_ids or [None] * k) + [None]), pidx),
        "xclz_block": pc.take(_arrow_strings(list(res.block_ids) + [None]), pidx),
        "xclz_part": pc.take(_arrow_strings(list(res.part_ids) + [None]), pidx),
        "xclz_distance_m": _arrow_floats(np.round(res.distance_m, 2) if with_distance and res.distance_m is not None
                                         else np.full(len(res), np.nan)),
        "xclz_quality": pc.take(
            _arrow_strings(list(res.part_qualities or [res.quality] * k) + [res.quality, None]),
            _arrow_ints(np.where(res.status == STATUS_LABELS.index("invalid"), k + 1, np.where(res.part_index >= 0, res.part_index, k))),
        ),
        "xclz_note": (pa.array(notes, type=pa.string()) if notes is not None else _arrow_empty_strings(len(res))),
    }
    from xclz_geo.geo.locate import area_of_points, has_area_geometry, parse_coordinates

    if has_area_geometry(zone):  # functional areas with geometry: xclz_area (absent otherwise)
        xy = batch.select([xc, yc]).to_pandas()
        new["xclz_area"] = pa.array(area_of_points(zone, parse_coordinates(xy[xc])[0], parse_coordinates(xy[yc])[0],
                                                   datum=args.datum, crs=args.crs), type=pa.string())
    cols = [batch.column(i) for i in range(batch.num_columns) if names[i] not in new]
    keep = [n for n in names if n not in new]
    table = pa.Table.from_arrays(cols + list(new.values()), names=keep + list(new))
    if getattr(args, "csv_safe", False):
        table = _csv_safe_arrow(table)
    if header:
        _write_csv_header(fh, [(shown or {}).get(n, n) for n in table.schema.names])
    # Arrow's "needed" style quotes every text value (and no number): valid CSV, the same for any chunking
    pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return res.counts()


# ------------------------------------------------------------------ functional areas (issue 16 item 4)


def _single_area(zone: Any, df: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``area_id``, ``area_name_zh``, ``area_quality`` of one point (``None`` outside every area or without areas)."""
    from xclz_geo.geo.locate import area_of_points, parse_coordinates

    aid = area_of_points(zone, parse_coordinates(df["x"])[0], parse_coordinates(df["y"])[0], datum=args.datum, crs=args.crs)[0]
    if aid is None:
        return {"area_id": None, "area_name_zh": None, "area_quality": None}
    rows = zone.areas.set_index("area_id")
    ids = aid.split(";")
    return {"area_id": aid, "area_name_zh": "；".join(str(rows.at[i, "name_zh"]) for i in ids),
            "area_quality": " + ".join(dict.fromkeys(str(rows.at[i, "quality"]) for i in ids))}


def _add_area_column(out: Any, args: argparse.Namespace, zone: Any, df: Any, *, source: str) -> None:
    """Add ``xclz_area`` (functional area id per row) when the zone has area geometry; nothing otherwise."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from xclz_geo.geo.locate import area_of_points, detect_xy_columns, has_area_geometry, parse_coordinates

    if not has_area_geometry(zone):
        return
    if isinstance(df, gpd.GeoDataFrame) and args.x is None and args.y is None:
        g = df.geometry.to_numpy()
        pt = (shapely.get_type_id(g) == 0) & ~(shapely.is_empty(g) | shapely.is_missing(g))
        xv = np.full(len(g), np.nan)
        yv = np.full(len(g), np.nan)
        xv[pt], yv[pt] = shapely.get_x(g[pt]), shapely.get_y(g[pt])
        crs = args.crs or (df.crs if df.crs is not None and not df.crs.is_geographic else None)
        out["xclz_area"] = area_of_points(zone, xv, yv, datum=args.datum, crs=crs)
        return
    xc, yc = detect_xy_columns(df.columns, x=args.x, y=args.y, source=source)
    out["xclz_area"] = area_of_points(zone, parse_coordinates(df[xc])[0], parse_coordinates(df[yc])[0],
                                      datum=args.datum, crs=args.crs)


def _has_areas_layer(path: Path) -> bool:
    """True when a GeoPackage holds a layer ``areas`` (functional areas); read with sqlite3 alone (fast path)."""
    if path.suffix.lower() != ".gpkg":
        return False
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'areas'").fetchone() is not None
        finally:
            con.close()
    except sqlite3.Error:
        return True  # unreadable here: let the full path read (and report) it


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "OUT_COLUMNS", "register", "run", "ON_BOUNDARY_M"
]
