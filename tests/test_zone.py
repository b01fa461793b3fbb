from __future__ import annotations

import copy
import sys

import pytest
from shapely.geometry import box

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo.datasets import spec_path
from xclz_geo.errors import BoundaryError, InputFileError, SpecError
from xclz_geo.boundaries.zone import Zone, area_report, load_spec, parse_spec, validate_boundaries


@pytest.fixture
def spec_data():
    return tomllib.loads(spec_path().read_text(encoding="utf-8"))


def test_bundled_spec_matches_the_plan():
    spec = load_spec()
    assert spec.official_area_km2 == 59.78
    assert [b.id for b in spec.blocks] == ["xuancheng", "guangde"]
    assert [p.id for p in spec.parts] == ["xuancheng", "guangde_main", "guangde_west"]
    assert spec.block("guangde").official_area_km2 == 29.98
    assert spec.part("guangde_main").official_area_km2 == 26.21
    assert spec.part("guangde_west").official_area_km2 == 3.77
    assert spec.source["document_number"] == "宣政秘〔2022〕14号"
    assert spec.source["issued"] == "2022-02-18"
    # the 四至 texts are verbatim substrings of the published plan
    plan = (spec_path().parent.parent / "reference" / "seed_xuancheng_linkage_zone_plan_2022.txt").read_text(encoding="utf-8")
    for p in spec.parts:
        assert p.sizhi_zh.rstrip("。") in plan, p.id
    assert spec.source["implementation_scope_zh"] in plan


def _mutate(data, fn):
    d = copy.deepcopy(data)
    fn(d)
    return d


@pytest.mark.parametrize(
    "mutation,match",
    [
        (lambda d: d["zone"].pop("official_area_km2"), r"\[zone\]: missing field 'official_area_km2'"),
        (lambda d: d["parts"][1].__setitem__("id", "xuancheng"), r"parts\[1\]\.id: duplicate id 'xuancheng'"),
        (lambda d: d["blocks"][1].__setitem__("official_area_km2", -29.98), r"blocks\[1\]\.official_area_km2: must be a positive"),
        (lambda d: d["parts"][2].__setitem__("block_id", "wuhu"), r"parts\[2\]\.block_id: part 'guangde_west' names unknown block 'wuhu'"),
        (lambda d: d["parts"][0].pop("name_zh"), r"parts\[0\]: missing field 'name_zh'"),
        (lambda d: d["parts"][0].__setitem__("official_area_km2", "29.8"), r"parts\[0\]\.official_area_km2: expected a number"),
        (lambda d: d.pop("blocks"), r"missing \[\[blocks\]\]"),
        (lambda d: d["blocks"][0].__setitem__("id", ""), r"blocks\[0\]\.id: must not be empty"),
        (lambda d: d.__setitem__("parts", [p for p in d["parts"] if p["block_id"] != "xuancheng"]), r"block 'xuancheng' has no parts"),
        (lambda d: d["zone"].__setitem__("official_area_km2", float("nan")), r"must be a positive"),
    ],
)
def test_malformed_specs_name_the_field(spec_data, mutation, match):
    with pytest.raises(SpecError, match=match):
        parse_spec(_mutate(spec_data, mutation), path="my_spec.toml")


def test_spec_error_is_value_error_and_names_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[zone\nid = 1", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.toml: not valid TOML"):
        load_spec(bad)
    with pytest.raises(InputFileError, match="cannot read spec file"):
        load_spec(tmp_path / "missing.toml")
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes("[zone]\nname_zh = '宣城'\n".encode("gbk"))
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(gbk)


def test_arithmetic_passes_on_real_spec():
    report = area_report(Zone.from_spec())
    assert report.ok
    names = [c.name for c in report.checks]
    assert any("guangde_main + guangde_west" in n for n in names)
    for c in report.checks:
        assert c.ok is True, c
    assert all(p.status == "no geometry" for p in report.parts)
    assert len(report.parts) == 3  # parts without geometry are reported, not skipped


