"""Which columns hold the coordinates (xclz_geo.geo.xycols): the one rule of locate, map, efficiency and report."""

from __future__ import annotations

import pytest

from xclz_geo.errors import InputDataError
from xclz_geo.geo.locate import detect_xy_columns
from xclz_geo.geo.xycols import find_xy_columns, header_key


@pytest.mark.parametrize(("columns", "want"), [
    (["企业名称", "经度", "纬度"], ("经度", "纬度")),
    (["Name", " LNG ", "Lat"], (" LNG ", "Lat")),
    (["名称", "经度(°)", "纬度（°）"], ("经度(°)", "纬度（°）")),
    (["名称", "经度_GCJ02", "纬度_GCJ02"], ("经度_GCJ02", "纬度_GCJ02")),
    (["名称", "X坐标(米)", "Y坐标(米)"], ("X坐标(米)", "Y坐标(米)")),
    (["名称", "东坐标", "北坐标"], ("东坐标", "北坐标")),
    (["名称", "Easting", "Northing"], ("Easting", "Northing")),
    (["名称", "x", "y"], ("x", "y")),
    (["QYMC", "JD", "WD"], ("JD", "WD")),
    # lon/lat names win over plane names (a table with both WGS84 and Gauss-Krüger columns)
    (["名称", "X", "Y", "经度", "纬度"], ("经度", "纬度")),
    # .dbf names cut to 10 bytes: "longitude_wgs84" → "longitude_", "东坐标（米）" in GBK → "东坐标（米"
    (["NAME", "longitude_", "latitude_w"], ("longitude_", "latitude_w")),
    (["名称", "东坐标（米", "北坐标（米"], ("东坐标（米", "北坐标（米")),
])
def test_detection_covers_the_usual_names(columns, want):
    assert find_xy_columns(columns) == want
    assert detect_xy_columns(columns) == want  # locate's entry point gives the same


def test_explicit_columns_win_and_must_exist():
    assert find_xy_columns(["经度", "纬度", "lon2", "lat2"], x="lon2", y="lat2") == ("lon2", "lat2")
    assert find_xy_columns(["a", "B "], x="a", y="b") == ("a", "B ")
    with pytest.raises(InputDataError, match=r"sites.csv: no column 'lon' .*--x.*columns are: 'x', 'y'"):
        find_xy_columns(["x", "y"], x="lon", source="sites.csv")


def test_ambiguous_names_the_candidates():
    with pytest.raises(InputDataError, match=r"t.xlsx: 2 columns could hold the x coordinate.*'经度', 'lon'.*--x COLUMN"):
        find_xy_columns(["经度", "lon", "纬度"], source="t.xlsx")
    with pytest.raises(InputDataError, match=r"'纬度_WGS84', '纬度_GCJ02'.*--y"):
        find_xy_columns(["经度_WGS84", "纬度_WGS84", "经度_GCJ02", "纬度_GCJ02"], x="经度_WGS84")


def test_missing_is_an_error_only_when_required():
    with pytest.raises(InputDataError, match="cannot tell which column holds the x coordinate"):
        find_xy_columns(["东", "北"], source="sites.csv")
    assert find_xy_columns(["企业名称", "用地面积"], required=False) == (None, None)
    assert find_xy_columns(["企业名称", "经度"], required=False) == ("经度", None)
    with pytest.raises(InputDataError, match="same column"):
        find_xy_columns(["a", "b"], x="a", y="a")


def test_header_key_drops_units_datums_and_separators():
    assert header_key("  经度（GCJ-02）") == "经度"
    assert header_key("X坐标/m") == "x坐标"
    assert header_key("lon_wgs84") == "lon"
    assert header_key("WGS84_LAT") == "lat"
