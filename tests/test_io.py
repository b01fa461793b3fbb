from __future__ import annotations

import pandas as pd
import pytest

from xclz_geo import io
from xclz_geo.errors import InputDataError, InputFileError


def _frame():
    return pd.DataFrame({"企业名称": ["宣城甲公司", "广德乙公司"], "经度": [118.78, 119.46], "纬度": [30.91, 30.89]})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_read_csv_any_chinese_encoding(tmp_path, encoding):
    f = tmp_path / f"t_{encoding}.csv"
    _frame().to_csv(f, index=False, encoding=encoding)
    df = io.read_table(f)
    assert list(df.columns) == ["企业名称", "经度", "纬度"]
    assert df["企业名称"].tolist() == ["宣城甲公司", "广德乙公司"]


def test_detect_encoding(tmp_path):
    f = tmp_path / "g.csv"
    f.write_bytes("名称\n宣城\n".encode("gbk"))
    assert io.detect_text_encoding(f) == "gb18030"
    f.write_bytes("名称\n宣城\n".encode("utf-8"))
    assert io.detect_text_encoding(f) == "utf-8-sig"


def test_xlsx_round_trip(tmp_path):
    f = tmp_path / "t.xlsx"
    io.write_table(_frame(), f)
    assert io.read_table(f).equals(_frame())


def test_csv_written_with_bom(tmp_path):
    f = io.write_table(_frame(), tmp_path / "out.csv")
    assert f.read_bytes().startswith(b"\xef\xbb\xbf")


def test_errors_name_the_file(tmp_path):
    with pytest.raises(InputFileError, match="nope.csv: file not found"):
        io.read_table(tmp_path / "nope.csv")
    odd = tmp_path / "x.docx"
    odd.write_text("x")
    with pytest.raises(InputFileError, match="unsupported table format .docx"):
        io.read_table(odd)
    with pytest.raises(InputDataError, match="needs geometry"):
        io.write_table(_frame(), tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()


def test_vector_gbk_shapefile(tmp_path, synthetic_boundaries):
    f = tmp_path / "parts.shp"
    synthetic_boundaries[["part_id", "name_zh", "geometry"]].to_file(f, encoding="gbk", engine="pyogrio")
    for side in (".cpg",):
        p = f.with_suffix(side)
        if p.exists():
            p.unlink()  # as CAD/ArcGIS exports often arrive: GBK .dbf, no .cpg
    assert io.shapefile_encoding(f) == "gb18030"
    gdf = io.read_vector(f)
    assert gdf["name_zh"].tolist() == synthetic_boundaries["name_zh"].tolist()


def test_vector_crs_option(tmp_path, synthetic_boundaries):
    from xclz_geo.errors import CRSMismatchError

    f = tmp_path / "p.gpkg"
    synthetic_boundaries.to_file(f, engine="pyogrio")
    assert io.read_vector(f, crs="EPSG:4490").crs.to_epsg() == 4490
    with pytest.raises(CRSMismatchError, match="declares EPSG:4490"):
        io.read_vector(f, crs="EPSG:4549")
    with pytest.raises(InputFileError, match="cannot read as a vector file"):
        io.read_vector(f, layer="nope")


def test_atomic_path_replaces_only_on_success(tmp_path):
    from xclz_geo.io import atomic_path

    target = tmp_path / "sub" / "out.html"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new", encoding="utf-8")
        assert not target.exists()  # nothing visible before the block ends
    assert target.read_text(encoding="utf-8") == "new"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("writer failed")
    assert target.read_text(encoding="utf-8") == "new"  # the old file is kept
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.html"]  # no temporary left behind


# ------------------------------------------------------------------ streamed CSV / XLSX for large tables


def _messy_frame():
    import numpy as np

    return pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\",\"click\")", "a&b<c>", None, "x\x00y", "  lead", "中文", "+1", "-2", "@a", "ok"],
        "score": [1.5, np.nan, np.inf, -0.0, 1e-7, 3.0, 0.1, 1 / 3, 123456789012.5, -7.25],
        "rank": pd.array([1, None, 3, 4, 5, 6, 7, 8, 9, 10], dtype="Int64"),
        "above": [True, False, None, True, False, True, None, True, True, False],
        "count": list(range(10)),
        "mixed": [1, "a", 2.5, None, "b", 3, "c", 4, "d", 5],
    })