def test_arithmetic_fails_on_perturbed_spec(spec_data):
    d = _mutate(spec_data, lambda d: d["parts"][2].__setitem__("official_area_km2", 3.70))
    report = area_report(Zone.from_spec(parse_spec(d)))
    assert not report.ok
    failing = [c for c in report.checks if c.ok is False]
    assert len(failing) == 1 and "guangde" in failing[0].name
    assert failing[0].actual == pytest.approx(29.91)
    d2 = _mutate(spec_data, lambda d: d["zone"].__setitem__("official_area_km2", 59.9))
    r2 = area_report(Zone.from_spec(parse_spec(d2)))
    assert [c.ok for c in r2.checks if "zone" in c.name] == [False]


def test_rounding_allowance(spec_data):
    # 26.21 + 3.77 = 29.98 exactly; a block published as 29.99 is within the rounding of three figures
    d = _mutate(spec_data, lambda d: d["blocks"][1].__setitem__("official_area_km2", 29.99))
    d["zone"]["official_area_km2"] = 59.79
    r = area_report(Zone.from_spec(parse_spec(d)))
    assert r.ok
    d["blocks"][1]["official_area_km2"] = 30.02
    assert not area_report(Zone.from_spec(parse_spec(d))).ok


def test_area_report_on_polygons(synthetic_zone):
    report = area_report(synthetic_zone, tolerance_pct=1.0)
    assert report.ok
    for p in report.parts:
        assert p.status == "pass"
        assert p.measured_km2 == pytest.approx(p.official_km2, rel=1e-9)
        # geodesic differs from GK planar by ~0.04% at 118.75E (performance_baselines.md)
        assert 0 < (p.measured_km2 - p.geodesic_km2) / p.geodesic_km2 < 0.001
        assert p.crs == "EPSG:4549" and p.quality == "synthetic"
        assert p.measured_mu == pytest.approx(p.measured_km2 * 1500)
    assert report.quality == "synthetic"
    d = report.to_dict()
    assert d["zone"]["measured_km2"] == pytest.approx(59.78, rel=1e-9)
    assert any("synthetic" in n for n in d["notes"])


def test_area_report_fails_out_of_tolerance(synthetic_boundaries):
    b = synthetic_boundaries.copy()
    b.loc[b["part_id"] == "guangde_west", "official_area_km2"] = 3.5
    report = area_report(Zone.from_boundaries(b, spec=False), tolerance_pct=1.0)
    west = [p for p in report.parts if p.id == "guangde_west"][0]
    assert west.status == "fail"
    assert west.deviation_km2 == pytest.approx(0.27, abs=1e-6)
    assert west.deviation_mu == pytest.approx(405.0, abs=0.01)
    assert west.deviation_pct == pytest.approx(0.27 / 3.5 * 100, rel=1e-6)
    assert not report.ok
    # …but passes with a wide enough tolerance
    assert area_report(Zone.from_boundaries(b, spec=False), tolerance_pct=10.0).ok
    # with the spec attached, the file's 3.5 km² also breaks the declared arithmetic 26.21 + 3.5 ≠ 29.98
    with_spec = area_report(Zone.from_boundaries(b), tolerance_pct=10.0)
    assert [c.ok for c in with_spec.checks if "sum to the block" in c.name] == [False]


def test_parts_missing_from_file_kept_without_geometry(synthetic_boundaries):
    only_west = synthetic_boundaries[synthetic_boundaries["part_id"] == "guangde_west"]
    z = Zone.from_boundaries(only_west)
    assert z.part_ids == ["xuancheng", "guangde_main", "guangde_west"]
    statuses = {p.id: p.status for p in area_report(z).parts}
    assert statuses == {"xuancheng": "no geometry", "guangde_main": "no geometry", "guangde_west": "pass"}


