"""Tests of xclz_geo.landuse.overlay: code tables, vector overlay, exact-coverage raster overlay."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """North-up transform (rasterio's from_origin without affine 3's PendingDeprecationWarning)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)
from shapely.geometry import Polygon, box

from xclz_geo.landuse import overlay as lu
from xclz_geo.errors import CRSError, DataQualityWarning, InputDataError

DATA = Path(__file__).resolve().parents[1] / "data"


# ---------------------------------------------------------------- helpers


def write_raster(path: Path, data: np.ndarray, *, transform, crs="EPSG:4549", nodata=None, dtype=None) -> Path:
    prof = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype=dtype or data.dtype,
                crs=crs, transform=transform, tiled=True, blockxsize=64, blockysize=64)
    if nodata is not None:
        prof["nodata"] = nodata
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
    return path


def class_regions(data: np.ndarray, transform, value) -> shapely.Geometry:
    """Union of the cells holding ``value``, as exact polygons (reference computed without our engine)."""
    rows, cols = np.nonzero(data == value)
    a, e, c, f = transform.a, transform.e, transform.c, transform.f
    boxes = shapely.box(c + cols * a, f + (rows + 1) * e, c + (cols + 1) * a, f + rows * e)
    return shapely.union_all(boxes)


# ---------------------------------------------------------------- code tables


def test_gbt21010_has_12_first_and_73_second_level_classes():
    t = lu.code_table("gbt21010")
    assert len(t.level_codes(1)) == 12
    assert len(t.level_codes(2)) == 73
    assert t.classes["0601"].name_zh == "工业用地"
    assert t.classes["0604"].group == "logistics"
    assert t.classes["1001"].name_zh == "铁路用地"


def test_ydyh_has_24_first_level_and_dev_zone_third_level_classes():
    t = lu.code_table("用地用海")
    assert len(t.level_codes(1)) == 24
    for code in ("100101", "100102", "100103", "110101", "110102", "110103"):
        assert code in t
    c = t.classes["100102"]
    assert (c.level, c.parent, c.level1_code, c.level2_code) == (3, "1001", "10", "1001")
    assert c.group == "industrial" and t.classes["1101"].group == "logistics"
    assert t.classes["1001"].name_zh == "工业用地"  # same code, other meaning than GB/T 21010


def test_sandiao_working_codes_and_crosswalk():
    t = lu.code_table("三调")
    for code in ("05H1", "0508", "08H1", "08H2", "00"):
        assert code in t
    assert t.classes["0508"].group == "logistics" and t.classes["0508"].level1_code == "05"
    cw = lu.crosswalk_sandiao_ydyh()
    ydyh = lu.code_table("ydyh")
    assert set(cw) <= set(t.classes)
    assert all(target in ydyh.classes for target, _ in cw.values())
    assert lu.to_ydyh("0508").code == "1101"
    assert lu.to_ydyh("0601").code == "1001"
    assert lu.to_ydyh("1006").code == "0601"


def test_every_table_states_source_and_groups_are_known():
    groups = lu.report_groups()
    assert {"industrial", "logistics", "residential", "public", "transport", "green", "water", "farmland", "unused_other"} <= set(groups)
    readme = (DATA / "landuse" / "README.md").read_text(encoding="utf-8")
    for f in sorted((DATA / "landuse").glob("*.csv")):
        text = f.read_text(encoding="utf-8")
        assert "# source:" in text, f.name
        assert f.name in readme, f"{f.name} is not described in data/landuse/README.md"
    for s in lu.SCHEMES:
        for c in lu.code_table(s).classes.values():
            assert c.group in groups, (s, c.code)
            assert c.status in ("confirmed", "recall_unverified", "inferred"), (s, c.code)
    # items the research marks unverified stay marked
    assert lu.code_table("gbt21010").classes["0807"].status == "recall_unverified"


@pytest.mark.parametrize("raw,expected", [(101, "0101"), ("05h1", "05H1"), (601.0, "0601"), ("100101", "100101"),
                                          (None, ""), (float("nan"), ""), (" 0508 ", "0508"), ("60101", "060101")])
