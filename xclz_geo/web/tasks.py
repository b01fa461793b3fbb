"""What the workbench's jobs do: thin calls of the library (the web sits below the CLI and never imports it).

* ``locate`` — the batch site check as ``xclz-geo locate --input … --out …`` does it: the table read
  by the library's reader (:func:`xclz_geo.io.read_table_text`: every cell as typed),
  :func:`xclz_geo.geo.locate.locate_table`, and written back by the library's writer
  (:func:`xclz_geo.io.write_table_back`: every input cell unchanged, ``xclz_*`` columns added) as
  ``result.xlsx`` and ``result.csv``; ``result.gpkg`` (WGS84 points) and ``sites.geojson`` (the map).
* ``efficiency`` — :func:`xclz_geo.outputs.report.build_report` on the enterprise table (and
  parcels): ``report.html``, ``report.xlsx``, ``report.gpkg``.
* ``landuse`` — :func:`xclz_geo.landuse.overlay.landuse_by_part` (parcels) or
  :func:`~xclz_geo.landuse.overlay.landcover_by_part` (raster), with the TD/T 1029 indicators of
  :func:`xclz_geo.efficiency.intensity.intensity` for parcels: ``result.csv``, ``result.xlsx``.

Each function reads ``ctx.params`` (set by the app: server-side file names, options, the path of
the boundary version) and returns the summary the job's page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xclz_geo.web.jobs import JobContext

__all__ = ["efficiency_job", "landuse_job", "locate_job", "read_result_page"]

#: rows of the result table per page
PAGE_ROWS = 50
#: sites drawn on the job page's map at most
MAP_SITES_MAX = 20_000


def _read(src: Path, *, sheet: str | None) -> Any:
    """An uploaded table through the library's reader: every cell as the text the user typed."""
    from xclz_geo.io import read_table_text

    return read_table_text(src, sheet=sheet)


def _write(table: Any, added: Any, dst: Path, *, about: Any = None) -> None:
    """The table with the ``added`` columns into ``dst`` through the library's writer (every input cell unchanged).

    ``about`` (a small item/value table: boundary version, datum, …) becomes a sheet ``xclz_about``
    after the user's sheets of a workbook.
    """
    from xclz_geo.io import write_table_back

    extra = {"xclz_about": about} if about is not None and dst.suffix.lower() in (".xlsx", ".xlsm") else None
    write_table_back(table, added, dst, extra_sheets=extra)


def _added_columns(res: Any, notes: Any) -> Any:
    """The ``xclz_*`` columns a batch check adds, exactly as ``xclz-geo locate`` adds them (:func:`annotate_table`)."""
    import pandas as pd

    from xclz_geo.geo.locate import annotate_table

    return annotate_table(pd.DataFrame(index=pd.RangeIndex(len(res))), res, notes)


def _wgs84_points(frame: Any, xc: str, yc: str, res: Any, datum: str) -> Any:
    """WGS84 points of the located rows (``None`` for invalid rows)."""
    from xclz_geo.geo.grid import make_frame
    from xclz_geo.geo.locate import parse_coordinates, wgs84_points

    xv, _ = parse_coordinates(frame[xc])
    yv, _ = parse_coordinates(frame[yc])
    return wgs84_points(make_frame(datum=datum), xv, yv, res.status != 3)


