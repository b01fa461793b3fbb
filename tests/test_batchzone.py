"""The batch zone from the disk cache (xclz_geo.geo.batchzone): CSV → CSV without pandas or geopandas,
every output byte the full path's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xclz_geo.boundaries.zone import Zone
from xclz_geo.geo import batchzone
from xclz_geo.geo.grid import build_grid, clear_cache, make_frame
from xclz_geo.geo.locate import locate_xy

ROOT = Path(__file__).resolve().parents[1]


def _cli(args, env):
    code = ("import sys, json; from xclz_geo.cli.main import main; rc = main(sys.argv[1:]); "
            "mods = sorted({m.split('.')[0] for m in sys.modules} & {'geopandas', 'pandas', 'pyproj', 'rasterio', 'pyogrio'}); "
            "sys.stderr.write('MODULES ' + json.dumps(mods) + '\\n'); sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT)


def _modules(run) -> list[str]:
    return json.loads(run.stderr.strip().splitlines()[-1].removeprefix("MODULES "))


def _sites_csv(path: Path, zone: Zone, *, n: int = 400, messy: bool = False) -> None:
    """Sites around the zone's parts (WGS84), with text cells a user would keep: leading zeros, commas,
    quotes, Chinese, formula-looking text; ``messy`` adds blank, degree-sign and text coordinates."""
    rng = np.random.default_rng(7)
    b = zone.parts.total_bounds
    lon = rng.uniform(b[0] - 0.02, b[2] + 0.02, n)
    lat = rng.uniform(b[1] - 0.02, b[3] + 0.02, n)
    rows = ["编号,企业名称,lon,lat,备注"]
    for i in range(n):
        x, y = f"{lon[i]:.7f}", f"{lat[i]:.7f}"
        if messy and i % 50 == 3:
            x = ["", f"{lon[i]:.5f}°", "unknown", " "][i // 50 % 4]
        rows.append(f'00{i},"企业, {i} ""甲""",{x},{y},=SUM(A{i})' if i % 7 == 0 else f"00{i},企业{i},{x},{y},")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("datum", "messy", "extra"), [("wgs84", False, []), ("gcj02", True, []), ("bd09", False, ["--no-distance"])])