def test_normalize_code(raw, expected):
    assert lu.normalize_code(raw) == expected


def test_lookup_by_code_name_and_suffix():
    hits = {c.scheme: c for c in lu.lookup("0601")}
    assert hits["sandiao"].name_zh == "工业用地" and hits["ydyh"].name_zh == "农村道路"
    assert [c.code for c in lu.lookup("物流仓储用地", scheme="ydyh")] == ["1101"]
    assert lu.lookup("工业", scheme="gbt21010")[0].code == "0601"
    c, how = lu.code_table("sandiao").get("0301K")
    assert c.code == "0301" and how == "base code (suffix K)"
    assert lu.lookup("ZZ99") == []
    with pytest.raises(InputDataError, match="unknown land-use code scheme"):
        lu.code_table("nonsense")


def test_detect_scheme():
    assert lu.detect_scheme(["0601", "05H1", "0508", "1004"]).scheme == "sandiao"
    assert lu.detect_scheme(["100101", "1101", "1207", "1401"]).scheme == "ydyh"
    assert lu.detect_scheme(["0601", "0604", "0501", "0803"]).scheme == "gbt21010"
    # names decide between schemes that share the codes
    d = lu.detect_scheme(["0601", "1001"], ["农村道路", "工业用地"])
    assert d.scheme == "ydyh"
    assert lu.detect_scheme(["0601", "0602"]).ambiguous  # 工业/采矿 or 农村道路/设施农用地?
    assert not lu.detect_scheme(["0101", "0102"]).ambiguous  # 水田/水浇地 in every scheme


def test_classify_codes_keeps_unknown_and_missing():
    df = lu.classify_codes(["0601", "9999", None, "1104A", "0301K"], scheme="sandiao")
    assert len(df) == 5
    assert list(df["status"]) == ["known", "unknown", "missing", "known", "suffix"]
    assert df.loc[1, "group"] == "unknown" and df.loc[1, "code"] == "9999"
    assert df.loc[4, "class_code"] == "0301"


# ---------------------------------------------------------------- vector overlay


@pytest.fixture
def part_box(synthetic_zone):
    return synthetic_zone.parts_gk.geometry.iloc[0].bounds  # xuancheng rectangle in EPSG:4549


def small_layer(bounds):
    """A 三调-like layer: parcels with known areas inside, straddling and outside the first part."""
    x0, y0, _, _ = bounds
    geoms = [
        box(x0 + 0, y0 + 0, x0 + 400, y0 + 300),        # 0601, inside: 120,000 m²
        box(x0 + 400, y0 + 0, x0 + 600, y0 + 300),      # 0508, inside: 60,000 m²
        box(x0 - 100, y0 + 300, x0 + 200, y0 + 500),    # 05H1, straddles the west edge: 200×200 inside
        box(x0 + 200, y0 + 300, x0 + 500, y0 + 500),    # 0701: 60,000 m²
        box(x0 + 450, y0 + 400, x0 + 650, y0 + 500),    # 0810, overlaps the 0701 parcel by 50×100
        box(x0 + 1000, y0 + 1000, x0 + 1010, y0 + 1010),  # unknown code 0699: 100 m²
        box(x0 - 900, y0 + 0, x0 - 800, y0 + 100),      # outside the zone
    ]
    return gpd.GeoDataFrame(
        {"DLBM": ["0601", "0508", "05H1", "0701", "0810", "0699", "1001"],
         "DLMC": ["工业用地", "物流仓储用地", "商业服务业设施用地", "城镇住宅用地", "公园与绿地", "某地类", "铁路用地"],
         "权属单位": ["甲村", "乙村", "丙村", "丁村", "戊村", "己村", "庚村"],
         "quality": "synthetic"},
        geometry=geoms, crs="EPSG:4549",
    )


