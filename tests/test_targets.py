"""The plan's targets (xclz_geo.efficiency.targets): the file, and leading-industry shares per block."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from xclz_geo.efficiency.targets import leading_shares, leading_shares_by_year, load_targets
from xclz_geo.errors import InputDataError

def test_bundled_targets_name_the_plans_industries():
    t = load_targets()
    assert [i.name_zh for i in t.blocks["xuancheng"]] == ["新能源新材料", "汽车零部件", "高端装备制造", "食品医药"]
    assert [i.name_zh for i in t.blocks["guangde"]] == ["信息电子", "机械制造", "电子电路", "汽车及零部件", "智能装备制造", "新材料"]
    # every industry name is read in the plan text itself
    from xclz_geo.datasets import data_path

    text = data_path("reference", "seed_xuancheng_linkage_zone_plan_2022.txt").read_text(encoding="utf-8")
    for inds in t.blocks.values():
        for i in inds:
            assert i.name_zh in text, i.name_zh
            assert i.confirmed_name and not i.confirmed_codes
    assert len(t.unconfirmed) == 10


def test_shares_per_block():
    t = load_targets()
    firms = pd.DataFrame([
        # 宣城: one auto-parts firm, one food firm, one outside the leading industries
        {"block_id": "xuancheng", "industry_code": "3670", "land_mu": 30, "tax_wan": 300, "revenue_wan": 3000},
        {"block_id": "xuancheng", "industry_code": "1495", "land_mu": 10, "tax_wan": 100, "revenue_wan": 1000},
        {"block_id": "xuancheng", "industry_code": "2211", "land_mu": 60, "tax_wan": 600, "revenue_wan": 6000},
        # 广德: a PCB maker counts under 电子电路 and 信息电子 (both), once in all_leading
        {"block_id": "guangde", "industry_code": "3982", "land_mu": 40, "tax_wan": 400, "revenue_wan": 4000},
        {"block_id": "guangde", "industry_code": "1711", "land_mu": 60, "tax_wan": 100, "revenue_wan": 500},
        {"block_id": None, "industry_code": "3670", "land_mu": 5, "tax_wan": 5, "revenue_wan": 5},  # not located
    ])
    s = leading_shares(t, firms).set_index(["block_id", "industry"])
    assert s.loc[("xuancheng", "auto_parts"), "land_mu_share_pct"] == pytest.approx(30.0)
    assert s.loc[("xuancheng", "food_pharma"), "firms"] == 1
    assert s.loc[("xuancheng", "all_leading"), "tax_wan_share_pct"] == pytest.approx(40.0)
    assert s.loc[("xuancheng", "all_leading"), "firms_share_pct"] == pytest.approx(200 / 3)
    assert s.loc[("guangde", "electronic_circuits"), "firms"] == 1
    assert s.loc[("guangde", "information_electronics"), "firms"] == 1
    assert s.loc[("guangde", "all_leading"), "firms"] == 1  # counted once
    assert s.loc[("guangde", "all_leading"), "revenue_wan_share_pct"] == pytest.approx(100 * 4000 / 4500)
    assert not bool(s.loc[("guangde", "all_leading"), "confirmed_codes"])


def test_block_without_firms_has_no_share_not_zero():
    s = leading_shares(load_targets(), pd.DataFrame({"block_id": ["xuancheng"], "industry_code": ["3670"],
                                                     "land_mu": [1.0], "tax_wan": [1.0], "revenue_wan": [1.0]}))
    g = s[s["block_id"] == "guangde"]
    assert g["firms"].eq(0).all() and g["land_mu_share_pct"].map(math.isnan).all()


def test_bad_targets_file(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[plan]\nid = "x"\nsource = "y"\n[[blocks]]\nid = "b"\nname_zh = "块"\n[[blocks.industries]]\nid = "i"\nname_zh = "业"\ncodes = [36]\n',
                 encoding="utf-8")
    with pytest.raises(InputDataError, match=r"blocks\[0\]\.industries\[0\]\.codes"):
        load_targets(p)
    with pytest.raises(InputDataError, match="block_id"):
        leading_shares(load_targets(), pd.DataFrame({"industry_code": ["36"]}))


@pytest.mark.filterwarnings("ignore:.*not recognised:xclz_geo.errors.DataQualityWarning")
def test_shares_over_stored_years(tmp_path):
    from xclz_geo.boundaries.zone import Zone
    from xclz_geo.efficiency.evaluate import evaluate
    from xclz_geo.efficiency.history import store_year
    from xclz_geo.datasets import data_path

    h = tmp_path / "h.sqlite"
    res = evaluate(data_path("samples", "enterprises_synthetic.csv"), zone=Zone.load())
    store_year(h, res, year=2023)
    store_year(h, res, year=2024)
    by_year = leading_shares_by_year(load_targets(), h)
    assert sorted(by_year["year"].unique()) == [2023, 2024]
    a = by_year[by_year["year"] == 2023].drop(columns="year").reset_index(drop=True)
    b = by_year[by_year["year"] == 2024].drop(columns="year").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    allx = a[(a["block_id"] == "xuancheng") & (a["industry"] == "all_leading")].iloc[0]
    assert 0 < allx["firms"] and 0 < allx["firms_share_pct"] <= 100


@pytest.mark.parametrize("dtype", [object, "str"])
def test_shares_count_each_firm_by_its_own_code_as_the_per_firm_rule(dtype):
    """Codes are matched once per distinct value (10⁶ firms share a few hundred codes), with exactly the per-firm
    rule: codes typed as numbers (3670, and 3670.0 read as "36700"), padded text, missing ones, and pandas' str column."""
    t = load_targets()
    codes = ["3670", 3670, 3670.0, " 3670 ", None, float("nan"), "", "1495", "C3670", "2211"] * 3
    if dtype == "str":
        codes = [c if isinstance(c, str) or c is None else str(c) for c in codes]
    firms = pd.DataFrame({"block_id": "xuancheng", "industry_code": pd.Series(codes, dtype=dtype),
                          "land_mu": 1.0, "tax_wan": 1.0, "revenue_wan": 1.0})
    s = leading_shares(t, firms).set_index(["block_id", "industry"])
    for ind in t.blocks["xuancheng"]:
        want = sum(ind.matches(c) for c in firms["industry_code"].tolist())
        assert s.loc[("xuancheng", ind.id), "firms"] == want, ind.id
    assert s.loc[("xuancheng", "auto_parts"), "firms"] == 3 * 5  # "3670", 3670, 3670.0, " 3670 ", "C3670"
