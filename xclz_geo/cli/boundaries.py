"""``xclz-geo boundaries import``: bring a planner's official red line into the boundaries schema."""

from __future__ import annotations

import argparse
from pathlib import Path

from xclz_geo.cli._common import check_output_file, print_json
from xclz_geo.cli.options import (HELP, add_crs, add_datum, add_input, add_json, add_out, add_quality,
                                  refuse_existing)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "boundaries",
        help="import official boundary files (SHP/DXF/GPKG/GeoJSON) into the boundaries schema",
        description="Work with boundaries files in the xclz_geo schema (one row per part).",
    )
    bsub = p.add_subparsers(dest="boundaries_command", metavar="ACTION")
    imp = bsub.add_parser(
        "import",
        help="import one part's red line from a vector file",
        description="Import one part's boundary as it comes from the planning bureau: a Shapefile with GBK "
        "attributes, closed polylines in a DXF, a GeoPackage or GeoJSON, in CGCS2000 lon/lat or Gauss-Krüger "
        "metres (zone-prefixed eastings too). A missing CRS is detected from the coordinates' magnitude and "
        "stated; several polygons are dissolved; invalid rings are repaired with a warning that says where. "
        "The part is written into OUT, replacing that part if OUT (or --base) already has it, so parts can "
        "be replaced one at a time. A DXF is read by CAD layer: when more than one layer holds closed outlines "
        "(红线 and 地形, say), nothing is imported until --select Layer=NAME says which; a GeoPackage with several "
        "layers needs --layer NAME likewise. The output's source names the layer(s) and entity handles used. "
        "--list (or `xclz-geo boundaries layers FILE`) lists the layers without importing. "
        "Exit 0 ok, 2 unreadable file, no layer chosen, or coordinates that fit no Chinese CRS.",
    )
    add_input(imp, "the boundary file (.shp, .dxf, .gpkg, .geojson …)", positional="FILE")
    imp.add_argument("--part", metavar="ID", help="part id, e.g. xuancheng, guangde_main, guangde_west (required unless --list)")
    add_out(imp, "boundaries file (.geojson or .gpkg; required unless --list); an existing one is updated part by part "
            "(--overwrite is needed only to replace it with --only or another --base)")
    imp.add_argument("--list", action="store_true", help="only list the layers, closed entities, handles and areas; import nothing")
    add_crs(imp, "a file that declares none", default_text=" (default: detected)")
    imp.add_argument("--layer", metavar="LAYER", help="layer of a multi-layer file (GeoPackage)")
    imp.add_argument("--encoding", metavar="ENC", help="attribute encoding, e.g. gbk (default: detected for Shapefiles)")
    imp.add_argument(
        "--select", metavar="FIELD=VALUE", action="append", default=[],
        help="keep only features whose FIELD equals VALUE, e.g. 名称=主园区 or Layer=红线 (repeatable)",
    )
    imp.add_argument("--where", metavar="SQL", help="OGR SQL attribute filter, e.g. \"Layer = '红线'\" (quote Chinese column names with \"…\")")
    add_datum(imp, default=None)  # gcj02 or bd09 for lon/lat traced on Amap/Baidu maps
    imp.add_argument("--block", metavar="ID", help="block id, for a part that is not in the spec")
    add_quality(imp, "the result", default="official")
    imp.add_argument("--uncertainty-m", type=float, metavar="M", help="positional uncertainty in metres (default 0 for official)")
    imp.add_argument("--source", metavar="TEXT", help="source text to store (default: file name and CRS)")
    imp.add_argument("--spec", metavar="FILE", help=HELP["--spec"])
    base = imp.add_mutually_exclusive_group()
    base.add_argument(
        "--base", metavar="FILE",
        help="boundaries to start from (a file, or 'bundled' for the bundled schematic zone); default: OUT if it exists",
    )
    base.add_argument("--only", action="store_true", help="write only this part (ignore an existing OUT)")
    imp.add_argument("--area", metavar="ID",
                     help="import a functional area of the spec instead of a part (carbon_neutral, wanling_science_city, "
                     "auto_testing_town, bonded_logistics_center, aerospace_park): written as layer 'areas' of OUT (.gpkg) "
                     "beside the parts of --base (or OUT); an outline that leaves its part is refused")
    add_json(imp)
    imp.set_defaults(func=run_import)

    lay = bsub.add_parser(
        "layers",
        help="list the layers of a boundary file (CAD layers with closed entities, handles, areas; GeoPackage layers)",
        description="List what a boundary file holds without importing it: for a DXF, each CAD layer (GDAL's Layer "
        "field) with its closed entities, their handles (EntityHandle) and areas; for a GeoPackage, each layer with "
        "its feature count. Areas are planar km² and 亩 in the file's CRS (metric) or its Gauss-Krüger zone; a file "
        "without a CRS has it detected as `boundaries import` does. Exit 0, 2 for an unreadable file.",
    )
    add_input(lay, "the boundary file (.dxf, .gpkg, .shp, .geojson …)", positional="FILE")
    add_crs(lay, "a file that declares none", default_text=" (default: detected)")
    lay.add_argument("--layer", metavar="LAYER", help="list the CAD layers inside this layer of a multi-layer file")
    lay.add_argument("--encoding", metavar="ENC", help="attribute encoding, e.g. gbk")
    lay.add_argument("--where", metavar="SQL", help="OGR SQL attribute filter applied first")
    lay.add_argument("--part", metavar="ID", help="part the file is for (its county fixes the zone of unprefixed eastings)")
    lay.add_argument("--spec", metavar="FILE", help=HELP["--spec"])
    add_json(lay)
    lay.set_defaults(func=run_layers)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _parse_select(items: list[str]) -> dict[str, list[str]]:
    """``["Layer=红线", "Layer=红线2", "名称=主园区"]`` → ``{"Layer": ["红线", "红线2"], "名称": ["主园区"]}``
    (values of one field are alternatives; different fields must all match)."""
    from xclz_geo.errors import InputDataError

    out: dict[str, list[str]] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise InputDataError(f"--select {item!r}: write it as FIELD=VALUE, e.g. 名称=主园区 or Layer=红线")
        out.setdefault(field.strip(), []).append(value.strip())
    return out


