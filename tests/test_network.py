"""Tests of line-network loading and name matching (xclz_geo.boundaries.network)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box

from xclz_geo.boundaries.digitize import digitize
from xclz_geo.errors import CRSError, DataQualityWarning, InputDataError, InputFileError, NameNotResolvedError
from xclz_geo.boundaries.network import (
    NETWORK_COLUMNS,
    NetworkIndex,
    load_network,
    match_feature,
    normalize_name,
    normalize_network,
    normalize_ref,
    parse_hstore,
)
from xclz_geo.boundaries.sizhi import parse_sizhi

FIX = Path(__file__).parent / "fixtures"


def _fixture_module():
    spec = importlib.util.spec_from_file_location("make_digitize_fixtures", FIX / "make_digitize_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


MK = _fixture_module()


def iou(a, b) -> float:
    return shapely.intersection(a, b).area / shapely.union(a, b).area


# ------------------------------------------------------------------ OSM


def test_osm_reader_reads_tags_and_keeps_only_lines():
    n = load_network(FIX / "digitize_grid.osm")
    assert list(n.columns) == [*NETWORK_COLUMNS, "geometry"]
    assert n.crs.to_epsg() == 4326
    by_name = {r.name: r for r in n.itertuples()}
    # building way and power line are gone; the river and railway are in with their kinds
    assert "经四路厂房" not in by_name and "外环路电力线" not in by_name
    assert by_name["无量溪河"].kind == "water" and by_name["宣杭铁路"].kind == "rail"
    assert by_name["外环路"].kind == "road"  # name taken from name:zh
    assert by_name["祥花线"].alt_names == "祥花公路"
    unnamed = n[n["name"] == ""]
    assert unnamed["ref"].tolist() == ["G318"]
    assert all(fid.startswith("way/") for fid in n["feature_id"])
    assert n["feature_id"].is_unique


def test_osm_end_to_end():
    n = load_network(FIX / "digitize_grid.osm")
    res = digitize(MK.OSM_TEXT, n)
    x0, y0 = MK.OSM_ORIGIN
    assert res.crs.to_epsg() == 4549
    assert iou(res.polygon, box(x0, y0, x0 + MK.OSM_W, y0 + MK.OSM_H)) >= 0.97
    north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
    assert north["match"]["level"] == "ref" and north["feature_ids"][0].startswith("way/")
    assert north["constraints"][0]["polygon_on_required_side"] is True
    west = next(s for s in res.record["sides"] if s["direction"] == "W")["features"][0]
    assert west["match"]["level"] == "exact"


# ------------------------------------------------------------------ DXF


def test_dxf_with_a_name_field():
    n = load_network(FIX / "digitize_grid.dxf", name_field="Layer", crs="EPSG:4549")
    assert {"民生路", "光藻路", "芜杭铁路", "无量溪河"} <= set(n["name"])
    assert n.loc[n["name"] == "芜杭铁路", "kind"].item() == "rail"
    assert n.loc[n["name"] == "无量溪河", "kind"].item() == "water"
    res = digitize(MK.DXF_TEXT, n)
    x0, y0 = MK.DXF_ORIGIN
    inner = MK.river_coords(y0, y0 + MK.DXF_H, step_m=5.0)
    expected = Polygon([(x0 + MK.DXF_W, y0), (x0 + MK.DXF_W, y0 + MK.DXF_H)] + inner[::-1])
    assert iou(res.polygon, expected) >= 0.97


def test_dxf_needs_crs_and_a_valid_name_field():
    with pytest.raises(CRSError, match="no CRS"):
        load_network(FIX / "digitize_grid.dxf", name_field="Layer")
    with pytest.raises(InputDataError, match="Layer"):
        load_network(FIX / "digitize_grid.dxf", name_field="道路名", crs="EPSG:4549")


def test_missing_file():
    with pytest.raises(InputFileError, match="not found"):
        load_network(FIX / "nope.gpkg")


# ------------------------------------------------------------------ other GDAL formats


def _frame():
    return gpd.GeoDataFrame(
        {"名称": ["民生路", "光藻路（北段）", "无量溪河", None], "编号": ["", "", "", "G318"]},
        geometry=[LineString([(0, 0), (0, 1000)]), LineString([(0, 0), (1000, 0)]),
                  LineString([(1000, 0), (1000, 1000)]), LineString([(0, 1000), (1000, 1000)])],
        crs="EPSG:4549",
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".parquet"])
def test_formats_round_trip(tmp_path, suffix):
    gdf = _frame()
    p = tmp_path / f"net{suffix}"
    if suffix == ".parquet":
        gdf.to_parquet(p)
    else:
        gdf.to_file(p, engine="pyogrio")
    n = load_network(p)
    # FlatGeobuf reorders rows (spatial index): compare by name
    got = sorted(zip(n["name"], n["ref"], n["kind"]))
    assert got == sorted([("民生路", "", "road"), ("光藻路（北段）", "", "road"), ("无量溪河", "", "water"),
                          ("", "G318", "road")])
    assert n.crs.to_epsg() == 4549 or n.crs.equals("EPSG:4549")


def test_gbk_shapefile_without_cpg(tmp_path):
    p = tmp_path / "roads.shp"
    _frame().to_file(p, engine="pyogrio", encoding="GBK")
    cpg = p.with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()
    raw = p.with_suffix(".dbf").read_bytes()
    assert "民生路".encode("gbk") in raw  # really GBK on disk
    n = load_network(p)
    assert "民生路" in n["name"].tolist()


def test_polygons_become_outlines_and_points_are_dropped():
    gdf = gpd.GeoDataFrame({"name": ["湖", "点"]}, geometry=[box(0, 0, 10, 10), shapely.Point(1, 1)], crs="EPSG:4549")
    n = normalize_network(gdf)
    assert len(n) == 1 and n.geometry.iloc[0].geom_type == "LineString"


def test_no_name_column_lists_columns():
    gdf = gpd.GeoDataFrame({"foo": ["a"]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4549")
    with pytest.raises(InputDataError, match="foo"):
        normalize_network(gdf)


# ------------------------------------------------------------------ names


@pytest.mark.parametrize("raw, norm", [("滨江大道(北段)", "滨江大道"), ("滨江大道（北段）", "滨江大道"), (" 民生 路 ", "民生路"),
                                       ("Ｇ５０沪渝高速", "G50沪渝高速"), (None, ""), ("g318", "G318")])
def test_normalize_name(raw, norm):
    assert normalize_name(raw) == norm


def test_normalize_ref_and_hstore():
    assert normalize_ref("G 318;S215") == ["G318", "S215"]
    assert normalize_ref("３１８国道") == ["G318"]
    assert parse_hstore('"name:zh"=>"外环路","ref"=>"G318"') == {"name:zh": "外环路", "ref": "G318"}


def _index():
    gdf = gpd.GeoDataFrame(
        {"name": ["民生路", "民生路（北段）", "创业大道", "", "沪渝高速", "景德路", "景德路"],
         "ref": ["", "", "", "G318", "G50", "", ""],
         "kind": ["road", "road", "road", "road", "road", "road", "water"]},
        geometry=[LineString([(i, 0), (i, 1)]) for i in range(7)], crs="EPSG:4549",
    )
    return NetworkIndex(normalize_network(gdf))


def test_match_ranking_exact_normalised_ref():
    idx = _index()
    m = idx.match("民生路")
    assert m.level == "exact"
    assert dict(zip(m.rows.tolist(), m.match_kinds)) == {0: "exact", 1: "normalised"}
    m = idx.match(parse_sizhi("北至318国道").side("N").features[0])
    assert (m.level, m.rows.tolist()) == ("ref", [3])
    m = idx.match(parse_sizhi("南至G50高速").side("S").features[0])
    assert (m.level, m.rows.tolist()) == ("exact", [4]) or m.rows.tolist() == [4]


def test_match_filters_by_kind():
    idx = _index()
    f = parse_sizhi("东至景德路").side("E").features[0]
    assert idx.match(f).rows.tolist() == [5]


def test_fuzzy_is_reported_and_can_be_refused():
    idx = _index()
    with pytest.warns(DataQualityWarning, match="创业大道"):
        m = idx.match("创业大路")
    assert m.level == "fuzzy" and m.fuzzy_score is not None and m.fuzzy_score >= 0.75
    with pytest.raises(NameNotResolvedError, match="创业大道"):
        idx.match("创业大路", allow_fuzzy=False)


def test_unresolved_name_lists_nearest():
    with pytest.raises(NameNotResolvedError) as ei:
        match_feature(_index().network, "民主路", allow_fuzzy=True)
    assert "民生路" in str(ei.value)


def test_osm_name_tag_can_be_chosen():
    n = load_network(FIX / "digitize_grid.osm", name_field="alt_name")
    # only 祥花线 has an alt_name; the others fall back to their other name tags
    assert "祥花公路" in set(n["name"]) and "经四路" in set(n["name"])


def test_osm_pbf_reads_like_the_xml():
    pbf = load_network(FIX / "digitize_grid.osm.pbf")
    xml = load_network(FIX / "digitize_grid.osm")
    cols = list(NETWORK_COLUMNS)
    assert pbf[cols].equals(xml[cols])
    assert pbf.geometry.geom_equals_exact(xml.geometry, tolerance=1e-6).all()
    res = digitize(MK.OSM_TEXT, pbf)
    x0, y0 = MK.OSM_ORIGIN
    assert iou(res.polygon, box(x0, y0, x0 + MK.OSM_W, y0 + MK.OSM_H)) >= 0.97
