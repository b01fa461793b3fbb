"""The report's SVG charts: escaped text, bars proportional to values, NaN left out, box statistics as matplotlib's."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from xclz_geo.outputs import svgcharts
from xclz_geo.outputs.svgcharts import bar_svg, box_stats, box_svg, nice_ticks, text_width

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & \'q\' <img src=x onerror=alert(1)>'


def parse(svg: str) -> ET.Element:
    """The SVG as XML (it must be well-formed: every text escaped)."""
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if r.get("data-value") is not None]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def test_every_text_is_escaped_and_comes_back_as_given():
    df = pd.DataFrame({HOSTILE: [1.0, 2.0], "规下": [3.0, 4.0]}, index=[HOSTILE, "乙"])
    svg = bar_svg(df, title=HOSTILE, note="数据质量 " + HOSTILE, xlabel=HOSTILE, ylabel=HOSTILE)
    assert "<script" not in svg and "<img" not in svg and "onerror=alert" not in svg.replace("onerror=alert(1)&gt;", "")
    root = parse(svg)
    # no element but the drawing ones; no event attributes, no style element, no script
    tags = {el.tag.removeprefix(NS) for el in root.iter()}
    assert tags <= {"svg", "title", "rect", "text", "line", "g", "circle"}, tags
    assert not [a for el in root.iter() for a in el.attrib if a.lower().startswith("on")]
    t = texts(root)
    assert t.count(HOSTILE) >= 4  # title, legend, category, both axis labels (the note is prefixed)
    assert "数据质量 " + HOSTILE in t
    assert root.find(f"{NS}title").text == HOSTILE
    assert root.get("aria-label") == HOSTILE
    assert any(HOSTILE in (el.text or "") for el in root.iter(f"{NS}title") if el is not root.find(f"{NS}title"))  # tooltips


def test_box_chart_text_is_escaped():
    svg = box_svg({HOSTILE: [1.0, 2.0, 3.0]}, title=HOSTILE, note=HOSTILE, ylabel=HOSTILE, reference=(2.0, HOSTILE))
    assert "<script" not in svg
    root = parse(svg)
    assert texts(root).count(HOSTILE) >= 4
    assert root.find(f".//{NS}g[@class='box']").get("data-group") == HOSTILE


@pytest.mark.parametrize("horizontal", [False, True])
def test_bar_lengths_are_proportional_to_values(horizontal):
    vals = [3.0, 12.5, 0.0, 7.25]
    df = pd.DataFrame({"亩均税收": vals}, index=["甲", "乙", "丙", "丁"])
    root = parse(bar_svg(df, title="测试", horizontal=horizontal))
    rs = bars(root)
    assert [float(r.get("data-value")) for r in rs] == vals
    size = [float(r.get("width" if horizontal else "height")) for r in rs]
    ratio = size[1] / vals[1]
    for v, s in zip(vals, size):
        assert s == pytest.approx(v * ratio, abs=0.02)
    # every bar starts at the value axis' zero
    start = {float(r.get("x")) for r in rs} if horizontal else {round(float(r.get("y")) + float(r.get("height")), 1) for r in rs}
    assert len(start) == 1
    assert "12.5" in texts(root) and "7.2" in texts(root)  # value labels, default "{:,.1f}"


def test_order_of_categories_and_tick_labels():
    df = pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=["一", "二", "三"])
    root = parse(bar_svg(df, title="t", horizontal=True))
    ys = [float(r.get("y")) for r in bars(root)]
    assert ys == sorted(ys)  # first category on top, as the matplotlib version (inverted y axis)
    ticks = [t.text for t in root.find(f".//{NS}g[@class='ticks']")]
    assert ticks[0] == "0" and all(t.replace(".", "").replace(",", "").isdigit() for t in ticks)


def test_nan_bars_are_left_out_not_drawn_as_zero():
    df = pd.DataFrame({"亩均税收": [10.0, math.nan]}, index=["甲", "乙"])
    root = parse(bar_svg(df, title="测试"))
    rs = bars(root)
    assert [r.get("data-category") for r in rs] == ["甲"]
    assert "10.0" in texts(root) and "nan" not in " ".join(texts(root)).lower()
    assert "乙" in texts(root)  # the category keeps its place


def test_stacked_bars_touch_and_carry_their_total():
    df = pd.DataFrame({"规上": [21.0, 47.0], "规下": [6.0, 15.0]}, index=["A 优先发展类", "B 鼓励提升类"])
    root = parse(bar_svg(df, title="分类", stacked=True, value_format="{:,.0f}"))
    rs = bars(root)
    by_cat: dict[str, list[ET.Element]] = {}
    for r in rs:
        by_cat.setdefault(r.get("data-category"), []).append(r)
    for cat, (low, high) in by_cat.items():
        assert float(high.get("y")) + float(high.get("height")) == pytest.approx(float(low.get("y")), abs=0.02), cat
        assert float(low.get("height")) / float(high.get("height")) == pytest.approx(
            float(low.get("data-value")) / float(high.get("data-value")), rel=1e-3)
    vals = [t.text for t in root.find(f".//{NS}g[@class='values']")]
    assert vals == ["27", "62"]
    legend = [t.text for t in root.find(f".//{NS}g[@class='legend']").iter(f"{NS}text")]
    assert legend == ["规上", "规下"]


def test_grouped_bars_sit_side_by_side():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}, index=["x", "y"])
    root = parse(bar_svg(df, title="t"))
    rs = bars(root)
    xa = [float(r.get("x")) for r in rs[:2]]
    xb = [float(r.get("x")) for r in rs[2:]]
    w = float(rs[0].get("width"))
    assert all(b == pytest.approx(a + w, abs=0.02) for a, b in zip(xa, xb))


def test_colours_are_only_colours():
    df = pd.DataFrame({"a": [1.0], "b": [2.0]}, index=["x"])
    svg = bar_svg(df, title="t", colours={"a": "#1a9850", "b": 'red" onload="alert(1)'})
    root = parse(svg)
    fills = [g.get("fill") for g in root.iter(f"{NS}g") if g.get("class") == "series"]
    assert fills == ["#1a9850", svgcharts.DEFAULT_COLOURS[1]]
    assert "onload" not in svg


def test_negative_values_extend_below_zero():
    df = pd.DataFrame({"v": [5.0, -2.0]}, index=["x", "y"])
    root = parse(bar_svg(df, title="t"))
    pos, neg = bars(root)
    zero = float(pos.get("y")) + float(pos.get("height"))
    assert float(neg.get("y")) == pytest.approx(zero, abs=0.02)
    assert float(neg.get("height")) / float(pos.get("height")) == pytest.approx(2.0 / 5.0, rel=1e-3)


def test_box_statistics_are_matplotlibs():
    from matplotlib import cbook

    rng = np.random.default_rng(3)
    for data in (rng.lognormal(2.0, 1.0, 60), np.array([1.0, 2.0, 2.5, 3.0, 40.0]), np.array([7.0])):
        ours = box_stats(data)
        ref = cbook.boxplot_stats(data)[0]
        for k in ("q1", "median", "q3", "whislo", "whishi"):
            assert ours[k] == pytest.approx(float(ref[k] if k != "median" else ref["med"])), k


def test_box_chart_draws_every_point_and_empty_groups_keep_their_place():
    groups = {"A 优先发展类": [1.0, 2.0, 3.0, math.nan, None], "B": [], "C": [5.0]}
    root = parse(box_svg(groups, title="亩均税收", reference=(2.0, "中位数 2.0")))
    pts = [float(c.get("data-value")) for c in root.iter(f"{NS}circle")]
    assert sorted(pts) == [1.0, 2.0, 3.0, 5.0]
    t = texts(root)
    assert "n = 3" in t and "n = 0" in t and "n = 1" in t and "B" in t
    boxes = {g.get("data-group"): float(g.get("data-median")) for g in root.iter(f"{NS}g") if g.get("class") == "box"}
    assert boxes == {"A 优先发展类": 2.0, "C": 5.0}
    assert root.find(f".//{NS}g[@class='reference']").get("data-value") == "2.0"
    # the same chart every run (the jitter has a fixed seed)
    assert box_svg(groups, title="亩均税收") == box_svg(groups, title="亩均税收")


def test_nice_ticks_and_text_width():
    assert nice_ticks(0, 10.7) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(0, 9.0) == [0, 2, 4, 6, 8]
    assert nice_ticks(0, 44700 * 1.12) == [0, 20000, 40000]
    assert nice_ticks(-3, 3)[0] >= -3 and 0 in nice_ticks(-3, 3)
    assert text_width("亩均", 10) == pytest.approx(20.0)
    assert text_width("ab", 10) == pytest.approx(12.0)


def test_chinese_font_families_come_first():
    root = parse(bar_svg(pd.DataFrame({"v": [1.0]}, index=["甲"]), title="t"))
    fam = root.get("font-family")
    assert fam.startswith('"Noto Sans CJK SC"') and "Microsoft YaHei" in fam and fam.endswith("sans-serif")
