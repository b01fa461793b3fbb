"""``xclz-geo map``: an interactive map of the zone in one HTML file that opens with no network."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from xclz_geo.cli._common import add_boundaries_option, check_output_file, input_paths, load_zone, print_json


def register(sub: argparse._SubParsersAction) -> None:
    from xclz_geo.outputs.maps import BASEMAPS, TIANDITU_KEY_ENV

    p = sub.add_parser(
        "map",
        help="interactive HTML map of the zone (self-contained, offline), optionally with site markers",
        description="Write an interactive map of the zone's parts, the county outlines and the G50, with optional "
        "site markers coloured by status. Every script and stylesheet is inlined from installed packages, so the "
        "file opens with no network (tiles aside). On the Gaode basemaps all overlays are shifted WGS84→GCJ-02 for "
        f"display. The Tianditu basemaps need a browser key in {TIANDITU_KEY_ENV}; the key is written into the "
        "output file's tile URLs (a browser key must be; anyone with the file can read it), a warning says so on "
        "every run, and the key is never printed.",
    )
    p.add_argument("--out", required=True, metavar="FILE.html", help="HTML file to write")
    add_boundaries_option(p)
    p.add_argument("--spec", metavar="FILE", help="zone spec TOML (default: the bundled one)")
    p.add_argument("--basemap", default="none", choices=list(BASEMAPS), help="basemap (default: none, fully offline)")
    p.add_argument("--tianditu-key", metavar="KEY", help=f"Tianditu browser key (better: set {TIANDITU_KEY_ENV}); it is written into the output HTML")
    p.add_argument("--sites", metavar="FILE", help="site table (CSV/XLSX/Parquet) to check against the zone and draw")
    p.add_argument("--sheet", metavar="NAME", help="sheet of an XLSX site table, by name or number (default: the first)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="row of the site table's header, 1 = the first row (default: found; title rows above it are passed over)")
    p.add_argument("--x", metavar="COL", help="longitude / easting column of --sites (default: detected: lon, lng, 经度, x …)")
    p.add_argument("--y", metavar="COL", help="latitude / northing column of --sites (default: detected: lat, 纬度, y …)")
    p.add_argument("--datum", default="wgs84", metavar="D", help="datum of --x/--y: wgs84, cgcs2000, gcj02, bd09, or a CRS such as EPSG:4549 (default wgs84)")
    p.add_argument("--site-render", default="auto", choices=["auto", "markers", "cluster", "canvas"],
                   help="how to draw sites (auto: markers ≤2,000, clusters ≤20,000, canvas above)")
    p.add_argument("--title", metavar="T", help="map title (default: the zone's name)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date printed under the title (default: today)")
    p.add_argument("--simplify-m", type=float, default=2.0, metavar="M", help="simplify part outlines to M metres (default 2)")
    p.add_argument("--no-counties", action="store_true", help="leave out the county outlines")
    p.add_argument("--no-g50", action="store_true", help="leave out the G50 motorway")
    p.add_argument("--cdn", action="store_true", help="link Leaflet from its CDN instead of inlining it (smaller file, needs internet)")
    p.add_argument("--png", metavar="FILE", help="also save a PNG of the map view (needs chromium + chromedriver)")
    p.add_argument("--json", action="store_true", help="print one JSON object describing what was written")
    p.set_defaults(func=run)


def _locate_sites(args: argparse.Namespace, zone: Any) -> Any:
    """Read the site table as text, check every site against the zone, and return the table with
    ``xclz_status``, ``xclz_block_id``, ``xclz_part_id``, ``xclz_distance_m`` and ``xclz_note``.

    The table is read like ``locate`` reads it (:func:`xclz_geo.io.read_table_text`: title rows
    passed over, ragged rows never shifted) and the coordinate columns are found the same way
    (经度/纬度, lon/lat …, or ``--x``/``--y``). Status columns already in the input are never
    trusted: they are kept under a new name (``xclz_status_input``) and recomputed.
    """
    from xclz_geo.errors import DatumError
    from xclz_geo.geo.crs import normalize_datum
    from xclz_geo.geo.locate import detect_xy_columns, locate, rename_stale_result_columns
    from xclz_geo.io import read_table, read_table_text

    src = Path(args.sites)
    if src.suffix.lower() == ".parquet":
        table = read_table(src)
        where_txt = str(src)
    else:
        text = read_table_text(src, sheet=args.sheet, header_row=getattr(args, "header_row", None))
        table = text.frame
        where_txt = f"{src}" + (f" (sheet {text.sheet_name})" if text.sheet_name else "")
    table, _ = rename_stale_result_columns(table, source=where_txt)  # an xclz_status in the input is never trusted
    xc, yc = detect_xy_columns(table.columns, x=args.x, y=args.y, source=where_txt)
    args.x, args.y = xc, yc  # the map draws the sites from the same columns
    try:
        normalize_datum(args.datum)
        where: dict[str, Any] = {"datum": args.datum}
    except DatumError:  # a projected CRS such as EPSG:4549 rather than a datum tag
        where = {"crs": args.datum}
    result = locate(table, zone, x=xc, y=yc, **where).reset_index(drop=True)
    out = table.reset_index(drop=True).copy()
    for c in result.columns:
        name = c if str(c).startswith("xclz_") else f"xclz_{c}"
        values = result[c].astype(object).where(result[c].notna(), None) if c == "status" else result[c]
        out[name] = values.to_numpy()
    return out


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import BrowserUnavailableError, XclzGeoWarning
    from xclz_geo.outputs.maps import TIANDITU_KEY_ENV, export_png, save_map, tianditu_key_notice, zone_map

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        from xclz_geo.errors import InputDataError

        raise InputDataError(f"--out {out}: the map is an HTML file; use a name ending in .html")
    check_output_file(out, inputs=input_paths(args))
    if args.png is not None:
        check_output_file(args.png, option="--png", suffixes={".png"}, inputs=input_paths(args))
    zone = load_zone(args)
    sites = _locate_sites(args, zone) if args.sites else None
    layers = ["parts", "sites"] + ([] if args.no_counties else ["counties"]) + ([] if args.no_g50 else ["g50"])
    m = zone_map(
        zone,
        basemap=args.basemap,
        sites=sites,
        layers=layers,
        title=args.title,
        tianditu_key=args.tianditu_key,
        simplify_tolerance_m=args.simplify_m,
        site_x=args.x if sites is not None else None,
        site_y=args.y if sites is not None else None,
        site_datum=args.datum,
        site_render=args.site_render,
        date=args.date,
    )
    path = save_map(m, out, inline_assets=not args.cdn)
    notice = tianditu_key_notice(args.basemap, path, source="--tianditu-key" if args.tianditu_key else TIANDITU_KEY_ENV)
    if notice:
        warnings.warn(notice, XclzGeoWarning, stacklevel=1)
    info = dict(getattr(m, "xclz_info", {}))
    summary: dict[str, Any] = {
        "out": str(path),
        "bytes": path.stat().st_size,
        "basemap": info.get("basemap", args.basemap),
        "datum_shown": info.get("datum"),
        "assets": "cdn" if args.cdn else "inlined",
        "sites": info.get("n_sites", 0),
        "site_render": info.get("site_mode"),
        "png": None,
    }
    if sites is not None:
        scol = "xclz_status" if "xclz_status" in sites.columns else ("status" if "status" in sites.columns else None)
        if scol:
            summary["site_status"] = {str(k): int(v) for k, v in sites[scol].astype(str).value_counts().items()}
    if args.png:
        try:
            export_png(path, args.png, offline=args.basemap == "none", settle_s=0.5 if args.basemap == "none" else 3.0)
        except BrowserUnavailableError as exc:
            raise BrowserUnavailableError(f"{exc} (the HTML map was written to {path}; only the PNG is missing)") from None
        summary["png"] = str(args.png)
    if args.json:
        print_json(summary)
        return 0
    kb = summary["bytes"] / 1024
    line = f"wrote {path} ({kb:,.0f} KB, basemap {summary['basemap']}, assets {summary['assets']}"
    if sites is not None:
        line += f", {summary['sites']:,} sites drawn as {summary['site_render']}"
    line += ")"
    sys.stdout.write(line + "\n")
    if summary["datum_shown"] == "gcj02":
        sys.stdout.write("note: overlays are shifted WGS84→GCJ-02 for display on Gaode tiles; the data are unchanged\n")
    if summary["png"]:
        sys.stdout.write(f"wrote {summary['png']}\n")
    return 0
