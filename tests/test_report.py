"""The land-efficiency report: files, sections, offline HTML, quality labels, Chinese charts.

The report is built once per module on the synthetic rectangles of ``conftest.py``, the bundled
synthetic enterprise sample, a small hand-made parcel layer and a tiny land-cover GeoTIFF
(both built here, labelled synthetic).
"""

from __future__ import annotations

import html as _html
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import make_synthetic_boundaries
from xclz_geo.outputs import charts
from xclz_geo.geo.crs import transformer
from xclz_geo.datasets import data_path
from xclz_geo.errors import FontUnavailableError, InputFileError
from xclz_geo.outputs.report import build_report, is_sample, sample_inputs
from xclz_geo.boundaries.zone import Zone

ENTERPRISES = data_path("samples", "enterprises_synthetic.csv", must_exist=False)

#: hand-made parcels in the xuancheng rectangle: (DLBM, 统计类别, supplied, idle, floor m², footprint m², invest 万元, tax 万元, industry)
PARCELS = [
    ("0601", "A2", "是", "否", 60000.0, 24000.0, 30000.0, 900.0, "3484"),   # ordinary plant
    ("0601", "A2", "是", "否", 8000.0, 6000.0, 4000.0, 20.0, "3484"),       # low FAR, low coverage, low tax
    ("0601", "A2", "是", "是", 0.0, 0.0, 0.0, 0.0, "2929"),                 # idle
    ("0602", "A2", "是", "否", 30000.0, 15000.0, 8000.0, 300.0, "5951"),    # warehouse
    ("0701", "A1", "是", "否", 80000.0, 8000.0, None, None, None),          # housing
    ("0810", "A4", "是", "否", 20000.0, 6000.0, None, 50.0, None),          # public
    ("1003", "A51", "是", "否", None, None, None, None, None),              # road
    ("0101", "B11", "否", "否", None, None, None, None, None),              # farmland, not yet available
    ("1106", "C1", "否", "否", None, None, None, None, None),               # water, not buildable
]
PARCEL_SIDE_M = 300.0


