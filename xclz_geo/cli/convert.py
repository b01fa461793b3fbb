"""``xclz-geo convert IN OUT --from gcj02 --to wgs84``: datum conversion of whole vector files.

Every vertex of every feature is converted between WGS84/CGCS2000, GCJ-02 (Amap/Gaode,
Tencent) and BD-09 (Baidu) with the exact transforms of :mod:`xclz_geo.geo.crs`; attributes
are kept. Features with any vertex outside China are refused for GCJ-02/BD-09 (the
message names them) and nothing is written: the output appears only when every feature
converted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a vector file between datums (wgs84, cgcs2000, gcj02, bd09), keeping attributes",
        description="Convert every vertex of a vector file (GeoJSON, GeoPackage, Shapefile, GeoParquet, …) between "
        "WGS84/CGCS2000, GCJ-02 (Amap/Gaode/Tencent) and BD-09 (Baidu). Projected input is taken to lon/lat "
        "first. The output is lon/lat (EPSG:4326 for wgs84/gcj02/bd09 — GCJ-02 and BD-09 are not CRSs, so the "
        "file is tagged EPSG:4326 as Amap and Baidu data customarily are — or EPSG:4490 for cgcs2000). Features "
        "outside China are refused for GCJ-02/BD-09 and nothing is written.",
    )
    p.add_argument("input", metavar="IN", help="vector file to convert")
    p.add_argument("output", metavar="OUT", help="output file (format from the extension: .gpkg .geojson .parquet .shp .fgb)")
    p.add_argument("--from", dest="from_datum", required=True, metavar="DATUM", help="datum of IN: wgs84, cgcs2000, gcj02, bd09")
    p.add_argument("--to", dest="to_datum", required=True, metavar="DATUM", help="datum of OUT: wgs84, cgcs2000, gcj02, bd09")
    p.add_argument("--layer", metavar="LAYER", help="layer of a multi-layer input (GeoPackage)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def convert_file_frame(gdf: Any, *, from_datum: str, to_datum: str, source: str = "input") -> Any:
    """Convert a GeoDataFrame between datums (returns a new GeoDataFrame in lon/lat).

    Raises
    ------
    DatumError
        When GCJ-02/BD-09 is involved and features lie outside China (up to ten are named,
        by row number and, when present, by an id or name attribute).
    """
    import numpy as np
    import shapely

    from xclz_geo.geo import crs as _crs
    from xclz_geo.errors import DatumError

    src = _crs.normalize_datum(from_datum)
    dst = _crs.normalize_datum(to_datum)
    if gdf.crs is None:
        raise DatumError(f"{source}: the file declares no CRS; a datum conversion needs lon/lat (declare EPSG:4326)")
    g = gdf
    if not g.crs.is_geographic:
        if src in ("gcj02", "bd09"):
            raise DatumError(
                f"{source}: the file is in {g.crs.name} (projected), but {src} coordinates are lon/lat; "
                "a projected file cannot carry the GCJ-02/BD-09 offset — check --from"
            )
        g = g.to_crs(_crs.WGS84)
    geoms = g.geometry.to_numpy()
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    if {src, dst} & {"gcj02", "bd09"} and len(coords):
        bad = ~_crs.in_china(coords[:, 0], coords[:, 1]) & np.isfinite(coords).all(axis=1)
        if bad.any():
            rows = np.unique(idx[bad])
            label_col = next((c for c in ("name", "name_zh", "part_id", "id", "NAME", "Name") if c in gdf.columns), None)
            names = []
            for r in rows[:10]:
                lab = f"row {int(r)}"
                if label_col is not None:
                    lab += f" ({label_col}={gdf[label_col].iloc[int(r)]!r})"
                names.append(lab)
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            raise DatumError(
                f"{source}: {len(rows)} feature(s) lie outside China, where {src if src in ('gcj02', 'bd09') else dst} "
                f"does not exist: {', '.join(names)}{more}. Nothing was written; remove them or check --from/--to"
            )
    out = g.copy()
    if len(coords):
        x, y = _crs.convert_datum(coords[:, 0], coords[:, 1], from_datum=src, to_datum=dst, check=False)
        new = shapely.set_coordinates(shapely.from_wkb(shapely.to_wkb(geoms)), np.column_stack([x, y]))
        out = out.set_geometry(new, crs=out.crs)
    target = _crs.CGCS2000_GEOGRAPHIC if dst == "cgcs2000" else _crs.WGS84
    return out.set_crs(target, allow_override=True)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError
    from xclz_geo.io import read_vector, write_table
    from xclz_geo.cli._common import check_output_file, print_json

    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and dst.resolve() == src.resolve():
        raise InputDataError(f"{dst}: the output would overwrite the input; choose another OUT file")
    check_output_file(dst, option=None, suffixes={".gpkg", ".geojson", ".json", ".parquet", ".geoparquet", ".shp", ".fgb"},
                      inputs=[src])
    gdf = read_vector(src, layer=args.layer)
    out = convert_file_frame(gdf, from_datum=args.from_datum, to_datum=args.to_datum, source=str(src))
    write_table(out, dst)
    summary = {"input": str(src), "output": str(dst), "features": int(len(out)), "from": args.from_datum,
               "to": args.to_datum, "crs": out.crs.to_string()}
    if args.json:
        print_json(summary)
    else:
        sys.stderr.write(f"xclz-geo: {len(out):,} features converted {args.from_datum} → {args.to_datum}: {dst}\n")
    return 0