def test_write_xlsx_stream_cells(tmp_path):
    from openpyxl import load_workbook

    df = _messy_frame()
    with pytest.warns(Warning, match="column name: 1 cell"):
        io.write_xlsx_stream({"scores": df, "by[class]": df.head(2)}, tmp_path / "s.xlsx")
    wb = load_workbook(tmp_path / "s.xlsx")
    assert wb.sheetnames == ["scores", "by_class_"]
    rows = list(wb["scores"].iter_rows(values_only=False))
    assert [c.value for c in rows[0]] == list(df.columns)
    names = [r[0] for r in rows[1:]]
    # user text is text, never a formula; formula-like text carries Excel's quote prefix
    assert all(c.data_type == "s" or c.value is None for c in names)
    assert [c.value for c in names] == ['=HYPERLINK("http://x","click")', "a&b<c>", None, "xy", "  lead", "中文", "+1", "-2", "@a", "ok"]
    assert [c.quotePrefix for c in names] == [True, False, False, False, False, False, True, True, True, False]
    assert [r[1].value for r in rows[1:]] == [1.5, None, None, 0, 1e-7, 3, 0.1, 1 / 3, 123456789012.5, -7.25]
    assert [r[2].value for r in rows[1:]] == [1, None, 3, 4, 5, 6, 7, 8, 9, 10]
    assert [r[3].value for r in rows[1:]] == [True, False, None, True, False, True, None, True, True, False]
    assert [r[5].value for r in rows[1:]] == [1, "a", 2.5, None, "b", 3, "c", 4, "d", 5]
    assert wb["scores"].freeze_panes == "A2"


def test_write_xlsx_stream_continues_on_a_second_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "XLSX_MAX_ROWS", 5)  # 4 data rows a sheet
    df = pd.DataFrame({"k": range(10), "t": [f"r{i}" for i in range(10)]})
    io.write_xlsx_stream([("scores", df)], tmp_path / "s.xlsx", chunk_rows=3)
    got = pd.read_excel(tmp_path / "s.xlsx", sheet_name=None)
    assert list(got) == ["scores", "scores_2", "scores_3"]
    back = pd.concat(got.values(), ignore_index=True)
    assert back["k"].tolist() == list(range(10)) and back["t"].tolist() == [f"r{i}" for i in range(10)]


