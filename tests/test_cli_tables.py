"""Tables through every command that writes them: no formula from user text in any XLSX the tool writes,
and ``map --sites`` reads a site table like ``locate`` does (never shifting a column).

Payloads are firm and parcel names a user (or an attacker) could type; the synthetic boundaries and
parcels are those of tests/conftest.py and tests/test_report.py (quality ``synthetic``).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from openpyxl import load_workbook

from xclz_geo.cli.main import main
from xclz_geo.datasets import data_path

PAYLOADS = ['=HYPERLINK("http://x","click")', "=1+2", "=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-1"]


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _formula_cells(path) -> list[str]:
    """Every formula cell in every sheet of a workbook (``sheet!A1``)."""
    wb = load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def _texts(path) -> set[str]:
    wb = load_workbook(path)
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


@pytest.fixture
def firms_csv(tmp_path):
    src = data_path("samples", "enterprises_synthetic.csv", must_exist=False)
    if not src.exists():
        pytest.skip("data/samples/enterprises_synthetic.csv is not in this checkout")
    df = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    name = next(c for c in df.columns if "名称" in c)
    for i, p in enumerate(PAYLOADS):
        df.loc[i, name] = p
    f = tmp_path / "firms.csv"
    df.to_csv(f, index=False, encoding="utf-8-sig")
    return f


def test_no_xlsx_written_by_the_tool_holds_a_formula(capsys, tmp_path, boundaries_file, firms_csv):
    from test_report import make_parcels

    written = []
    # locate: CSV in, XLSX out
    dst = tmp_path / "located.xlsx"
    code, _, err = _run(capsys, "locate", "-i", firms_csv, "-o", dst, "--boundaries", boundaries_file)
    assert code == 0, err
    written.append(dst)
    # efficiency: scores.xlsx
    out = tmp_path / "eff"
    code, _, err = _run(capsys, "efficiency", "--enterprises", firms_csv, "--out", out, "--boundaries", boundaries_file)
    assert code == 0, err
    written.append(out / "scores.xlsx")
    # report: enterprise_scores and underused_land sheets; parcel names are payloads too
    parcels = make_parcels()
    parcels["地块编号"] = [PAYLOADS[i % len(PAYLOADS)] + f"#{i}" for i in range(len(parcels))]
    pfile = tmp_path / "parcels.gpkg"
    parcels.to_file(pfile, driver="GPKG")
    rep = tmp_path / "rep"
    code, _, err = _run(capsys, "report", "--boundaries", boundaries_file, "--enterprises", firms_csv, "--parcels", pfile,
                        "--out", rep, "--json")
    assert code == 0, err
    xlsx = next(rep.glob("*.xlsx"))
    assert {"enterprise_scores", "underused_land"} <= set(load_workbook(xlsx, read_only=True).sheetnames)
    written.append(xlsx)
    # landuse: the name of an unknown code is the user's text (DLMC)
    parcels["DLMC"] = "=1+2"
    parcels.loc[0, "DLBM"] = "0699"
    lfile = tmp_path / "dltb.gpkg"
    parcels.to_file(lfile, driver="GPKG")
    lu = tmp_path / "landuse.xlsx"
    code, _, err = _run(capsys, "landuse", "--parcels", lfile, "--boundaries", boundaries_file, "--out", lu)
    assert code in (0, 1), err
    written.append(lu)
    for path in written:
        assert _formula_cells(path) == [], path
        texts = _texts(path)
        assert "=1+2" in texts or any(t.startswith("=1+2#") for t in texts), path  # the payload is there, as text


def test_map_sites_reads_like_locate(capsys, tmp_path, boundaries_file, synthetic_boundaries):
    g = synthetic_boundaries.to_crs("EPSG:4490").geometry.iloc[0].representative_point()
    src = tmp_path / "sites.csv"
    # a title row, a trailing comma, 经度/纬度 detected, an 18-digit code, a stale xclz_status that lies
    src.write_text("现场核查点位\n统一社会信用代码,名称,经度,纬度,xclz_status,\n"
                   f"913418001234567890,甲,{g.x:.6f},{g.y:.6f},outside,\n"
                   "913418001234567891,乙,abc,def,inside,\n", encoding="utf-8")
    out = tmp_path / "m.html"
    code, stdout, err = _run(capsys, "map", "--out", out, "--boundaries", boundaries_file, "--sites", src, "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["site_status"] == {"inside": 1, "invalid": 1}  # recomputed, not taken from the input
    assert "913418001234567890" in out.read_text(encoding="utf-8")
    src.write_text("名称,经度,纬度\n甲,118.7,30.9,多余\n", encoding="utf-8")
    code, _, err = _run(capsys, "map", "--out", out, "--boundaries", boundaries_file, "--sites", src)
    assert code == 2 and "row 2 has 4 fields" in err


def test_report_reads_a_bureau_workbook_by_sheet_and_header_row(capsys, tmp_path, boundaries_file):
    from bureau_tables import make_bureau_workbook

    src = tmp_path / "firms.xlsx"
    make_bureau_workbook(src, 118.775, 30.915)
    rep = tmp_path / "rep"
    code, _, err = _run(capsys, "report", "--boundaries", boundaries_file, "--enterprises", src, "--sheet", "企业名单",
                        "--header-row", "3", "--no-samples", "--out", rep, "--json")
    assert code == 0, err
    xlsx = next(rep.glob("*.xlsx"))
    ws = load_workbook(xlsx)["enterprise_scores"]
    codes = {c.value for row in ws.iter_rows() for c in row}
    assert {"913418001234567890", "913418000000000017", "91341800MA2N0C1234"} <= codes  # exact, as text
    assert _formula_cells(xlsx) == []
