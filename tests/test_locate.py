"""Site checks (xclz_geo.geo.locate): statuses, parts, distances, datums, tables with bad rows.

Zones are hand-built in EPSG:4549 (CGCS2000 GK CM 120°E) near Xuancheng and are
synthetic test material: a square part with a hole, a two-polygon part and a
1,000-vertex star part, each in its own block. The oracle is plain shapely on the same
Gauss-Krüger polygons, point by point semantics: covered (``intersects``) and within
the part's uncertainty of its boundary (``dwithin``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from xclz_geo.geo import crs
from xclz_geo.geo import locate as L
from xclz_geo.errors import BoundaryError, DatumError, InputDataError
from xclz_geo.geo.locate import locate, locate_xy
from xclz_geo.boundaries.zone import Zone

GK = "EPSG:4549"
#: a GK origin near 宣城 (about 118.8°E, 30.9°N)
X0, Y0 = 380_000.0, 3_420_000.0


def star(cx: float, cy: float, r: float, n: int = 1000, *, wobble: float = 0.3) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 + wobble * np.sin(7 * t) + 0.05 * np.sin(53 * t))
    return shapely.Polygon(np.column_stack([cx + rr * np.cos(t), cy + rr * np.sin(t)]))


def square_with_hole() -> shapely.Polygon:
    outer = [(X0, Y0), (X0 + 4000, Y0), (X0 + 4000, Y0 + 4000), (X0, Y0 + 4000)]
    hole = [(X0 + 1500, Y0 + 1500), (X0 + 2500, Y0 + 1500), (X0 + 2500, Y0 + 2500), (X0 + 1500, Y0 + 2500)]
    return shapely.Polygon(outer, [hole])


def two_squares() -> shapely.MultiPolygon:
    a = shapely.box(X0 + 6000, Y0, X0 + 8000, Y0 + 2000)
    b = shapely.box(X0 + 9000, Y0 + 500, X0 + 10000, Y0 + 1500)
    return shapely.MultiPolygon([a, b])


def make_zone(*, uncertainty_m: float = 0.0, quality: str | None = None) -> Zone:
    import geopandas as gpd

    q = quality or ("official" if uncertainty_m == 0 else "schematic")
    rows = [
        dict(part_id="holed", block_id="west", quality=q, positional_uncertainty_m=uncertainty_m),
        dict(part_id="twin", block_id="middle", quality=q, positional_uncertainty_m=uncertainty_m),
        dict(part_id="star", block_id="east", quality=q, positional_uncertainty_m=uncertainty_m),
    ]
    geoms = [square_with_hole(), two_squares(), star(X0 + 16000, Y0 + 2000, 2500)]
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=GK)
    return Zone.from_boundaries(gdf, spec=False)


@pytest.fixture(scope="module")
def official_zone() -> Zone:
    return make_zone(uncertainty_m=0.0)


@pytest.fixture(scope="module")
def schematic_zone() -> Zone:
    return make_zone(uncertainty_m=200.0)


def ids(col) -> list:
    """Column values with missing ones as None (pandas may hold them as NaN)."""
    return [None if pd.isna(v) else v for v in col]


def to_lonlat(x, y):
    return crs.transformer(GK, "EPSG:4490").transform(np.asarray(x, float), np.asarray(y, float))


def oracle(zone: Zone, gx: np.ndarray, gy: np.ndarray, *, with_distance: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact status/part/signed distance by plain shapely, part by part."""
    parts = list(zone.parts.to_crs(GK).geometry)
    us = list(zone.parts["positional_uncertainty_m"])
    n = gx.size
    ins = np.full(n, -1)
    unc = np.full(n, -1)
    pts = shapely.points(gx, gy)
    dist = np.full(n, np.inf)
    for k, (p, u) in enumerate(zip(parts, us)):
        cov = shapely.intersects_xy(p, gx, gy)
        ins[(ins < 0) & cov] = k
        b = p.boundary
        if u > 0:
            near = np.zeros(n, dtype=bool)
            xmin, ymin, xmax, ymax = p.bounds
            box = (gx >= xmin - u - 1) & (gx <= xmax + u + 1) & (gy >= ymin - u - 1) & (gy <= ymax + u + 1)
            near[box] = shapely.dwithin(b, pts[box], u)
            unc[(unc < 0) & near] = k
        if with_distance:
            dist = np.minimum(dist, shapely.distance(b, pts))
    status = np.where(unc >= 0, 2, np.where(ins >= 0, 1, 0))
    part = np.where(ins >= 0, ins, unc)
    return status, part, np.where(ins >= 0, dist, -dist)


