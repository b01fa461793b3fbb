"""Importing official boundary files (xclz_geo.boundaries.importing, ``xclz-geo boundaries import``).

Every fixture is built inside the test: small synthetic red lines near the 广德 main park,
written as a GBK Shapefile, a DXF in zone-prefixed Gauss-Krüger metres without a CRS, a
GeoPackage in EPSG:4490 and so on. The expected polygons are built independently in
EPSG:4549 with shapely, and the imported result is compared with them.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box

from xclz_geo.geo import crs as xcrs
from xclz_geo.boundaries.importing import detect_crs, import_boundaries, merge_boundaries, write_boundaries
from xclz_geo.cli.main import main
from xclz_geo.errors import (
    BoundaryError,
    CRSError,
    CRSMismatchError,
    DataQualityWarning,
    GeometryRepairWarning,
    InputFileError,
    XclzGeoError,
)
from xclz_geo.boundaries.zone import Zone, area_report, read_boundaries

#: a point near the 广德 main park in EPSG:4549 (synthetic test geometry, not a boundary)
X0, Y0 = 447_000.0, 3_418_500.0


def _to_gk(geom):
    t = xcrs.transformer("EPSG:4490", "EPSG:4549")
    return shapely.transform(geom, lambda xy: __import__("numpy").column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _last_json(text: str) -> dict:
    """The JSON object printed last (the first command's text output comes before it)."""
    return json.loads(text[text.index("\n{") + 1:] if not text.startswith("{") else text)


def _gpkg(tmp_path, geom, name="declared.gpkg"):
    path = tmp_path / name
    gpd.GeoDataFrame(geometry=[geom], crs="EPSG:4549").to_file(path, engine="pyogrio")
    return path


def _iou(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


def _two_adjacent_boxes():
    """Two adjacent rectangles (4 km² + 2 km²) whose union is an L-free 3 km × 2 km block."""
    a = box(X0, Y0, X0 + 2000, Y0 + 2000)
    b = box(X0 + 2000, Y0, X0 + 3000, Y0 + 2000)
    return a, b


# ------------------------------------------------------------------ formats


def test_gbk_shapefile_without_cpg_selects_by_chinese_attribute_and_dissolves(tmp_path):
    a, b = _two_adjacent_boxes()
    other = box(X0 - 6000, Y0, X0 - 5000, Y0 + 1000)
    gdf = gpd.GeoDataFrame({"名称": ["主园区", "主园区", "西区"], "备注": ["一期", "二期", "其他"]},
                           geometry=[a, b, other], crs="EPSG:4549")
    shp = tmp_path / "红线.shp"
    gdf.to_file(shp, engine="pyogrio", encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # as many CAD/GIS exports: no declared encoding
    assert "主园区".encode("gbk") in shp.with_suffix(".dbf").read_bytes()

    res = import_boundaries(shp, part_id="guangde_main", select={"名称": "主园区"})
    assert res.n_features == 2 and res.n_polygons == 2
    assert res.crs_origin == "declared" and res.source_crs == "EPSG:4549"
    got = _to_gk(res.boundaries.geometry.iloc[0])
    assert got.geom_type == "Polygon"  # the two pieces were dissolved into one
    assert _iou(got, a.union(b)) > 0.9999
    assert res.area_km2 == pytest.approx(6.0, rel=1e-4)
    row = res.boundaries.iloc[0]
    assert (row["quality"], row["positional_uncertainty_m"], row["block_id"]) == ("official", 0.0, "guangde")
    assert row["official_area_km2"] == 26.21 and row["name_zh"] == "广德经开区主园区"

    res_gbk = import_boundaries(shp, part_id="guangde_main", encoding="gbk", where="\"名称\" = '西区'")
    assert res_gbk.n_features == 1 and res_gbk.area_km2 == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(BoundaryError, match="values found: 主园区, 西区"):
        import_boundaries(shp, part_id="guangde_main", select={"名称": "东区"})


def _write_dxf(path, rings, *, layer="红线", extra=True):
    import ezdxf

    doc = ezdxf.new()
    doc.layers.add(layer)
    msp = doc.modelspace()
    for ring in rings:
        msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": layer})
    if extra:  # annotation a real drawing carries: text and an open line on another layer
        doc.layers.add("标注")
        msp.add_text("广德经开区", dxfattribs={"layer": "标注"}).set_placement(rings[0][0])
        msp.add_line(rings[0][0], rings[0][2], dxfattribs={"layer": "标注"})
    doc.saveas(path)


def test_dxf_zone_prefixed_gauss_kruger_without_crs_is_detected_and_stated(tmp_path):
    a, b = _two_adjacent_boxes()
    prefix = 40_000_000.0
    rings = [[(x + prefix, y) for x, y in list(g.exterior.coords)[:-1]] for g in (a, b)]
    dxf = tmp_path / "zhuyuanqu.dxf"
    _write_dxf(dxf, rings)

    res = import_boundaries(dxf, part_id="guangde_main", select={"Layer": "红线"})
    assert res.crs_origin == "detected"
    assert res.source_crs == "EPSG:4528"
    assert "EPSG:4528" in res.crs_note and "zone number 40" in res.crs_note
    assert res.n_polygons == 2
    assert _iou(_to_gk(res.boundaries.geometry.iloc[0]), a.union(b)) > 0.9999

    # without the layer filter the open annotation line and the text are ignored, not fatal
    res_all = import_boundaries(dxf, part_id="guangde_main")
    assert any("ignored" in n or "open line" in n for n in res_all.notes)


def test_cli_states_the_detected_crs(tmp_path, capsys):
    a, _ = _two_adjacent_boxes()
    dxf = tmp_path / "west.dxf"
    _write_dxf(dxf, [[(x + 40_000_000.0, y) for x, y in list(a.exterior.coords)[:-1]]], extra=False)
    out = tmp_path / "zone.geojson"
    rc = main(["boundaries", "import", str(dxf), "--part", "guangde_west", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "EPSG:4528" in text and "detected" in text
    written = read_boundaries(out)
    assert list(written["part_id"]) == ["guangde_west"]
    assert written.crs.to_epsg() == 4490


def test_geopackage_in_cgcs2000_geographic(tmp_path):
    a, b = _two_adjacent_boxes()
    far = box(X0 + 5000, Y0 + 3000, X0 + 6000, Y0 + 4000)  # a separate piece of the same part
    gk = gpd.GeoDataFrame({"名称": ["主园区"] * 2}, geometry=[a.union(b), far], crs="EPSG:4549")
    gpkg = tmp_path / "redline.gpkg"
    gk.to_crs("EPSG:4490").to_file(gpkg, layer="红线范围", engine="pyogrio")

    res = import_boundaries(gpkg, part_id="guangde_main", layer="红线范围")
    assert res.source_crs == "EPSG:4490" and res.crs_origin == "declared"
    geom = res.boundaries.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2  # several polygons, one row
    assert len(res.boundaries) == 1
    assert _iou(_to_gk(geom), a.union(b).union(far)) > 0.9999
    assert res.area_km2 == pytest.approx(7.0, rel=1e-3)


def test_self_intersecting_ring_is_repaired_with_a_warning_saying_where(tmp_path):
    # a bow-tie: the ring crosses itself at (X0 + 1000, Y0 + 1000)
    bowtie = Polygon([(X0, Y0), (X0 + 2000, Y0 + 2000), (X0 + 2000, Y0), (X0, Y0 + 2000)])
    assert not bowtie.is_valid
    src = tmp_path / "bowtie.geojson"
    gpd.GeoDataFrame({"name": ["red line"]}, geometry=[bowtie], crs="EPSG:4549").to_file(src, engine="pyogrio")
    with pytest.warns(GeometryRepairWarning) as rec:
        res = import_boundaries(src, part_id="guangde_main")
    msg = str(rec[0].message)
    assert "Self-intersection" in msg and "feature #0" in msg
    assert "x=448,000.00 m, y=3,419,500.00 m" in msg
    lon, lat = xcrs.transformer("EPSG:4549", "EPSG:4490").transform(X0 + 1000, Y0 + 1000)
    assert f"{lon:.6f}°E" in msg and f"{lat:.6f}°N" in msg
    geom = res.boundaries.geometry.iloc[0]
    assert geom.is_valid
    # both triangles survive the repair: 2 × 1 km²
    assert res.area_km2 == pytest.approx(2.0, rel=1e-3)
    assert res.repairs == [msg]


def test_coordinates_that_fit_no_chinese_crs_raise_a_clear_error(tmp_path):
    dxf = tmp_path / "local.dxf"
    _write_dxf(dxf, [[(100, 100), (900, 100), (900, 700), (100, 700)]], extra=False)
    with pytest.raises(CRSError, match="fit no Chinese CRS") as ei:
        import_boundaries(dxf, part_id="guangde_main")
    assert "--crs" in str(ei.value) and str(dxf) in str(ei.value)

    # a declared CRS that puts the polygon outside China is refused too
    paris = tmp_path / "paris.geojson"
    gpd.GeoDataFrame(geometry=[box(2.30, 48.80, 2.40, 48.90)], crs="EPSG:4326").to_file(paris, engine="pyogrio")
    with pytest.raises(CRSError, match="outside China"):
        import_boundaries(paris, part_id="guangde_main")


def test_cli_error_is_one_line_and_exit_2(tmp_path, capsys):
    dxf = tmp_path / "local.dxf"
    _write_dxf(dxf, [[(100, 100), (900, 100), (900, 700), (100, 700)]], extra=False)
    rc = main(["boundaries", "import", str(dxf), "--part", "guangde_main", "--out", str(tmp_path / "o.geojson")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "fit no Chinese CRS" in err
    assert not (tmp_path / "o.geojson").exists()


def test_geojson_in_prefixed_gauss_kruger_without_crs_member(tmp_path):
    a, _ = _two_adjacent_boxes()
    ring = [[x + 40_000_000.0, y] for x, y in a.exterior.coords]
    src = tmp_path / "cad_export.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    res = import_boundaries(src, part_id="guangde_main")
    assert res.source_crs == "EPSG:4528" and "no crs member" in res.crs_note
    assert _iou(_to_gk(res.boundaries.geometry.iloc[0]), a) > 0.9999
    assert import_boundaries(src, part_id="guangde_main", crs="EPSG:4528").crs_origin == "given"
    with pytest.raises(CRSMismatchError):
        import_boundaries(_gpkg(tmp_path, a), part_id="guangde_main", crs="EPSG:4528")


# ------------------------------------------------------------------ CRS detection


@pytest.mark.parametrize(
    ("bounds", "epsg", "words"),
    [
        ((119.40, 30.85, 119.50, 30.95), 4490, "lon/lat"),
        ((40_447_000.0, 3_418_000.0, 40_450_000.0, 3_421_000.0), 4528, "zone number 40"),
        ((39_447_000.0, 3_418_000.0, 39_450_000.0, 3_421_000.0), 4527, "zone number 39"),
    ],
)
def test_detect_crs_from_magnitude(bounds, epsg, words):
    crs, note = detect_crs(bounds)
    assert crs.to_epsg() == epsg and words in note and "detected" in note


def test_detect_crs_unprefixed_easting_takes_the_zone_of_the_county_and_says_so():
    crs, note = detect_crs((447_000.0, 3_418_000.0, 450_000.0, 3_421_000.0), expected_lon=119.4,
                           expected_where="广德市 (341882)")
    assert crs.to_epsg() == 4549 and "assumed" in note and "广德市" in note and "--crs" in note
    with pytest.raises(CRSError, match="zone prefix"):
        detect_crs((447_000.0, 3_418_000.0, 450_000.0, 3_421_000.0))


def test_detect_crs_swapped_axes():
    with pytest.raises(CRSError, match="swapped"):
        detect_crs((30.85, 119.40, 30.95, 119.50))
    with pytest.raises(CRSError, match="swapped"):
        detect_crs((3_418_000.0, 447_000.0, 3_421_000.0, 450_000.0))


def test_unprefixed_gk_file_without_crs_uses_the_parts_county_zone(tmp_path):
    a, _ = _two_adjacent_boxes()
    dxf = tmp_path / "plain_gk.dxf"
    _write_dxf(dxf, [list(a.exterior.coords)[:-1]], extra=False)
    res = import_boundaries(dxf, part_id="guangde_main")
    assert res.source_crs == "EPSG:4549" and "广德市" in res.crs_note
    assert _iou(_to_gk(res.boundaries.geometry.iloc[0]), a) > 0.9999


# ------------------------------------------------------------------ options and checks


def test_gcj02_outline_is_shifted_to_wgs84(tmp_path):
    a, _ = _two_adjacent_boxes()
    wgs = gpd.GeoSeries([a], crs="EPSG:4549").to_crs("EPSG:4326").iloc[0]
    gcj = xcrs.convert_geometry_datum(wgs, from_datum="wgs84", to_datum="gcj02")
    src = tmp_path / "amap.geojson"
    gpd.GeoDataFrame(geometry=[gcj], crs="EPSG:4326").to_file(src, engine="pyogrio")
    plain = import_boundaries(src, part_id="guangde_main")
    shifted = import_boundaries(src, part_id="guangde_main", datum="gcj02")
    assert _iou(_to_gk(shifted.boundaries.geometry.iloc[0]), a) > 0.999
    assert _iou(_to_gk(plain.boundaries.geometry.iloc[0]), a) < 0.9  # the GCJ offset is hundreds of metres


def test_part_outside_its_county_warns(tmp_path):
    far = box(300_000, 3_400_000, 302_000, 3_402_000)  # in 泾县, not 广德市
    src = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame(geometry=[far], crs="EPSG:4549").to_file(src, engine="pyogrio")
    with pytest.warns(DataQualityWarning, match="广德市"):
        import_boundaries(src, part_id="guangde_main")


def test_unknown_part_needs_a_block_and_other_labels_need_an_uncertainty(tmp_path):
    a, _ = _two_adjacent_boxes()
    src = tmp_path / "a.gpkg"
    gpd.GeoDataFrame(geometry=[a], crs="EPSG:4549").to_file(src, engine="pyogrio")
    with pytest.raises(BoundaryError, match="not in the zone spec"):
        import_boundaries(src, part_id="new_park")
    res = import_boundaries(src, part_id="new_park", block_id="guangde", name_zh="新园区")
    assert res.boundaries.iloc[0]["name_zh"] == "新园区" and res.official_area_km2 is None
    with pytest.raises(BoundaryError, match="uncertainty"):
        import_boundaries(src, part_id="guangde_main", quality="osm")
    res = import_boundaries(src, part_id="guangde_main", quality="surveyed", uncertainty_m=5.0)
    assert res.boundaries.iloc[0]["positional_uncertainty_m"] == 5.0


def test_file_without_polygons_and_missing_file(tmp_path):
    src = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 10, Y0 + 10)])], crs="EPSG:4549").to_file(
        src, engine="pyogrio")
    with pytest.raises(BoundaryError, match="no polygon or closed line"):
        import_boundaries(src, part_id="guangde_main")
    with pytest.raises(InputFileError):
        import_boundaries(tmp_path / "nope.shp", part_id="guangde_main")


def test_open_lines_that_close_a_ring_are_polygonised(tmp_path):
    a, _ = _two_adjacent_boxes()
    c = list(a.exterior.coords)
    lines = [shapely.LineString(c[0:3]), shapely.LineString(c[2:5])]  # two open halves of the ring
    src = tmp_path / "halves.geojson"
    gpd.GeoDataFrame(geometry=lines, crs="EPSG:4549").to_file(src, engine="pyogrio")
    res = import_boundaries(src, part_id="guangde_main")
    assert _iou(_to_gk(res.boundaries.geometry.iloc[0]), a) > 0.9999
    assert any("polygonised" in n for n in res.notes)


# ------------------------------------------------------------------ merging


def test_merge_replaces_one_part_and_keeps_the_others(synthetic_boundaries, tmp_path):
    a, _ = _two_adjacent_boxes()
    src = tmp_path / "main.gpkg"
    gpd.GeoDataFrame(geometry=[a], crs="EPSG:4549").to_file(src, engine="pyogrio")
    new = import_boundaries(src, part_id="guangde_main").boundaries
    merged = merge_boundaries(synthetic_boundaries, new)
    assert list(merged["part_id"]) == ["xuancheng", "guangde_main", "guangde_west"]  # spec order
    q = dict(zip(merged["part_id"], merged["quality"]))
    assert q == {"xuancheng": "synthetic", "guangde_main": "official", "guangde_west": "synthetic"}
    kept = merged.set_index("part_id").geometry
    orig = synthetic_boundaries.set_index("part_id").geometry
    assert kept["xuancheng"].equals_exact(orig["xuancheng"], 1e-9)
    assert _iou(_to_gk(kept["guangde_main"]), a) > 0.9999


def test_cli_replaces_parts_one_at_a_time_and_areas_reads_the_result(synthetic_boundaries, tmp_path, capsys):
    base = tmp_path / "base.geojson"
    write_boundaries(synthetic_boundaries, base)
    a, b = _two_adjacent_boxes()
    f1, f2 = tmp_path / "main.gpkg", tmp_path / "west.gpkg"
    gpd.GeoDataFrame(geometry=[a], crs="EPSG:4549").to_file(f1, engine="pyogrio")
    gpd.GeoDataFrame(geometry=[b], crs="EPSG:4549").to_file(f2, engine="pyogrio")
    out = tmp_path / "mine.gpkg"
    assert main(["boundaries", "import", str(f1), "--part", "guangde_main", "--base", str(base), "--out", str(out)]) == 0
    # second import merges into the existing OUT
    assert main(["boundaries", "import", str(f2), "--part", "guangde_west", "--out", str(out), "--json"]) == 0
    info = _last_json(capsys.readouterr().out)
    assert info["part_id"] == "guangde_west" and info["base"] == str(out)
    merged = read_boundaries(out)
    assert dict(zip(merged["part_id"], merged["quality"])) == {
        "xuancheng": "synthetic", "guangde_main": "official", "guangde_west": "official"}
    zone = Zone.load(boundaries=out)
    rep = area_report(zone)
    areas = {p.id: p.measured_km2 for p in rep.parts}
    assert areas["guangde_main"] == pytest.approx(4.0, rel=1e-4)
    assert areas["guangde_west"] == pytest.approx(2.0, rel=1e-4)
    # --only writes this part alone
    assert main(["boundaries", "import", str(f1), "--part", "guangde_main", "--only", "--out", str(out)]) == 0
    assert list(read_boundaries(out)["part_id"]) == ["guangde_main"]


def test_cli_json_output(tmp_path, capsys):
    a, _ = _two_adjacent_boxes()
    src = tmp_path / "main.gpkg"
    gpd.GeoDataFrame(geometry=[a], crs="EPSG:4549").to_file(src, engine="pyogrio")
    out = tmp_path / "o.geojson"
    rc = main(["boundaries", "import", str(src), "--part", "guangde_main", "--out", str(out), "--json",
               "--uncertainty-m", "2"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert data["part_id"] == "guangde_main" and data["source_crs"] == "EPSG:4549"
    assert data["positional_uncertainty_m"] == 2.0 and data["quality"] == "official"
    assert data["area_km2"] == pytest.approx(4.0, rel=1e-4)
    assert data["parts_in_out"] == [{"part_id": "guangde_main", "quality": "official", "replaced": True}]


def test_errors_are_xclz_errors():
    assert issubclass(CRSError, XclzGeoError) and issubclass(BoundaryError, ValueError)


# ------------------------------------------------------------------ layers: imports say what they take


def _shoelace_m2(ring):
    pts = list(ring)
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1]))) / 2


