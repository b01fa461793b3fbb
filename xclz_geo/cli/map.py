"""``xclz-geo map``: an interactive map of the zone in one HTML file that opens with no network."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from xclz_geo.cli._common import add_boundaries_option, load_zone, print_json


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
    p.add_argument("--sheet", metavar="NAME", help="sheet of an XLSX site table")
    p.add_argument("--x", metavar="COL", help="longitude / easting column of --sites")
    p.add_argument("--y", metavar="COL", help="latitude / northing column of --sites")
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
    """Read the site table, run the site check, and return the table with its status columns."""
    import pandas as pd

    from xclz_geo.errors import InputDataError
    from xclz_geo.io import read_table
    from xclz_geo.geo.locate import locate, rename_stale_result_columns  # lazy: the site check is a separate module

    table = read_table(args.sites, sheet=args.sheet)
    table, _ = rename_stale_result_columns(table, source=str(args.sites))  # an xclz_status in the input is never trusted
    if args.x is None or args.y is None:
        raise InputDataError(f"{args.sites}: give the coordinate columns with --x COL --y COL")
    for col in (args.x, args.y):
        if col not in table.columns:
            raise InputDataError(f"{args.sites}: column {col!r} not found; columns are {', '.join(map(str, table.columns))}")
    from xclz_geo.geo.crs import normalize_datum
    from xclz_geo.errors import DatumError

    try:
        normalize_datum(args.datum)
        where: dict[str, Any] = {"datum": args.datum}
    except DatumError:  # a projected CRS such as EPSG:4549 rather than a datum tag
        where = {"crs": args.datum}
    result = locate(table, zone, x=args.x, y=args.y, **where)
    if not isinstance(result, pd.DataFrame) or len(result) != len(table):
        raise InputDataError(f"{args.sites}: the site check returned {len(result)} rows for {len(table)} input rows")
    result = result.reset_index(drop=True)
    if all(c in result.columns for c in table.columns):
        return result
    # the check returned only its own columns: put them beside the input, prefixed xclz_
    own = result.rename(columns={c: (c if str(c).startswith("xclz_") else f"xclz_{c}") for c in result.columns})
    own = own[[c for c in own.columns if c not in table.columns and c != "geometry"]]
    return pd.concat([table.reset_index(drop=True), own], axis=1)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import BrowserUnavailableError, XclzGeoWarning
    from xclz_geo.outputs.maps import TIANDITU_KEY_ENV, export_png, save_map, tianditu_key_notice, zone_map

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        from xclz_geo.errors import InputDataError

        raise InputDataError(f"--out {out}: the map is an HTML file; use a name ending in .html")
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