# ------------------------------------------------------------------ single points in each situation


@pytest.mark.parametrize(
    "x, y, status, part",
    [
        (X0 + 500, Y0 + 500, "inside", "holed"),  # inside
        (X0 - 500, Y0 + 500, "outside", None),  # outside
        (X0 + 4000, Y0 + 1000, "inside", "holed"),  # on an edge: covers, not contains
        (X0 + 4000, Y0 + 4000, "inside", "holed"),  # on a vertex
        (X0 + 2000, Y0 + 2000, "outside", None),  # in the hole
        (X0 + 1500, Y0 + 2000, "inside", "holed"),  # on the hole's edge
        (X0 + 7000, Y0 + 1000, "inside", "twin"),  # first polygon of a multipolygon part
        (X0 + 9500, Y0 + 1000, "inside", "twin"),  # second polygon
        (X0 + 8500, Y0 + 1000, "outside", None),  # between them
        (X0 + 16000, Y0 + 2000, "inside", "star"),  # the 1,000-vertex part
    ],
)
def test_points_in_each_situation(official_zone, x, y, status, part):
    df = locate(official_zone, (x, y), crs=GK)
    assert list(df["status"]) == [status]
    assert ids(df["part_id"]) == [part]
    expected_block = {"holed": "west", "twin": "middle", "star": "east", None: None}[part]
    assert ids(df["block_id"]) == [expected_block]
    assert df["note"].iloc[0] == ""


def test_vertices_of_the_star_are_inside(official_zone):
    star_geom = official_zone.parts.to_crs(GK).geometry.iloc[2]
    xy = shapely.get_coordinates(star_geom.exterior)[:-1]
    res = locate_xy(official_zone, xy[:, 0], xy[:, 1], crs=GK, with_distance=True)
    assert (res.status == L.INSIDE).all()
    assert set(res.part_id) == {"star"}
    assert np.abs(res.distance_m).max() < 1e-6


def test_signed_distance_positive_inside_negative_outside(official_zone):
    df = locate(official_zone, [(X0 + 500, Y0 + 2000), (X0 - 300, Y0 + 2000), (X0 + 2000, Y0 + 2000)], crs=GK)
    assert df["distance_m"].tolist() == pytest.approx([500.0, -300.0, -500.0], abs=1e-6)


def test_uncertain_near_a_schematic_edge_on_both_sides(schematic_zone):
    pts = [(X0 + 100, Y0 + 2000), (X0 - 150, Y0 + 2000), (X0 + 800, Y0 + 700), (X0 - 250, Y0 + 2000)]
    df = locate(schematic_zone, pts, crs=GK)
    assert df["status"].tolist() == ["uncertain", "uncertain", "inside", "outside"]
    # uncertain rows name the part whose boundary is near; the sign says the side
    assert ids(df["part_id"]) == ["holed", "holed", "holed", None]
    assert df["distance_m"].iloc[0] == pytest.approx(100.0)
    assert df["distance_m"].iloc[1] == pytest.approx(-150.0)


def test_official_boundaries_are_never_uncertain(official_zone):
    df = locate(official_zone, [(X0 + 0.5, Y0 + 2000), (X0 - 0.5, Y0 + 2000)], crs=GK)
    assert df["status"].tolist() == ["inside", "outside"]


# ------------------------------------------------------------------ agreement with the exact predicate