def locate_job(ctx: JobContext) -> dict[str, Any]:
    """Batch site check of the uploaded table into result.xlsx / .csv / .gpkg and sites.geojson."""
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.boundaries.zone import Zone
    from xclz_geo.geo.locate import detect_xy_columns, locate_table
    from xclz_geo.io import write_table

    p = ctx.params
    src = ctx.input_dir / p["input"]
    original = (p.get("names") or {}).get(p["input"], p["input"])
    zone = Zone.load(boundaries=ctx.input_dir / p["boundaries"])
    zone.warn_if_schematic()  # recorded on the job's page
    ctx.progress(0.05, "reading")
    table = _read(src, sheet=p.get("sheet"))
    frame = table.frame
    xc, yc = detect_xy_columns(frame.columns, x=p.get("x"), y=p.get("y"), source=original)
    ctx.progress(0.2, "locating")
    res = locate_table(zone, frame, x=xc, y=yc, datum=p["datum"], with_distance=True, source=original)
    notes = res.row_notes
    added = _added_columns(res, notes)
    ctx.progress(0.4, "writing result.xlsx")
    about = pd.DataFrame({
        "item": ["input 输入", "sheet 工作表", "x column 经度列", "y column 纬度列", "datum 坐标系", "boundary version 边界版本",
                 "boundary quality 边界质量", "written by"],
        "value": [original, str(table.sheet_name or ""), str(xc), str(yc), str(p["datum"]),
                  str(p.get("boundary_version", "")), "; ".join(f"{k}: {v}" for k, v in zone.quality_by_part.items()),
                  "xclz_geo workbench (xclz-geo serve)"],
    })
    _write(table, added, ctx.out_dir / "result.xlsx", about=about)
    ctx.progress(0.6, "writing result.csv")
    _write(table, added, ctx.out_dir / "result.csv")
    ctx.progress(0.8, "writing result.gpkg")
    base = frame.drop(columns=[c for c in added.columns if c in frame.columns]).reset_index(drop=True)
    layer = gpd.GeoDataFrame(pd.concat([base, added], axis=1), geometry=_wgs84_points(frame, xc, yc, res, p["datum"]),
                             crs="EPSG:4326")
    write_table(layer, ctx.out_dir / "result.gpkg")
    _sites_geojson(layer, ctx.out_dir / "sites.geojson")
    counts = res.counts()
    by = pd.DataFrame({"part": added["xclz_part"], "status": added["xclz_status"]}).dropna()
    parts = [{"part_id": str(pid), **{str(k): int(v) for k, v in row.items()}}
             for pid, row in by.groupby(["part", "status"]).size().unstack(fill_value=0).iterrows()]
    return {"rows": int(len(frame)), "counts": counts, "by_part": parts, "columns": [str(c) for c in frame.columns],
            "x": str(xc), "y": str(yc), "sheet": table.sheet_name,
            "quality": sorted({str(q) for q in added.get("xclz_quality", pd.Series(dtype=str)).dropna()})}


def _sites_geojson(gdf: Any, dest: Path) -> None:
    import json

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

    from xclz_geo.io import detect_text_encoding

    enc = detect_text_encoding(path)
    with open(path, encoding=enc) as f:
        total = max(sum(1 for _ in f) - 1, 0)  # close enough for paging (quoted newlines are rare)
    start = max(page - 1, 0) * rows
    df = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False, skiprows=range(1, start + 1), nrows=rows)
    return [str(c) for c in df.columns], df.astype(str).values.tolist(), total


def efficiency_job(ctx: JobContext) -> dict[str, Any]:
    """亩均效益 report (HTML, XLSX, GPKG) of the uploaded enterprise table (and parcels)."""
    import json
    from xclz_geo.outputs.report import build_report
    from xclz_geo.boundaries.zone import Zone

    p = ctx.params
    zone = Zone.load(boundaries=ctx.input_dir / p["boundaries"])
    steps = [0]

    def say(msg: str) -> None:
        steps[0] += 1
        ctx.progress(min(steps[0] / 12, 0.95), msg)

    declared = {"enterprises": p["quality"]} if p.get("quality") else None
    res = build_report(
        zone, enterprises=ctx.input_dir / p["enterprises"],
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

    from xclz_geo.io import write_table
    from xclz_geo.landuse.overlay import landcover_by_part, landuse_by_part
    from xclz_geo.outputs.report import ReportTable, write_xlsx
    from xclz_geo.boundaries.zone import Zone

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
        table = pd.DataFrame(res.level_table(level))
        ctx.progress(0.6, "indicators")
        try:
            from xclz_geo.efficiency.intensity import intensity
            from xclz_geo.io import read_vector

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
            from xclz_geo.errors import XclzGeoError

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

    from xclz_geo.web.jobs import json_dumps

    return json.loads(_hide_paths_text(json_dumps(d), ctx))