def _print_listing(listing: object, *, json_out: bool, stream: object = None) -> None:
    import sys

    if json_out:
        print_json(listing.to_dict())  # type: ignore[attr-defined]
        return
    out = stream or sys.stdout
    for line in listing.lines():  # type: ignore[attr-defined]
        out.write(line + "\n")  # type: ignore[attr-defined]


def _need_input(args: argparse.Namespace, action: str) -> None:
    from xclz_geo.errors import InputDataError

    if not getattr(args, "input", None):
        raise InputDataError(f"boundaries {action} needs the boundary file: --input FILE")
    args.file = args.input


def run_layers(args: argparse.Namespace) -> int:
    from xclz_geo.boundaries.importing import list_layers

    _need_input(args, "layers")

    listing = list_layers(args.file, layer=args.layer, crs=args.crs, encoding=args.encoding, where=args.where,
                          part_id=args.part, spec=args.spec)
    _print_listing(listing, json_out=args.json)
    return 0


def run_import(args: argparse.Namespace) -> int:
    import sys

    from xclz_geo.boundaries.importing import (LayerChoiceError, import_boundaries, list_layers, merge_boundaries,
                                               write_boundaries)
    from xclz_geo.datasets import boundaries_path
    from xclz_geo.errors import InputDataError

    _need_input(args, "import")
    if args.list:
        listing = list_layers(args.file, layer=args.layer, crs=args.crs, encoding=args.encoding, where=args.where,
                              part_id=args.part, spec=args.spec)
        _print_listing(listing, json_out=args.json)
        return 0
    if getattr(args, "area", None):
        return _run_import_area(args)
    missing = [opt for opt, v in (("--part", args.part), ("--out", args.out)) if not v]
    if missing:
        raise InputDataError(f"boundaries import needs {' and '.join(missing)} (or --list to only list the layers)")
    # OUT may be the base it updates, never the file being imported (or the spec)
    check_output_file(args.out, suffixes={".geojson", ".json", ".gpkg"}, inputs=[args.file, args.spec])
    try:
        res = import_boundaries(
            args.file,
            part_id=args.part,
            crs=args.crs,
            layer=args.layer,
            encoding=args.encoding,
            where=args.where,
            select=_parse_select(args.select),
            datum=args.datum,
            block_id=args.block,
            quality=args.quality,
            uncertainty_m=args.uncertainty_m,
            source=args.source,
            spec=args.spec,
        )
    except LayerChoiceError as exc:
        # the list goes to stderr (stdout stays clean for --json); the one-line error follows
        _print_listing(exc.listing, json_out=False, stream=sys.stderr)
        raise
    out = Path(args.out)
    if args.only:
        base = None
    elif args.base == "bundled":
        base = boundaries_path()
    elif args.base:
        base = Path(args.base)
    else:
        base = out if out.exists() else None
    if base is None or not out.exists() or Path(base).resolve() != out.resolve():
        refuse_existing([out], overwrite=args.overwrite)  # OUT is replaced, not updated: only with --overwrite
    merged = merge_boundaries(base, res.boundaries, spec=args.spec)
    if not _write_with_areas(merged, base, out, args):  # functional areas of a GeoPackage base are kept
        write_boundaries(merged, out)
    info = res.to_dict()
    info["out"] = str(out)
    info["base"] = str(base) if base is not None else None
    info["parts_in_out"] = [
        {"part_id": r.part_id, "quality": r.quality, "replaced": r.part_id == res.part_id}
        for r in merged.itertuples()
    ]
    if args.json:
        print_json(info)
        return 0
    off = info["official_area_km2"]
    dev = "" if off is None else f" (official {off:g} km², {info['deviation_pct']:+.2f}%)"
    print(f"read {info['file']}: {info['features']} feature(s), {info['polygons']} polygon(s)")
    print(f"CRS: {info['crs_note']}")
    if info["layers"]:
        used = f"used {'CAD ' if info['layer_field'] else ''}layer(s): {', '.join(info['layers'])}"
        if info["entity_handles"]:
            used += f"; entity handles: {', '.join(info['entity_handles'])}"
        print(used)
    for n in info["notes"]:
        print(f"note: {n}")
    print(
        f"part {info['part_id']} ({info['name_zh']}): {info['area_km2']:.3f} km² in {info['measured_in']}{dev}, "
        f"quality {info['quality']}, positional uncertainty {info['positional_uncertainty_m']:g} m"
    )
    parts = ", ".join(f"{p['part_id']} {p['quality']}" + (" (new)" if p["replaced"] else "") for p in info["parts_in_out"])
    origin = f" (other parts kept from {base})" if base is not None else ""
    print(f"wrote {out}{origin}: {parts}")
    return 0


