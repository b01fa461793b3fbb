"""The compiled lookup kernel (xclz_geo.geo._lookup) against the numpy path of xclz_geo.geo.locate.

On each zone shape — the bundled zone, a 1,000-vertex star zone, a sparse zone of low-vertex parts with a
wide (300 m) uncertainty band, and a zone of 20 overlapping parts (an int16 packed grid) — random points
and adversarial ones (exactly on coarse cell edges and on fine-cell edges inside refinement tiles, on the
grid's margin and beyond it, NaN, ±inf, longitude/latitude out of range, GCJ-02 points outside China,
Gauss-Krüger input) get the same status, part and reason from both kernels, and both agree with plain
shapely on every valid point. Zones are synthetic (hand-built in EPSG:4549 near 宣城) or the bundled
schematic one; nothing is read from the network.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from xclz_geo.boundaries.zone import Zone
from xclz_geo.geo import crs
from xclz_geo.geo import locate as L
from xclz_geo.geo.grid import build_grid, make_frame

from test_locate import GK, X0, Y0, make_zone, oracle, sparse_zone  # noqa: E402  (tests/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
needs_kernel = pytest.mark.skipif(L._CKERNEL is None, reason="the compiled kernel xclz_geo.geo._lookup is not built "
                                  "(no C compiler at install, or XCLZ_GEO_KERNEL=numpy); the numpy path is in use")


@pytest.fixture(autouse=True)
def _fresh_grid_cache():
    # the grids built here (the bundled zone's among them) stay out of the other test files' in-memory cache
    from xclz_geo.geo import grid as G

    G.clear_cache()
    yield
    G.clear_cache()


def many_parts_zone() -> Zone:
    """20 overlapping discs (part * 8 + status exceeds int8: the packed grid is int16)."""
    rows, geoms = [], []
    for k in range(20):
        cx, cy = X0 + (k % 5) * 1500.0, Y0 + (k // 5) * 1500.0
        geoms.append(shapely.Point(cx, cy).buffer(900.0, quad_segs=8))
        rows.append(dict(part_id=f"p{k}", block_id=f"b{k}", quality="schematic", positional_uncertainty_m=60.0))
    return Zone.from_boundaries(gpd.GeoDataFrame(rows, geometry=geoms, crs=GK), spec=False)


def bundled_zone() -> Zone:
    from xclz_geo.datasets import data_path

    p = data_path("boundaries", "zone.geojson", must_exist=False)
    if not p.exists():
        pytest.skip("the bundled zone data/boundaries/zone.geojson is not present")
    return Zone.from_boundaries(p)


ZONES = {
    "bundled": bundled_zone,
    "star": lambda: make_zone(uncertainty_m=0.0),
    "sparse_band": lambda: sparse_zone(300.0),
    "many_parts": many_parts_zone,
}


def adversarial_points(grid, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame coordinates: uniform over the grid and its surroundings, then exact cell edges, fine-cell
    edges of refinement tiles, the grid's margin and beyond, and invalid values."""
    rng = np.random.default_rng(seed)
    x1, y1 = grid.x0 + grid.nx * grid.dx, grid.y0 + grid.ny * grid.dy
    wx, wy = x1 - grid.x0, y1 - grid.y0
    x = rng.uniform(grid.x0 - 0.05 * wx, x1 + 0.05 * wx, n)
    y = rng.uniform(grid.y0 - 0.05 * wy, y1 + 0.05 * wy, n)
    q = n // 8
    # on coarse cell edges (x, y or both exactly on a grid line), in cells near the boundary
    cells = rng.integers(0, grid.nx * grid.ny, q)
    if grid.tile_cells is not None and grid.tile_cells.size:
        cells[: q // 2] = rng.choice(grid.tile_cells, q // 2)
    iy, ix = np.divmod(cells, grid.nx)
    x[:q] = grid.x0 + ix * grid.dx
    y[:q] = grid.y0 + iy * grid.dy + rng.uniform(0, grid.dy, q) * (rng.random(q) < 0.5)
    # on fine-cell edges inside the tiles of exact cells
    if grid.sub and grid.tile_cells is not None and grid.tile_cells.size:
        t = rng.choice(grid.tile_cells, q)
        ty, tx = np.divmod(t, grid.nx)
        s = grid.sub
        fx_, fy_ = rng.integers(0, s + 1, q), rng.integers(0, s + 1, q)
        x[q : 2 * q] = grid.x0 + (tx + fx_ / s) * grid.dx
        y[q : 2 * q] = grid.y0 + (ty + fy_ / s) * grid.dy
        # a hair off a fine edge, both sides
        h = rng.choice([-1.0, 1.0], q) * np.spacing(x[q : 2 * q]) * rng.integers(0, 3, q)
        x[q : 2 * q] += h
    # the grid's margin: its edges, corners and just beyond
    edge_x = np.array([grid.x0, x1, grid.x0 - grid.dx * 1e-9, x1 + grid.dx * 1e-9, np.nextafter(grid.x0, -np.inf),
                       grid.x0 + (grid.nx - 1) * grid.dx, np.nextafter(grid.x0 + (grid.nx - 1) * grid.dx, np.inf)])
    edge_y = np.array([grid.y0, y1, grid.y0 - grid.dy * 1e-9, y1 + grid.dy * 1e-9, np.nextafter(grid.y0, -np.inf),
                       grid.y0 + (grid.ny - 1) * grid.dy, np.nextafter(grid.y0 + (grid.ny - 1) * grid.dy, np.inf)])
    ex, ey = np.meshgrid(edge_x, edge_y)
    k = 2 * q
    x[k : k + ex.size], y[k : k + ex.size] = ex.ravel(), ey.ravel()
    k += ex.size
    # invalid values: NaN, infinities, out of range, huge
    bad_x = [np.nan, 119.0, np.inf, -np.inf, 181.0, -180.5, 119.0, 1e300, -1e300, 0.0, np.nan, 200.0]
    bad_y = [30.9, np.nan, 30.9, 30.9, 30.9, 30.9, 91.0, 30.9, -1e300, 0.0, np.nan, -95.0]
    x[k : k + len(bad_x)], y[k : k + len(bad_y)] = bad_x, bad_y
    # scatter the rest of the invalid ones through the blocks
    x[k + 100 :: 4099] = np.nan
    y[k + 200 :: 5003] = np.inf
    return x, y


def both_kernels(monkeypatch, zone, x, y, **kw):
    monkeypatch.setattr(L, "KERNEL", "c")
    c = L.locate_xy(zone, x, y, with_distance=False, **kw)
    monkeypatch.setattr(L, "KERNEL", "numpy")
    nump = L.locate_xy(zone, x, y, with_distance=False, **kw)
    monkeypatch.setattr(L, "KERNEL", "c")
    return c, nump


def assert_same(c, nump) -> None:
    np.testing.assert_array_equal(c.status, nump.status)
    np.testing.assert_array_equal(c.part_index, nump.part_index)
    np.testing.assert_array_equal(c.reason, nump.reason)


def assert_truth(zone, grid, x, y, res) -> None:
    """Valid points against plain shapely on the points as the library places them in GK."""
    ok = res.status != L.INVALID
    gx, gy = grid.frame_map.to_gk(x[ok], y[ok])
    status, part, _ = oracle(zone, np.asarray(gx), np.asarray(gy), with_distance=False)
    assert int((res.status[ok] != status).sum()) == 0
    assert int((res.part_index[ok] != part).sum()) == 0


@needs_kernel
@pytest.mark.parametrize("zone_name", list(ZONES))
@pytest.mark.parametrize("frame_name", ["wgs84", "gcj02", "gk"])
def test_compiled_and_numpy_kernels_agree_with_each_other_and_with_shapely(monkeypatch, zone_name, frame_name):
    zone = ZONES[zone_name]()
    frame = {"wgs84": make_frame(), "gcj02": make_frame(datum="gcj02"), "gk": make_frame(crs=GK)}[frame_name]
    kw = {"crs": GK} if frame_name == "gk" else {"datum": frame_name}
    grid = build_grid(zone, frame=frame)
    x, y = adversarial_points(grid, 60_000, seed=zlib.crc32(f"{zone_name}/{frame_name}".encode()))
    c, nump = both_kernels(monkeypatch, zone, x, y, **kw)
    assert_same(c, nump)
    assert_truth(zone, grid, x, y, c)
    # every kind of answer occurred, and the invalid rows carry their reasons
    assert (c.status == L.INVALID).sum() >= 10
    assert set(np.unique(c.reason[c.status == L.INVALID])) >= {L.R_MISSING}
    if frame_name != "gk":
        assert L.R_LAT in c.reason and L.R_LON in c.reason
    assert len(set(np.unique(c.status[c.status != L.INVALID]).tolist())) >= 2  # settled answers of two kinds at least
    if zone_name == "many_parts":
        assert grid.packed.dtype == np.int16


@needs_kernel
def test_gcj02_points_outside_china_are_invalid_with_the_same_reason(monkeypatch):
    zone = sparse_zone(300.0)
    x = np.array([119.0, 60.0, 150.0, 119.0, 119.0, 200.0, 119.0, np.nan])
    y = np.array([30.9, 30.9, 30.9, 60.0, -10.0, 30.9, 95.0, 30.9])
    c, nump = both_kernels(monkeypatch, zone, x, y, datum="gcj02")
    assert_same(c, nump)
    assert c.status.tolist()[1:] == [L.INVALID] * 7
    assert c.reason.tolist()[1:] == [L.R_CHINA, L.R_CHINA, L.R_CHINA, L.R_CHINA, L.R_LON, L.R_LAT, L.R_MISSING]


@needs_kernel
def test_the_threaded_and_distance_paths_use_the_kernel_with_the_same_answers(monkeypatch):
    zone = sparse_zone(300.0)
    grid = build_grid(zone, frame=make_frame())
    x, y = adversarial_points(grid, 50_000, seed=7)
    monkeypatch.setattr(L, "PARALLEL_MIN_POINTS", 1000)
    monkeypatch.setattr(L, "PARALLEL_BLOCK_POINTS", 4096)
    calls = []
    real = L._kernel_block
    monkeypatch.setattr(L, "_kernel_block", lambda *a: (calls.append(1), real(*a))[1])
    c2, n2 = both_kernels(monkeypatch, zone, x, y, threads=2)
    assert len(calls) == -(-x.size // 4096)  # every block went through the compiled kernel (numpy run: none)
    assert_same(c2, n2)
    monkeypatch.setattr(L, "KERNEL", "c")
    cd = L.locate_xy(zone, x, y, with_distance=True, threads=1)
    monkeypatch.setattr(L, "KERNEL", "numpy")
    nd = L.locate_xy(zone, x, y, with_distance=True, threads=1)
    assert_same(cd, nd)
    np.testing.assert_array_equal(cd.distance_m, nd.distance_m)
    assert_same(cd, c2)


@needs_kernel
def test_a_block_the_kernel_declines_is_answered_by_the_numpy_path(monkeypatch):
    zone = make_zone(uncertainty_m=200.0)
    grid = build_grid(zone, frame=make_frame())
    x, y = adversarial_points(grid, 20_000, seed=11)

    class Declining:
        def lookup(self, *args):
            return -1

    c, nump = both_kernels(monkeypatch, zone, x, y)
    monkeypatch.setattr(L, "_CKERNEL", Declining())
    declined = L.locate_xy(zone, x, y, with_distance=False)
    assert_same(declined, nump)
    assert_same(c, nump)


@needs_kernel
def test_the_kernel_checks_its_arguments():
    from xclz_geo.geo import _lookup

    zone = sparse_zone(300.0)
    grid = build_grid(zone, frame=make_frame())
    kg = L._kernel_grid(grid)
    n = 10
    fx, fy = np.full(n, 119.0), np.full(n, 30.9)
    st, pt, rs, ix = np.empty(n, np.uint8), np.empty(n, np.int32), np.zeros(n, np.uint8), np.empty(n, np.int64)
    assert _lookup.lookup(fx, fy, st, pt, rs, ix, 0, kg) >= 0
    # points of exact cells come back as indices (+ base), the others settled
    ex_x, ex_y = adversarial_points(grid, 4_000, seed=17)
    m = ex_x.size
    outs = [np.empty(m, np.uint8), np.empty(m, np.int32), np.zeros(m, np.uint8), np.empty(m, np.int64)]
    cnt = _lookup.lookup(ex_x, ex_y, *outs, 0, kg)
    outs2 = [np.empty(m, np.uint8), np.empty(m, np.int32), np.zeros(m, np.uint8), np.empty(m, np.int64)]
    assert _lookup.lookup(ex_x, ex_y, *outs2, 1000, kg) == cnt > 0
    np.testing.assert_array_equal(outs2[3][:cnt], outs[3][:cnt] + 1000)
    np.testing.assert_array_equal(np.flatnonzero(outs[0] == L.PACKED_EXACT), outs[3][:cnt])
    with pytest.raises(TypeError):  # the index output is required
        _lookup.lookup(fx, fy, st, pt, rs, None, 0, kg)
    with pytest.raises(TypeError):
        _lookup.lookup(fx.astype(np.float32), fy, st, pt, rs, ix, 0, kg)
    with pytest.raises(TypeError):
        _lookup.lookup(fx, fy, st, pt.astype(np.int64), rs, ix, 0, kg)
    with pytest.raises(ValueError):
        _lookup.lookup(fx, fy[:5], st, pt, rs, ix, 0, kg)
    with pytest.raises(ValueError):
        _lookup.lookup(fx, fy, st, pt, rs, ix[:5], 0, kg)
    with pytest.raises((BufferError, TypeError, ValueError)):  # read-only outputs
        ro = np.empty(n, np.uint8)
        ro.flags.writeable = False
        _lookup.lookup(fx, fy, ro, pt, rs, ix, 0, kg)
    with pytest.raises(ValueError):  # packed of the wrong size
        _lookup.lookup(fx, fy, st, pt, rs, ix, 0, (kg[0][:-1],) + kg[1:])


def _kernel_in_subprocess(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XCLZ_GEO_KERNEL"}
    env.update(env_extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", "from xclz_geo.geo import locate; print(locate.KERNEL)"],
                         capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip()


def test_the_environment_variable_forces_the_numpy_path():
    assert _kernel_in_subprocess({"XCLZ_GEO_KERNEL": "numpy"}) == "numpy"
    built = importlib.util.find_spec("xclz_geo.geo._lookup") is not None
    assert _kernel_in_subprocess({}) == ("c" if built else "numpy")
    assert _kernel_in_subprocess({"XCLZ_GEO_KERNEL": "c"}) == ("c" if built else "numpy")
    assert L.KERNEL in ("c", "numpy")


@needs_kernel
def test_a_grid_whose_tiles_do_not_fit_its_cells_takes_the_numpy_path(monkeypatch):
    # xclz_geo.scale answers a pruned partition from a one-cell copy of the grid that keeps the old tiles
    from dataclasses import replace

    zone = sparse_zone(300.0)
    grid = build_grid(zone, frame=make_frame())
    assert grid.sub and grid.tile_cells.size
    one_cell = replace(grid, codes=np.zeros((1, 1), dtype=grid.codes.dtype), nx=1, ny=1, packed=None)
    assert L._kernel_grid(one_cell) is None
    x, y = adversarial_points(grid, 5_000, seed=13)
    monkeypatch.setattr(L, "KERNEL", "c")
    c = L.locate_xy(zone, x, y, with_distance=False, grid=one_cell)
    monkeypatch.setattr(L, "KERNEL", "numpy")
    nump = L.locate_xy(zone, x, y, with_distance=False, grid=one_cell)
    assert_same(c, nump)
    assert set(np.unique(c.status).tolist()) == {L.OUTSIDE, L.INVALID}