def test_csv_batch_from_the_cache_equals_the_full_path_byte_for_byte(tmp_path, boundaries_file, datum, messy, extra):
    zone = Zone.from_boundaries(boundaries_file)
    src = tmp_path / "sites.csv"
    _sites_csv(src, zone, messy=messy)
    env = dict(os.environ, XCLZ_GEO_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    base = ["locate", "--input", str(src), "--datum", datum, "--boundaries", str(boundaries_file), "--chunk-rows", "150", *extra]
    runs = {}
    for name, e in (("off", dict(env, XCLZ_GEO_CACHE="off")), ("cold", env), ("warm", env),
                    ("full", dict(env, XCLZ_GEO_BATCH_ZONE="off"))):
        out = tmp_path / f"{name}.csv"
        runs[name] = _cli([*base, "--out", str(out)], e)
        assert runs[name].returncode == 0, runs[name].stderr
        runs[name] = (runs[name], out.read_bytes())
    ref = runs["off"][1]
    assert ref.count(b"\n") == 401 and b"xclz_status" in ref
    for name in ("cold", "warm", "full"):
        assert runs[name][1] == ref, name
        # the same messages (the schematic warning, the summary line), the modules aside
        msgs = runs[name][0].stderr.replace(f"{name}.csv", "off.csv").splitlines()[:-1]
        assert msgs == runs["off"][0].stderr.splitlines()[:-1], name
    assert "synthetic, not official" in runs["warm"][0].stderr
    assert len(list((tmp_path / "cache").glob("zone-batch-*"))) == 1
    # the warm run reads no boundaries file and imports neither pandas nor geopandas, unless some rows are
    # not plain numbers (then locate_table parses them and writes their notes)
    warm = _modules(runs["warm"][0])
    assert "rasterio" not in warm
    assert ("pandas" in warm) == ("geopandas" in warm) == messy
    assert "geopandas" in _modules(runs["off"][0]) and "geopandas" in _modules(runs["full"][0])


def test_csv_batch_on_the_bundled_zone_imports_no_pandas(tmp_path):
    env = dict(os.environ, XCLZ_GEO_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    src = tmp_path / "sites.csv"
    src.write_text("id,经度,纬度\n001,119.4681,30.8931\n002,118.70,30.90\n003,119.0,30.5\n", encoding="utf-8")
    outs = []
    for name, e in (("off", dict(env, XCLZ_GEO_CACHE="off")), ("cold", env), ("warm", env)):
        r = _cli(["locate", "--input", str(src), "--out", str(tmp_path / f"{name}.csv")], e)
        assert r.returncode == 0, r.stderr
        outs.append((r, (tmp_path / f"{name}.csv").read_bytes()))
    assert outs[0][1] == outs[1][1] == outs[2][1]
    assert outs[0][1].startswith(b"\xef\xbb\xbfid,\xe7\xbb\x8f\xe5\xba\xa6,")  # BOM, header as typed
    assert b'"001"' in outs[0][1]  # the leading zeros kept
    warm = _modules(outs[2][0])  # pyproj may stay: the exact stage and the distances project with it
    assert "pandas" not in warm and "geopandas" not in warm and "rasterio" not in warm
    assert "pandas" in _modules(outs[0][0])


def test_batch_zone_round_trip_and_same_results_as_the_zone(monkeypatch, tmp_path, boundaries_file):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path / "cache"))
    zone = Zone.from_boundaries(boundaries_file)
    bz = batchzone.batch_zone_from_zone(zone, schematic_warnings=["w"])
    assert bz is not None
    key = batchzone.batch_key(boundaries=boundaries_file, spec=None, layer=None)
    assert batchzone.load_batch_zone(key) is None
    assert batchzone.store_batch_zone(key, bz)
    back = batchzone.load_batch_zone(key)
    assert back is not None and {k: back.meta[k] for k in bz.meta} == json.loads(json.dumps(bz.meta)) and back.wkb == bz.wkb
    frame = make_frame(datum="gcj02")
    assert back.grid(frame) is None  # the grid of this frame is not on disk yet: the full path builds it
    clear_cache()  # a grid another test left in memory would be returned without touching the disk
    build_grid(zone, frame=frame)  # … and stores it
    back = batchzone.load_batch_zone(key)
    grid = back.grid(frame)
    assert grid is not None
    rng = np.random.default_rng(3)
    b = zone.parts.total_bounds
    x, y = rng.uniform(b[0] - 0.03, b[2] + 0.03, 5000), rng.uniform(b[1] - 0.03, b[3] + 0.03, 5000)
    a = locate_xy(zone, x, y, datum="gcj02")
    c = locate_xy(back, x, y, datum="gcj02", grid=grid)
    assert set(a.status.tolist()) >= {0, 1, 2}
    for f in ("status", "part_index", "distance_m", "reason"):
        np.testing.assert_array_equal(getattr(a, f), getattr(c, f))
    for f in ("part_ids", "block_ids", "part_names_zh", "quality", "part_qualities", "zone_ids"):
        assert getattr(a, f) == getattr(c, f), f
    # another file content: another key; a damaged entry is ignored and removed
    boundaries_file.write_bytes(boundaries_file.read_bytes() + b"\n")
    assert batchzone.batch_key(boundaries=boundaries_file, spec=None, layer=None) != key
    (tmp_path / "cache" / key / "wkb.npy").write_bytes(b"garbage")
    assert batchzone.load_batch_zone(key) is None
    assert not (tmp_path / "cache" / key).exists()


# ------------------------------------------------------------------ XLSX and Parquet batches (the cached zone for any table)