# ------------------------------------------------------------------ functional areas (issue 16 item 4)


def _write_with_areas(merged, base, out: Path, args: argparse.Namespace) -> bool:  # noqa: ANN001
    """Keep the ``areas`` layer of a GeoPackage base when a part is replaced; an area that now leaves its part is
    dropped with a warning naming it (re-import it). False when the base has no areas (nothing done)."""
    import warnings

    from xclz_geo.boundaries.area_import import write_boundaries_with_areas
    from xclz_geo.boundaries.areas import area_statuses, read_areas
    from xclz_geo.boundaries.zone import QUALITY_LEVELS, Zone
    from xclz_geo.errors import DataQualityWarning, InputDataError

    areas = read_areas(base, quality_levels=QUALITY_LEVELS) if base is not None else None
    if areas is None or not len(areas):
        return False
    if out.suffix.lower() != ".gpkg":
        raise InputDataError(f"{base} has functional areas (layer areas); write --out as .gpkg to keep them")
    zone = Zone.from_boundaries(merged, spec=args.spec) if args.spec else Zone.from_boundaries(merged)
    zone = Zone(zone.parts, spec=zone.spec, boundaries_source=zone.boundaries_source, areas=areas)
    bad = {s.id: s for s in area_statuses(zone) if s.status == "outside part"}
    for aid, st in bad.items():
        warnings.warn(f"area {aid!r} ({st.name_zh}) leaves the new part {st.part!r} ({st.outside_m2:,.0f} m², "
                      f"{st.outside_pct:.2f} % outside): dropped from {out}; import it again with --area {aid}",
                      DataQualityWarning, stacklevel=2)
    keep = zone.areas[~zone.areas["area_id"].isin(list(bad))]
    write_boundaries_with_areas(merged, keep, out)
    return True


def _run_import_area(args: argparse.Namespace) -> int:
    from xclz_geo.boundaries.area_import import import_area
    from xclz_geo.datasets import boundaries_path
    from xclz_geo.errors import InputDataError

    if args.part:
        raise InputDataError("boundaries import: give --part (a part) or --area (a functional area), not both")
    if not args.out:
        raise InputDataError("boundaries import --area needs --out FILE.gpkg")
    out = Path(args.out)
    if out.suffix.lower() != ".gpkg":
        raise InputDataError(f"{out}: functional areas are stored as layer 'areas' of a GeoPackage; give --out FILE.gpkg")
    if args.only:
        raise InputDataError("--only does not apply to --area: an area is stored beside the parts it lies in")
    if args.base == "bundled":
        base = boundaries_path()
    elif args.base:
        base = Path(args.base)
    elif out.exists():
        base = out
    else:
        raise InputDataError(f"{out} does not exist yet: give --base FILE (or --base bundled) with the parts the area lies in")
    if out.exists() and Path(base).resolve() != out.resolve():
        refuse_existing([out], overwrite=args.overwrite)  # OUT is replaced by another base: only with --overwrite
    info = import_area(args.file, area_id=args.area, base=base, out=out, spec=args.spec, quality=args.quality,
                       uncertainty_m=args.uncertainty_m, source=args.source, crs=args.crs, layer=args.layer,
                       encoding=args.encoding, where=args.where, select=_parse_select(args.select), datum=args.datum)
    if args.json:
        print_json(info)
        return 0
    off = info["official_area_km2"]
    dev = "" if off is None else f" (official {off:g} km², {info['deviation_pct']:+.2f}%)"
    print(f"read {info['file']}; CRS: {info['crs_note']}")
    for n in info["notes"]:
        print(f"note: {n}")
    how = "from the spec" if info["part_from"] == "spec" else "found from the geometry"
    print(f"area {info['area_id']} ({info['name_zh']}): {info['area_km2']:.3f} km²{dev}, quality {info['quality']}; "
          f"lies in part {info['part_id']} ({how}), {info['outside_m2']:,.0f} m² outside (band {info['band_m']:g} m)")
    print(f"wrote {out} (parts from {base}; areas with geometry: {', '.join(info['areas_in_out'])})")
    return 0


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "register", "run_layers", "run_import"
]
