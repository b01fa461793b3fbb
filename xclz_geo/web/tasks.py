"""What the workbench's jobs do: thin calls of the library (and of the CLI's table path).

* ``locate`` — the batch site check of ``xclz-geo locate --input … --out …`` (the CLI's own code
  path, so the web and the command line give the same files: every input column and row kept,
  ``xclz_*`` columns added), written as ``result.xlsx``, ``result.csv`` and ``result.gpkg``, and
  ``sites.geojson`` (WGS84 points for the page's map).
* ``efficiency`` — :func:`xclz_geo.report.build_report` on the enterprise table (and parcels):
  ``report.html``, ``report.xlsx``, ``report.gpkg``.
* ``landuse`` — :func:`xclz_geo.landuse.landuse_by_part` (parcels) or
  :func:`~xclz_geo.landuse.landcover_by_part` (raster), with the TD/T 1029 indicators of
  :func:`xclz_geo.intensity.intensity` for parcels: ``result.csv``, ``result.xlsx``.

Each function reads ``ctx.params`` (set by the app: server-side file names, options, the path of
the boundary version) and returns the summary the job's page shows.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .jobs import JobContext

__all__ = ["efficiency_job", "landuse_job", "locate_job", "read_result_page"]

_PARSER: Any = None
_PARSER_LOCK = threading.Lock()
#: rows of the result table per page
PAGE_ROWS = 50
#: sites drawn on the job page's map at most
MAP_SITES_MAX = 20_000


def _cli_parser() -> Any:
    """The ``xclz-geo`` argument parser (built once; it imports every subcommand module)."""
    global _PARSER
    with _PARSER_LOCK:
        if _PARSER is None:
            from ..cli.main import build_parser

            _PARSER = build_parser()
        return _PARSER


def _cli(argv: list[str]) -> int:
    """Run one ``xclz-geo`` subcommand in this thread (toolkit errors propagate to the job)."""
    args = _cli_parser().parse_args(argv)
    return int(args.func(args) or 0)


def locate_job(ctx: JobContext) -> dict[str, Any]:
    """Batch site check of the uploaded table into result.xlsx / .csv / .gpkg and sites.geojson."""
    import json

    import pandas as pd

    from ..io import read_table

    p = ctx.params
    src = ctx.input_dir / p["input"]
    base = ["locate", "--input", str(src), "--datum", p["datum"], "--boundaries", str(ctx.input_dir / p["boundaries"])]
    for opt in ("sheet", "x", "y"):
        if p.get(opt):
            base += [f"--{opt}", str(p[opt])]
    outputs = ["result.csv", "result.xlsx", "result.gpkg"]
    for i, name in enumerate(outputs):
        ctx.progress(i / (len(outputs) + 1), f"writing {name}")
        _cli(base + ["--out", str(ctx.out_dir / name)])
    ctx.progress(0.9, "summarising")
    table = read_table(ctx.out_dir / "result.csv", dtype=str, keep_default_na=False)
    counts = {k: int(v) for k, v in table["xclz_status"].value_counts().items()}
    for k in ("inside", "uncertain", "outside", "invalid"):
        counts.setdefault(k, 0)
    by_part = (table[table["xclz_part"] != ""].groupby(["xclz_part", "xclz_status"]).size().unstack(fill_value=0))
    parts = [{"part_id": str(pid), **{str(k): int(v) for k, v in row.items()}} for pid, row in by_part.iterrows()]
    _sites_geojson(ctx.out_dir / "result.gpkg", ctx.out_dir / "sites.geojson")
    cols = [str(c) for c in table.columns]
    return {"rows": int(len(table)), "counts": counts, "by_part": parts, "columns": cols,
            "quality": json.loads(json.dumps(sorted(set(table["xclz_quality"])) if "xclz_quality" in table else []))}


def _sites_geojson(gpkg: Path, dest: Path) -> None:
    import json

    from ..io import read_vector

    gdf = read_vector(gpkg)
    feats = []
    ok = gdf.geometry.notna() & ~gdf.geometry.is_empty
    for i, (geom, status) in enumerate(zip(gdf.geometry, gdf["xclz_status"])):
        if not ok.iloc[i]:
            continue
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(geom.x, 7), round(geom.y, 7)]},
                      "properties": {"row": i + 1, "status": str(status)}})
        if len(feats) >= MAP_SITES_MAX:
            break
    dest.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")


def read_result_page(path: Path, *, page: int, rows: int = PAGE_ROWS) -> tuple[list[str], list[list[str]], int]:
    """Columns, the rows of one page (as text) and the number of rows of a result CSV."""
    import pandas as pd

    from ..io import detect_text_encoding

    enc = detect_text_encoding(path)
    with open(path, encoding=enc) as f:
        total = max(sum(1 for _ in f) - 1, 0)  # close enough for paging (quoted newlines are rare)
    start = max(page - 1, 0) * rows
    df = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, skiprows=range(1, start + 1), nrows=rows)
    return [str(c) for c in df.columns], df.astype(str).values.tolist(), total


def efficiency_job(ctx: JobContext) -> dict[str, Any]:
    """亩均效益 report (HTML, XLSX, GPKG) of the uploaded enterprise table (and parcels)."""
    import json
    from ..report import build_report
    from ..zone import Zone

    p = ctx.params
    zone = Zone.load(boundaries=ctx.input_dir / p["boundaries"])
    steps = [0]

    def say(msg: str) -> None:
        steps[0] += 1
        ctx.progress(min(steps[0] / 12, 0.95), msg)

    declared = {"enterprises": p["quality"]} if p.get("quality") else None
    res = build_report(
        zone=zone, enterprises=ctx.input_dir / p["enterprises"],
        parcels=ctx.input_dir / p["parcels"] if p.get("parcels") else None,
        method=p["method"], out_dir=ctx.out_dir, basename="report", datum=p["datum"], basemap=None,
        input_quality=declared, progress=say,
        input_names={"boundaries": f"boundary version {p.get('boundary_version')}",
                     "enterprises": (p.get("names") or {}).get(p["enterprises"], p["enterprises"]),
                     **({"parcels": (p.get("names") or {}).get(p["parcels"], p["parcels"])} if p.get("parcels") else {})},
    )
    _hide_server_paths(res.html_path, ctx)
    d = json.loads(_hide_paths_text(json.dumps(res.to_dict(), ensure_ascii=False, default=str), ctx))
    for k in ("html", "xlsx", "gpkg"):
        d[k] = Path(d[k]).name if d.get(k) else None
    return d


def _hide_paths_text(text: str, ctx: JobContext) -> str:
    """``text`` with the job's input files named as the user uploaded them (no server folders)."""
    for server_name, original in (ctx.params.get("names") or {}).items():
        text = text.replace(f"{ctx.input_dir}/{server_name}", original)
    return text.replace(f"{ctx.input_dir}/", "").replace(f"{ctx.out_dir}/", "")