def _zip_parts(path: Path) -> dict[str, bytes]:
    """Every part of a workbook, decompressed — the zip's timestamps and openpyxl's created/modified times aside."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    if "docProps/core.xml" in parts:
        parts["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"T", parts["docProps/core.xml"])
    return parts


def _same_output(a: Path, b: Path) -> bool:
    return _zip_parts(a) == _zip_parts(b) if a.suffix == ".xlsx" else a.read_bytes() == b.read_bytes()


def _sites(zone: Zone, n: int, datum: str, seed: int = 11):
    rng = np.random.default_rng(seed)
    b = zone.parts.total_bounds
    lon = rng.uniform(b[0] - 0.02, b[2] + 0.02, n)
    lat = rng.uniform(b[1] - 0.02, b[3] + 0.02, n)
    if datum != "wgs84":
        from xclz_geo.geo import crs

        lon, lat = crs.convert_datum(lon, lat, from_datum="wgs84", to_datum=datum)
    return np.round(lon, 7), np.round(lat, 7)


def _gcj_workbook(path: Path, zone: Zone, n: int = 300) -> None:
    """GCJ-02 sites on the second sheet under two title rows; codes as text (leading zeros, 18 digits) and as
    numbers, coordinates as numbers, as text, blank, with a degree sign or out of range."""
    from openpyxl import Workbook

    lon, lat = _sites(zone, n, "gcj02")
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["坐标系", "GCJ-02 (高德)"])
    ws = wb.create_sheet("企业名单")
    ws.append(["宣城市企业坐标（GCJ-02）"])
    ws.append(["单位：度"])
    ws.append(["编号", "统一社会信用代码", "代码数字", "企业名称", "经度", "纬度", "xclz_status"])
    for i in range(n):
        x: object = float(lon[i])
        y: object = float(lat[i])
        if i % 37 == 5:
            x = ["", f"{lon[i]:.5f}°", "待补充", 200.5, str(lon[i])][i // 37 % 5]
        row = [f"{i:04d}", f"9134180{i:011d}", 913418000000000000 + i, f"企业{i}" if i % 9 else f"=企业{i}", x, y, "old"]
        ws.append(row)
        for c in (1, 2, 4):
            ws.cell(row=ws.max_row, column=c).data_type = "s"
        if isinstance(x, str):
            ws.cell(row=ws.max_row, column=5).data_type = "s"
    wb.save(path)


def _sites_parquet(path: Path, zone: Zone, n: int, datum: str) -> None:
    """Typed columns as a Parquet user has them: text codes with leading zeros, 18-digit codes as text and as
    int64, floats, booleans, integers with gaps, and coordinates with NaN and out-of-range values."""
    import pandas as pd

    lon, lat = _sites(zone, n, datum, seed=5)
    lon[7::211] = np.nan
    lat[11::307] = 95.0
    df = pd.DataFrame({
        "编号": [f"{i:06d}" for i in range(n)],
        "统一社会信用代码": [f"9134180{i:011d}" for i in range(n)],
        "代码数字": np.arange(n, dtype=np.int64) + 913418000000000000,
        "企业名称": [f"企业, {i} \"甲\"" if i % 13 == 0 else (f"=A{i}" if i % 17 == 0 else f"企业{i}") for i in range(n)],
        "面积": np.round(np.linspace(0.1, 999.9, n), 3),
        "规上": [bool(i % 2) for i in range(n)],
        "人数": pd.array([None if i % 19 == 0 else i for i in range(n)], dtype="Int64"),
        "lon": lon, "lat": lat,
    })
    df.to_parquet(path, index=False)


def _compare_runs(tmp_path, boundaries_file, src: Path, datum: str, outputs: list[str], extra: list[str] = ()):
    """``locate`` of ``src`` into each output: with the cache off (the full path), cold, then warm (from the cache);
    every output of the warm runs the same as the full path's, and the warm runs read no boundaries file."""
    env = dict(os.environ, XCLZ_GEO_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    base = ["locate", "--input", str(src), "--datum", datum, "--boundaries", str(boundaries_file), *extra]
    warm_runs = []
    for k, ext in enumerate(outputs):
        runs = {}
        for name, e in (("off", dict(env, XCLZ_GEO_CACHE="off")), *((("cold", env),) if k == 0 else ()), ("warm", env)):
            out = tmp_path / f"{src.stem}_{name}{ext}"
            r = _cli([*base, "--out", str(out)], e)
            assert r.returncode == 0, r.stderr
            runs[name] = (r, out)
        ref = runs["off"][1]
        for name in runs:
            assert _same_output(runs[name][1], ref), (name, ext)
            msgs = runs[name][0].stderr.replace(runs[name][1].name, ref.name).splitlines()[:-1]
            assert msgs == runs["off"][0].stderr.splitlines()[:-1], (name, ext)
        assert "pyogrio" in _modules(runs["off"][0])
        warm_runs.append(runs["warm"][0])
    for r in warm_runs:  # the zone came from the disk cache: the boundaries file was never read
        assert "pyogrio" not in _modules(r) and "rasterio" not in _modules(r)
    _compare_runs.warm_modules = [_modules(r) for r in warm_runs]
    return {ext: tmp_path / f"{src.stem}_off{ext}" for ext in outputs}


def test_xlsx_batch_from_the_cache_equals_the_full_path(tmp_path, boundaries_file):
    from openpyxl import load_workbook

    from bureau_tables import make_bureau_workbook

    zone = Zone.from_boundaries(boundaries_file)
    c = zone.parts.geometry.iloc[0].representative_point()
    bureau = tmp_path / "bureau.xlsx"
    make_bureau_workbook(bureau, c.x, c.y)  # BD-09, title rows, two sheets, a blank and a text coordinate
    outs = _compare_runs(tmp_path, boundaries_file, bureau, "bd09", [".xlsx", ".csv"])
    ws = load_workbook(outs[".xlsx"])["企业名单"]
    assert ws["B5"].value == "913418001234567890" and ws["D4"].value == "0012"  # text stays text
    status = [ws.cell(r, 15).value for r in range(3, 9)]
    assert status[0] == "xclz_status" and set(status[1:]) >= {"inside", "outside", "invalid"}
    gcj = tmp_path / "gcj.xlsx"
    _gcj_workbook(gcj, zone)
    outs = _compare_runs(tmp_path, boundaries_file, gcj, "gcj02", [".xlsx"], ["--sheet", "企业名单"])
    wb = load_workbook(outs[".xlsx"])
    assert wb.sheetnames == ["说明", "企业名单"]
    ws = wb["企业名单"]
    head = [c.value for c in ws[3]]
    assert head[:7] == ["编号", "统一社会信用代码", "代码数字", "企业名称", "经度", "纬度", "xclz_status_input"]
    got = {ws.cell(r, head.index("xclz_status") + 1).value for r in range(4, 304)}
    assert got >= {"inside", "outside", "invalid"}
    assert ws["A4"].value == "0000" and ws["B4"].value == "913418000000000000" and ws["C4"].value == 913418000000000000


def test_parquet_batch_from_the_cache_equals_the_full_path(tmp_path, boundaries_file):
    import pandas as pd

    zone = Zone.from_boundaries(boundaries_file)
    src = tmp_path / "sites.parquet"
    _sites_parquet(src, zone, 25_000, "bd09")  # more rows than the small writers take: the streamed writers
    from argparse import Namespace

    from xclz_geo.cli import locate as locate_cli

    cached = type("Cached", (), {"is_batch_zone": True})()
    plan = locate_cli._parquet_csv_plan(Namespace(csv_safe=False), cached, src, ".csv")  # the Arrow path, column by column
    assert plan == {"编号": "keep", "统一社会信用代码": "keep", "代码数字": "keep", "企业名称": "keep", "面积": "float",
                    "规上": "bool", "人数": "int_gaps", "lon": "float", "lat": "float"}
    assert locate_cli._parquet_csv_plan(Namespace(csv_safe=True), cached, src, ".csv") is None
    assert locate_cli._parquet_csv_plan(Namespace(csv_safe=False), cached, src, ".xlsx") is None
    assert locate_cli._parquet_csv_plan(Namespace(csv_safe=False), zone, src, ".csv") is None  # the full zone
    outs = _compare_runs(tmp_path, boundaries_file, src, "bd09", [".csv", ".parquet"])
    back = pd.read_csv(outs[".csv"], dtype=str, keep_default_na=False)
    assert len(back) == 25_000 and back["编号"].iloc[7] == "000007" and back["统一社会信用代码"].iloc[0] == "913418000000000000"
    assert set(back["xclz_status"]) == {"inside", "outside", "uncertain", "invalid"}
    assert back["xclz_note"].iloc[7] != "" and back["xclz_note"].iloc[8] == ""
    small = tmp_path / "small.parquet"
    _sites_parquet(small, zone, 400, "gcj02")  # few rows: pandas' writers
    assert locate_cli._parquet_csv_plan(Namespace(csv_safe=False), cached, small, ".csv") is None
    _compare_runs(tmp_path, boundaries_file, small, "gcj02", [".csv", ".xlsx"])


def test_parquet_to_csv_of_plain_columns_takes_the_arrow_path(tmp_path, boundaries_file):
    """A Parquet file written without pandas (no pandas metadata: integers with gaps read as floats), with
    row groups and chunks that do not line up, unsigned and float32 columns, booleans with gaps, empty and
    all-missing text, a result column of an earlier run: the warm run imports no pandas, same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    zone = Zone.from_boundaries(boundaries_file)
    n = 21_000
    lon, lat = _sites(zone, n, "wgs84", seed=8)
    src = tmp_path / "plain.parquet"
    pq.write_table(pa.table({
        "id": [f"{i:05d}" for i in range(n)],
        "code": pa.array(np.arange(n, dtype=np.int64) + 913418000000000000),
        "gaps": pa.array([None if i % 5 == 0 else 913418000000000000 + i for i in range(n)], pa.int64()),
        "u": pa.array(np.arange(n, dtype=np.uint32)),
        "f32": pa.array(np.linspace(0, 1, n, dtype=np.float32)),
        "nanf": pa.array([np.nan if i % 3 == 0 else i / 7 for i in range(n)]),
        "flag": pa.array([None if i % 4 == 0 else bool(i % 2) for i in range(n)], pa.bool_()),
        "empty": pa.array([None] * n, pa.string()),
        "blank": [""] * n,
        "xclz_status": ["old"] * n,
        "经度": lon, "纬度": lat,
    }), src, row_group_size=5000)
    outs = _compare_runs(tmp_path, boundaries_file, src, "wgs84", [".csv"], ["--chunk-rows", "4000"])
    assert all("pandas" not in m and "geopandas" not in m for m in _compare_runs.warm_modules)
    head = outs[".csv"].read_bytes().split(b"\n", 2)[:2]
    assert head[0] == ("\ufeffid,code,gaps,u,f32,nanf,flag,empty,blank,xclz_status_input,经度,纬度,"
                       "xclz_status,xclz_zone,xclz_block,xclz_part,xclz_distance_m,xclz_quality,xclz_note").encode()
    assert head[1].startswith(b'"00000",913418000000000000,,0,0,,,,"","old",')


def test_csv_into_other_formats_from_the_cache_equals_the_full_path(tmp_path, boundaries_file):
    zone = Zone.from_boundaries(boundaries_file)
    src = tmp_path / "sites.csv"
    _sites_csv(src, zone, messy=True)
    _compare_runs(tmp_path, boundaries_file, src, "gcj02", [".xlsx", ".parquet"], ["--chunk-rows", "150"])
