"""``xclz-geo landuse``: land use per part from parcels (三调 DLBM, 用地用海) or a land-cover raster."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from xclz_geo.cli._common import check_output_file, input_paths, load_zone, print_json
from xclz_geo.cli.options import add_input, add_json, add_out, add_quality, add_zone, refuse_existing

#: extensions of an --input read as a raster (anything else is a parcel layer)
RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2"}

#: the land-cover engine's default window (``landcover_by_polygons(max_window_cells=…)``), quoted in ``--help``
#: (kept here so that ``--help`` does not import numpy; a test checks it against the engine)
ENGINE_DEFAULT_WINDOW_CELLS = 2_000_000


def positive_megabytes(text: str) -> int:
    """argparse ``type`` of ``--memory-mb``: a positive whole number of megabytes (else exit 2 naming the option)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of megabytes (e.g. --memory-mb 200)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of megabytes (e.g. --memory-mb 200)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "landuse",
        help="land use per part: parcels (三调 DLBM, 用地用海 codes) or a land-cover raster (exact coverage)",
        description="Area of each land-use class inside each part, in m², 公顷 and 亩, with its share of the part. "
        "With --parcels: a parcel layer (GeoPackage, GBK or UTF-8 Shapefile …) with a code field (DLBM by default); "
        "parcels straddling a boundary count only their inside piece; overlaps and gaps are reported. "
        "With --raster: a categorical raster in any CRS, read by windows, weighted by the exact fraction of each "
        "cell inside the part; nodata and 'outside the raster' are reported apart. "
        "Exit 0 on success, 1 when the result has unknown codes or values, overlaps, or parts outside the raster "
        "(the output still lists everything), 2 for bad input.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    add_input(src, "parcel layer, or a raster (.tif .tiff .vrt .img …), told apart by the extension")
    src.add_argument("--parcels", metavar="FILE", help="parcel layer (三调 DLTB, planning parcels)")
    src.add_argument("--raster", metavar="FILE", help="categorical land-cover raster (GeoTIFF …)")
    p.add_argument("--layer", metavar="LAYER", help="layer of a multi-layer parcel file")
    p.add_argument("--code-field", metavar="F", help="field with the land-use code (default: DLBM, GHFLDM, 地类编码 … whichever exists)")
    p.add_argument("--name-field", metavar="F", help="field with the class name (default: DLMC … when present)")
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN",
                   help="use COLUMN for NAME (repeatable): 地类编码=COLUMN (as --code-field) or 地类名称=COLUMN (as --name-field)")
    p.add_argument("--scheme", default="auto", help="code scheme: auto (default), sandiao (三调), gbt21010, ydyh (用地用海)")
    p.add_argument("--encoding", metavar="ENC", help="attribute encoding of a Shapefile without .cpg (detected by default)")
    p.add_argument("--classes", metavar="CSV|worldcover|clcd",
                   help="raster class table: worldcover, clcd, or a CSV with value,name[,group] (default: raw values)")
    p.add_argument("--band", type=int, default=1, help="raster band (default 1)")
    p.add_argument("--memory-mb", type=positive_megabytes, metavar="N",
                   help="with --raster: working-memory budget of the overlay in MB (a whole number ≥ 1); the raster is "
                   "read in windows that fit it, the result is the same. Default: the engine's windows of "
                   f"{ENGINE_DEFAULT_WINDOW_CELLS:,} cells, about 100 MB for a 1-byte raster (CLCD, WorldCover)")
    p.add_argument("--level", default="2", choices=["1", "2", "3", "group"],
                   help="class level of the table: 1 (first level), 2 (default), 3, or group (report groups)")
    add_quality(p, "the parcels/raster", old=["--data-quality"])  # default: its quality field or tag
    add_zone(p)
    add_json(p)
    add_out(p, "file: the per-part class table (and, for .xlsx, the other tables)", metavar="FILE.csv|.xlsx")
    p.add_argument("--csv-safe", action="store_true",
                   help="CSV output: prefix ' to cells starting with = + - @ (Excel shows them as text, never as formulas)")
    p.add_argument("--engine", choices=["memory", "dask"], default="memory",
                   help="dask: --parcels is a folder or glob of GeoParquet files, --out a folder of per-parcel GeoParquet; "
                   "runs on a local cluster or on --scheduler ADDRESS (manual: 土地利用构成 › 全省规模, docs/zh/landuse.md)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="with --engine dask: a running Dask scheduler (tcp://host:8786)")
    p.set_defaults(func=run)


def _level(args: argparse.Namespace) -> Any:
    return "group" if args.level == "group" else int(args.level)


def _table_rows(result: Any, level: Any, raster: bool) -> Any:
    import pandas as pd

    if raster:
        tab = result.by_group if level == "group" else result.by_class
        tab = tab.rename(columns={"id": "part_id"})
        if level == "group":
            tab = tab.rename(columns={"group": "code"})
        else:
            tab = tab.rename(columns={"value": "code"})
        cols = [c for c in ["part_id", "code", "name", "group", "area_m2", "area_ha", "area_mu", "share", "cells", "in_class_table"] if c in tab.columns]
        return tab[cols]
    if level == "group":
        tab = result.by_group.rename(columns={"group": "code"})
    else:
        tab = result.level_table(level)
    return pd.DataFrame(tab)


def _write(result: Any, path: str, level: Any, raster: bool, *, csv_safe: bool = False) -> None:
    from xclz_geo.io import write_table

    table = _table_rows(result, level, raster)
    meta = f"quality: zone={result.method['quality']['zone']}, data={result.method['quality']['data']}; {result.method['area_basis']}"
    table = table.assign(quality_zone=result.method["quality"]["zone"], quality_data=result.method["quality"]["data"])
    if path.lower().endswith((".xlsx", ".xlsm")):
        import pandas as pd

        sheets = {"classes": table}
        if raster:
            sheets["parts"] = result.polygons.rename(columns={"id": "part_id"})
            sheets["groups"] = result.by_group.rename(columns={"id": "part_id"})
        else:
            sheets["parts"] = result.parts
            sheets["level1"] = result.by_level1
            sheets["groups"] = result.by_group
            sheets["parcels"] = result.parcels
            sheets["unknown_codes"] = result.unknown_codes
            sheets["overlaps"] = result.overlaps
        sheets["method"] = pd.DataFrame({"item": ["note"] + list(result.method.keys()),
                                         "value": [meta] + [str(v) for v in result.method.values()]})
        from xclz_geo.io import write_xlsx

        write_xlsx(sheets, path)  # the shared writer: names and codes stay text, never formulas
    else:
        write_table(table, path, csv_safe=csv_safe)


def _apply_field_option(args: argparse.Namespace) -> None:
    """``--field 地类编码=COL`` / ``--field 地类名称=COL`` → ``--code-field`` / ``--name-field``."""
    from xclz_geo.errors import InputDataError
    from xclz_geo.fieldnames import check_field_names, names_for, norm, parse_field_args

    fmap = parse_field_args(getattr(args, "field", None))
    if not fmap:
        return
    check_field_names(fmap, ("landuse",))
    for name, col in fmap.items():
        key = next(f.key for f in names_for("landuse")
                   if norm(name) in {norm(f.key), norm(f.name_zh), norm(f.name_en), *(norm(s) for s in f.short)})
        attr = "code_field" if key == "code" else "name_field"
        given = getattr(args, attr)
        if given and given != col:
            raise InputDataError(f"--field {name}={col} and --{attr.replace('_', '-')} {given} name two columns; give one")
        setattr(args, attr, col)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError
    from xclz_geo.landuse.overlay import landcover_by_part, landuse_by_part

    level = _level(args)
    if getattr(args, "input", None):  # --input: a raster or a parcel layer, by its extension
        from pathlib import Path

        if Path(args.input).suffix.lower() in RASTER_SUFFIXES:
            args.raster = args.input
        else:
            args.parcels = args.input
    if getattr(args, "engine", "memory") == "dask":
        from xclz_geo.cli._common import check_output_folder
        from xclz_geo.scale.jobs import landuse_job

        if args.raster or not args.out:
            raise InputDataError("--engine dask needs --parcels DIR_OR_GLOB and --out DIR (rasters run in memory)")
        if getattr(args, "memory_mb", None) is not None:
            raise InputDataError("--memory-mb applies to --raster, not to --engine dask")
        check_output_folder(args.out, members=("part.00000.parquet",), inputs=input_paths(args))
        _apply_field_option(args)
        summary = landuse_job(load_zone(args), args.parcels, args.out, code_field=args.code_field, name_field=args.name_field,
                              scheme=args.scheme, level=level if level in (1, 2, 3) else 2, scheduler=args.scheduler,
                              progress=not args.json)
        print_json(summary) if args.json else sys.stderr.write(f"xclz-geo: {summary['rows']:,} parcels → {args.out} ({summary['counts']})\n")
        return 0
    if args.out is not None:
        check_output_file(args.out, suffixes={".csv", ".txt", ".xlsx", ".xlsm", ".parquet"}, inputs=input_paths(args))
        refuse_existing([args.out], overwrite=args.overwrite)
    _apply_field_option(args)
    zone = load_zone(args)
    raster = args.raster is not None
    if raster:
        if args.code_field or args.name_field or args.layer:
            raise InputDataError("--code-field, --name-field and --layer apply to --parcels, not --raster")
        result = landcover_by_part(zone, args.raster, classes=args.classes, band=args.band, data_quality=args.quality,
                                   memory_mb=getattr(args, "memory_mb", None))
        problems = (result.polygons["status"] != "ok").any() or bool(result.method.get("unknown_values"))
    else:
        if args.classes:
            raise InputDataError("--classes applies to --raster, not --parcels")
        if getattr(args, "memory_mb", None) is not None:
            raise InputDataError("--memory-mb applies to --raster, not --parcels")
        result = landuse_by_part(
            zone, args.parcels, code_field=args.code_field, name_field=args.name_field, scheme=args.scheme,
            level=level if level in (1, 2, 3) else 2, layer=args.layer, encoding=args.encoding, data_quality=args.quality,
        )
        problems = len(result.unknown_codes) > 0 or len(result.overlaps) > 0
    if args.out:
        _write(result, args.out, level, raster, csv_safe=getattr(args, "csv_safe", False))
    if args.json:
        print_json(result.to_dict(level=level))
        return 1 if problems else 0
    _print(result, level, raster)
    if args.out:
        sys.stderr.write(f"xclz-geo: wrote {args.out}\n")
    return 1 if problems else 0


def _print(result: Any, level: Any, raster: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, soft_wrap=True, width=max(120, Console().width))
    table_rows = _table_rows(result, level, raster)
    m = result.method
    if raster:
        parts = result.polygons.rename(columns={"id": "part_id"})
    else:
        parts = result.parts
    for _, part in parts.iterrows():
        pid = part["part_id"]
        title = f"{pid}  ({part['status']})"
        t = Table(title=title)
        for col, just in [("code", "left"), ("name", "left"), ("m²", "right"), ("公顷", "right"), ("亩", "right"), ("share", "right")]:
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        sub = table_rows[table_rows["part_id"] == pid]
        for _, r in sub.iterrows():
            t.add_row(str(r["code"]), str(r["name"]), f"{r['area_m2']:,.0f}", f"{r['area_ha']:,.2f}", f"{r['area_mu']:,.1f}",
                      f"{r['share'] * 100:.2f}%" if r["share"] == r["share"] else "—")
        console.print(t)
        if raster:
            console.print(f"  nodata {part['nodata_m2']:,.0f} m² · outside the raster {part['outside_raster_m2']:,.0f} m²", markup=False)
        else:
            console.print(f"  parcels {part['parcel_count']} (straddling {part['straddling_count']}) · overlap {part['overlap_m2']:,.0f} m² "
                          f"· gap {part['gap_m2']:,.0f} m²", markup=False)
    if not raster and len(result.unknown_codes):
        console.print("unknown codes: " + ", ".join(f"{r['code'] or '(empty)'} ×{r['rows']}" for _, r in result.unknown_codes.iterrows()), markup=False)
    if raster:
        console.print(f"raster {m['raster']} · {m['raster_crs']} · cell {m['cell_size']} · classes {m['classes']}", markup=False)
    else:
        console.print(f"scheme {m['scheme']} ({m['scheme_title']}) · field {m['code_field']} · {m['scheme_detection'].get('reason', '')}", markup=False)
    console.print(f"areas: {m['area_basis']} · quality: zone {m['quality']['zone']}, data {m['quality']['data']}", markup=False)


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "ENGINE_DEFAULT_WINDOW_CELLS", "positive_megabytes", "register", "run"
]
