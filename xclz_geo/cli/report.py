"""``xclz-geo report``: the land-efficiency report (HTML + XLSX + GeoPackage)."""

from __future__ import annotations

import argparse
import sys
import warnings

from xclz_geo.cli._common import check_output_folder, coordinate_frame, input_paths, load_zone, print_json, progress
from xclz_geo.cli.options import add_crs, add_datum, add_input, add_json, add_out, add_xy, add_zone, refuse_existing

#: steps :func:`xclz_geo.outputs.report.build_report` announces (for the progress bar)
_STEPS = 12


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="land-efficiency report: area check, map, land use, TD/T 1029 indicators, 亩均效益 classes, under-used land",
        description="Write one self-contained HTML report (opens offline), an XLSX with one sheet per table and a "
        "GeoPackage with the map layers into --out DIR. Without --enterprises, --parcels and --raster it runs on "
        "the bundled synthetic samples of data/samples/, labelled synthetic everywhere they appear. Sections whose "
        "input is missing say 'not available'. Exit status 0 when the report was written, 2 for bad input.",
    )
    add_zone(p)
    add_input(p, "enterprise table (CSV/XLSX, Chinese or English headers) for 亩均效益", also=["--enterprises"])
    p.add_argument("--sheet", metavar="NAME", help="sheet of an XLSX --enterprises file, by name or number (default: the first)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="row of the enterprise table's header, 1 = the first row (default: found; title rows above it are passed over)")
    p.add_argument("--parcels", metavar="FILE", help="parcel layer (GeoPackage, Shapefile, GeoJSON …) with land-use codes and status")
    p.add_argument("--raster", metavar="FILE", help="categorical land-cover raster (GeoTIFF)")
    p.add_argument("--method", default="anhui", metavar="M", help="evaluation method: anhui (default), zhejiang or a PROFILE.toml")
    add_out(p, "folder (created when missing)", required=True, metavar="DIR")
    p.add_argument("--title", help="report title (default: the zone's name + 土地集约利用报告)")
    p.add_argument("--code-field", metavar="FIELD", help="land-use code column of --parcels (default: detected, e.g. DLBM)")
    p.add_argument("--raster-classes", metavar="TABLE", help="class table of --raster: worldcover, clcd or a CSV (value,name[,group])")
    add_datum(p)
    add_crs(p, "the enterprise table's coordinate columns when they hold projected x/y (东坐标/北坐标)")
    add_xy(p)
    p.add_argument("--basemap", default=None,
                   help="basemap of the embedded map (default: none — fully offline); osm, tianditu, gaode …; tianditu and "
                   "tianditu-img need a browser key in XCLZ_TIANDITU_KEY, which is written into the report HTML (its tile URLs, "
                   "readable by anyone with the file); a warning says so on every run")
    p.add_argument(
        "--data-quality", action="append", default=[], metavar="INPUT=LABEL",
        help="declare the quality of an input that carries no label, e.g. enterprises=official (repeatable; "
        "inputs: enterprises, parcels, raster)",
    )
    p.add_argument("--field", action="append", default=[], metavar="NAME=COLUMN",
                   help="use COLUMN for field NAME in --enterprises or --parcels (repeatable), e.g. --field 建筑基底面积=JDMJ_2023, "
                   "--field 地类编码=CODE; NAME is the Chinese or English name or a short alias (see `efficiency template`)")
    p.add_argument("--history", metavar="H.sqlite", help="evaluation history (`efficiency --year Y --history H.sqlite`): "
                   "adds the 逐年变化 Year-over-year section (two latest stored years) and the shares of every stored year to 规划目标")
    p.add_argument("--targets", metavar="FILE", help="the plan's targets TOML (default: the bundled data/plan/targets.toml)")
    p.add_argument("--allow-method-change", action="store_true",
                   help="with --history: compare two years scored with different method profiles (the section says so)")
    p.add_argument("--no-samples", action="store_true", help="do not fall back to the bundled synthetic samples when no input is given")
    add_json(p)  # files, inputs, sections, facts
    p.set_defaults(func=run)


def _declared(items: list[str]) -> dict[str, str]:
    from xclz_geo.errors import InputDataError
    from xclz_geo.boundaries.zone import QUALITY_LEVELS

    out: dict[str, str] = {}
    for item in items:
        name, sep, label = item.partition("=")
        name, label = name.strip(), label.strip()
        if not sep or name not in ("enterprises", "parcels", "raster") or not label:
            raise InputDataError(f"--data-quality {item!r}: write INPUT=LABEL with INPUT one of enterprises, parcels, raster")
        if label not in QUALITY_LEVELS:
            raise InputDataError(f"--data-quality {item!r}: label {label!r} unknown; use one of {', '.join(QUALITY_LEVELS)}")
        out[name] = label
    return out


def run(args: argparse.Namespace) -> int:
    from xclz_geo.fieldnames import check_field_names, parse_field_args, use_field_map

    args.enterprises = args.input
    coordinate_frame(args)  # --datum/--crs checked as locate does; projected --crs: the reader converts to WGS84
    fmap = parse_field_args(getattr(args, "field", None))
    check_field_names(fmap, ("efficiency", "parcels", "landuse"))
    code_col = next((c for n, c in fmap.items() if _is_code_name(n)), None)
    if code_col and not args.code_field:
        args.code_field = code_col
    with use_field_map(fmap):
        return _run(args)


def _is_code_name(name: str) -> bool:
    from xclz_geo.fieldnames import names_for, norm

    f = next(f for f in names_for("landuse") if f.key == "code")
    return norm(name) in {norm(f.name_zh), norm(f.name_en), *(norm(s) for s in f.short)}


def _run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import XclzGeoWarning
    from xclz_geo.io import atomic_output_set
    from xclz_geo.outputs.report import DEFAULT_BASENAME, SAMPLE_RASTER_CLASSES, build_report, sample_inputs

    # the HTML, XLSX and GeoPackage of one run: written into a temporary folder inside --out, moved in together
    members = [f"{DEFAULT_BASENAME}{ext}" for ext in (".html", ".xlsx", ".gpkg")]
    check_output_folder(args.out, members=members, inputs=input_paths(args))
    from pathlib import Path

    refuse_existing([Path(args.out) / m for m in members], overwrite=args.overwrite)
    declared = _declared(args.data_quality)
    zone = load_zone(args)
    enterprises, parcels, raster = args.enterprises, args.parcels, args.raster
    if enterprises and (args.sheet or args.header_row or args.x or args.y or args.projected_crs):
        from xclz_geo.efficiency.evaluate import read_enterprises

        enterprises = read_enterprises(enterprises, sheet=args.sheet, header_row=args.header_row, x=args.x, y=args.y,
                                       crs=args.projected_crs)
    used_samples: list[str] = []
    if not (enterprises or parcels or raster) and not args.no_samples:
        samples = sample_inputs()
        enterprises, parcels, raster = samples["enterprises"], samples["parcels"], samples["raster"]
        if raster is not None and args.raster_classes is None:
            args.raster_classes = SAMPLE_RASTER_CLASSES
        used_samples = [k for k, v in samples.items() if v is not None]
    bar = progress(total=_STEPS, desc="report")
    try:
        def say(msg: str) -> None:
            bar.set_postfix_str(msg)
            bar.update(1)

        with atomic_output_set(args.out, members=members) as outset:
            result = build_report(
                zone=zone, enterprises=enterprises, parcels=parcels, raster=raster, method=args.method,
                out_dir=outset.stage, title=args.title, code_field=args.code_field, raster_classes=args.raster_classes,
                datum=args.datum, basemap=args.basemap, input_quality=declared, progress=say,
                history=args.history, targets=args.targets, allow_method_change=args.allow_method_change,
            )
        result.html_path = outset.final(result.html_path)
        result.xlsx_path = outset.final(result.xlsx_path)
        result.gpkg_path = outset.final(result.gpkg_path)
    finally:
        bar.close()
    from xclz_geo.outputs.maps import tianditu_key_notice

    notice = tianditu_key_notice(args.basemap, result.html_path)
    if notice and any(s.id == "map" and s.status == "ok" for s in result.sections):
        warnings.warn(notice, XclzGeoWarning, stacklevel=1)
    if args.json:
        d = result.to_dict()
        d["samples_used"] = used_samples
        print_json(d)
        return 0
    w = sys.stdout.write
    if used_samples:
        w(f"no inputs given: ran on the bundled SYNTHETIC samples ({', '.join(used_samples)}) — labelled synthetic in every output\n")
    for s in result.sections:
        mark = "ok " if s.status == "ok" else "-- "
        extra = "" if s.status == "ok" else f"  (not available: {s.reason})"
        w(f"{mark} {s.title}{extra}\n")
        for n in s.notes:
            w(f"      note: {n}\n")
    under = next((s for s in result.sections if s.id == "underused" and s.status == "ok"), None)
    if under is not None:
        w(f"land that could be freed (estimate): {under.facts['total_freeable_mu']:,.1f} 亩 [{under.facts['quality']}]\n")
    for c in result.caveats:
        w(f"caveat: {c}\n")
    for n in result.notes:
        w(f"note: {n}\n")
    w(f"HTML: {result.html_path}\n")
    w(f"XLSX: {result.xlsx_path}\n")
    w(f"GPKG: {result.gpkg_path if result.gpkg_path else '(no map layers: nothing written)'}\n")
    return 0


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "register", "run"
]
