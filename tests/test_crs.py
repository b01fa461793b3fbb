"""CGCS2000 Gauss-Krüger zone choice and the refusal to measure in degrees or Web Mercator.

Datum conversions (GCJ-02, BD-09) are tested in test_crs_datums.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import box

from xclz_geo.geo import crs
from xclz_geo.errors import CRSError, CRSMismatchError


@pytest.mark.parametrize(
    "lon,zone,epsg",
    [
        (118.75, 40, 4549),  # Xuancheng
        (119.46, 40, 4549),  # Guangde
        (118.5, 40, 4549),  # west edge of zone 40 belongs to it
        (118.4999999, 39, 4548),  # just west of it
        (121.4999999, 40, 4549),  # east edge, still zone 40
        (121.5, 41, 4550),  # next zone starts here
        (75.0, 25, 4534),  # first zone
        (135.0, 45, 4554),  # last zone
    ],
)
def test_gk_zone_choice_at_edges(lon, zone, epsg):
    z = crs.gk_zone_for_lon(lon)
    assert (z.zone, z.epsg, z.central_meridian) == (zone, epsg, 3 * zone)
    assert crs.gk_epsg(lon, zone_prefixed=True) == epsg - 21
    assert z.crs.to_epsg() == epsg


def test_epsg_codes_match_the_proj_database():
    # every code we compute must be a CGCS2000 3-degree GK CRS with the right central meridian
    for n in (25, 30, 40, 45):
        c = crs.gk_zone_for_lon(3 * n).crs
        assert "CGCS2000" in c.name and f"CM {3 * n}E" in c.name, c.name
        p = crs.gk_zone_for_lon(3 * n, zone_prefixed=True).crs
        assert "CGCS2000" in p.name and f"zone {n}" in p.name, p.name
        lon0 = [q.value for q in p.coordinate_operation.params if "longitude" in q.name.lower()][0]
        assert lon0 == 3 * n


def test_outside_zones_and_nan_refused():
    with pytest.raises(CRSError, match="outside the CGCS2000"):
        crs.gk_zone_for_lon(10.0)
    with pytest.raises(CRSError, match="not a finite"):
        crs.gk_zone_for_lon(float("nan"))


def test_recognise_twins():
    z = crs.gk_zone_of_crs("EPSG:4528")
    assert z is not None and z.prefixed and z.zone == 40 and z.plain_epsg == 4549
    z2 = crs.gk_zone_of_crs(4549)
    assert z2 is not None and not z2.prefixed and z2.prefixed_epsg == 4528
    assert crs.gk_zone_of_crs("EPSG:4326") is None
    assert crs.gk_zone_of_crs("EPSG:32650") is None


def test_prefixed_easting():
    z = crs.gk_zone_from_prefixed_easting(40_512_345.67)
    assert z.epsg == 4528 and z.zone == 40
    with pytest.raises(CRSError):
        crs.gk_zone_from_prefixed_easting(512_345.67)


@pytest.mark.parametrize("bad", ["EPSG:4326", "EPSG:4490", "EPSG:3857", "EPSG:3395"])
def test_refuse_to_measure_in_degrees_or_mercator(bad):
    with pytest.raises(CRSError, match="refusing"):
        crs.require_metric_crs(bad)
    with pytest.raises(CRSError):
        crs.planar_area_m2([box(0, 0, 1, 1)], crs=bad)


def test_metric_crs_accepted():
    assert crs.require_metric_crs("EPSG:4549").to_epsg() == 4549
    with pytest.raises(CRSError, match="no CRS"):
        crs.require_metric_crs(None)


def test_gk_crs_for_geodataframe_and_bounds():
    import geopandas as gpd

    g = gpd.GeoDataFrame(geometry=[box(118.7, 30.9, 118.8, 31.0)], crs="EPSG:4490")
    assert crs.gk_crs_for(g).to_epsg() == 4549
    assert crs.gk_crs_for((119.4, 30.8, 119.5, 30.9)).to_epsg() == 4549
    # data already in a GK zone keeps it; projected data in another CRS is located by its centre
    assert crs.gk_crs_for(g.to_crs(4549)).to_epsg() == 4549
    assert crs.gk_crs_for(g.to_crs(32650)).to_epsg() == 4549
    assert crs.gk_crs_for(g, zone_prefixed=True).to_epsg() == 4528


def test_known_square_area_planar_vs_geodesic():
    """A 2 km × 2 km square near 118.75E 30.95N: GK planar area within 0.1% of the geodesic area."""
    t = crs.transformer("EPSG:4490", "EPSG:4549")
    x, y = t.transform(118.75, 30.95)
    sq = box(x - 1000, y - 1000, x + 1000, y + 1000)
    planar = crs.planar_area_m2([sq], crs="EPSG:4549")[0]
    assert planar == pytest.approx(4_000_000.0, rel=1e-12)
    geodesic = crs.geodesic_area_m2(sq, crs="EPSG:4549")
    assert abs(planar - geodesic) / geodesic < 1e-3
    # and the planar figure is larger (GK scale factor > 1 away from the CM, here 1.25° west)
    assert planar > geodesic


def test_ensure_same_crs():
    import geopandas as gpd

    a = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4549")
    b = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4528")
    assert crs.ensure_same_crs(a, a.copy()).to_epsg() == 4549
    with pytest.raises(CRSMismatchError, match="parcels"):
        crs.ensure_same_crs(a, b, names=("zone", "parcels"))
    with pytest.raises(CRSError, match="no CRS"):
        crs.ensure_same_crs(a, gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))


def test_transformer_is_cached():
    assert crs.transformer("EPSG:4490", "EPSG:4549") is crs.transformer(4490, "EPSG:4549")
    x, y = crs.transformer("EPSG:4490", "EPSG:4549").transform(120.0, 31.0)
    assert x == pytest.approx(500000.0, abs=1e-6)  # on the central meridian
    assert math.isfinite(y) and y > 3_000_000


def test_web_mercator_detection():
    assert crs.is_web_mercator("EPSG:3857")
    assert not crs.is_web_mercator("EPSG:4549")
    assert np.isclose(crs.GEOD.a, 6378137.0)


def test_assign_crs_declares_but_never_reprojects():
    import geopandas as gpd

    g = gpd.GeoDataFrame(geometry=[box(448000, 3419000, 449000, 3420000)])
    out = crs.assign_crs(g, "EPSG:4549", source="red_line.dxf")
    assert out.crs.to_epsg() == 4549 and out.geometry.iloc[0].equals(g.geometry.iloc[0])
    assert crs.assign_crs(out, None) is out
    assert crs.assign_crs(out, 4549).crs.to_epsg() == 4549
    with pytest.raises(CRSMismatchError, match="red_line.dxf: the file declares EPSG:4549 but EPSG:4528 was given; drop --crs"):
        crs.assign_crs(out, "EPSG:4528", source="red_line.dxf", option="--crs")


def test_coordinate_problems_flag_what_cannot_be_data_in_the_crs():
    geoms = [box(118.7, 30.9, 118.8, 31.0), box(573000, 30.9, 573001, 31.0), box(118.7, 95.0, 118.8, 95.1),
             box(2.3, 48.8, 2.4, 48.9), None]
    r = crs.coordinate_problems(geoms, crs="EPSG:4490")
    assert r[0] == "" and r[4] == ""
    assert r[1] == "longitude beyond ±180°" and r[2] == "latitude beyond ±90°"
    assert r[3].startswith("outside the area of use of China Geodetic Coordinate System 2000")
    # projected: 573 000 m is a fine easting in GK zone 40, a northing of 1e9 m is not
    r = crs.coordinate_problems([box(573000, 3_420_000, 573100, 3_420_100), box(500000, 1e9, 500100, 1e9 + 100)],
                                crs="EPSG:4549")
    assert r[0] == "" and r[1] != ""


@pytest.mark.parametrize("src,dst", [("EPSG:4326", "EPSG:4549"), ("EPSG:4549", "EPSG:4326"), ("EPSG:4490", "EPSG:4326"),
                                     ("EPSG:4326", "EPSG:4490"), ("EPSG:4326", "EPSG:4528"), ("EPSG:4547", "EPSG:4326")])
def test_transformer_between_wgs84_and_cgcs2000_is_pyprojs_to_the_bit(src, dst):
    # crs.transformer builds these from CGCS2000 lon/lat instead of letting PROJ search (60–90 ms a pair):
    # that is only right while PROJ's own choice is the null "ballpark" offset — checked here, on both
    from pyproj import Transformer

    ref = Transformer.from_crs(src, dst, always_xy=True)
    assert "Ballpark geographic offset" in ref.description
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(117.0, 121.4, 500), rng.uniform(29.5, 32.5, 500)
    if crs.to_crs(src).is_projected:
        lon, lat = Transformer.from_crs("EPSG:4490", src, always_xy=True).transform(lon, lat)
    x, y = crs.transformer(src, dst).transform(lon, lat)
    rx, ry = ref.transform(lon, lat)
    assert np.array_equal(x, rx) and np.array_equal(y, ry)


def test_transformer_keeps_other_datums_to_proj():
    # only WGS84 against CGCS2000 is short-cut: WGS84 → Beijing 1954 GK still gets PROJ's own operation
    from pyproj import Transformer

    ref = Transformer.from_crs("EPSG:4326", "EPSG:2436", always_xy=True)
    x, y = crs.transformer("EPSG:4326", "EPSG:2436").transform(118.8, 30.9)
    assert (x, y) == ref.transform(118.8, 30.9)
    assert crs._cgcs2000_for_wgs84(crs.to_crs(4326), crs.to_crs(2436))[0] == crs.to_crs(4326)
    assert crs._cgcs2000_for_wgs84(crs.to_crs(4326), crs.to_crs(4549))[0] == crs.to_crs(4490)


def test_reproject_frame_equals_geopandas_to_crs():
    import geopandas as gpd
    from shapely.geometry import LineString, Point, Polygon

    geoms = [box(118.7, 30.9, 118.8, 31.0), Point(119.4, 30.8), LineString([(118.9, 30.95), (119.1, 31.05)]), None,
             Polygon(), Point(118.75, 30.92).buffer(0.01)]
    g = gpd.GeoDataFrame({"name": list("abcdef"), "v": range(6)}, geometry=geoms, crs="EPSG:4326", index=[5, 3, 9, 1, 0, 7])
    for dst in ("EPSG:4549", "EPSG:4490"):
        ours, ref = crs.reproject_frame(g, dst), g.to_crs(dst)
        assert ours.crs == ref.crs and list(ours.index) == list(ref.index)
        assert ours.drop(columns="geometry").equals(ref.drop(columns="geometry"))
        assert list(ours.geometry.to_wkb()) == list(ref.geometry.to_wkb())  # the same coordinates to the bit
        back, ref_back = crs.reproject_frame(ours, "EPSG:4326"), ref.to_crs("EPSG:4326")
        assert list(back.geometry.to_wkb()) == list(ref_back.geometry.to_wkb())
    assert g.geometry.iloc[0].equals(box(118.7, 30.9, 118.8, 31.0))  # the input is not changed
    with pytest.raises(CRSError, match="no CRS"):
        crs.reproject_frame(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), "EPSG:4549")
