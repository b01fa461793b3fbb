from __future__ import annotations

import copy
import sys

import pytest

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
