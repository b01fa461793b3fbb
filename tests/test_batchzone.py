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
from xclz_geo.geo.grid import build_grid, make_frame
from xclz_geo.geo.locate import locate_xy

ROOT = Path(__file__).resolve().parents[1]


def _cli(args, env):
    code = ("import sys, json; from xclz_geo.cli.main import main; rc = main(sys.argv[1:]); "
            "mods = sorted({m.split('.')[0] for m in sys.modules} & {'geopandas', 'pandas', 'pyproj', 'rasterio'}); "
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