def test_user_zone_without_spec(synthetic_boundaries):
    b = synthetic_boundaries.copy()
    b["part_id"] = ["a", "b", "c"]
    z = Zone.from_boundaries(b)
    assert z.spec is None
    r = area_report(z)
    assert r.zone["name_zh"] is None
    assert all(p.status == "pass" for p in r.parts)


def test_boundaries_validation_errors(synthetic_boundaries):
    b = synthetic_boundaries.copy()
    with pytest.raises(BoundaryError, match="missing column\\(s\\) quality"):
        validate_boundaries(b.drop(columns=["quality"]), source="x.geojson")
    b2 = b.copy()
    b2["quality"] = "guessed"
    with pytest.raises(BoundaryError, match="quality has \\['guessed'\\]"):
        validate_boundaries(b2, source="x.geojson")
    with pytest.raises(BoundaryError, match="no CRS"):
        validate_boundaries(b.set_crs(None, allow_override=True), source="x.geojson")
    b3 = b.copy()
    b3["positional_uncertainty_m"] = float("nan")
    with pytest.raises(BoundaryError, match="no positional_uncertainty_m"):
        validate_boundaries(b3, source="x.geojson")
    b4 = b.copy()
    b4["part_id"] = "same"
    with pytest.raises(BoundaryError, match="more than once"):
        validate_boundaries(b4, source="x.geojson")
    b5 = b.copy()
    b5["quality"] = "official"
    b5["positional_uncertainty_m"] = float("nan")
    assert (validate_boundaries(b5)["positional_uncertainty_m"] == 0).all()


def test_block_mismatch_with_spec(synthetic_boundaries):
    b = synthetic_boundaries.copy()
    b.loc[b["part_id"] == "guangde_west", "block_id"] = "xuancheng"
    with pytest.raises(BoundaryError, match="spec puts it in 'guangde'"):
        Zone.from_boundaries(b)


def test_geometry_hash_changes_with_geometry(synthetic_boundaries):
    z1 = Zone.from_boundaries(synthetic_boundaries)
    z2 = Zone.from_boundaries(synthetic_boundaries.copy())
    assert z1.geometry_hash == z2.geometry_hash
    b = synthetic_boundaries.copy()
    b.loc[0, "geometry"] = b.geometry.iloc[0].buffer(0.001)
    assert Zone.from_boundaries(b).geometry_hash != z1.geometry_hash


def test_schematic_warning(synthetic_zone):
    from xclz_geo.errors import SchematicGeometryWarning

    with pytest.warns(SchematicGeometryWarning, match="synthetic, not official"):
        synthetic_zone.warn_if_schematic()


# ------------------------------------------------------------------ quality per part


def test_describe_quality_single_label_when_all_parts_agree(synthetic_zone):
    from xclz_geo.boundaries.zone import describe_quality, quality_summary

    assert describe_quality(synthetic_zone) == "synthetic"
    s = quality_summary(synthetic_zone)
    assert s["mixed"] is False and s["worst"] == "synthetic"
    assert s["quality_by_part"] == {"xuancheng": "synthetic", "guangde_main": "synthetic", "guangde_west": "synthetic"}


def test_describe_quality_names_the_parts_when_they_differ():
    from conftest import make_mixed_quality_boundaries
    from xclz_geo.boundaries.zone import describe_quality, quality_summary

    z = Zone.from_boundaries(make_mixed_quality_boundaries())
    assert describe_quality(z) == "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic"
    s = quality_summary(z)
    assert s["mixed"] is True and s["worst"] == "schematic"
    assert s["quality_by_part"]["guangde_main"] == "official"
    assert s["groups"][0] == {"quality": "official", "parts": ["guangde_main"], "names_zh": ["广德经开区主园区"]}
    # a part without geometry is named as such
    b = make_mixed_quality_boundaries()
    z2 = Zone.from_boundaries(b[b["part_id"] != "guangde_west"])
    assert describe_quality(z2).endswith("广德经开区西区: no geometry")
    assert quality_summary(z2)["quality_by_part"]["guangde_west"] is None
    assert describe_quality(Zone.from_spec()) == "no geometry"


