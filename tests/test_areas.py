"""Functional areas inside the parts (xclz_geo.boundaries.areas): spec, import, containment, area check,
locate and report. Geometries are synthetic squares in the synthetic rectangles of ``conftest.py``."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from conftest import make_synthetic_boundaries
from xclz_geo.boundaries.areas import OUTSIDE_TOLERANCE_PCT, parse_areas
from xclz_geo.boundaries.zone import Zone, area_report, load_spec
from xclz_geo.cli.main import main
from xclz_geo.datasets import data_path
from xclz_geo.errors import BoundaryError, SpecError
from xclz_geo.geo.crs import transformer

TO_GK = transformer("EPSG:4490", "EPSG:4549")
XC = TO_GK.transform(118.775, 30.915)  # centre of the synthetic xuancheng rectangle (29.8 km², half side ≈ 2,729 m)


def square(centre, half_m, *, dx=0.0):
    x, y = centre
    return box(x - half_m + dx, y - half_m, x + half_m + dx, y + half_m)


def write(path, geoms, names=None):
    gpd.GeoDataFrame({"名称": names or [f"f{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4549").to_file(path, driver="GPKG")
    return path


@pytest.fixture
def base(tmp_path):
    """Synthetic parts with a 0 m positional uncertainty: the containment band is then the 1 m minimum."""
    p = tmp_path / "zone.gpkg"
    make_synthetic_boundaries(uncertainty_m=0.0).to_file(p, driver="GPKG")
    return p


def run(*args):
    return main([str(a) for a in args])


def test_spec_names_the_plans_areas_with_the_one_official_area():
    spec = load_spec()
    got = {a.id: a for a in spec.areas}
    assert list(got) == ["carbon_neutral", "wanling_science_city", "auto_testing_town", "bonded_logistics_center", "aerospace_park"]
    assert got["carbon_neutral"].official_area_km2 == 7.9 and got["carbon_neutral"].parent_part_id == "xuancheng"
    assert [a.id for a in spec.areas if a.official_area_km2 is not None] == ["carbon_neutral"]
    for aid in ("auto_testing_town", "bonded_logistics_center", "aerospace_park"):
        assert got[aid].parent_block_id == "guangde" and got[aid].parent_part_id is None
    text = data_path("reference", "seed_xuancheng_linkage_zone_plan_2022.txt").read_text(encoding="utf-8").splitlines()
    for a in spec.areas:  # every area is cited by the line of the plan that names it
        lines = [int(n) for n in re.findall(r"line[s]? (\d+)(?: and (\d+))?", a.source)[0] if n]
        assert any(a.name_zh.replace("示范区", "") in text[n - 1] or a.name_zh in text[n - 1] for n in lines), a.id
    assert "7.9平方公里“碳中和”示范区" in text[87]


def test_spec_area_errors():
    spec = load_spec()
    with pytest.raises(SpecError, match=r"areas\[0\]: give exactly one of parent_part_id"):
        parse_areas([{"id": "x", "name_zh": "区", "parent_part_id": "xuancheng", "parent_block_id": "xuancheng"}],
                    parts=spec.parts, blocks=spec.blocks)
    with pytest.raises(SpecError, match="parent_part_id: 'nowhere' is not a part"):
        parse_areas([{"id": "x", "name_zh": "区", "parent_part_id": "nowhere"}], parts=spec.parts, blocks=spec.blocks)
    with pytest.raises(SpecError, match="duplicate id 'xuancheng'"):
        parse_areas([{"id": "xuancheng", "name_zh": "区", "parent_block_id": "xuancheng"}], parts=spec.parts, blocks=spec.blocks)


def test_every_existing_boundaries_file_loads_unchanged_with_areas_without_geometry(tmp_path):
    f = tmp_path / "zone.geojson"
    make_synthetic_boundaries().to_file(f, driver="GeoJSON")
    z = Zone.load(boundaries=f)
    assert list(z.part_ids) == ["xuancheng", "guangde_main", "guangde_west"]
    assert len(z.areas) == 5 and z.areas.geometry.isna().all()
    rep = area_report(z)
    assert [a.status for a in rep.areas] == ["no geometry"] * 5  # listed, never silently absent
    assert rep.ok and any("without geometry" in n and "碳中和示范区" in n for n in rep.notes)


def test_import_check_locate_and_report_an_area(tmp_path, base, capsys):
    src = write(tmp_path / "cn.gpkg", [square(XC, 1405.0), square(XC, 10.0, dx=20000)], ["碳中和示范区", "别的"])
    out = tmp_path / "B.gpkg"
    assert run("boundaries", "import", src, "--area", "carbon_neutral", "--select", "名称=碳中和示范区",
               "--base", base, "--out", out) == 0
    text = capsys.readouterr().out
    assert "area carbon_neutral (碳中和示范区): 7.896 km² (official 7.9 km², -0.05%)" in text
    assert "lies in part xuancheng (from the spec)" in text
    # the parts layer and a separate layer 'areas'
    layers = [str(n) for n, _ in pyogrio.list_layers(out)]
    assert "areas" in layers and len(layers) == 2
    z = Zone.load(boundaries=out)
    assert list(z.part_ids) == ["xuancheng", "guangde_main", "guangde_west"]
    rep = {a.id: a for a in area_report(z).areas}
    assert rep["carbon_neutral"].status == "pass" and rep["carbon_neutral"].measured_km2 == pytest.approx(7.896, abs=1e-3)
    assert rep["carbon_neutral"].outside_m2 == pytest.approx(0.0)
    assert rep["wanling_science_city"].status == "no geometry"
    # the areas command shows the row (and JSON carries it)
    assert run("areas", "--boundaries", out, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    cn = next(a for a in doc["areas"] if a["id"] == "carbon_neutral")
    assert cn["status"] == "pass" and cn["part"] == "xuancheng" and cn["official_km2"] == 7.9
    # locate: the area as well as the part
    assert run("locate", "118.775", "30.915", "--boundaries", out, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["part_id"] == "xuancheng" and doc["area_id"] == "carbon_neutral" and doc["area_name_zh"] == "碳中和示范区"
    assert run("locate", "118.775", "30.915", "--boundaries", out, "--json") == 0  # again: a zone cache never hides the area
    assert json.loads(capsys.readouterr().out)["area_id"] == "carbon_neutral"
    assert run("locate", "118.775", "30.915", "--boundaries", base, "--json") == 0  # no areas layer: the key is there, empty
    assert json.loads(capsys.readouterr().out)["area_id"] is None
    assert run("locate", "118.775", "30.915", "--boundaries", base, "--json") == 0
    assert json.loads(capsys.readouterr().out)["area_id"] is None
    pts = tmp_path / "pts.csv"
    pts.write_text("name,lon,lat\nin,118.775,30.915\nedge,118.79,30.93\nbad,x,y\n", encoding="utf-8")
    assert run("locate", "--input", pts, "--out", tmp_path / "o.csv", "--boundaries", out) == 0
    import pandas as pd

    o = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig")
    assert list(o["xclz_part"].fillna("-")) == ["xuancheng", "xuancheng", "-"]
    assert list(o["xclz_area"].fillna("-")) == ["carbon_neutral", "-", "-"]
    assert run("locate", "--input", pts, "--out", tmp_path / "o.xlsx", "--boundaries", out) == 0
    assert list(pd.read_excel(tmp_path / "o.xlsx")["xclz_area"].fillna("-")) == ["carbon_neutral", "-", "-"]
    # without area geometry there is no xclz_area column
    assert run("locate", "--input", pts, "--out", tmp_path / "o2.csv", "--boundaries", base) == 0
    assert "xclz_area" not in pd.read_csv(tmp_path / "o2.csv", encoding="utf-8-sig").columns
    capsys.readouterr()
    # the report: a row per area, measured where it has geometry, "no geometry" otherwise
    from xclz_geo.outputs.report import build_report

    res = build_report(zone=z, out_dir=tmp_path / "rep")
    t = next(t for t in res.section("areas").tables if t.key == "functional_areas").df.set_index("area_id")
    assert t.loc["carbon_neutral", "status"] == "pass" and t.loc["aerospace_park", "status"] == "no geometry"
    page = res.html_path.read_text(encoding="utf-8")
    table = re.search(r'<table id="functional_areas".*?</table>', page, re.S).group(0)
    assert "碳中和示范区" in table and "7.896" in table and table.count("no geometry") == 4


def test_an_area_leaving_its_part_is_an_error_naming_it(tmp_path, base, capsys):
    half = 2729.47  # the synthetic xuancheng square's half side
    # 0.5 m over the edge: within the 1 m band
    ok = write(tmp_path / "ok.gpkg", [square(XC, 1000.0, dx=half - 1000.0 + 0.5)])
    assert run("boundaries", "import", ok, "--area", "carbon_neutral", "--base", base, "--out", tmp_path / "ok_out.gpkg") == 0
    # 20 m over the edge: 20 m × 2 km = 40,000 m² = 1 % of a 4 km² area
    bad = write(tmp_path / "bad.gpkg", [square(XC, 1000.0, dx=half - 1000.0 + 20.0)])
    capsys.readouterr()
    assert run("boundaries", "import", bad, "--area", "carbon_neutral", "--base", base, "--out", tmp_path / "bad_out.gpkg") == 2
    err = capsys.readouterr().err
    assert "area 'carbon_neutral' (碳中和示范区) leaves its part 'xuancheng'" in err
    m = re.search(r"([\d,]+) m² \(([\d.]+) % of the area\)", err)
    assert m and 36_000 < int(m.group(1).replace(",", "")) < 40_000 and float(m.group(2)) > OUTSIDE_TOLERANCE_PCT
    assert not (tmp_path / "bad_out.gpkg").exists()
    # a file edited by hand so that the area leaves its part: loading it is the same error
    layer = gpd.read_file(tmp_path / "ok_out.gpkg", layer="areas")
    layer = layer.set_geometry(gpd.GeoSeries([square(XC, 1000.0, dx=half)], crs="EPSG:4549").to_crs(layer.crs).values)
    layer.to_file(tmp_path / "ok_out.gpkg", layer="areas", driver="GPKG")
    with pytest.raises(BoundaryError, match="carbon_neutral.*leaves its part"):
        Zone.load(boundaries=tmp_path / "ok_out.gpkg")


def test_block_level_area_gets_its_part_from_the_geometry(tmp_path, base, capsys):
    west = TO_GK.transform(*next(lonlat for pid, *_, lonlat in __import__("conftest").SYNTHETIC_PARTS if pid == "guangde_west"))
    src = write(tmp_path / "t.gpkg", [square(west, 300.0)])
    out = tmp_path / "B.gpkg"
    assert run("boundaries", "import", src, "--area", "auto_testing_town", "--base", base, "--out", out, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["part_id"] == "guangde_west" and doc["part_from"] == "geometry" and doc["official_area_km2"] is None
    rep = {a.id: a for a in area_report(Zone.load(boundaries=out)).areas}
    assert rep["auto_testing_town"].part == "guangde_west" and rep["auto_testing_town"].status == "no official area"
    # an area of 广德 drawn in 宣城 leaves its block: refused
    src2 = write(tmp_path / "t2.gpkg", [square(XC, 300.0)])
    assert run("boundaries", "import", src2, "--area", "aerospace_park", "--base", out, "--out", out) == 2
    assert "leaves its part" in capsys.readouterr().err


def test_importing_a_part_keeps_the_areas(tmp_path, base, capsys):
    out = tmp_path / "B.gpkg"
    assert run("boundaries", "import", write(tmp_path / "cn.gpkg", [square(XC, 1000.0)]), "--area", "carbon_neutral",
               "--base", base, "--out", out) == 0
    # re-import the xuancheng part (same square) into B.gpkg: the area layer stays
    part = tmp_path / "part.gpkg"
    make_synthetic_boundaries(uncertainty_m=0.0).iloc[[0]].to_crs("EPSG:4549")[["geometry"]].to_file(part, driver="GPKG")
    assert run("boundaries", "import", part, "--part", "xuancheng", "--out", out, "--quality", "surveyed") == 0
    z = Zone.load(boundaries=out)
    assert z.parts.set_index("part_id").loc["xuancheng", "quality"] == "surveyed"
    assert z.areas.set_index("area_id").loc["carbon_neutral"].geometry is not None
    assert run("boundaries", "import", part, "--area", "nope", "--base", out, "--out", out) == 2
    assert "area 'nope' is not in the spec; known areas: carbon_neutral" in capsys.readouterr().err