def test_parcels_from_gbk_shapefile_match_hand_areas(tmp_path, synthetic_zone, part_box):
    gdf = small_layer(part_box)
    shp = tmp_path / "dltb_gbk.shp"
    gdf.to_file(shp, driver="ESRI Shapefile", encoding="GBK", engine="pyogrio")
    for side in (".cpg",):  # a typical export without a .cpg: GBK must be detected
        if shp.with_suffix(side).exists():
            shp.with_suffix(side).unlink()
    assert b"\xb9\xa4\xd2\xb5" in shp.with_suffix(".dbf").read_bytes()  # 工业 in GBK
    with pytest.warns(DataQualityWarning):
        res = lu.landuse_by_part(synthetic_zone, shp)
    assert res.method["code_field"] == "DLBM" and res.method["scheme"] == "sandiao"
    x = res.by_code[res.by_code["part_id"] == "xuancheng"].set_index("code")
    assert x.loc["0601", "area_m2"] == pytest.approx(120_000, rel=1e-9)
    assert x.loc["0508", "area_m2"] == pytest.approx(60_000, rel=1e-9)
    assert x.loc["05H1", "area_m2"] == pytest.approx(200 * 200, rel=1e-9)  # only the inside piece
    assert x.loc["0701", "area_m2"] == pytest.approx(60_000, rel=1e-9)
    assert x.loc["0810", "area_m2"] == pytest.approx(20_000, rel=1e-9)
    assert x.loc["0601", "area_mu"] == pytest.approx(180.0, rel=1e-9)  # 120,000 m² = 180 亩
    assert x.loc["0601", "area_ha"] == pytest.approx(12.0, rel=1e-9)
    part_area = 29.8e6
    assert x.loc["0601", "share"] == pytest.approx(120_000 / part_area, rel=1e-6)
    assert x.loc["0699", "name"] == "某地类" and x.loc["0699", "code_status"] == "unknown"
    p = res.parts.set_index("part_id").loc["xuancheng"]
    assert p["straddling_count"] == 1
    assert p["parcel_count"] == 6
    assert p["overlap_m2"] == pytest.approx(50 * 100, rel=1e-6)
    covered = 120_000 + 60_000 + 40_000 + 60_000 + 20_000 - 5_000 + 100
    assert p["covered_m2"] == pytest.approx(covered, rel=1e-9)
    assert p["gap_m2"] == pytest.approx(part_area - covered, rel=1e-6)
    assert res.parcels.loc[6, "status"] == "outside the zone"
    assert res.parcels.loc[2, "status"] == "partly inside"
    assert len(res.parcels) == len(gdf)
    # roll-ups
    g = res.by_group[res.by_group["part_id"] == "xuancheng"].set_index("group")
    assert g.loc["industrial", "area_m2"] == pytest.approx(120_000, rel=1e-9)
    assert g.loc["logistics", "area_m2"] == pytest.approx(60_000, rel=1e-9)
    assert g["area_m2"].sum() == pytest.approx(x["area_m2"].sum(), rel=1e-12)
    l1 = res.by_level1[res.by_level1["part_id"] == "xuancheng"].set_index("code")
    assert l1.loc["05", "area_m2"] == pytest.approx(60_000 + 40_000, rel=1e-9)  # 05H1 + 0508 in 三调's 05
    assert res.method["quality"] == {"zone": "synthetic", "data": "synthetic"}


def test_unknown_codes_and_overlaps_are_reported(synthetic_zone, part_box):
    gdf = small_layer(part_box)
    with pytest.warns(DataQualityWarning) as rec:
        res = lu.landuse_by_part(synthetic_zone, gdf)
    msgs = " ".join(str(w.message) for w in rec)
    assert "0699" in msgs and "overlap" in msgs
    assert list(res.unknown_codes["code"]) == ["0699"]
    assert res.unknown_codes.loc[0, "rows"] == 1
    assert len(res.overlaps) == 1
    assert set(res.overlaps.loc[0, ["code_a", "code_b"]]) == {"0701", "0810"}
    assert res.overlaps.loc[0, "area_m2"] == pytest.approx(5_000, rel=1e-9)
    d = res.to_dict()
    assert d["overlaps"]["pairs"] == 1
    part = d["parts"][0]
    assert {"part_id", "classes", "outside_raster_m2", "nodata_m2"} <= set(part)
    assert {"code", "name", "area_m2", "area_mu", "share"} <= set(part["classes"][0])