def test_area_notes_follow_each_parts_own_quality():
    from conftest import make_mixed_quality_boundaries

    r = area_report(Zone.from_boundaries(make_mixed_quality_boundaries()))
    main = next(p for p in r.parts if p.id == "guangde_main")
    assert main.deviation_pct == pytest.approx(34.6, abs=0.05) and main.status == "fail"
    by_construction = [n for n in r.notes if "by construction" in n]
    assert len(by_construction) == 1
    assert by_construction[0].startswith("宣城经开区, 广德经开区西区 (schematic)")
    assert "主园区" not in by_construction[0]
    official = [n for n in r.notes if n.startswith("广德经开区主园区 (official)")]
    assert len(official) == 1 and "+34.6 %" in official[0] and "off the official figure" in official[0]
    d = r.to_dict()
    assert d["quality_by_part"] == {"xuancheng": "schematic", "guangde_main": "official", "guangde_west": "schematic"}
    assert d["quality_label"] == "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic"


def test_schematic_part_that_misses_its_area_is_not_said_to_reproduce_it(synthetic_boundaries):
    from shapely import affinity

    b = synthetic_boundaries.copy()
    b.loc[0, "geometry"] = affinity.scale(b.geometry.iloc[0], 1.2, 1.2)
    r = area_report(Zone.from_boundaries(b))
    assert any(n.startswith("宣城经开区 (synthetic): the geometry does not reproduce the official area") for n in r.notes)
    assert not any("宣城经开区" in n and "by construction" in n for n in r.notes)


def test_area_report_gives_hectares(synthetic_zone):
    p = area_report(synthetic_zone).parts[0]
    assert p.official_ha == pytest.approx(p.official_km2 * 100)
    assert p.measured_ha == pytest.approx(p.measured_km2 * 100)
    assert p.deviation_ha == pytest.approx(p.deviation_km2 * 100)
    assert p.measured_mu == pytest.approx(p.measured_km2 * 1500)


def test_mixed_zone_warning_names_the_parts():
    from conftest import make_mixed_quality_boundaries
    from xclz_geo.errors import SchematicGeometryWarning

    z = Zone.from_boundaries(make_mixed_quality_boundaries())
    with pytest.warns(SchematicGeometryWarning, match="宣城经开区, 广德经开区西区: schematic"):
        z.warn_if_schematic()


# ------------------------------------------------------------------ safe loading of --boundaries


def _bowtie_of(geom):
    from shapely.geometry import Polygon

    x0, y0, x1, y1 = geom.bounds
    return Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def test_bowtie_part_is_refused_naming_the_part(synthetic_boundaries, tmp_path):
    b = synthetic_boundaries.copy()
    b.loc[2, "geometry"] = _bowtie_of(b.geometry.iloc[2])
    with pytest.raises(BoundaryError, match=r"part 'guangde_west' \(广德经开区西区\) is not a valid polygon.*100\.00 %"):
        Zone.from_boundaries(b)
    f = tmp_path / "bow.geojson"
    b.to_file(f, engine="pyogrio")
    with pytest.raises(BoundaryError, match="guangde_west"):
        Zone.load(boundaries=f)


