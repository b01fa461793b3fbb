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


def test_write_xlsx_stream_styling_options(tmp_path):
    from openpyxl import load_workbook

    df = pd.DataFrame({"a": ["x", "=1+1", "y", "z"], "b": [1, 2, 3, 4], "": ["p", "q", "r", "s"],
                       "empty": pd.Series([None] * 4, dtype="str")})  # an all-missing str column
    io.write_xlsx_stream([("s1", df), ("s2", df)], tmp_path / "s.xlsx", header_style={"s1": "filled", "s2": "title"},
                         freeze_header={"s2": False}, column_widths={"s1": [12, None, 30.5]}, bold_rows={"s1": [3]})
    wb = load_workbook(tmp_path / "s.xlsx")
    s1, s2 = wb["s1"], wb["s2"]
    assert [c.value for c in s1[1]] == ["a", "b", None, "empty"]  # an empty header label is an empty cell
    assert s1["A1"].font.b and s1["A1"].fill.fgColor.rgb[-6:] == "DDEBF7" and s1["A1"].alignment.wrap_text
    assert s2["A1"].font.b and s2["A1"].font.sz == 13 and s2["A1"].fill.fill_type is None
    assert s1.freeze_panes == "A2" and s2.freeze_panes is None
    assert "B" not in s1.column_dimensions and "C" in s1.column_dimensions
    assert s1.column_dimensions["A"].width == 12 and s1.column_dimensions["C"].width == 30.5
    assert s1["A3"].font.b and s1["A3"].quotePrefix and s1["A3"].value == "=1+1" and s1["B3"].font.b and s1["B3"].value == 2
    assert not s1["A2"].font.b and not s1["A2"].quotePrefix and not s2["A3"].font.b and s2["A3"].quotePrefix
    assert [s1.cell(r, 4).value for r in range(2, 6)] == [None] * 4
    with pytest.raises(ValueError, match="header_style"):
        io.write_xlsx_stream({"s": df}, tmp_path / "t.xlsx", header_style="loud")
    # without the options: the workbook as before (plain header, first row frozen)
    io.write_xlsx_stream({"s": df}, tmp_path / "u.xlsx")
    u = load_workbook(tmp_path / "u.xlsx")["s"]
    assert u.freeze_panes == "A2" and not u["A1"].font.b and u["C1"].value in ("", None)