def _hide_server_paths(html_path: Path, ctx: JobContext) -> None:
    """The same in a written report page (the library names inputs in its notes by their path)."""
    import html as _html

    text = html_path.read_text(encoding="utf-8")
    new = text
    for server_name, original in (ctx.params.get("names") or {}).items():
        new = new.replace(_html.escape(f"{ctx.input_dir}/{server_name}"), _html.escape(original))
    new = new.replace(_html.escape(f"{ctx.input_dir}/"), "").replace(_html.escape(f"{ctx.out_dir}/"), "")
    if new != text:
        html_path.write_text(new, encoding="utf-8")


def landuse_job(ctx: JobContext) -> dict[str, Any]:
    """Land use (parcels) or land cover (raster) per part, with the development-zone indicators."""
    import pandas as pd

    from ..io import write_table
    from ..landuse import landcover_by_part, landuse_by_part
    from ..report import ReportTable, write_xlsx
    from ..zone import Zone

    p = ctx.params
    zone = Zone.load(boundaries=ctx.input_dir / p["boundaries"])
    src = ctx.input_dir / p["input"]
    ctx.progress(0.1, "overlaying")
    tables: list[ReportTable] = []
    indicators: list[dict[str, Any]] = []
    notes: list[str] = []
    if p["source"] == "raster":
        res = landcover_by_part(zone, src, classes=p.get("classes") or None)
        d = res.to_dict()
        table = pd.DataFrame(res.by_class).rename(columns={"id": "part_id", "value": "code"})
    else:
        level = int(p.get("level") or 2)
        res = landuse_by_part(zone, src, level=level)
        d = res.to_dict(level=level)
        table = pd.DataFrame(res.table(level))
        ctx.progress(0.6, "indicators")
        try:
            from ..intensity import intensity
            from ..io import read_vector

            ti = intensity(read_vector(src), zone=zone)
            ind = ti.table[ti.table["level"] == "part"]
            indicators = [
                {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                for r in ind[["unit_id", "name_zh", "value", "unit", "national"]].to_dict("records")
            ]
            tables.append(ReportTable(key="indicators", title="开发区土地集约利用评价指标 TD/T 1029 indicators",
                                      df=ti.table, quality=str(ti.summary.get("quality", ""))))
            notes += [str(n) for n in ti.summary.get("notes", [])]
        except Exception as exc:  # the composition stands without the indicators; say why they are missing
            from ..errors import XclzGeoError

            if not isinstance(exc, XclzGeoError):
                raise
            notes.append(f"indicators not computed: {exc}")
    q = d["method"].get("quality", {})
    table = table.assign(quality_zone=q.get("zone"), quality_data=q.get("data"))
    ctx.progress(0.8, "writing")
    write_table(table, ctx.out_dir / "result.csv")
    tables.insert(0, ReportTable(key="composition", title="各园区用地构成 land use per part", df=table,
                                 quality=f"zone {q.get('zone')}, data {q.get('data')}"))
    write_xlsx(tables, ctx.out_dir / "result.xlsx", about=[("boundary version", str(p.get("boundary_version", "")))])
    d["indicators"] = indicators
    d["notes"] = notes
    import json

    from ..cli._common import dumps_json

    return json.loads(_hide_paths_text(dumps_json(d), ctx))
