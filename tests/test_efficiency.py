"""亩均效益 evaluation: inputs, indicators, scores, classes and every documented edge case.

Expected values are computed by hand in the comments from the formulas of the method profiles
(min–max with a 20-point floor; ratio to benchmark), not copied from the code's output.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from xclz_geo.efficiency.evaluate import (
    EnterpriseTable,
    assign_classes,
    class_cuts,
    evaluate,
    load_benchmarks,
    load_method,
    map_columns,
    needed_fields,
    read_enterprises,
    spreadsheet_rows,
    template,
)
from xclz_geo.errors import DataQualityWarning, InputDataError, MethodProfileError

H = {
    "code": "统一社会信用代码", "name": "企业名称", "above": "是否规上", "ind": "行业代码", "land": "用地面积(亩)",
    "tax": "实缴税金(万元)", "rev": "营业收入(万元)", "va": "工业增加值(万元)", "tech": "技改投资(万元)",
    "energy": "综合能耗(吨标煤)", "emis": "主要污染物排放当量(吨)", "rd": "研发经费(万元)", "staff": "年平均职工人数",
    "elec": "用电量(万千瓦时)",
}


def firm(code, above="是", ind="3484", land=10.0, tax=100.0, rev=1000.0, va=300.0, tech=50.0, energy=100.0,
         emis=2.0, rd=30.0, staff=30.0, elec=100.0, **extra):
    row = {H["code"]: code, H["name"]: f"测试企业{code}", H["above"]: above, H["ind"]: ind, H["land"]: land,
           H["tax"]: tax, H["rev"]: rev, H["va"]: va, H["tech"]: tech, H["energy"]: energy, H["emis"]: emis,
           H["rd"]: rd, H["staff"]: staff, H["elec"]: elec}
    row.update(extra)
    return row


def three_firms() -> pd.DataFrame:
    return pd.DataFrame([
        firm("A", land=10, tax=100, rev=1000, va=300, tech=50, energy=100, emis=2, rd=30, staff=30),
        firm("B", land=20, tax=100, rev=3000, va=600, tech=0, energy=200, emis=5, rd=60, staff=60),
        firm("C", land=50, tax=400, rev=4000, va=1000, tech=100, energy=500, emis=4, rd=40, staff=100),
    ])


def mm(w, x, lo, hi):
    """Hand formula of the Anhui/旌德 scheme."""
    return w * (20 + 80 * (x - lo) / (hi - lo)) / 100


def test_anhui_indicators_and_scores_by_hand():
    r = evaluate(three_firms(), method="anhui")
    s = r.scores.set_index(H["code"])
    assert list(s["status"]) == ["evaluated"] * 3
    # per-mu indicators: tax/land, revenue/land, tech/land
    assert s.loc["A", "tax_per_mu"] == pytest.approx(10.0)
    assert s.loc["B", "tax_per_mu"] == pytest.approx(5.0)
    assert s.loc["C", "tax_per_mu"] == pytest.approx(8.0)
    assert s.loc["C", "revenue_per_mu"] == pytest.approx(80.0)
    assert s.loc["A", "tech_investment_per_mu"] == pytest.approx(5.0)
    assert s.loc["B", "rd_share_pct"] == pytest.approx(2.0)
    assert s.loc["A", "revenue_per_emission"] == pytest.approx(500.0)
    assert s.loc["C", "labour_productivity"] == pytest.approx(10.0)
    # scores with the shipped default weights 30/20/10/10/10/10/10
    assert s.loc["A", "score_tax_per_mu"] == pytest.approx(30.0)
    assert s.loc["B", "score_tax_per_mu"] == pytest.approx(6.0)
    assert s.loc["C", "score_tax_per_mu"] == pytest.approx(mm(30, 8, 5, 10))  # 20.4
    assert s.loc["A", "score_revenue_per_mu"] == pytest.approx(mm(20, 100, 80, 150))
    assert s.loc["B", "score_revenue_per_emission"] == pytest.approx(3.6)
    # labour productivity is 10 for every firm: all equal → full weight
    assert list(s["score_labour_productivity"]) == pytest.approx([10.0, 10.0, 10.0])
    total_a = 30 + mm(20, 100, 80, 150) + 10 + 10 + mm(10, 10, 8, 15) + 2 + 10
    total_b = 6 + 20 + 2 + 10 + 10 + 3.6 + 6
    total_c = 20.4 + 4 + 5.2 + 10 + 2 + 10 + 2
    assert s.loc["A", "total_score"] == pytest.approx(total_a)
    assert s.loc["B", "total_score"] == pytest.approx(total_b)
    assert s.loc["C", "total_score"] == pytest.approx(total_c)
    assert list(s["rank"]) == [1, 2, 3]
    # n = 3: cuts round(0.6)=1, round(1.95)=2, round(2.85)=3
    assert list(s["class"]) == ["A", "B", "C"]
    assert r.summary["method"]["confirmed"] is False
    assert r.summary["disclaimer"] and "not official" in r.summary["disclaimer"]
    assert "groups.above_scale.tax_per_mu.weight" in r.summary["method"]["unconfirmed"]


def test_zhejiang_ratio_scores_by_hand():
    df = pd.DataFrame([
        firm("X", above="否", land=10, tax=50, elec=100),
        firm("Y", above="否", land=30, tax=30, elec=300),
    ])
    r = evaluate(df, method="zhejiang")
    s = r.scores.set_index(H["code"])
    # benchmarks = population aggregate: 80/40 = 2 万元/亩, 80/400 = 0.2 万元/万千瓦时
    assert s.loc["X", "score_tax_per_mu"] == pytest.approx(50 * 5 / 2)
    assert s.loc["X", "score_tax_per_electricity"] == pytest.approx(50 * 0.5 / 0.2)
    assert s.loc["Y", "total_score"] == pytest.approx(50 * 1 / 2 + 50 * 0.1 / 0.2)
    g = r.summary["groups"]["below_scale"]["indicators"]["tax_per_mu"]
    assert g["benchmark"] == pytest.approx(2.0)
    # fixed benchmarks override the population
    r2 = evaluate(df, method="zhejiang", benchmarks={"tax_per_mu": 4.0, "tax_per_electricity": 1.0})
    s2 = r2.scores.set_index(H["code"])
    assert s2.loc["X", "total_score"] == pytest.approx(50 * 5 / 4 + 50 * 0.5 / 1.0)


def test_zhejiang_negative_tax_floored_at_zero():
    df = pd.DataFrame([firm("X", above="否", land=10, tax=-20, elec=100), firm("Y", above="否", land=10, tax=40, elec=100)])
    s = evaluate(df, method="zhejiang", benchmarks={"tax_per_mu": 2.0, "tax_per_electricity": 0.2}).scores.set_index(H["code"])
    assert s.loc["X", "tax_per_mu"] == pytest.approx(-2.0)
    assert s.loc["X", "score_tax_per_mu"] == 0.0
    assert s.loc["X", "score_tax_per_electricity"] == 0.0
    assert s.loc["X", "status"] == "evaluated"


def test_bundled_benchmarks_file_reads():
    from xclz_geo.datasets import data_path

    b = load_benchmarks(data_path("methods", "zhejiang_huangyan_2022_benchmarks.csv"))
    assert b[("above_scale", "tax_per_mu")] == pytest.approx(24.097)
    assert b[("above_scale", "rd_share_pct")] == pytest.approx(3.02)


def test_class_shares_on_100_firms():
    rng = np.random.default_rng(1)
    rows = [firm(f"F{i:03d}", land=float(rng.uniform(10, 100)), tax=float(rng.uniform(10, 1000)),
                 rev=float(rng.uniform(2000, 9000)), energy=float(rng.uniform(50, 500))) for i in range(100)]
    r = evaluate(pd.DataFrame(rows), method="anhui")
    s = r.scores
    counts = s["class"].value_counts().to_dict()
    assert counts == {"A": 20, "B": 45, "C": 30, "D": 5}
    # classes follow scores: every A scores above every B, and so on
    order = {"A": 0, "B": 1, "C": 2, "D": 3}
    srt = s.sort_values("total_score", ascending=False)
    assert list(srt["class"].map(order)) == sorted(srt["class"].map(order))
    assert sorted(s["rank"]) == list(range(1, 101))
    by_class = r.by_class.set_index("class")
    assert by_class.loc["A", "count"] == 20
    land_a = s.loc[s["class"] == "A", H["land"]].astype(float).sum()
    assert by_class.loc["A", "land_mu"] == pytest.approx(land_a)


def test_class_cuts_rounding():
    assert class_cuts(100, [0.2, 0.45, 0.3, 0.05]) == [20, 65, 95, 100]
    assert class_cuts(120, [0.2, 0.45, 0.3, 0.05]) == [24, 78, 114, 120]  # 巢湖 2021: 24/54/36/6
    # n = 10: 9.5 rounds up (no D); floor keeps every class at or below its share
    assert class_cuts(10, [0.2, 0.45, 0.3, 0.05]) == [2, 7, 10, 10]
    assert class_cuts(10, [0.2, 0.45, 0.3, 0.05], rounding="floor") == [2, 6, 9, 10]


def test_ties_at_class_boundary():
    totals = pd.Series([10, 8, 8, 7, 6, 5, 4, 3, 2, 1], dtype=float)
    shares = [0.2, 0.45, 0.3, 0.05]
    rank, cls = assign_classes(totals, labels=list("ABCD"), shares=shares, ties="higher")
    assert list(rank[:4]) == [1, 2, 2, 4]
    # A holds positions 0–1; the firm at position 2 ties with position 1 → both A
    assert list(cls[:4]) == ["A", "A", "A", "B"]
    _, cls_low = assign_classes(totals, labels=list("ABCD"), shares=shares, ties="lower")
    assert list(cls_low[:4]) == ["A", "B", "B", "B"]
    # ties are decided on totals rounded to 1e-6 (floating noise does not split a tie)
    _, c2 = assign_classes(pd.Series([10, 8 + 1e-12, 8, 7, 6, 5, 4, 3, 2, 1.0]), labels=list("ABCD"), shares=shares)
    assert list(c2[:3]) == ["A", "A", "A"]


def edge_table() -> pd.DataFrame:
    rows = [firm(f"OK{i}", land=10 + 5 * i, tax=50 + 30 * i, rev=2000 + 500 * i, energy=100 + 10 * i) for i in range(6)]
    rows += [
        firm("ZERO", land=0.0),
        firm("NOTAX", tax=None),
        firm("LOSS", va=-200.0, tax=0.0),
        firm("SMALL", above="否", land=3.0, rev=500.0),
        firm("DUP", land=20.0),
        firm("DUP", land=25.0),
        firm("TEXT", tax="约120"),
        firm("UTIL", ind="4411"),
        firm("NOLAND", land=None),
        firm("NEGLAND", land=-5.0),
        firm("NOENERGY", energy=None),
        firm("REFUND", tax=-30.0),
        firm("SERVICE", ind="5212"),
        firm("NOSCALE", above=None, rev=800.0, land=12.0),
        firm("NOSCALE2", above=None, rev=None, land=12.0),
        firm("EXEMPT", **{"不参评原因": "新办企业未满3年"}),
        firm("BADBOOL", above="大概"),
    ]
    return pd.DataFrame(rows)


def test_edge_cases_status_and_reason():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = evaluate(edge_table(), method="anhui")
    s = r.scores
    assert len(s) == len(edge_table())  # no row dropped
    assert list(s[H["code"]]) == list(edge_table()[H["code"]])  # input order kept
    by = {c: (st, why) for c, st, why in zip(s[H["code"]], s["status"], s["reason"])}
    assert by["ZERO"][0] == "not_evaluated" and "用地面积 is 0" in by["ZERO"][1]
    assert by["NOTAX"][0] == "invalid" and "实缴税金" in by["NOTAX"][1] and "required" in by["NOTAX"][1]
    assert by["LOSS"][0] == "evaluated"
    assert by["SMALL"][0] == "not_evaluated" and "< 5 亩" in by["SMALL"][1]
    dup = s[s[H["code"]] == "DUP"]
    assert list(dup["status"]) == ["invalid", "invalid"]
    assert all("DUP" in x and "merge" in x for x in dup["reason"])
    assert by["TEXT"][0] == "invalid" and "'约120' is not a number" in by["TEXT"][1]
    assert by["UTIL"][0] == "not_evaluated" and "public utility" in by["UTIL"][1]
    assert by["NOLAND"][0] == "not_evaluated" and "用地面积 missing" in by["NOLAND"][1]
    assert by["NEGLAND"][0] == "invalid" and "negative" in by["NEGLAND"][1]
    assert by["NOENERGY"][0] == "evaluated" and "单位能耗营业收入 undefined" in by["NOENERGY"][1]
    assert by["REFUND"][0] == "evaluated"
    assert by["SERVICE"][0] == "not_evaluated" and "not an industrial code" in by["SERVICE"][1]
    assert by["NOSCALE"][0] == "evaluated" and "inferred 规下" in by["NOSCALE"][1]
    assert by["NOSCALE2"][0] == "invalid" and "是否规上" in by["NOSCALE2"][1]
    assert by["EXEMPT"][0] == "not_evaluated" and "新办企业未满3年" in by["EXEMPT"][1]
    assert by["BADBOOL"][0] == "invalid" and "是否规上" in by["BADBOOL"][1]
    codes = dict(zip(s[H["code"]], s["reason_code"]))
    assert codes["ZERO"] == "zero_land" and codes["NOLAND"] == "missing_land" and codes["SMALL"] == "below_land_threshold"
    assert codes["UTIL"] == "utility" and codes["TEXT"] == "unreadable_value" and codes["NOTAX"] == "missing_required"
    assert codes["DUP"] == "duplicate_credit_code" and codes["SERVICE"] == "not_industrial" and codes["EXEMPT"] == "exempt"
    assert r.summary["not_evaluated_reasons"]["duplicate_credit_code"] == 2
    # not evaluated / invalid rows have no score, rank or class; evaluated ones have a finite total
    ne = s[s["status"] != "evaluated"]
    assert ne["total_score"].isna().all() and ne["class"].isna().all() and ne["rank"].isna().all()
    ev = s[s["status"] == "evaluated"]
    assert np.isfinite(ev["total_score"].astype(float)).all()
    assert set(ev["class"]) <= set("ABCD")
    assert r.summary["counts"] == {"evaluated": int((s["status"] == "evaluated").sum()),
                                   "not_evaluated": int((s["status"] == "not_evaluated").sum()),
                                   "invalid": int((s["status"] == "invalid").sum())}


def test_missing_indicator_gets_group_mean_score():
    s = evaluate(edge_table(), method="anhui").scores
    above = s[(s["status"] == "evaluated") & (s["group"] == "above_scale")]
    have = above[above[H["code"]] != "NOENERGY"]["score_revenue_per_energy"]
    got = above.loc[above[H["code"]] == "NOENERGY", "score_revenue_per_energy"].iloc[0]
    assert got == pytest.approx(have.mean())


def test_negative_values_in_minmax():
    s = evaluate(edge_table(), method="anhui").scores.set_index(H["code"])
    # the refund firm has the lowest 亩均税收 of the 规上 group → the floor score 0.2 × 30
    assert s.loc["REFUND", "tax_per_mu"] == pytest.approx(-3.0)
    assert s.loc["REFUND", "score_tax_per_mu"] == pytest.approx(6.0)
    # negative value added → lowest labour productivity → floor score 0.2 × 10
    assert s.loc["LOSS", "labour_productivity"] < 0
    assert s.loc["LOSS", "score_labour_productivity"] == pytest.approx(2.0)


def test_zero_denominator_is_undefined_not_infinite():
    df = pd.DataFrame([firm("A", energy=0.0), firm("B"), firm("C", land=20, tax=300)])
    s = evaluate(df).scores.set_index(H["code"])
    assert math.isnan(s.loc["A", "revenue_per_energy"])
    assert "综合能耗(吨标煤) is 0" in s.loc["A", "reason"]
    assert np.isfinite(s.loc["A", "total_score"])


def test_headers_aliases_units_and_unknown():
    df = pd.DataFrame({
        "credit_code": ["a", "b"], "name": ["甲", "乙"], "above_scale": ["规上", "规上"],
        "用地面积（平方米）": [6666.666666, 13333.33333], "实缴税金(元)": [1_000_000, 3_000_000],
        "revenue_wan": [3000, 5000], "神秘列": ["x", "y"],
    })
    cm = map_columns(df.columns)
    assert cm.fields["land_mu"] == "用地面积（平方米）"
    assert cm.factors["tax_wan"] == pytest.approx(1e-4)
    assert cm.unknown == ["神秘列"]
    with pytest.warns(DataQualityWarning, match="神秘列"):
        t = read_enterprises(df)
    assert t.data["land_mu"].tolist() == pytest.approx([10.0, 20.0], rel=1e-6)
    assert t.data["tax_wan"].tolist() == pytest.approx([100.0, 300.0])
    with pytest.warns(DataQualityWarning):
        r = evaluate(df)
    assert r.summary["input"]["unknown_columns"] == ["神秘列"]
    assert list(r.scores["神秘列"]) == ["x", "y"]  # kept in the output
    assert r.scores["tax_per_mu"].tolist() == pytest.approx([10.0, 15.0], rel=1e-6)


def test_number_formats_parse():
    df = pd.DataFrame([firm("A", land="1,200.5", tax=" 36 ", rev="２０００")])
    t = read_enterprises(df)
    assert t.data.loc[0, "land_mu"] == pytest.approx(1200.5)
    assert t.data.loc[0, "tax_wan"] == pytest.approx(36.0)
    assert t.data.loc[0, "revenue_wan"] == pytest.approx(2000.0)  # full-width digits
    assert not t.errors


def test_no_land_column_is_an_error():
    with pytest.raises(InputDataError, match="用地面积"):
        read_enterprises(pd.DataFrame({"企业名称": ["甲"]}))


def test_output_column_clash_is_renamed():
    df = three_firms()
    df["status"] = ["x", "y", "z"]
    with pytest.warns(DataQualityWarning, match="status"):
        s = evaluate(df).scores
    assert list(s["status_input"]) == ["x", "y", "z"]
    assert list(s["status"]) == ["evaluated"] * 3


def test_summary_by_industry_and_json():
    import json

    from xclz_geo.cli._common import dumps_json

    r = evaluate(edge_table())
    ind = r.by_industry.set_index("industry")
    assert "34" in ind.index
    assert ind.loc["34", "industry_name_zh"] == "通用设备制造业"
    ev = r.scores[r.scores["status"] == "evaluated"]
    assert ind.loc["34", "count"] == len(ev)
    assert ind.loc["34", "tax_per_mu"] == pytest.approx(
        ev[H["tax"]].astype(float).sum() / ev[H["land"]].astype(float).sum())
    json.loads(dumps_json(r.summary))  # JSON-able


# ------------------------------------------------------------------ profiles


def test_builtin_profiles_flags():
    a = load_method("anhui")
    assert a.confirmed is False and a.scoring["kind"] == "minmax" and a.scoring["floor"] == 20
    assert a.classes["shares"] == [0.2, 0.45, 0.3, 0.05]
    assert [w.id for w in a.groups["above_scale"].indicators] == [
        "tax_per_mu", "revenue_per_mu", "tech_investment_per_mu", "labour_productivity",
        "revenue_per_energy", "revenue_per_emission", "rd_share_pct"]
    assert sum(w.weight for w in a.groups["above_scale"].indicators) == pytest.approx(100)
    assert sum(w.weight for w in a.groups["below_scale"].indicators) == pytest.approx(100)
    assert not any(w.confirmed for w in a.groups["above_scale"].indicators)
    z = load_method("zhejiang")
    assert [w.weight for w in z.groups["above_scale"].indicators] == [30, 20, 20, 10, 10, 10]
    assert [w.weight for w in z.groups["below_scale"].indicators] == [50, 50]
    assert all(w.confirmed for w in z.groups["above_scale"].indicators)
    assert z.scope["below_scale_min_land_mu"] == 3.0


PROFILE = """
[method]
id = "mine"
source = "test"
confirmed = true
[scope]
below_scale_min_land_mu = 2.0
confirmed = true
[scoring]
kind = "minmax"
floor = 0.0
confirmed = true
[classes]
labels = ["优", "中", "差"]
shares = [0.3, 0.4, 0.3]
confirmed = true
[groups.above_scale]
confirmed = true
indicators = [ { id = "tax_per_mu", weight = 100.0, confirmed = true } ]
"""


def test_user_profile(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(PROFILE, encoding="utf-8")
    m = load_method(p)
    assert m.disclaimer() is None
    df = pd.DataFrame([firm(c, land=10, tax=t) for c, t in (("a", 10), ("b", 20), ("c", 30))])
    s = evaluate(df, method=p).scores
    # floor 0: min → 0, max → 100, middle → 50
    assert list(s["score_tax_per_mu"]) == pytest.approx([0, 50, 100])
    assert list(s["class"]) == ["差", "中", "优"]
    # a 规下 firm with no 规下 group in the profile is not evaluated, with the reason
    s2 = evaluate(pd.DataFrame([firm("d", above="否", land=10)]), method=p).scores
    assert s2["status"].iloc[0] == "not_evaluated" and "no group" in s2["reason"].iloc[0]


@pytest.mark.parametrize("old,new,key", [
    ('weight = 100.0, ', '', "groups.above_scale.indicators[0].weight"),
    ("shares = [0.3, 0.4, 0.3]", "shares = [0.3, 0.4, 0.4]", "classes.shares"),
    ('id = "tax_per_mu"', 'id = "profit_per_mu"', "groups.above_scale.indicators[0].id"),
    ('kind = "minmax"', 'kind = "magic"', "scoring.kind"),
    ("below_scale_min_land_mu = 2.0", 'below_scale_min_land_mu = "five"', "scope.below_scale_min_land_mu"),
    ('source = "test"\n', "", "method.source"),
    ("[groups.above_scale]", "[groups.other]", "groups.other"),
])
def test_profile_errors_name_the_key(tmp_path, old, new, key):
    assert old in PROFILE
    p = tmp_path / "bad.toml"
    p.write_text(PROFILE.replace(old, new), encoding="utf-8")
    with pytest.raises(MethodProfileError) as ei:
        load_method(p)
    assert key in str(ei.value)
    assert str(p) in str(ei.value)


def test_profile_not_toml_and_missing(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("[method\n", encoding="utf-8")
    with pytest.raises(MethodProfileError, match="not valid TOML"):
        load_method(p)
    with pytest.raises(OSError):
        load_method(tmp_path / "nope.toml")


# ------------------------------------------------------------------ template and files


def test_template_roundtrip(tmp_path):
    p = template(tmp_path / "t.xlsx")
    sheets = pd.read_excel(p, sheet_name=None)
    assert set(sheets) == {"企业数据", "说明", "字段别名"}
    aliases = sheets["字段别名"]
    assert "JZJDMJ" in "、".join(aliases["DBF 短名 (≤10 字节 GBK)"]) and "GDZCTZ" in "、".join(aliases["DBF 短名 (≤10 字节 GBK)"])
    headers = list(sheets["企业数据"].columns)
    assert "统一社会信用代码" in headers and "用地面积(亩)" in headers and "实缴税金(万元)" in headers
    assert "主要污染物排放当量(吨)" in headers and "经度" in headers
    assert map_columns(headers).unknown == []
    assert "land_mu" in set(sheets["说明"]["英文别名"].dropna())
    with pytest.raises(InputDataError, match=".xlsx"):
        template(tmp_path / "t.csv")


def test_gbk_csv_and_xlsx_inputs(tmp_path):
    df = three_firms()
    g = tmp_path / "gbk.csv"
    df.to_csv(g, index=False, encoding="gbk")
    x = tmp_path / "t.xlsx"
    df.to_excel(x, index=False)
    a = evaluate(g).scores
    b = evaluate(x).scores
    assert list(a["total_score"]) == pytest.approx(list(b["total_score"]))
    assert list(a["class"]) == ["A", "B", "C"]


def test_bundled_sample_is_synthetic_and_shows_statuses():
    from xclz_geo.datasets import data_path

    with pytest.warns(DataQualityWarning, match="备注"):
        r = evaluate(data_path("samples", "enterprises_synthetic.csv"))
    assert r.summary["input"]["unknown_columns"] == ["备注"]
    s = r.scores
    assert 140 <= len(s) <= 160
    assert r.summary["data_quality"] == "synthetic"
    assert set(s["status"]) == {"evaluated", "not_evaluated", "invalid"}
    assert s["企业名称"].str.contains("虚构").all()
    with pytest.warns(DataQualityWarning):
        t = read_enterprises(data_path("samples", "enterprises_synthetic.xlsx"))
    assert isinstance(t, EnterpriseTable) and len(t.raw) == len(s)


# ------------------------------------------------------------------ located summaries


def test_summary_per_part_by_coordinates(synthetic_zone):
    pytest.importorskip("xclz_geo.geo.locate")
    from xclz_geo.geo.crs import transformer

    parts = synthetic_zone.parts_gk
    to_ll = transformer(synthetic_zone.gk_crs, "EPSG:4326")
    rows = []
    for k, (_, p) in enumerate(parts.iterrows()):
        c = p.geometry.representative_point()
        lon, lat = to_ll.transform(c.x, c.y)
        rows.append(firm(f"IN{k}", land=10 + k, tax=100, **{"经度": lon, "纬度": lat}))
    lon, lat = to_ll.transform(parts.total_bounds[0] - 20000, parts.total_bounds[1] - 20000)
    rows.append(firm("OUT", land=10, tax=50, **{"经度": lon, "纬度": lat}))
    rows.append(firm("NOXY", land=10, tax=50))
    r = evaluate(pd.DataFrame(rows), zone=synthetic_zone)
    s = r.scores.set_index(H["code"])
    for k, pid in enumerate(parts["part_id"]):
        assert s.loc[f"IN{k}", "part_id"] == pid
    assert pd.isna(s.loc["OUT", "part_id"])
    assert s.loc["OUT", "locate_status"] == "outside"
    assert s.loc["NOXY", "locate_status"] == "no location"
    bp = r.by_part.set_index("part")
    assert bp.loc["xuancheng", "count"] == 1
    assert bp.loc["xuancheng", "land_mu"] == pytest.approx(10.0)
    assert bp.loc["outside the zone", "count"] == 1
    assert bp.loc["not located", "count"] == 1
    bb = r.by_block.set_index("block")
    assert bb.loc["guangde", "count"] == 2
    assert r.summary["location"]["boundaries_quality"] == "synthetic"


def test_summary_per_part_by_parcel(synthetic_zone):
    import geopandas as gpd
    from shapely.geometry import box

    parcels = gpd.GeoDataFrame({"parcel_id": ["P1", "P2"], "part_id": ["xuancheng", "guangde_west"],
                                "block_id": ["xuancheng", "guangde"]},
                               geometry=[box(0, 0, 1, 1), box(1, 1, 2, 2)], crs="EPSG:4549")
    df = pd.DataFrame([firm("a", **{"地块编号": "P1"}), firm("b", **{"地块编号": "P2"}), firm("c", **{"地块编号": "P9"})])
    r = evaluate(df, zone=synthetic_zone, parcels=parcels)
    s = r.scores.set_index(H["code"])
    assert s.loc["a", "part_id"] == "xuancheng" and s.loc["b", "block_id"] == "guangde"
    assert s.loc["c", "locate_status"] == "parcel not found"


def test_parquet_input_and_zone_without_polygons(tmp_path):
    from xclz_geo.boundaries.zone import Zone

    p = tmp_path / "f.parquet"
    three_firms().to_parquet(p)
    zone = Zone.from_spec()
    with pytest.warns(DataQualityWarning, match="no polygons"):
        r = evaluate(p, zone=zone)
    assert list(r.scores["class"]) == ["A", "B", "C"]
    assert r.summary["by_part"] == []


def test_point_layer_keeps_every_row():
    df = three_firms()
    df["经度"] = [118.75, None, 119.46]
    df["纬度"] = [30.95, None, 95.0]
    lay = evaluate(df).layer
    assert len(lay) == 3 and lay.crs.to_epsg() == 4326
    assert lay.geometry.iloc[0].x == pytest.approx(118.75)
    assert lay.geometry.iloc[1] is None and lay.geometry.iloc[2] is None  # missing, latitude out of range


def _profile(tmp_path, text):
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_ties_end_to_end_share_the_higher_class(tmp_path):
    # one indicator, floor 0; 10 firms with 亩均税收 10, 8, 8, 7 … → the two 8s straddle the A cut (2 firms)
    p = _profile(tmp_path, PROFILE.replace('labels = ["优", "中", "差"]', 'labels = ["A", "B", "C", "D"]')
                 .replace("shares = [0.3, 0.4, 0.3]", "shares = [0.2, 0.45, 0.3, 0.05]"))
    taxes = [100, 80, 80, 70, 60, 50, 40, 30, 20, 10]
    df = pd.DataFrame([firm(f"T{i}", land=10, tax=t) for i, t in enumerate(taxes)])
    s = evaluate(df, method=p).scores
    assert list(s["rank"][:4]) == [1, 2, 2, 4]
    assert list(s["class"][:4]) == ["A", "A", "A", "B"]
    p2 = _profile(tmp_path, p.read_text(encoding="utf-8").replace("confirmed = true\n[groups", 'ties = "lower"\nconfirmed = true\n[groups'))
    s2 = evaluate(df, method=p2).scores
    assert list(s2["class"][:4]) == ["A", "B", "B", "B"]


@pytest.mark.parametrize("rule", ["zero", "min_score"])
def test_missing_rules(tmp_path, rule):
    text = PROFILE.replace('kind = "minmax"', f'kind = "minmax"\nmissing = "{rule}"').replace(
        'indicators = [ { id = "tax_per_mu", weight = 100.0, confirmed = true } ]',
        'indicators = [ { id = "tax_per_mu", weight = 50.0, confirmed = true }, { id = "revenue_per_energy", weight = 50.0, confirmed = true } ]')
    df = pd.DataFrame([firm("a", rev=1000, energy=100), firm("b", rev=3000, energy=100), firm("c", energy=None)])
    s = evaluate(df, method=_profile(tmp_path, text)).scores.set_index(H["code"])
    # floor 0: a (10) → 0, b (30) → 50; c undefined → 0 by both rules (the minimum score is 0 too)
    assert s.loc["a", "score_revenue_per_energy"] == pytest.approx(0.0)
    assert s.loc["b", "score_revenue_per_energy"] == pytest.approx(50.0)
    assert s.loc["c", "score_revenue_per_energy"] == pytest.approx(0.0)
    assert rule in s.loc["c", "reason"]


def test_ratio_cap_and_population_mean(tmp_path):
    text = (PROFILE.replace('kind = "minmax"\nfloor = 0.0', 'kind = "ratio"\nbenchmark = "population_mean"\ncap_multiple = 1.5'))
    df = pd.DataFrame([firm("a", land=10, tax=10), firm("b", land=10, tax=20), firm("c", land=10, tax=90)])
    s = evaluate(df, method=_profile(tmp_path, text)).scores.set_index(H["code"])
    # firm values 1, 2, 9 → mean 4; scores 100 × x / 4 = 25, 50, 225 → capped at 150
    assert list(s["score_tax_per_mu"]) == pytest.approx([25.0, 50.0, 150.0])


# ------------------------------------------------------------------ vectorised = per-row (issue 13 R11)

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("method", ["anhui", "zhejiang"])
def test_vectorised_evaluation_equals_the_per_row_reference(method):
    """400 messy synthetic firms: the column-wise evaluate() gives what the per-row implementation gave
    (statuses, reason codes, groups, indicator values, scores, totals, ranks, classes and reasons;
    expected frames written by that implementation, see tests/fixtures/make_efficiency_reference.py)."""
    exp = pd.read_csv(FIXTURES / f"efficiency_messy_expected_{method}.csv", encoding="utf-8-sig", keep_default_na=False,
                      na_values=[""])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        got = evaluate(FIXTURES / "efficiency_messy_input.csv", method=method).scores
    assert len(got) == len(exp) == 400
    assert set(exp["status"]) == {"evaluated", "not_evaluated", "invalid"}
    assert exp["reason"].str.contains("undefined").sum() > 50  # the missing-indicator notes are exercised
    # the messages of steps 1–2 (unreadable values, duplicate codes) are not part of the vectorisation
    same_text = ~exp["reason_code"].isin(["unreadable_value", "duplicate_credit_code"]).to_numpy()
    for c in exp.columns:
        e, g = exp[c], got[c]
        if c in ("reason",):
            ev = e.fillna("").astype(str).to_numpy()[same_text]
            gv = g.astype(object).where(g.notna(), "").astype(str).to_numpy()[same_text]
            bad = np.flatnonzero(ev != gv)
            assert not len(bad), (c, ev[bad[:1]], gv[bad[:1]])
        elif e.dtype.kind in "fi" or c == "rank":
            np.testing.assert_allclose(pd.to_numeric(g, errors="coerce").to_numpy(dtype=float),
                                       pd.to_numeric(e, errors="coerce").to_numpy(dtype=float), rtol=1e-9, atol=1e-12, err_msg=c)
        else:
            ev = e.fillna("").astype(str).to_numpy()
            gv = g.astype(object).where(g.notna(), "").astype(str).to_numpy()
            bad = np.flatnonzero(ev != gv)
            assert not len(bad), (c, ev[bad[:1]], gv[bad[:1]])


def test_map_distinct_is_map():
    from xclz_geo.efficiency.evaluate import _text_value, map_distinct

    values = pd.Series(["3011", " 3011 ", None, float("nan"), "３０１１", "-", "无数据", "3011", "a\u3000", ""], dtype=object)
    assert map_distinct(values, _text_value).tolist() == [_text_value(v) for v in values] == [
        "3011", "3011", None, None, "3011", None, None, "3011", "a", None]
    mixed = pd.Series([1, 1.0, True, "1", None, pd.NA], dtype=object)  # equal under hashing, different as text
    assert map_distinct(mixed, repr).tolist() == [repr(v) for v in mixed]
    floats = pd.Series([3011.0, np.nan, 2.5])
    assert map_distinct(floats, _text_value).tolist() == ["3011", None, "2.5"]


def test_assign_classes_equals_the_loop():
    rng = np.random.default_rng(3)
    totals = pd.Series(np.round(rng.normal(60, 15, 997), 1))  # many exact ties
    shares = [0.2, 0.45, 0.3, 0.05]
    for ties in ("higher", "lower"):
        for rounding in ("round", "floor"):
            rank, cls = assign_classes(totals, labels=list("ABCD"), shares=shares, rounding=rounding, ties=ties)
            t = totals.round(6)
            pos = (t.rank(method="min" if ties == "higher" else "max", ascending=False).astype(int) - 1).tolist()
            cuts = class_cuts(len(t), shares, rounding=rounding)
            expected = [next((lab for lab, c in zip("ABCD", cuts) if p < c), "D") for p in pos]
            assert cls.tolist() == expected
            assert rank.tolist() == t.rank(method="min", ascending=False).astype(int).tolist()

# ------------------------------------------------------------------ optional columns, aliases, row numbers, checks


def test_unreadable_optional_column_is_a_note_not_invalid():
    rows = three_firms()
    rows["经度"] = ["待补充", "118.8", "118.9"]
    rows["纬度"] = ["30.9", "30.9", "30.9"]
    rows[H["elec"]] = rows[H["elec"]].astype(object)
    rows.loc[2, H["elec"]] = "约100"  # 用电量 is not an Anhui indicator
    r = evaluate(rows, method="anhui")
    s = r.scores.set_index(H["code"])
    assert list(s["status"]) == ["evaluated"] * 3  # nobody sinks for an optional column
    assert s.loc["A", "rank"] >= 1 and s.loc["A", "class"] in ("A", "B", "C", "D")
    assert "经度 '待补充' is not a number" in s.loc["A", "xclz_note"] and "not located" in s.loc["A", "xclz_note"]
    assert "用电量(万千瓦时) '约100'" in s.loc["C", "xclz_note"] and "not used by method 'anhui'" in s.loc["C", "xclz_note"]
    assert s.loc["B", "xclz_note"] == ""
    assert r.summary["input"]["rows_with_notes"] == 2
    # the same text in a column the method needs still makes the row invalid
    rows[H["energy"]] = rows[H["energy"]].astype(object)
    rows.loc[1, H["energy"]] = "待补充"
    s = evaluate(rows, method="anhui").scores.set_index(H["code"])
    assert s.loc["B", "status"] == "invalid" and "综合能耗" in s.loc["B", "reason"]
    # 用电量 is a Zhejiang 规下 indicator input: needed there
    assert "electricity_10k_kwh" in needed_fields(load_method("zhejiang"))
    assert "lon" not in needed_fields(load_method("zhejiang"))


def test_reasons_are_whole_sentences_and_name_spreadsheet_rows(tmp_path):
    rows = pd.DataFrame([firm("A", land=-3), firm("B"), firm("B"), firm("C")])
    src = tmp_path / "firms.csv"
    rows.to_csv(src, index=False, encoding="utf-8")
    s = evaluate(str(src)).scores
    assert s.loc[0, "reason"] == "用地面积(亩) is negative (-3), which this field cannot be; correct the value"
    # header on spreadsheet row 1: data rows 1 and 2 (0-based) are rows 3 and 4 in Excel
    assert "also on spreadsheet row 4:" in s.loc[1, "reason"] and "also on spreadsheet row 3:" in s.loc[2, "reason"]
    t = read_enterprises(src)
    assert spreadsheet_rows(t, [0, 5]) == "spreadsheet rows 2, 7"
    t.raw.attrs["header_row"] = 3  # a title block above the header (what the tables reader will record)
    assert spreadsheet_rows(t, [0]) == "spreadsheet row 4"


def test_dbf_short_and_truncated_headers_and_field_option():
    rows = three_firms().rename(columns={H["land"]: "YDMJ", H["tax"]: "SJSJ", H["tech"]: "技术改造投"})
    with pytest.warns(DataQualityWarning, match="技术改造投 → 技术改造投资"):
        t = read_enterprises(rows)
    assert t.columns.fields["land_mu"] == "YDMJ" and t.columns.fields["tax_wan"] == "SJSJ"
    assert t.columns.fuzzy == {"技术改造投": "技术改造投资(万元)"}
    s = evaluate(t).scores.set_index(H["code"])
    assert s.loc["A", "tech_investment_per_mu"] == pytest.approx(5.0)  # 50 / 10 亩
    # a cut unit is not guessed: 用地面积( could have been (平方米)
    cut = three_firms().rename(columns={H["land"]: "用地面积("})
    with pytest.raises(InputDataError, match="no land-area column"):
        read_enterprises(cut)
    t = read_enterprises(cut, field_map={"用地面积(平方米)": "用地面积("})
    assert t.data["land_mu"].iloc[0] == pytest.approx(10 * 15 / 10000)
    odd = three_firms().rename(columns={H["tax"]: "TAX2023"})
    with pytest.warns(DataQualityWarning, match="TAX2023"):
        read_enterprises(odd)  # unknown otherwise
    t = read_enterprises(odd, field_map={"实缴税金": "TAX2023"})
    assert t.columns.fields["tax_wan"] == "TAX2023" and t.columns.given == {"tax_wan": "TAX2023"}
    with pytest.raises(InputDataError, match="no column 'NOPE'"):
        read_enterprises(odd, field_map={"实缴税金": "NOPE"})
    with pytest.raises(InputDataError, match="not a field of the enterprise table"):
        read_enterprises(odd, field_map={"建筑基底面积": "TAX2023"})


def test_missing_fields_and_share_checks_in_summary():
    rows = three_firms().drop(columns=[H["tech"]])
    rows.loc[0, H["rd"]] = 2000.0  # R&D 2000 > revenue 1000: 200 %
    r = evaluate(rows, method="anhui")
    miss = {m["field"]: m for m in r.summary["input"]["missing_fields"]}
    assert "亩均技改投资" in miss["tech_investment_wan"]["indicators"]
    assert "--field 技改投资=<your column>" in miss["tech_investment_wan"]["hint"]
    (chk,) = [c for c in r.summary["checks"] if c["indicator"] == "rd_share_pct"]
    assert chk["firms"] == ["测试企业A"] and chk["values"] == [pytest.approx(200.0)]
    assert "outside [0, 100 %]" in chk["message"] and "table row 1" in chk["message"]


@pytest.mark.parametrize("method", ["anhui", "zhejiang"])
def test_scope_columns_equal_the_per_row_rule(method):
    """_scope_columns (every row at once) against _scope_status (the documented per-row rule) on the messy firms."""
    from xclz_geo.efficiency.evaluate import _scope_columns, _scope_status

    prof = load_method(method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        d = read_enterprises(FIXTURES / "efficiency_messy_input.csv").data
    todo = np.ones(len(d), dtype=bool)
    todo[::7] = False  # rows already invalid are left alone
    st, why, above, code, note = _scope_columns(d, prof.scope, todo)
    keys = ["exempt_reason", "industry_code", "land_mu", "above_scale", "revenue_wan"]
    seen = set()
    for i, row in enumerate(d[keys].to_dict("records")):
        if not todo[i]:
            assert st[i] is None and code[i] is None
            continue
        s1, w1, a1, c1 = _scope_status(row, prof.scope)
        assert (st[i], code[i]) == (s1, c1), i
        if s1 is not None:
            assert why[i] == w1, i
        else:
            assert note[i] == w1 and bool(above[i]) == a1, i
        seen.add(c1)
    assert {"exempt", "utility", "not_industrial", "missing_land", "zero_land", "below_land_threshold", None} <= seen


# ------------------------------------------------------------------ memory layout (Arrow text) must not leak into outputs


def _text_table(tmp_path, n=60):
    """A CSV whose text columns hold what a dtype change would spoil: 18-digit codes, leading zeros, empty cells,
    missing tokens, full-width digits and blanks around a code; repeated texts (行业代码, 数据质量) and unique ones."""
    import csv

    rows = []
    for i in range(n):
        rows.append({"统一社会信用代码": f"91341800{i:010d}", "企业名称": f"企业{i:03d}", "是否规上": "是" if i % 3 else "否",
                     "行业代码": ["0610", " 3011 ", "３０１１", "-", ""][i % 5], "用地面积(亩)": str(10 + i % 7),
                     "实缴税金(万元)": "" if i % 11 == 4 else f"{100 + i}.5", "营业收入(万元)": "3,000", "数据质量": "synthetic",
                     "不参评原因": "在建" if i == 7 else "", "备注": "" if i % 2 else "0012"})
    p = tmp_path / "firms.csv"
    with open(p, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return p, pd.DataFrame(rows)


def test_text_read_as_arrow_but_parsed_values_stay_python_objects(tmp_path):
    """The table as read is held as Arrow text (the memory fix), with every cell exactly as typed and none
    missing; the parsed text fields stay ``object`` columns of ``str`` with ``None`` for empty — the same
    values as the per-cell rule — for repeated texts (one ``str`` shared) and unique ones alike."""
    from xclz_geo.efficiency.evaluate import _text_value

    p, src = _text_table(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        t = read_enterprises(p)
    for c in src.columns:
        assert isinstance(t.raw[c].dtype, pd.StringDtype), c
        assert t.raw[c].tolist() == src[c].tolist(), c  # "" stays "", "0012" and the 18 digits stay as typed
    for key in ("credit_code", "name", "industry_code", "data_quality", "exempt_reason"):
        col = t.data[key]
        assert col.dtype == object, key
        want = [_text_value(v) for v in t.raw[t.columns.fields[key]].tolist()]
        assert col.tolist() == want, key
        assert all(v is None or type(v) is str for v in col), key  # never NaN, pd.NA or a numpy str
    ind = t.data["industry_code"]
    assert ind.tolist()[:5] == ["0610", "3011", "3011", None, None]
    assert ind.iloc[1] is ind.iloc[6]  # a repeated text is one object, not a str per row
    assert t.data["credit_code"].iloc[0] == "913418000000000000"


def test_scores_columns_keep_their_dtypes_and_missing_values(tmp_path, synthetic_zone):
    """What the outputs and the report read from the scores: statuses, groups, classes and the located
    part/block as ``object`` with ``None`` (not ``NaN``/``<NA>``/``"nan"``) where empty; the input columns as typed."""
    from xclz_geo.geo.crs import transformer

    p, src = _text_table(tmp_path, n=30)
    df = pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    to_ll = transformer(synthetic_zone.gk_crs, "EPSG:4326")
    c = synthetic_zone.parts_gk.geometry.iloc[0].representative_point()
    lon, lat = to_ll.transform(c.x, c.y)
    b = synthetic_zone.parts_gk.total_bounds
    far_lon, far_lat = to_ll.transform(b[0] - 20000, b[1] - 20000)  # outside every part
    df["经度"] = ["" if i % 4 == 0 else f"{far_lon if i % 4 == 1 else lon:.6f}" for i in range(len(df))]
    df["纬度"] = ["" if i % 4 == 0 else f"{far_lat if i % 4 == 1 else lat:.6f}" for i in range(len(df))]
    df.to_csv(p, index=False, encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        r = evaluate(p, zone=synthetic_zone)
    s = r.scores
    assert set(s["status"]) == {"evaluated", "not_evaluated", "invalid"}
    for col in ("group", "class", "status", "block_id", "part_id", "locate_status"):
        assert s[col].dtype == object, col
        assert all(v is None or type(v) is str for v in s[col]), col
        assert not {"nan", "<NA>", "None"} & {v for v in s[col] if isinstance(v, str)}, col
    ev = (s["status"] == "evaluated").to_numpy()
    assert s.loc[~ev, "class"].isna().all() and s.loc[ev, "class"].notna().all()
    assert set(s.loc[s["经度"] == "", "locate_status"]) == {"no location"}
    assert s.loc[s["经度"] == "", "part_id"].map(lambda v: v is None).all()
    outside = (s["经度"] != "").to_numpy() & (np.arange(len(s)) % 4 == 1)
    assert set(s.loc[outside, "locate_status"]) == {"outside"}
    assert s.loc[outside, ["part_id", "block_id"]].map(lambda v: v is None).all().all()
    inside = (s["经度"] != "").to_numpy() & ~outside
    assert set(s.loc[inside, "part_id"]) == {synthetic_zone.parts_gk["part_id"].iloc[0]}
    assert s.loc[inside, "part_id"].map(id).nunique() == 1  # one shared str, not a copy per row
    assert s["备注"].tolist() == src["备注"].tolist() and s["统一社会信用代码"].tolist() == src["统一社会信用代码"].tolist()
    before = list(s.columns)
    lay = r.layer  # a shallow copy of the scores: adding the geometry leaves the scores as they were
    assert "geometry" in lay.columns and list(r.scores.columns) == before


def test_map_distinct_on_arrow_text_is_map():
    from xclz_geo.efficiency.evaluate import _text_value, map_distinct

    values = pd.Series(["3011", " 3011 ", None, "３０１１", "-", "", "3011"], dtype="str")
    got = map_distinct(values, _text_value)
    assert got.dtype == object
    assert got.tolist() == [_text_value(v) for v in values.astype(object)] == ["3011", "3011", None, "3011", None, None, "3011"]
    assert map_distinct(values, repr).tolist() == [repr(v) for v in values.astype(object)]  # a missing cell is NaN, as map gives it
    assert map_distinct(pd.Series([], dtype="str"), repr).tolist() == []


@pytest.mark.parametrize("stream", [False, True])
def test_cli_outputs_same_from_arrow_text_as_from_python_text(tmp_path, monkeypatch, stream):
    """scores.csv and scores.xlsx from the table held as Arrow text (now) are byte for byte / cell for cell the
    files written from the table held as Python ``str`` (before), by the small-table and the streamed writers;
    text stays text (18-digit codes, ``0012``), an empty cell stays empty, nothing reads ``nan``/``<NA>``."""
    import csv

    from openpyxl import load_workbook

    from xclz_geo import io
    from xclz_geo.cli.main import main

    p, src = _text_table(tmp_path)
    monkeypatch.setattr(io, "STREAM_MIN_ROWS", 5 if stream else 10**9)
    outs = {}
    for tag in ("object", "arrow"):
        if tag == "object":
            monkeypatch.setattr(io, "_arrow_text_dtype", lambda: None)  # the table as read before: object columns
        else:
            monkeypatch.undo()
            monkeypatch.setattr(io, "STREAM_MIN_ROWS", 5 if stream else 10**9)
        out = tmp_path / tag
        assert main(["efficiency", "--enterprises", str(p), "--out", str(out), "--no-zone"]) == 0
        wb = load_workbook(out / "scores.xlsx", read_only=True)
        outs[tag] = ((out / "scores.csv").read_bytes(), [[(c.value, c.data_type) for c in row] for row in wb["scores"].iter_rows()])
        wb.close()
    assert outs["arrow"][0] == outs["object"][0]
    assert outs["arrow"][1] == outs["object"][1]
    with open(tmp_path / "arrow" / "scores.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    for c in ("统一社会信用代码", "备注", "行业代码", "实缴税金(万元)", "营业收入(万元)"):
        assert [r[c] for r in body] == src[c].tolist(), c  # as typed: "0012", "", " 3011 ", "3,000"
    assert not any(v in ("nan", "<NA>", "None", "NaN") for r in body for v in r.values())
    xl = outs["arrow"][1]
    j = [v for v, _ in xl[0]].index("统一社会信用代码")
    assert {row[j][1] for row in xl[1:]} == {"s"}  # text cells, never numbers
    assert [row[j][0] for row in xl[1:]] == src["统一社会信用代码"].tolist()