def make_parcels():
    import geopandas as gpd
    from shapely.geometry import box

    to_gk = transformer("EPSG:4490", "EPSG:4549")
    x0, y0 = to_gk.transform(118.775, 30.915)  # centre of the synthetic xuancheng rectangle
    rows, geoms = [], []
    for i, (dlbm, led, sup, idle, fa, fp, inv, tax, ind) in enumerate(PARCELS):
        cx = x0 - 1000 + (i % 3) * (PARCEL_SIDE_M + 50)
        cy = y0 - 1000 + (i // 3) * (PARCEL_SIDE_M + 50)
        geoms.append(box(cx, cy, cx + PARCEL_SIDE_M, cy + PARCEL_SIDE_M))
        rows.append({"地块编号": f"T{i + 1:02d}", "DLBM": dlbm, "统计类别": led, "是否已供应": sup, "是否闲置": idle,
                     "总建筑面积(平方米)": fa, "建筑基底面积(平方米)": fp, "固定资产投资(万元)": inv, "税收(万元)": tax,
                     "行业代码": ind, "quality": "synthetic"})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4549").to_crs("EPSG:4490")


def make_raster(path: Path) -> Path:
    """A 100 m land-cover grid over the xuancheng rectangle: left half class 50 (built-up), right half 10 (tree)."""
    import rasterio
    from affine import Affine

    to_gk = transformer("EPSG:4490", "EPSG:4549")
    x0, y0 = to_gk.transform(118.775, 30.915)
    n = 60
    data = np.full((n, n), 10, dtype="uint8")
    data[:, : n // 2] = 50
    tr = Affine(100.0, 0.0, x0 - 3000, 0.0, -100.0, y0 + 3000)
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="uint8", crs="EPSG:4549",
                       transform=tr, nodata=0) as dst:
        dst.write(data, 1)
        dst.update_tags(quality="synthetic")
    return path


@pytest.fixture(scope="module")
def zone():
    return Zone.from_boundaries(make_synthetic_boundaries())


@pytest.fixture(scope="module")
def built(zone, tmp_path_factory):
    if not ENTERPRISES.exists():
        pytest.skip("data/samples/enterprises_synthetic.csv is not in this checkout")
    tmp = tmp_path_factory.mktemp("report")
    raster = make_raster(tmp / "landcover.tif")
    out = tmp / "out"
    res = build_report(zone=zone, enterprises=ENTERPRISES, parcels=make_parcels(), raster=raster,
                       raster_classes={10: "林地 tree", 50: "建设用地 built-up"}, out_dir=out)
    return res


@pytest.fixture(scope="module")
def page(built) -> str:
    return built.html_path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ files and sections


def test_three_files_written(built):
    assert built.html_path.is_file() and built.html_path.suffix == ".html"
    assert built.xlsx_path.is_file() and built.xlsx_path.suffix == ".xlsx"
    assert built.gpkg_path is not None and built.gpkg_path.is_file()
    assert not list(built.html_path.parent.glob(".*tmp*")), "temporary files left behind"


def test_every_section_present_and_run(built, page):
    for sid in ("inputs", "areas", "map", "landuse", "landcover", "intensity", "efficiency", "underused", "method"):
        sec = built.section(sid)
        assert sec.status == "ok", f"{sid}: {sec.reason}"
        assert f'id="sec-{sid}" data-status="ok"' in page
    for title in ("面积核对", "土地利用构成", "TD/T 1029", "亩均效益", "低效用地"):
        assert title in page


def test_area_table_has_every_part(built):
    t = next(t for t in built.tables if t.key == "area_check")
    assert list(t.df["part_id"]) == ["xuancheng", "guangde_main", "guangde_west"]
    # the rectangles are sized to the official areas
    assert np.allclose(t.df["measured_km2"], t.df["official_km2"], rtol=1e-3)


def test_landuse_composition_in_mu(built):
    t = next(t for t in built.tables if t.key == "landuse_by_group")
    x = t.df[t.df["part_id"] == "xuancheng"]
    # nine 300 m × 300 m parcels = 9 × 135 亩
    assert x["area_mu"].sum() == pytest.approx(9 * PARCEL_SIDE_M**2 * 15 / 10000, rel=1e-6)
    assert set(t.df["part_id"]) <= {"xuancheng", "guangde_main", "guangde_west"}


def test_landcover_shares(built):
    t = next(t for t in built.tables if t.key == "landcover_by_class")
    x = t.df[t.df["part_id"] == "xuancheng"]
    # the grid covers 6 km × 6 km around the rectangle's centre; the rectangle is √29.8 ≈ 5.46 km wide,
    # so it lies inside the grid and is split in two equal halves
    by_name = x.groupby("name")["area_mu"].sum()
    assert by_name["林地 tree"] == pytest.approx(by_name["建设用地 built-up"], rel=1e-3)
    assert by_name.sum() == pytest.approx(29.8 * 1500, rel=2e-3)


def test_tdt1029_table_beside_national_average(built):
    t = next(t for t in built.tables if t.key == "tdt1029_indicators")
    names = set(t.df["name_zh"])
    assert {"土地开发率", "工业用地率", "综合容积率", "土地闲置率"} <= names
    assert t.df["national"].notna().sum() >= 5
    row = t.df.set_index("name_zh").loc["工业用地率"]
    # A2 = 4 parcels, A = 4 + A1 + A4 + A51 = 7 parcels, all of equal area
    assert row["宣城经开区"] == pytest.approx(4 / 7 * 100, rel=1e-6)
    assert "formula_confirmed = false" in t.caveat


def test_efficiency_tables_and_caveat(built):
    t = next(t for t in built.tables if t.key == "class_distribution")
    assert set(t.df["class"]) <= {"A", "B", "C", "D"}
    assert "confirmed" in built.caveats[0] or "not official" in built.caveats[0]
    assert "not official" in t.caveat
    scores = next(t for t in built.tables if t.key == "enterprise_scores")
    src = pd.read_csv(ENTERPRISES, encoding="utf-8-sig")
    assert len(scores.df) == len(src), "every enterprise row is in the report"
    assert int(t.df["count"].sum()) == int((scores.df["status"] == "evaluated").sum())


def test_underused_freeable_mu_consistent(built, page):
    sec = built.section("underused")
    t = next(t for t in built.tables if t.key == "underused_land")
    assert (t.df["freeable_mu"] > 0).all()
    assert sec.facts["total_freeable_mu"] == pytest.approx(float(t.df["freeable_mu"].sum()))
    # the idle parcel T03 (135 亩) frees all its land
    idle = t.df[t.df["parcel_id"] == "T03"]
    assert len(idle) == 1 and idle["freeable_mu"].iloc[0] == pytest.approx(135.0, rel=1e-6)
    m = re.search(r'id="freeable-mu">[^<]*?([\d,]+\.\d) 亩', page)
    assert m and float(m.group(1).replace(",", "")) == pytest.approx(sec.facts["total_freeable_mu"], abs=0.05)


# ------------------------------------------------------------------ offline and labels


_EXTERNAL = re.compile(r"""<(?:script|img|iframe)\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//|@import\s+(?:url\()?["']?\s*(?:https?:)?//""", re.I)


def test_html_has_no_external_script_or_stylesheet(page):
    assert not _EXTERNAL.search(page)
    # the embedded map is an escaped srcdoc document: check it too
    docs = [_html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)]
    assert docs, "the map is embedded"
    for d in docs:
        assert "<script" in d and "L.map" in d.replace(" ", "") or "leaflet" in d.lower()
        assert not _EXTERNAL.search(d), _EXTERNAL.search(d).group(0)


