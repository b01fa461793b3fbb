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