#: a red line (an irregular quadrilateral) and a larger topography outline around it, GK zone 40 with the
#: zone number in the easting (synthetic, near the 广德 main park)
RED = [(40_000_000.0 + X0, Y0), (40_000_000.0 + X0 + 3000, Y0 + 150), (40_000_000.0 + X0 + 3400, Y0 + 2600),
       (40_000_000.0 + X0 - 200, Y0 + 2100)]
TOPO = [(40_000_000.0 + X0 - 800, Y0 - 700), (40_000_000.0 + X0 + 4200, Y0 - 700),
        (40_000_000.0 + X0 + 4200, Y0 + 3300), (40_000_000.0 + X0 - 800, Y0 + 3300)]


def _two_layer_dxf(path):
    """DXF with closed LWPOLYLINEs on 红线 and 地形 (no .prj); returns the handles (red, topo)."""
    import ezdxf

    doc = ezdxf.new("R2010")
    doc.layers.add("红线")
    doc.layers.add("地形")
    msp = doc.modelspace()
    red = msp.add_lwpolyline(RED, close=True, dxfattribs={"layer": "红线"})
    topo = msp.add_lwpolyline(TOPO, close=True, dxfattribs={"layer": "地形"})
    msp.add_text("广德经开区", dxfattribs={"layer": "标注"}).set_placement(RED[0])
    doc.saveas(path)
    return red.dxf.handle, topo.dxf.handle