def _dated_frame():
    import datetime as dt

    import numpy as np

    return pd.DataFrame({
        "day": pd.to_datetime(["2024-03-01", None, "1900-02-28", "1900-03-01", "2008-12-01"]),
        "when": pd.to_datetime(["2024-03-01 08:30:15", "2024-03-02 00:00:00", None, "1999-12-31 23:59:59", "2024-03-01 12:00:00"]),
        "tz": pd.to_datetime(["2024-03-01 08:00", "2024-03-02 09:15", None, "2024-01-01 00:00", "2024-06-30 23:30"])
              .tz_localize("Asia/Shanghai"),
        "obj": [dt.date(2024, 1, 2), pd.Timestamp("2024-05-06"), None, dt.date(1899, 1, 1), np.datetime64("2020-02-29")],
        "mixed": [dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02", 5, pd.NaT, "x"],
        "text": ["2024-03-01", "0012", "913418001234567890", "=1+1", "2024/3/1"],
    })


def test_write_xlsx_stream_writes_dates_as_excel_dates(tmp_path):
    import datetime as dt
    import zipfile

    from openpyxl import load_workbook

    df = _dated_frame()
    io.write_xlsx_stream({"d": df}, tmp_path / "d.xlsx", chunk_rows=2)  # chunks of 2 rows: one format per column still
    ws = load_workbook(tmp_path / "d.xlsx")["d"]
    col = {h.value: [ws.cell(r, h.column) for r in range(2, 7)] for h in ws[1]}
    # date-only values: real dates with a date format; NaT is an empty cell
    assert [c.value for c in col["day"]] == [dt.datetime(2024, 3, 1), None, dt.datetime(1900, 2, 28), dt.datetime(1900, 3, 1),
                                             dt.datetime(2008, 12, 1)]
    assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in col["day"] if c.value is not None)
    # a column with times of day: date-times, one format for the whole column (also for its midnight)
    assert [c.value for c in col["when"]] == [dt.datetime(2024, 3, 1, 8, 30, 15), dt.datetime(2024, 3, 2), None,
                                              dt.datetime(1999, 12, 31, 23, 59, 59), dt.datetime(2024, 3, 1, 12)]
    assert {c.number_format for c in col["when"] if c.value is not None} == {"yyyy-mm-dd h:mm:ss"}
    # with a time zone: the value's own wall-clock time (what the planner saw in the source)
    assert [c.value for c in col["tz"]] == [dt.datetime(2024, 3, 1, 8), dt.datetime(2024, 3, 2, 9, 15), None,
                                            dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 30, 23, 30)]
    # objects: date, Timestamp, numpy datetime64; before 1900 Excel has no date: ISO text
    assert [c.value for c in col["obj"]] == [dt.datetime(2024, 1, 2), dt.datetime(2024, 5, 6), None, "1899-01-01",
                                             dt.datetime(2020, 2, 29)]
    assert col["obj"][0].number_format == "yyyy-mm-dd" and col["obj"][3].data_type == "s"
    assert [c.value for c in col["mixed"]] == [dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02", 5, None, "x"]
    assert col["mixed"][0].is_date and col["mixed"][1].data_type == "s" and not col["mixed"][1].is_date
    # text that looks like a date, leading zeros, an 18-digit code and formula-like text: text
    assert [c.value for c in col["text"]] == ["2024-03-01", "0012", "913418001234567890", "=1+1", "2024/3/1"]
    assert all(c.data_type == "s" and not c.is_date for c in col["text"]) and col["text"][3].quotePrefix
    # the serials are Excel's 1900 date system (with its phantom 1900-02-29): 2024-03-01 is 45352
    with zipfile.ZipFile(tmp_path / "d.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
        styles = z.read("xl/styles.xml").decode()
    assert '<c r="A2" s="8"><v>45352</v></c>' in xml and '<c r="A4" s="8"><v>59</v></c>' in xml
    assert '<c r="A5" s="8"><v>61</v></c>' in xml and '<c r="A3"' not in xml  # NaT: no cell at all
    assert '<c r="B2" s="9"><v>45352.35434027778</v></c>' in xml
    assert 'formatCode="yyyy-mm-dd"' in styles and "<f>" not in xml


def test_small_and_streamed_workbooks_write_the_same_dates(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    df = _dated_frame()
    io.write_xlsx({"d": df}, tmp_path / "small.xlsx")  # openpyxl (a time zone no longer fails there)
    monkeypatch.setattr(io, "STREAM_MIN_ROWS", 2)
    io.write_xlsx({"d": df}, tmp_path / "big.xlsx")  # streamed

    def cells(path):
        ws = load_workbook(path)["d"]
        return [[(c.value, c.number_format if c.is_date else None, c.data_type) for c in r] for r in ws.iter_rows()]

    assert cells(tmp_path / "small.xlsx") == cells(tmp_path / "big.xlsx")


def test_bold_rows_keep_the_date_format(tmp_path):
    from openpyxl import load_workbook

    df = _dated_frame()
    io.write_xlsx_stream({"d": df}, tmp_path / "b.xlsx", bold_rows={"d": [2]})
    ws = load_workbook(tmp_path / "b.xlsx")["d"]
    assert ws["A2"].font.b and ws["A2"].is_date and ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].font.b and ws["B2"].number_format == "yyyy-mm-dd h:mm:ss"
    assert ws["F2"].font.b and ws["F2"].data_type == "s" and not ws["A3"].font.b


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


# ------------------------------------------------------------------ fast XLSX paths (issue 18): the same cells as openpyxl

import zipfile as _zipfile  # noqa: E402


def _set_member(path, name, text):
    """Rewrite (or add) one part of an XLSX (a hand-made sheet XML for cases openpyxl does not write)."""
    with _zipfile.ZipFile(path) as z:
        parts = [(i, z.read(i.filename)) for i in z.infolist()]
    with _zipfile.ZipFile(path, "w", _zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            z.writestr(info, text.encode("utf-8") if info.filename == name else data)
        if name not in [i.filename for i, _ in parts]:
            z.writestr(name, text.encode("utf-8"))


def _add_shared_strings(path, strings_xml):
    """Give a workbook a shared-string part (openpyxl writes inline strings; Excel and WPS write these)."""
    with _zipfile.ZipFile(path) as z:
        types = z.read("[Content_Types].xml").decode()
    types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    _set_member(path, "[Content_Types].xml", types)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    _set_member(path, "xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{ns}">{strings_xml}</sst>')


def _varied_workbook(path, *, date1904=False):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = _Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "企业 名单"
    ws.append(["宣城市某区企业名单（2024年度）"])
    ws.append([])
    ws.append(["统一社会信用代码", "编号", "日期", "时间", "时长", "数", "备注"])
    rows = [
        ["913418001234567890", 12, _dt.datetime(2024, 3, 5), _dt.time(8, 30), _dt.timedelta(hours=30, minutes=5), 0.1 + 0.2, "  空格  "],
        ["91341800MA2N0C567X", "0012", _dt.datetime(2019, 5, 6, 8, 30, 15), _dt.time(23, 59, 59), 1.5, 1e-9, "a&b<c>\"'"],
        ["=1+2", True, _dt.date(2008, 12, 1), "待补充", None, 1e20, "两\n行"],
        ["@SUM(A1)", False, "2021.07.09", None, None, -0.0, "_x000D_"],
        [913418001234567890, 13912345678, _dt.datetime(1900, 2, 28), None, None, 12345678901234, "中文"],
    ]
    for r, row in enumerate(rows, start=4):
        for c, v in enumerate(row, start=1):
            if v is None:
                continue
            cell = ws.cell(r, c, v)
            if isinstance(v, str):
                cell.data_type = "s"
    ws["B4"].number_format = "0000"
    ws["C4"].number_format = "yyyy/m/d"
    ws["C5"].number_format = 'yyyy"年"m"月"d"日"'
    ws["C6"].number_format = "mm-dd-yy"
    ws["D5"].number_format = "h:mm:ss"
    ws["E4"].number_format = "[h]:mm"
    ws["E5"].number_format = "[h]:mm:ss"
    ws["F5"].number_format = "0.00%"
    ws["G9"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "粗体")])
    ws["J12"] = "far right, after a gap"
    ws2 = wb.create_sheet("说明")
    ws2.append(["字段", "说明"])
    wb.save(path)


@pytest.mark.parametrize("date1904", [False, True])
def test_fast_xlsx_reader_gives_what_openpyxl_gives(tmp_path, date1904):
    f = tmp_path / "v.xlsx"
    _varied_workbook(f, date1904=date1904)
    fast = io._xlsx_grid_fast(f, None)
    assert fast is not None  # the fast reader read it (None: it stepped aside)
    assert fast == io._xlsx_grid_openpyxl(f, None)
    names, sheet, grid, row_no, _ = fast
    assert (names, sheet) == (["企业 名单", "说明"], "企业 名单")
    assert grid[3][:3] == ["913418001234567890", "0012", "2024/3/5"] and grid[4][2] == "2019-05-06 08:30:15"
    assert grid[5][0] == "=1+2" and grid[6][0] == "@SUM(A1)" and row_no[-1] == 12
    assert io._xlsx_grid_fast(f, "说明") == io._xlsx_grid_openpyxl(f, "说明")
    with pytest.warns(DataQualityWarning, match=r"cell\(s\) hold numbers of 16 or more digits"):  # 18 digits stored as a number
        t = io.read_table_text(f)
    assert t.header_row == 3 and t.title_rows[0] == ["宣城市某区企业名单（2024年度）"] and t.row_numbers.tolist() == [4, 5, 6, 7, 8, 9, 12]


def test_fast_xlsx_reader_on_hand_written_sheet_xml(tmp_path):
    """Cells openpyxl does not write: formula results (str, e, cached numbers), cells without a reference,
    phonetic runs, character references, single-quoted attributes, exponents, inline rich text."""
    f = tmp_path / "h.xlsx"
    _varied_workbook(f)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{ns}"><dimension ref="A1:C2"/><sheetData>'
             '<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>编号</t></is></c>'
             '<c r="C1" t="inlineStr"><is><r><t xml:space="preserve">多 </t></r><r><rPr><b/></rPr><t>段</t></r>'
             '<rPh sb="0" eb="1"><t>ふりがな</t></rPh></is></c></row>'
             "<row r='2'><c r='A2' t='str'><f>A1&amp;\"x\"</f><v>甲&amp;乙&#10;丙</v></c><c t=\"e\"><v>#N/A</v></c>"
             '<c><f>1+1</f><v>2</v></c></row>'
             '<row r="4"><c r="A4"><v>1.5E3</v></c><c r="B4" t="b"><v>1</v></c><c r="C4" s="0" t="n"><v>0012</v></c></row>'
             '</sheetData></worksheet>')
    _set_member(f, "xl/worksheets/sheet1.xml", sheet)
    _add_shared_strings(f, '<si><t>名称</t></si><si><r><t>宣城</t></r><r><rPr><b/></rPr><t xml:space="preserve"> 经开区</t></r>'
                        '<rPh sb="0" eb="2"><t>せん</t></rPh><phoneticPr fontId="1"/></si><si><t/></si><si><t>_x005F_x000D_</t></si>')
    sheet2 = sheet.replace('<c r="C4" s="0" t="n"><v>0012</v></c>', '<c r="C4" s="0" t="n"><v>0012</v></c><c r="D4" t="s"><v>1</v></c>'
                           '<c r="E4" t="s"><v>2</v></c><c r="F4" t="s"><v>3</v></c>')
    _set_member(f, "xl/worksheets/sheet1.xml", sheet2)
    fast = io._xlsx_grid_fast(f, None)
    assert fast is not None and fast == io._xlsx_grid_openpyxl(f, None)
    grid = fast[2]
    assert grid[0] == ["名称", "编号", "多 段"] and grid[1] == ["甲&乙\n丙", "#N/A", "2"]
    assert grid[3] == ["1500", "TRUE", "12", "宣城 经开区", "", "_x000D_"]


def test_fast_xlsx_reader_steps_aside_for_prefixed_xml(tmp_path):
    f = tmp_path / "x.xlsx"
    _varied_workbook(f)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    _set_member(f, "xl/worksheets/sheet1.xml",
                f'<x:worksheet xmlns:x="{ns}"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>名称</x:t>'
                '</x:is></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>经度</x:t></x:is></x:c></x:row><x:row r="2"><x:c r="A2" '
                't="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c><x:c r="B2"><x:v>118.7</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    assert io._xlsx_grid_fast(f, None) is None
    t = io.read_table_text(f)  # openpyxl reads it
    assert t.headers == ["名称", "经度"] and t.frame.values.tolist() == [["甲", "118.7"]]
    dst = io.write_table_back(t, pd.DataFrame({"xclz_status": ["inside"]}), tmp_path / "o.xlsx")  # openpyxl writes it
    assert _load_workbook(dst).worksheets[0]["C2"].value == "inside"


def test_copied_openpyxl_number_rules_agree_with_openpyxl():
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    assert io._XL_BUILTIN_FORMATS == BUILTIN_FORMATS
    fmts = list(BUILTIN_FORMATS.values()) + ["yyyy/m/d", 'yyyy"年"m"月"d"日"', "[h]:mm", "[mm]:ss", "[Red]0.00", '"day"0',
                                             "0000", "@", "General", "[$-804]yyyy/m/d", "hh:mm;@", "0.0_ ", r"\d0"]
    for fmt in fmts:
        assert io._xl_is_date_format(fmt) == is_date_format(fmt), fmt
        assert io._xl_is_timedelta_format(fmt) == is_timedelta_format(fmt), fmt
    for v in (0, 0.5, 0.999999, 1, 59, 60, 61, 45356.25, 45356.333333333, 1500000.5):
        for d1904, epoch in ((False, CALENDAR_WINDOWS_1900), (True, CALENDAR_MAC_1904)):
            assert io._xl_from_excel(v, d1904) == from_excel(v, epoch), (v, d1904)
        assert io._xl_from_excel(v, timedelta=True) == from_excel(v, timedelta=True)


def test_workbook_written_back_by_patching_only_the_table_sheet(tmp_path, monkeypatch):
    import openpyxl

    src = tmp_path / "firms.xlsx"
    want = make_bureau_workbook(src, *_SITE)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("the fast path stepped aside"))
    t = io.read_table_text(src)
    added = pd.DataFrame({"xclz_status": ["inside", "=HYPERLINK(\"http://x\")", "-1", None, "a\x00b"],
                          "xclz_zone": ["宣城经开区", None, "", "+x", "@y"], "xclz_distance_m": [1.5, float("nan"), 2, 3, 4]})
    with pytest.warns(DataQualityWarning, match=r"column xclz_status: 1 cell\(s\) held control characters"):
        dst = io.write_table_back(t, added, tmp_path / "out.xlsx", extra_sheets={"汇总=": pd.DataFrame({"=a": ["-b", "c"]})})
    monkeypatch.undo()
    with _zipfile.ZipFile(src) as a, _zipfile.ZipFile(dst) as b:
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
        assert changed == {"xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                           "[Content_Types].xml"}  # the second sheet, theme, properties: byte for byte
    a, b = _load_workbook(src), _load_workbook(dst)
    assert b.sheetnames == ["企业名单", "说明", "汇总="]
    for ws in a.worksheets:
        for row in ws.iter_rows():
            for c in row:
                o = b[ws.title][c.coordinate]
                assert (o.value, o.number_format, o.data_type, o.font.b) == (c.value, c.number_format, c.data_type, c.font.b), c.coordinate
    out = b["企业名单"]
    assert [out.cell(3, k).value for k in (15, 16, 17)] == ["xclz_status", "xclz_zone", "xclz_distance_m"]
    assert [out.cell(r, 15).value for r in range(4, 9)] == ["inside", "=HYPERLINK(\"http://x\")", "-1", None, "ab"]
    assert [out.cell(r, 16).value for r in range(4, 9)] == ["宣城经开区", None, "", "+x", "@y"]
    assert [out.cell(r, 17).value for r in range(4, 9)] == [1.5, None, 2, 3, 4]
    for r, col in ((5, 15), (6, 15), (7, 16), (8, 16)):  # text a spreadsheet would run: text cells, quote prefix
        assert out.cell(r, col).data_type == "s" and out.cell(r, col).quotePrefix, (r, col)
    assert not out.cell(4, 15).quotePrefix and out.cell(4, 17).data_type == "n"
    assert [str(r) for r in out.merged_cells.ranges] == ["A1:N1"] and out.cell(1, 1).value == TITLE
    extra = b["汇总="]
    assert [[c.value for c in r] for r in extra.iter_rows()] == [["=a"], ["-b"], ["c"]] and extra["A2"].quotePrefix
    # read back as text: every input cell as typed, title rows and row numbers unchanged
    t2 = io.read_table_text(dst)
    assert t2.frame.iloc[:, :14].values.tolist() == want["rows"] and t2.row_numbers.tolist() == want["row_numbers"]
    assert t2.title_rows == t.title_rows and t2.headers[:14] == HEADER
    ro = _load_workbook(dst, read_only=True)["企业名单"]  # the dimension covers the new columns
    assert [r for r in ro.iter_rows(min_row=3, max_row=3, values_only=True)][0][-3:] == ("xclz_status", "xclz_zone", "xclz_distance_m")


def test_fast_write_back_keeps_formula_results_and_replaces_its_own_columns(tmp_path):
    src = tmp_path / "f.xlsx"
    wb = _Workbook()
    ws = wb.active
    ws.title = "表1"
    ws.append(["名称", "经度", "纬度", "xclz_status"])
    ws.append(["甲", 118.7, 30.9, "old"])
    ws.append(["乙", 118.8, 30.9])
    from openpyxl.styles import Font

    ws["E2"].font = Font(b=True)  # a styled empty cell where the next column goes
    wb.save(src)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with _zipfile.ZipFile(src) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    xml = xml.replace("</sheetData>", '<row r="4"><c r="A4" t="str"><f>A2&amp;A3</f><v>甲乙</v></c><c r="B4"><f>B2+1</f>'
                      '<v>119.7</v></c><c r="C4"><v>30.9</v></c></row></sheetData>')
    assert ns in xml
    _set_member(src, "xl/worksheets/sheet1.xml", xml)
    t = io.read_table_text(src)
    assert t.frame.values.tolist()[2] == ["甲乙", "119.7", "30.9", ""]
    dst = io.write_table_back(t, pd.DataFrame({"xclz_status": ["a", "b", "c"], "xclz_zone": ["z1", "z2", "z3"]}), tmp_path / "o.xlsx")
    with _zipfile.ZipFile(dst) as z:
        assert "<f>A2&amp;A3</f><v>甲乙</v>" in z.read("xl/worksheets/sheet1.xml").decode()  # formula and its result kept
    out = _load_workbook(dst)["表1"]
    assert out.max_column == 5 and [out.cell(r, 4).value for r in range(1, 5)] == ["xclz_status", "a", "b", "c"]
    assert [out.cell(r, 5).value for r in range(1, 5)] == ["xclz_zone", "z1", "z2", "z3"] and out["E2"].font.b
    assert io.read_table_text(dst).frame["名称"].tolist() == ["甲", "乙", "甲乙"]


def test_csv_batches_are_joined_to_chunk_rows(tmp_path, monkeypatch):
    f = tmp_path / "b.csv"
    f.write_text("名称,经度\n" + "".join(f"企业{i},1{i:04d}\n" for i in range(2500)), encoding="utf-8")
    monkeypatch.setattr(io, "_CSV_BLOCK_BYTES", 1024)  # many small Arrow blocks
    batches = list(io.iter_csv_batches(f, chunk_rows=1000))
    assert [b.num_rows for b in batches] == [1000, 1000, 500] or sum(b.num_rows for b in batches[:-1]) == 2500 - batches[-1].num_rows
    assert all(b.num_rows >= 1000 for b in batches[:-1])
    rows = [r for b in batches for r in b.to_pylist()]
    assert rows[0] == {"名称": "企业0", "经度": "10000"} and rows[-1] == {"名称": "企业2499", "经度": "12499"} and len(rows) == 2500


@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_patched_workbook_opens_in_libreoffice(tmp_path):
    import subprocess

    src = tmp_path / "firms.xlsx"
    make_bureau_workbook(src, *_SITE)
    t = io.read_table_text(src)
    dst = io.write_table_back(t, pd.DataFrame({"xclz_status": ["inside", "=1+2", "-1", None, "z"]}), tmp_path / "out.xlsx",
                              extra_sheets={"汇总": pd.DataFrame({"a": ["=2+3"]})})
    out = tmp_path / "csv"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", str(out), str(dst)],
                   check=True, capture_output=True, timeout=240)
    main = (out / "out-企业名单.csv").read_text(encoding="utf-8").splitlines()
    assert main[2].endswith(",备注,xclz_status") and main[3].endswith(",inside") and main[4].endswith(",园区外,=1+2")
    assert main[5].endswith(",-1") and "913418001234567890" in main[4]  # text stays text, never calculated
    assert (out / "out-汇总.csv").read_text(encoding="utf-8").splitlines() == ["a", "=2+3"]
    assert (out / "out-说明.csv").exists()


def test_round_tripped_workbook_keeps_its_date_cells(tmp_path):
    import re
    import zipfile

    src = tmp_path / "dates.xlsx"
    wb = _Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["名称", "登记日期", "代码"])
    ws.append(["甲", _dt.datetime(2024, 3, 1), "0012"])
    ws.append(["乙", _dt.datetime(2019, 5, 6, 8, 30), "913418001234567890"])
    ws["B2"].number_format = 'yyyy"年"m"月"d"日"'
    wb.save(src)
    t = io.read_table_text(src)
    assert t.frame["登记日期"].tolist()[0].startswith("2024")  # read as the text the user sees
    dst = io.write_table_back(t, pd.DataFrame({"xclz_status": ["ok", "=1"]}), tmp_path / "out.xlsx")

    def user_cells(path):
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/worksheets/sheet1.xml").decode()
        return re.findall(r'<c r="[ABC][0-9]+".*?(?:/>|</c>)', xml)

    assert user_cells(dst) == user_cells(src)  # byte for byte: serials, styles, text codes
    out = _load_workbook(dst)["名单"]
    assert out["B2"].value == _dt.datetime(2024, 3, 1) and out["B2"].number_format == 'yyyy"年"m"月"d"日"'
    assert out["B3"].value == _dt.datetime(2019, 5, 6, 8, 30) and out["C2"].value == "0012" and out["C2"].data_type == "s"
    assert out["D3"].value == "=1" and out["D3"].quotePrefix