def test_level_1_and_ydyh_third_level(synthetic_zone, part_box):
    x0, y0, _, _ = part_box
    gdf = gpd.GeoDataFrame({"GHFLDM": ["100101", "100102", "1101"], "GHFLMC": ["一类工业用地", "二类工业用地", "物流仓储用地"]},
                           geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 100, y0, x0 + 300, y0 + 100),
                                     box(x0 + 300, y0, x0 + 400, y0 + 100)], crs="EPSG:4549")
    r3 = lu.landuse_by_part(synthetic_zone, gdf, level=3)
    assert r3.method["scheme"] == "ydyh" and r3.method["code_field"] == "GHFLDM"
    assert set(r3.by_code["code"]) == {"100101", "100102", "1101"}
    r2 = lu.landuse_by_part(synthetic_zone, gdf, level=2)
    assert r2.by_code.set_index("code").loc["1001", "area_m2"] == pytest.approx(30_000, rel=1e-9)
    assert r2.by_code.set_index("code").loc["1001", "parcel_count"] == 2
    r1 = lu.landuse_by_part(synthetic_zone, gdf, level=1)
    assert set(r1.by_code["code"]) == {"10", "11"}


def test_parcels_in_another_crs_and_bad_input(synthetic_zone, part_box):
    gdf = small_layer(part_box).iloc[:2]
    res = lu.landuse_by_part(synthetic_zone, gdf.to_crs("EPSG:4490"))
    assert res.by_code.set_index("code").loc["0601", "area_m2"] == pytest.approx(120_000, rel=1e-6)
    with pytest.raises(CRSError, match="declares no CRS"):
        lu.landuse_by_part(synthetic_zone, gdf.set_crs(None, allow_override=True))
    with pytest.raises(InputDataError, match="fields in the file"):
        lu.landuse_by_part(synthetic_zone, gdf.rename(columns={"DLBM": "X"}))
    with pytest.raises(InputDataError, match="no field 'NOPE'"):
        lu.landuse_by_part(synthetic_zone, gdf, code_field="NOPE")


def test_parcels_gpkg_with_chinese_field_names(tmp_path, synthetic_zone, part_box):
    x0, y0, _, _ = part_box
    gdf = gpd.GeoDataFrame({"地类编码": ["0601", "1004"], "地类名称": ["工业用地", "城镇村道路用地"]},
                           geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 100, y0, x0 + 200, y0 + 50)], crs="EPSG:4549")
    path = tmp_path / "规划.gpkg"
    gdf.to_file(path, driver="GPKG")
    res = lu.landuse_by_part(synthetic_zone, path)
    assert res.method["code_field"] == "地类编码" and res.method["name_field"] == "地类名称"
    assert res.by_group.set_index("group").loc["transport", "area_m2"] == pytest.approx(5_000, rel=1e-9)


# ---------------------------------------------------------------- exact coverage engine


def test_boundary_coverage_matches_shapely_clipping():
    rng = np.random.default_rng(5)
    geoms = [shapely.Point(rng.uniform(0, 40), rng.uniform(0, 40)).buffer(rng.uniform(0.2, 7)) for _ in range(20)]
    geoms.append(box(2.5, 3.25, 9.75, 4.0).difference(box(5, 3.5, 6, 3.75)))  # hole on grid lines
    geoms.append(Polygon([(0, 0), (3, 0), (3, 3), (0, 3)]))  # edges on grid lines
    for _ in (0,):
        p, r, c, f = lu.boundary_coverage(geoms)
        ref = shapely.area(shapely.intersection(np.asarray(geoms, dtype=object)[p], shapely.box(c, r, c + 1, r + 1)))
        assert np.abs(f - ref).max() < 1e-9
        # boundary cells + fully covered cells reproduce each polygon's area
        for k, g in enumerate(geoms):
            m = p == k
            bnd = set(zip(r[m].tolist(), c[m].tolist()))
            minx, miny, maxx, maxy = (int(math.floor(v)) for v in g.bounds)
            rows, cols = np.mgrid[miny:maxy + 1, minx:maxx + 1]
            centres = shapely.contains_xy(g, cols + 0.5, rows + 0.5)
            interior = sum(1 for rr, cc, ins in zip(rows.ravel(), cols.ravel(), centres.ravel()) if ins and (rr, cc) not in bnd)
            assert interior + f[m].sum() == pytest.approx(g.area, abs=1e-9)


