"""``xclz-geo digitize``: 四至 text + line network → polygon GeoJSON and resolution record."""

from __future__ import annotations

import argparse
import sys

from xclz_geo.cli._common import check_output_file, input_paths, print_json


def _point(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.replace("，", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LON,LAT (e.g. 119.37,30.88), got {text!r}") from None
    return a, b


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "digitize",
        help="build the polygon a 四至 text describes from a road/river/rail network",
        description="Parse a 四至 text (东至…,南至…,西至…,北至…), match its names against a line network "
        "(GeoJSON, GeoPackage, Shapefile, DXF, FlatGeobuf, GeoParquet, .osm, .osm.pbf) and build the polygon "
        "in the CGCS2000 Gauss-Krüger zone. OUT is an RFC 7946 FeatureCollection whose first feature is the "
        "polygon with area_m2, area_mu and the resolution record. Exit status 0 on success, 1 when the text "
        "cannot be resolved against the network (reason on one line), 2 for unreadable input.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the 四至 text")
    src.add_argument("--text-file", metavar="FILE", help="file holding the 四至 text (UTF-8 or GBK)")
    p.add_argument("--part", metavar="NAME",
                   help="the text is a whole 实施范围 paragraph: digitize this part of it (e.g. 西区)")
    p.add_argument("--network", required=True, metavar="FILE", help="line network file")
    p.add_argument("--layer", help="layer of a multi-layer network file")
    p.add_argument("--name-field", metavar="F", help="attribute holding feature names (e.g. Layer for a DXF)")
    p.add_argument("--ref-field", metavar="F", help="attribute holding route numbers (default: ref)")
    p.add_argument("--encoding", help="attribute encoding of a Shapefile without .cpg (e.g. gbk)")
    p.add_argument("--crs", metavar="CRS", help="CRS of a network file that declares none (DXF), e.g. EPSG:4549")
    p.add_argument("--work-crs", metavar="CRS", help="metric CRS to work in (default: the GK zone of the network)")
    p.add_argument("--reference-point", type=_point, metavar="LON,LAT",
                   help="a point inside the area (CGCS2000 lon/lat); only breaks ties")
    p.add_argument("--tolerance-m", type=float, default=50.0, help="largest gap/extension closed, metres (default 50)")
    p.add_argument("--no-fuzzy", action="store_true", help="refuse fuzzy name matches")
    p.add_argument("--name", help="name of the area, written into the output")
    p.add_argument("--quality", choices=["official", "surveyed", "osm", "schematic", "synthetic"],
                   help="quality label of the network, carried into the output")
    p.add_argument("--out", required=True, metavar="OUT.geojson", help="output GeoJSON file")
    p.add_argument("--json", action="store_true", help="print the resolution record as JSON")
    p.set_defaults(func=run)


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    from xclz_geo.io import detect_text_encoding

    enc = detect_text_encoding(args.text_file)
    with open(args.text_file, encoding=enc) as f:
        return f.read()


def run(args: argparse.Namespace) -> int:
    import warnings

    from xclz_geo.boundaries.digitize import digitize
    from xclz_geo.errors import InputDataError
    from xclz_geo.boundaries.network import load_network
    from xclz_geo.boundaries.sizhi import parse_implementation_scope, parse_sizhi

    check_output_file(args.out, suffixes={".geojson", ".json"}, inputs=input_paths(args))
    text = _read_text(args).strip()
    if args.part:
        scope = parse_implementation_scope(text)
        names = [p.name for p in scope.parts]
        part = next((p for p in scope.parts if p.name == args.part), None)
        if part is None or part.sizhi is None:
            raise InputDataError(f"--part {args.part}: no such part in the text; parts: {', '.join(names)}")
        spec = part.sizhi
    else:
        spec = parse_sizhi(text)
    network = load_network(args.network, layer=args.layer, name_field=args.name_field, encoding=args.encoding,
                           crs=args.crs, ref_field=args.ref_field)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = digitize(spec, network, reference_point=args.reference_point, tolerance_m=args.tolerance_m,
                          crs=args.work_crs, allow_fuzzy=not args.no_fuzzy, name=args.name or args.part,
                          quality=args.quality)
    for w in caught:  # through the CLI's warning printer: one line each, repeats counted
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    out = result.to_geojson(args.out)
    if args.json:
        print_json(result.record)
        return 0
    rec = result.record
    gaps = rec["gaps_closed"]
    gap_txt = (f"{len(gaps)} gap(s)/extension(s) closed (largest {max(max([g.get('gap_m', 0.0)] + g.get('extension_m', [])) for g in gaps):.1f} m)"
               if gaps else "no gaps closed")
    fuzzy = [f["name"] for s in rec["sides"] for f in s["features"] if f["match"]["level"] == "fuzzy"]
    sys.stdout.write(
        f"wrote {out}: {result.area_km2:.3f} km² ({result.area_mu:,.0f} 亩, {result.area_m2:,.0f} m²) in {rec['crs']}; "
        f"{len(rec['sides'])} sides, {sum(len(s['features']) for s in rec['sides'])} features; {gap_txt}"
        + (f"; fuzzy matches: {', '.join(fuzzy)}" if fuzzy else "") + "\n"
    )
    return 0