def test_slightly_invalid_part_is_repaired_with_a_warning_naming_the_change(synthetic_boundaries):
    from shapely.geometry import Polygon

    from xclz_geo.errors import GeometryRepairWarning

    b = synthetic_boundaries.copy()
    x0, y0, x1, y1 = b.geometry.iloc[2].bounds
    e = (x1 - x0) * 0.001  # a tiny loop at one corner
    b.loc[2, "geometry"] = Polygon([(x0, y0), (x1, y0), (x1, y1), (x0 + e, y1), (x0 - e, y1 - e), (x0 - e, y1), (x0, y1 - e)])
    assert not b.geometry.iloc[2].is_valid
    with pytest.warns(GeometryRepairWarning, match=r"part 'guangde_west' .*make_valid changes its area from [0-9.]+ to [0-9.]+ km²"):
        z = Zone.from_boundaries(b)
    g = z.parts.geometry.iloc[2]
    assert g.is_valid and g.geom_type in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize("geom, words", [
    (box(119.3, 94.9, 119.4, 95.0), "latitude 94.9…95° is beyond ±90°"),
    (box(2.30, 48.80, 2.40, 48.90), "outside the area of use"),
])
def test_part_outside_the_crs_or_china_is_refused(synthetic_boundaries, geom, words):
    b = synthetic_boundaries.copy()
    b.loc[1, "geometry"] = geom
    with pytest.raises(BoundaryError, match=r"part 'guangde_main' \(广德经开区主园区\): ") as ei:
        Zone.from_boundaries(b)
    assert words in str(ei.value)


def test_part_outside_china_in_a_world_crs_is_refused(synthetic_boundaries):
    b = synthetic_boundaries.to_crs("EPSG:4326")
    b.loc[1, "geometry"] = box(2.30, 48.80, 2.40, 48.90)
    with pytest.raises(BoundaryError, match="guangde_main.*is outside China"):
        Zone.from_boundaries(b)


def test_duplicate_names_and_ids_are_refused_naming_them(synthetic_boundaries):
    b = synthetic_boundaries.copy()
    b["name_zh"] = ["园区", "园区", "西区"]
    with pytest.raises(BoundaryError, match="duplicate name_zh: '园区' is used by parts xuancheng, guangde_main"):
        validate_boundaries(b, source="x.geojson")
    b2 = synthetic_boundaries.copy()
    b2["part_id"] = ["a", "b", "a"]
    with pytest.raises(BoundaryError, match="part_id 'a' appears more than once"):
        validate_boundaries(b2, source="x.geojson")


def test_boundaries_read_from_geoparquet(synthetic_boundaries, tmp_path):
    f = tmp_path / "zone.parquet"
    synthetic_boundaries.to_parquet(f)
    z = Zone.load(boundaries=f)
    assert z.part_ids == ["xuancheng", "guangde_main", "guangde_west"]
    assert z.boundaries_source == str(f)


@pytest.mark.parametrize("name", ["EPSG::999999", "urn:ogc:def:crs:EPSG::999999", "gibberish"])
def test_unknown_declared_crs_is_refused_not_read_as_wgs84(synthetic_boundaries, tmp_path, name):
    import json

    from xclz_geo.errors import CRSError

    doc = json.loads(synthetic_boundaries.to_json())
    doc["crs"] = {"type": "name", "properties": {"name": name}}
    f = tmp_path / "zone.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CRSError, match=f"{f}: the GeoJSON declares the CRS {name}, which is not a known CRS"):
        Zone.load(boundaries=f)


def test_declared_crs_that_gdal_does_not_know_is_used_and_a_known_one_passes(synthetic_boundaries, tmp_path):
    import json

    doc = json.loads(synthetic_boundaries.to_json())
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    f = tmp_path / "zone.geojson"
    f.write_text(json.dumps(doc), encoding="utf-8")
    z = Zone.load(boundaries=f)
    assert z.crs.to_epsg() == 4490


def test_unreadable_prj_is_refused(tmp_path):
    import geopandas as gpd

    from xclz_geo.errors import CRSError
    from xclz_geo.io import read_vector

    f = tmp_path / "red.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(119.3, 30.8, 119.4, 30.9)], crs="EPSG:4490").to_file(f, engine="pyogrio")
    f.with_suffix(".prj").write_text("not a crs at all", encoding="utf-8")
    with pytest.raises(CRSError, match=r"red\.shp: its \.prj \(not a crs at all\) is not a CRS"):
        read_vector(f)