def test_map_layers_are_named_with_their_quality(page, built):
    doc = _html.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    doc = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), doc)  # layer-control names are JSON-escaped
    assert re.search(r"低效用地 Under-used land \(\d+\) · synthetic; boundaries synthetic", doc)
    assert re.search(r"企业 [ABCD] 类 \(\d+\) · synthetic", doc)
    assert "土地利用地块 Land-use parcels · synthetic" in doc
    assert "confirmed = false" in doc
    assert built.section("map").facts["overlays"]


def test_report_layers_are_in_the_maps_own_legend(page):
    doc = _html.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    doc = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), doc)
    # one legend (the map's), holding the report's layers under their heading; no second legend control
    legend = re.search(r"d\.innerHTML = (\"(?:[^\"\\]|\\.)*\");", doc)
    assert legend
    text = legend.group(1)
    assert "图例 Legend" in text and "报告图层 Report layers" in text
    assert re.search(r"企业 [ABCD] 类", text) and "低效用地 Under-used land" in text
    assert "confirmed = false" in text
    assert "XclzReportLegend" not in doc and "XclzReportRefit" not in doc
    assert doc.count("L.control({position") == 0


def test_charts_are_inline_svg_under_the_pages_csp(page, built):
    import xml.etree.ElementTree as ET

    from xclz_geo.outputs.html_safe import inline_hashes, read_csp

    svgs = re.findall(r'<svg id="([^"]+)".*?</svg>', page, flags=re.S)
    assert svgs == [c.key for c in built.charts] and len(svgs) >= 6
    assert not [f for f in re.findall(r'<figure class="charts">.*?</figure>', page, flags=re.S) if "<img" in f]
    for c in built.charts:
        root = ET.fromstring(c.svg)  # well-formed: every text escaped
        assert not [el for el in root.iter() if el.tag.endswith(("}script", "}style", "}foreignObject"))]
        assert not [a for el in root.iter() for a in el.attrib if a.lower().startswith("on")]
        assert root.get("aria-label") and root.get("aria-label") == root.find("{http://www.w3.org/2000/svg}title").text
    # each chart can be saved as an SVG file (a download link holding the same drawing)
    from urllib.parse import unquote

    links = dict(re.findall(r'<a download="([^"]+)\.svg" href="data:image/svg\+xml;charset=utf-8,([^"]+)"', page))
    assert set(links) == {c.key for c in built.charts}
    for c in built.charts:
        assert unquote(links[c.key]) == c.svg
    # the CSP still allows exactly the page's own inline style and script (the SVGs add none)
    csp = read_csp(page)
    scripts, styles = inline_hashes(page)
    assert set(styles) <= set(csp["style-src"]) and set(scripts) <= set(csp["script-src"])
    assert "'unsafe-inline'" not in csp["style-src"] and "'unsafe-inline'" not in csp["script-src"]