@pytest.fixture
def striped_raster(tmp_path):
    """100 × 80 cells of 10 m in EPSG:4549; class = column % 3 + 1; nodata (0) in one block."""
    x0, y0 = 500_000.0, 3_420_000.0
    T = from_origin(x0, y0, 10.0, 10.0)
    cols = np.arange(80)
    data = np.tile((cols % 3 + 1).astype(np.uint8), (100, 1))
    data[60:70, 60:70] = 0
    return write_raster(tmp_path / "striped.tif", data, transform=T, nodata=0), data, T


def test_hand_built_raster_exact_areas_with_partial_edge_cells(striped_raster):
    path, data, T = striped_raster
    x0, y0 = T.c, T.f
    polys = [
        box(x0 + 12.5, y0 - 757.5, x0 + 57.5, y0 - 102.5),                              # partial cells on every edge
        Polygon([(x0 + 3.3, y0 - 5.1), (x0 + 401.7, y0 - 33.3), (x0 + 199.9, y0 - 512.2)]),  # triangle
        box(x0 + 500.0, y0 - 500.0, x0 + 760.0, y0 - 760.0).difference(box(x0 + 600.5, y0 - 690.5, x0 + 700.5, y0 - 600.5)),
    ]
    g = gpd.GeoDataFrame({"part_id": ["rect", "tri", "holed"]}, geometry=polys, crs="EPSG:4549")
    res = lu.landcover_by_polygons(g, path, classes={1: "一", 2: "二", 3: "三"})
    assert res.method["raster_crs"] == "EPSG:4549" and res.method["cell_size"] == "10 m × 10 m"
    for k, poly in enumerate(polys):
        got = res.by_class[res.by_class["id"] == g.part_id[k]].set_index("value")["area_m2"]
        for v in (1, 2, 3):
            expected = shapely.area(shapely.intersection(poly, class_regions(data, T, v)))
            if expected > 0:
                assert got.get(v, 0.0) == pytest.approx(expected, rel=1e-3), (k, v)
                assert got.get(v, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-6)
        nod = shapely.area(shapely.intersection(poly, class_regions(data, T, 0)))
        row = res.polygons.set_index("id").loc[g.part_id[k]]
        assert row["nodata_m2"] == pytest.approx(nod, abs=1e-6)
        assert row["outside_raster_m2"] == pytest.approx(0.0, abs=1e-6)
        assert row["area_m2"] == pytest.approx(poly.area, rel=1e-12)
    # the rectangle: 12.5 → 57.5 m spans columns 1 (7.5 m), 2, 3, 4 (10 m each), 5 (7.5 m); height 655 m
    rect = res.by_class[res.by_class["id"] == "rect"].set_index("value")["area_m2"]
    assert rect[2] == pytest.approx((7.5 + 10) * 655, rel=1e-12)  # columns 1 and 4 hold class 2
    assert rect[3] == pytest.approx((10 + 7.5) * 655, rel=1e-12)  # columns 2 and 5 hold class 3
    assert rect[1] == pytest.approx(10 * 655, rel=1e-12)
    # banded processing gives the same numbers
    banded = lu.landcover_by_polygons(g, path, max_window_cells=500)
    assert np.allclose(banded.by_class.sort_values(["id", "value"])["area_m2"].to_numpy(),
                       res.by_class.sort_values(["id", "value"])["area_m2"].to_numpy(), rtol=1e-12)


