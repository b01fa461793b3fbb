"""The land-efficiency report: one self-contained HTML, one XLSX, one GeoPackage.

:func:`build_report` runs the toolkit's analyses on a zone and whatever inputs are given and
writes, into ``out_dir``:

``land_efficiency_report.html``
    One file that opens offline (no script, stylesheet or image is fetched from the network):
    the inputs and their quality labels, the official-area check, the interactive map
    (Leaflet inlined by :func:`xclz_geo.outputs.maps.save_map`, embedded as an ``<iframe srcdoc>``),
    the land-use composition per part, the TD/T 1029 indicator table beside the national
    averages, the 亩均效益 class distribution and per-mu charts (Chinese labels, PNG data URIs),
    and the under-used land table with the 亩 that could be freed.
``land_efficiency_report.xlsx``
    One sheet per table (an ``about`` sheet first lists every sheet with its quality label and
    caveats); every table sheet also carries the quality label in a column.
``land_efficiency_report.gpkg``
    The map layers (zone parts, enterprises by class, land-use parcels, under-used land), each
    with a ``quality`` column.

Data honesty: every table, chart and layer carries the quality label of the data it is derived
from (e.g. ``schematic`` boundaries, ``synthetic`` samples), and the method's ``confirmed =
false`` caveat wherever scores or classes appear. A section whose input is missing (no parcels,
no raster …) says so — "not available: no parcels given" — and never shows an invented number.

The bundled synthetic samples of ``data/samples/`` (see :func:`sample_inputs`) are what
``xclz-geo report`` runs on without inputs, and they are labelled ``synthetic`` everywhere.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from xclz_geo import units
from xclz_geo.errors import InputDataError, InputFileError
from xclz_geo.io import atomic_path
from xclz_geo.outputs.html_safe import add_csp, check_quality_labels, escape_html

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.boundaries.zone import Zone

#: base name of the three output files
DEFAULT_BASENAME = "land_efficiency_report"

#: bundled synthetic samples (relative to ``data/``)
SAMPLE_FILES = {
    "enterprises": ("samples", "enterprises_synthetic.csv"),
    "parcels": ("samples", "landuse_parcels_synthetic.gpkg"),
    "raster": ("samples", "landcover_synthetic.tif"),
}

#: class table of the bundled land-cover sample (CLCD-like values 1–9)
SAMPLE_RASTER_CLASSES = "clcd"

#: quality label for inputs that declare none
UNLABELLED = "unlabelled"

#: above this many firms the report is built for size (issue 13 R11): the HTML shows the firm table as
#: a paged, filterable table (:data:`PAGE_ROWS` rows a page; every row and column is in the XLSX), the
#: map draws the firms as clustered markers, and the XLSX is streamed (:func:`xclz_geo.io.write_xlsx_stream`)
LARGE_FIRMS = 20_000
#: rows per page of a paged HTML table
PAGE_ROWS = 100
#: above this many firms the map draws them (and under-used firms) on canvas from one compact data block
#: (:mod:`xclz_geo.outputs._map_points`) instead of clustered markers; the map section says how many it draws
MAP_CANVAS_FIRMS = 20_000
#: above this many firms with a position the map's data block holds counts per ~10 m square and class
MAP_POINTS_MAX = 200_000
#: columns of the firm table shown in a paged HTML table (those present; all columns are in the XLSX)
PAGED_FIRM_COLUMNS = ("group", "tax_per_mu", "revenue_per_mu", "total_score", "rank", "class", "status", "reason",
                      "block_id", "part_id", "locate_status")

#: section ids, in report order
SECTION_IDS = ("inputs", "areas", "map", "landuse", "landcover", "intensity", "efficiency", "targets", "history", "underused", "method")


# ------------------------------------------------------------------ model


@dataclass
class ReportTable:
    """One table of the report (an HTML table and an XLSX sheet).

    Attributes
    ----------
    key
        Sheet name (ASCII, ≤ 31 characters) and HTML anchor.
    title
        Title in Chinese and English.
    df
        The data (snake_case columns).
    quality
        Quality label of the data it is derived from (e.g. ``"synthetic data · schematic boundaries"``).
    caveat
        Method caveat (e.g. the ``confirmed = false`` disclaimer), empty when none applies.
    labels
        Column → display header (Chinese, with unit).
    formats
        Column → format spec for HTML (``",.2f"`` …); numbers default to 2 decimals.
    collapsed
        Show the HTML table folded (long tables).
    """

    key: str
    title: str
    df: "pd.DataFrame"
    quality: str
    caveat: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    collapsed: bool = False
    note: str = ""
    html_columns: tuple[str, ...] | None = None
    #: HTML as a paged, filterable table built by a script from the rows embedded once as JSON
    paged: bool = False


@dataclass
class ReportChart:
    """One chart of the report: an inline ``<svg>`` (:mod:`xclz_geo.outputs.svgcharts`), or a PNG when ``svg`` is empty."""

    key: str
    title: str
    png: bytes
    quality: str
    caveat: str = ""
    fonts: tuple[str, ...] = ()
    svg: str = ""


@dataclass
class ReportSection:
    """One section: ``status`` is ``"ok"`` or ``"not available"`` (then ``reason`` says why)."""

    id: str
    title: str
    status: str = "ok"
    reason: str = ""
    intro: str = ""
    tables: list[ReportTable] = field(default_factory=list)
    charts: list[ReportChart] = field(default_factory=list)
    html_extra: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def unavailable(self, reason: str) -> "ReportSection":
        """Mark the section ``not available`` with the reason shown in its place (no table, no number)."""
        self.status = "not available"
        self.reason = reason
        return self


@dataclass
class ReportInput:
    """An input of the report: where it came from and its quality label."""

    name: str
    source: str | None
    quality: str
    rows: int | None = None
    note: str = ""


@dataclass
class ReportResult:
    """What :func:`build_report` wrote and found.

    The common result shape: :attr:`table` (one row per section: id, title, status, reason,
    number of tables and charts), :attr:`summary` (``quality``: the least reliable label of the
    inputs; files, caveats; ``provenance``: inputs and their sources) and :meth:`to_dict`. Not
    spatial itself: the map layers are in :attr:`gpkg_path`.
    """

    html_path: Path
    xlsx_path: Path
    gpkg_path: Path | None
    sections: list[ReportSection]
    inputs: list[ReportInput]
    layers: list[str]
    caveats: list[str]
    generated: str
    notes: list[str] = field(default_factory=list)

    def section(self, sid: str) -> ReportSection:
        """The section with this id (``KeyError`` otherwise)."""
        for s in self.sections:
            if s.id == sid:
                return s
        raise KeyError(f"no section {sid!r}; sections: {', '.join(s.id for s in self.sections)}")

    @property
    def tables(self) -> list[ReportTable]:
        """Every table, in report order."""
        return [t for s in self.sections for t in s.tables]

    @property
    def charts(self) -> list[ReportChart]:
        """Every chart, in report order."""
        return [c for s in self.sections for c in s.charts]

    @property
    def table(self) -> "pd.DataFrame":
        """One row per section: ``id``, ``title``, ``status``, ``reason``, ``tables``, ``charts``."""
        import pandas as pd

        return pd.DataFrame([{"id": s.id, "title": s.title, "status": s.status, "reason": s.reason or None,
                              "tables": len(s.tables), "charts": len(s.charts)} for s in self.sections],
                            columns=["id", "title", "status", "reason", "tables", "charts"])

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-able: ``quality``, the files, layers, caveats and ``provenance`` (inputs, generated, notes)."""
        from xclz_geo._results import jsonable, worst_quality

        return jsonable({
            "quality": worst_quality(*(i.quality for i in self.inputs)),
            "html": str(self.html_path),
            "xlsx": str(self.xlsx_path),
            "gpkg": str(self.gpkg_path) if self.gpkg_path else None,
            "layers": list(self.layers),
            "caveats": list(self.caveats),
            "provenance": {"inputs": [vars(i) for i in self.inputs], "generated": self.generated, "notes": list(self.notes)},
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: files, inputs with quality, sections with status and facts."""
        return {
            "html": str(self.html_path),
            "xlsx": str(self.xlsx_path),
            "gpkg": str(self.gpkg_path) if self.gpkg_path else None,
            "generated": self.generated,
            "inputs": [vars(i) for i in self.inputs],
            "layers": list(self.layers),
            "caveats": list(self.caveats),
            "notes": list(self.notes),
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "status": s.status,
                    "reason": s.reason or None,
                    "tables": [{"key": t.key, "title": t.title, "rows": int(len(t.df)), "quality": t.quality,
                                "caveat": t.caveat or None} for t in s.tables],
                    "charts": [{"key": c.key, "title": c.title, "quality": c.quality} for c in s.charts],
                    "facts": s.facts,
                    "notes": list(s.notes),
                }
                for s in self.sections
            ],
        }


# ------------------------------------------------------------------ inputs and labels


def sample_inputs() -> dict[str, Path | None]:
    """Paths of the bundled synthetic samples (``None`` for a sample not shipped in this checkout)."""
    from xclz_geo.datasets import data_path

    out: dict[str, Path | None] = {}
    for name, parts in SAMPLE_FILES.items():
        p = data_path(*parts, must_exist=False)
        out[name] = p if p.exists() else None
    return out


def is_sample(path: Any) -> bool:
    """True when ``path`` is one of the bundled files under ``data/samples/`` (labelled synthetic)."""
    if not isinstance(path, (str, Path)):
        return False
    from xclz_geo.datasets import data_dir

    try:
        Path(path).resolve().relative_to((data_dir() / "samples").resolve())
    except ValueError:
        return False
    return True


def _quality_of(name: str, source: Any, declared: Mapping[str, str] | None, found: str | None = None) -> str:
    """A user's declaration > a label found in the data > ``synthetic`` for bundled samples > ``unlabelled``."""
    if declared and declared.get(name):
        check_quality_labels([declared[name]], where=f"declared quality of {name}")
        return str(declared[name])
    if found and found != UNLABELLED:
        return found
    if is_sample(source):
        return "synthetic"
    return UNLABELLED


def _label(**parts: str | None) -> str:
    """``"data: synthetic · boundaries: schematic"`` from keyword parts (empty parts left out)."""
    return " · ".join(f"{k}: {v}" for k, v in parts.items() if v)


def _source_text(x: Any) -> str | None:
    if x is None:
        return None
    if isinstance(x, (str, Path)):
        return str(x)
    if isinstance(getattr(x, "source", None), str) and x.source:  # an EnterpriseTable read from a file
        return x.source
    return f"in-memory {type(x).__name__}"


def _read_parcels(parcels: Any) -> "gpd.GeoDataFrame | None":
    if parcels is None:
        return None
    import geopandas as gpd

    if isinstance(parcels, gpd.GeoDataFrame):
        return parcels
    from xclz_geo.io import read_vector

    return read_vector(parcels)


def _collect_warnings(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run ``fn``; the toolkit's own warnings (unknown columns, schematic geometry …) become notes shown in the
    report instead of being lost or, under ``-W error``, aborting it."""
    import warnings

    from xclz_geo.errors import XclzGeoWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", XclzGeoWarning)
        res = fn(*args, **kwargs)
    notes: list[str] = []
    for w in caught:
        if issubclass(w.category, XclzGeoWarning):
            text = str(w.message)
            if text not in notes:
                notes.append(text)
        else:  # not ours: hand it back to the caller's filters
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, notes


# ------------------------------------------------------------------ charts


def _figure(draw: str, *args: Any, **kwargs: Any) -> str | None:
    """``xclz_geo.outputs.svgcharts.<draw>(…)`` (an ``<svg>`` element)."""
    from xclz_geo.outputs import svgcharts

    return getattr(svgcharts, draw)(*args, **kwargs)


def _bar(*args: Any, **kwargs: Any) -> str | None:
    """:func:`xclz_geo.outputs.svgcharts.bar_svg` through :func:`_figure`."""
    return _figure("bar_svg", *args, **kwargs)


def _box(*args: Any, **kwargs: Any) -> str | None:
    """:func:`xclz_geo.outputs.svgcharts.box_svg` through :func:`_figure`."""
    return _figure("box_svg", *args, **kwargs)


def _append(sec: ReportSection, chart: "ReportChart | None") -> None:
    """Add a chart when one was drawn."""
    if chart is not None:
        sec.charts.append(chart)


def _chart(key: str, title: str, fig: str | None, quality: str, caveat: str = "") -> ReportChart | None:
    if fig is None:
        return None
    # an inline SVG: its text is drawn by the reader's browser (no font needed where the report is made)
    return ReportChart(key=key, title=title, png=b"", quality=quality, caveat=caveat, svg=fig)


def _chart_note(quality: str, caveat: str = "") -> str:
    note = f"数据质量 quality — {quality}"
    if caveat:
        note += " · 方法权重未确认 (confirmed = false)，结果仅供参考"
    return note


# ------------------------------------------------------------------ sections


def _names(zone: "Zone") -> tuple[dict[str, str], dict[str, str]]:
    """part_id → name_zh, block_id → name_zh."""
    parts = {str(r.part_id): str(r.name_zh) for r in zone.parts.itertuples()}
    blocks: dict[str, str] = {}
    if zone.spec is not None:
        blocks = {b.id: b.name_zh for b in zone.spec.blocks}
    for bid in zone.block_ids:
        blocks.setdefault(bid, bid)
    return parts, blocks


def _areas_section(zone: "Zone", *, tolerance_pct: float) -> ReportSection:
    import pandas as pd

    from xclz_geo.boundaries.zone import area_report

    rep = area_report(zone, tolerance_pct=tolerance_pct)
    sec = ReportSection("areas", "面积核对 Official-area check")
    q = _label(boundaries=rep.quality_detail.get("label") or rep.quality or "no geometry")
    rows = []
    for p in rep.parts:
        rows.append(
            dict(part_id=p.id, block_id=p.block, name_zh=p.name_zh, official_km2=p.official_km2, official_mu=p.official_mu,
                 measured_km2=p.measured_km2, measured_mu=p.measured_mu, geodesic_km2=p.geodesic_km2,
                 deviation_mu=p.deviation_mu, deviation_pct=p.deviation_pct, quality=p.quality, status=p.status, crs=p.crs)
        )
    sec.tables.append(
        ReportTable(
            "area_check", "各片区面积：官方 vs 量测 Areas: official vs measured", pd.DataFrame(rows), q,
            labels=dict(part_id="片区 part", block_id="园区 block", name_zh="名称", official_km2="官方面积 (km²)",
                        official_mu="官方面积 (亩)", measured_km2="量测面积 (km², 平面)", measured_mu="量测面积 (亩)",
                        geodesic_km2="椭球面积 (km²)", deviation_mu="偏差 (亩)", deviation_pct="偏差 (%)",
                        quality="质量 quality", status="结果 status", crs="坐标系 CRS"),
            formats=dict(official_km2=".2f", official_mu=",.0f", measured_km2=".3f", measured_mu=",.0f", geodesic_km2=".3f",
                         deviation_mu="+,.0f", deviation_pct="+.2f"),
        )
    )
    checks = pd.DataFrame(
        [dict(check=c.name, expected=c.expected, actual=c.actual, ok={True: "OK", False: "FAIL", None: "—"}[c.ok], detail=c.detail)
         for c in rep.checks]
    )
    sec.tables.append(
        ReportTable("area_checks", "核对项 Checks", checks, q,
                    labels=dict(check="核对项 check", expected="应为 (km²)", actual="实为 (km²)", ok="结果", detail="说明 detail"),
                    formats=dict(expected=".4f", actual=".4f"))
    )
    if rep.areas:
        sec.tables.append(_functional_areas_table(rep, q))
    sec.intro = " ".join(rep.notes)
    sec.facts = {"ok": rep.ok, "quality": rep.quality, "quality_label": rep.quality_detail.get("label"),
                 "quality_by_part": dict(rep.quality_detail.get("quality_by_part", {}))}
    return sec


def _efficiency_section(
    zone: "Zone", enterprises: Any, parcels: "gpd.GeoDataFrame | None", *, method: Any, datum: str,
    declared: Mapping[str, str] | None, boundary_q: str,
) -> tuple[ReportSection, Any, str, str]:
    """(section, EvaluationResult or None, data quality, caveat)."""
    import pandas as pd

    sec = ReportSection("efficiency", "亩均效益评价 Per-mu benefit evaluation")
    if enterprises is None:
        return sec.unavailable("no enterprise table given (--enterprises FILE)"), None, "", ""
    from xclz_geo.efficiency import evaluate as eff
    res, notes = _collect_warnings(eff.evaluate, enterprises, method=method, zone=zone if zone.has_geometry else None,
                                   parcels=parcels, datum=datum)
    sec.notes.extend(notes)
    # indicators empty for lack of a field, and implausible values (xclz_geo.efficiency: missing_fields, firm_checks)
    sec.notes.extend(f"missing field {m['header_zh']}: {'、'.join(m['indicators'])} empty for every firm — {m['hint']}"
                     for m in res.summary.get("input", {}).get("missing_fields", []))
    sec.notes.extend("check: " + c["message"] for c in res.summary.get("checks", []))
    s = res.summary
    found = s.get("data_quality")
    found = found if isinstance(found, str) else (" + ".join(found) if found else None)
    if found and found != UNLABELLED:
        vals = [s.get("data_quality")] if isinstance(s.get("data_quality"), str) else list(s.get("data_quality"))
        check_quality_labels(vals, where=f"{_source_text(enterprises)}: column 数据质量 (quality)")
    dq = _quality_of("enterprises", enterprises, declared, found)
    caveat = s.get("disclaimer") or ""
    q = _label(data=dq)
    ql = _label(data=dq, boundaries=boundary_q)
    prof = res.method
    parts_zh, blocks_zh = _names(zone)
    labels = list(prof.classes["labels"])
    names_zh = list(prof.classes.get("names_zh") or labels)
    cls_name = dict(zip(labels, names_zh))
    counts = s["counts"]
    sec.intro = (
        f"方法 method: {prof.name_zh} ({prof.id}, {prof.year or '—'}). 参评 evaluated {counts.get('evaluated', 0)}, "
        f"不参评 not evaluated {counts.get('not_evaluated', 0)}, 数据有误 invalid {counts.get('invalid', 0)} "
        f"of {s['input']['rows']} rows. 规上 and 规下 firms are scored, ranked and classed separately."
    )
    sec.facts = {"counts": counts, "method": prof.id, "method_confirmed": not prof.unconfirmed(), "data_quality": dq,
                 "totals": s.get("totals", {})}

    # class distribution
    bc = res.by_class
    if not bc.empty:
        bc = bc.assign(group_zh=bc["group"].map(eff.GROUP_NAMES_ZH).fillna(bc["group"]))
        cols = ["group_zh", "class", "class_name_zh", "count", "share_of_group", "land_mu", "share_of_land", "tax_wan", "tax_per_mu"]
        bc = bc[[c for c in cols if c in bc.columns]]
        for c in ("share_of_group", "share_of_land"):
            if c in bc:
                bc[c] = bc[c] * 100.0
    sec.tables.append(
        ReportTable("class_distribution", "分类结果分布 Class distribution (A–D)", bc, q, caveat,
                    labels=dict(group_zh="组别", **{"class": "类别 class"}, class_name_zh="类别名称", count="企业数",
                                share_of_group="占组内 (%)", land_mu="用地 (亩)", share_of_land="占用地 (%)", tax_wan="税收 (万元)",
                                tax_per_mu="亩均税收 (万元/亩)"),
                    formats=dict(count=",.0f", share_of_group=".1f", land_mu=",.1f", share_of_land=".1f", tax_wan=",.1f", tax_per_mu=".2f"))
    )
    # per part / block
    place_zh = {"outside the zone": "区外 outside", "not located": "未定位 not located"}
    for key, df, idcol, names in (("by_part", res.by_part, "part", parts_zh), ("by_block", res.by_block, "block", blocks_zh)):
        if df.empty:
            continue
        df = df.copy()
        df.insert(1, "name_zh", df[idcol].map(lambda v: names.get(v) or place_zh.get(v, v)))
        title = "按片区汇总 Per part" if idcol == "part" else "按园区汇总 Per block"
        sec.tables.append(
            ReportTable(f"efficiency_{key}", title, df, ql, caveat,
                        labels={idcol: "编号 id", "name_zh": "名称", "count": "参评企业数", "land_mu": "用地 (亩)", "tax_wan": "税收 (万元)",
                                "revenue_wan": "营业收入 (万元)", "tax_per_mu": "亩均税收 (万元/亩)",
                                "uncertain": "其中定位不确定 located uncertain",
                                **{f"class_{lab}": f"{lab} 类" for lab in labels}},
                        formats=dict(count=",.0f", land_mu=",.1f", tax_wan=",.1f", revenue_wan=",.0f", tax_per_mu=".2f",
                                     **{f"class_{lab}": ",.0f" for lab in labels}))
        )
    bi = res.by_industry
    if not bi.empty:
        cols = ["industry", "industry_name_zh", "count", "land_mu", "tax_wan", "revenue_wan", "tax_per_mu"] + [f"class_{lab}" for lab in labels]
        sec.tables.append(
            ReportTable("efficiency_by_industry", "按行业汇总 Per industry (GB/T 4754 division)", bi[[c for c in cols if c in bi]], q, caveat,
                        labels={"industry": "行业代码", "industry_name_zh": "行业", "count": "参评企业数", "land_mu": "用地 (亩)",
                                "tax_wan": "税收 (万元)", "revenue_wan": "营业收入 (万元)", "tax_per_mu": "亩均税收 (万元/亩)",
                                **{f"class_{lab}": f"{lab} 类" for lab in labels}},
                        formats=dict(count=",.0f", land_mu=",.1f", tax_wan=",.1f", revenue_wan=",.0f", tax_per_mu=".2f",
                                     **{f"class_{lab}": ",.0f" for lab in labels}))
        )
    # firm list
    sc = res.scores
    keep = [c for c in sc.columns if c not in ("adjustment",)]
    firms = sc[keep] if len(sc) > LARGE_FIRMS else sc[keep].copy()  # copy-on-write: no copy of 10⁶ rows
    fl = {c: f"{eff.INDICATORS[c].name_zh} ({eff.INDICATORS[c].unit})" for c in firms.columns if c in eff.INDICATORS}
    fl.update({f"score_{i}": f"得分 {eff.INDICATORS[i].name_zh}" for i in eff.INDICATORS})
    fl.update(group="组别", total_score="综合得分", rank="排名", status="状态 status", reason="原因 reason",
              block_id="园区 block", part_id="片区 part", locate_status="定位 locate", **{"class": "类别 class"})
    large = len(firms) > LARGE_FIRMS
    firm_table = ReportTable("enterprise_scores", "企业评价明细 Enterprise scores", firms, ql, caveat, labels=fl,
                             formats={c: ".3f" for c in firms.columns if c.startswith("score_") or c == "total_score"} | {"rank": ".0f"},
                             collapsed=True, paged=large)
    if large:
        ident = [res.enterprises.columns.fields[k] for k in ("credit_code", "name") if res.enterprises is not None and k in res.enterprises.columns.fields]
        firm_table.html_columns = tuple(dict.fromkeys([*[c for c in ident if c in firms.columns],
                                                       *[c for c in PAGED_FIRM_COLUMNS if c in firms.columns]]))
        firm_table.note = (f"{len(firms):,} firms: {PAGE_ROWS} a page, filter by any text (name, code, class, status …); "
                           f"every row and column is in the XLSX, sheet enterprise_scores. "
                           f"{len(firms):,} 家企业：每页 {PAGE_ROWS} 行，可按任意文字筛选；全部行列见 XLSX 的 enterprise_scores 表。")
    sec.tables.append(firm_table)

    # charts
    from xclz_geo.outputs import charts

    ev = sc[sc["status"] == "evaluated"]
    if len(ev):
        ct = pd.crosstab(ev["group"].map(eff.GROUP_NAMES_ZH).fillna(ev["group"]), ev["class"]).reindex(columns=labels, fill_value=0)
        ct = ct.T
        ct.index = [f"{lab} {cls_name.get(lab, '')}".strip() for lab in ct.index]
        fig = _bar(ct, title="亩均效益分类：各类企业数", note=_chart_note(q, caveat), ylabel="企业数（家）",
                               stacked=True, value_format="{:,.0f}")
        _append(sec, _chart("chart_class_counts", "亩均效益分类：各类企业数 Firms per class", fig, q, caveat))
        if "part_id" in ev.columns:
            place = ev["part_id"].map(lambda v: parts_zh.get(v) if isinstance(v, str) and v else None)
            place = place.fillna(ev.get("locate_status", pd.Series("", index=ev.index)).map(
                lambda st: "区外" if st == "outside" else "未定位"))
            ctp = pd.crosstab(place, ev["class"]).reindex(columns=labels, fill_value=0)
            ctp = ctp.reindex([n for n in [*parts_zh.values(), "区外", "未定位"] if n in ctp.index])
            fig = _bar(ctp, title="各片区企业分类构成", note=_chart_note(ql, caveat), ylabel="企业数（家）", stacked=True,
                                   colours=charts.CLASS_COLOURS, value_format="{:,.0f}", horizontal=True)
            _append(sec, _chart("chart_class_by_part", "各片区企业分类构成 Classes per part", fig, ql, caveat))
        tpm = pd.to_numeric(ev["tax_per_mu"], errors="coerce")
        groups = {f"{lab} {cls_name.get(lab, '')}".strip(): tpm[ev["class"] == lab].tolist() for lab in labels}
        colours = {f"{lab} {cls_name.get(lab, '')}".strip(): charts.CLASS_COLOURS.get(lab, "#9ecae1") for lab in labels}
        med = float(tpm.median()) if tpm.notna().any() else float("nan")
        fig = _box(groups, title="各类企业亩均税收（万元/亩）", note=_chart_note(q, caveat), ylabel="亩均税收（万元/亩）",
                               colours=colours, reference=(med, f"参评企业中位数 {med:.1f}"))
        _append(sec, _chart("chart_tax_per_mu_by_class", "各类企业亩均税收 Tax per mu by class", fig, q, caveat))
        for key, df, idcol, names in (("part", res.by_part, "part", parts_zh),):
            if df.empty or "tax_per_mu" not in df:
                continue
            d2 = df.set_index(df[idcol].map(lambda v: names.get(v) or {"outside the zone": "区外", "not located": "未定位"}.get(v, v)))
            d2 = d2.reindex([n for n in [*names.values(), "区外", "未定位"] if n in d2.index])
            per = pd.DataFrame({"亩均税收": pd.to_numeric(d2["tax_per_mu"], errors="coerce")})
            if "revenue_wan" in d2:
                land = pd.to_numeric(d2["land_mu"], errors="coerce")
                rev = pd.to_numeric(d2["revenue_wan"], errors="coerce")
                per["亩均营业收入 ÷ 10"] = (rev / land.where(land > 0)) / 10.0
            fig = _bar(per, title="各片区亩均效益（万元/亩）", note=_chart_note(ql), ylabel="万元/亩", horizontal=True,
                                   colours=["#2b8cbe", "#a6bddb"])
            _append(sec, _chart("chart_per_mu_by_part", "各片区亩均税收与营业收入 Per-mu tax and revenue per part", fig, ql))
    return sec, res, dq, caveat


def _pct(df: "pd.DataFrame", col: str = "share") -> "pd.DataFrame":
    """Copy with ``share`` (a fraction) as ``share_pct`` (%)."""
    df = df.copy()
    if col in df.columns:
        df[col] = df[col].astype(float) * 100.0
        df = df.rename(columns={col: "share_pct"})
    return df


def _composition_chart(table: "pd.DataFrame", *, id_col: str, name_col: str, zone: "Zone", key: str, title_zh: str,
                       title: str, quality: str, colours: Mapping[str, str] | None = None) -> ReportChart | None:
    """Stacked horizontal bars: part × class → 亩 (the 8 largest classes, the rest as 其他)."""
    import pandas as pd

    if table.empty or not {id_col, name_col, "area_mu"} <= set(table.columns):
        return None
    parts_zh, _ = _names(zone)
    t = table[table[id_col].notna()].copy()
    t["_part"] = t[id_col].map(lambda v: parts_zh.get(v, v))
    t["_name"] = t[name_col].map(lambda v: str(v) if v is not None and v == v else "未分类 unclassified")
    piv = pd.pivot_table(t, index="_part", columns="_name", values="area_mu", aggfunc="sum", fill_value=0.0, sort=False)
    if piv.empty:
        return None
    piv = piv[piv.sum().sort_values(ascending=False).index]
    if piv.shape[1] > 9:
        top = list(piv.columns[:8])
        piv = piv[top].assign(**{"其他": piv.drop(columns=top).sum(axis=1)})
    piv.index.name = None
    palette = ["#e31a1c", "#ff7f00", "#fdbf6f", "#33a02c", "#b2df8a", "#1f78b4", "#a6cee3", "#6a3d9a", "#cab2d6", "#b15928"]
    cols = [colours.get(str(c), "#bdbdbd") for c in piv.columns] if colours else palette[: piv.shape[1]]
    fig = _bar(piv, title=title_zh, note=_chart_note(quality), ylabel="面积（亩）", stacked=True, horizontal=True,
                           value_format="{:,.0f}", width_in=8.5, colours=cols)
    return _chart(key, title, fig, quality)


def _landuse_section(zone: "Zone", parcels: "gpd.GeoDataFrame | None", parcels_q: str, *, code_field: str | None,
                     boundary_q: str) -> tuple[ReportSection, "pd.DataFrame | None"]:
    """(section, per-parcel ``group``/``zone_status`` by input position, or None)."""
    sec = ReportSection("landuse", "土地利用构成（地块）Land-use composition from parcels")
    if parcels is None:
        return sec.unavailable("no parcels given (--parcels FILE)"), None
    from xclz_geo.landuse import overlay as lu
    if not zone.has_geometry:
        return sec.unavailable("the zone has no part polygons to overlay"), None
    q = _label(data=parcels_q, boundaries=boundary_q)
    res, notes = _collect_warnings(lu.landuse_by_part, zone, parcels, code_field=code_field, data_quality=parcels_q)
    sec.notes.extend(notes)
    m = res.method or {}
    scheme = m.get("scheme_title") or m.get("scheme") or ""
    sec.intro = (f"Parcels cut by the part polygons and measured in {m.get('gk_crs') or m.get('crs') or 'the zone GK CRS'}; "
                 f"code scheme: {scheme}. Shares are of each part's area; gaps (no parcel) and overlaps are listed per part.")
    parts_zh, _ = _names(zone)
    grp = _pct(res.by_group)
    if "part_id" in grp:
        grp.insert(1, "part_name", grp["part_id"].map(lambda v: parts_zh.get(v, v)))
    sec.tables.append(ReportTable("landuse_by_group", "各片区用地构成（报告分组）Land use per part, by group", grp, q,
                                  labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS))
    colours = {str(n): GROUP_COLOURS.get(str(g), "#bdbdbd") for g, n in zip(res.by_group["group"], res.by_group["name"])}
    chart = _composition_chart(res.by_group, id_col="part_id", name_col="name", zone=zone, key="chart_landuse",
                               title_zh="各片区土地利用构成（亩）", title="各片区土地利用构成 Land use per part", quality=q,
                               colours=colours)
    if chart is not None:
        _append(sec, chart)
    code = _pct(res.by_code)
    sec.tables.append(ReportTable("landuse_by_code", "各片区用地构成（按地类）Land use per part, by code", code, q,
                                  labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS, collapsed=True))
    sec.tables.append(ReportTable("landuse_coverage", "地块覆盖核查 Parcel coverage per part (gaps, overlaps)", res.parts, q,
                                  labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS))
    if len(res.unknown_codes):
        sec.tables.append(ReportTable("landuse_unknown_codes", "未识别地类代码 Unknown land-use codes", res.unknown_codes, q,
                                      labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS))
    sec.facts = {"data_quality": parcels_q, "scheme": m.get("scheme")}
    per_parcel = None
    if {"row", "code", "status"} <= set(res.parcels.columns) and hasattr(lu, "classify_codes"):
        import pandas as pd

        cls = lu.classify_codes(res.parcels["code"].tolist(), scheme=m.get("scheme") or "auto")
        per_parcel = pd.DataFrame({"group": cls["group"].to_numpy(), "zone_status": res.parcels["status"].to_numpy()},
                                  index=res.parcels["row"].to_numpy())
    return sec, per_parcel


def _landcover_section(zone: "Zone", raster: Any, *, classes: Any, declared: Mapping[str, str] | None,
                       boundary_q: str) -> tuple[ReportSection, str]:
    sec = ReportSection("landcover", "土地覆盖构成（栅格）Land cover from a raster")
    if raster is None:
        return sec.unavailable("no land-cover raster given (--raster FILE)"), ""
    from xclz_geo.landuse import overlay as lu
    if not zone.has_geometry:
        return sec.unavailable("the zone has no part polygons to overlay"), ""
    given = (declared or {}).get("raster")
    res, notes = _collect_warnings(lu.landcover_by_part, zone, raster, classes=classes, data_quality=given)
    sec.notes.extend(notes + list((res.method or {}).get("notes", [])))
    found = ((res.method or {}).get("quality") or {}).get("data")
    if found not in (None, "unknown") and not (declared or {}).get("raster"):
        check_quality_labels([found], where=f"{_source_text(raster)}: raster tag quality")
    dq = _quality_of("raster", raster, declared, None if found in (None, "unknown") else str(found))
    q = _label(data=dq, boundaries=boundary_q)
    m = res.method or {}
    sec.intro = (f"Class areas weighted by the exact fraction of each cell inside the part; raster CRS {m.get('raster_crs') or m.get('crs') or '—'}, "
                 f"cell size {m.get('cell_size') or m.get('res') or '—'}. Shares are of each part's area.")
    parts_zh, _ = _names(zone)
    bg = _pct(res.by_group).rename(columns={"id": "part_id"})
    bg.insert(1, "part_name", bg["part_id"].map(lambda v: parts_zh.get(v, v)))
    sec.tables.append(ReportTable("landcover_by_group", "各片区土地覆盖（报告分组）Land cover per part, by group", bg, q,
                                  labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS))
    chart = _composition_chart(res.by_class.rename(columns={"id": "part_id"}), id_col="part_id", name_col="name", zone=zone,
                               key="chart_landcover", title_zh="各片区土地覆盖构成（亩）", title="各片区土地覆盖构成 Land cover per part",
                               quality=q)
    if chart is not None:
        _append(sec, chart)
    bc = _pct(res.by_class).rename(columns={"id": "part_id"})
    sec.tables.append(ReportTable("landcover_by_class", "各片区土地覆盖（按类别）Land cover per part, by class", bc, q,
                                  labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS, collapsed=True))
    sec.tables.append(ReportTable("landcover_coverage", "栅格覆盖核查 Raster coverage per part", res.polygons.rename(columns={"id": "part_id"}),
                                  q, labels=_LANDUSE_LABELS, formats=_LANDUSE_FORMATS))
    sec.facts = {"data_quality": dq}
    return sec, dq


_LANDUSE_LABELS = {
    "part_id": "片区 part", "part_name": "片区名称", "block_id": "园区 block", "group": "分组 group", "code": "代码 code",
    "name": "名称 name", "level1_code": "一级类", "level1_name": "一级类名称", "value": "栅格值 value",
    "area_m2": "面积 (m²)", "area_mu": "面积 (亩)", "area_ha": "面积 (公顷)", "share_pct": "占比 (%)", "parcel_count": "图斑数",
    "code_status": "代码状态", "cells": "像元数", "part_area_m2": "片区面积 (m²)", "covered_m2": "覆盖 (m²)",
    "parcel_area_m2": "图斑面积合计 (m²)", "overlap_m2": "重叠 (m²)", "gap_m2": "空隙 (m²)", "straddling_count": "跨界图斑数",
    "status": "状态 status", "classified_m2": "已分类 (m²)", "nodata_m2": "无数据 (m²)", "outside_raster_m2": "栅格外 (m²)",
    "in_class_table": "类别表中", "rows": "行数", "inside_m2": "区内面积 (m²)", "name_in_data": "数据中名称",
}
_LANDUSE_FORMATS = {"area_m2": ",.0f", "area_mu": ",.1f", "area_ha": ",.2f", "share_pct": ".1f", "part_area_m2": ",.0f",
                    "covered_m2": ",.0f", "parcel_area_m2": ",.0f", "overlap_m2": ",.0f", "gap_m2": ",.0f", "cells": ",.1f",
                    "classified_m2": ",.0f", "nodata_m2": ",.0f", "outside_raster_m2": ",.0f", "inside_m2": ",.0f", "scale": ".5f"}


def _found_quality(df: Any, *, where: str = "parcels") -> str | None:
    """The quality label(s) in a layer's ``quality``/``data_quality`` column (``"a + b"`` when mixed);
    labels outside the vocabulary are kept as text and warned about once, naming ``where`` and the column."""
    for col in ("quality", "data_quality"):
        if df is not None and hasattr(df, "columns") and col in df.columns:
            vals = sorted({str(v) for v in df[col].dropna()})
            if vals:
                check_quality_labels(vals, where=f"{where}: column {col!r}")
                return " + ".join(vals)
    return None


#: colours of the land-use report groups (maps and charts)
GROUP_COLOURS = {
    "industrial": "#e31a1c", "logistics": "#ff7f00", "residential": "#fdbf6f", "commercial": "#6a3d9a",
    "public": "#1f78b4", "transport": "#8c8c8c", "green": "#33a02c", "water": "#a6cee3", "farmland": "#b2df8a",
    "unused_other": "#cab2d6", "unknown": "#bdbdbd",
}

#: overlay layers of the embedded map: GeoPackage layer → (name in the layer control, popup columns)
_OVERLAYS = {
    "landuse_parcels": ("土地利用地块 Land-use parcels", ("parcel_id", "地块编号", "BSM", "DLBM", "DLMC", "group", "供地状态", "quality")),
    "underused_land": ("低效用地 Under-used land", ("kind", "parcel_id", "name", "part_id", "land_mu", "far", "coverage_pct",
                                                  "tax_per_mu", "flags", "freeable_mu", "reason", "quality")),
    "enterprises": ("企业 Enterprises", ("name", "credit_code", "group", "land_mu", "tax_per_mu", "total_score", "rank", "class",
                                        "status", "reason", "part_id", "quality", "method_caveat")),
}


def _popup_html(maps: Any, row: Any, cols: Sequence[str], title: str) -> str:
    """Popup of one row: the non-empty ``cols`` as a table (:func:`xclz_geo.outputs.maps.popup_table`)."""
    rows = []
    for c in cols:
        if c not in row.index:
            continue
        text, _ = _fmt(row[c], ",.2f" if isinstance(row[c], float) else None)
        if text in ("", "—", "nan", "None"):
            continue
        rows.append((str(c), text))
    return maps.popup_table(rows, title=title)


def _popups(maps: Any, df: "pd.DataFrame", cols: Sequence[str], title: str, *, name_title: bool = False) -> list[str]:
    """:func:`_popup_html` of every row of ``df``, column by column (no ``iterrows``: one row Series per
    feature cost more than the map); ``name_title`` makes each title ``"{title}: {name}"``."""
    present = [c for c in dict.fromkeys(cols) if c in df.columns]
    names = df["name"].tolist() if name_title and "name" in df.columns else None
    out = []
    for i, row in enumerate(df[present].itertuples(index=False, name=None)):
        rows = []
        for c, v in zip(present, row):
            text, _ = _fmt(v, ",.2f" if isinstance(v, float) else None)
            if text in ("", "—", "nan", "None"):
                continue
            rows.append((str(c), text))
        head = f"{title}: {(names[i] if names is not None else None) or ''}" if name_title else title
        out.append(maps.popup_table(rows, title=head))
    return out


#: legend heading of the report's own layers on the map
REPORT_LEGEND_SECTION = "报告图层 Report layers"


def _add_overlays(m: Any, maps: Any, layers: Mapping[str, "gpd.GeoDataFrame"]) -> list[str]:
    """Draw the report's own layers (land-use parcels, under-used land, enterprises by class) on a
    :func:`xclz_geo.outputs.maps.zone_map` with :func:`xclz_geo.outputs.maps.add_layer`, each named with its quality label
    and listed in the map's legend. Returns the layer names."""
    import pandas as pd

    from xclz_geo.outputs.charts import CLASS_COLOURS

    names: list[str] = []

    def add(gdf: "gpd.GeoDataFrame", name: str, *, quality: str, **kw: Any) -> None:
        if maps.add_layer(m, gdf, name=name, quality=quality, legend_section=REPORT_LEGEND_SECTION,
                          popup_max_width_px=460, **kw):
            names.append(f"{name} · {quality}")

    lu = layers.get("landuse_parcels")
    if lu is not None and len(lu):
        title, cols = _OVERLAYS["landuse_parcels"]
        grp = lu["group"] if "group" in lu.columns else pd.Series([None] * len(lu))
        styles = [{"color": "#555", "weight": 0.6, "fillColor": GROUP_COLOURS.get(str(g), "#bdbdbd"), "fillOpacity": 0.55}
                  for g in grp]
        add(lu, title, quality=str(lu["quality"].iloc[0]), style=styles,
            popups=_popups(maps, lu, cols, title), show=False)
    parts_un = [layers[k] for k in ("underused_parcels", "underused_firms") if layers.get(k) is not None and len(layers[k])]
    un = pd.concat(parts_un, ignore_index=True) if parts_un else None
    ent = layers.get("enterprises")
    big = (ent is not None and len(ent) > MAP_CANVAS_FIRMS) or (un is not None and len(un) > MAP_CANVAS_FIRMS)
    if big and un is not None and (un.geometry.geom_type == "Point").any():
        names.extend(_underused_point_layers(m, maps, un, add=add))
    elif un is not None and len(un):
        title, cols = _OVERLAYS["underused_land"]
        q = _short_quality(str(un["quality"].iloc[0]))
        add(un, f"{title} ({len(un)})", quality=q,
            style={"color": "#b10026", "weight": 2, "fillColor": "#fc4e2a", "fillOpacity": 0.45, "radius": 7, "dashArray": "4 3"},
            popups=_popups(maps, un, cols, title), legend=f"{title} ({q})")
    if ent is not None and len(ent) > MAP_CANVAS_FIRMS:
        title, cols = _OVERLAYS["enterprises"]
        names.extend(_firm_point_layers(m, maps, ent, title=title, cols=cols))
        if (ent.get("method_caveat", "") != "").any():
            maps.add_legend_entry(m, "classes use unconfirmed weights (confirmed = false)", section=REPORT_LEGEND_SECTION)
    elif ent is not None and len(ent) > LARGE_FIRMS:
        title, cols = _OVERLAYS["enterprises"]
        names.extend(_firm_cluster_layers(m, maps, ent, title=title, cols=cols))
        if (ent.get("method_caveat", "") != "").any():
            maps.add_legend_entry(m, "classes use unconfirmed weights (confirmed = false)", section=REPORT_LEGEND_SECTION)
    elif ent is not None and len(ent):
        title, cols = _OVERLAYS["enterprises"]
        q = str(ent["quality"].iloc[0])
        klass = ent["class"].fillna("").astype(str)
        for lab in [*sorted(set(klass) - {""}), ""]:
            sub = ent[klass == lab]
            if not len(sub):
                continue
            label = f"{lab} 类" if lab else "未分类 not evaluated / invalid"
            add(sub, f"企业 {label} ({len(sub)})", quality=q,
                style={"color": "#222", "weight": 1, "fillColor": CLASS_COLOURS.get(lab, "#9e9e9e"), "fillOpacity": 0.9, "radius": 5},
                popups=_popups(maps, sub, cols, title, name_title=True),
                legend=f"企业 {label}")
        if (ent.get("method_caveat", "") != "").any():
            maps.add_legend_entry(m, "classes use unconfirmed weights (confirmed = false)", section=REPORT_LEGEND_SECTION)
    return names


_FIRMS_JS = r"""
var __VAR__ = (function(){
  var d = __DATA__;
  d.popup = function(k) {
    var box = document.createElement('div'), t = document.createElement('table'), r = d.i[k];
    box.className = 'xclz-popup';
    var h = document.createElement('b'); h.textContent = d.title + ': ' + (d.name[r] === null ? '' : d.name[r]); box.appendChild(h);
    for (var c = 0; c < d.cols.length; c++) {
      var v = d.data[c][r];
      if (v === null || v === '') continue;
      var tr = document.createElement('tr'), th = document.createElement('th'), td = document.createElement('td');
      th.textContent = d.cols[c];
      td.textContent = typeof v === 'number' ? v.toLocaleString('en-US', {maximumFractionDigits: 2}) : String(v);
      tr.appendChild(th); tr.appendChild(td); t.appendChild(tr);
    }
    var extra = [['quality', d.quality], ['method_caveat', d.caveat]];
    for (var e = 0; e < extra.length; e++) if (extra[e][1]) {
      var tr2 = document.createElement('tr'), th2 = document.createElement('th'), td2 = document.createElement('td');
      th2.textContent = extra[e][0]; td2.textContent = extra[e][1]; tr2.appendChild(th2); tr2.appendChild(td2); t.appendChild(tr2);
    }
    box.appendChild(t);
    return box;
  };
  return d;
})();
"""

_FIRM_LAYER_JS = r"""(function(){
  var d = __VAR__, want = __CODE__, colour = d.colours[want], list = [];
  var icon = L.divIcon({className: 'xclz-site-icon', iconSize: [11, 11], html: ''});
  var g = L.markerClusterGroup({showCoverageOnHover: false, spiderfyOnMaxZoom: true, disableClusteringAtZoom: 18, chunkedLoading: true,
    iconCreateFunction: function(c) { var n = c.getChildCount(), s = n < 100 ? 28 : (n < 1000 ? 34 : 40);
      var el = document.createElement('div'); el.className = 'xclz-cluster'; el.textContent = n;
      el.style.background = colour; el.style.width = s + 'px'; el.style.height = s + 'px'; el.style.lineHeight = s + 'px';
      return L.divIcon({className: '', iconSize: [s, s], html: el}); }});
  for (var k = 0; k < d.c.length; k++) if (d.c[k] === want) {
    var mk = L.marker([d.lat[k], d.lon[k]], {icon: icon, k: k, keyboard: false});
    mk.on('add', function(e){ var el = e.target.getElement(); if (el) el.style.background = colour; });
    list.push(mk);
  }
  g.addLayers(list);
  g.on('click', function(e) {
    if (!e.layer || e.layer.options.k === undefined) return;
    L.popup({maxWidth: 460}).setLatLng(e.layer.getLatLng()).setContent(d.popup(e.layer.options.k)).openOn(__MAP__);
  });
  return g;
})()"""


def _firm_cluster_layers(m: Any, maps: Any, ent: "gpd.GeoDataFrame", *, title: str, cols: Sequence[str]) -> list[str]:
    """Many firms on the map: one layer per class of clustered markers (Leaflet.markercluster, inlined
    offline like every asset of :mod:`xclz_geo.maps`), built in the page from one compact JSON payload;
    popups are made with ``textContent`` (no firm text is ever parsed as HTML). Returns the layer names."""
    import numpy as np
    import pandas as pd

    from xclz_geo.outputs.charts import CLASS_COLOURS

    E = maps._elements()
    info, _ = maps._map_state(m, "firm clusters")
    shown = maps._to_display(ent, datum=info.get("datum", "wgs84"))
    geom = shown.geometry
    ok = (geom.notna() & ~geom.is_empty & (geom.geom_type == "Point")).to_numpy()
    klass = ent["class"].astype(object).where(ent["class"].notna(), "").astype(str).to_numpy(dtype=object)
    labs = [lab for lab in [*sorted(set(klass[ok]) - {""}), ""] if (klass[ok] == lab).any()]
    code = np.full(len(ent), -1, dtype=int)
    for k, lab in enumerate(labs):
        code[klass == lab] = k
    idx = np.flatnonzero(ok)
    quality = str(ent["quality"].iloc[0])
    caveat = str(ent["method_caveat"].iloc[0]) if "method_caveat" in ent.columns else ""
    show_cols = [c for c in cols if c in ent.columns and c not in ("name", "quality", "method_caveat")]
    data = []
    for c in show_cols:
        col = ent[c]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            vals = np.round(x, 4).astype(object)
            vals[~np.isfinite(x)] = None
            data.append(vals.tolist())
        else:
            obj = col.astype(object)
            data.append([None if v is None else str(v)[:200] for v in obj.where(obj.notna(), None).tolist()])
    name_col = ent["name"].astype(object) if "name" in ent.columns else pd.Series([None] * len(ent), dtype=object)
    payload = {
        "lat": np.round(geom.y.to_numpy()[idx], 6).tolist(), "lon": np.round(geom.x.to_numpy()[idx], 6).tolist(),
        "c": code[idx].tolist(), "i": idx.tolist(), "cols": show_cols, "data": data,
        "name": [None if v is None else str(v) for v in name_col.where(name_col.notna(), None).tolist()],
        "colours": [CLASS_COLOURS.get(lab, "#9e9e9e") for lab in labs], "title": title, "quality": quality, "caveat": caveat,
    }
    var = "xclz_firms_" + m.get_name().split("_")[-1]
    maps._add_before_controls(m, E["Script"](_FIRMS_JS.replace("__VAR__", var).replace("__DATA__", _json_for_html(payload)),
                                             name="XclzFirms"))
    names = []
    for k, lab in enumerate(labs):
        n_k = int((code[idx] == k).sum())
        label = f"{lab} 类" if lab else "未分类 not evaluated / invalid"
        name = f"企业 {label} ({n_k:,}) · {quality}"
        js = _FIRM_LAYER_JS.replace("__VAR__", var).replace("__CODE__", str(k)).replace("__MAP__", m.get_name())
        maps._add_before_controls(m, E["ClusterLayer"](js, name=name))
        maps.add_legend_entry(m, f"企业 {label} (clustered)", colour=CLASS_COLOURS.get(lab, "#9e9e9e"), section=REPORT_LEGEND_SECTION)
        names.append(name)
    return names


def _firm_point_layers(m: Any, maps: Any, ent: "gpd.GeoDataFrame", *, title: str, cols: Sequence[str]) -> list[str]:
    """Very many firms on the map: one canvas layer per class from one compact data block
    (:func:`xclz_geo.outputs._map_points.add_point_layers`); popups are built on click with ``textContent``.
    The map's legend and the map section say how many firms are drawn and how. Returns the layer names."""
    import numpy as np

    from xclz_geo.outputs._map_points import CELL_PX, add_point_layers
    from xclz_geo.outputs.charts import CLASS_COLOURS

    klass = ent["class"].astype(object).where(ent["class"].notna(), "").astype(str).to_numpy(dtype=object)
    labs = [*sorted(set(klass) - {""}), ""]
    code = np.full(len(ent), -1, dtype=np.int64)
    for k, lab in enumerate(labs):
        code[klass == lab] = k
    quality = str(ent["quality"].iloc[0])
    caveat = str(ent["method_caveat"].iloc[0]) if "method_caveat" in ent.columns else ""
    counts = {lab: int((klass == lab).sum()) for lab in labs}
    layers = [(f"企业 {f'{lab} 类' if lab else '未分类 not evaluated / invalid'} ({counts[lab]:,}) · {quality}",
               CLASS_COLOURS.get(lab, "#9e9e9e")) for lab in labs]
    drawn = add_point_layers(
        m, ent, codes=code, layers=layers, popup_columns=[c for c in cols if c not in ("name", "quality", "method_caveat")],
        title=title, title_column="name", extra=[("quality", quality), ("method_caveat", caveat)], unit="firms 家",
        layer_title="layer 图层", more="filter the firm table by name or 统一社会信用代码", max_points=MAP_POINTS_MAX)
    for lab in labs:
        if counts[lab]:
            label = f"{lab} 类" if lab else "未分类 not evaluated / invalid"
            maps.add_legend_entry(m, f"企业 {label}", colour=CLASS_COLOURS.get(lab, "#9e9e9e"), section=REPORT_LEGEND_SECTION)
    maps.add_legend_entry(m, _drawn_text(drawn, len(ent), "firms 家企业", CELL_PX), section=REPORT_LEGEND_SECTION)
    _note_drawn(m, _drawn_text(drawn, len(ent), "firms 家企业", CELL_PX))
    return list(drawn.layers)


def _underused_point_layers(m: Any, maps: Any, un: "gpd.GeoDataFrame", *, add: Callable[..., None]) -> list[str]:
    """Under-used land of a large report: flagged parcels as before (polygons with popups), flagged firms
    as one canvas layer from a compact data block. Returns the names of the point layer(s)."""
    import numpy as np

    from xclz_geo.outputs._map_points import CELL_PX, add_point_layers

    title, cols = _OVERLAYS["underused_land"]
    q = _short_quality(str(un["quality"].iloc[0]))
    is_pt = (un.geometry.geom_type == "Point").to_numpy()
    poly = un[~is_pt]
    if len(poly):
        add(poly, f"{title} ({len(poly)})", quality=q,
            style={"color": "#b10026", "weight": 2, "fillColor": "#fc4e2a", "fillOpacity": 0.45, "dashArray": "4 3"},
            popups=_popups(maps, poly, cols, title), legend=f"{title} ({q})")
    pts = un[is_pt]
    drawn = add_point_layers(
        m, pts, codes=np.zeros(len(pts), dtype=np.int64), layers=[(f"{title}: firms 企业 ({len(pts):,}) · {q}", "#fc4e2a")],
        popup_columns=[c for c in cols if c not in ("name", "quality")], title=title, title_column="name",
        extra=[("quality", str(un["quality"].iloc[0]))], unit="firms 家", layer_title="layer 图层",
        more="see the under-used land table", style={"stroke": "#b10026", "weight": 2, "radius": 6, "opacity": 0.75},
        max_points=MAP_POINTS_MAX)
    maps.add_legend_entry(m, f"{title}: firms 企业 ({q})", colour="#fc4e2a", section=REPORT_LEGEND_SECTION)
    _note_drawn(m, _drawn_text(drawn, len(pts), "under-used firms 家低效企业", CELL_PX))
    return list(drawn.layers)


def _note_drawn(m: Any, text: str) -> None:
    """Keep, on the map, a sentence saying what a canvas layer draws (:func:`_map_section` shows them)."""
    if not hasattr(m, "xclz_drawn"):
        m.xclz_drawn = []
    m.xclz_drawn.append(text)


def _drawn_text(drawn: Any, total: int, what: str, cell_px: int) -> str:
    """One sentence: how many of ``total`` are drawn on the map, and how (the page states it; nothing is dropped silently)."""
    missing = total - drawn.points
    tail = f"; {missing:,} without a position are not on the map (they are in the table and the XLSX)" if missing else ""
    if drawn.aggregated:
        return (f"{drawn.points:,} {what} drawn as counts in {drawn.entries:,} squares of about 10 m (too many for one popup each; "
                f"every firm is in the table and the XLSX){tail}.")
    return (f"{drawn.points:,} {what} drawn, each with its popup; zoomed out, the points in one {cell_px}-pixel square "
            f"show as one circle with their count{tail}.")


def _short_quality(label: str) -> str:
    """``"parcels: synthetic · enterprises: synthetic · boundaries: schematic"`` → ``"synthetic; boundaries schematic"``."""
    data: list[str] = []
    bnd: list[str] = []
    for part in label.split(" · "):
        key, sep, val = part.partition(": ")
        if not sep:
            data.append(part)
        elif key == "boundaries":
            bnd.append(f"boundaries {val}")
        else:
            data.append(val)
    return "; ".join([*dict.fromkeys(data), *bnd])


def _map_section(zone: "Zone", *, layers: Mapping[str, "gpd.GeoDataFrame"], basemap: str | None) -> ReportSection:
    sec = ReportSection("map", "地图 Map")
    from xclz_geo.outputs import maps
    if not zone.has_geometry:
        return sec.unavailable("the zone has no part polygons to draw")
    kw: dict[str, Any] = {}
    if basemap is not None:
        kw["basemap"] = basemap
    m = maps.zone_map(zone, **kw)
    overlays = _add_overlays(m, maps, layers)
    sec.notes.extend(getattr(m, "xclz_drawn", []))
    doc = maps.render_html(m, inline=True)
    sec.html_extra = (
        '<iframe class="map" title="zone map" sandbox="allow-scripts" srcdoc="' + escape_html(doc) + '"></iframe>'
    )
    sec.facts = {"basemap": basemap or "none", "overlays": overlays}
    return sec


# ------------------------------------------------------------------ writers


def _sheet_name(key: str, used: set[str]) -> str:
    bad = '[]:*?/\\'
    name = "".join("_" if ch in bad else ch for ch in key)[:31] or "sheet"
    base, k = name, 2
    while name.lower() in used:
        suffix = f"_{k}"
        name = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(name.lower())
    return name


def write_xlsx(tables: Sequence[ReportTable], path: Path, *, about: Sequence[tuple[str, str]] = ()) -> Path:
    """Write one sheet per table (headers in Chinese with units, a ``quality`` column, a caveat column
    where one applies) after an ``about`` sheet listing every sheet, its quality label and caveat.
    Written by :func:`xclz_geo.io.write_xlsx_stream` (no openpyxl: a fraction of a second for the demo):
    bold header rows on light blue, first row frozen, column widths from the headers. With a table of
    more than :data:`LARGE_FIRMS` rows the workbook is streamed without the styling."""
    if any(len(t.df) > LARGE_FIRMS for t in tables):
        return _write_xlsx_large(tables, path, about=about)
    import pandas as pd

    from xclz_geo.io import write_xlsx_stream

    used: set[str] = {"about"}
    names = [_sheet_name(t.key, used) for t in tables]
    rows: list[list[Any]] = [[k, v, None, None, None] for k, v in about]
    rows += [[None] * 5, ["sheet", "title", "rows", "quality 数据质量", "caveat 说明"]]
    rows += [[name, t.title, int(len(t.df)), t.quality, t.caveat or None] for t, name in zip(tables, names)]
    title = ["xclz_geo 土地集约利用报告 land-efficiency report", "", "", "", ""]  # empty labels stay empty cells
    sheets: list[tuple[str, pd.DataFrame]] = [("about", pd.DataFrame(rows, columns=title, dtype=object))]
    widths: dict[str, list[float | None]] = {"about": [26, 60, None, 40]}
    for t, name in zip(tables, names):
        df = t.df
        out = pd.DataFrame({j: _no_empty_text(df.iloc[:, j]) for j in range(df.shape[1])}, index=df.index, copy=False)
        header = [str(t.labels.get(c, c)) for c in df.columns] + ["数据质量 quality"] + (["说明 caveat"] if t.caveat else [])
        out[df.shape[1]] = t.quality
        if t.caveat:
            out[df.shape[1] + 1] = t.caveat
        out.columns = header
        sheets.append((name, out))
        widths[name] = [min(max(10, len(h) + 4), 40) for h in header]
    return write_xlsx_stream(sheets, path, header_style={"about": "title", **{n: "filled" for n in names}},
                             freeze_header={"about": False}, column_widths=widths,
                             bold_rows={"about": [len(about) + 3]})


def _no_empty_text(col: "pd.Series") -> "pd.Series":
    """A text column with its empty strings as missing values: an empty cell, as openpyxl writes ``""``."""
    import pandas as pd

    if not (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)):
        return col
    empty = col.map(lambda v: isinstance(v, str) and v == "")
    return col.where(~empty.astype(bool), None) if empty.any() else col


def _write_xlsx_large(tables: Sequence[ReportTable], path: Path, *, about: Sequence[tuple[str, str]] = ()) -> Path:
    """:func:`write_xlsx` for large tables through :func:`xclz_geo.io.write_xlsx_stream` (seconds, bounded memory)."""
    import pandas as pd

    from xclz_geo.io import write_xlsx_stream

    used: set[str] = {"about"}
    names = [_sheet_name(t.key, used) for t in tables]
    rows: list[list[Any]] = [["xclz_geo 土地集约利用报告 land-efficiency report", None, None, None, None]]
    rows += [[k, v, None, None, None] for k, v in about]
    rows += [[None] * 5, ["sheet", "title", "rows", "quality 数据质量", "caveat 说明"]]
    rows += [[name, t.title, int(len(t.df)), t.quality, t.caveat or ""] for t, name in zip(tables, names)]
    sheets: list[tuple[str, pd.DataFrame]] = [("about", pd.DataFrame(rows[1:], columns=[str(x) if x else " " * (i + 1) for i, x in enumerate(rows[0])]))]
    for t, name in zip(tables, names):
        df = t.df
        out = pd.DataFrame({j: df.iloc[:, j] for j in range(df.shape[1])}, index=df.index, copy=False)  # no copy of 10⁶ rows
        out.columns = [str(t.labels.get(c, c)) for c in df.columns]
        out["数据质量 quality"] = t.quality
        if t.caveat:
            out["说明 caveat"] = t.caveat
        sheets.append((name, out))
    return write_xlsx_stream(sheets, path)


def write_gpkg(layers: Mapping[str, "gpd.GeoDataFrame"], path: Path) -> Path | None:
    """Write every non-empty layer into one GeoPackage (written aside, then moved into place)."""
    layers = {k: v for k, v in layers.items() if v is not None and len(v)}
    if not layers:
        return None
    with atomic_path(path) as tmp, _sqlite_unsynced():
        for name, gdf in layers.items():
            out = gdf.copy(deep=False)  # columns are replaced below, never changed in place (copy-on-write)
            for c in out.columns:
                if c != out.geometry.name and out[c].dtype == object:
                    out[c] = _gpkg_column(out[c])
            # a layer of 10⁶ firms is appended in chunks: the writer's copy of the data stays a chunk's size
            for a in range(0, len(out), GPKG_CHUNK_ROWS):
                out.iloc[a:a + GPKG_CHUNK_ROWS].to_file(tmp, layer=name, driver="GPKG", engine="pyogrio",
                                                        mode="a" if tmp.exists() else "w")
    return path


#: rows per write when a GeoPackage layer is written in chunks (:func:`write_gpkg`)
GPKG_CHUNK_ROWS = 100_000


@contextmanager
def _sqlite_unsynced() -> Iterator[None]:
    """GDAL's SQLite (GeoPackage) writes without an ``fsync`` after every transaction, for the block.

    The GeoPackage is written under a temporary name and moved into place when complete
    (:func:`xclz_geo.io.atomic_path`), like the HTML and the XLSX, which are not synced either: a
    reader never sees a half-written file. Its content is the same; the syncs cost 0.05–0.15 s."""
    import pyogrio

    key = "OGR_SQLITE_SYNCHRONOUS"
    old = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: old})


