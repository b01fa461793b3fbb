"""``xclz-geo report``: bad input gives one line and exit 2; a good run writes the three files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xclz_geo.cli.main import main
from xclz_geo.datasets import data_path


def run_sub(*args: str) -> tuple[int, str, str]:
    """Run the CLI in a subprocess, as a user would (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "xclz_geo.cli.main", *args], capture_output=True, text=True, encoding="utf-8")
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def run_cli(capsys):
    """Run ``main()`` in-process (fast); returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("xclz-geo: error:")]
    assert len(errors) == 1, err
    for n in needles:
        assert n in errors[0], errors[0]


def test_missing_enterprise_file_in_a_subprocess(tmp_path, boundaries_file):
    code, out, err = run_sub("report", "--boundaries", str(boundaries_file), "--enterprises", str(tmp_path / "nope.csv"),
                             "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "nope.csv", "not found")


def test_parcels_file_that_is_not_a_vector_file(tmp_path, boundaries_file, run_cli):
    bad = tmp_path / "parcels.gpkg"
    bad.write_text("this is not a GeoPackage", encoding="utf-8")
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--parcels", str(bad), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "parcels.gpkg")


def test_enterprise_table_without_known_headers(tmp_path, boundaries_file, run_cli):
    bad = tmp_path / "firms.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--enterprises", str(bad), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "firms.csv")


def test_unknown_method(tmp_path, boundaries_file, run_cli):
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--method", "atlantis", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "atlantis")


def test_out_is_a_file(tmp_path, boundaries_file, run_cli):
    f = tmp_path / "taken"
    f.write_text("x", encoding="utf-8")
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--no-samples", "--out", str(f))
    assert_one_line_error(code, err, "folder")


@pytest.mark.parametrize("item", ["enterprises", "enterprises=gold", "roads=official"])
def test_bad_data_quality_declaration(tmp_path, boundaries_file, item, run_cli):
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--data-quality", item, "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "--data-quality")


def test_out_is_required(tmp_path, run_cli):
    code, out, err = run_cli("report")
    assert code == 2 and "--out" in err and "Traceback" not in err


def test_samples_run_json(tmp_path, boundaries_file, run_cli):
    if not data_path("samples", "enterprises_synthetic.csv", must_exist=False).exists():
        pytest.skip("no bundled enterprise sample in this checkout")
    out = tmp_path / "rep"
    code, stdout, err = run_cli("report", "--boundaries", str(boundaries_file), "--out", str(out), "--json")
    assert code == 0, err
    assert "Traceback" not in err
    doc = json.loads(stdout)
    assert "enterprises" in doc["samples_used"]
    for key in ("html", "xlsx", "gpkg"):
        assert doc[key] and (out / doc[key].rsplit("/", 1)[-1]).is_file()
    ent = next(i for i in doc["inputs"] if i["name"].startswith("enterprises"))
    assert ent["quality"] == "synthetic"
    eff = next(s for s in doc["sections"] if s["id"] == "efficiency")
    assert eff["status"] == "ok" and all(t["caveat"] for t in eff["tables"])
    assert doc["caveats"] and "not official" in doc["caveats"][0]


def test_declared_quality_replaces_unlabelled(tmp_path, boundaries_file, run_cli):
    sample = data_path("samples", "enterprises_synthetic.csv", must_exist=False)
    if not sample.exists():
        pytest.skip("no bundled enterprise sample in this checkout")
    import pandas as pd

    # a copy outside data/samples without its quality column is "unlabelled" unless declared
    df = pd.read_csv(sample, encoding="utf-8-sig").drop(columns=["数据质量"])
    f = tmp_path / "firms.csv"
    df.to_csv(f, index=False, encoding="utf-8-sig")
    code, stdout, err = run_cli("report", "--boundaries", str(boundaries_file), "--enterprises", str(f), "--out", str(tmp_path / "a"), "--json")
    assert code == 0, err
    ent = next(i for i in json.loads(stdout)["inputs"] if i["name"].startswith("enterprises"))
    assert ent["quality"] == "unlabelled"
    code, stdout, err = run_cli("report", "--boundaries", str(boundaries_file), "--enterprises", str(f), "--out", str(tmp_path / "b"),
                                "--json", "--data-quality", "enterprises=surveyed")
    assert code == 0, err
    ent = next(i for i in json.loads(stdout)["inputs"] if i["name"].startswith("enterprises"))
    assert ent["quality"] == "surveyed"


def test_report_with_parcels_where_nothing_is_underused(tmp_path, boundaries_file, run_cli, synthetic_boundaries):
    """Issue 13 R2: an empty under-used list is a normal outcome (exit 0, the three files)."""
    import geopandas as gpd
    from shapely.geometry import box

    x0, y0, _, _ = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[0].bounds
    for name, geoms in (("inside", [box(x0, y0, x0 + 200, y0 + 100)]),  # healthy: 容积率 1.5, 建筑系数 40 %
                        ("outside", [box(x0 - 5000, y0 - 5000, x0 - 4800, y0 - 4900)])):  # nothing to check
        p = tmp_path / f"{name}.gpkg"
        gpd.GeoDataFrame({"地块编号": ["A"], "DLBM": ["0601"], "行业代码": ["3484"], "总建筑面积": [30000.0],
                          "建筑基底面积": [8000.0]}, geometry=geoms, crs="EPSG:4549").to_file(p, driver="GPKG")
        out = tmp_path / f"out_{name}"
        code, stdout, err = run_cli("report", "--boundaries", str(boundaries_file), "--parcels", str(p), "--out", str(out),
                                    "--no-samples")
        assert code == 0, err
        assert "internal error" not in err
        assert (out / "land_efficiency_report.html").exists() and (out / "land_efficiency_report.xlsx").exists()
        assert "0.0 亩" in stdout


def test_report_gbk_shapefile_with_cut_names_and_field_option(tmp_path, boundaries_file, run_cli, synthetic_boundaries):
    """Issue 12: a GBK shapefile's 10-byte names feed 建筑密度 and the investment indicator; any other
    column is mapped with --field; an indicator left empty names the field on the console."""
    import warnings

    import geopandas as gpd
    from shapely.geometry import box

    x0, y0, _, _ = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[0].bounds
    g = gpd.GeoDataFrame({"地块编号": ["A", "B"], "DLBM": ["0601", "0701"], "统计类别": ["A2", "A1"], "是否已供应": ["是", "是"],
                          "总建筑面积(平方米)": [30000.0, 20000.0], "建筑基底面积(平方米)": [8000.0, 5000.0],
                          "固定资产投资(万元)": [3000.0, 0.0], "行业代码": ["3484", None]},
                         geometry=[box(x0, y0, x0 + 200, y0 + 100), box(x0 + 200, y0, x0 + 400, y0 + 100)], crs="EPSG:4549")
    shp = tmp_path / "p.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.to_file(shp, encoding="GBK", engine="pyogrio")
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--parcels", str(shp), "--out", str(tmp_path / "o"),
                             "--no-samples", "--json")
    assert code == 0, err
    doc = json.loads(out)
    sec = next(s for s in doc["sections"] if s["id"] == "intensity")
    text = json.dumps(sec, ensure_ascii=False)
    assert "建筑基底面 → 建筑基底面积" in text and "固定资产投 → 固定资产投资" in text
    v = sec["facts"]["units"]["part:xuancheng"]
    assert v["building_density"] == pytest.approx(13000 / 40000 * 100)  # from the column cut to 建筑基底面
    assert v["industrial_investment_intensity"] == pytest.approx(1500.0)  # 3000 万元 on 2 公顷, from 固定资产投
    # the same layer with the investment column under another name: empty, and the console says how to fix it
    g2 = g.rename(columns={"固定资产投资(万元)": "INV"})
    shp2 = tmp_path / "p2.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g2.to_file(shp2, encoding="GBK", engine="pyogrio")
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--parcels", str(shp2), "--out", str(tmp_path / "o2"),
                             "--no-samples")
    assert code == 0, err
    assert "the parcel layer has no 固定资产投资" in out and "--field 固定资产投资=<your column>" in out
    code, out, err = run_cli("report", "--boundaries", str(boundaries_file), "--parcels", str(shp2), "--out", str(tmp_path / "o3"),
                             "--no-samples", "--field", "固定资产投资=INV")
    assert code == 0, err
    assert "the parcel layer has no 固定资产投资" not in out
