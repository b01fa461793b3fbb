"""TD/T 1029 indicators and under-used land on a small hand-made parcel layer.

The layer is built here in EPSG:4549 (CGCS2000 GK CM 120°E) from rectangles whose areas are known
exactly; every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from xclz_geo.efficiency.intensity import (
    UnderusedRules,
    attach_buildings,
    control_table,
    far_minimum,
    indicator_definitions,
    intensity,
    land_ledger,
    normalize_parcels,
    underused,
)
from xclz_geo.errors import InputDataError

X0, Y0 = 380_000.0, 3_420_000.0


def rect(i, w, h):
    """Rectangle i (placed left to right, 200 m apart), w × h metres."""
    return box(X0 + 200 * i, Y0, X0 + 200 * i + w, Y0 + h)


def layer() -> gpd.GeoDataFrame:
    rows = [
        # id, class, supplied, idle, floor, footprint, coverage, invest, tax, industry, geometry
        ("P1", "A2", "是", "否", 8000, 4000, 4500, 1500, 60, "3484", rect(0, 100, 100)),  # 10000 m²
        ("P2", "A1", "是", "否", 15000, 3000, None, None, 20, None, rect(1, 100, 100)),  # 10000 m²
        ("P3", "A4", "是", "否", 5000, 2000, None, None, 30, None, rect(2, 50, 100)),  # 5000 m²
        ("P4", "B21", "否", "否", None, None, None, None, None, None, rect(3, 100, 100)),  # 10000 m²
        ("P5", "B22", "否", "否", None, None, None, None, None, None, rect(4, 100, 50)),  # 5000 m²
        ("P6", "C1", "否", "否", None, None, None, None, None, None, rect(5, 100, 100)),  # 10000 m²
        ("P7", "B21", "是", "是", None, None, None, None, None, None, rect(6, 100, 100)),  # 10000 m², idle
    ]
    cols = ["地块编号", "统计类别", "是否已供应", "是否闲置", "总建筑面积(平方米)", "建筑基底面积(平方米)",
            "建筑系数用地面积(平方米)", "固定资产投资(万元)", "税收(万元)", "行业代码", "geometry"]
    df = pd.DataFrame(rows, columns=cols)
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4549")


def test_tdt1029_formulas_by_hand():
    r = intensity(layer())
    v = r.summary["units"]["part:all"]
    # A = 10000 + 10000 + 5000 = 25000; A2 = 10000; B = 10000 + 5000 + 10000 = 25000; B21 = 20000
    # D = P1 + P2 + P3 + P7 = 35000; G = 10000
    assert v["development_rate"] == pytest.approx(45000 / 50000 * 100)
    assert v["supply_rate"] == pytest.approx(35000 / 45000 * 100)
    assert v["built_rate"] == pytest.approx(25000 / 35000 * 100)
    assert v["industrial_land_rate"] == pytest.approx(40.0)
    assert v["far"] == pytest.approx((8000 + 15000 + 5000) / 25000)
    assert v["building_density"] == pytest.approx((4000 + 3000 + 2000) / 25000 * 100)
    assert v["industrial_far"] == pytest.approx(0.8)
    assert v["industrial_coverage"] == pytest.approx(45.0)
    assert v["industrial_investment_intensity"] == pytest.approx(1500.0)  # 1500 万元 on 1 公顷
    assert v["industrial_tax_intensity"] == pytest.approx(60.0)
    assert v["tax_intensity"] == pytest.approx((60 + 20 + 30) / 2.5)
    assert v["idle_rate"] == pytest.approx(10000 / 35000 * 100)
    t = r.table.set_index("indicator")
    assert t.loc["industrial_tax_intensity", "value_per_mu"] == pytest.approx(4.0)  # 60 万元/公顷 ÷ 15
    assert t.loc["supply_rate", "national"] == pytest.approx(92.68)
    assert t.loc["supply_rate", "national_year"] == 2020
    assert not t["formula_confirmed"].any()
    assert r.ledger["C_m2"].iloc[0] == pytest.approx(10000.0)


def test_every_indicator_has_formula_and_comparison_fields():
    defs = indicator_definitions()
    assert len(defs) == 12
    names = {d["name_zh"] for d in defs}
    assert {"土地开发率", "土地供应率", "土地建成率", "工业用地率", "综合容积率", "建筑密度", "工业用地综合容积率",
            "工业用地建筑系数", "工业用地固定资产投入强度", "工业用地地均税收", "综合地均税收", "土地闲置率"} == names
    for d in defs:
        assert d["formula"] and d["formula_zh"] and "formula_confirmed" in d
        if "national" in d:
            assert d["national_year"] in (2020, 2024) and "national_confirmed" in d


def test_coverage_defaults_to_footprint_and_wide_table():
    g = layer()
    g.loc[0, "建筑系数用地面积(平方米)"] = None
    r = intensity(g)
    assert r.summary["units"]["part:all"]["industrial_coverage"] == pytest.approx(40.0)
    w = r.wide()
    assert w.loc["all", "工业用地率"] == pytest.approx(40.0)


def test_parcels_cut_by_parts_apportion_attributes():
    from xclz_geo.boundaries.zone import Zone

    # one part covering the west half of P1 and all of P2 (x from X0 + 50 to X0 + 300)
    part = box(X0 + 50, Y0 - 10, X0 + 300, Y0 + 110)
    b = gpd.GeoDataFrame({"part_id": ["p"], "block_id": ["b"], "quality": ["synthetic"], "positional_uncertainty_m": [0.0]},
                         geometry=[part], crs="EPSG:4549")
    zone = Zone.from_boundaries(b, spec=False)
    led = land_ledger(layer(), zone=zone).set_index("part_id")
    assert led.loc["p", "A2_m2"] == pytest.approx(5000.0)
    assert led.loc["p", "floor_A2_m2"] == pytest.approx(4000.0)  # half of 8000
    assert led.loc["p", "tax_A2_wan"] == pytest.approx(30.0)
    assert led.loc["p", "A_m2"] == pytest.approx(15000.0)
    r = intensity(layer(), zone=zone)
    assert set(r.table["level"]) == {"part", "block", "zone"}
    assert r.summary["units"]["part:p"]["industrial_far"] == pytest.approx(0.8)


def test_buildings_fill_floor_area():
    g = layer()
    g.loc[0, ["总建筑面积(平方米)", "建筑基底面积(平方米)"]] = None
    bld = gpd.GeoDataFrame({"层数": [3, 2, 5]},
                           geometry=[box(X0 + 10, Y0 + 10, X0 + 40, Y0 + 60),  # 1500 m² × 3 in P1
                                     box(X0 + 50, Y0 + 10, X0 + 90, Y0 + 35),  # 1000 m² × 2 in P1
                                     box(X0 + 900, Y0 + 900, X0 + 910, Y0 + 910)],  # in no parcel
                           crs="EPSG:4549")
    p = attach_buildings(normalize_parcels(g), bld)
    assert p.loc[0, "floor_area_m2"] == pytest.approx(1500 * 3 + 1000 * 2)
    assert p.loc[0, "footprint_m2"] == pytest.approx(2500.0)
    assert p.loc[1, "floor_area_m2"] == pytest.approx(15000.0)  # attribute kept


def test_bad_ledger_class_and_numbers_are_named():
    g = layer()
    g.loc[2, "统计类别"] = "Z9"
    with pytest.raises(InputDataError, match=r"feature 3 \(地块编号 P3\): 统计类别 'Z9'"):
        intensity(g)
    g = layer()
    g["税收(万元)"] = g["税收(万元)"].astype(object)
    g.loc[0, "税收(万元)"] = "很多"
    with pytest.raises(InputDataError, match="税收"):
        intensity(g)


def test_far_control_table():
    t = control_table()
    assert t["code_2017"].is_unique
    assert far_minimum("2927") == (0.8, True)  # 2017 code 29 (rubber + plastics): the lower 2002 value
    assert far_minimum("1391") == (1.0, True)
    assert far_minimum("3484") == (0.7, False)  # recall value, flagged
    assert far_minimum("4411") == (None, False)
    assert far_minimum(None) == (None, False)


def underused_layer() -> gpd.GeoDataFrame:
    g = layer()
    extra = gpd.GeoDataFrame(
        pd.DataFrame([("P8", "A2", "是", "否", 4000, 2500, None, 300, 3, "2927")], columns=list(g.columns[:-1])),
        geometry=[rect(7, 100, 100)], crs="EPSG:4549")
    return gpd.GeoDataFrame(pd.concat([g, extra], ignore_index=True), geometry="geometry", crs="EPSG:4549")


def test_underused_far_coverage_idle():
    u = underused(parcels=underused_layer(), rules=UnderusedRules(tax_share_of_median=None))
    t = u.table.set_index("parcel_id")
    # P8: 容积率 4000/10000 = 0.4 < 0.8 → gap 0.5; 建筑系数 25% < 30% → gap 1/6; 15 亩 × 0.5 = 7.5
    assert t.loc["P8", "flags"] == "low_far,low_coverage"
    assert t.loc["P8", "freeable_mu"] == pytest.approx(7.5)
    # P7 idle: all its 15 亩
    assert t.loc["P7", "flags"] == "idle" and t.loc["P7", "freeable_mu"] == pytest.approx(15.0)
    # P1 meets both minimums (0.8 ≥ 0.7, 45% ≥ 30%); residential P2 is not checked for industrial rules
    assert t.loc["P1", "flags"] == "" and t.loc["P2", "flags"] == ""
    assert u.total_freeable_mu == pytest.approx(22.5)
    assert set(u.layer["parcel_id"]) == {"P7", "P8"}
    assert u.layer.crs.to_epsg() == 4490
    assert u.summary["by_flag"]["idle"]["land_mu"] == pytest.approx(15.0)


def test_underused_rules_are_settable():
    # stricter coverage, a fixed 容积率 minimum of 1.0 for every industry
    u = underused(parcels=underused_layer(), rules=UnderusedRules(tax_share_of_median=None, far_min=1.0,
                                                                  coverage_min_pct=50.0, idle=False))
    t = u.table.set_index("parcel_id")
    assert t.loc["P1", "flags"] == "low_far,low_coverage"  # 0.8 < 1.0, 45% < 50%
    assert t.loc["P1", "freeable_mu"] == pytest.approx(15 * (1 - 0.8 / 1.0))
    assert t.loc["P7", "flags"] == ""


def test_underused_low_tax_parcels():
    u = underused(parcels=underused_layer(), rules=UnderusedRules(coverage_min_pct=None, far_min=0.01))
    t = u.table.set_index("parcel_id")
    # industrial parcels with tax: P1 60/15 = 4, P8 3/15 = 0.2 万元/亩; median 2.1; threshold 1.05
    assert u.summary["zone_median_tax_per_mu"] == pytest.approx(2.1)
    assert t.loc["P8", "flags"] == "low_tax"
    assert t.loc["P8", "freeable_mu"] == pytest.approx(15 * (1 - 0.2 / 1.05))
    assert "low_tax" not in t.loc["P1", "flags"]


def test_underused_firms_and_merge_with_parcels():
    from xclz_geo.efficiency.evaluate import evaluate

    firms = pd.DataFrame([
        {"统一社会信用代码": c, "企业名称": c, "是否规上": "是", "行业代码": "3484", "用地面积(亩)": land,
         "实缴税金(万元)": tax, "营业收入(万元)": 5000, "地块编号": pid, "经度": 118.8, "纬度": 30.9}
        for c, land, tax, pid in (("f1", 10, 200, None), ("f2", 20, 200, None), ("f3", 40, 40, None),
                                  ("f4", 15, 30, "P8"))
    ])
    r = evaluate(firms)
    u = underused(firms=r, rules=UnderusedRules(coverage_min_pct=None))
    t = u.table.set_index("credit_code")
    # 亩均税收 20, 10, 1, 2 → median 6, threshold 3: f3 (1) and f4 (2) are flagged
    assert u.summary["tax_threshold_per_mu"] == pytest.approx(3.0)
    assert t.loc["f3", "flags"] == "low_tax" and t.loc["f3", "freeable_mu"] == pytest.approx(40 * (1 - 1 / 3))
    assert t.loc["f1", "flags"] == ""
    assert t.loc["f3", "kind"] == "firm"
    assert u.layer.geometry.geom_type.eq("Point").all()
    # with the parcel layer, f4 joins parcel P8 instead of adding a row (land not counted twice)
    u2 = underused(parcels=underused_layer(), firms=r, rules=UnderusedRules(coverage_min_pct=None))
    t2 = u2.table
    assert (t2["parcel_id"] == "P8").sum() == 1
    assert t2.loc[t2["parcel_id"] == "P8", "credit_code"].iloc[0] == "f4"
    assert len(t2) == 8 + 3


def test_quality_label_carried():
    g = layer()
    g["quality"] = "synthetic"
    assert intensity(g).summary["quality"] == "synthetic"
    assert intensity(layer()).summary["quality"] == "unlabelled"
    assert math.isnan(intensity(layer().iloc[3:6]).summary["units"]["part:all"]["far"] or float("nan"))


def test_absent_attributes_give_nan_not_zero():
    g = layer().drop(columns=["是否已供应", "固定资产投资(万元)"])
    r = intensity(g)
    v = r.summary["units"]["part:all"]
    assert v["supply_rate"] is None and v["built_rate"] is None and v["idle_rate"] is None
    assert v["industrial_investment_intensity"] is None
    assert v["industrial_land_rate"] == pytest.approx(40.0)  # still computable
    assert any("是否已供应" in n for n in r.summary["notes"])


def test_ledger_class_derived_from_landuse_codes():
    # 三调 codes: 0601 工业 → A2, 0701 城镇住宅 → A1, 0101 水田 → B22, 1101 河流 → C1
    g = gpd.GeoDataFrame({"DLBM": ["0601", "0701", "0101", "1101"], "总建筑面积(平方米)": [6000, 12000, None, None]},
                         geometry=[rect(0, 100, 100), rect(1, 100, 100), rect(2, 100, 100), rect(3, 100, 50)],
                         crs="EPSG:4549")
    p = normalize_parcels(g)
    assert list(p["ledger_class"]) == ["A2", "A1", "B22", "C1"]
    assert p["ledger_derived"].all()
    r = intensity(g)
    v = r.summary["units"]["part:all"]
    assert v["industrial_land_rate"] == pytest.approx(50.0)
    assert v["development_rate"] == pytest.approx(20000 / 30000 * 100)  # (A + B21)/(A + B)
    assert v["far"] == pytest.approx(18000 / 20000)
    assert any("derived from land-use codes" in n for n in r.summary["notes"])


def test_supply_status_column():
    # 供地状态 as in the land-use sample: 已建成 → D and built; 已供未建 / 闲置 on a construction code → B21 and D;
    # 未供应 → B21, not D; 闲置 → G
    g = gpd.GeoDataFrame({"DLBM": ["0601", "0601", "0601", "0701", "0101"],
                          "供地状态": ["已建成", "已供未建", "闲置", "未供应", ""],
                          "建筑面积": [9000, None, None, None, None]},
                         geometry=[rect(i, 100, 100) for i in range(5)], crs="EPSG:4549")
    p = normalize_parcels(g)
    assert list(p["ledger_class"]) == ["A2", "B21", "B21", "B21", "B22"]
    assert list(p["supplied"]) == [True, True, True, False, False]
    assert list(p["idle"]) == [False, False, True, False, False]
    v = intensity(g).summary["units"]["part:all"]
    # A = 10000, B21 = 30000, B = 40000, D = 30000, G = 10000
    assert v["development_rate"] == pytest.approx(40000 / 50000 * 100)
    assert v["supply_rate"] == pytest.approx(30000 / 40000 * 100)
    assert v["built_rate"] == pytest.approx(10000 / 30000 * 100)
    assert v["idle_rate"] == pytest.approx(10000 / 30000 * 100)
    assert v["industrial_far"] == pytest.approx(0.9)
    g.loc[0, "供地状态"] = "差不多"
    with pytest.raises(InputDataError, match="供地状态"):
        normalize_parcels(g)


def test_bundled_landuse_sample_runs():
    from xclz_geo.datasets import data_path

    p = data_path("samples", "landuse_parcels_synthetic.gpkg", must_exist=False)
    if not p.exists():
        pytest.skip("land-use sample not in this checkout")
    g = gpd.read_file(p)
    r = intensity(g)
    v = r.summary["units"]["part:all"]
    assert 0 < v["industrial_land_rate"] < 100 and v["idle_rate"] is not None
    assert r.summary["quality"] == "synthetic"
    u = underused(parcels=g)
    assert u.summary["by_flag"]["idle"]["count"] == int((g["供地状态"] == "闲置").sum())


def test_nothing_underused_is_a_normal_outcome(synthetic_zone):
    # healthy parcels only (P1 meets every minimum, P2 is residential): no flag, an empty layer, no error
    healthy = layer().iloc[:2]
    u = underused(parcels=healthy, rules=UnderusedRules(tax_share_of_median=None))
    assert u.summary["underused"] == 0 and len(u.layer) == 0 and u.total_freeable_mu == 0.0
    # nothing checked at all: parcels far outside the zone (issue 13 R2: this raised ValueError)
    far = healthy.set_geometry(healthy.geometry.translate(-100_000, -100_000))
    u = underused(parcels=far, zone=synthetic_zone)
    assert u.summary["checked"] == 0 and u.summary["underused"] == 0
    assert len(u.layer) == 0 and u.layer.crs.to_epsg() == 4490
    assert u.summary["by_flag"]["idle"]["count"] == 0


def gbk_shapefile_with_cut_names(tmp_path):
    """A GBK shapefile written the way GDAL writes it: Chinese field names cut to 10 bytes
    (建筑基底面积(平方米) → 建筑基底面, 固定资产投资(万元) → 固定资产投, 建筑系数用地面积(平方米) → 建筑系数用)."""
    import warnings

    g = layer()
    shp = tmp_path / "parcels_gbk.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL announces the laundered names
        g.to_file(shp, driver="ESRI Shapefile", encoding="GBK", engine="pyogrio")
    return shp


def test_gbk_shapefile_with_truncated_names_feeds_density_and_investment(tmp_path):
    from xclz_geo.errors import DataQualityWarning
    from xclz_geo.io import read_vector

    shp = gbk_shapefile_with_cut_names(tmp_path)
    g = read_vector(shp)
    assert "建筑基底面" in g.columns and "固定资产投" in g.columns  # what the .dbf really holds
    with pytest.warns(DataQualityWarning, match="建筑基底面 → 建筑基底面积"):
        r = intensity(g)
    v = r.summary["units"]["part:all"]
    assert v["building_density"] == pytest.approx((4000 + 3000 + 2000) / 25000 * 100)
    assert v["industrial_investment_intensity"] == pytest.approx(1500.0)
    assert v["industrial_coverage"] == pytest.approx(45.0)
    assert r.summary["missing_fields"] == []
    assert any("建筑基底面 → 建筑基底面积" in n for n in r.summary["notes"])


def test_short_aliases_and_field_map_for_parcels():
    g = layer().rename(columns={"建筑基底面积(平方米)": "JZJDMJ", "固定资产投资(万元)": "INV_2023"})
    v = intensity(g).summary["units"]["part:all"]
    assert v["building_density"] == pytest.approx(36.0)
    assert v["industrial_investment_intensity"] is None  # INV_2023 is not a known name
    r = intensity(g)
    (m,) = [m for m in r.summary["missing_fields"] if m["field"] == "investment_wan"]
    assert "工业用地固定资产投入强度" in m["indicators"] and "--field 固定资产投资=<your column>" in m["message"]
    p = normalize_parcels(g, field_map={"固定资产投资": "INV_2023"})
    assert p["investment_wan"].iloc[0] == pytest.approx(1500.0)
    with pytest.raises(InputDataError, match="no column 'NOPE'"):
        normalize_parcels(g, field_map={"固定资产投资": "NOPE"})
    from xclz_geo.fieldnames import use_field_map

    with use_field_map({"GDZCTZ": "INV_2023", "营业收入": "REV"}):  # names of the enterprise table are skipped here
        v = intensity(g).summary["units"]["part:all"]
    assert v["industrial_investment_intensity"] == pytest.approx(1500.0)


def test_plausibility_checks_name_the_parcels():
    # 0101 水田 marked 已建成: supplied (D) but farmland (B22) → 土地供应率 above 100 %
    g = gpd.GeoDataFrame({"地块编号": ["P1", "P2", "P3"], "DLBM": ["0601", "0101", "0601"],
                          "供地状态": ["已建成", "已建成", "已建成"], "总建筑面积": [120000.0, None, 5000.0],
                          "建筑基底面积": [12000.0, None, -10.0]},
                         geometry=[rect(0, 100, 100), rect(1, 100, 100), rect(2, 100, 100)], crs="EPSG:4549")
    r = intensity(g)
    v = r.summary["units"]["part:all"]
    assert v["supply_rate"] == pytest.approx(150.0)
    checks = {c["indicator"]: c for c in r.summary["checks"]}
    assert checks["supply_rate"]["parcels"] == ["P2"] and "contradicts" in checks["supply_rate"]["cause"]
    assert set(checks) == {"supply_rate", "footprint_m2"}  # 容积率 6.25 over A2 is plausible, though P1 alone has 12
    assert checks["footprint_m2"]["parcels"] == ["P3"]  # a negative footprint is named
    assert any(n.startswith("check: 土地供应率 150.0%") and "P2" in n for n in r.summary["notes"])
    # a clean layer has no checks
    assert intensity(layer()).summary["checks"] == []


def test_far_above_10_is_flagged():
    g = layer()
    g.loc[0, "总建筑面积(平方米)"] = 150000.0  # 容积率 15 on P1 (A2)
    checks = {c["indicator"]: c for c in intensity(g).summary["checks"]}
    assert checks["industrial_far"]["value"] == pytest.approx(15.0)
    assert checks["industrial_far"]["parcels"] == ["P1"]


# ------------------------------------------------------------------ the column-wise underused() against a per-row reference


def _reference_underused_table(*, parcels=None, firms=None, zone=None, rules=None) -> tuple[pd.DataFrame, list]:
    """The per-row under-used table as :func:`underused` built it before it worked by column (issue 13 R11):
    one dict per parcel/firm, one Python pass per row for the flags. Returns (table, geometries)."""
    import numpy as np

    from xclz_geo import units
    from xclz_geo.efficiency import intensity as mod
    from xclz_geo.geo import crs as _crs
    from shapely.geometry import Point

    rules = rules or UnderusedRules.defaults()
    rows, geoms = [], []
    if parcels is not None:
        par = normalize_parcels(parcels)
        pg = par.to_crs(zone.gk_crs if zone is not None else _crs.gk_crs_for(par))
        if zone is not None:
            inside = mod._pieces(zone, par).groupby("parcel_id").agg(part_id=("part_id", "first"), block_id=("block_id", "first"))
            pg = pg[pg["parcel_id"].isin(inside.index)].copy()
            pg["part_id"] = pg["parcel_id"].map(inside["part_id"])
            pg["block_id"] = pg["parcel_id"].map(inside["block_id"])
        area_mu = units.m2_to_mu(pg.geometry.area.to_numpy())
        geo = pg.to_crs(_crs.CGCS2000_GEOGRAPHIC).geometry
        for k, (_, r) in enumerate(pg.iterrows()):
            land = float(area_mu[k])
            cov = r["coverage_m2"] if pd.notna(r["coverage_m2"]) else r["footprint_m2"]
            rows.append({"kind": "parcel", "parcel_id": r["parcel_id"], "credit_code": None, "name": None,
                         "block_id": r.get("block_id"), "part_id": r.get("part_id"), "ledger_class": r["ledger_class"],
                         "industry_code": r["industry_code"], "land_mu": land,
                         "far": r["floor_area_m2"] / (land * units.M2_PER_MU) if pd.notna(r["floor_area_m2"]) and land > 0 else np.nan,
                         "coverage_pct": cov / (land * units.M2_PER_MU) * 100.0 if pd.notna(cov) and land > 0 else np.nan,
                         "tax_per_mu": r["tax_wan"] / land if land > 0 else np.nan, "idle": bool(r["idle"]),
                         "industrial": r["ledger_class"] == "A2" or pd.notna(r["industry_code"])})
            geoms.append(geo.iloc[k])
    if firms is not None:
        sc, fd = mod._firm_frames(firms)
        ev = sc["status"] == "evaluated"
        if zone is not None and "part_id" in sc.columns:
            ev &= sc["part_id"].map(lambda v: isinstance(v, str) and bool(v))
        by_parcel = {r["parcel_id"]: j for j, r in enumerate(rows)}
        for k in sc.index[ev]:
            f = fd.loc[k]
            pid = f["parcel_id"]
            if isinstance(pid, str) and pid in by_parcel:
                row = rows[by_parcel[pid]]
                row["credit_code"], row["name"] = f["credit_code"], f["name"]
                if math.isnan(row["tax_per_mu"]):
                    row["tax_per_mu"] = float(sc.at[k, "tax_per_mu"])
                continue
            rows.append({"kind": "firm", "parcel_id": pid, "credit_code": f["credit_code"], "name": f["name"],
                         "block_id": sc.at[k, "block_id"] if "block_id" in sc.columns else None,
                         "part_id": sc.at[k, "part_id"] if "part_id" in sc.columns else None, "ledger_class": None,
                         "industry_code": f["industry_code"], "land_mu": float(f["land_mu"]), "far": np.nan,
                         "coverage_pct": np.nan, "tax_per_mu": float(sc.at[k, "tax_per_mu"]), "idle": False, "industrial": True})
            geoms.append(Point(f["lon"], f["lat"]) if pd.notna(f["lon"]) and pd.notna(f["lat"]) else None)
    t = pd.DataFrame(rows, columns=["kind", "parcel_id", "credit_code", "name", "block_id", "part_id", "ledger_class",
                                    "industry_code", "land_mu", "far", "coverage_pct", "tax_per_mu", "idle", "industrial"])
    tx = t["tax_per_mu"].astype(float)
    if rules.industrial_only:
        tx = tx[t["industrial"].astype(bool)]
    median = float(tx.median()) if tx.notna().any() else float("nan")
    thr = rules.tax_share_of_median * median if rules.tax_share_of_median is not None and not math.isnan(median) else None
    far_min, far_conf, cov_min, flags, free, reasons = [], [], [], [], [], []
    for _, r in t.iterrows():
        fl, why, gaps = [], [], [0.0]
        check = bool(r["industrial"]) or not rules.industrial_only
        fmin, fconf = (rules.far_min, True) if rules.far_min is not None else far_minimum(r["industry_code"])
        if fmin is None and check and rules.far_min_default is not None and (r["ledger_class"] == "A2" or pd.notna(r["industry_code"])):
            fmin, fconf = rules.far_min_default, False
        fmin = fmin if check else None
        cmin = rules.coverage_min_pct if check else None
        far_min.append(fmin)
        far_conf.append(fconf if fmin is not None else None)
        cov_min.append(cmin)
        if fmin is not None and pd.notna(r["far"]) and r["far"] < fmin:
            fl.append("low_far"), why.append(f"容积率 {r['far']:.2f} < {fmin:g}"), gaps.append(mod._gap(r["far"], fmin))
        if cmin is not None and pd.notna(r["coverage_pct"]) and r["coverage_pct"] < cmin:
            fl.append("low_coverage"), why.append(f"建筑系数 {r['coverage_pct']:.1f}% < {cmin:g}%")
            gaps.append(mod._gap(r["coverage_pct"], cmin))
        if thr is not None and check and pd.notna(r["tax_per_mu"]) and r["tax_per_mu"] < thr:
            fl.append("low_tax")
            why.append(f"亩均税收 {r['tax_per_mu']:.2f} < {rules.tax_share_of_median:g} × median {median:.2f} 万元/亩")
            gaps.append(mod._gap(r["tax_per_mu"], thr) if r["tax_per_mu"] > 0 else 1.0)
        if rules.idle and r["idle"]:
            fl.append("idle"), why.append("闲置土地"), gaps.append(1.0)
        flags.append(",".join(fl))
        reasons.append("; ".join(why))
        free.append((r["land_mu"] if pd.notna(r["land_mu"]) else 0.0) * max(gaps) if fl else 0.0)
    t["far_min"] = far_min
    t["far_min_confirmed"] = far_conf
    t["coverage_min_pct"] = cov_min
    t["tax_threshold_per_mu"] = thr
    t["flags"] = pd.Series(flags, index=t.index, dtype=object)
    t["underused"] = t["flags"].ne("").astype(bool)
    t["freeable_mu"] = pd.Series(free, index=t.index, dtype=float)
    t["reason"] = pd.Series(reasons, index=t.index, dtype=object)
    return t, geoms


def _mixed_firms() -> pd.DataFrame:
    """Firms of every kind the under-used rules meet: on parcels (two on P1, one with no tax), repeated
    parcel ids, no position, no industry, an industry without a 容积率 minimum, zero tax, 规上 and 规下."""
    rows = []
    for i in range(60):
        pid = {0: "P1", 1: "P1", 2: "P8", 3: "P9", 4: 7}.get(i % 13) if i % 3 == 0 else None
        tax = None if i % 17 == 5 else (0.0 if i % 19 == 3 else 5.0 + (i * 37 % 23) * 11.5)
        rows.append({"统一社会信用代码": f"C{i:03d}", "企业名称": f"企业{i}", "是否规上": "是" if i % 4 else "否",
                     "行业代码": ["3484", "2927", "1311", None, "4411", "3670"][i % 6], "用地面积(亩)": 3.0 + i % 11 * 4.5,
                     "实缴税金(万元)": tax, "营业收入(万元)": 2000 + 97 * i, "地块编号": pid,
                     "经度": None if i % 29 == 7 else 118.765 + (i % 9) * 0.002 + (0.5 if i % 23 == 4 else 0.0),
                     "纬度": 30.905 + (i % 7) * 0.002})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rules", [
    UnderusedRules(),
    UnderusedRules(coverage_min_pct=None, far_min=0.9, idle=False),
    UnderusedRules(tax_share_of_median=0.8, far_min_default=1.2, industrial_only=False),
    UnderusedRules(tax_share_of_median=None),
], ids=["defaults", "fixed_far", "default_far_all_parcels", "no_tax_rule"])
def test_underused_by_column_equals_the_per_row_reference(rules):
    from xclz_geo.efficiency.evaluate import evaluate

    par = underused_layer()
    extra = par.iloc[[0, 7]].copy()  # a repeated parcel id (the last one takes the firms) and a parcel with no tax
    extra["税收(万元)"] = [None, None]
    extra.loc[extra.index[0], "行业代码"] = "1311"
    extra.loc[extra.index[1], "地块编号"] = "P9"
    par = gpd.GeoDataFrame(pd.concat([par, extra], ignore_index=True), geometry="geometry", crs=par.crs)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        ev = evaluate(_mixed_firms())
    for kw in ({"parcels": par}, {"firms": ev}, {"parcels": par, "firms": ev}):
        got = underused(rules=rules, **kw)
        ref, geoms = _reference_underused_table(rules=rules, **kw)
        assert len(got.table) == len(ref) > 0
        pd.testing.assert_frame_equal(got.table, ref, check_dtype=False, check_exact=False, rtol=1e-12)
        assert got.summary["underused"] == int(ref["underused"].sum())
        assert ref["underused"].any() or ("parcels" not in kw and rules.tax_share_of_median is None)
        for f in ("low_tax", "low_far", "low_coverage", "idle"):
            assert got.summary["by_flag"][f]["count"] == int(ref["flags"].str.contains(f).sum())
        placed = [g is not None for g in geoms]
        want = ref[ref["underused"] & pd.Series(placed, index=ref.index)]
        assert list(got.layer["credit_code"].fillna("-")) == list(want["credit_code"].fillna("-"))
        assert [g.wkt for g in got.layer.geometry] == [g.wkt for i, g in enumerate(geoms) if placed[i] and ref["underused"].iloc[i]]


def test_underused_by_column_equals_the_per_row_reference_in_a_zone(synthetic_zone):
    from xclz_geo.efficiency.evaluate import evaluate

    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        ev = evaluate(_mixed_firms(), zone=synthetic_zone)
    assert ev.scores["part_id"].notna().sum() > 10 and ev.scores["part_id"].isna().any()  # inside and outside
    for kw in ({"firms": ev}, {"parcels": underused_layer(), "firms": ev}):
        got = underused(zone=synthetic_zone, **kw)
        ref, _ = _reference_underused_table(zone=synthetic_zone, **kw)
        assert len(got.table) == len(ref) > 0 and ref["underused"].any()
        pd.testing.assert_frame_equal(got.table, ref, check_dtype=False, check_exact=False, rtol=1e-12)