def test_every_table_and_chart_carries_quality(built, page):
    for t in built.tables:
        assert t.quality, t.key
    for t in built.tables:
        if t.key.startswith(("area", "landuse", "landcover", "tdt1029", "class_", "efficiency", "enterprise", "underused")):
            assert "synthetic" in t.quality, (t.key, t.quality)
    tables_html = re.findall(r'<table id="([^"]+)" data-quality="([^"]*)"', page)
    assert {k for k, _ in tables_html} == {t.key for t in built.tables}
    assert all(q for _, q in tables_html)
    for c in built.charts:
        assert "synthetic" in c.quality, c.key
    assert page.count("数据质量") >= len(built.tables) + len(built.charts)
    assert 'id="quality-banner"' in page and 'id="method-caveat"' in page


def test_xlsx_one_sheet_per_table_with_quality(built):
    from openpyxl import load_workbook

    wb = load_workbook(built.xlsx_path, read_only=True)
    assert wb.sheetnames[0] == "about"
    assert wb.sheetnames[1:] == [t.key for t in built.tables]
    for t in built.tables:
        df = pd.read_excel(built.xlsx_path, sheet_name=t.key)
        assert len(df) == len(t.df), t.key
        assert "数据质量 quality" in df.columns
        assert (df["数据质量 quality"] == t.quality).all()
        if t.caveat:
            assert (df["说明 caveat"] == t.caveat).all()
    about = pd.read_excel(built.xlsx_path, sheet_name="about", header=None).astype(str)
    assert about.apply(lambda col: col.str.contains("synthetic")).any().any()
    wb.close()


def test_gpkg_layers_carry_quality(built):
    import pyogrio

    layers = [str(n) for n in pyogrio.list_layers(built.gpkg_path)[:, 0]]
    assert set(layers) >= {"zone_parts", "enterprises", "landuse_parcels", "underused_parcels", "underused_firms"}
    import geopandas as gpd

    for name in layers:
        g = gpd.read_file(built.gpkg_path, layer=name)
        assert "quality" in g.columns and g["quality"].notna().all() and (g["quality"] != "").all(), name
        assert len(g) > 0
    lu = gpd.read_file(built.gpkg_path, layer="landuse_parcels")
    assert {"group", "zone_status"} <= set(lu.columns)
    assert set(lu.loc[lu["DLBM"] == "0601", "group"]) == {"industrial"}
    ent = gpd.read_file(built.gpkg_path, layer="enterprises")
    assert (ent["quality"] == "synthetic").all()
    assert ent["method_caveat"].str.contains("not official").all()
    src = pd.read_csv(ENTERPRISES, encoding="utf-8-sig")
    lonlat = pd.to_numeric(src["经度"], errors="coerce").notna() & pd.to_numeric(src["纬度"], errors="coerce").notna()
    assert len(ent) == int(lonlat.sum())



def test_gpkg_is_whole_and_gdal_left_as_it_was(built, tmp_path):
    # write_gpkg writes without SQLite's fsync per transaction (the file is moved into place when complete):
    # the file must still be a sound SQLite database, and GDAL's setting must be back to what it was
    import sqlite3

    import pyogrio

    from xclz_geo.outputs.report import write_gpkg

    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    layers = {n: pyogrio.read_dataframe(built.gpkg_path, layer=n) for n in pyogrio.list_layers(built.gpkg_path)[:, 0]}
    out = write_gpkg(layers, tmp_path / "again.gpkg")
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == before
    with sqlite3.connect(out) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for n, g in layers.items():
        again = pyogrio.read_dataframe(out, layer=n)
        assert again.drop(columns="geometry").equals(g.drop(columns="geometry"))
        assert list(again.geometry.to_wkb()) == list(g.geometry.to_wkb()), n