def test_written_back_workbook_gets_dates_in_added_columns_and_sheets(tmp_path, monkeypatch):
    import re
    import zipfile

    src = tmp_path / "dates.xlsx"
    wb = _Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["名称", "登记日期"])
    ws.append(["甲", _dt.datetime(2024, 3, 1)])
    ws.append(["乙", _dt.datetime(2019, 5, 6, 8, 30)])
    ws["B2"].number_format = 'yyyy"年"m"月"d"日"'  # a custom format of the user's: numFmt 164
    wb.save(src)
    t = io.read_table_text(src)
    add = pd.DataFrame({"核查日期": pd.to_datetime(["2025-01-02", None]), "核查时间": [_dt.datetime(2025, 1, 2, 9, 5), None],
                        "说明": ["2025-01-02", "=1"]})
    extra = {"汇总": pd.DataFrame({"日期": [_dt.date(2025, 1, 2)], "n": [2]})}
    fast = io.write_table_back(t, add, tmp_path / "fast.xlsx", extra_sheets=extra)

    def slow(*a, **k):
        raise io._XlsxUnsupported("test: the openpyxl path")

    monkeypatch.setattr(io, "_write_back_workbook_fast", slow)
    ref = io.write_table_back(t, add, tmp_path / "ref.xlsx", extra_sheets=extra)

    def cells(path):
        wb = _load_workbook(path)
        return {name: [[(c.value, c.number_format if c.is_date else None, c.data_type) for c in r] for r in wb[name].iter_rows()]
                for name in wb.sheetnames}

    got, want = cells(fast), cells(ref)
    assert got["名单"][1][2] == (_dt.datetime(2025, 1, 2), "yyyy-mm-dd", "d")
    assert got["名单"][1][3] == (_dt.datetime(2025, 1, 2, 9, 5), "yyyy-mm-dd h:mm:ss", "d")
    assert got["名单"][2][2][0] is None and got["名单"][1][4] == ("2025-01-02", None, "s")  # NaT empty; text stays text
    assert got["汇总"][1][0] == (_dt.datetime(2025, 1, 2), "yyyy-mm-dd", "d")
    assert got["名单"][1][1] == (_dt.datetime(2024, 3, 1), 'yyyy"年"m"月"d"日"', "d")  # the user's cell as it was
    # the openpyxl path gives the same values and kinds (it names the date-time format its own way)
    assert [[(v, bool(f), d) for v, f, d in r] for r in got["名单"]] == [[(v, bool(f), d) for v, f, d in r] for r in want["名单"]]
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(fast) as b:
        user = re.findall(r'<c r="[AB][0-9]+".*?(?:/>|</c>)', a.read("xl/worksheets/sheet1.xml").decode())
        assert re.findall(r'<c r="[AB][0-9]+".*?(?:/>|</c>)', b.read("xl/worksheets/sheet1.xml").decode()) == user
        styles, before = b.read("xl/styles.xml").decode(), a.read("xl/styles.xml").decode()
    # the user's number formats (164, 165 here) kept; ours take the next free ids
    old_fmts = re.search(r"<numFmts[^>]*>(.*?)</numFmts>", before).group(1)
    assert re.search(r"<numFmts[^>]*>(.*?)</numFmts>", styles).group(1) == (
        old_fmts + '<numFmt numFmtId="166" formatCode="yyyy-mm-dd"/><numFmt numFmtId="167" formatCode="yyyy-mm-dd h:mm:ss"/>')


