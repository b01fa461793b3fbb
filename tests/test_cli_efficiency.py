"""``xclz-geo efficiency`` end to end: files written, every row kept in order, exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xclz_geo.cli.main import main


def table() -> pd.DataFrame:
    rows = []
    for i, (land, tax) in enumerate([(10, 100), (20, 100), (50, 400), (0, 10), (12, "n/a?"), (30, 90)]):
        rows.append({"统一社会信用代码": f"C{i}", "企业名称": f"企业{i}", "是否规上": "是", "行业代码": "3484",
                     "用地面积(亩)": land, "实缴税金(万元)": tax, "营业收入(万元)": 3000 + 100 * i,
                     "综合能耗(吨标煤)": 100 + i, "备用列": f"x{i}"})
    return pd.DataFrame(rows)


def test_cli_writes_scores_summary_xlsx(tmp_path, capsys):
    src = tmp_path / "firms.csv"
    table().to_csv(src, index=False, encoding="gbk")
    out = tmp_path / "out"
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone"])
    assert rc == 0
    raw = (out / "scores.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    s = pd.read_csv(out / "scores.csv", encoding="utf-8-sig", dtype={"统一社会信用代码": str})
    assert list(s["统一社会信用代码"]) == [f"C{i}" for i in range(6)]  # every row, input order
    for col in ("备用列", "用地面积(亩)", "tax_per_mu", "revenue_per_mu", "score_tax_per_mu", "total_score",
                "rank", "class", "status", "reason"):
        assert col in s.columns
    assert list(s["status"]) == ["evaluated", "evaluated", "evaluated", "not_evaluated", "invalid", "evaluated"]
    assert s.loc[0, "tax_per_mu"] == pytest.approx(10.0)
    assert pd.isna(s.loc[3, "class"]) and pd.isna(s.loc[4, "class"])
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summ["counts"] == {"evaluated": 4, "not_evaluated": 1, "invalid": 1}
    assert summ["input"]["unknown_columns"] == ["备用列"]
    assert summ["method"]["id"] == "anhui" and summ["disclaimer"]
    x = pd.read_excel(out / "scores.xlsx", sheet_name=None)
    assert {"scores", "by_class", "method"} <= set(x)
    assert len(x["scores"]) == 6
    printed = capsys.readouterr()
    assert "备用列" in printed.out and "not fully confirmed" in printed.out


def test_cli_zhejiang_json_and_strict(tmp_path, capsys):
    src = tmp_path / "firms.xlsx"
    table().to_excel(src, index=False)
    out = tmp_path / "o"
    rc = main(["efficiency", "--enterprises", str(src), "--method", "zhejiang", "--out", str(out), "--no-zone",
               "--json", "--strict"])
    assert rc == 1  # one invalid row with --strict
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"]["id"] == "zhejiang"


def test_cli_template(tmp_path):
    p = tmp_path / "t.xlsx"
    assert main(["efficiency", "template", "--out", str(p)]) == 0
    assert "说明" in pd.read_excel(p, sheet_name=None)


def test_cli_bad_inputs_exit_2(tmp_path, capsys):
    assert main(["efficiency", "--enterprises", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[method]\nid = 'x'\n", encoding="utf-8")
    src = tmp_path / "f.csv"
    table().to_csv(src, index=False)
    assert main(["efficiency", "--enterprises", str(src), "--method", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "method.source" in err and "Traceback" not in err
    assert main(["efficiency", "--out", str(tmp_path / "o")]) == 2


def test_cli_bundled_sample_with_bundled_zone(tmp_path):
    pytest.importorskip("xclz_geo.geo.locate")
    from xclz_geo.datasets import data_path

    b = data_path("boundaries", "zone.geojson", must_exist=False)
    if not b.exists():
        pytest.skip("bundled zone.geojson not in this checkout")
    out = tmp_path / "s"
    rc = main(["efficiency", "--enterprises", str(data_path("samples", "enterprises_synthetic.csv")),
               "--boundaries", str(b), "--out", str(out)])
    assert rc == 0
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    parts = {r["part"] for r in summ["by_part"]}
    assert {"xuancheng", "guangde_main"} <= parts
    assert summ["data_quality"] == "synthetic"
    assert summ["location"]["boundaries_quality"] == "schematic"
    s = pd.read_csv(out / "scores.csv", encoding="utf-8-sig")
    assert len(s) == 150 and {"part_id", "block_id", "locate_status"} <= set(s.columns)


def test_cli_parcels_write_intensity_and_underused(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    x0, y0 = 380_000.0, 3_420_000.0
    parcels = gpd.GeoDataFrame(
        {"地块编号": ["P1", "P2"], "统计类别": ["A2", "B21"], "是否已供应": ["是", "是"], "是否闲置": ["否", "是"],
         "总建筑面积(平方米)": [3000.0, None], "建筑基底面积(平方米)": [2000.0, None], "行业代码": ["2927", None]},
        geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 200, y0, x0 + 300, y0 + 100)], crs="EPSG:4549")
    pf = tmp_path / "parcels.gpkg"
    parcels.to_file(pf, driver="GPKG")
    src = tmp_path / "f.csv"
    table().to_csv(src, index=False)
    out = tmp_path / "o"
    rc = main(["efficiency", "--enterprises", str(src), "--parcels", str(pf), "--out", str(out), "--no-zone",
               "--tax-share-of-median", "0"])
    assert rc == 0
    u = pd.read_csv(out / "underused.csv", encoding="utf-8-sig").set_index("parcel_id")
    # P1: 容积率 0.3 < 0.8 (industry 29) → 15 亩 × (1 − 0.3/0.8); 建筑系数 20% < 30% → smaller gap. P2 idle: 15 亩
    assert u.loc["P1", "freeable_mu"] == pytest.approx(15 * (1 - 0.3 / 0.8))
    assert u.loc["P2", "flags"] == "idle"
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summ["underused"]["total_freeable_mu"] == pytest.approx(15 * (1 - 0.3 / 0.8) + 15)
    assert (out / "underused.gpkg").exists() and (out / "intensity.csv").exists()


# ------------------------------------------------------------------ round-trip fidelity (bureau workbook)


def test_bureau_workbook_through_efficiency_to_xlsx_and_csv(tmp_path, capsys):
    import csv

    from openpyxl import load_workbook

    from bureau_tables import HEADER, TITLE, make_bureau_workbook

    src = tmp_path / "企业名单.xlsx"
    want = make_bureau_workbook(src, 118.76, 30.94)
    out = tmp_path / "out"
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone"])
    assert rc == 0, capsys.readouterr().err
    a, b = load_workbook(src), load_workbook(out / "scores.xlsx")
    assert b.sheetnames[:2] == ["企业名单", "说明"] and b.sheetnames[-1] == "method" and "by_class" in b.sheetnames
    for ws in a.worksheets:  # every original cell, every sheet, unchanged
        for row in ws.iter_rows():
            for c in row:
                o = b[ws.title][c.coordinate]
                assert (o.value, o.number_format) == (c.value, c.number_format), (ws.title, c.coordinate)
                if c.value is not None:
                    assert o.data_type == c.data_type, (ws.title, c.coordinate)
    ws = b["企业名单"]
    assert ws["A1"].value == TITLE
    head = [c.value for c in ws[3]]
    assert head[: len(HEADER)] == HEADER and "status" in head[len(HEADER):] and "total_score" in head
    st = head.index("status") + 1
    status = [ws.cell(r, st).value for r in range(4, 9)]
    assert [status[i] for i in (0, 1, 2, 4)] == ["evaluated"] * 4 and status[3] in ("evaluated", "invalid")
    with open(out / "scores.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][: len(HEADER)] == HEADER
    assert [r[: len(HEADER)] for r in rows[1:]] == want["rows"]  # every cell as text, 18-digit codes exact


def test_header_row_sheet_and_row_numbers_in_messages(tmp_path, capsys):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "封面"
    ws = wb.create_sheet("企业名单")
    ws.append(["2024年亩均效益评价"])
    ws.append(["统一社会信用代码", "企业名称", "用地面积(亩)", "实缴税金(万元)"])
    ws.append(["913418001234567890", "甲", "10", "100"])
    ws.append(["913418001234567891", "乙", "10", "100"])
    ws.append(["913418001234567890", "丙", "10", "100"])
    src = tmp_path / "f.xlsx"
    wb.save(src)
    out = tmp_path / "o"
    rc = main(["efficiency", "--enterprises", str(src), "--sheet", "企业名单", "--header-row", "2", "--out", str(out),
               "--no-zone"])
    assert rc == 0, capsys.readouterr().err
    s = pd.read_csv(out / "scores.csv", dtype=str, encoding="utf-8-sig")
    assert s["status"].tolist()[0] == s["status"].tolist()[2] == "invalid"
    assert "also on" not in str(s["reason"].iloc[1])
    assert "also on sheet 企业名单, row 5" in s["reason"].iloc[0] and "also on sheet 企业名单, row 3" in s["reason"].iloc[2]
    assert load_sheetnames(out / "scores.xlsx")[:2] == ["封面", "企业名单"]


def load_sheetnames(path):
    from openpyxl import load_workbook

    return load_workbook(path, read_only=True).sheetnames


def test_ragged_row_exits_2_not_3(tmp_path, capsys):
    src = tmp_path / "r.csv"
    src.write_text("企业名称,用地面积(亩),实缴税金(万元)\n甲,10,100,\n乙,10,100,9\n", encoding="utf-8")
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(tmp_path / "o"), "--no-zone"])
    err = capsys.readouterr().err
    assert rc == 2 and "row 3 has 4 fields" in err and "Traceback" not in err

def test_cli_console_names_missing_fields_and_field_option_maps_them(tmp_path, capsys):
    src = tmp_path / "f.csv"
    t = table()
    t["经度"] = ["待补充"] + ["118.8"] * 5
    t.rename(columns={"实缴税金(万元)": "TAX2023"}).to_csv(src, index=False)
    out = tmp_path / "o"
    # without the mapping: no tax column → every row lacks a required input; the console says how to fix the others
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "missing field 技改投资(万元)" in printed and "--field 技改投资=<your column>" in printed
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone", "--field", "实缴税金=TAX2023"])
    printed = capsys.readouterr().out
    assert rc == 0
    s = pd.read_csv(out / "scores.csv", encoding="utf-8-sig")
    assert s.loc[0, "status"] == "evaluated" and "经度" in s.loc[0, "xclz_note"]  # 待补充 does not sink the firm
    assert list(s["status"]) == ["evaluated", "evaluated", "evaluated", "not_evaluated", "invalid", "evaluated"]
    assert "see column xclz_note" in printed
    summ = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summ["input"]["mapped_by_field_option"] == {"tax_wan": "TAX2023"}
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone", "--field", "实缴税金=NOPE"])
    err = capsys.readouterr().err
    assert rc == 2 and "NOPE" in err
    rc = main(["efficiency", "--enterprises", str(src), "--out", str(out), "--no-zone", "--field", "建筑基底面积=X"])
    assert rc == 2 and "not a field this command uses" in capsys.readouterr().err