def test_missing_inputs_are_not_available_not_invented(zone, tmp_path):
    res = build_report(zone=zone, out_dir=tmp_path)
    text = res.html_path.read_text(encoding="utf-8")
    for sid, why in (("landuse", "no parcels given"), ("landcover", "no land-cover raster given"),
                     ("efficiency", "no enterprise table given"), ("underused", "neither parcels")):
        sec = res.section(sid)
        assert sec.status == "not available" and why in sec.reason
        assert not sec.tables and not sec.charts
        block = text.split(f'id="sec-{sid}"', 1)[1].split("</section>", 1)[0]
        assert "not available: " + why in block
        assert "<table" not in block and "<img" not in block
    assert res.section("areas").status == "ok"
    assert not res.caveats  # no method ran, no method caveat


def test_out_must_be_a_folder(zone, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InputFileError, match="folder"):
        build_report(zone=zone, out_dir=f)


def test_samples_are_labelled_synthetic():
    for name, p in sample_inputs().items():
        if p is not None:
            assert is_sample(p)
            assert "synthetic" in p.name
    assert not is_sample(Path("/tmp/enterprises.csv"))


# ------------------------------------------------------------------ Chinese charts


def test_chart_png_uses_a_cjk_font_without_missing_glyphs():
    df = pd.DataFrame({"规上": [21, 47, 31, 5], "规下": [6, 15, 9, 2]},
                      index=["A 优先发展类", "B 鼓励提升类", "C 规范转型类", "D 调控帮扶类"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = charts.bar_chart(df, title="亩均效益分类：各类企业数", note="数据质量 synthetic 合成样例", ylabel="企业数（家）",
                               stacked=True)
        png = charts.figure_png(fig)
    glyph = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert not glyph, glyph
    fonts = charts.fonts_used(fig)
    assert fonts, "the chart has Chinese text"
    from matplotlib.ft2font import FT2Font

    for path in fonts:
        font = FT2Font(path)
        for ch in "亩均效益分类企业数规上下优先发展类鼓励提升规范转型调控帮扶":
            assert font.get_char_index(ord(ch)) != 0, f"{path} has no glyph for {ch}"
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from xclz_geo.outputs.browser import png_stats

    assert not png_stats(png).is_blank()


def test_report_charts_are_text_asking_for_a_chinese_font(built, page):
    import xml.etree.ElementTree as ET

    for c in built.charts:
        root = ET.fromstring(c.svg)
        assert root.get("font-family").startswith('"Noto Sans CJK SC"'), c.key
        words = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert any(re.search(r"[\u4e00-\u9fff]", w) for w in words), c.key  # Chinese labels are text, not pixels
        assert any(w.startswith("数据质量 quality — ") and "synthetic" in w for w in words), c.key  # the label travels with it
    assert "亩均效益分类：各类企业数" in re.sub(r"<[^>]+>", " ", page)  # searchable in the page


def test_no_cjk_font_is_an_error_not_boxes(monkeypatch, tmp_path):
    monkeypatch.setenv("XCLZ_CJK_FONT", str(tmp_path / "missing.ttf"))
    charts.cjk_font.cache_clear()
    try:
        with pytest.raises(FontUnavailableError, match="fonts-noto-cjk"):
            charts.bar_chart(pd.DataFrame({"x": [1.0]}, index=["甲"]), title="标题")
    finally:
        monkeypatch.delenv("XCLZ_CJK_FONT")
        charts.cjk_font.cache_clear()


def test_report_charts_need_no_cjk_font_where_the_report_is_made(zone, tmp_path, monkeypatch):
    """The SVG charts are drawn by the reader's browser: a machine without a CJK font still makes them."""
    if not ENTERPRISES.exists():
        pytest.skip("no bundled enterprise sample")
    monkeypatch.setenv("XCLZ_CJK_FONT", str(tmp_path / "missing.ttf"))
    charts.cjk_font.cache_clear()
    try:
        with pytest.raises(FontUnavailableError):
            charts.cjk_font()
        res = build_report(zone=zone, enterprises=ENTERPRISES, out_dir=tmp_path / "out")
    finally:
        monkeypatch.delenv("XCLZ_CJK_FONT")
        charts.cjk_font.cache_clear()
    sec = res.section("efficiency")
    assert sec.status == "ok" and sec.tables and len(sec.charts) >= 3
    assert not any(n.startswith("charts not drawn") for n in sec.notes) and not res.notes
    page = res.html_path.read_text(encoding="utf-8")
    assert page.count('<svg id="chart_') == len(res.charts)


def test_nan_bars_are_left_out_not_drawn_as_zero():
    df = pd.DataFrame({"亩均税收": [10.0, math.nan]}, index=["甲", "乙"])
    fig = charts.bar_chart(df, title="测试")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "10.0" in texts
    assert "0.0" not in texts and "nan" not in texts


# ------------------------------------------------------------------ browser


@pytest.mark.browser
def test_report_opens_offline_without_console_errors(built):
    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with HeadlessBrowser(width_px=1280, height_px=900, offline=True) as b:
        rep = b.open(built.html_path, ready_js="return document.readyState === 'complete';", timeout_s=60)
        d = b.driver
        imgs = d.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth]);")
        assert all(ok and w > 0 for ok, w in imgs)
        # the SVG charts are drawn, with their text inside them (the layout's text-width estimate holds)
        drawn = d.execute_script("""return Array.from(document.querySelectorAll('figure.charts svg')).map(function(s) {
            var r = s.getBoundingClientRect(), out = 0, title = s.querySelector('text.title');
            s.querySelectorAll('text').forEach(function(t) { var b = t.getBoundingClientRect();
              if (b.width && (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1)) out++; });
            return [s.id, r.width, r.height, title ? title.getComputedTextLength() : 0,
                    s.querySelectorAll('rect[data-value], circle[data-value]').length, out]; });""")
        assert [x[0] for x in drawn] == [c.key for c in built.charts]
        for key, w, h, title_px, marks, outside in drawn:
            assert w > 300 and h > 150 and title_px > 50 and marks > 0, key
            assert outside == 0, (key, outside)
        frame = d.find_element("css selector", "iframe.map")
        d.execute_script("arguments[0].scrollIntoView();", frame)
        d.switch_to.frame(frame)
        import time

        t0 = time.monotonic()
        while not d.execute_script("return window.xclzMapReady === true;") and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        assert d.execute_script("return window.xclzMapReady === true;")
        assert d.execute_script("return document.querySelectorAll('path.leaflet-interactive').length;") >= 3
        # fitted to the zone, not stuck at the maximum zoom of a map created in an unsized frame
        zoom = d.execute_script("var k = Object.keys(window).filter(x => x.startsWith('map_'))[0]; return window[k].getZoom();")
        assert 7 <= zoom <= 14
        legend = d.execute_script("return document.querySelector('.xclz-legend').innerText;")
        assert "报告图层 Report layers" in legend and "企业" in legend
        d.switch_to.default_content()
        errors = rep.console_errors + b.console_errors()
    assert errors == []


