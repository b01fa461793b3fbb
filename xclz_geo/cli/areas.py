"""``xclz-geo areas``: check the official areas and measure the part polygons."""

from __future__ import annotations

import argparse
import sys

from xclz_geo.cli._common import load_zone, print_json
from xclz_geo.cli.options import add_json, add_zone


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "areas",
        help="check official areas (29.8 + 29.98 = 59.78 …) and measured polygon areas",
        description="Check the plan's declared arithmetic (parts sum to blocks, blocks to the zone) and "
        "measure each part's polygon in the CGCS2000 Gauss-Krüger zone and on the ellipsoid. "
        "Exit status 0 when every check passes, 1 when one fails, 2 for a malformed spec or file.",
    )
    add_zone(p)
    p.add_argument("--tolerance-pct", type=float, default=1.0, help="allowed deviation of measured from official area, %% (default 1)")
    add_json(p)
    p.set_defaults(func=run)


def _f(v: float | None, fmt: str) -> str:
    if v is None:
        return "—"
    text = format(v, fmt)
    # a deviation that rounds to zero is shown as 0, not -0 or +0.000
    return text.lstrip("+-") if set(text.lstrip("+-")) <= set("0.,") else text


def _quality(label: str | None, uncertainty_m: float | None) -> str:
    """``schematic ±4 km`` / ``official``: the label with the positional uncertainty when there is one."""
    if label is None:
        return "—"
    if uncertainty_m is None or uncertainty_m != uncertainty_m or uncertainty_m <= 0:
        return label
    return f"{label} ±{uncertainty_m / 1000:g} km" if uncertainty_m >= 1000 else f"{label} ±{uncertainty_m:g} m"


def run(args: argparse.Namespace) -> int:
    from xclz_geo.boundaries.zone import area_report

    zone = load_zone(args)
    report = area_report(zone, tolerance_pct=args.tolerance_pct)
    # the positional uncertainty travels with the quality label of each measured figure
    unc = dict(zip(zone.parts["part_id"], zone.parts["positional_uncertainty_m"]))
    if args.json:
        data = report.to_dict()
        for part in data["parts"]:
            u = unc.get(part["id"])
            part["positional_uncertainty_m"] = None if u is None or u != u else float(u)
        print_json(data)
        return 0 if report.ok else 1
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 260)
    z = report.zone
    title = f"{z['name_zh'] or 'zone'}  {z['name_en'] or ''}".strip()
    table = Table(title=title, caption=f"source: {z['source'] or '—'} · boundaries: {z['boundaries']} · "
                  f"quality: {report.quality_detail.get('label', report.quality) or '—'}")
    for col, just in [("part", "left"), ("名称", "left"), ("name", "left"),
                      ("official km²", "right"), ("official 公顷", "right"), ("official 亩", "right"),
                      ("measured km²", "right"), ("measured 公顷", "right"), ("measured 亩", "right"),
                      ("geodesic km²", "right"),
                      ("dev. km²", "right"), ("dev. 亩", "right"), ("deviation", "right"),
                      ("quality", "left"), ("status", "left")]:
        table.add_column(col, justify=just, no_wrap=col in ("part", "name"))  # type: ignore[arg-type]
    for p in report.parts:
        dev = "—" if p.deviation_pct is None else _f(p.deviation_pct, "+.2f") + "%"
        style = {"pass": "green", "fail": "bold red", "no geometry": "yellow"}.get(p.status, "")
        table.add_row(p.id, p.name_zh, p.name_en,
                      _f(p.official_km2, ".2f"), _f(p.official_ha, ",.0f"), _f(p.official_mu, ",.0f"),
                      _f(p.measured_km2, ".3f"), _f(p.measured_ha, ",.1f"), _f(p.measured_mu, ",.0f"),
                      _f(p.geodesic_km2, ".3f"),
                      _f(p.deviation_km2, "+.3f"), _f(p.deviation_mu, "+,.0f"), dev,
                      _quality(p.quality, unc.get(p.id)), f"[{style}]{p.status}[/]" if style else p.status)
    console.print(table)
    if report.areas:
        console.print(_areas_table(report))
    for c in report.checks:
        mark = {True: "[green]OK  [/]", False: "[bold red]FAIL[/]", None: "[yellow]--  [/]"}[c.ok]
        console.print(f"{mark} {c.name}: {c.detail}", markup=True)
    for n in report.notes:
        console.print(f"note: {n}", markup=False)
    return 0 if report.ok else 1


def _areas_table(report: object) -> object:
    """Functional areas (碳中和示范区 …): official vs measured, the part they lie in, how much lies outside."""
    from rich.table import Table

    t = Table(title="功能区 Functional areas (inside the parts)")
    for col, just in [("area", "left"), ("名称", "left"), ("block", "left"), ("part", "left"), ("official km²", "right"),
                      ("measured km²", "right"), ("deviation", "right"), ("outside m²", "right"), ("quality", "left"),
                      ("status", "left")]:
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for a in report.areas:  # type: ignore[attr-defined]
        dev = "—" if a.deviation_pct is None else _f(a.deviation_pct, "+.2f") + "%"
        style = {"pass": "green", "fail": "bold red", "outside part": "bold red", "no geometry": "yellow"}.get(a.status, "")
        t.add_row(a.id, a.name_zh, a.block, a.part or "—", _f(a.official_km2, ".2f"), _f(a.measured_km2, ".3f"), dev,
                  _f(a.outside_m2, ",.0f"), a.quality or "—", f"[{style}]{a.status}[/]" if style else a.status)
    return t


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "register", "run"
]
