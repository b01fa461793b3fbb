"""The coordinate columns of a table: locate, efficiency and report find them by one rule and give the same sites.

Bureau-style workbooks (title row, Chinese headers, every cell typed as text) with the coordinates under
经度/纬度 (BD-09), 东坐标(米)/北坐标(米) (CGCS2000 Gauss-Krüger, EPSG:4549) or two candidate pairs; the
firms and figures are invented (synthetic).
"""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import Workbook

from conftest import make_synthetic_boundaries
from xclz_geo.geo import crs

HEAD = ["序号", "企业名称", "用地面积(亩)", "实缴税金(万元)", "营业收入(万元)", "行业代码", "是否规上"]


def _sites_gk() -> list[tuple[float, float] | None]:
    """Centres of parts 0 and 1, a point 60 km east (outside) and a blank, in EPSG:4549 metres."""
    gk = make_synthetic_boundaries().to_crs("EPSG:4549").geometry
    a, b = gk.iloc[0].centroid, gk.iloc[1].centroid
    return [(a.x, a.y), (b.x, b.y), (a.x + 60_000, a.y), None]


def _workbook(path, coord_headers: list[str], coords: list[list[str]]) -> None:
    """A bureau workbook: title row, header, one text-typed row per firm (coordinates as the given texts)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名单"
    ws.append(["宣城某区规上企业名单（2024年度，合成数据）"])
    ws.append(HEAD[:2] + coord_headers + HEAD[2:])
    for i, xy in enumerate(coords, start=1):
        ws.append([str(i), f"合成企业{i}", *xy, str(10 + i), str(50 * i), str(1000 * i), "3484", "是"])
    for row in ws.iter_rows(min_row=3):
        for c in row:
            c.data_type = "s"
            c.number_format = "@"
    wb.save(path)


def _gk_texts() -> list[list[str]]:
    return [["", ""] if p is None else [f"{p[0]:.2f}", f"{p[1]:.2f}"] for p in _sites_gk()]


def _lonlat_texts(datum: str) -> list[list[str]]:
    to_ll = crs.transformer("EPSG:4549", "EPSG:4490")
    out = []
    for p in _sites_gk():
        if p is None:
            out.append(["", ""])
            continue
        lon, lat = to_ll.transform(*p)
        lon, lat = crs.convert_datum(lon, lat, from_datum="wgs84", to_datum=datum)
        out.append([f"{lon:.7f}", f"{lat:.7f}"])
    return out


def _three(run_cli, tmp_path, src, zone, *opts) -> dict[str, list]:
    """Run locate, efficiency and report on ``src``; per command the (status, part) of every row."""
    loc = tmp_path / "located.csv"
    r = run_cli("locate", "--input", src, "--boundaries", zone, "--out", loc, *opts)
    assert r.returncode == 0, r.stderr
    located = pd.read_csv(loc, dtype=str, keep_default_na=False)
    eff = tmp_path / "eff"
    r = run_cli("efficiency", "--input", src, "--boundaries", zone, "--out", eff, *opts)
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(eff / "scores.csv", dtype=str, keep_default_na=False)
    rep = tmp_path / "rep"
    r = run_cli("report", "--enterprises", src, "--boundaries", zone, "--no-samples", "--out", rep, "--json", *opts)
    assert r.returncode == 0, r.stderr
    sheet = pd.read_excel(next(rep.glob("*.xlsx")), sheet_name="enterprise_scores", dtype=str).fillna("")
    return {
        "locate": list(zip(located["xclz_status"], located["xclz_part"])),
        "efficiency": list(zip(scores["locate_status"], scores["part_id"])),
        "report": list(zip(sheet["定位 locate"], sheet["片区 part"])),
    }


WANT_LOCATE = [("inside", "xuancheng"), ("inside", "guangde_main"), ("outside", ""), ("invalid", "")]
#: efficiency and report say "no location" where locate says invalid (a blank coordinate is optional there)
WANT_FIRMS = [("inside", "xuancheng"), ("inside", "guangde_main"), ("outside", ""), ("no location", "")]


def test_projected_east_north_columns_with_crs_give_the_same_sites(run_cli, tmp_path, boundaries_file):
    src = tmp_path / "企业名单_东北坐标.xlsx"
    _workbook(src, ["东坐标(米)", "北坐标(米)"], _gk_texts())
    got = _three(run_cli, tmp_path, src, boundaries_file, "--crs", "EPSG:4549")
    assert got["locate"] == WANT_LOCATE
    assert got["efficiency"] == WANT_FIRMS
    assert got["report"] == WANT_FIRMS
    # the input cells are written back as typed (metres, not the converted degrees)
    scores = pd.read_csv(tmp_path / "eff" / "scores.csv", dtype=str, keep_default_na=False)
    assert scores["东坐标(米)"].tolist() == [t[0] for t in _gk_texts()]


def test_bd09_lonlat_text_cells_give_the_same_sites(run_cli, tmp_path, boundaries_file):
    src = tmp_path / "企业名单_百度.xlsx"
    _workbook(src, ["经度(BD-09)", "纬度(BD-09)"], _lonlat_texts("bd09"))
    got = _three(run_cli, tmp_path, src, boundaries_file, "--datum", "bd09")
    assert got["locate"] == WANT_LOCATE
    assert got["efficiency"] == got["report"] == WANT_FIRMS


def test_explicit_x_y_win_over_detection(run_cli, tmp_path, boundaries_file):
    """经度/纬度 hold rubbish; --x/--y name the GCJ-02 pair that is right, in all three commands."""
    src = tmp_path / "企业名单_两套坐标.xlsx"
    good = _lonlat_texts("gcj02")
    _workbook(src, ["经度", "纬度", "GD_X", "GD_Y"], [["待补充", "待补充", *xy] for xy in good])
    got = _three(run_cli, tmp_path, src, boundaries_file, "--datum", "gcj02", "--x", "GD_X", "--y", "GD_Y")
    assert got["locate"] == WANT_LOCATE
    assert got["efficiency"] == got["report"] == WANT_FIRMS


@pytest.mark.parametrize("command", ["locate", "efficiency", "report"])
def test_two_candidate_columns_are_an_exit_2_error_naming_them(run_cli, tmp_path, boundaries_file, command):
    src = tmp_path / "企业名单.xlsx"
    ll = _lonlat_texts("wgs84")
    _workbook(src, ["经度", "lon", "纬度"], [[a, a, b] for a, b in ll])
    inp = ["--enterprises", src, "--no-samples"] if command == "report" else ["--input", src]
    r = run_cli(command, *inp, "--boundaries", boundaries_file, "--out", tmp_path / ("o.csv" if command == "locate" else "o"))
    assert r.returncode == 2
    assert "2 columns could hold the x coordinate" in r.stderr and "'经度', 'lon'" in r.stderr and "--x" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli(command, *inp, "--boundaries", boundaries_file, "--out", tmp_path / ("o.csv" if command == "locate" else "o"),
                "--x", "lon", "--overwrite")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", ["efficiency", "report"])
def test_missing_named_column_and_bad_datum_crs_pair_exit_2(run_cli, tmp_path, boundaries_file, command):
    src = tmp_path / "企业名单.xlsx"
    _workbook(src, ["东坐标", "北坐标"], _gk_texts())
    inp = ["--enterprises", src, "--no-samples"] if command == "report" else ["--input", src]
    r = run_cli(command, *inp, "--boundaries", boundaries_file, "--out", tmp_path / "o", "--x", "X坐标")
    assert r.returncode == 2 and "no column 'X坐标'" in r.stderr and "'东坐标'" in r.stderr
    r = run_cli(command, *inp, "--boundaries", boundaries_file, "--out", tmp_path / "o", "--datum", "gcj02",
                "--crs", "EPSG:4549")
    assert r.returncode == 2 and "cannot be combined" in r.stderr