# ------------------------------------------------------------------ large inputs (issue 13 R11)

PAYLOAD = '<img src=x onerror="window.__xclz_pwned=1">'


@pytest.fixture(scope="module")
def built_large(zone, tmp_path_factory):
    """The report of the synthetic sample with the large-input threshold lowered to 30 firms; one firm
    name is a script payload."""
    import xclz_geo.outputs.report as report_mod

    if not ENTERPRISES.exists():
        pytest.skip("data/samples/enterprises_synthetic.csv is not in this checkout")
    df = pd.read_csv(ENTERPRISES, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.loc[5, "企业名称"] = PAYLOAD
    out = tmp_path_factory.mktemp("report_large") / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(report_mod, "LARGE_FIRMS", 30)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = build_report(zone=zone, enterprises=df, out_dir=out)
    finally:
        mp.undo()
    return res, df


def test_large_firm_table_is_paged_json_not_dom_rows(built_large):
    import json

    res, df = built_large
    page = res.html_path.read_text(encoding="utf-8")
    assert page.count('class="paged"') == 1 and page.count("<script>") >= 1
    table = re.search(r'<table id="enterprise_scores" class="paged"[^>]*>.*?</table>', page, re.S).group(0)
    assert "<tbody></tbody>" in table  # rows are drawn by the script, a page at a time
    blob = re.search(r'<script type="application/json" id="enterprise_scores-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in blob and ">" not in blob  # every < > & is \u-escaped inside the JSON block
    data = json.loads(blob)
    assert data["n"] == len(df) == 150 and data["page"] == 100
    assert all(len(col) == len(df) for col in data["data"])
    names = data["data"][data["cols"].index("企业名称")]
    assert names[5] == PAYLOAD  # kept as text, to be shown with textContent
    assert PAYLOAD not in page and "onerror=\"window" not in page
    # the XLSX still holds every firm and every column
    x = pd.read_excel(res.xlsx_path, sheet_name="enterprise_scores")
    assert len(x) == len(df) and "企业名称" in x.columns and "数据质量 quality" in x.columns
    assert x["企业名称"].iloc[5] == PAYLOAD


def test_large_report_clusters_firm_markers(built_large):
    res, _ = built_large
    page = res.html_path.read_text(encoding="utf-8")
    doc = _html.unescape(re.search(r'<iframe class="map"[^>]*srcdoc="([^"]*)"', page).group(1))
    assert "xclz_firms_" in doc and "L.markerClusterGroup" in doc
    assert "cdn.jsdelivr" not in doc and "unpkg" not in doc  # markercluster inlined for offline use
    assert PAYLOAD not in doc  # the name is in the JSON with < > escaped
    assert doc.count("企业 A 类") >= 1


@pytest.mark.browser
def test_large_report_pages_filters_and_never_runs_firm_text(built_large):
    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    res, _ = built_large
    with HeadlessBrowser(width_px=1280, height_px=900, offline=True) as b:
        rep = b.open(res.html_path, ready_js="return window.xclzPagedReady === true;", timeout_s=60)
        assert rep.ready
        d = b.driver
        rows = lambda: d.execute_script("return document.querySelectorAll('#enterprise_scores tbody tr').length;")  # noqa: E731
        assert rows() == 100
        d.execute_script("document.querySelector('.pager .pnext').click();")
        assert rows() == 50
        d.execute_script("document.getElementById('enterprise_scores').xclzPaged.filter('onerror');")
        import time

        t0 = time.monotonic()
        while rows() != 1 and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert rows() == 1
        cell = d.execute_script("return Array.from(document.querySelectorAll('#enterprise_scores tbody td')).map(t => t.textContent);")
        assert PAYLOAD in cell
        assert d.execute_script("return document.querySelectorAll('#enterprise_scores img').length;") == 0
        frame = d.find_element("css selector", "iframe.map")
        d.execute_script("arguments[0].scrollIntoView();", frame)
        d.switch_to.frame(frame)
        t0 = time.monotonic()
        while not d.execute_script("return window.xclzMapReady === true;") and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        t0 = time.monotonic()
        while not d.execute_script("return document.querySelectorAll('.xclz-cluster').length;") and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        assert d.execute_script("return document.querySelectorAll('.xclz-cluster').length;") > 0
        assert not d.execute_script("return window.__xclz_pwned === 1;")
        d.switch_to.default_content()
        assert not d.execute_script("return window.__xclz_pwned === 1;")
        errors = rep.console_errors + b.console_errors()
    assert errors == []

def test_mixed_zone_header_and_area_notes_are_per_part(tmp_path):
    from conftest import make_mixed_quality_boundaries

    res = build_report(zone=Zone.from_boundaries(make_mixed_quality_boundaries()), out_dir=tmp_path)
    text = res.html_path.read_text(encoding="utf-8")
    header = text.split("<header>", 1)[1].split("</header>", 1)[0]
    banner = header.split('id="quality-banner"', 1)[1].split("</div>", 1)[0]
    assert "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic" in banner
    assert "schematic parts: positions uncertain by kilometres" in banner
    areas = text.split('id="sec-areas"', 1)[1].split("</section>", 1)[0]
    assert "宣城经开区, 广德经开区西区 (schematic): the geometry reproduces the official areas by construction" in areas
    assert "广德经开区主园区 (official): the measured area is +34.6 %" in areas
    facts = res.section("areas").facts
    assert facts["quality_by_part"] == {"xuancheng": "schematic", "guangde_main": "official", "guangde_west": "schematic"}
    inputs = {i["name"]: i for i in res.to_dict()["inputs"]}
    assert inputs["boundaries 边界"]["quality"] == "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic"


def test_small_report_xlsx_is_styled_without_openpyxl(tmp_path):
    """The small report's workbook (written by the streaming writer) keeps the styling and the cells."""
    from openpyxl import load_workbook

    from xclz_geo.outputs.report import ReportTable, write_xlsx

    df = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "甲公司", "+1"], "area_mu": [12.5, 3.0, np.nan],
                       "n_firms": [3, 1, 0], "note": ["", "ok", None]})
    t = ReportTable(key="enterprise_scores", title="企业评价 firm scores", df=df, quality="synthetic",
                    caveat="not confirmed", labels={"name": "企业名称", "area_mu": "面积（亩）"})
    path = write_xlsx([t], tmp_path / "r.xlsx", about=[("inputs", "-x.csv")])
    wb = load_workbook(path)
    assert wb.sheetnames == ["about", "enterprise_scores"]
    ws = wb["enterprise_scores"]
    header = [c.value for c in ws[1]]
    assert header == ["企业名称", "面积（亩）", "n_firms", "note", "数据质量 quality", "说明 caveat"]
    for c in ws[1]:
        assert c.font.b and c.fill.fill_type == "solid" and c.fill.fgColor.rgb[-6:] == "DDEBF7"
        assert c.alignment.wrap_text
    assert ws.freeze_panes == "A2"
    for i, h in enumerate(header):
        assert ws.column_dimensions["ABCDEF"[i]].width == min(max(10, len(h) + 4), 40)
    assert ws["A2"].data_type == "s" and ws["A2"].value == "=HYPERLINK(\"http://x\")" and ws["A2"].quotePrefix
    assert ws["A4"].value == "+1" and ws["A4"].quotePrefix and not ws["A3"].quotePrefix
    assert ws["B2"].value == 12.5 and ws["B3"].value == 3 and ws["B4"].value is None
    assert ws["C2"].data_type == "n" and ws["C2"].value == 3 and not ws["C2"].font.b
    assert ws["D2"].value is None and ws["D3"].value == "ok"  # an empty text is an empty cell, as openpyxl wrote it
    assert [ws.cell(r, 5).value for r in (2, 3, 4)] == ["synthetic"] * 3
    about = wb["about"]
    assert about["A1"].value.startswith("xclz_geo") and about["A1"].font.b and about["A1"].font.sz == 13
    assert about["B1"].value is None and about.freeze_panes is None
    assert about["A2"].value == "inputs" and about["B2"].value == "-x.csv" and about["B2"].quotePrefix and not about["A2"].font.b
    assert [c.value for c in about[4]] == ["sheet", "title", "rows", "quality 数据质量", "caveat 说明"]
    assert all(c.font.b for c in about[4])
    assert [c.value for c in about[5]] == ["enterprise_scores", "企业评价 firm scores", 3, "synthetic", "not confirmed"]
    assert not about["A5"].font.b and about["C5"].data_type == "n"
    assert (about.column_dimensions["A"].width, about.column_dimensions["B"].width, about.column_dimensions["D"].width) == (26, 60, 40)
