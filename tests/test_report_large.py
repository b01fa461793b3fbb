"""A report above the paging threshold: 25,000 synthetic firms (issue 13 R11, "bounded size").

The bundled synthetic sample (every firm invented) is repeated with fresh credit codes; one firm is
renamed to a script payload and moved to a spot of its own. The report must keep every firm in the
XLSX, show the firm and under-used tables as paged JSON (no 25,000 DOM rows), draw the firms on the map
from one data block holding one entry per firm with a position (the page says how many), keep the
payload as text, and, opened in chromium with the network cut, show it as text in the point's popup.
"""

from __future__ import annotations

import html as _html
import json
import re
import time
import warnings

import pandas as pd
import pytest

from conftest import make_synthetic_boundaries
from xclz_geo.boundaries.zone import Zone
from xclz_geo.datasets import data_path
from xclz_geo.outputs.report import LARGE_FIRMS, MAP_CANVAS_FIRMS, build_report

pytestmark = pytest.mark.slow  # building the 25,000-firm report takes ~30 s

ENTERPRISES = data_path("samples", "enterprises_synthetic.csv", must_exist=False)
N = 25_000
PAYLOAD = '<img src=x onerror=alert(1)>'
#: where the payload firm is put: inside the synthetic 宣城 part, away from every sample firm
PAYLOAD_AT = (118.7951, 30.9377)


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    if not ENTERPRISES.exists():
        pytest.skip("data/samples/enterprises_synthetic.csv is not in this checkout")
    base = pd.read_csv(ENTERPRISES, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    reps = -(-N // len(base))
    df = pd.concat([base] * reps, ignore_index=True).iloc[:N].copy()
    df["统一社会信用代码"] = [f"SYNL{i:014d}" for i in range(N)]
    k = int(df.index[(df["经度"] != "") & (df["纬度"] != "") & (df["实缴税金(万元)"] != "")][7])
    df.loc[k, "企业名称"] = PAYLOAD
    df.loc[k, "经度"], df.loc[k, "纬度"] = (str(v) for v in PAYLOAD_AT)
    assert N > LARGE_FIRMS and N > MAP_CANVAS_FIRMS
    out = tmp_path_factory.mktemp("report_25k") / "out"
    zone = Zone.from_boundaries(make_synthetic_boundaries())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = build_report(zone, enterprises=df, out_dir=out)
    page = res.html_path.read_text(encoding="utf-8")
    doc = _html.unescape(re.search(r'<iframe class="map"[^>]*srcdoc="([^"]*)"', page).group(1))
    return res, df, k, page, doc


def _blocks(doc: str) -> dict[str, dict]:
    """The map's point data blocks, by id."""
    return {m.group(1): json.loads(m.group(2))
            for m in re.finditer(r'<script type="application/json" id="(xclz-points-[^"]+)">(.*?)</script>', doc, re.S)}


def test_every_firm_is_in_the_xlsx(large):
    from openpyxl import load_workbook

    res, df, k, _, _ = large
    wb = load_workbook(res.xlsx_path, read_only=True)
    try:
        rows = wb["enterprise_scores"].iter_rows(values_only=True)
        header = next(rows)
        name_col = header.index("企业名称")
        names = [r[name_col] for r in rows]
    finally:
        wb.close()
    assert len(names) == N
    assert names[k] == PAYLOAD  # as text
    assert sorted(names) == sorted(df["企业名称"])


def test_firm_and_underused_tables_are_paged(large):
    res, df, _, page, _ = large
    for key in ("enterprise_scores", "underused_land"):
        table = re.search(rf'<table id="{key}" class="paged"[^>]*>.*?</table>', page, re.S)
        assert table is not None, key
        assert "<tbody></tbody>" in table.group(0)
        blob = json.loads(re.search(rf'<script type="application/json" id="{key}-data">(.*?)</script>', page, re.S).group(1))
        assert all(len(col) == blob["n"] for col in blob["data"])
        if key == "enterprise_scores":
            assert blob["n"] == N
        else:
            assert blob["n"] == res.section("underused").facts["underused"] > 100
    assert page.count("<tr>") < 2000  # no table of thousands of DOM rows
    assert PAYLOAD not in page


def test_map_draws_every_positioned_firm_from_one_block(large):
    res, df, k, _, doc = large
    placed = int(((df["经度"] != "") & (df["纬度"] != "")).sum())
    blocks = _blocks(doc)
    firms = next(b for b in blocks.values() if b["title"].startswith("企业"))
    assert len(firms["lat"]) == len(firms["lon"]) == len(firms["c"]) == placed
    assert "w" not in firms  # one entry per firm, each with its popup data
    assert all(len(col) == placed for col, kind in zip(firms["data"], firms["kind"]) if kind != "text")
    assert all(col.count("\t") == placed - 1 for col, kind in zip(firms["data"], firms["kind"]) if kind == "text")
    # no marker objects, styles or popup HTML per firm, no marker clusters
    assert "L.markerClusterGroup(" not in doc
    assert doc.count("xclz-popup") < 200  # the zone's parts, counties and roads only
    assert PAYLOAD not in doc  # < and > are \u-escaped in the data block
    under = next(b for b in blocks.values() if b["title"].startswith("低效用地"))
    flagged = res.section("underused").facts["underused"]
    assert 0 < len(under["lat"]) <= flagged
    notes = " ".join(res.section("map").notes)
    assert f"{placed:,} firms 家企业 drawn" in notes
    assert f"{N - placed:,} of {N:,} firms have no position" in notes
    assert f"{len(under['lat']):,} under-used firms" in notes
    assert "drawn" in res.html_path.read_text(encoding="utf-8").split('id="sec-map"', 1)[1].split("</section>", 1)[0]


@pytest.mark.browser
def test_large_report_opens_and_a_point_popup_shows_the_name_as_text(large):
    from selenium.webdriver.common.action_chains import ActionChains

    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    res, _, _, _, _ = large
    with HeadlessBrowser(width_px=1280, height_px=900, offline=True) as b:
        rep = b.open(res.html_path, ready_js="return window.xclzPagedReady === true;", timeout_s=60)
        assert rep.ready
        d = b.driver
        assert d.execute_script("return document.querySelectorAll('#enterprise_scores tbody tr').length;") == 100
        frame = d.find_element("css selector", "iframe.map")
        d.execute_script("arguments[0].scrollIntoView();", frame)
        d.switch_to.frame(frame)
        t0 = time.monotonic()
        while not d.execute_script("return window.xclzMapReady === true;") and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        map_js = "var m = window[Object.keys(window).find(function(k){ return /^map_[0-9a-f]+$/.test(k); })];"
        # zoomed out: circles with counts, not one mark per firm
        circles = d.execute_script("var n = 0, t = 0; Object.keys(window).filter(function(k){ return k.indexOf('xclz_points_') === 0; })"
                                   ".forEach(function(k){ window[k].layers.forEach(function(l){ n += l._items.length;"
                                   " l._items.forEach(function(it){ t += it.n; }); }); }); return [n, t];")
        assert 0 < circles[0] < 2000 and circles[1] > 20_000
        # go to the payload firm, alone on its spot, and click it as a user would
        d.execute_script(map_js + f"m.setView([{PAYLOAD_AT[1]}, {PAYLOAD_AT[0]}], 18, {{animate: false}});")
        time.sleep(0.5)
        box = d.find_element("css selector", ".folium-map")
        size = d.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", box)
        at = d.execute_script(map_js + f"var p = m.latLngToContainerPoint([{PAYLOAD_AT[1]}, {PAYLOAD_AT[0]}]); return [p.x, p.y];")
        ActionChains(d).move_to_element_with_offset(box, int(at[0] - size[0] / 2), int(at[1] - size[1] / 2)).click().perform()
        t0 = time.monotonic()
        while not d.execute_script("return document.querySelector('.leaflet-popup-content') !== null;") and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        text = d.execute_script("return document.querySelector('.leaflet-popup-content').textContent;")
        assert PAYLOAD in text and "synthetic" in text
        assert d.execute_script("return document.querySelectorAll('.leaflet-popup-content img').length;") == 0
        assert not d.execute_script("return window.__xclz_pwned === 1 || document.querySelectorAll('img[src=\"x\"]').length > 0;")
        d.switch_to.default_content()
        errors = rep.console_errors + b.console_errors()
    assert errors == []