def _gpkg_column(col: "pd.Series") -> "pd.Series":
    """An object column as a GeoPackage field takes it: missing (None, NaN) as None, text and numbers as
    they are, anything else as its text. A column of text and missing values is done by column (10⁶ firms)."""
    import pandas as pd

    if pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"):
        return col.where(col.notna(), None)
    return col.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else
                   (v if isinstance(v, (str, int, float, bool)) else str(v)))


# ------------------------------------------------------------------ HTML

_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;color:#222;background:#fafafa}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 18px}
h1{font-size:1.55em;margin:18px 0 4px} h2{border-bottom:2px solid #2b6cb0;padding-bottom:4px;margin-top:34px}
h3{font-size:1.02em;margin:18px 0 6px}
.banner{background:#fff4e5;border:1px solid #f0b46c;border-radius:6px;padding:10px 14px;margin:12px 0}
.banner.method{background:#fdecea;border-color:#e57373}
.na{background:#f1f1f1;border:1px dashed #999;padding:10px 14px;border-radius:6px;color:#555}
.q{display:inline-block;font-size:.78em;padding:1px 7px;border-radius:9px;background:#fde2b8;color:#7a4100;margin-left:6px;font-weight:normal}
.caveat{display:block;font-size:.8em;color:#a12622;margin-top:2px;font-weight:normal}
table{border-collapse:collapse;font-size:.86em;background:#fff;margin:4px 0 8px}
th,td{border:1px solid #ccd;padding:3px 7px;vertical-align:top} th{background:#e8f0fb;text-align:left}
td{white-space:nowrap} td.w{white-space:normal;min-width:16em;max-width:34em}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:10px 0 18px} figcaption{font-weight:bold;margin-bottom:4px}
.charts img,.charts svg{max-width:100%;height:auto;border:1px solid #ddd;background:#fff}
.charts .dl{font-size:.8em;margin-top:2px}
iframe.map{width:100%;height:700px;border:1px solid #bbb;background:#fff}
nav a{margin-right:12px} .tablewrap{overflow-x:auto}
.pager{margin:6px 0} .pager input{min-width:18em;padding:2px 6px} .pager .pinfo{margin:0 8px;color:#444;font-size:.86em}
.fact{font-size:1.15em;font-weight:bold;color:#1a5e20}
footer{color:#666;font-size:.8em;margin:30px auto 24px}
"""


def _fmt(v: Any, spec: str | None) -> tuple[str, bool]:
    """(text, is_number) of one cell."""
    if type(v) is str:  # the common case first: text is itself (pd.isna of a str is False)
        return v, False
    import numpy as np

    if v is None:
        return "—", False
    if isinstance(v, (bool, np.bool_)):
        return ("是" if v else "否"), False
    if isinstance(v, (int, np.integer)) and not spec:
        return f"{int(v):,}", True
    if isinstance(v, (float, np.floating, int, np.integer)):
        f = float(v)
        if not math.isfinite(f):
            return "—", True
        try:
            return format(f, spec or ",.2f"), True
        except ValueError:
            return str(v), True
    try:
        import pandas as pd

        if pd.isna(v):
            return "—", False
    except (TypeError, ValueError):
        pass
    return str(v), False


def _html_table(t: ReportTable, *, max_rows: int | None = None) -> str:
    e = escape_html
    df = t.df
    cols = [c for c in df.columns if getattr(df[c], "dtype", None) is None or str(df[c].dtype) != "geometry"]
    if t.html_columns:
        cols = [c for c in cols if c in t.html_columns]
    head = "".join(f"<th>{e(str(t.labels.get(c, c)))}</th>" for c in cols)
    body = []
    rows = df[cols].itertuples(index=False, name=None)
    for i, row in enumerate(rows):
        if max_rows is not None and i >= max_rows:
            body.append(f'<tr><td colspan="{len(cols)}">… {len(df) - max_rows} more rows in the XLSX (sheet {e(t.key)})</td></tr>')
            break
        cells = []
        for c, v in zip(cols, row):
            text, num = _fmt(v, t.formats.get(c))
            if num:
                cells.append(f'<td class="n">{e(text)}</td>')
            else:
                cells.append(f'<td class="w">{e(text)}</td>' if len(text) > 30 else f"<td>{e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{max(len(cols), 1)}">（无记录 no rows）</td></tr>')
    caveat = f'<span class="caveat">{e(t.caveat)}</span>' if t.caveat else ""
    note = f'<div class="note">{e(t.note)}</div>' if t.note else ""
    table = (f'<div class="tablewrap"><table id="{e(t.key)}" data-quality="{e(t.quality)}"><thead><tr>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table></div>")
    cap = f'{e(t.title)} <span class="q">数据质量 {e(t.quality)}</span>{caveat}'
    if t.collapsed:
        return f'<details><summary><b>{cap}</b> — {len(df)} rows</summary>{note}{table}</details>'
    return f"<figure><figcaption>{cap}</figcaption>{note}{table}</figure>"


def _json_for_html(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    import json

    return _json_text_for_html(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _json_text_for_html(txt: str) -> str:
    """JSON text made safe inside ``<script type="application/json">`` as :func:`_json_for_html` does."""
    return (txt.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _paged_columns(t: ReportTable) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """(columns, per-column format info, each column's values as JSON text) of a paged table: numbers as
    numbers (rounded to 6 decimals, formatted in the page), repeated text as codes into a list, other text as
    text, missing as null. Each column is written by pandas' JSON writer, without a Python object per cell."""
    import numpy as np
    import pandas as pd

    df = t.df
    cols = [c for c in df.columns if str(getattr(df[c], "dtype", "")) != "geometry"]
    if t.html_columns:
        cols = [c for c in cols if c in t.html_columns]
    info: list[dict[str, Any]] = []
    data: list[str] = []
    for c in cols:
        col = df[c]
        spec = t.formats.get(c)
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            m = re.search(r"\.(\d+)f", spec or ",.2f")
            digits = int(m.group(1)) if m else 2
            info.append({"num": True, "digits": digits, "sep": "," in (spec or ",")})
            data.append(pd.Series(np.where(np.isfinite(x), x, np.nan)).to_json(orient="values", double_precision=6))
        else:
            obj = col.astype(object)
            codes, uniq = pd.factorize(obj)
            if 0 < len(uniq) <= 5000 and len(uniq) * 2 < len(obj):  # repeated text (status, class, part …): codes into a list
                info.append({"num": False, "dict": [u if isinstance(u, str) else _fmt(u, spec)[0] for u in uniq]})
                data.append(pd.Series(pd.array(np.where(codes < 0, 0, codes), dtype="Int64")).where(codes >= 0)
                            .to_json(orient="values"))
                continue
            vals = obj.where(obj.notna(), None).tolist()
            info.append({"num": False})
            data.append(pd.Series([v if v is None or isinstance(v, str) else _fmt(v, spec)[0] for v in vals], dtype=object)
                        .to_json(orient="values", force_ascii=False))
    return [str(t.labels.get(c, c)) for c in cols], info, data


def _html_paged_table(t: ReportTable) -> str:
    """A large table: header, a filter box, pager buttons and an empty body that :func:`paged_table_script`
    fills from the rows embedded once as JSON (every value written as text, never as HTML)."""
    e = escape_html
    import json

    heads, info, data = _paged_columns(t)
    n = len(t.df)
    payload = ('{"cols":' + json.dumps(heads, ensure_ascii=False) + ',"fmt":' + json.dumps(info, ensure_ascii=False, allow_nan=False)
               + ',"data":[' + ",".join(data) + f'],"n":{n},"page":{PAGE_ROWS}}}')
    head = "".join(f"<th>{e(h)}</th>" for h in heads)
    caveat = f'<span class="caveat">{e(t.caveat)}</span>' if t.caveat else ""
    note = f'<div class="note">{e(t.note)}</div>' if t.note else ""
    key = e(t.key)
    controls = (f'<div class="pager" data-for="{key}"><input type="search" class="pfilter" placeholder="筛选 filter …" '
                f'aria-label="filter rows"> <button type="button" class="pprev">‹ 上一页</button> '
                f'<span class="pinfo">{n:,} rows</span> <button type="button" class="pnext">下一页 ›</button></div>')
    table = (f'<div class="tablewrap"><table id="{key}" class="paged" data-quality="{e(t.quality)}" data-rows="{n}">'
             f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>")
    data_block = f'<script type="application/json" id="{key}-data">{_json_text_for_html(payload)}</script>'
    cap = f'{e(t.title)} <span class="q">数据质量 {e(t.quality)}</span>{caveat}'
    return f"<figure><figcaption>{cap} — {n:,} rows</figcaption>{note}{controls}{table}{data_block}</figure>"


_PAGED_JS = r"""
(function(){
  function fmtNum(v, f) {
    if (v === null) return '—';
    return v.toLocaleString('en-US', {minimumFractionDigits: f.digits, maximumFractionDigits: f.digits, useGrouping: f.sep});
  }
  function setup(table) {
    var src = document.getElementById(table.id + '-data');
    var bar = table.closest('figure').querySelector('.pager');
    if (!src || !bar) return;
    var d = JSON.parse(src.textContent), n = d.n, size = d.page, page = 0, rows = null, hay = null;
    var body = table.tBodies[0], info = bar.querySelector('.pinfo'), box = bar.querySelector('.pfilter');
    var prev = bar.querySelector('.pprev'), next = bar.querySelector('.pnext');
    function cell(c, r) {
      var v = d.data[c][r], f = d.fmt[c];
      if (f.dict) return v === null ? '—' : f.dict[v];
      return f.num ? fmtNum(v, f) : (v === null ? '—' : String(v));
    }
    function haystack() {
      if (hay) return hay;
      hay = new Array(n);
      for (var r = 0; r < n; r++) {
        var parts = [];
        for (var c = 0; c < d.cols.length; c++) parts.push(cell(c, r));
        hay[r] = parts.join('\u0001').toLowerCase();
      }
      return hay;
    }
    function draw() {
      var total = rows ? rows.length : n, pages = Math.max(1, Math.ceil(total / size));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      for (var k = page * size; k < Math.min(total, (page + 1) * size); k++) {
        var r = rows ? rows[k] : k, tr = document.createElement('tr');
        for (var c = 0; c < d.cols.length; c++) {
          var td = document.createElement('td');
          td.textContent = cell(c, r);
          if (d.fmt[c].num) td.className = 'n';
          else if (td.textContent.length > 30) td.className = 'w';
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      }
      while (body.firstChild) body.removeChild(body.firstChild);
      body.appendChild(frag);
      info.textContent = (total ? (page * size + 1).toLocaleString() + '–' + Math.min(total, (page + 1) * size).toLocaleString() : '0')
        + ' / ' + total.toLocaleString() + (rows ? ' (filtered from ' + n.toLocaleString() + ')' : '') + ' · page ' + (page + 1) + ' / ' + pages;
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
    }
    var timer = null;
    box.addEventListener('input', function() {
      clearTimeout(timer);
      timer = setTimeout(function() {
        var q = box.value.trim().toLowerCase();
        if (!q) { rows = null; } else {
          var h = haystack(); rows = [];
          for (var r = 0; r < n; r++) if (h[r].indexOf(q) >= 0) rows.push(r);
        }
        page = 0; draw();
      }, 200);
    });
    prev.addEventListener('click', function() { if (page > 0) { page--; draw(); } });
    next.addEventListener('click', function() { page++; draw(); });
    table.xclzPaged = {draw: draw, setPage: function(p) { page = p; draw(); }, filter: function(q) { box.value = q; box.dispatchEvent(new Event('input')); }};
    draw();
  }
  var tables = document.querySelectorAll('table.paged');
  for (var i = 0; i < tables.length; i++) setup(tables[i]);
  window.xclzPagedReady = true;
  window.xclzPagedReadyMs = performance.now();
})();
"""


def paged_table_script() -> str:
    """The one inline script of a report with paged tables (fills every ``table.paged`` from its JSON
    block; builds cells with ``textContent`` only). Constant text, so a Content-Security-Policy can
    allow it by its hash."""
    return _PAGED_JS


def _html_chart(c: ReportChart) -> str:
    e = escape_html
    caveat = f'<span class="caveat">{e(c.caveat)}</span>' if c.caveat else ""
    head = f'<figure class="charts"><figcaption>{e(c.title)} <span class="q">数据质量 {e(c.quality)}</span>{caveat}</figcaption>'
    if c.svg:  # built by xclz_geo.outputs.svgcharts: every text in it is escaped there
        from urllib.parse import quote

        # the same drawing as a file, for Word/WPS/PowerPoint (a link, no script: the page's CSP is unchanged)
        href = "data:image/svg+xml;charset=utf-8," + quote(c.svg, safe="")
        link = f'<div class="dl"><a download="{e(c.key)}.svg" href="{href}">下载图表 download chart (SVG)</a></div>'
        return head + c.svg.replace("<svg ", f'<svg id="{e(c.key)}" ', 1) + link + "</figure>"
    from xclz_geo.outputs.charts import png_data_uri

    return head + f'<img id="{e(c.key)}" alt="{e(c.title)}" src="{png_data_uri(c.png)}"></figure>'


def render_html(result: ReportResult, *, title: str) -> str:
    """The report as one HTML document (no external resource)."""
    e = escape_html
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{e(title)}</h1>",
        f'<div class="meta">generated {e(result.generated)} by xclz_geo {e(_version())}</div>',
    ]
    labelled = [i for i in result.inputs if i.quality != "official"]
    if labelled:
        items = "".join(f"<li><b>{e(i.name)}</b>: {e(i.quality)}" + (f" — {e(i.note)}" if i.note else "") + "</li>" for i in labelled)
        out.append(f'<div class="banner quality" id="quality-banner"><b>数据质量 Data quality.</b> Not every input is official; '
                   f"every table, chart and map layer below carries its label.<ul>{items}</ul></div>")
    for c in result.caveats:
        out.append(f'<div class="banner method" id="method-caveat"><b>方法说明 Method caveat.</b> {e(c)}</div>')
    for n in result.notes:
        out.append(f'<div class="banner" id="report-note"><b>注意 Note.</b> {e(n)}</div>')
    out.append("<nav>" + "".join(f'<a href="#sec-{e(s.id)}">{e(s.title.split(" ")[0])}</a>' for s in result.sections) + "</nav></header><main>")
    for s in result.sections:
        out.append(f'<section id="sec-{e(s.id)}" data-status="{e(s.status)}"><h2>{e(s.title)}</h2>')
        if s.status != "ok":
            out.append(f'<div class="na">not available: {e(s.reason)}</div></section>')
            continue
        if s.intro:
            out.append(f"<p>{e(s.intro)}</p>")
        for n in s.notes:
            out.append(f'<div class="note">注意 note: {e(n)}</div>')
        if s.html_extra:
            out.append(s.html_extra)
        for c in s.charts:
            out.append(_html_chart(c))
        for t in s.tables:
            out.append(_html_paged_table(t) if t.paged else _html_table(t, max_rows=500 if t.collapsed else None))
        out.append("</section>")
    if any(t.paged for s in result.sections if s.status == "ok" for t in s.tables):
        out.append(f"<script>{paged_table_script()}</script>")
    out.append(f"</main><footer>xclz_geo {e(_version())} · {e(result.generated)} · files: {e(result.html_path.name)}, "
               f"{e(result.xlsx_path.name)}" + (f", {e(result.gpkg_path.name)}" if result.gpkg_path else "") + "</footer></body></html>")
    # a strict CSP: only the page's own inline style (and the embedded map's hashed scripts and styles)
    return add_csp("\n".join(out))


def _version() -> str:
    from xclz_geo import __version__

    return __version__


# ------------------------------------------------------------------ main entry


def build_report(
    zone: "Zone",
    *,
    enterprises: "str | Path | pd.DataFrame | None" = None,
    parcels: "str | Path | gpd.GeoDataFrame | None" = None,
    raster: "str | Path | None" = None,
    method: Any = "anhui",
    out_dir: str | Path,
    title: str | None = None,
    basename: str = DEFAULT_BASENAME,
    tolerance_pct: float = 1.0,
    code_field: str | None = None,
    raster_classes: Any = None,
    datum: str = "wgs84",
    basemap: str | None = None,
    input_quality: Mapping[str, str] | None = None,
    underused_rules: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    history: "str | Path | None" = None,
    targets: "str | Path | None" = None,
    allow_method_change: bool = False,
    input_names: Mapping[str, str] | None = None,
) -> ReportResult:
    """Run the analyses and write the HTML, XLSX and GeoPackage of the land-efficiency report.

    Parameters
    ----------
    zone
        The zone (:meth:`xclz_geo.boundaries.zone.Zone.load`), first: ``build_report(zone, …)``
        (``zone=`` as a keyword, the old spelling, works as well).
    enterprises
        Enterprise table (file or DataFrame) for the 亩均效益 evaluation; ``None``: that section
        says "not available".
    parcels
        Parcel layer (file or GeoDataFrame) for the land-use composition, the TD/T 1029
        indicators and under-used land.
    raster
        Land-cover raster for the land-cover composition.
    method
        Evaluation method: ``"anhui"``, ``"zhejiang"`` or a profile path.
    out_dir
        Folder for the three files (created when missing).
    title
        Report title (default: the zone's Chinese name + 土地集约利用报告).
    basename
        Base name of the output files.
    tolerance_pct
        Area-check tolerance, %.
    code_field
        Land-use code column of ``parcels`` (default: detected by :mod:`xclz_geo.landuse.overlay`).
    raster_classes
        Class table of the raster (default: detected by :mod:`xclz_geo.landuse.overlay`).
    datum
        Datum of the enterprises' 经度/纬度.
    basemap
        Basemap of the embedded map (default: the offline one of :mod:`xclz_geo.outputs.maps`).
    input_quality
        Quality label per input (``{"enterprises": "official"}``) when the data do not carry one;
        bundled samples are ``synthetic``, other inputs without a label ``unlabelled``.
    underused_rules
        Options passed to the under-used land rules of :mod:`xclz_geo.efficiency.intensity`.
    progress
        Called with a short message before each step (the CLI shows it).
    history
        Evaluation history (:mod:`xclz_geo.efficiency.history`): the 规划目标 section adds the shares of
        every stored year and the 逐年变化 section compares the two latest stored years.
    targets
        The plan's targets file (default: the bundled ``data/plan/targets.toml``).
    allow_method_change
        Compare two years scored with different method profiles (the section says so).
    input_names
        How the report names its inputs (``{"enterprises": "企业名单.xlsx", "boundaries": "v2"}``; keys
        ``boundaries``, ``enterprises``, ``parcels``, ``raster``), e.g. the names of uploaded files;
        default: their paths.

    Returns
    -------
    ReportResult
        Paths of the files, the sections (with status and facts), inputs and caveats.

    Raises
    ------
    InputFileError, InputDataError
        An input cannot be read or is malformed (the message names the file and field).
    """
    # the charts are SVG drawn by the reader's browser: no CJK font is needed where the report is made
    return _build(zone=zone, enterprises=enterprises, parcels=parcels, raster=raster, method=method, out_dir=out_dir,
                  title=title, basename=basename, tolerance_pct=tolerance_pct, code_field=code_field,
                  raster_classes=raster_classes, datum=datum, basemap=basemap, input_quality=input_quality,
                  underused_rules=underused_rules, progress=progress, input_names=input_names, history=history,
                  targets=targets, allow_method_change=allow_method_change)


def _build(*, zone: "Zone", enterprises: Any, parcels: Any, raster: Any, method: Any, out_dir: str | Path, title: str | None,
           basename: str, tolerance_pct: float, code_field: str | None, raster_classes: Any, datum: str, basemap: str | None,
           input_quality: Mapping[str, str] | None, underused_rules: Mapping[str, Any] | None,
           progress: Callable[[str], None] | None, input_names: Mapping[str, str] | None = None, history: Any = None,
           targets: Any = None, allow_method_change: bool = False) -> ReportResult:
    say = progress or (lambda msg: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError(f"{out}: --out must be a folder, not a file")
    out.mkdir(parents=True, exist_ok=True)
    generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    boundary_q = zone.worst_quality or "no geometry"
    from xclz_geo.boundaries.zone import describe_quality

    # the header names each part's quality when they differ ("主园区: official; 西区: schematic")
    names = dict(input_names or {})
    inputs = [ReportInput("boundaries 边界", names.get("boundaries") or zone.boundaries_source, describe_quality(zone),
                          note=("schematic parts: positions uncertain by kilometres; not an official red line"
                                if zone.is_mixed_quality else "positions uncertain by kilometres; not an official red line")
                          if zone.is_schematic else "")]
    say("area check")
    sections: list[ReportSection] = [_areas_section(zone, tolerance_pct=tolerance_pct)]

    say("reading parcels")
    parcels_gdf = _read_parcels(parcels)
    parcels_q = ""
    if parcels_gdf is not None:
        parcels_q = _quality_of("parcels", parcels, input_quality,
                                _found_quality(parcels_gdf, where=names.get("parcels") or _source_text(parcels) or "parcels"))
        inputs.append(ReportInput("parcels 地块", names.get("parcels") or _source_text(parcels), parcels_q, rows=len(parcels_gdf)))
    say("亩均效益 evaluation")
    eff_sec, eval_res, eff_q, caveat = _efficiency_section(zone, enterprises, parcels_gdf, method=method, datum=datum,
                                                          declared=input_quality, boundary_q=boundary_q)
    if eval_res is not None:
        inputs.append(ReportInput("enterprises 企业", names.get("enterprises") or _source_text(enterprises), eff_q, rows=int(eval_res.summary["input"]["rows"])))
        if len(eval_res.scores) > LARGE_FIRMS:
            _release_input_text(eval_res)
            _trim_memory()
    say("plan targets and year over year")
    tgt_sec, hist_sec = _plan_sections(zone, eval_res, history=history, targets=targets, eff_q=eff_q, boundary_q=boundary_q,
                                       allow_method_change=allow_method_change)
    say("land-use composition")
    lu_sec, per_parcel = _landuse_section(zone, parcels_gdf, parcels_q, code_field=code_field, boundary_q=boundary_q)
    say("land-cover composition")
    if raster_classes is None and is_sample(raster) and Path(raster).name == SAMPLE_FILES["raster"][1]:
        raster_classes = SAMPLE_RASTER_CLASSES
    lc_sec, raster_q = _landcover_section(zone, raster, classes=raster_classes, declared=input_quality, boundary_q=boundary_q)
    if raster is not None:
        inputs.append(ReportInput("raster 土地覆盖", names.get("raster") or _source_text(raster), raster_q or _quality_of("raster", raster, input_quality)))
    say("TD/T 1029 indicators and under-used land")
    int_sec, under_sec, under_layer = _intensity_sections(
        zone, parcels_gdf, eval_res, parcels_q=parcels_q, eff_q=eff_q, boundary_q=boundary_q, rules=underused_rules)

    say("map layers")
    layers = _map_layers(zone, eval_res, parcels_gdf, under_layer, boundary_q=boundary_q, eff_q=eff_q, parcels_q=parcels_q, caveat=caveat, datum=datum, per_parcel=per_parcel)
    say("map")
    map_sec = _map_section(zone, layers=layers, basemap=basemap)
    if map_sec.status == "ok" and eval_res is not None and len(eval_res.scores) > MAP_CANVAS_FIRMS:
        n_all, n_map = len(eval_res.scores), len(layers.get("enterprises", ()))
        if n_map < n_all:
            map_sec.notes.append(f"{n_all - n_map:,} of {n_all:,} firms have no position (经度/纬度) and are not on the map; "
                                 "every firm is in the firm table and the XLSX.")
    if map_sec.status == "ok":
        map_sec.intro = ("Interactive map, works offline (no basemap tiles are fetched unless a tile basemap was chosen). "
                         f"Layers: {', '.join(layers)} — boundaries {boundary_q}" + (f", enterprises {eff_q}" if eff_q else "") + ".")

    caveats = [caveat] if caveat else []
    method_sec = _method_section(eval_res, caveat)
    inputs_sec = ReportSection("inputs", "输入与数据质量 Inputs and quality")
    import pandas as pd

    inputs_sec.tables.append(
        ReportTable("inputs", "输入数据 Inputs", pd.DataFrame([vars(i) for i in inputs]), "as listed per row",
                    labels=dict(name="输入 input", source="来源 source", quality="质量 quality", rows="行数 rows", note="说明 note"),
                    formats=dict(rows=",.0f"))
    )
    sections = [inputs_sec, sections[0], map_sec, lu_sec, lc_sec, int_sec, eff_sec, tgt_sec, hist_sec, under_sec, method_sec]

    html_path = out / f"{basename}.html"
    xlsx_path = out / f"{basename}.xlsx"
    gpkg_path = out / f"{basename}.gpkg"
    say("writing GeoPackage")
    written_gpkg = write_gpkg(layers, gpkg_path)
    result = ReportResult(html_path, xlsx_path, written_gpkg, sections, inputs, [k for k, v in layers.items() if v is not None and len(v)],
                          caveats, generated)
    if eval_res is not None and len(eval_res.scores) > LARGE_FIRMS:
        layers.clear()  # written and drawn: the point layer of 10⁶ firms is not kept while the XLSX and HTML are made
        del under_layer
        _trim_memory()
    say("writing XLSX")
    about = [("generated", generated), ("xclz_geo", _version()), ("zone", title or _default_title(zone))]
    about += [(f"input: {i.name}", f"{i.source} — quality {i.quality}") for i in inputs]
    about += [("caveat", c) for c in caveats]
    about += [("note", n) for n in result.notes]
    about += [(f"section: {s.id}", "not available: " + s.reason) for s in sections if s.status != "ok"]
    write_xlsx(result.tables, xlsx_path, about=about)
    say("writing HTML")
    doc = render_html(result, title=title or _default_title(zone))
    with atomic_path(html_path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return result


def _trim_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc ``malloc_trim``; elsewhere only the
    collection), so the memory let go by one step of a 10⁶-firm report does not stay counted while the next runs."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _release_input_text(eval_res: Any) -> None:
    """Let go of the enterprise table as read (every cell as text, kept beside the parsed values): once the
    firms are scored the report needs only the parsed values and the scores (at 10⁶ firms this is over a GB)."""
    ent = getattr(eval_res, "enterprises", None)
    if ent is None:
        return
    if getattr(ent, "raw", None) is not None:
        ent.raw = ent.raw.iloc[:0]
    if getattr(ent, "text", None) is not None:
        ent.text = None


def _default_title(zone: "Zone") -> str:
    name = zone.spec.name_zh if zone.spec is not None else "开发区"
    return f"{name} 土地集约利用报告"


def _method_section(eval_res: Any, caveat: str) -> ReportSection:
    import pandas as pd

    sec = ReportSection("method", "方法与规则 Method and rules")
    if eval_res is None:
        return sec.unavailable("no enterprise evaluation was run")
    d = eval_res.method.to_dict()
    rows = []
    for gid, g in d["groups"].items():
        for ind in g["indicators"]:
            rows.append(dict(group=g["name_zh"], indicator=ind["name_zh"], id=ind["id"], unit=ind["unit"], weight=ind["weight"],
                             confirmed=bool(ind["confirmed"])))
    sec.intro = f"{d['name_zh']} — source: {d['source']}" + (f" ({d['year']})" if d.get("year") else "")
    sec.tables.append(
        ReportTable("method_weights", "指标与权重 Indicators and weights", pd.DataFrame(rows), f"method profile {d['id']}", caveat,
                    labels=dict(group="组别", indicator="指标", id="id", unit="单位", weight="权重", confirmed="已核实 confirmed"),
                    formats=dict(weight=".1f"))
    )
    rules = eval_res.summary.get("rules") or {}
    if rules:
        sec.tables.append(ReportTable("method_rules", "评价规则 Rules", pd.DataFrame([dict(rule=k, text=v) for k, v in rules.items()]),
                                      f"method profile {d['id']}", labels=dict(rule="规则", text="说明")))
    sec.facts = {"unconfirmed": d.get("unconfirmed", [])}
    return sec


def _intensity_sections(zone: "Zone", parcels: "gpd.GeoDataFrame | None", eval_res: Any, *, parcels_q: str, eff_q: str,
                        boundary_q: str, rules: Mapping[str, Any] | None) -> tuple[ReportSection, ReportSection, Any]:
    """(TD/T 1029 section, under-used section, under-used layer or None)."""
    sec = ReportSection("intensity", "开发区土地集约利用指标 (TD/T 1029) Development-zone indicators")
    under = ReportSection("underused", "低效用地 Under-used land")
    from xclz_geo.efficiency import intensity as mod
    zone_or_none = zone if zone.has_geometry else None
    if parcels is None:
        sec.unavailable("no parcels given (--parcels FILE): the indicators need a parcel layer with 统计类别, floor area and status")
    else:
        _intensity_tables(mod, sec, parcels, zone, zone_or_none, q=_label(data=parcels_q, boundaries=boundary_q), parcels_q=parcels_q)
    if parcels is None and eval_res is None:
        return sec, under.unavailable("neither parcels (--parcels) nor an enterprise table (--enterprises) given"), None
    layer = _underused_tables(mod, under, parcels, eval_res, zone, zone_or_none, rules=rules,
                              q=_label(parcels=parcels_q if parcels is not None else None,
                                       enterprises=eff_q if eval_res is not None else None, boundaries=boundary_q))
    return sec, under, layer


def _intensity_tables(mod: Any, sec: ReportSection, parcels: "gpd.GeoDataFrame", zone: "Zone", zone_or_none: "Zone | None", *,
                      q: str, parcels_q: str) -> None:
    import pandas as pd

    res, notes = _collect_warnings(mod.intensity, parcels, zone=zone_or_none, quality=parcels_q)
    sec.notes.extend(notes + list(res.summary.get("notes", [])))
    t = res.table
    parts_zh, blocks_zh = _names(zone)
    # a block with a single part repeats that part's values: show it once
    single = {b for b, n in zone.parts.groupby("block_id")["part_id"].count().items() if n == 1}
    t = t[~((t["level"] == "block") & t["unit_id"].isin(single))]
    unit_label = {}
    for lvl, uid in t[["level", "unit_id"]].drop_duplicates().itertuples(index=False, name=None):
        name = parts_zh.get(uid) if lvl == "part" else blocks_zh.get(uid) if lvl == "block" else ("全区 zone" if lvl == "zone" else uid)
        unit_label[(lvl, uid)] = f"{name or uid}" + ("（全园区）" if lvl == "block" else "")
    order = list(dict.fromkeys(t["indicator"]))
    rows = []
    for ind in order:
        g = t[t["indicator"] == ind]
        first = g.iloc[0]
        row: dict[str, Any] = {"name_zh": first["name_zh"], "unit": first["unit"]}
        for _, r in g.iterrows():
            row[unit_label[(r["level"], r["unit_id"])]] = r["value"]
        row["national"] = first["national"]
        row["national_year"] = first["national_year"]
        row["formula"] = first["formula"]
        row["formula_confirmed"] = bool(first["formula_confirmed"])
        rows.append(row)
    wide = pd.DataFrame(rows)
    value_cols = [c for c in wide.columns if c not in ("name_zh", "unit", "national", "national_year", "formula", "formula_confirmed")]
    caveat = ""
    if not wide["formula_confirmed"].all():
        caveat = ("Formulas follow working implementations; the official TD/T 1029 text was not read (formula_confirmed = false). "
                  "National averages compare all monitored zones and are not targets.")
    sec.tables.append(
        ReportTable("tdt1029_indicators", "TD/T 1029 指标与全国平均 Indicators beside the national averages", wide, q, caveat,
                    labels=dict(name_zh="指标 indicator", unit="单位 unit", national="全国平均 national", national_year="年度 year",
                                formula="公式 formula", formula_confirmed="公式已核实 confirmed"),
                    formats={**{c: ",.2f" for c in value_cols}, "national": ",.2f", "national_year": ".0f"})
    )
    sec.tables.append(ReportTable("tdt1029_ledger", "土地台账（按片区）Land ledger per part (m², 万元)", res.ledger, q,
                                  labels={"part_id": "片区 part", "block_id": "园区 block"},
                                  formats={c: ",.0f" for c in res.ledger.columns if c not in ("part_id", "block_id")}, collapsed=True))
    pct = wide[wide["unit"] == "%"]
    if len(pct):
        data = pct.set_index("name_zh")[[c for c in value_cols if c in pct.columns] + ["national"]].rename(columns={"national": "全国平均"})
        data.index.name = None
        fig = _bar(data, title="土地集约利用指标与全国平均（%）", note=_chart_note(q), ylabel="%", horizontal=True,
                               value_format="{:.0f}", width_in=8.5, height_in=max(3.2, 0.75 * len(data) + 1.4))
        _append(sec, _chart("chart_tdt1029", "土地集约利用指标与全国平均 Indicators (%) vs national averages", fig, q, caveat))
    sec.intro = ("A = 已建成城镇建设用地, A2 = 工矿仓储用地, B = 其他可开发土地, D = 已供应, G = 闲置 (统计类别 of the parcels). "
                 "Money indicators are in 万元/公顷 as in the MNR statistics (÷ 15 for 万元/亩).")
    sec.facts = {"units": {k: v for k, v in res.summary.get("units", {}).items()}, "quality": q}


def _underused_tables(mod: Any, sec: ReportSection, parcels: "gpd.GeoDataFrame | None", eval_res: Any, zone: "Zone",
                      zone_or_none: "Zone | None", *, rules: Mapping[str, Any] | None, q: str) -> Any:
    import pandas as pd

    r = mod.UnderusedRules.defaults()
    for k, v in (rules or {}).items():
        if not hasattr(r, k):
            raise InputDataError(f"unknown under-used rule {k!r}; known: {', '.join(r.to_dict())}")
        setattr(r, k, v)
    res, notes = _collect_warnings(mod.underused, parcels=parcels, firms=eval_res, zone=zone_or_none, rules=r)
    s = res.summary
    sec.notes.extend(notes + list(s.get("notes", [])))
    parts_zh, _ = _names(zone)
    total = float(res.total_freeable_mu)
    sec.facts = {"total_freeable_mu": total, "underused": s.get("underused"), "checked": s.get("checked"),
                 "underused_land_mu": s.get("underused_land_mu"), "quality": q}
    thr = s.get("tax_threshold_per_mu")
    med = s.get("zone_median_tax_per_mu")
    rules_txt = (f"亩均税收 < {r.tax_share_of_median:g} × median ({'—' if med is None else f'{med:.2f}'} → "
                 f"{'—' if thr is None else f'{thr:.2f}'} 万元/亩)" if r.tax_share_of_median is not None else "亩均税收 rule off")
    sec.intro = (f"Checked {s.get('checked', 0)} parcels/firms; {s.get('underused', 0)} flagged on "
                 f"{(s.get('underused_land_mu') or 0):,.1f} 亩. Rules: {rules_txt}; 容积率 below the 《工业项目建设用地控制指标》 minimum "
                 f"of the industry; 建筑系数 < {r.coverage_min_pct if r.coverage_min_pct is not None else '—'}%; 闲置 status.")
    sec.html_extra = (f'<p class="fact" id="freeable-mu">可盘活用地估算 land that could be freed: {total:,.1f} 亩 '
                      f'({units.mu_to_ha(total):,.2f} 公顷) '
                      f'<span class="q">数据质量 {escape_html(q)}</span></p>')
    t = res.table
    flagged = t[t["underused"]].copy().sort_values("freeable_mu", ascending=False)
    flagged.insert(flagged.columns.get_loc("part_id") + 1, "part_name", flagged["part_id"].map(lambda v: parts_zh.get(v) if isinstance(v, str) else None))
    labels = dict(kind="对象 kind", parcel_id="地块编号", credit_code="统一社会信用代码", name="企业名称", block_id="园区 block",
                  part_id="片区 part", part_name="片区名称", ledger_class="统计类别", industry_code="行业代码", land_mu="用地 (亩)",
                  far="容积率", coverage_pct="建筑系数 (%)", tax_per_mu="亩均税收 (万元/亩)", idle="闲置", industrial="工业",
                  far_min="容积率下限", far_min_confirmed="下限已核实", coverage_min_pct="建筑系数下限 (%)",
                  tax_threshold_per_mu="亩均税收阈值", flags="标记 flags", underused="低效", freeable_mu="可盘活 (亩)", reason="原因 reason")
    formats = dict(land_mu=",.1f", far=".2f", coverage_pct=".1f", tax_per_mu=".2f", far_min=".2f", coverage_min_pct=".0f",
                   tax_threshold_per_mu=".2f", freeable_mu=",.1f")
    sec.tables.append(ReportTable("underused_land", "低效用地清单 Under-used parcels and firms", flagged, q,
                                  note="可盘活 freeable_mu: the land the current use would need at the threshold intensity — an estimate, "
                                       "not a decision. Every column (thresholds, flags) is in the XLSX sheet underused_land.",
                                  labels=labels, formats=formats,
                                  html_columns=("kind", "parcel_id", "name", "part_name", "ledger_class", "industry_code", "land_mu",
                                                "far", "coverage_pct", "tax_per_mu", "freeable_mu", "reason"),
                                  paged=len(flagged) > LARGE_FIRMS or (len(flagged) > PAGE_ROWS and eval_res is not None
                                                                        and len(eval_res.scores) > LARGE_FIRMS)))
    byf = pd.DataFrame([dict(flag=k, **v) for k, v in (s.get("by_flag") or {}).items()])
    if len(byf):
        byf.insert(1, "flag_zh", byf["flag"].map({"low_tax": "亩均税收偏低", "low_far": "容积率不达标", "low_coverage": "建筑系数不达标",
                                                  "idle": "闲置"}))
        sec.tables.append(ReportTable("underused_by_rule", "按规则汇总 Per rule", byf, q,
                                      labels=dict(flag="规则 rule", flag_zh="说明", count="数量", land_mu="用地 (亩)"),
                                      formats=dict(count=",.0f", land_mu=",.1f")))
    byp = pd.DataFrame(s.get("by_part") or [])
    if len(byp):
        byp.insert(1, "part_name", byp["part_id"].map(lambda v: parts_zh.get(v, "区外/未定位") if isinstance(v, str) else "未定位 not located"))
        sec.tables.append(ReportTable("underused_by_part", "按片区汇总 Per part", byp, q,
                                      labels=dict(part_id="片区 part", part_name="片区名称", count="数量", land_mu="用地 (亩)",
                                                  freeable_mu="可盘活 (亩)"),
                                      formats=dict(count=",.0f", land_mu=",.1f", freeable_mu=",.1f")))
        data = byp.set_index("part_name")[["land_mu", "freeable_mu"]].rename(columns={"land_mu": "低效用地", "freeable_mu": "可盘活"})
        data.index.name = None
        fig = _bar(data, title="各片区低效用地与可盘活面积（亩）", note=_chart_note(q), ylabel="亩", horizontal=True,
                               colours=["#fdae61", "#d7191c"], value_format="{:,.0f}")
        _append(sec, _chart("chart_underused", "各片区低效用地 Under-used land per part", fig, q))
    layer = res.layer
    if layer is not None and len(layer):
        layer = layer.copy()
        layer["quality"] = q
    return layer


def _map_layers(zone: "Zone", eval_res: Any, parcels: "gpd.GeoDataFrame | None", under_layer: Any, *, boundary_q: str, eff_q: str,
                parcels_q: str, caveat: str, datum: str = "wgs84", per_parcel: "pd.DataFrame | None" = None) -> dict[str, "gpd.GeoDataFrame"]:
    """The GeoPackage / map layers (``zone_parts``, ``enterprises``, ``landuse_parcels``, ``underused_parcels``,
    ``underused_firms``), each with a ``quality`` column."""
    import geopandas as gpd
    import pandas as pd

    layers: dict[str, gpd.GeoDataFrame] = {}
    g = zone.parts.geometry
    parts = zone.parts[g.notna() & ~g.is_empty].copy()
    if len(parts):
        parts["quality"] = parts["quality"].astype(str)
        layers["zone_parts"] = parts
    if eval_res is not None and eval_res.enterprises is not None:
        data = eval_res.enterprises.data
        sc = eval_res.scores
        has = data["lon"].notna() & data["lat"].notna()
        if has.any():
            from xclz_geo.geo.crs import convert_datum

            lon, lat = convert_datum(data.loc[has, "lon"].astype(float).to_numpy(), data.loc[has, "lat"].astype(float).to_numpy(),
                                     from_datum=datum, to_datum="wgs84", check=False)
            cols = [c for c in ("group", "tax_per_mu", "revenue_per_mu", "total_score", "rank", "class", "status", "reason",
                                "block_id", "part_id", "locate_status") if c in sc.columns]
            attrs = pd.DataFrame({
                "credit_code": data.loc[has, "credit_code"].to_numpy(dtype=object),
                "name": data.loc[has, "name"].to_numpy(dtype=object),
                "land_mu": data.loc[has, "land_mu"].to_numpy(dtype=float),
                "tax_wan": data.loc[has, "tax_wan"].to_numpy(dtype=float),
            })
            for c in cols:
                attrs[c] = sc.loc[has, c].to_numpy(dtype=object if sc[c].dtype == object else None)
            if "rank" in attrs:
                attrs["rank"] = pd.to_numeric(attrs["rank"], errors="coerce")
            attrs["class"] = attrs.get("class", pd.Series(dtype=object)).map(lambda v: v if isinstance(v, str) else "")
            attrs["quality"] = eff_q or UNLABELLED
            attrs["method_caveat"] = caveat
            pts = gpd.GeoDataFrame(attrs, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
            layers["enterprises"] = pts
    if parcels is not None and len(parcels):
        p = parcels.copy()
        if per_parcel is not None and len(per_parcel) == len(p):
            for c in per_parcel.columns:
                p[c] = per_parcel[c].reindex(range(len(p))).to_numpy()
        p["quality"] = parcels_q or UNLABELLED
        layers["landuse_parcels"] = p
    if under_layer is not None and len(under_layer):
        # one geometry type per GeoPackage layer: flagged parcels (polygons) and flagged firms (points)
        gt = under_layer.geometry.geom_type
        poly = under_layer[gt.isin(["Polygon", "MultiPolygon"])]
        pts = under_layer[gt == "Point"]
        if len(poly):
            layers["underused_parcels"] = poly.reset_index(drop=True)
        if len(pts):
            layers["underused_firms"] = pts.reset_index(drop=True)
    return layers


def _functional_areas_table(rep: Any, q: str) -> ReportTable:
    """One row per functional area (碳中和示范区 …): measured where it has geometry, ``no geometry`` otherwise."""
    import pandas as pd

    rows = [dict(area_id=a.id, name_zh=a.name_zh, block_id=a.block, part_id=a.part, official_km2=a.official_km2,
                 measured_km2=a.measured_km2, deviation_pct=a.deviation_pct, outside_m2=a.outside_m2, quality=a.quality,
                 status=a.status) for a in rep.areas]
    return ReportTable(
        "functional_areas", "功能区 Functional areas inside the parts", pd.DataFrame(rows), q,
        labels=dict(area_id="功能区 area", name_zh="名称", block_id="园区 block", part_id="片区 part", official_km2="官方面积 (km²)",
                    measured_km2="量测面积 (km², 平面)", deviation_pct="偏差 (%)", outside_m2="片区外 (m²)", quality="质量 quality",
                    status="结果 status"),
        formats=dict(official_km2=".2f", measured_km2=".3f", deviation_pct="+.2f", outside_m2=",.0f"),
        note="无几何 no geometry: not imported yet (`xclz-geo boundaries import FILE --area ID --out B.gpkg`).",
    )


# ------------------------------------------------------------------ plan targets and year over year (issue 16)


def _plan_sections(zone: "Zone", eval_res: Any, *, history: "str | Path | None", targets: Any, eff_q: str,
                   boundary_q: str, allow_method_change: bool = False) -> tuple[ReportSection, ReportSection]:
    """(规划目标 section, 逐年变化 section): leading-industry shares, and transitions of the two latest stored years."""
    return (_targets_section(zone, eval_res, history=history, targets=targets, eff_q=eff_q, boundary_q=boundary_q),
            _history_section(zone, history=history, boundary_q=boundary_q, allow_method_change=allow_method_change))


_SHARE_LABELS = dict(year="年度 year", block_id="园区 block", block_zh="园区", industry="产业 id", industry_zh="产业",
                     kind="类型", firms="企业数", land_mu="用地 (亩)", tax_wan="税收 (万元)", revenue_wan="营业收入 (万元)",
                     firms_share_pct="企业数占比 (%)", land_mu_share_pct="用地占比 (%)", tax_wan_share_pct="税收占比 (%)",
                     revenue_wan_share_pct="营收占比 (%)", confirmed_codes="行业代码已确认 confirmed")
_SHARE_FORMATS = dict(firms=",.0f", land_mu=",.1f", tax_wan=",.1f", revenue_wan=",.0f", firms_share_pct=".1f",
                      land_mu_share_pct=".1f", tax_wan_share_pct=".1f", revenue_wan_share_pct=".1f", year=".0f")
_SHARE_ZH = {"firms_share_pct": "企业数占比", "land_mu_share_pct": "用地占比", "tax_wan_share_pct": "税收占比",
             "revenue_wan_share_pct": "营收占比"}


def _targets_section(zone: "Zone", eval_res: Any, *, history: Any, targets: Any, eff_q: str, boundary_q: str) -> ReportSection:
    import pandas as pd

    from xclz_geo.efficiency.targets import firm_frame, leading_shares, leading_shares_by_year, load_targets

    sec = ReportSection("targets", "规划目标 Plan targets")
    if eval_res is None and history is None:
        return sec.unavailable("no enterprise table given (--enterprises FILE) and no history (--history H.sqlite)")
    t = targets if hasattr(targets, "blocks") else load_targets(targets)
    unconfirmed = [i.name_zh for inds in t.blocks.values() for i in inds if not i.confirmed_codes]
    caveat = (f"产业与国民经济行业代码 (GB/T 4754-2017) 的对应为项目判断，未经园区确认 (confirmed_codes = false): "
              f"{'、'.join(unconfirmed)}; shares depend on that mapping ({Path(t.path).name})") if unconfirmed else ""
    sec.intro = (f"{t.source}: 到{t.target_year or '—'}年 each block's leading industries (主导产业, 经济板块). Shares are of all "
                 "firms of the enterprise table located in the block (企业数, 用地, 税收, 营业收入); a firm in two industries "
                 "whose codes overlap counts once in 全部主导产业.")
    sec.facts = {"targets": t.id, "unconfirmed_codes": unconfirmed}
    _, blocks_zh = _names(zone)
    q_cur = _label(data=eff_q, boundaries=boundary_q)
    if eval_res is not None:
        if "block_id" not in eval_res.scores.columns or eval_res.scores["block_id"].isna().all():
            sec.notes.append("current evaluation: firms were not located in the zone (no block), so no share per block")
        else:
            cur = leading_shares(t, firm_frame(eval_res))
            sec.tables.append(ReportTable("plan_targets", "主导产业占比（本次评价）Leading-industry shares (this evaluation)",
                                          cur, q_cur, caveat, labels=_SHARE_LABELS, formats=_SHARE_FORMATS))
            allr = cur[cur["industry"] == "all_leading"].set_index("block_zh")
            data = allr[list(_SHARE_ZH)].rename(columns=_SHARE_ZH)
            fig = _bar(data, title="各园区主导产业占比（%）", note=_chart_note(q_cur, caveat), ylabel="占比（%）",
                       value_format="{:.1f}")
            _append(sec, _chart("chart_plan_targets", "各园区主导产业占比 Leading-industry shares per block", fig, q_cur, caveat))
            sec.facts["current"] = {r.block_id: {k: (None if pd.isna(getattr(r, k)) else float(getattr(r, k))) for k in _SHARE_ZH}
                                    for r in allr.itertuples()}
    if history is None:
        sec.notes.append("change over the years: not available — give --history H.sqlite (stored with "
                         "`xclz-geo efficiency … --year Y --history H.sqlite`)")
        return sec
    from xclz_geo.efficiency.history import list_years

    years = list_years(history)
    if not years:
        sec.notes.append(f"change over the years: {Path(history).name} holds no year yet")
        return sec
    by_year = leading_shares_by_year(t, history)
    qh = " + ".join(sorted({str(y["data_quality"] or UNLABELLED) for y in years}))
    q_hist = _label(data=qh, boundaries=" + ".join(sorted({str(y["boundaries_quality"] or "none") for y in years})))
    allh = by_year[by_year["industry"] == "all_leading"]
    cols = ["year", "block_id", "block_zh", "firms", "land_mu", "tax_wan", "revenue_wan", *_SHARE_ZH]
    sec.tables.append(ReportTable("plan_targets_by_year", "全部主导产业占比逐年变化 Leading-industry shares per stored year",
                                  allh[cols].reset_index(drop=True), q_hist, caveat, labels=_SHARE_LABELS, formats=_SHARE_FORMATS))
    sec.tables.append(ReportTable("plan_targets_by_year_detail", "各主导产业占比逐年明细 Per industry and year", by_year, q_hist,
                                  caveat, labels=_SHARE_LABELS, formats=_SHARE_FORMATS, collapsed=True))
    if len(years) >= 2:
        piv = allh.pivot_table(index="year", columns="block_zh", values="tax_wan_share_pct", aggfunc="first")
        piv.index = [f"{y}年" for y in piv.index]
        piv.columns = [f"{c} 税收占比" for c in piv.columns]
        fig = _bar(piv, title="主导产业税收占比逐年变化（%）", note=_chart_note(q_hist, caveat), ylabel="占比（%）",
                   value_format="{:.1f}")
        _append(sec, _chart("chart_plan_targets_by_year", "主导产业税收占比逐年变化 Leading-industry tax share per year", fig, q_hist, caveat))
    return sec


def _history_section(zone: "Zone", *, history: Any, boundary_q: str, allow_method_change: bool) -> ReportSection:
    import pandas as pd

    from xclz_geo.efficiency.history import CHANGES, CLASS_ORDER, compare_years, list_years

    sec = ReportSection("history", "逐年变化 Year over year")
    if history is None:
        return sec.unavailable("no evaluation history given (--history H.sqlite)")
    years = [y["year"] for y in list_years(history)]
    if len(years) < 2:
        return sec.unavailable(f"{Path(history).name} holds {len(years)} year(s) ({', '.join(map(str, years)) or 'none'}); "
                               "two stored years are needed")
    y0, y1 = years[-2], years[-1]
    try:
        cmp = compare_years(history, year_from=y0, year_to=y1, allow_method_change=allow_method_change)
    except InputDataError as exc:
        if "allow-method-change" not in str(exc):
            raise
        return sec.unavailable(f"{y0} and {y1} were scored with different methods; add --allow-method-change to compare them")
    s = cmp.summary
    dq = " + ".join(sorted({str(v or UNLABELLED) for v in s["quality"]["data"].values()}))
    q = _label(data=dq, boundaries=boundary_q)
    caveat = next((n for n in s["notes"] if "method changed" in n), "")
    parts_zh, _ = _names(zone)
    c = s["counts"]
    n_d = s["rules"]["consecutive_d_trigger_years"]
    sec.intro = (f"{y0} → {y1}（存储的最近两个年度 the two latest stored years of {Path(history).name}）: "
                 + "，".join(f"{k} {c[k]}" for k in CHANGES)
                 + f"。连续{n_d}年D类 {s['d_trigger']} 家 (rule from the method profile"
                 + ("" if s["rules"]["confirmed"] else ", project default, not confirmed") + ")。"
                 + f" Firms are matched by 统一社会信用代码, else by name and location: {', '.join(f'{k} {v}' for k, v in s['match'].items())}.")
    sec.notes.extend(n for n in s["notes"] if n != caveat)
    sec.facts = {"years": [y0, y1], "counts": c, "d_trigger": s["d_trigger"], "match": s["match"],
                 "method_changed": s["method_changed"]}
    m = cmp.matrix.copy()
    m.index = [f"{y0}年 {k}类" for k in m.index]
    mat = m.reset_index().rename(columns={"index": "class_from"})
    mat.columns = ["class_from", *[f"to_{k}" for k in CLASS_ORDER]]
    sec.tables.append(ReportTable("transition_matrix", f"分类转移矩阵 A–D matrix ({y0} 行 rows → {y1} 列 columns)", mat, q, caveat,
                                  labels={"class_from": f"{y0}年类别", **{f"to_{k}": f"{y1}年 {k}类" for k in CLASS_ORDER}},
                                  formats={f"to_{k}": ",.0f" for k in CLASS_ORDER}))
    place = lambda v: parts_zh.get(v) or ("未定位 not located" if v in (None, "not located") else v)  # noqa: E731
    bp = pd.DataFrame(s["by_part"])
    if len(bp):
        bp.insert(1, "name_zh", bp["part_id"].map(place))
    sec.tables.append(ReportTable("transition_counts", "各片区分类变化 Changes per part", bp, q, caveat,
                                  labels={"part_id": "片区 part", "name_zh": "名称", "d_trigger": f"连续{n_d}年D类",
                                          **{k: k for k in CHANGES}},
                                  formats={k: ",.0f" for k in [*CHANGES, "d_trigger"]}))
    tt = cmp.table
    d = tt[tt["d_trigger"].astype(bool)][["credit_code", "name", "part_id", "class_from", "class_to", "consecutive_d_years",
                                           "tax_per_mu_to", "match"]].copy()
    d.insert(3, "name_zh", d["part_id"].map(place))
    sec.tables.append(ReportTable("d_trigger", f"连续{n_d}年及以上D类企业 Firms in class D {n_d}+ years running", d.reset_index(drop=True),
                                  q, caveat, labels=dict(credit_code="统一社会信用代码", name="企业名称", part_id="片区 part",
                                                         name_zh="片区", class_from=f"{y0}年类别", class_to=f"{y1}年类别",
                                                         consecutive_d_years="连续D类年数", tax_per_mu_to=f"{y1}年亩均税收 (万元/亩)",
                                                         match="匹配方式 match"),
                                  formats=dict(consecutive_d_years=".0f", tax_per_mu_to=".2f")))
    sec.tables.append(ReportTable("transitions", f"企业逐年变化明细 Transitions {y0} → {y1}", tt, q, caveat,
                                  labels=dict(credit_code="统一社会信用代码", name="企业名称", part_id="片区 part",
                                              class_from=f"{y0}年类别", class_to=f"{y1}年类别", change="变化", score_from=f"{y0}年得分",
                                              score_to=f"{y1}年得分", tax_per_mu_from=f"{y0}年亩均税收", tax_per_mu_to=f"{y1}年亩均税收",
                                              consecutive_d_years="连续D类年数", match="匹配方式 match", industry_code="行业代码",
                                              d_trigger=f"连续{n_d}年D类", score_trend="得分趋势 (每年)", note="说明 note"),
                                  formats=dict(score_from=".3f", score_to=".3f", tax_per_mu_from=".2f", tax_per_mu_to=".2f",
                                               consecutive_d_years=".0f", score_trend="+.3f"), collapsed=True))
    from xclz_geo.outputs import charts

    if len(bp):
        order = {pid: i for i, pid in enumerate(parts_zh)}
        ct = bp.assign(_o=bp["part_id"].map(lambda v: order.get(v, len(order)))).sort_values("_o", kind="stable")
        ct = ct.set_index("name_zh")[list(CHANGES)]
        fig = _bar(ct, title=f"{y0}→{y1}年各片区企业分类变化（家）", note=_chart_note(q, caveat), ylabel="企业数（家）",
                   stacked=True, horizontal=True, value_format="{:,.0f}",
                   colours={"升档": "#1a9641", "降档": "#d7191c", "持平": "#bdbdbd", "新增": "#2b83ba", "退出": "#fdae61"})
        _append(sec, _chart("chart_changes_by_part", f"各片区分类变化 Changes per part {y0}→{y1}", fig, q, caveat))
    mc = cmp.matrix.copy()
    mc.index = [f"{y0}年 {k}类" for k in mc.index]
    mc.columns = [f"{y1}年 {k}类" for k in mc.columns]
    fig = _bar(mc, title=f"分类转移：{y0}年类别 → {y1}年类别（家）", note=_chart_note(q, caveat), ylabel="企业数（家）",
               stacked=True, value_format="{:,.0f}",
               colours={f"{y1}年 {k}类": charts.CLASS_COLOURS.get(k, "#9ecae1") for k in CLASS_ORDER})
    _append(sec, _chart("chart_transition_matrix", f"分类转移 Class transitions {y0}→{y1}", fig, q, caveat))
    return sec


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "DEFAULT_BASENAME", "SAMPLE_FILES", "SAMPLE_RASTER_CLASSES", "UNLABELLED", "SECTION_IDS", "ReportTable",
    "ReportChart", "ReportSection", "ReportInput", "ReportResult", "sample_inputs", "is_sample", "GROUP_COLOURS",
    "REPORT_LEGEND_SECTION", "write_xlsx", "write_gpkg", "render_html", "build_report"
]