def test_dxf_with_two_closed_layers_is_refused_without_select(tmp_path, capsys):
    from xclz_geo.boundaries.importing import LayerChoiceError

    dxf = tmp_path / "红线.dxf"
    _two_layer_dxf(dxf)
    with pytest.raises(LayerChoiceError) as ei:
        import_boundaries(dxf, part_id="guangde_main")
    assert {la.name for la in ei.value.listing.candidates} == {"红线", "地形"}

    out = tmp_path / "zone.geojson"
    rc = main(["boundaries", "import", str(dxf), "--part", "guangde_main", "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 2 and not out.exists()
    last = cap.err.strip().splitlines()[-1]
    assert last.startswith("xclz-geo: error: ") and "红线" in last and "地形" in last
    assert "--select Layer=红线" in last
    # the list: layer, closed entity count and area (km², in the detected zone-prefixed GK CRS)
    assert "EPSG:4528" in cap.err
    red_km2 = _shoelace_m2(RED) / 1e6
    topo_km2 = _shoelace_m2(TOPO) / 1e6
    row = next(line for line in cap.err.splitlines() if line.strip().startswith("红线"))
    assert row.split()[1] == "1" and f"{red_km2:.4f}" in row
    row = next(line for line in cap.err.splitlines() if line.strip().startswith("地形"))
    assert row.split()[1] == "1" and f"{topo_km2:.4f}" in row
    assert "add one of: --select Layer=红线 | --select Layer=地形" in cap.err


def test_dxf_select_layer_gives_the_red_lines_exact_area_and_names_it(tmp_path, capsys):
    dxf = tmp_path / "红线.dxf"
    red_handle, topo_handle = _two_layer_dxf(dxf)
    out = tmp_path / "zone.geojson"
    rc = main(["boundaries", "import", str(dxf), "--part", "guangde_main", "--out", str(out),
               "--select", "Layer=红线", "--only", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0
    # the planar area of the red line in its own GK zone, exactly (the detour through lon/lat is sub-millimetre)
    assert info["area_km2"] == pytest.approx(_shoelace_m2(RED) / 1e6, rel=1e-9)
    assert info["layer_field"] == "Layer" and info["layers"] == ["红线"]
    assert info["entity_handles"] == [red_handle] and topo_handle not in info["entity_handles"]
    written = read_boundaries(out)
    assert written["source_layers"].iloc[0] == "红线"
    assert written["source_entities"].iloc[0] == red_handle
    assert f"CAD layer 红线, entity {red_handle}" in written["source"].iloc[0]


def test_dxf_both_layers_only_when_asked_for(tmp_path):
    dxf = tmp_path / "红线.dxf"
    _two_layer_dxf(dxf)
    res = import_boundaries(dxf, part_id="guangde_main", select={"Layer": ["红线", "地形"]})
    assert res.layers_used == ["红线", "地形"]
    assert res.area_km2 == pytest.approx(_shoelace_m2(TOPO) / 1e6, rel=1e-9)  # the topography contains the red line


def test_single_closed_layer_is_used_and_the_others_named(tmp_path):
    a, _ = _two_adjacent_boxes()
    dxf = tmp_path / "one.dxf"
    _write_dxf(dxf, [[(x + 40_000_000.0, y) for x, y in list(a.exterior.coords)[:-1]]])
    res = import_boundaries(dxf, part_id="guangde_main")
    assert res.layers_used == ["红线"]
    assert any("used CAD layer '红线'" in n and "标注" in n for n in res.notes)
    assert res.area_km2 == pytest.approx(4.0, rel=1e-9)


def test_boundaries_layers_lists_without_importing(tmp_path, capsys):
    dxf = tmp_path / "红线.dxf"
    red_handle, topo_handle = _two_layer_dxf(dxf)
    rc = main(["boundaries", "layers", str(dxf), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["layer_field"] == "Layer" and doc["area_crs"] == "EPSG:4528"
    layers = {la["name"]: la for la in doc["layers"]}
    assert set(layers) == {"红线", "地形", "标注"}
    assert layers["红线"]["entities"] == [{"handle": red_handle, "area_km2": pytest.approx(_shoelace_m2(RED) / 1e6, rel=1e-12)}]
    assert layers["地形"]["entities"][0]["handle"] == topo_handle
    assert layers["标注"]["candidate"] is False and layers["标注"]["other"] == 1
    assert doc["select_options"]["红线"] == "--select Layer=红线"
    rc = main(["boundaries", "import", str(dxf), "--list"])
    text = capsys.readouterr().out
    assert rc == 0 and f"handle {red_handle}:" in text and "3 CAD layers" in text
    assert not list(tmp_path.glob("*.geojson"))


def _two_layer_gpkg(tmp_path):
    a, b = _two_adjacent_boxes()
    path = tmp_path / "规划.gpkg"
    gpd.GeoDataFrame({"名称": ["主园区"]}, geometry=[a], crs="EPSG:4549").to_file(path, layer="红线", engine="pyogrio")
    gpd.GeoDataFrame({"名称": ["地形"]}, geometry=[a.union(b).buffer(500)], crs="EPSG:4549").to_file(
        path, layer="地形", engine="pyogrio", append=False)
    return path, a


def test_multilayer_geopackage_needs_layer(tmp_path, capsys):
    from xclz_geo.boundaries.importing import LayerChoiceError, list_layers

    path, a = _two_layer_gpkg(tmp_path)
    listing = list_layers(path)
    assert listing.kind == "file" and [la.name for la in listing.layers] == ["红线", "地形"]
    assert [la.n_features for la in listing.layers] == [1, 1]
    assert listing.layers[0].area_km2 == pytest.approx(4.0, rel=1e-9)
    with pytest.raises(LayerChoiceError, match="--layer 红线"):
        import_boundaries(path, part_id="guangde_main")
    out = tmp_path / "zone.geojson"
    rc = main(["boundaries", "import", str(path), "--part", "guangde_main", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "红线" in err.splitlines()[-1] and "地形" in err.splitlines()[-1] and not out.exists()

    rc = main(["boundaries", "import", str(path), "--part", "guangde_main", "--out", str(out), "--layer", "红线", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["layers"] == ["红线"] and info["layer_field"] is None
    assert info["area_km2"] == pytest.approx(4.0, rel=1e-9)
    assert "layer 红线" in read_boundaries(out).set_index("part_id").loc["guangde_main", "source"]


def test_import_refuses_an_unknown_declared_crs(tmp_path, capsys):
    a, _ = _two_adjacent_boxes()
    doc = json.loads(gpd.GeoDataFrame(geometry=[a], crs="EPSG:4549").to_crs("EPSG:4490").to_json())
    doc["crs"] = {"type": "name", "properties": {"name": "EPSG::999999"}}
    src = tmp_path / "bad_crs.geojson"
    src.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(CRSError, match="EPSG::999999, which is not a known CRS"):
        import_boundaries(src, part_id="guangde_main")
    rc = main(["boundaries", "import", str(src), "--part", "guangde_main", "--out", str(tmp_path / "o.geojson")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "bad_crs.geojson" in err