@pytest.mark.parametrize("numfmts", ["empty", "absent"])
def test_written_back_dates_in_a_workbook_without_number_formats(tmp_path, monkeypatch, numfmts):
    import re
    import zipfile

    src = tmp_path / "plain.xlsx"
    wb = _Workbook()
    wb.active.append(["名称", "代码"])
    wb.active.append(["甲", "0012"])
    wb.save(src)  # openpyxl writes <numFmts count="0" />; other programs may write none
    with zipfile.ZipFile(src) as z:
        styles = z.read("xl/styles.xml").decode()
    assert re.search(r"<numFmts[^>]*/>", styles)
    if numfmts == "absent":
        _set_member(src, "xl/styles.xml", re.sub(r"<numFmts[^>]*/>", "", styles))
    fast = io._write_back_workbook_fast
    took: list[bool] = []
    monkeypatch.setattr(io, "_write_back_workbook_fast", lambda *a, **k: (fast(*a, **k), took.append(True))[0])
    t = io.read_table_text(src)
    out = io.write_table_back(t, pd.DataFrame({"日期": pd.to_datetime(["2025-01-02"])}), tmp_path / "o.xlsx")
    assert took == [True]  # the part-by-part copy, not openpyxl
    ws = _load_workbook(out).active
    assert ws["C2"].value == _dt.datetime(2025, 1, 2) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["B2"].value == "0012" and ws["B2"].data_type == "s"