def test_multilayer_geopackage_boundaries_take_the_schema_layer_or_ask(synthetic_boundaries, tmp_path):
    f = tmp_path / "zone.gpkg"
    synthetic_boundaries.to_file(f, layer="parts", engine="pyogrio")
    synthetic_boundaries[["geometry"]].to_file(f, layer="outline", engine="pyogrio")
    z = Zone.load(boundaries=f)
    assert z.part_ids == ["xuancheng", "guangde_main", "guangde_west"]
    synthetic_boundaries.to_file(f, layer="parts_v2", engine="pyogrio")
    with pytest.raises(BoundaryError, match=r"3 layers \(parts, outline, parts_v2\), 2 in the boundaries schema.*--boundaries-layer"):
        Zone.load(boundaries=f)
    assert Zone.load(boundaries=f, layer="parts_v2").part_ids == ["xuancheng", "guangde_main", "guangde_west"]


# ------------------------------------------------------------------ many zones in one file


def _two_zones(synthetic_boundaries):
    """The synthetic rectangles as two zones: Z1 holds xuancheng, Z2 the two guangde parts (same names allowed across zones)."""
    g = synthetic_boundaries.copy()
    g["zone_id"] = ["Z1", "Z2", "Z2"]
    g["zone_name_zh"] = ["甲开发区", "乙开发区", None]
    g["part_id"] = ["Z1_main", "Z2_main", "Z2_west"]
    g["block_id"] = ["Z1_b", "Z2_b", "Z2_b"]
    g["name_zh"] = ["主园区", "主园区", "西区"]
    g["official_area_km2"] = [None, 26.21, None]
    return g


def test_many_zones_in_one_file_load_without_a_spec(synthetic_boundaries):
    zone = Zone.from_boundaries(_two_zones(synthetic_boundaries))
    assert zone.spec is None and zone.zone_count == 2
    assert zone.zone_ids == ["Z1", "Z2", "Z2"]
    assert list(zone.parts["zone_name_zh"]) == ["甲开发区", "乙开发区", "Z2"]  # defaults to the zone id
    rep = area_report(zone)
    status = {p.id: p.status for p in rep.parts}
    assert status["Z1_main"] == status["Z2_west"] == "no official area"
    assert status["Z2_main"] in ("pass", "fail")


def test_zone_ids_name_every_result(synthetic_boundaries):
    from xclz_geo.geo.locate import locate

    zone = Zone.from_boundaries(_two_zones(synthetic_boundaries))
    b = zone.parts.geometry.iloc[1].representative_point()
    out = locate(zone, [(b.x, b.y), (0.0, 0.0)], with_distance=False)
    assert list(out.columns[:4]) == ["status", "zone_id", "block_id", "part_id"]
    assert out.iloc[0][["zone_id", "block_id", "part_id"]].tolist() == ["Z2", "Z2_b", "Z2_main"]
    assert out.iloc[1]["zone_id"] is None or out.iloc[1]["zone_id"] != out.iloc[1]["zone_id"]  # None or NaN
    # a file without zone_id: the spec's zone id, or empty for a planner's own zone without a spec
    assert set(Zone.from_boundaries(synthetic_boundaries).zone_ids) == {"xclz"}
    assert set(Zone.from_boundaries(synthetic_boundaries, spec=False).zone_ids) == {""}


@pytest.mark.parametrize("change, words", [
    (lambda g: g.assign(zone_id=["Z1", None, "Z2"]), "has no zone_id"),
    (lambda g: g.assign(block_id=["Z1_b", "Z2_b", "Z1_b"]), "block_id 'Z1_b' appears in zones Z1, Z2"),
    (lambda g: g.assign(name_zh=["主园区", "西区", "西区"]), "'西区' is used by parts Z2_main, Z2_west (zone 'Z2')"),
])
def test_many_zone_files_refused_naming_the_fault(synthetic_boundaries, change, words):
    with pytest.raises(BoundaryError, match=words.replace("(", r"\(").replace(")", r"\)")):
        validate_boundaries(change(_two_zones(synthetic_boundaries)))