def _random_points_with_hard_cases(zone: Zone, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts = list(zone.parts.to_crs(GK).geometry)
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(parts, dtype=object))
    gx = rng.uniform(xmin - 800, xmax + 800, n)
    gy = rng.uniform(ymin - 800, ymax + 800, n)
    # vertices, points on edges, in holes and around the band's edge (200 m) replace some of them
    verts = np.concatenate([shapely.get_coordinates(p) for p in parts])
    k = min(len(verts), n // 20)
    gx[:k], gy[:k] = verts[:k, 0], verts[:k, 1]
    rings = [shapely.get_rings(p) for p in parts]
    lines = np.concatenate(rings)
    m = n // 10
    which = rng.integers(0, len(lines), m)
    frac = rng.uniform(0, 1, m)
    on = shapely.line_interpolate_point(lines[which], frac, normalized=True)
    gx[k : k + m], gy[k : k + m] = shapely.get_x(on), shapely.get_y(on)
    # offset copies of edge points by ±200 m ± 1 cm (the uncertainty band's edge)
    off = rng.choice([-200.01, -199.99, 199.99, 200.01], m)
    ang = rng.uniform(0, 2 * np.pi, m)
    gx[k + m : k + 2 * m] = gx[k : k + m] + off * np.cos(ang)
    gy[k + m : k + 2 * m] = gy[k : k + m] + off * np.sin(ang)
    # hole centre area
    gx[k + 2 * m : k + 2 * m + 100] = rng.uniform(X0 + 1500, X0 + 2500, 100)
    gy[k + 2 * m : k + 2 * m + 100] = rng.uniform(Y0 + 1500, Y0 + 2500, 100)
    return gx, gy


@pytest.mark.parametrize("zone_name", ["official_zone", "schematic_zone"])
def test_ten_thousand_lonlat_points_agree_with_plain_shapely(request, zone_name):
    zone = request.getfixturevalue(zone_name)
    gx, gy = _random_points_with_hard_cases(zone, 10_000, seed=3)
    lon, lat = to_lonlat(gx, gy)
    res = locate_xy(zone, lon, lat, with_distance=True)
    # the oracle works on the same points as pyproj places them in GK
    ox, oy = crs.transformer("EPSG:4490", GK).transform(lon, lat)
    status, part, dist = oracle(zone, np.asarray(ox), np.asarray(oy))
    assert (res.status == status).all()
    assert (res.part_index == part).all()
    assert np.abs(res.distance_m - dist).max() < 1e-6


@pytest.mark.slow
def test_a_million_points_in_gk_agree_with_the_exact_predicate(schematic_zone):
    gx, gy = _random_points_with_hard_cases(schematic_zone, 1_000_000, seed=5)
    res = locate_xy(schematic_zone, gx, gy, crs=GK, with_distance=False)
    status, part, _ = oracle(schematic_zone, gx, gy, with_distance=False)
    assert (res.status == status).all()
    assert (res.part_index == part).all()
    assert res.distance_m is None
    counts = res.counts()
    assert counts["uncertain"] > 10_000 and counts["inside"] > 10_000 and counts["outside"] > 10_000


def test_threaded_path_gives_the_same_answers(schematic_zone, monkeypatch):
    gx, gy = _random_points_with_hard_cases(schematic_zone, 40_000, seed=9)
    lon, lat = to_lonlat(gx, gy)
    one = locate_xy(schematic_zone, lon, lat, threads=1, with_distance=True)
    monkeypatch.setattr(L, "PARALLEL_MIN_POINTS", 1000)
    monkeypatch.setattr(L, "CHUNK_POINTS", 3000)
    monkeypatch.setattr(L, "BLOCK_POINTS", 1024)
    two = locate_xy(schematic_zone, lon, lat, threads=2, with_distance=True)
    assert (one.status == two.status).all()
    assert (one.part_index == two.part_index).all()
    np.testing.assert_array_equal(one.distance_m, two.distance_m)


def test_threaded_status_only_path_gives_the_same_answers(schematic_zone, monkeypatch):
    # status and part only: one contiguous chunk per thread, each block on its own scratch buffers
    gx, gy = _random_points_with_hard_cases(schematic_zone, 40_000, seed=11)
    lon, lat = to_lonlat(gx, gy)
    one = locate_xy(schematic_zone, lon, lat, threads=1, with_distance=False)
    monkeypatch.setattr(L, "PARALLEL_MIN_POINTS", 1000)
    monkeypatch.setattr(L, "PARALLEL_BLOCK_POINTS", 4096)
    two = locate_xy(schematic_zone, lon, lat, threads=2, with_distance=False)
    assert (one.status == two.status).all()
    assert (one.part_index == two.part_index).all()
    assert set(np.unique(two.status)) == {0, 1, 2}
    # the oracle on the same points as pyproj places them in GK
    ox, oy = crs.transformer("EPSG:4490", GK).transform(lon, lat)
    ref_status, ref_part, _ = oracle(schematic_zone, np.asarray(ox), np.asarray(oy), with_distance=False)
    assert (two.status == ref_status).all() and (two.part_index == ref_part).all()


# ------------------------------------------------------------------ datums


def test_the_same_site_in_wgs84_gcj02_and_bd09_gives_the_same_answer(schematic_zone):
    gx, gy = _random_points_with_hard_cases(schematic_zone, 3000, seed=21)
    lon, lat = to_lonlat(gx, gy)
    w = locate_xy(schematic_zone, lon, lat, with_distance=True)
    g = locate_xy(schematic_zone, *crs.wgs84_to_gcj02(lon, lat), datum="gcj02", with_distance=True)
    b = locate_xy(schematic_zone, *crs.wgs84_to_bd09(lon, lat), datum="bd09", with_distance=True)
    c = locate_xy(schematic_zone, lon, lat, datum="cgcs2000", with_distance=False)
    # the round trip moves a point by far less than a millimetre: answers can differ only for
    # points within that of a boundary, which these random points are not (except vertices/edges)
    far = np.abs(w.distance_m) > 0.01
    far &= np.abs(np.abs(w.distance_m) - 200.0) > 0.01
    assert far.sum() > 2000
    for r in (g, b, c):
        assert (r.status[far] == w.status[far]).all()
        assert (r.part_index[far] == w.part_index[far]).all()
    assert np.abs(g.distance_m - w.distance_m).max() < 0.01
    assert np.abs(b.distance_m - w.distance_m).max() < 0.01


def test_unconverted_gcj_coordinates_would_give_wrong_answers(official_zone):
    # a site 250 m inside the west edge, given in GCJ-02: read as WGS84 it lands ~500 m east …
    lon, lat = to_lonlat(X0 + 250, Y0 + 300)
    glon, glat = crs.wgs84_to_gcj02(float(lon), float(lat))
    right = locate(official_zone, (glon, glat), datum="gcj02")
    assert right["status"].iloc[0] == "inside"
    assert right["distance_m"].iloc[0] == pytest.approx(250.0, abs=0.01)
    wrong = locate(official_zone, (glon, glat))
    assert abs(wrong["distance_m"].iloc[0] - 250.0) > 100


def test_projected_input_and_datum_conflict(official_zone):
    df = locate(official_zone, (X0 + 500, Y0 + 500), crs="EPSG:4549")
    assert df["status"].iloc[0] == "inside"
    with pytest.raises(DatumError, match="lon/lat"):
        locate(official_zone, (X0 + 500, Y0 + 500), crs="EPSG:4549", datum="gcj02")
    with pytest.raises(DatumError, match="unknown datum"):
        locate(official_zone, (119.0, 31.0), datum="wgs85")


# ------------------------------------------------------------------ tables and inputs


def test_table_with_bad_rows_keeps_every_row(official_zone):
    lon, lat = to_lonlat(X0 + 500, Y0 + 500)
    glon, glat = crs.wgs84_to_gcj02(float(lon), float(lat))
    df = pd.DataFrame(
        {
            "name": ["ok", "text", "blank", "nan", "lat95", "europe", "ok2"],
            "经度": [str(glon), "东经119度", "", "NaN", str(glon), "2.3522", str(glon)],
            "纬度": [str(glat), str(glat), str(glat), str(glat), "95", "48.8566", str(glat)],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    out = locate(official_zone, df, datum="gcj02")
    assert list(out.index) == [10, 11, 12, 13, 14, 15, 16]
    assert out["status"].tolist() == ["inside", "invalid", "invalid", "invalid", "invalid", "invalid", "inside"]
    notes = out["note"].tolist()
    assert "not a number" in notes[1] and "经度" in notes[1]
    assert "blank" in notes[2]
    assert "finite" in notes[3]
    assert "95" in notes[4] and "range" in notes[4]
    assert "outside China" in notes[5]
    assert notes[0] == notes[6] == ""
    assert out["distance_m"].isna().tolist() == [False, True, True, True, True, True, False]


def test_numeric_nan_and_out_of_range_in_arrays(official_zone):
    lon, lat = to_lonlat(X0 + 500, Y0 + 500)
    x = np.array([float(lon), np.nan, float(lon), 200.0, float(lon)])
    y = np.array([float(lat), float(lat), -95.0, float(lat), np.inf])
    res = locate_xy(official_zone, x, y, with_distance=True)
    assert res.status.tolist() == [1, 3, 3, 3, 3]
    assert res.reason.tolist() == [L.R_OK, L.R_MISSING, L.R_LAT, L.R_LON, L.R_MISSING]
    assert np.isnan(res.distance_m[1:]).all()


def test_geodataframe_input_uses_its_crs_and_geometry(official_zone):
    import geopandas as gpd

    pts = [shapely.Point(X0 + 500, Y0 + 500), shapely.Point(X0 - 500, Y0), shapely.box(0, 0, 1, 1), None]
    gdf = gpd.GeoDataFrame({"id": [1, 2, 3, 4]}, geometry=pts, crs=GK).to_crs("EPSG:4326")
    out = locate(official_zone, gdf)
    assert out["status"].tolist() == ["inside", "outside", "invalid", "invalid"]
    assert "not a point" in out["note"].iloc[2]
    assert "empty" in out["note"].iloc[3]
    # a GeoDataFrame in GK metres is used as such
    out2 = locate(official_zone, gdf.to_crs(GK))
    assert out2["status"].tolist()[:2] == ["inside", "outside"]


def test_single_pair_list_of_pairs_and_array(official_zone):
    lon, lat = to_lonlat([X0 + 500, X0 - 500], [Y0 + 500, Y0 + 500])
    one = locate(official_zone, (float(lon[0]), float(lat[0])))
    assert len(one) == 1 and one["status"].iloc[0] == "inside"
    many = locate(official_zone, list(zip(lon, lat)))
    arr = locate(official_zone, np.column_stack([lon, lat]), with_distance=False)
    assert many["status"].tolist() == arr["status"].tolist() == ["inside", "outside"]
    assert arr["distance_m"].isna().all()
    with pytest.raises(InputDataError, match="pairs"):
        locate(official_zone, np.zeros((3, 3)))


def test_column_detection():
    assert L.detect_xy_columns(["企业名称", "经度", "纬度"]) == ("经度", "纬度")
    assert L.detect_xy_columns(["Name", " LNG ", "Lat"]) == (" LNG ", "Lat")
    assert L.detect_xy_columns(["a", "b"], x="a", y="b") == ("a", "b")
    with pytest.raises(InputDataError, match="'东', '北'"):
        L.detect_xy_columns(["东", "北"], source="sites.csv")
    with pytest.raises(InputDataError, match="no column 'lon'"):
        L.detect_xy_columns(["x", "y"], x="lon")


def test_parse_coordinates_reasons():
    v, r = L.parse_coordinates(pd.Series(["119.5", " 30,9 ", "", None, "abc", "nan", "118.7°"]))
    assert v[0] == 119.5 and v[1] == pytest.approx(30.9) and v[6] == pytest.approx(118.7)
    assert r.tolist() == [0, 0, L.R_BLANK, L.R_BLANK, L.R_TEXT, L.R_MISSING, 0]


def test_zone_without_geometry_is_an_error():
    z = Zone.from_spec()
    with pytest.raises(BoundaryError, match="no part polygons"):
        locate(z, (119.0, 31.0))


def test_synthetic_fixture_zone_user_story_site(synthetic_zone):
    # user story 1: an Amap (GCJ-02) pin at 119.4681, 30.8931; against the synthetic rectangles it is
    # inside 广德经开区主园区, far enough from the (500 m uncertain) edge to be sure
    df = locate(synthetic_zone, (119.4681, 30.8931), datum="gcj02")
    assert df["part_id"].iloc[0] == "guangde_main"
    assert df["block_id"].iloc[0] == "guangde"
    d = df["distance_m"].iloc[0]
    assert d > 0
    assert df["status"].iloc[0] == ("inside" if d > 500 else "uncertain")
    assert math.isfinite(d)


def test_locate_xy_is_exported_at_package_level(official_zone):
    import xclz_geo

    lon, lat = to_lonlat(X0 + 500, Y0 + 500)
    assert xclz_geo.locate_xy(official_zone, [lon], [lat], with_distance=False).status.tolist() == [L.INSIDE]


def test_the_three_distance_methods_agree(official_zone, monkeypatch):
    """Brute force, chunk-pruned brute force and GEOS STRtree nearest give the same distances."""
    gx, gy = _random_points_with_hard_cases(official_zone, 5000, seed=13)
    gx[-5:] += 50_000.0  # far away points
    grid = L.build_grid(official_zone, frame=L.make_frame(crs=GK))
    tree, _ = grid.segment_tree()
    assert len(tree.geometries) > 1000
    chunked = L._chunked_distance(grid, gx, gy)
    brute = L._brute_distance(grid, gx, gy)
    idx, d = tree.query_nearest(shapely.points(gx, gy), return_distance=True, all_matches=False)
    nearest = np.empty_like(d)
    nearest[idx[0]] = d
    assert np.abs(chunked - nearest).max() < 1e-6
    assert np.abs(brute - nearest).max() < 1e-6
    # and locate_xy uses each of them depending on the segment count
    for brute_max, chunked_max in ((10**6, 10**6), (0, 10**6), (0, 0)):
        monkeypatch.setattr(L, "BRUTE_FORCE_MAX_SEGMENTS", brute_max)
        monkeypatch.setattr(L, "CHUNKED_MAX_SEGMENTS", chunked_max)
        res = locate_xy(official_zone, gx, gy, crs=GK, with_distance=True)
        assert np.abs(np.abs(res.distance_m) - nearest).max() < 1e-6


def test_geodataframe_with_named_columns_uses_the_columns(official_zone):
    import geopandas as gpd

    lon, lat = to_lonlat([X0 + 500, X0 - 500], [Y0 + 500, Y0 + 500])
    # geometry says "inside" for both rows, the named columns say otherwise for the second
    geom = [shapely.Point(lon[0], lat[0])] * 2
    gdf = gpd.GeoDataFrame({"经度": lon, "纬度": lat}, geometry=geom, crs="EPSG:4326")
    assert locate(official_zone, gdf)["status"].tolist() == ["inside", "inside"]
    assert locate(official_zone, gdf, x="经度", y="纬度")["status"].tolist() == ["inside", "outside"]


# ------------------------------------------------------------------ sparse zones with wide bands, threads (issue 18)


def sparse_zone(uncertainty_m: float = 300.0) -> Zone:
    """Three low-vertex parts (a triangle, a pentagon and a quadrilateral off the axes) with a wide band."""
    import geopandas as gpd

    def poly(cx: float, cy: float, r: float, nv: int, turn: float) -> shapely.Polygon:
        t = turn + np.linspace(0, 2 * np.pi, nv, endpoint=False)
        rr = r * (1 + 0.2 * np.cos(3 * t))
        return shapely.Polygon(np.column_stack([cx + rr * np.cos(t), cy + rr * np.sin(t)]))

    geoms = [poly(X0 + 2000, Y0 + 2000, 1500, 3, 0.2), poly(X0 + 7000, Y0 + 1500, 1800, 5, 0.5),
             poly(X0 + 11000, Y0 + 2500, 900, 4, 0.1)]
    rows = [dict(part_id=f"p{k}", block_id=f"b{k}", quality="synthetic", positional_uncertainty_m=uncertainty_m)
            for k in range(3)]
    return Zone.from_boundaries(gpd.GeoDataFrame(rows, geometry=geoms, crs=GK), spec=False)


def _band_hard_points(zone: Zone, n: int, seed: int, u: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points over the zone, a tenth on the edges and a fifth a hair inside/outside the band's edge."""
    rng = np.random.default_rng(seed)
    parts = list(zone.parts.to_crs(GK).geometry)
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(parts, dtype=object))
    gx = rng.uniform(xmin - 2 * u, xmax + 2 * u, n)
    gy = rng.uniform(ymin - 2 * u, ymax + 2 * u, n)
    lines = np.concatenate([shapely.get_rings(p) for p in parts])
    m = n // 10
    on = shapely.line_interpolate_point(lines[rng.integers(0, len(lines), m)], rng.uniform(0, 1, m), normalized=True)
    gx[:m], gy[:m] = shapely.get_x(on), shapely.get_y(on)
    # around the band's edge: the normal offset of an edge point is the distance only off the corners,
    # so these land on both sides of the band edge within millimetres, and near the corners' arcs
    off = rng.choice([-u - 0.002, -u + 0.002, u - 0.002, u + 0.002], m)
    ang = rng.uniform(0, 2 * np.pi, m)
    gx[m : 2 * m] = gx[:m] + off * np.cos(ang)
    gy[m : 2 * m] = gy[:m] + off * np.sin(ang)
    verts = np.concatenate([shapely.get_coordinates(p) for p in parts])
    gx[2 * m : 2 * m + len(verts)], gy[2 * m : 2 * m + len(verts)] = verts[:, 0], verts[:, 1]
    return gx, gy


@pytest.mark.parametrize("datum", ["wgs84", "gcj02"])
def test_sparse_zone_with_a_wide_band_agrees_with_shapely_on_every_point(datum):
    # few low-vertex parts with a 300 m band: most exact cells lie on band edges; the refinement
    # settles most of their points, and every answer must still be plain shapely's
    zone = sparse_zone(300.0)
    gx, gy = _band_hard_points(zone, 200_000, seed=31, u=300.0)
    lon, lat = to_lonlat(gx, gy)
    if datum == "gcj02":
        x, y = crs.wgs84_to_gcj02(lon, lat)
    else:
        x, y = lon, lat
    res = locate_xy(zone, x, y, datum=datum, with_distance=False, threads=1)
    # the oracle on the points as the library places them in GK (pyproj; for GCJ-02 after the exact inverse)
    from xclz_geo.geo.grid import build_grid, make_frame

    grid = build_grid(zone, frame=make_frame(datum=datum))
    ox, oy = grid.frame_map.to_gk(np.asarray(x, float), np.asarray(y, float))
    status, part, _ = oracle(zone, ox, oy, with_distance=False)
    assert int((res.status != status).sum()) == 0
    assert int((res.part_index != part).sum()) == 0
    counts = res.counts()
    assert counts["uncertain"] > 20_000 and counts["inside"] > 10_000 and counts["outside"] > 10_000
    # the refinement did its work: far fewer points reached the exact predicate than lay in exact cells
    assert grid.sub >= 2 and grid.fine_exact_fraction < grid.exact_fraction / 3


def test_choose_threads_is_a_function_of_batch_size_and_cores(monkeypatch):
    monkeypatch.setattr(L, "PARALLEL_MIN_POINTS", 500_000)
    assert L.choose_threads(0, cores=2) == 1
    assert L.choose_threads(999_999, cores=2) == 1  # below two threads' worth: the calling thread alone
    assert L.choose_threads(1_000_000, cores=2) == 2
    assert L.choose_threads(10_000_000, cores=2) == 2
    assert L.choose_threads(10_000_000, cores=8) == 8
    assert L.choose_threads(2_600_000, cores=8) == 5  # one thread per 500,000 points
    assert L.choose_threads(10_000_000, cores=1) == 1
    assert L.choose_threads(10_000_000, cores=0) == 1
    # the same inputs give the same answer, and more points never mean fewer threads
    counts = [L.choose_threads(n, cores=4) for n in range(0, 4_000_000, 250_000)]
    assert counts == sorted(counts) and counts == [L.choose_threads(n, cores=4) for n in range(0, 4_000_000, 250_000)]
    # default cores: the usable ones
    assert L.choose_threads(10**9) == L.default_threads()


def test_one_and_two_threads_give_identical_results_on_a_sparse_zone(monkeypatch):
    zone = sparse_zone(300.0)
    gx, gy = _band_hard_points(zone, 60_000, seed=33, u=300.0)
    lon, lat = to_lonlat(gx, gy)
    lon[::997] = np.nan  # invalid rows in some blocks
    one = locate_xy(zone, lon, lat, threads=1, with_distance=False)
    monkeypatch.setattr(L, "PARALLEL_MIN_POINTS", 1000)
    monkeypatch.setattr(L, "PARALLEL_BLOCK_POINTS", 2048)  # ~30 blocks handed out one at a time
    calls = []
    real = L._status_worker
    monkeypatch.setattr(L, "_status_worker", lambda *a: (calls.append(1), real(*a))[1])
    two = locate_xy(zone, lon, lat, threads=2, with_distance=False)
    assert len(calls) == 2  # the calling thread and one pool thread
    np.testing.assert_array_equal(one.status, two.status)
    np.testing.assert_array_equal(one.part_index, two.part_index)
    np.testing.assert_array_equal(one.reason, two.reason)
    assert (two.status == L.INVALID).sum() == len(lon[::997])


def test_part_qualities_and_zone_ids_read_from_the_table_equal_the_zone_properties():
    import geopandas as gpd

    geoms = [square_with_hole(), None, two_squares()]
    rows = [dict(part_id="a", block_id="w", zone_id="z1", quality="official", positional_uncertainty_m=0.0),
            dict(part_id="b", block_id="w", zone_id="z1", quality="schematic", positional_uncertainty_m=50.0),
            dict(part_id="c", block_id="e", zone_id="z2", quality="osm", positional_uncertainty_m=20.0)]
    with_ids = Zone.from_boundaries(gpd.GeoDataFrame(rows, geometry=geoms, crs=GK), spec=False)
    without = Zone.from_boundaries(gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "zone_id"} for r in rows],
                                                    geometry=geoms, crs=GK), spec=False)
    for zone in (with_ids, without):
        from xclz_geo.geo.grid import zone_part_geometries

        parts, _ = zone_part_geometries(zone)
        zq, zids = L._part_meta(zone, parts)
        assert zq == zone.quality_by_part
        assert zids == L._zone_ids(zone, parts)
    assert L._part_meta(with_ids, zone_part_geometries(with_ids)[0])[1] == ("z1", "z1", "z2")
    assert L._part_meta(with_ids, [])[0]["b"] is None  # a part without geometry has no quality

    class Settled:  # a zone object holding precomputed values (as the web service's) is asked for them
        def __init__(self, z: Zone) -> None:
            self._z = z
            self.quality_by_part = {"a": "surveyed"}

        def __getattr__(self, name: str):
            return getattr(self._z, name)

    assert L._part_meta(Settled(with_ids), [])[0] == {"a": "surveyed"}
