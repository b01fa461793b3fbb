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
