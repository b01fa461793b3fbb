"""Tests of ``xclz-geo landuse`` (run in-process through ``xclz_geo.cli.main.main``)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import Affine
from shapely.geometry import box

from xclz_geo.cli.main import main

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def boundaries_file(tmp_path, synthetic_boundaries):
    p = tmp_path / "boundaries.geojson"
    synthetic_boundaries.to_file(p, driver="GeoJSON")
    return p


@pytest.fixture
def parcels_file(tmp_path, synthetic_boundaries):
    x0, y0, _, _ = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[0].bounds
    gdf = gpd.GeoDataFrame(
        {"DLBM": ["0601", "0508", "0699"], "DLMC": ["工业用地", "物流仓储用地", "未知"]},
        geometry=[box(x0, y0, x0 + 300, y0 + 200), box(x0 + 300, y0, x0 + 400, y0 + 200), box(x0 + 500, y0, x0 + 510, y0 + 10)],
        crs="EPSG:4549",
    )
    p = tmp_path / "dltb.gpkg"
    gdf.to_file(p, driver="GPKG")
    return p


@pytest.fixture
def raster_file(tmp_path, synthetic_boundaries):
    x0, y0, x1, y1 = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[2].bounds  # guangde_west
    T = Affine(30.0, 0.0, x0 - 300.0, 0.0, -30.0, y1 + 300.0)
    h, w = int((y1 - y0 + 600) / 30) + 1, int((x1 - x0 + 600) / 30) + 1
    data = np.where(np.arange(w) % 2 == 0, 1, 8).astype(np.uint8)[None, :].repeat(h, axis=0)
    p = tmp_path / "clcd.tif"
    with rasterio.open(p, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint8", crs="EPSG:4549",
                       transform=T, nodata=0) as dst:
        dst.write(data, 1)
    return p


def run(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_parcels_json_shape_and_unknown_code_exit_1(capsys, boundaries_file, parcels_file):
    rc, out, err = run(capsys, "landuse", "--parcels", str(parcels_file), "--boundaries", str(boundaries_file), "--json")
    assert rc == 1  # the unknown code 0699 is reported, and the exit status says so
    doc = json.loads(out)
    assert set(doc) >= {"parts", "method"}
    part = next(p for p in doc["parts"] if p["part_id"] == "xuancheng")
    assert {"part_id", "classes", "outside_raster_m2", "nodata_m2"} <= set(part)
    classes = {c["code"]: c for c in part["classes"]}
    assert classes["0601"]["area_m2"] == pytest.approx(60_000, rel=1e-9)
    assert classes["0601"]["area_mu"] == pytest.approx(90.0, rel=1e-9)
    assert classes["0508"]["share"] == pytest.approx(20_000 / 29.8e6, rel=1e-6)
    assert "0699" in classes
    assert doc["unknown_codes"][0]["code"] == "0699"
    assert doc["method"]["scheme"] == "sandiao"
    assert doc["method"]["quality"]["zone"] == "synthetic"
    assert "0699" in err  # the warning names the code


def test_parcels_level_1_group_and_out_files(capsys, tmp_path, boundaries_file, parcels_file):
    rc, out, _ = run(capsys, "landuse", "--parcels", str(parcels_file), "--boundaries", str(boundaries_file),
                     "--level", "group", "--json")
    doc = json.loads(out)
    codes = {c["code"] for c in doc["parts"][0]["classes"]}
    assert {"industrial", "logistics", "unknown"} <= codes
    csv = tmp_path / "out.csv"
    rc, out, _ = run(capsys, "landuse", "--parcels", str(parcels_file), "--boundaries", str(boundaries_file),
                     "--level", "1", "--out", str(csv))
    assert rc == 1 and "xuancheng" in out
    df = pd.read_csv(csv, encoding="utf-8-sig", dtype={"code": str})
    row = df[(df["part_id"] == "xuancheng") & (df["code"] == "05")]
    assert row["area_m2"].iloc[0] == pytest.approx(20_000, rel=1e-9)  # 三调 05 holds 0508
    assert (df["quality_zone"] == "synthetic").all()
    xlsx = tmp_path / "out.xlsx"
    run(capsys, "landuse", "--parcels", str(parcels_file), "--boundaries", str(boundaries_file), "--out", str(xlsx))
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert {"classes", "parts", "groups", "parcels", "unknown_codes", "overlaps", "method"} <= set(sheets)
    assert len(sheets["parcels"]) == 3


def test_raster_json_with_builtin_classes(capsys, boundaries_file, raster_file):
    rc, out, _ = run(capsys, "landuse", "--raster", str(raster_file), "--classes", "clcd",
                     "--boundaries", str(boundaries_file), "--json")
    doc = json.loads(out)
    assert rc == 1  # two parts lie outside this small raster: reported, exit 1
    parts = {p["part_id"]: p for p in doc["parts"]}
    west = parts["guangde_west"]
    assert west["status"] == "ok" and west["outside_raster_m2"] == pytest.approx(0, abs=1e-6)
    names = {c["name"] for c in west["classes"]}
    assert names == {"耕地", "不透水面(建设用地)"}
    assert sum(c["area_m2"] for c in west["classes"]) == pytest.approx(3.77e6, rel=1e-6)
    assert parts["xuancheng"]["status"] == "outside the raster"
    assert parts["xuancheng"]["outside_raster_m2"] == pytest.approx(29.8e6, rel=1e-6)
    m = doc["method"]
    assert m["raster_crs"] == "EPSG:4549" and m["cell_size"] == "30 m × 30 m"
    assert m["quality"] == {"zone": "synthetic", "data": "unknown"}


def test_bad_input_exit_2(capsys, tmp_path, boundaries_file, parcels_file, raster_file):
    rc, _, err = run(capsys, "landuse", "--parcels", str(tmp_path / "missing.gpkg"), "--boundaries", str(boundaries_file))
    assert rc == 2 and "not found" in err
    rc, _, err = run(capsys, "landuse", "--parcels", str(parcels_file), "--code-field", "NOPE", "--boundaries", str(boundaries_file))
    assert rc == 2 and "NOPE" in err and "Traceback" not in err
    rc, _, err = run(capsys, "landuse", "--raster", str(raster_file), "--classes", str(tmp_path / "nope.csv"),
                     "--boundaries", str(boundaries_file))
    assert rc == 2 and "nope.csv" in err
    rc, _, err = run(capsys, "landuse", "--parcels", str(parcels_file), "--classes", "clcd", "--boundaries", str(boundaries_file))
    assert rc == 2 and "--classes" in err
    with pytest.raises(SystemExit):
        main(["landuse", "--parcels", str(parcels_file), "--raster", str(raster_file)])


def test_bundled_samples(capsys):
    rc, out, _ = run(capsys, "landuse", "--parcels", str(SAMPLES / "landuse_parcels_synthetic.gpkg"), "--json")
    doc = json.loads(out)
    assert rc == 1  # the sample carries one deliberately unknown code
    assert [u["code"] for u in doc["unknown_codes"]] == ["0699"]
    assert doc["method"]["quality"]["data"] == "synthetic"
    for p in doc["parts"]:
        assert p["gap_m2"] == pytest.approx(0, abs=1.0)  # the sample tiles every part
    rc, out, _ = run(capsys, "landuse", "--raster", str(SAMPLES / "landcover_synthetic.tif"), "--classes", "clcd", "--json")
    doc = json.loads(out)
    assert rc == 0
    assert doc["method"]["quality"]["data"] == "synthetic"
    assert all(p["outside_raster_m2"] == pytest.approx(0, abs=1e-3) for p in doc["parts"])


@pytest.fixture
def mixed_level1_parcels(tmp_path, synthetic_boundaries):
    """0508 (logistics) + 05H1 (commercial) → 05; 0810 (green) + 08H1 (public) → 08; 0301K (suffix K) → 03."""
    x0, y0, _, _ = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[0].bounds
    codes = ["0508", "05H1", "0810", "08H1", "0301K", "0601"]
    widths = [100, 200, 50, 150, 300, 120]  # each 100 m tall
    geoms, x = [], x0
    for w in widths:
        geoms.append(box(x, y0, x + w, y0 + 100))
        x += w
    gdf = gpd.GeoDataFrame({"DLBM": codes}, geometry=geoms, crs="EPSG:4549")
    p = tmp_path / "mixed.gpkg"
    gdf.to_file(p, driver="GPKG")
    return p, dict(zip(codes, [w * 100.0 for w in widths]))


def test_level_1_is_one_row_per_first_level_code_in_every_output(capsys, tmp_path, boundaries_file, mixed_level1_parcels):
    path, areas = mixed_level1_parcels
    total = sum(areas.values())
    expected = {"05": areas["0508"] + areas["05H1"], "08": areas["0810"] + areas["08H1"], "03": areas["0301K"], "06": areas["0601"]}
    base = ["landuse", "--parcels", str(path), "--boundaries", str(boundaries_file), "--scheme", "sandiao", "--level", "1"]
    # JSON
    rc, out, _ = run(capsys, *base, "--json")
    assert rc == 0
    part = next(p for p in json.loads(out)["parts"] if p["part_id"] == "xuancheng")
    codes = [c["code"] for c in part["classes"]]
    assert sorted(codes) == sorted(expected)  # no first-level code twice
    got = {c["code"]: c["area_m2"] for c in part["classes"]}
    for code, a in expected.items():
        assert got[code] == pytest.approx(a, rel=1e-9)
    assert sum(got.values()) == pytest.approx(total, rel=1e-9)
    names = {c["code"]: c["name"] for c in part["classes"]}
    assert names["05"] == "商业服务业用地" and names["03"] == "林地"
    # console: one line per code
    rc, out, _ = run(capsys, *base)
    block = out.split("xuancheng", 1)[1].split("parcels", 1)[0]
    for code in expected:
        assert sum(1 for line in block.splitlines() if line.strip("│ ").startswith(code + " ")) == 1, code
    # CSV and XLSX
    csv, xlsx = tmp_path / "l1.csv", tmp_path / "l1.xlsx"
    run(capsys, *base, "--out", str(csv))
    run(capsys, *base, "--out", str(xlsx))
    for df in (pd.read_csv(csv, encoding="utf-8-sig", dtype={"code": str}),
               pd.read_excel(xlsx, sheet_name="classes", dtype={"code": str})):
        sub = df[df["part_id"] == "xuancheng"]
        assert sorted(sub["code"]) == sorted(expected)
        assert dict(zip(sub["code"], sub["area_m2"])) == pytest.approx(expected, rel=1e-9)
        assert sub["area_m2"].sum() == pytest.approx(total, rel=1e-9)
    lvl1 = pd.read_excel(xlsx, sheet_name="level1", dtype={"code": str})
    assert sorted(lvl1[lvl1["part_id"] == "xuancheng"]["code"]) == sorted(expected)


def test_level_2_rolls_suffixed_codes_to_their_parent_by_the_tables(capsys, boundaries_file, mixed_level1_parcels):
    path, areas = mixed_level1_parcels
    rc, out, _ = run(capsys, "landuse", "--parcels", str(path), "--boundaries", str(boundaries_file), "--scheme", "sandiao",
                     "--level", "2", "--json")
    part = next(p for p in json.loads(out)["parts"] if p["part_id"] == "xuancheng")
    got = {c["code"]: c["area_m2"] for c in part["classes"]}
    assert got["0301"] == pytest.approx(areas["0301K"], rel=1e-9) and "0301K" not in got
    # in GB/T 21010 the 三调 codes roll up as code_variants.csv says: 0508 → 0604 → 06, 05H1 → 05
    rc, out, _ = run(capsys, "landuse", "--parcels", str(path), "--boundaries", str(boundaries_file), "--scheme", "gbt21010",
                     "--level", "1", "--json")
    assert rc == 0
    part = next(p for p in json.loads(out)["parts"] if p["part_id"] == "xuancheng")
    got = {c["code"]: c["area_m2"] for c in part["classes"]}
    assert got["06"] == pytest.approx(areas["0508"] + areas["0601"], rel=1e-9)
    assert got["05"] == pytest.approx(areas["05H1"], rel=1e-9)
    assert got["08"] == pytest.approx(areas["0810"] + areas["08H1"], rel=1e-9)


def test_field_option_names_the_code_column(capsys, tmp_path, boundaries_file, synthetic_boundaries):
    x0, y0, _, _ = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[0].bounds
    gdf = gpd.GeoDataFrame({"MYCODE": ["0601", "0508"]}, geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 100, y0, x0 + 200, y0 + 100)],
                           crs="EPSG:4549")
    p = tmp_path / "odd.gpkg"
    gdf.to_file(p, driver="GPKG")
    rc, _, err = run(capsys, "landuse", "--parcels", str(p), "--boundaries", str(boundaries_file), "--json")
    assert rc == 2 and "MYCODE" in err  # the code field is not found; the message lists the fields
    rc, out, _ = run(capsys, "landuse", "--parcels", str(p), "--boundaries", str(boundaries_file), "--json", "--field", "地类编码=MYCODE")
    assert rc == 0
    doc = json.loads(out)
    assert doc["method"]["code_field"] == "MYCODE"
    rc, _, err = run(capsys, "landuse", "--parcels", str(p), "--boundaries", str(boundaries_file), "--field", "税收=MYCODE")
    assert rc == 2 and "not a field this command uses" in err


def test_memory_mb_reaches_the_engine_and_changes_windows_not_results(capsys, boundaries_file, synthetic_boundaries, tmp_path):
    # a 5 m raster over guangde_west (≈ 250,000 cells, 3 classes in a checkered pattern): one window by default
    x0, y0, x1, y1 = synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[2].bounds
    T = Affine(5.0, 0.0, x0 - 100.0, 0.0, -5.0, y1 + 100.0)
    h, w = int((y1 - y0 + 200) / 5) + 1, int((x1 - x0 + 200) / 5) + 1
    rr, cc = np.mgrid[0:h, 0:w]
    data = np.choose((rr // 7 + cc // 11) % 3, [1, 2, 8]).astype(np.uint8)
    raster = tmp_path / "fine.tif"
    with rasterio.open(raster, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint8", crs="EPSG:4549",
                       transform=T, nodata=0, tiled=True, blockxsize=64, blockysize=64) as dst:
        dst.write(data, 1)
    base = ["landuse", "--raster", str(raster), "--classes", "clcd", "--boundaries", str(boundaries_file)]
    rc0, out0, _ = run(capsys, *base, "--json")
    rc1, out1, _ = run(capsys, *base, "--json", "--memory-mb", "1")
    d0, d1 = json.loads(out0), json.loads(out1)
    assert rc0 == rc1 == 1  # two parts lie outside this raster
    # 1 MB = 10⁶ / (48 + 1) cells per window for this uint8 raster, against the default 2,000,000
    cap = 1_000_000 // 49
    assert d1["method"]["max_window_cells"] == cap and d0["method"]["max_window_cells"] == 2_000_000
    assert d1["method"]["max_cells_read_at_once"] <= cap < d0["method"]["max_cells_read_at_once"]
    assert d1["method"]["windows_read"] > d0["method"]["windows_read"]
    p0 = {p["part_id"]: p for p in d0["parts"]}
    p1 = {p["part_id"]: p for p in d1["parts"]}
    assert p0.keys() == p1.keys()
    west0, west1 = p0["guangde_west"], p1["guangde_west"]
    assert len(west0["classes"]) == 3
    for pid in p0:
        a, b = p0[pid], p1[pid]
        assert a["status"] == b["status"]
        assert [c["code"] for c in a["classes"]] == [c["code"] for c in b["classes"]]
        for c, e in zip(a["classes"], b["classes"]):
            assert c["area_m2"] == pytest.approx(e["area_m2"], rel=1e-9, abs=1e-6)
    # and through a file output: the same table
    assert run(capsys, *base, "--out", str(tmp_path / "a.csv"))[0] == 1
    assert run(capsys, *base, "--memory-mb", "1", "--out", str(tmp_path / "b.csv"))[0] == 1
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert len(a) >= 3
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


@pytest.mark.parametrize("bad", ["0", "-5", "abc", "1.5", ""])
def test_memory_mb_bad_values_exit_2_naming_the_option(capsys, boundaries_file, raster_file, bad):
    with pytest.raises(SystemExit) as exc:
        main(["landuse", "--raster", str(raster_file), "--boundaries", str(boundaries_file), f"--memory-mb={bad}"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "--memory-mb" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_memory_mb_is_for_rasters_and_its_help_states_the_engine_default(capsys, boundaries_file, parcels_file):
    import inspect

    from xclz_geo.cli.landuse import ENGINE_DEFAULT_WINDOW_CELLS
    from xclz_geo.landuse.overlay import landcover_by_polygons

    rc, _, err = run(capsys, "landuse", "--parcels", str(parcels_file), "--memory-mb", "50", "--boundaries", str(boundaries_file))
    assert rc == 2 and "--memory-mb" in err and "--raster" in err
    assert inspect.signature(landcover_by_polygons).parameters["max_window_cells"].default == ENGINE_DEFAULT_WINDOW_CELLS
    with pytest.raises(SystemExit) as exc:
        main(["landuse", "--help"])
    assert exc.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--memory-mb N" in help_text and f"{ENGINE_DEFAULT_WINDOW_CELLS:,} cells" in help_text