def test_agrees_with_exactextract_on_random_raster(tmp_path):
    exactextract = pytest.importorskip("exactextract")
    rng = np.random.default_rng(42)
    T = from_origin(500_003.7, 3_420_001.3, 10.0, 10.0)
    data = rng.integers(1, 8, size=(400, 400)).astype(np.uint8)
    path = write_raster(tmp_path / "random.tif", data, transform=T)
    geoms = []
    for _ in range(60):
        cx, cy = rng.uniform(500_100, 503_900), rng.uniform(3_416_100, 3_419_900)
        pts = np.c_[cx + rng.normal(0, 80, 9), cy + rng.normal(0, 80, 9)]
        geoms.append(shapely.convex_hull(shapely.multipoints(pts)))
    g = gpd.GeoDataFrame({"pid": np.arange(60)}, geometry=geoms, crs="EPSG:4549")  # hulls overlap each other
    res = lu.landcover_by_polygons(g, path, ids=list(range(60)))
    ee = exactextract.exact_extract(str(path), g, ["unique", "frac", "count"], include_cols=["pid"], output="pandas")
    worst = 0.0
    for pid, u, f, cnt in zip(ee["pid"], ee["unique"], ee["frac"], ee["count"]):
        mine = res.by_class[res.by_class["id"] == pid].set_index("value")["cells"]
        for v, fr in zip(u, f):
            ref = fr * cnt
            if ref > 1:
                worst = max(worst, abs(mine.get(int(v), 0.0) - ref) / ref)
    assert worst < 0.005
    assert worst < 1e-6  # exact coverage, not an approximation
    # overlapping hulls need no extra passes: each polygon's cells are its own
    assert res.method["passes"] == 1
    pol = res.polygons
    assert np.allclose(pol["classified_m2"] + pol["nodata_m2"] + pol["outside_raster_m2"], g.area.to_numpy(), rtol=1e-9)


def test_raster_in_another_crs(tmp_path, synthetic_zone):
    part = synthetic_zone.parts.iloc[[2]]  # guangde_west, EPSG:4490
    minx, miny, maxx, maxy = part.total_bounds
    res_deg = 0.0001
    x0, y1 = minx - 0.01, maxy + 0.01
    w, h = int((maxx - minx + 0.02) / res_deg), int((maxy - miny + 0.02) / res_deg)
    T = from_origin(x0, y1, res_deg, res_deg)
    cols = np.arange(w)
    lon = x0 + (cols + 0.5) * res_deg
    split = (minx + maxx) / 2
    data = np.tile(np.where(lon < split, 10, 40).astype(np.uint8), (h, 1))
    path = write_raster(tmp_path / "wgs84.tif", data, transform=T, crs="EPSG:4326")
    res = lu.landcover_by_part(synthetic_zone, path, classes="worldcover")
    row = res.polygons.set_index("id").loc["guangde_west"]
    assert row["status"] == "ok"
    assert row["area_m2"] == pytest.approx(3.77e6, rel=1e-6)  # planar GK area of the part
    got = res.by_class[res.by_class["id"] == "guangde_west"].set_index("value")
    assert got["area_m2"].sum() == pytest.approx(row["area_m2"], rel=1e-9)
    assert set(got["name"]) == {"Tree cover", "Cropland"} or set(got["name"]) == {"林地(树木覆盖)", "耕地"}
    # the split meridian halves the (GK-rectangle) part to within its small rotation in lon/lat
    assert got.loc[10, "share"] == pytest.approx(0.5, abs=0.01)
    assert res.method["raster_crs"] == "EPSG:4326" and "°" in res.method["cell_size"]
    assert res.method["crs"] == "EPSG:4549"
    # parts in other places are outside this raster, stated as such
    other = res.polygons.set_index("id").loc["xuancheng"]
    assert other["status"] == "outside the raster"
    assert other["outside_raster_m2"] == pytest.approx(29.8e6, rel=1e-6)
    ex = pytest.importorskip("exactextract")
    ee = ex.exact_extract(str(path), part.to_crs("EPSG:4326"), ["unique", "frac"], output="pandas")
    ref = dict(zip(ee["unique"][0], ee["frac"][0]))
    assert got.loc[10, "share"] == pytest.approx(ref[10], rel=0.005)


