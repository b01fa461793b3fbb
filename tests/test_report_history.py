"""The report's 规划目标 (plan targets) and 逐年变化 (year over year) sections, read in the HTML.

Two synthetic years: 2023 is the bundled synthetic enterprise sample; in 2024 the first evaluated firms'
tax is cut to a tenth (they fall), the last ones' tax multiplied by ten (they climb), and one firm leaves.
"""

from __future__ import annotations

import html as _html
import re

import pandas as pd
import pytest

from conftest import make_synthetic_boundaries
from xclz_geo.boundaries.zone import Zone
from xclz_geo.datasets import data_path
from xclz_geo.outputs.report import build_report

ENTERPRISES = data_path("samples", "enterprises_synthetic.csv", must_exist=False)
TAX = "实缴税金(万元)"


@pytest.fixture(scope="module")
def zone():
    return Zone.from_boundaries(make_synthetic_boundaries())


@pytest.fixture(scope="module")
def history(zone, tmp_path_factory):
    if not ENTERPRISES.exists():
        pytest.skip("no bundled enterprise sample")
    from xclz_geo.efficiency.evaluate import evaluate
    from xclz_geo.efficiency.history import store_year

    tmp = tmp_path_factory.mktemp("hist")
    a = pd.read_csv(ENTERPRISES, encoding="utf-8-sig", dtype={"统一社会信用代码": str, "行业代码": str})
    b = a.copy()
    b[TAX] = pd.to_numeric(b[TAX], errors="coerce").astype("float64")
    b.loc[b.index[:20], TAX] = b.loc[b.index[:20], TAX] / 10
    b.loc[b.index[-20:], TAX] = b.loc[b.index[-20:], TAX] * 10
    b = b.drop(index=b.index[30])
    h = tmp / "h.sqlite"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store_year(h, evaluate(a, zone=zone), year=2023)
        store_year(h, evaluate(b, zone=zone), year=2024)
    f2024 = tmp / "firms_2024.csv"
    b.to_csv(f2024, index=False, encoding="utf-8-sig")
    return h, f2024


@pytest.fixture(scope="module")
def built(zone, history, tmp_path_factory):
    h, f2024 = history
    return build_report(zone=zone, enterprises=f2024, history=h, out_dir=tmp_path_factory.mktemp("rep"))


@pytest.fixture(scope="module")
def page(built) -> str:
    return built.html_path.read_text(encoding="utf-8")


def _section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="sec-{sid}" data-status="([^"]+)">(.*?)</section>', page, re.S)
    assert m, sid
    return m.group(1) + m.group(2)


def test_year_over_year_section_with_matrix_counts_and_chinese_charts(built, page, history):
    from xclz_geo.efficiency.history import compare_years

    cmp = compare_years(history[0], year_from=2023, year_to=2024)
    sec = _section(page, "history")
    assert sec.startswith("ok") and "逐年变化 Year over year" in sec
    assert "2023 → 2024" in sec
    for change, n in cmp.summary["counts"].items():
        assert f"{change} {n}" in sec
    assert cmp.summary["counts"]["降档"] > 0 and cmp.summary["counts"]["升档"] > 0 and cmp.summary["counts"]["退出"] >= 1
    # the A–D matrix, rows = the earlier year, as computed
    m = re.search(r'<table id="transition_matrix".*?</table>', sec, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", m.split("<tbody>")[1], re.S)
    got = [[int(x.replace(",", "")) for x in re.findall(r'<td class="n">([^<]*)</td>', r)] for r in rows]
    assert got == cmp.matrix.to_numpy().tolist()
    assert "2023年 A类" in m and "2024年 D类" in m
    for key in ("transition_counts", "d_trigger", "transitions"):
        assert f'<table id="{key}"' in sec
    # charts: Chinese titles, inline SVG (drawn by the reader's browser: always there, no font needed here)
    hs = built.section("history")
    assert hs.charts
    titles = {c.key: c.title for c in hs.charts}
    assert "各片区分类变化" in titles["chart_changes_by_part"] and "分类转移" in titles["chart_transition_matrix"]
    assert all(c.svg.startswith("<svg ") for c in hs.charts)
    assert 'id="chart_changes_by_part"' in sec and '<svg id="chart_transition_matrix"' in sec and 'aria-label="分类转移：2023年类别 → 2024年类别（家）"' in sec
    assert not any(n.startswith("charts not drawn") for n in hs.notes)


def test_d_trigger_list_names_firms_d_both_years(built, history):
    from xclz_geo.efficiency.history import compare_years

    t = compare_years(history[0], year_from=2023, year_to=2024).table
    expect = set(t.loc[(t["class_from"] == "D") & (t["class_to"] == "D"), "name"])
    got = set(built.section("history").tables[2].df["name"])
    assert built.section("history").tables[2].key == "d_trigger"
    assert got == expect and expect


def test_plan_targets_section_current_and_over_years(built, page):
    sec = _section(page, "targets")
    assert sec.startswith("ok") and "规划目标 Plan targets" in sec
    assert "未经园区确认" in sec  # the unconfirmed code mapping is said
    for key in ("plan_targets", "plan_targets_by_year"):
        assert f'<table id="{key}"' in sec
    t = built.section("targets").tables[0].df
    assert set(t["block_id"]) == {"xuancheng", "guangde"} and "全部主导产业" in set(t["industry_zh"])
    by_year = built.section("targets").tables[1].df
    assert sorted(by_year["year"].unique()) == [2023, 2024]
    assert "新能源新材料" in sec and "信息电子" in sec


def test_xlsx_has_plan_targets_and_transitions_sheets(built):
    x = pd.read_excel(built.xlsx_path, sheet_name=None)
    assert {"plan_targets", "transitions", "transition_matrix"} <= set(x)
    assert "数据质量 quality" in x["transitions"].columns


def test_without_history_targets_still_show_current_shares(zone, tmp_path):
    if not ENTERPRISES.exists():
        pytest.skip("no bundled enterprise sample")
    res = build_report(zone=zone, enterprises=ENTERPRISES, out_dir=tmp_path)
    assert res.section("targets").status == "ok" and res.section("targets").tables[0].key == "plan_targets"
    assert any("--history" in n for n in res.section("targets").notes)
    h = res.section("history")
    assert h.status == "not available" and "--history" in h.reason
    page = res.html_path.read_text(encoding="utf-8")
    assert 'id="sec-history" data-status="not available"' in page


def test_firm_names_in_transitions_are_escaped(zone, tmp_path):
    from xclz_geo.efficiency.evaluate import evaluate
    from xclz_geo.efficiency.history import store_year

    a = pd.read_csv(ENTERPRISES, encoding="utf-8-sig", dtype={"统一社会信用代码": str, "行业代码": str})
    a.loc[a.index[5], "企业名称"] = '<script>alert("x")</script>'
    h = tmp_path / "h.sqlite"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store_year(h, evaluate(a, zone=zone), year=2023)
        store_year(h, evaluate(a, zone=zone), year=2024)
    res = build_report(zone=zone, history=h, out_dir=tmp_path / "out")
    page = res.html_path.read_text(encoding="utf-8")
    assert '<script>alert("x")' not in page
    assert _html.escape('<script>alert("x")</script>', quote=False) in page or "&lt;script&gt;" in page
    assert res.section("history").status == "ok" and res.section("targets").status == "ok"
