"""Year-over-year 亩均效益 (xclz_geo.efficiency.history): storing years, matching firms, transitions.

The synthetic years below are built so that every transition is known by hand: one indicator
(亩均税收, land 10 亩 each), class shares 20/30/30/20 % of 10 firms → A 2, B 3, C 3, D 2 by rank.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from xclz_geo.efficiency.evaluate import evaluate
from xclz_geo.efficiency.history import (
    TRANSITION_COLUMNS,
    compare_years,
    history_rules,
    list_years,
    load_year,
    normalise_name,
    store_year,
    write_comparison,
)
from xclz_geo.errors import InputDataError, InputFileError, MethodProfileError

PROFILE = """
[method]
id = "test_history"
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
labels = ["A", "B", "C", "D"]
shares = [0.2, 0.3, 0.3, 0.2]
confirmed = true
[groups.above_scale]
confirmed = true
indicators = [ { id = "tax_per_mu", weight = 100.0, confirmed = true } ]
"""

P = (118.75, 30.90)  # 同名企业 X1
Q = (118.80, 30.95)  # 同名企业 X2, ~7 km away


def firm(code: str | None, name: str, tax: float, lonlat: tuple[float, float] | None = None) -> dict:
    return {
        "统一社会信用代码": code, "企业名称": name, "是否规上": "是", "行业代码": "3484", "用地面积(亩)": 10.0,
        "实缴税金(万元)": tax, "经度": lonlat[0] if lonlat else None, "纬度": lonlat[1] if lonlat else None,
        "数据质量": "synthetic",
    }


Y2023 = [
    firm("91341800F1", "甲科技有限公司", 1000), firm("91341800F2", "乙制造", 900), firm(None, "同名企业", 800, P),
    firm("91341800F3", "丙电子", 700), firm("91341800F4", "丁材料", 600), firm("91341800F5", "戊机械", 500),
    firm("91341800F6", "己包装", 400), firm(None, "同名企业", 300, Q), firm("91341800F7", "庚铸造", 200),
    firm("91341800F8", "辛化工", 100),
]
Y2024 = [
    firm("91341800F1", "甲科技有限公司", 1000), firm("91341800F8", "辛新材料", 950),  # renamed, same code
    firm(None, "同名企业", 850, Q), firm("91341800F3", "丙电子", 700), firm("91341800F4", "丁材料", 600),
    firm("91341800F9", "壬新能源", 550), firm(None, "同名企业", 450, P), firm("91341800F5", "戊机械", 350),
    firm("91341800F7", "庚铸造", 200), firm("91341800F2", "乙制造", 150),
]
EXPECTED = {  # name → (class_from, class_to, change, match)
    "甲科技有限公司": ("A", "A", "持平", "credit_code"),
    "辛新材料": ("D", "A", "升档", "credit_code"),
    "同名企业@Q": ("C", "B", "升档", "name_location"),
    "丙电子": ("B", "B", "持平", "credit_code"),
    "丁材料": ("B", "B", "持平", "credit_code"),
    "壬新能源": (None, "C", "新增", "-"),
    "同名企业@P": ("B", "C", "降档", "name_location"),
    "戊机械": ("C", "C", "持平", "credit_code"),
    "庚铸造": ("D", "D", "持平", "credit_code"),
    "乙制造": ("A", "D", "降档", "credit_code"),
    "己包装": ("C", None, "退出", "-"),
}


@pytest.fixture
def profile(tmp_path):
    p = tmp_path / "profile.toml"
    p.write_text(PROFILE, encoding="utf-8")
    return p


def _eval(rows, profile):
    return evaluate(pd.DataFrame(rows), method=profile)


@pytest.fixture
def two_years(tmp_path, profile):
    h = tmp_path / "history.sqlite"
    store_year(h, _eval(Y2023, profile), year=2023, inputs={"enterprises": "firms_2023.xlsx"})
    store_year(h, _eval(Y2024, profile), year=2024, inputs={"enterprises": "firms_2024.xlsx"})
    return h


def test_classes_of_the_synthetic_years_are_as_designed(profile):
    s = _eval(Y2023, profile).scores
    assert list(s["class"]) == ["A", "A", "B", "B", "B", "C", "C", "C", "D", "D"]
    s = _eval(Y2024, profile).scores
    assert list(s["class"]) == ["A", "A", "B", "B", "B", "C", "C", "C", "D", "D"]


def test_transitions_are_exactly_the_designed_ones(two_years):
    cmp = compare_years(two_years, year_from=2023, year_to=2024)
    t = cmp.table
    assert list(t.columns[: len(TRANSITION_COLUMNS)]) == list(TRANSITION_COLUMNS)
    assert len(t) == 11  # 10 firms in 2024 + 己包装 who left
    got = {}
    for _, r in t.iterrows():
        if r["name"] == "同名企业":
            key = "同名企业@Q" if r["score_to"] == pytest.approx(100 * (850 - 150) / (1000 - 150) / 1) else "同名企业@P"
        else:
            key = r["name"]
        got[key] = tuple(None if pd.isna(r[c]) else r[c] for c in ("class_from", "class_to", "change", "match"))
    assert got == EXPECTED
    # a renamed firm keeps its 2023 class through its code; the 2024 name is shown
    renamed = t[t["credit_code"] == "91341800F8"].iloc[0]
    assert renamed["name"] == "辛新材料" and renamed["class_from"] == "D"
    assert cmp.summary["counts"] == {"升档": 2, "降档": 2, "持平": 5, "新增": 1, "退出": 1}
    assert cmp.summary["match"]["name_location"] == 2
    assert any("matched by name" in n for n in cmp.summary["notes"])
    assert any("synthetic" in n for n in cmp.summary["notes"])


def test_matrix_rows_are_the_earlier_year(two_years):
    m = compare_years(two_years, year_from=2023, year_to=2024).matrix
    assert list(m.index) == ["A", "B", "C", "D"] and list(m.columns) == ["A", "B", "C", "D"]
    expected = pd.DataFrame([[1, 0, 0, 1], [0, 2, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]],
                            index=list("ABCD"), columns=list("ABCD"))
    assert (m.to_numpy() == expected.to_numpy()).all()
    assert int(m.to_numpy().sum()) == 9  # firms classed in both years


def test_consecutive_d_years_over_three_years(tmp_path, profile):
    h = tmp_path / "h3.sqlite"
    y2022 = [dict(r) for r in Y2023]  # 庚铸造 and 辛化工 are D in 2022 too
    for year, rows in ((2022, y2022), (2023, Y2023), (2024, Y2024)):
        store_year(h, _eval(rows, profile), year=year)
    t = compare_years(h, year_from=2023, year_to=2024).table.set_index("name")
    assert t.loc["庚铸造", "consecutive_d_years"] == 3
    assert bool(t.loc["庚铸造", "d_trigger"]) is True
    assert t.loc["乙制造", "consecutive_d_years"] == 1 and not bool(t.loc["乙制造", "d_trigger"])
    assert t.loc["辛新材料", "consecutive_d_years"] == 0  # D in 2022 and 2023 but A now
    # two years only: the run is 2 long
    h2 = tmp_path / "h2.sqlite"
    for year, rows in ((2023, Y2023), (2024, Y2024)):
        store_year(h2, _eval(rows, profile), year=year)
    t2 = compare_years(h2, year_from=2023, year_to=2024).table.set_index("name")
    assert t2.loc["庚铸造", "consecutive_d_years"] == 2
    # a three-year score trend exists only where three years are stored
    assert t.loc["丙电子", "score_trend"] is not None and pd.isna(t2.loc["丙电子", "score_trend"])


def test_gap_in_stored_years_stops_the_run(tmp_path, profile):
    h = tmp_path / "gap.sqlite"
    for year, rows in ((2021, Y2023), (2023, Y2023), (2024, Y2024)):
        store_year(h, _eval(rows, profile), year=year)
    t = compare_years(h, year_from=2023, year_to=2024).table.set_index("name")
    assert t.loc["庚铸造", "consecutive_d_years"] == 2  # 2022 missing: 2021 does not count


def test_storing_a_year_twice_needs_replace(two_years, profile):
    with pytest.raises(InputDataError, match="--replace"):
        store_year(two_years, _eval(Y2024, profile), year=2024)
    rec = store_year(two_years, _eval(Y2023, profile), year=2024, replace=True)
    assert rec["replaced"] is True
    assert [y["year"] for y in list_years(two_years)] == [2023, 2024]
    t = compare_years(two_years, year_from=2023, year_to=2024).table
    assert set(t["change"]) == {"持平"}  # 2024 now holds the 2023 table
    assert len(load_year(two_years, 2024)) == 10


def test_method_change_needs_allow(tmp_path, profile):
    h = tmp_path / "m.sqlite"
    store_year(h, _eval(Y2023, profile), year=2023)
    other = tmp_path / "other.toml"
    other.write_text(PROFILE.replace("shares = [0.2, 0.3, 0.3, 0.2]", "shares = [0.1, 0.4, 0.4, 0.1]"), encoding="utf-8")
    store_year(h, evaluate(pd.DataFrame(Y2024), method=other), year=2024)
    with pytest.raises(InputDataError, match="allow-method-change"):
        compare_years(h, year_from=2023, year_to=2024)
    cmp = compare_years(h, year_from=2023, year_to=2024, allow_method_change=True)
    assert cmp.summary["method_changed"] is True
    assert any("method changed" in n for n in cmp.summary["notes"])


def test_same_name_without_location_is_left_unmatched(tmp_path, profile):
    rows_a = [firm(None, "重名厂", 500), firm(None, "重名厂", 400)] + [firm(f"C{i}", f"企业{i}", 100 + i) for i in range(8)]
    rows_b = [firm(None, "重名厂", 600), firm(None, "重名厂", 300)] + [firm(f"C{i}", f"企业{i}", 100 + i) for i in range(8)]
    h = tmp_path / "amb.sqlite"
    store_year(h, _eval(rows_a, profile), year=2023)
    store_year(h, _eval(rows_b, profile), year=2024)
    cmp = compare_years(h, year_from=2023, year_to=2024)
    dup = cmp.table[cmp.table["name"] == "重名厂"]
    assert len(dup) == 4 and set(dup["change"]) == {"新增", "退出"}
    assert cmp.summary["ambiguous_names"] == ["重名厂"]


def test_history_rules_come_from_the_profile(tmp_path, profile):
    from xclz_geo.efficiency.evaluate import load_method

    assert history_rules(load_method(profile)).consecutive_d_trigger_years == 2
    p = tmp_path / "rules.toml"
    p.write_text(PROFILE + "\n[history]\nconsecutive_d_trigger_years = 3\ntrend_years = 4\nconfirmed = true\nsource = \"x\"\n", encoding="utf-8")
    r = history_rules(load_method(p))
    assert (r.consecutive_d_trigger_years, r.trend_years, r.confirmed) == (3, 4, True)
    p.write_text(PROFILE + "\n[history]\ntrend_years = \"three\"\n", encoding="utf-8")
    with pytest.raises(MethodProfileError, match="history.trend_years"):
        history_rules(load_method(p))


def test_written_outputs(two_years, tmp_path):
    out = tmp_path / "cmp"
    paths = write_comparison(compare_years(two_years, year_from=2023, year_to=2024), out)
    assert sorted(p.name for p in paths) == ["by_industry.csv", "by_part.csv", "matrix.csv", "summary.json", "transitions.csv"]
    t = pd.read_csv(out / "transitions.csv", encoding="utf-8-sig", dtype=str)
    assert list(t.columns[: len(TRANSITION_COLUMNS)]) == list(TRANSITION_COLUMNS)
    assert len(t) == 11
    m = pd.read_csv(out / "matrix.csv", encoding="utf-8-sig", index_col=0)
    assert int(m.to_numpy().sum()) == 9
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["years"] == [2023, 2024]
    assert not list(out.glob(".*tmp"))


def test_history_file_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        list_years(tmp_path / "none.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database", encoding="utf-8")
    with pytest.raises(InputFileError, match="bad.sqlite"):
        list_years(bad)


def test_a_second_process_reads_and_writes_the_file(two_years, profile, tmp_path):
    code = (
        "import sys, json; from xclz_geo.efficiency.history import list_years, compare_years;"
        "print(json.dumps([y['year'] for y in list_years(sys.argv[1])]));"
        "print(compare_years(sys.argv[1], year_from=2023, year_to=2024).summary['counts']['升档'])"
    )
    p = subprocess.run([sys.executable, "-c", code, str(two_years)], capture_output=True, text=True, check=True)
    assert p.stdout.split() == ["[2023,", "2024]", "2"]
    # another process stores a year while this one reads
    store = (
        "import sys, pandas as pd; sys.path.insert(0, sys.argv[3]);"
        "from test_history import Y2023, _eval; from xclz_geo.efficiency.history import store_year;"
        "store_year(sys.argv[1], _eval(Y2023, sys.argv[2]), year=2025)"
    )
    from pathlib import Path

    proc = subprocess.Popen([sys.executable, "-c", store, str(two_years), str(profile), str(Path(__file__).parent)])
    for _ in range(5):
        assert len(load_year(two_years, 2023)) == 10
    assert proc.wait(timeout=120) == 0
    assert [y["year"] for y in list_years(two_years)] == [2023, 2024, 2025]


def test_name_normalisation():
    assert normalise_name(" 甲科技 (宣城) 有限公司 ") == normalise_name("甲科技（宣城）")
    assert normalise_name("公司") == "公司"
    assert normalise_name(None) is None