def test_raster_that_misses_the_zone(tmp_path, synthetic_zone):
    T = from_origin(300_000.0, 3_000_000.0, 30.0, 30.0)
    path = write_raster(tmp_path / "far.tif", np.ones((50, 50), dtype=np.uint8), transform=T)
    res = lu.landcover_by_part(synthetic_zone, path, classes="clcd")
    assert (res.polygons["status"] == "outside the raster").all()
    assert np.allclose(res.polygons["outside_raster_m2"], res.polygons["area_m2"])
    assert (res.polygons["classified_m2"] == 0).all()
    assert len(res.by_class) == 0
    assert res.method["cells_read"] == 0


def test_partly_outside_nodata_and_window_reads(tmp_path):
    T = from_origin(600_000.0, 3_500_000.0, 10.0, 10.0)
    data = np.full((1000, 1000), 5, dtype=np.uint8)
    data[:, 500:] = 255
    path = write_raster(tmp_path / "big.tif", data, transform=T, nodata=255)
    inside = box(604_500.0, 3_495_000.0, 605_500.0, 3_496_000.0)             # 1 km², half nodata
    straddle = box(599_500.0, 3_491_000.0, 600_500.0, 3_491_500.0)           # half west of the raster
    g = gpd.GeoDataFrame({"part_id": ["in", "edge"]}, geometry=[inside, straddle], crs="EPSG:4549")
    with pytest.warns(DataQualityWarning, match="not in the class table"):
        res = lu.landcover_by_polygons(g, path, classes={1: "one"})
    p = res.polygons.set_index("id")
    assert p.loc["in", "nodata_m2"] == pytest.approx(500_000, rel=1e-9)
    assert p.loc["in", "classified_m2"] == pytest.approx(500_000, rel=1e-9)
    assert p.loc["edge", "outside_raster_m2"] == pytest.approx(250_000, rel=1e-9)
    assert p.loc["edge", "classified_m2"] == pytest.approx(250_000, rel=1e-9)
    assert p.loc["edge", "status"] == "partly outside the raster"
    assert res.by_class.set_index("id").loc["in", "name"] == "(value 5: not in class table)"
    # windows only: each polygon's own cells inside the raster (100 × 100 and 50 × 50), not the
    # 500 × 550 cells of the union of their bounds
    assert res.method["cells_read"] == 100 * 100 + 50 * 50


