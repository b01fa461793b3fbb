"""Canvas point layers from one compact data block (:mod:`xclz_geo.outputs._map_points`) and the JSON block helper."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from xclz_geo.outputs._map_points import add_point_layers
from xclz_geo.outputs.html_safe import inline_hashes, json_script, read_csp
from xclz_geo.outputs.maps import render_html, zone_map

PAYLOAD = "</script><img src=x onerror=alert(1)>&amp;"


def points(n: int, *, spots: int) -> gpd.GeoDataFrame:
    """``n`` points on ``spots`` distinct positions inside the synthetic 宣城 part, with popup columns."""
    k = np.arange(n)
    lon = 118.77 + (k % spots) * 0.001
    lat = 30.91 + (k % spots) * 0.0005
    df = pd.DataFrame({"name": [PAYLOAD if i == 3 else f"企业{i}\t甲" for i in k], "status": np.where(k % 2, "evaluated", "invalid"),
                       "score": np.where(k % 5 == 0, np.nan, k / 7), "code": [f"C{i:04d}" for i in k]})
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def block(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="xclz-points-[^"]+">(.*?)</script>', page, re.S).group(1))


def test_one_entry_per_point_with_encoded_columns(synthetic_zone):
    m = zone_map(synthetic_zone)
    pts = points(40, spots=40)
    pts.loc[7, "geometry"] = None  # no position: not drawn, counted out
    drawn = add_point_layers(m, pts, codes=np.arange(40) % 2, layers=[("甲 layer", "#123456"), ("乙 layer", "#654321"), ("empty", "#000")],
                             popup_columns=["status", "score", "code", "missing"], title="企业", title_column="name")
    assert (drawn.points, drawn.entries, drawn.aggregated) == (39, 39, False)
    assert drawn.layers == ("甲 layer", "乙 layer")  # a layer without points is left out
    page = render_html(m)
    b = block(page)
    assert len(b["lat"]) == len(b["c"]) == 39
    assert b["cols"] == ["status", "score", "code", "name"] and b["titleCol"] == 3
    kinds = dict(zip(b["cols"], b["kind"]))
    assert kinds == {"status": "dict", "score": "num", "code": "text", "name": "text"}
    status = b["data"][0]
    assert sorted(set(status)) == [0, 1] and b["dict"][0] == ["invalid", "evaluated"]
    assert b["data"][1][0] is None and b["data"][1][1] == pytest.approx(round(1 / 7, 4))  # NaN → null, numbers rounded
    names = b["data"][3].split("\t")
    assert len(names) == 39 and names[3] == PAYLOAD and names[1] == "企业1 甲"  # a tab in the text becomes a space
    # the payload stays inside the data block: nothing in it closes the block or becomes markup
    raw = re.search(r'<script type="application/json" id="xclz-points-[^"]+">(.*?)</script>', page, re.S).group(1)
    assert "<" not in raw and ">" not in raw and "&amp;" not in raw
    assert "<img src=x" not in page
    # every inline script is allowed by the page's policy (hash-based)
    scripts, _ = inline_hashes(page)
    assert set(scripts) <= set(read_csp(page)["script-src"])
    assert page.count("new L.XclzPoints(") == 2


def test_above_max_points_the_block_holds_counts_per_square(synthetic_zone):
    m = zone_map(synthetic_zone)
    pts = points(60, spots=4)
    codes = (np.arange(60) // 30).astype(int)  # 30 of layer 0 then 30 of layer 1, on 4 spots each
    drawn = add_point_layers(m, pts, codes=codes, layers=[("a", "#111"), ("b", "#222")], popup_columns=["status"],
                             title="企业", title_column="name", max_points=50)
    assert drawn.aggregated and drawn.points == 60
    b = block(render_html(m))
    assert sum(b["w"]) == 60 and len(b["w"]) == drawn.entries
    want = pd.DataFrame({"c": codes, "spot": np.arange(60) % 4}).drop_duplicates()
    assert drawn.entries == len(want)
    assert b["cols"] == [] and PAYLOAD.split(">")[0] not in json.dumps(b)  # no per-point text at all


def test_json_script_escapes_what_could_end_the_block():
    html = json_script({"a": PAYLOAD, "b": "\u2028x"}, element_id='x"y')
    assert html.startswith('<script type="application/json" id="x&quot;y">') and html.count("</script>") == 1
    body = html[html.index(">") + 1: -len("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body
    assert json.loads(body) == {"a": PAYLOAD, "b": "\u2028x"}


def test_data_blocks_are_not_hashed_into_the_policy(synthetic_zone):
    """A data block is never run, so the page's policy needs no hash of it (a large report's blocks are tens of MB)."""
    from xclz_geo.outputs.html_safe import sha256_source

    m = zone_map(synthetic_zone)
    add_point_layers(m, points(5, spots=5), codes=np.zeros(5, dtype=int), layers=[("a", "#111")], popup_columns=["status"],
                     title="企业", title_column="name")
    page = render_html(m)
    raw = re.search(r'<script type="application/json" id="xclz-points-[^"]+">(.*?)</script>', page, re.S).group(1)
    scripts, _ = inline_hashes(page)
    assert sha256_source(raw) not in scripts and sha256_source(raw) not in read_csp(page)["script-src"]
    assert any("new L.XclzPoints(" in s for s in re.findall(r"<script>(.*?)</script>", page, re.S))  # the layer script is hashed
    assert len(scripts) == len(re.findall(r"<script>", page))


def test_template_syntax_in_point_data_stays_text(synthetic_zone):
    # the data block is written as it is: "{{ … }}" or "{% … %}" in a firm's name is never run as a Jinja template
    m = zone_map(synthetic_zone)
    pts = points(6, spots=6)
    pts.loc[1, "name"] = "甲{{ 6*7 }}乙"
    pts.loc[2, "name"] = "{% if true %}IF{% endif %}"
    pts.loc[4, "name"] = "{{ unclosed"
    add_point_layers(m, pts, codes=np.zeros(6, dtype=int), layers=[("a", "#111")], popup_columns=["status"],
                     title="企业", title_column="name")
    names = block(render_html(m))["data"][-1].split("\t")
    assert names[1] == "甲{{ 6*7 }}乙" and names[2] == "{% if true %}IF{% endif %}" and names[4] == "{{ unclosed"