def test_write_csv_stream_reads_back_equal(tmp_path):
    import numpy as np

    df = _messy_frame().drop(columns=["name"]).assign(text=["a,b", 'q"u', None, "", "中文", "x", "y", "z", "w", "v"])
    io.write_csv_stream(df, tmp_path / "s.csv", chunk_rows=3)
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(tmp_path / "s.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert back.columns.tolist() == df.columns.tolist()
    np.testing.assert_array_equal(pd.to_numeric(back["score"].replace("", None)).to_numpy(dtype=float), df["score"].to_numpy())
    assert back["rank"].tolist() == ["1", "", "3", "4", "5", "6", "7", "8", "9", "10"]
    assert back["above"].tolist() == ["True", "False", "", "True", "False", "True", "", "True", "True", "False"]
    assert back["text"].tolist() == ["a,b", 'q"u', "", "", "中文", "x", "y", "z", "w", "v"]
    assert back["mixed"].tolist() == ["1", "a", "2.5", "", "b", "3", "c", "4", "d", "5"]

# ------------------------------------------------------------------ text-first tables (read_table_text)

import datetime as _dt  # noqa: E402
import warnings as _warnings  # noqa: E402

from openpyxl import Workbook as _Workbook  # noqa: E402
from openpyxl import load_workbook as _load_workbook  # noqa: E402

from bureau_tables import HEADER, NOTE, TITLE, make_bureau_workbook  # noqa: E402
from xclz_geo.errors import DataQualityWarning  # noqa: E402

_SITE = (118.76, 30.94)


def test_bureau_workbook_read_as_typed(tmp_path):
    src = tmp_path / "firms.xlsx"
    want = make_bureau_workbook(src, *_SITE)
    t = io.read_table_text(src)
    assert (t.sheet_name, t.sheet_names, t.header_row) == ("企业名单", ["企业名单", "说明"], 3)
    assert t.headers == HEADER and list(t.frame.columns) == HEADER
    assert t.row_numbers.tolist() == want["row_numbers"] == [4, 5, 6, 7, 8]
    assert t.frame.values.tolist() == want["rows"]
    assert t.title_rows[0][0] == TITLE and t.title_rows[1][0] == NOTE
    codes = t.frame["统一社会信用代码"].tolist()
    assert codes[1] == "913418001234567890" and codes[3] == "913418000000000017"  # 18 digits, exact
    assert t.frame["地块编号"].tolist()[:4] == ["0012", "0012", "0013", "0100"]  # text and number-with-0000-format
    assert t.frame["成立日期"].tolist()[:4] == ["2015/3/5", "2019.05.06", "2008/12/1", "2021-07-09"]
    assert t.frame["联系电话"].tolist()[:2] == ["13912345678", "0563-6012345"]
    assert t.row_label(2) == "sheet 企业名单, row 6" and t.rows_label([0, 4]) == "sheet 企业名单, rows 4, 8"
    # by name, by spreadsheet position, and the header row given
    assert io.read_table_text(src, sheet="2").sheet_name == "说明"
    assert io.read_table_text(src, sheet="企业名单", header_row=3).frame.values.tolist() == want["rows"]
    with pytest.raises(InputDataError, match="no sheet 'x'; the sheets are: 企业名单, 说明"):
        io.read_table_text(src, sheet="x")


def test_header_row_option_and_detection_without_hints(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("某区企业名单\n\nfoo,bar,baz\n1,0012,a\n", encoding="utf-8")
    t = io.read_table_text(f)
    assert (t.header_row, t.headers, t.row_numbers.tolist()) == (3, ["foo", "bar", "baz"], [4])
    assert t.frame.iloc[0].tolist() == ["1", "0012", "a"]
    t = io.read_table_text(f, header_row=4)  # the user knows better
    assert t.headers == ["1", "0012", "a"] and len(t.frame) == 0
    with pytest.raises(InputDataError, match="--header-row 0"):
        io.read_table_text(f, header_row=0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_text_first_any_encoding(tmp_path, encoding):
    f = tmp_path / "t.csv"
    f.write_bytes("统一社会信用代码,地块编号,日期,经度\n913418001234567890,0012,2024/3/5,118.7\n".encode(encoding))
    t = io.read_table_text(f)
    assert t.headers == ["统一社会信用代码", "地块编号", "日期", "经度"]
    assert t.frame.iloc[0].tolist() == ["913418001234567890", "0012", "2024/3/5", "118.7"]
    assert t.row_numbers.tolist() == [2] and t.sheet_name is None and t.row_label(0) == "row 2"


def test_tsv_and_semicolon_delimiters(tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("a\tb\n1,5\t2\n", encoding="utf-8")
    assert io.read_table_text(f).frame.iloc[0].tolist() == ["1,5", "2"]
    f = tmp_path / "s.csv"
    f.write_text("a;b\n1,5;2\n", encoding="utf-8")
    assert io.read_table_text(f).frame.iloc[0].tolist() == ["1,5", "2"]


def test_ragged_rows_are_never_shifted(tmp_path):
    f = tmp_path / "r.csv"
    f.write_text("名称,经度,纬度\n甲,118.7,30.9,\n乙,118.8\n", encoding="utf-8")
    t = io.read_table_text(f)
    assert t.frame.values.tolist() == [["甲", "118.7", "30.9"], ["乙", "118.8", ""]]
    f.write_text("名称,经度,纬度\n甲,118.7,30.9\n乙,118.8,30.9,913418001234567890\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"r.csv: row 3 has 4 fields but the header \(row 1\) has 3: '913418001234567890'"):
        io.read_table_text(f)
    # the streaming reader falls back to the same rule where Arrow stops
    f.write_text("名称,经度,纬度\n" + "甲,118.7,30.9\n" * 5 + "乙,118.8,30.9,\n丙,1,2\n", encoding="utf-8")
    rows = [r for b in io.iter_csv_batches(f, chunk_rows=2) for r in b.to_pylist()]
    assert len(rows) == 7 and rows[5] == {"名称": "乙", "经度": "118.8", "纬度": "30.9"} and rows[6]["名称"] == "丙"


def test_empty_csv_says_so(tmp_path):
    f = tmp_path / "e.csv"
    f.write_bytes(b"")
    with pytest.raises(InputDataError, match="e.csv: the file is empty"):
        io.read_table_text(f)
    f.write_bytes(b"\xef\xbb\xbf\n\n")
    with pytest.raises(InputDataError, match="the file is empty"):
        io.read_table_text(f)


def test_excel_cell_text_rules():
    assert io.excel_cell_text(12.0) == "12" and io.excel_cell_text(12.5) == "12.5" and io.excel_cell_text(None) == ""
    assert io.excel_cell_text(12, "0000") == "0012" and io.excel_cell_text(True) == "TRUE"
    d = _dt.datetime(2024, 3, 5)
    assert io.excel_cell_text(d, "mm-dd-yy") == "2024-03-05"  # built-in short date: ISO
    assert io.excel_cell_text(d, 'yyyy"年"m"月"d"日"') == "2024年3月5日"
    assert io.excel_cell_text(d, "yyyy/mm/dd") == "2024/03/05"
    assert io.excel_cell_text(_dt.datetime(2024, 3, 5, 8, 30), "yyyy/m/d h:mm") == "2024-03-05 08:30:00"


def test_write_table_back_keeps_every_cell_of_the_workbook(tmp_path):
    src = tmp_path / "firms.xlsx"
    make_bureau_workbook(src, *_SITE)
    t = io.read_table_text(src)
    added = pd.DataFrame({"xclz_status": ["inside", "=1+2", "x", "y", "z"], "xclz_distance_m": [1.5, None, 2, 3, 4]})
    dst = io.write_table_back(t, added, tmp_path / "out.xlsx", extra_sheets={"说明": pd.DataFrame({"a": [1]})})
    a, b = _load_workbook(src), _load_workbook(dst)
    assert b.sheetnames == ["企业名单", "说明", "说明_2"]
    for ws in a.worksheets:
        for row in ws.iter_rows():
            for c in row:
                o = b[ws.title][c.coordinate]
                assert (o.value, o.number_format) == (c.value, c.number_format), c.coordinate
                if c.value is not None:
                    assert o.data_type == c.data_type, c.coordinate
    out = b["企业名单"]
    assert out.cell(3, 15).value == "xclz_status" and out.cell(3, 16).value == "xclz_distance_m"
    assert [out.cell(r, 15).value for r in range(4, 9)] == ["inside", "=1+2", "x", "y", "z"]
    assert out.cell(5, 15).data_type == "s" and out.cell(4, 16).value == 1.5
    # a second run replaces its own columns in place instead of adding more
    t2 = io.read_table_text(dst)
    io.write_table_back(t2, added.assign(xclz_status="again"), tmp_path / "out2.xlsx")
    c = _load_workbook(tmp_path / "out2.xlsx")["企业名单"]
    assert c.max_column == 16 and c.cell(4, 15).value == "again"
    # rename instead of replace: the user's column is kept
    io.write_table_back(t, pd.DataFrame({"备注": list("abcde")}), tmp_path / "r.csv", on_clash="rename")
    back = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(back.columns)[-2:] == ["备注", "备注_xclz"] and back["备注"].tolist()[1] == "园区外"


def test_xlsx_writer_never_writes_formulas(tmp_path):
    payloads = ['=HYPERLINK("http://x","click")', "=1+2", "=cmd|' /C calc'!A0", "@SUM(A1)", "+1", "-1", "\t=1"]
    df = pd.DataFrame({"企业名称": payloads, "n": range(len(payloads))})
    p = io.write_xlsx({"=bad": df}, tmp_path / "p.xlsx")
    ws = _load_workbook(p).worksheets[0]
    cells = [ws.cell(r, 1) for r in range(2, len(payloads) + 2)]
    assert [c.value for c in cells] == payloads
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert ws.cell(2, 2).data_type == "n"
    csv = io.write_table(df, tmp_path / "p.csv", csv_safe=True)
    back = pd.read_csv(csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert back["企业名称"].tolist()[:6] == ["'" + s for s in payloads[:6]]


def test_xlsx_writer_strips_control_characters_with_a_warning(tmp_path):
    df = pd.DataFrame({"名称": ["a\x00b", "c\x07", "ok"], "备注": ["x", "y", "z"]})
    with pytest.warns(DataQualityWarning, match=r"column 名称: 2 cell\(s\) held control characters"):
        p = io.write_xlsx({"data": df}, tmp_path / "nul.xlsx")
    ws = _load_workbook(p).active
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["ab", "c", "ok"]
    p = io.write_xlsx({"data": pd.DataFrame({"名\x00称": ["x"]})}, tmp_path / "head.xlsx")  # a header too
    assert _load_workbook(p).active.cell(1, 1).value == "名称"
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")
        io.write_xlsx({"data": df[["备注"]]}, tmp_path / "clean.xlsx")  # nothing to say


def test_big_numbers_stored_as_numbers_are_flagged(tmp_path):
    wb = _Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "名称"])
    ws.append([913418001234567890, "甲"])
    f = tmp_path / "n.xlsx"
    wb.save(f)
    with pytest.warns(DataQualityWarning, match="统一社会信用代码: 1 cell.*15 significant digits"):
        io.read_table_text(f)


def test_row_numbers_follow_the_spreadsheet_with_blank_lines_and_line_breaks(tmp_path):
    f = tmp_path / "b.csv"
    f.write_text('名称,备注\n甲,a\n\n乙,"两\n行"\n丙,c\n', encoding="utf-8")
    t = io.read_table_text(f)
    assert t.frame.values.tolist() == [["甲", "a"], ["乙", "两\n行"], ["丙", "c"]]
    assert t.row_numbers.tolist() == [2, 4, 5]  # the blank line 3 holds no cell; the quoted break is one row
    plain = tmp_path / "p.csv"
    plain.write_text("名称,备注\n甲,a\n乙,b\n", encoding="utf-8")
    assert io.read_table_text(plain).row_numbers.tolist() == [2, 3]