def test_classes_tables_and_errors(tmp_path, striped_raster):
    path, _, T = striped_raster
    csv = tmp_path / "classes.csv"
    csv.write_text("value,name,group\n1,甲,industrial\n2,乙,farmland\n3,丙,water\n", encoding="gbk")
    g = gpd.GeoDataFrame({"part_id": ["a"]}, geometry=[box(T.c + 5, T.f - 205, T.c + 205, T.f - 5)], crs="EPSG:4549")
    res = lu.landcover_by_polygons(g, path, classes=csv)
    assert set(res.by_class["name"]) == {"甲", "乙", "丙"}
    assert res.by_group.set_index("group")["area_m2"].sum() == pytest.approx(40_000, rel=1e-9)
    bad = tmp_path / "bad.csv"
    bad.write_text("code_x,name\n1,a\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="value"):
        lu.landcover_by_polygons(g, path, classes=bad)
    with pytest.raises(CRSError):
        lu.landcover_by_polygons(g.set_crs(None, allow_override=True), path)
    with pytest.raises(Exception, match="not found"):
        lu.landcover_by_polygons(g, tmp_path / "missing.tif")


# ---------------------------------------------------------------- samples


def test_samples_are_synthetic_and_usable():
    gpkg = DATA / "samples" / "landuse_parcels_synthetic.gpkg"
    tif = DATA / "samples" / "landcover_synthetic.tif"
    assert gpkg.exists() and tif.exists()
    gdf = gpd.read_file(gpkg)
    assert len(gdf) >= 200 and (gdf["quality"] == "synthetic").all()
    assert {"DLBM", "DLMC", "供地状态", "建筑面积", "建筑基底面积", "固定资产投资"} <= set(gdf.columns)
    assert set(gdf["供地状态"].dropna()) - {""} <= {"已建成", "已供未建", "闲置", "未供应"}
    with rasterio.open(tif) as src:
        assert src.tags()["quality"] == "synthetic"
        assert tif.stat().st_size < 5e6
    readme = (DATA / "samples" / "README.md").read_text(encoding="utf-8")
    assert "landuse_parcels_synthetic.gpkg" in readme and "landcover_synthetic.tif" in readme


def test_overlapping_polygons_on_a_lonlat_raster(tmp_path):
    rng = np.random.default_rng(3)
    T = from_origin(119.0, 31.0, 0.0002, 0.0002)
    data = rng.integers(1, 4, size=(300, 300)).astype(np.uint8)
    path = write_raster(tmp_path / "ll.tif", data, transform=T, crs="EPSG:4326")
    a = box(119.01, 30.96, 119.03, 30.98)
    b = box(119.02, 30.97, 119.04, 30.99)  # overlaps a by a quarter
    g = gpd.GeoDataFrame({"part_id": ["a", "b"]}, geometry=[a, b], crs="EPSG:4326")
    both = lu.landcover_by_polygons(g, path)
    for k, pid in enumerate(["a", "b"]):
        alone = lu.landcover_by_polygons(g.iloc[[k]], path)
        x = both.by_class[both.by_class["id"] == pid].set_index("value")["area_m2"]
        y = alone.by_class.set_index("value")["area_m2"]
        assert np.allclose(x.sort_index().to_numpy(), y.sort_index().to_numpy(), rtol=1e-12)
        assert x.sum() == pytest.approx(both.polygons.set_index("id").loc[pid, "area_m2"], rel=1e-9)


def test_roll_up_rules_are_data():
    sd, gb = lu.code_table("sandiao"), lu.code_table("gbt21010")
    assert sd.parent_at("05H1", 1) == "05" and sd.parent_at("0508", 1) == "05"
    assert sd.parent_at("0301K", 2) == "0301" and sd.parent_at("0301K", 1) == "03"
    assert sd.parent_at("0101K", 1) == "01"
    assert sd.suffix_rules["K"] == "可调整地类"
    assert gb.parent_at("05H1", 1) == "05" and gb.parent_at("0508", 2) == "0604" and gb.parent_at("0508", 1) == "06"
    c, how = gb.get("08H1")
    assert c.variant and how == "variant (rolls up to 08)"
    # variants are not classes of the standard: counts and detection ignore them
    assert len(gb.level_codes(2)) == 73
    assert lu.detect_scheme(["05H1", "0508", "08H1"]).known_share["gbt21010"] == 0
    # a letter no rule lists is not stripped: the code stays unknown
    assert sd.get("0301Z") == (None, "unknown")
    df = lu.classify_codes(["08H1", "0301Z"], scheme="gbt21010")
    assert list(df["status"]) == ["variant", "unknown"]


def test_parcels_with_impossible_coordinates_are_invalid_not_outside(synthetic_zone):
    g = synthetic_zone.parts.geometry.iloc[0].centroid
    parcels = gpd.GeoDataFrame({"DLBM": ["0601", "0601", "0601"]},
                               geometry=[box(g.x - 0.001, g.y - 0.001, g.x + 0.001, g.y + 0.001),
                                         box(573000, 30.9, 573000.01, 30.91), box(g.x, 95.0, g.x + 0.01, 95.01)],
                               crs="EPSG:4490")
    with pytest.warns(DataQualityWarning, match="2 parcel\\(s\\) with invalid coordinates \\(first at row 1: longitude"):
        res = lu.landuse_by_part(synthetic_zone, parcels, scheme="sandiao")
    assert res.parcels["status"].tolist() == ["inside", "invalid coordinates", "invalid coordinates"]
