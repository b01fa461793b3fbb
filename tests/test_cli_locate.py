"""``xclz-geo locate`` and ``xclz-geo convert`` end to end (files built in tmp_path).

The boundaries are the synthetic rectangles of tests/conftest.py (labelled synthetic,
500 m uncertainty) written to a GeoJSON file and passed with --boundaries; the sites
are generated around them and converted to GCJ-02/BD-09 with xclz_geo.geo.crs.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from xclz_geo.geo import crs
from xclz_geo.cli.main import main

from conftest import make_synthetic_boundaries  # noqa: E402


@pytest.fixture
def zone_file(tmp_path):
    p = tmp_path / "zone.geojson"
    make_synthetic_boundaries(uncertainty_m=500.0).to_file(p)
    return p


def _centre(part: int = 1) -> tuple[float, float]:
    g = make_synthetic_boundaries().to_crs("EPSG:4549").geometry.iloc[part].centroid
    lon, lat = crs.transformer("EPSG:4549", "EPSG:4490").transform(g.x, g.y)
    return float(lon), float(lat)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ one site


def test_one_site_in_gcj02_json(capsys, zone_file):
    lon, lat = _centre(1)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    code, out, _ = run_cli(capsys, "locate", f"{glon:.7f}", f"{glat:.7f}", "--datum", "gcj02", "--json",
                           "--boundaries", zone_file)
    assert code == 0
    info = json.loads(out)
    assert info["status"] == "inside"
    assert (info["part_id"], info["block_id"]) == ("guangde_main", "guangde")
    assert info["distance_m"] > 2000
    assert abs(info["wgs84"]["lon"] - lon) < 1e-6 and abs(info["wgs84"]["lat"] - lat) < 1e-6
    assert info["gk"]["crs"] == "EPSG:4549"
    assert info["quality"] == "synthetic"


def test_one_site_text_and_exit_codes(capsys, zone_file):
    lon, lat = _centre(0)
    code, out, _ = run_cli(capsys, "locate", lon, lat, "--boundaries", zone_file)
    assert code == 0 and out.startswith("inside: ") and "宣城经开区" in out
    code, out, _ = run_cli(capsys, "locate", lon + 0.5, lat, "--boundaries", zone_file)
    assert code == 1 and out.startswith("outside")
    # 2.6 km east of the centre of a 5.46 km square: ~130 m outside its drawn edge, inside the 500 m band
    x, y = crs.transformer("EPSG:4490", "EPSG:4549").transform(lon, lat)
    ulon, ulat = crs.transformer("EPSG:4549", "EPSG:4490").transform(x + 2860, y)
    code, out, _ = run_cli(capsys, "locate", ulon, ulat, "--boundaries", zone_file)
    assert code == 1 and out.startswith("uncertain: ") and "outside the drawn boundary" in out and "±500 m" in out
    code, out, _ = run_cli(capsys, "locate", lon, 95, "--boundaries", zone_file)
    assert code == 2 and "range" in out
    code, _, err = run_cli(capsys, "locate", lon, "--boundaries", zone_file)
    assert code == 2 and "LON LAT" in err


# ------------------------------------------------------------------ tables


def _firms(datum: str) -> pd.DataFrame:
    lon, lat = _centre(1)
    good = crs.convert_datum(lon, lat, from_datum="wgs84", to_datum=datum)
    out = crs.convert_datum(lon + 0.3, lat, from_datum="wgs84", to_datum=datum)
    return pd.DataFrame(
        {
            "企业名称": ["甲公司", "乙公司", "丙公司", "丁公司", "戊公司", "己公司", "庚公司"],
            "经度": [f"{good[0]:.7f}", f"{out[0]:.7f}", "", "东经119", "NaN", f"{good[0]:.7f}", "2.3522"],
            "纬度": [f"{good[1]:.7f}", f"{out[1]:.7f}", "30.9", "30.9", "30.9", "95", "48.8566"],
            "代码": ["0012", "0013", "0014", "0015", "0016", "0017", "0018"],
        }
    )


EXPECTED = ["inside", "outside", "invalid", "invalid", "invalid", "invalid", "invalid"]


def test_gbk_csv_end_to_end_keeps_every_row(capsys, tmp_path, zone_file):
    src = tmp_path / "firms.csv"
    _firms("gcj02").to_csv(src, index=False, encoding="gbk")
    dst = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "locate", "--input", src, "--out", dst, "--datum", "gcj02", "--boundaries", zone_file)
    assert code == 0, err
    raw = dst.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    back = pd.read_csv(dst, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns) == ["企业名称", "经度", "纬度", "代码", "xclz_status", "xclz_zone", "xclz_block", "xclz_part",
                                  "xclz_distance_m", "xclz_quality", "xclz_note"]
    assert back["企业名称"].tolist() == _firms("gcj02")["企业名称"].tolist()
    assert back["代码"].tolist()[0] == "0012"  # text kept as text
    assert back["xclz_status"].tolist() == EXPECTED
    assert back["xclz_part"].iloc[0] == "guangde_main" and back["xclz_block"].iloc[0] == "guangde"
    notes = back["xclz_note"].tolist()
    assert "blank" in notes[2] and "not a number" in notes[3] and "95" in notes[5] and "outside China" in notes[6]
    assert "7 rows" in err


def test_chunked_csv_equals_one_chunk(capsys, tmp_path, zone_file):
    src = tmp_path / "firms.csv"
    _firms("wgs84").to_csv(src, index=False, encoding="utf-8-sig")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run_cli(capsys, "locate", "-i", src, "-o", a, "--boundaries", zone_file)[0] == 0
    assert run_cli(capsys, "locate", "-i", src, "-o", b, "--boundaries", zone_file, "--chunk-rows", 2)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert pd.read_csv(a)["xclz_status"].tolist()[:2] == ["inside", "outside"]


def test_xlsx_in_bd09_with_chinese_headers(capsys, tmp_path, zone_file):
    src = tmp_path / "firms.xlsx"
    df = _firms("bd09")
    df["经度"] = pd.to_numeric(df["经度"], errors="coerce").astype(object).where(df["经度"] != "东经119", "东经119")
    df.to_excel(src, index=False)
    dst = tmp_path / "out.xlsx"
    code, _, err = run_cli(capsys, "locate", "--input", src, "--out", dst, "--datum", "bd09", "--boundaries", zone_file)
    assert code == 0, err
    back = pd.read_excel(dst)
    assert len(back) == 7
    assert back["xclz_status"].tolist() == EXPECTED
    assert back["企业名称"].tolist()[0] == "甲公司"
    notes = back["xclz_note"].fillna("").tolist()
    assert "blank" in notes[2] and "not a number" in notes[3] and "outside China" in notes[6]


def test_geojson_points_to_gpkg_and_geoparquet(capsys, tmp_path, zone_file):
    lon, lat = _centre(2)
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(lon, lat), shapely.Point(lon + 1, lat)],
                           crs="EPSG:4326")
    src = tmp_path / "sites.geojson"
    gdf.to_file(src)
    dst = tmp_path / "sites.gpkg"
    assert run_cli(capsys, "locate", "-i", src, "-o", dst, "--boundaries", zone_file)[0] == 0
    back = gpd.read_file(dst)
    assert back["xclz_status"].tolist() == ["inside", "outside"]
    assert back["xclz_part"].iloc[0] == "guangde_west"
    assert back.geometry.iloc[0].distance(shapely.Point(lon, lat)) < 1e-9
    pq = tmp_path / "sites.parquet"
    gdf.to_parquet(pq)
    out_pq = tmp_path / "located.parquet"
    assert run_cli(capsys, "locate", "-i", pq, "-o", out_pq, "--boundaries", zone_file)[0] == 0
    assert gpd.read_parquet(out_pq)["xclz_status"].tolist() == ["inside", "outside"]


def test_table_to_gpkg_gets_wgs84_points(capsys, tmp_path, zone_file):
    src = tmp_path / "firms.csv"
    _firms("gcj02").to_csv(src, index=False)
    dst = tmp_path / "firms.gpkg"
    assert run_cli(capsys, "locate", "-i", src, "-o", dst, "--datum", "gcj02", "--boundaries", zone_file)[0] == 0
    back = gpd.read_file(dst)
    assert len(back) == 7 and back.crs.to_epsg() == 4326
    lon, lat = _centre(1)
    assert back.geometry.iloc[0].distance(shapely.Point(lon, lat)) < 1e-6  # converted back to WGS84
    assert back.geometry.iloc[2] is None or back.geometry.iloc[2].is_empty


def test_undetectable_columns_are_asked_for(capsys, tmp_path, zone_file):
    src = tmp_path / "t.csv"
    pd.DataFrame({"东": [119.0], "北": [30.9]}).to_csv(src, index=False)
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "o.csv", "--boundaries", zone_file)
    assert code == 2 and "'东', '北'" in err and "--x" in err
    assert not (tmp_path / "o.csv").exists()
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "o.csv", "--x", "东", "--y", "北",
                           "--boundaries", zone_file)
    assert code == 0, err
    assert not list(tmp_path.glob(".*partial"))


def test_gk_coordinates_with_crs(capsys, tmp_path, zone_file):
    lon, lat = _centre(0)
    x, y = crs.transformer("EPSG:4490", "EPSG:4549").transform(lon, lat)
    src = tmp_path / "survey.csv"
    pd.DataFrame({"x": [x, x + 9000], "y": [y, y]}).to_csv(src, index=False)
    dst = tmp_path / "o.csv"
    assert run_cli(capsys, "locate", "-i", src, "-o", dst, "--crs", "EPSG:4549", "--boundaries", zone_file)[0] == 0
    assert pd.read_csv(dst)["xclz_status"].tolist() == ["inside", "outside"]


# ------------------------------------------------------------------ convert


def test_convert_round_trip_keeps_attributes(capsys, tmp_path, zone_file):
    gcj = tmp_path / "z_gcj.gpkg"
    code, _, err = run_cli(capsys, "convert", "-i", zone_file, "-o", gcj, "--from", "wgs84", "--to", "gcj02")
    assert code == 0, err
    back = tmp_path / "z_back.geojson"
    assert run_cli(capsys, "convert", "-i", gcj, "-o", back, "--from", "gcj02", "--to", "cgcs2000")[0] == 0
    a = gpd.read_file(zone_file)
    g = gpd.read_file(gcj)
    b = gpd.read_file(back)
    assert g["part_id"].tolist() == a["part_id"].tolist() and b["name_zh"].tolist() == a["name_zh"].tolist()
    # GCJ-02 moved every vertex by hundreds of metres; the way back lands within a millimetre
    ca = shapely.get_coordinates(a.geometry.values)
    cg = shapely.get_coordinates(g.geometry.values)
    cb = shapely.get_coordinates(b.geometry.values)
    assert np.abs(cg - ca).max() > 0.003
    assert np.abs(cb - ca).max() < 1e-8


def test_convert_refuses_features_outside_china_and_writes_nothing(capsys, tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["宣城", "Paris"]}, geometry=[shapely.Point(118.75, 30.95), shapely.Point(2.35, 48.85)],
                           crs="EPSG:4326")
    src = tmp_path / "mixed.geojson"
    gdf.to_file(src)
    dst = tmp_path / "out.geojson"
    code, _, err = run_cli(capsys, "convert", "-i", src, "-o", dst, "--from", "gcj02", "--to", "wgs84")
    assert code == 2
    assert "row 1" in err and "Paris" in err and "Nothing was written" in err
    assert not dst.exists()
    # WGS84 → CGCS2000 has no such limit (GeoPackage keeps EPSG:4490; GeoJSON is always lon/lat WGS84)
    gpkg = tmp_path / "out.gpkg"
    assert run_cli(capsys, "convert", "-i", src, "-o", gpkg, "--from", "wgs84", "--to", "cgcs2000")[0] == 0
    assert gpd.read_file(gpkg).crs.to_epsg() == 4490


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_header_only_csv_gives_header_only_output(capsys, tmp_path, zone_file, suffix):
    src = tmp_path / "empty.csv"
    src.write_text("名称,经度,纬度\n", encoding="utf-8")
    dst = tmp_path / f"out{suffix}"
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", dst, "--boundaries", zone_file)
    assert code == 0, err
    back = pd.read_csv(dst, encoding="utf-8-sig") if suffix == ".csv" else pd.read_excel(dst)
    assert len(back) == 0
    assert list(back.columns)[-7:] == ["xclz_status", "xclz_zone", "xclz_block", "xclz_part", "xclz_distance_m", "xclz_quality", "xclz_note"]


# ------------------------------------------------------------------ quality per part and row


@pytest.fixture
def mixed_file(tmp_path):
    from conftest import make_mixed_quality_boundaries

    p = tmp_path / "mixed.geojson"
    make_mixed_quality_boundaries().to_file(p)
    return p


def test_mixed_zone_one_site_text_and_json_carry_the_parts_quality(capsys, mixed_file):
    lon, lat = _centre(1)  # the official 主园区
    code, out, _ = run_cli(capsys, "locate", lon, lat, "--boundaries", mixed_file)
    assert code == 0 and out.startswith("inside: 广德经开区主园区")
    assert "quality of this answer: official (boundaries: 广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic)" in out
    assert "schematic, not official" not in out  # the zone is not labelled by its worst part
    code, out, _ = run_cli(capsys, "locate", lon, lat, "--boundaries", mixed_file, "--json")
    info = json.loads(out)
    assert info["xclz_quality"] == "official" and info["quality"] == "official"
    assert info["quality_by_part"] == {"xuancheng": "schematic", "guangde_main": "official", "guangde_west": "schematic"}
    lon0, lat0 = _centre(0)
    info = json.loads(run_cli(capsys, "locate", lon0, lat0, "--boundaries", mixed_file, "--json")[1])
    assert info["status"] == "inside" and info["xclz_quality"] == "schematic"
    info = json.loads(run_cli(capsys, "locate", lon0 + 1.5, lat0, "--boundaries", mixed_file, "--json")[1])
    assert info["status"] == "outside" and info["xclz_quality"] == "schematic"  # outside: the least reliable part's


def test_point_on_the_boundary_says_so(capsys, mixed_file):
    import geopandas as gpd

    g = gpd.read_file(mixed_file).set_index("part_id").geometry["guangde_main"]
    lon, lat = list(g.exterior.coords)[0]  # a vertex of the official part: on its red line
    code, out, _ = run_cli(capsys, "locate", f"{lon!r}", f"{lat!r}", "--boundaries", mixed_file)
    assert code == 0 and out.startswith("inside: ")
    assert "on the boundary (0 m)" in out and "0.0 m" not in out


def test_every_located_row_carries_xclz_quality(capsys, tmp_path, mixed_file):
    from xclz_geo.geo.locate import locate
    from xclz_geo.boundaries.zone import Zone

    (l0, a0), (l1, a1) = _centre(0), _centre(1)
    src = tmp_path / "sites.csv"
    pd.DataFrame({"名称": ["宣城", "广德", "远处", "坏的", "北极外", "经度太大"],
                  "经度": [l0, l1, l0 + 1.5, "待补充", l0, 573000],
                  "纬度": [a0, a1, a0, a0, 95, a0]}).to_csv(src, index=False, encoding="utf-8-sig")
    for suffix in (".csv", ".xlsx"):
        dst = tmp_path / f"out{suffix}"
        code, _, err = run_cli(capsys, "locate", "--input", src, "--out", dst, "--boundaries", mixed_file)
        assert code == 0, err
        back = (pd.read_csv(dst, dtype=str, keep_default_na=False, encoding="utf-8-sig") if suffix == ".csv"
                else pd.read_excel(dst, dtype=str, keep_default_na=False))
        assert back["xclz_status"].tolist() == ["inside", "inside", "outside", "invalid", "invalid", "invalid"]
        assert back["xclz_quality"].tolist() == ["schematic", "official", "schematic", "", "", ""]
        assert "out of range" in back["xclz_note"].iloc[4] and "out of range" in back["xclz_note"].iloc[5]
    df = locate(Zone.from_boundaries(gpd.read_file(mixed_file)), [(l0, a0), (l1, a1)])
    assert df["quality"].tolist() == ["schematic", "official"]


# ------------------------------------------------------------------ round-trip fidelity (bureau workbook)

from bureau_tables import HEADER, TITLE, make_bureau_workbook  # noqa: E402


def _same_cells(src, dst) -> None:
    """Every cell of every sheet of the workbook ``src`` is in ``dst`` unchanged (value, type, format)."""
    from openpyxl import load_workbook

    a, b = load_workbook(src), load_workbook(dst)
    assert b.sheetnames[: len(a.sheetnames)] == a.sheetnames
    for ws in a.worksheets:
        for row in ws.iter_rows():
            for c in row:
                o = b[ws.title][c.coordinate]
                assert (o.value, o.number_format) == (c.value, c.number_format), (ws.title, c.coordinate)
                if c.value is not None:
                    assert o.data_type == c.data_type, (ws.title, c.coordinate)


def test_bureau_workbook_through_locate_to_xlsx_and_csv(capsys, tmp_path, zone_file):
    src = tmp_path / "企业名单.xlsx"
    want = make_bureau_workbook(src, *_centre(1))
    dst = tmp_path / "out.xlsx"
    code, _, err = run_cli(capsys, "locate", "--input", src, "--out", dst, "--datum", "bd09", "--boundaries", zone_file)
    assert code == 0, err
    _same_cells(src, dst)
    from openpyxl import load_workbook

    wb = load_workbook(dst)
    assert wb.sheetnames == ["企业名单", "说明"]
    ws = wb["企业名单"]
    assert ws["A1"].value == TITLE and [c.value for c in ws[3]][: len(HEADER)] == HEADER
    added = [c.value for c in ws[3]][len(HEADER):]
    assert added == ["xclz_status", "xclz_zone", "xclz_block", "xclz_part", "xclz_distance_m", "xclz_quality", "xclz_note"]
    status = [ws.cell(r, len(HEADER) + 1).value for r in range(4, 9)]
    assert status == ["inside", "outside", "invalid", "invalid", "inside"]
    note = len(HEADER) + added.index("xclz_note") + 1
    assert "经度 is blank" in ws.cell(6, note).value and "待补充" in ws.cell(7, note).value
    # CSV: every original cell as text, header as typed, then the added columns
    out_csv = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "locate", "--input", src, "--out", out_csv, "--datum", "bd09", "--boundaries", zone_file)
    assert code == 0, err
    import csv as _csv

    with open(out_csv, encoding="utf-8-sig", newline="") as fh:
        rows = list(_csv.reader(fh))
    assert rows[0] == HEADER + added
    assert [r[: len(HEADER)] for r in rows[1:]] == want["rows"]
    assert [r[len(HEADER)] for r in rows[1:]] == status


def test_csv_with_title_row_and_trailing_commas_streams_unchanged(capsys, tmp_path, zone_file):
    lon, lat = _centre(1)
    src = tmp_path / "sites.csv"
    lines = ["2024年企业名单,,,", "统一社会信用代码,名称,经度,纬度,",
             f"913418001234567890,甲,{lon:.6f},{lat:.6f},", f"0012,\"=1+2\",{lon + 0.4:.6f},{lat:.6f}",
             "091341800000000001,乙,,30.9,"]
    src.write_text("\n".join(lines) + "\n", encoding="gbk")
    dst = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", dst, "--boundaries", zone_file, "--chunk-rows", 1)
    assert code == 0, err
    back = pd.read_csv(dst, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns[:4]) == ["统一社会信用代码", "名称", "经度", "纬度"]
    assert back["统一社会信用代码"].tolist() == ["913418001234567890", "0012", "091341800000000001"]
    assert back["名称"].tolist() == ["甲", "=1+2", "乙"]
    assert back["xclz_status"].tolist() == ["inside", "outside", "invalid"]
    safe = tmp_path / "safe.csv"
    assert run_cli(capsys, "locate", "-i", src, "-o", safe, "--boundaries", zone_file, "--csv-safe")[0] == 0
    assert pd.read_csv(safe, dtype=str, encoding="utf-8-sig")["名称"].tolist()[1] == "'=1+2"
    # --header-row names the header when a title row looks like one
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "h.csv", "--boundaries", zone_file, "--header-row", "2")
    assert code == 0, err


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_ragged_row_with_a_value_exits_2_naming_the_row(capsys, tmp_path, zone_file, suffix):
    src = tmp_path / "r.csv"
    src.write_text("名称,经度,纬度\n甲,118.7,30.9\n乙,118.8,30.9,多余\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / f"o{suffix}", "--boundaries", zone_file)
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("xclz-geo: error:")]
    assert len(lines) == 1 and "row 3 has 4 fields" in lines[0] and "'多余'" in lines[0]


def test_nul_in_a_cell_exits_0_with_a_warning(capsys, tmp_path, zone_file):
    lon, lat = _centre(1)
    src = tmp_path / "nul.csv"
    src.write_text(f"名称,经度,纬度\n甲\x00公司,{lon},{lat}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "o.xlsx", "--boundaries", zone_file)
    assert code == 0, err
    assert "column 名称: 1 cell(s) held control characters" in err
    assert pd.read_excel(tmp_path / "o.xlsx")["名称"].tolist() == ["甲公司"]
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "o.csv", "--boundaries", zone_file)
    assert code == 0, err
    assert "甲\x00公司".encode() in (tmp_path / "o.csv").read_bytes()  # the CSV keeps the cell as it was


def test_empty_csv_exits_2_with_one_line(capsys, tmp_path, zone_file):
    src = tmp_path / "e.csv"
    src.write_bytes(b"")
    code, _, err = run_cli(capsys, "locate", "-i", src, "-o", tmp_path / "o.csv", "--boundaries", zone_file)
    lines = [ln for ln in err.splitlines() if ln.startswith("xclz-geo: error:")]
    assert code == 2 and len(lines) == 1 and "e.csv: the file is empty" in lines[0] and "Traceback" not in err


def test_locate_on_its_own_workbook_output_keeps_the_old_results_renamed(capsys, tmp_path, zone_file):
    from openpyxl import load_workbook

    src = tmp_path / "企业名单.xlsx"
    make_bureau_workbook(src, *_centre(1))
    first, second = tmp_path / "1.xlsx", tmp_path / "2.xlsx"
    assert run_cli(capsys, "locate", "-i", src, "-o", first, "--datum", "bd09", "--boundaries", zone_file)[0] == 0
    code, _, err = run_cli(capsys, "locate", "-i", first, "-o", second, "--datum", "bd09", "--boundaries", zone_file)
    assert code == 0 and "not trusted" in err
    a, b = load_workbook(first)["企业名单"], load_workbook(second)["企业名单"]
    head_a, head_b = [c.value for c in a[3]], [c.value for c in b[3]]
    k = head_a.index("xclz_status")
    assert head_b[k] == "xclz_status_input" and head_b.count("xclz_status") == 1 and head_b.index("xclz_status") > k
    for r in range(4, 9):  # the old results' cells are unchanged, the recomputed ones agree
        assert b.cell(r, k + 1).value == a.cell(r, k + 1).value == b.cell(r, head_b.index("xclz_status") + 1).value
    assert b["A1"].value == a["A1"].value == TITLE and b.parent.sheetnames == ["企业名单", "说明"]


@pytest.mark.parametrize("suffix", [".parquet", ".gpkg"])
def test_csv_safe_reaches_csv_written_from_parquet_and_vector_inputs(capsys, tmp_path, zone_file, suffix):
    """--csv-safe was dropped when the input was Parquet or a vector layer (the CSV then carried "=1+2" bare)."""
    import geopandas as gpd

    lon, lat = _centre(1)
    df = pd.DataFrame({"名称": ["甲", "=1+2"], "经度": [lon, lon + 0.4], "纬度": [lat, lat]})
    src = tmp_path / f"sites{suffix}"
    if suffix == ".parquet":
        df.to_parquet(src)
    else:
        gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["经度"], df["纬度"]), crs="EPSG:4326").to_file(src)
    for flag, expected in (([], "=1+2"), (["--csv-safe"], "'=1+2")):
        dst = tmp_path / f"out{len(flag)}.csv"
        code, _, err = run_cli(capsys, "locate", "-i", src, "-o", dst, "--boundaries", zone_file, *flag)
        assert code == 0, err
        assert pd.read_csv(dst, dtype=str, encoding="utf-8-sig")["名称"].tolist() == ["甲", expected]
