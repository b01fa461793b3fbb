"""The lookup grid behind locate (xclz_geo.geo.grid): caching, frames, memory, and settled cells.

Zones are the hand-built synthetic ones of tests/test_locate.py (EPSG:4549).
"""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pytest
import shapely

from xclz_geo.geo import crs
from xclz_geo.geo import grid as G
from xclz_geo.errors import DatumError
from xclz_geo.boundaries.zone import Zone

from test_locate import GK, X0, Y0, make_zone, oracle  # noqa: E402  (tests/ is on sys.path under pytest)


@pytest.fixture(autouse=True)
def _fresh_cache():
    G.clear_cache()
    yield
    G.clear_cache()


def test_grid_is_cached_per_zone_geometry_and_frame():
    z = make_zone(uncertainty_m=100)
    a = G.build_grid(z)
    assert G.build_grid(z) is a
    # an equal zone built again shares the grid (same geometry hash)
    assert G.build_grid(make_zone(uncertainty_m=100)) is a
    # another frame is another grid
    g = G.build_grid(z, frame=G.make_frame(datum="gcj02"))
    assert g is not a and g.frame.datum == "gcj02"
    assert G.cache_size() == 2


def test_cache_invalidates_when_the_zone_changes():
    z = make_zone(uncertainty_m=100)
    a = G.build_grid(z)
    # a different uncertainty is a different grid
    assert G.build_grid(make_zone(uncertainty_m=150)) is not a
    # editing the parts of the same Zone object in place is noticed (the key is computed afresh)
    moved = z.parts.copy()
    moved["geometry"] = moved.geometry.translate(xoff=500.0)
    z.parts = gpd.GeoDataFrame(moved, geometry="geometry", crs=z.parts.crs)
    b = G.build_grid(z)
    assert b is not a
    # and the new grid answers for the moved geometry: a point 250 m inside the old west edge
    # is now 250 m outside the new one
    from xclz_geo.geo.locate import locate

    df = locate(z, (X0 + 250, Y0 + 2000), crs=GK)
    assert df["distance_m"].iloc[0] == pytest.approx(-250.0)


def test_memory_and_cells_for_a_60_km2_zone(synthetic_zone):
    g = G.build_grid(synthetic_zone)
    assert g.nbytes < 100e6
    assert g.nx * g.ny <= 2 * G.DEFAULT_TARGET_CELLS
    assert G.MIN_CELL_M <= g.cell_m <= G.MAX_CELL_M
    # only a small share of the cells needs the exact predicate
    assert 0 < g.exact_fraction < 0.05


def test_cell_size_can_be_given():
    z = make_zone()
    g = G.build_grid(z, frame=G.make_frame(crs=GK), cell_m=50.0)
    assert g.cell_m == 50.0
    assert g.dx == pytest.approx(50.0) and g.dy == pytest.approx(50.0)
    with pytest.raises(ValueError):
        G.build_grid(z, cell_m=-1.0, cache=False)


def _cell_corner_points(g: G.LocateGrid, rows: np.ndarray, cols: np.ndarray, inset: float = 1e-6):
    """The four corners of each cell, moved a hair inside it (frame coordinates)."""
    xs, ys = [], []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        fr = rows + dr + (inset if dr == 0 else -inset)
        fc = cols + dc + (inset if dc == 0 else -inset)
        xs.append(g.x0 + fc * g.dx)
        ys.append(g.y0 + fr * g.dy)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("frame_args", [dict(crs=GK), dict(datum="wgs84"), dict(datum="bd09")])
def test_settled_cells_are_uniform_to_their_corners(frame_args):
    """Every point of a settled cell has the cell's answer: check the corners of sampled cells."""
    z = make_zone(uncertainty_m=120)
    g = G.build_grid(z, frame=G.make_frame(**frame_args))
    status = g.status_lut[g.codes]
    rng = np.random.default_rng(4)
    settled = np.argwhere(status != G.EXACT)
    # settled cells next to exact ones are the critical ones: take them all, plus random others
    exact = status == G.EXACT
    near = np.zeros_like(exact)
    near[1:, :] |= exact[:-1, :]
    near[:-1, :] |= exact[1:, :]
    near[:, 1:] |= exact[:, :-1]
    near[:, :-1] |= exact[:, 1:]
    critical = np.argwhere(near & ~exact)
    pick = np.concatenate([critical, settled[rng.integers(0, len(settled), 20_000)]])
    rows, cols = pick[:, 0], pick[:, 1]
    fx, fy = _cell_corner_points(g, rows, cols)
    gx, gy = g.frame_map.to_gk(fx, fy)
    o_status, o_part, _ = oracle(z, gx, gy, with_distance=False)
    cell_status = np.tile(status[rows, cols], 4)
    cell_part = np.tile(g.part_lut[g.codes[rows, cols]], 4)
    assert len(critical) > 1000
    assert (o_status == cell_status).all()
    assert (o_part == cell_part).all()


def test_frames():
    assert G.make_frame().datum == "wgs84"
    assert G.make_frame(datum="cgcs2000").datum == "wgs84"
    assert G.make_frame(crs="EPSG:4490").datum == "wgs84"
    f = G.make_frame(crs="EPSG:4549")
    assert f.datum is None and f.crs.to_epsg() == 4549 and not f.is_lonlat
    assert G.make_frame(datum="gcj02", crs="EPSG:4326").datum == "gcj02"
    with pytest.raises(DatumError):
        G.make_frame(datum="bd09", crs="EPSG:4549")


def test_frame_map_round_trips():
    z = make_zone()
    for fa in (dict(datum="gcj02"), dict(datum="bd09"), dict(crs="EPSG:4528")):
        g = G.build_grid(z, frame=G.make_frame(**fa))
        gx = np.array([X0 + 10.0, X0 + 3000.0])
        gy = np.array([Y0 + 20.0, Y0 + 100.0])
        fx, fy = g.frame_map.to_frame(gx, gy)
        bx, by = g.frame_map.to_gk(fx, fy)
        assert np.abs(bx - gx).max() < 1e-3 and np.abs(by - gy).max() < 1e-3


def test_each_thread_gets_its_own_prepared_geometries():
    z = make_zone(uncertainty_m=50)
    g = G.build_grid(z)
    mine = g.geometries()
    assert g.geometries() is mine
    seen = []
    t = threading.Thread(target=lambda: seen.append(g.geometries()))
    t.start()
    t.join()
    other = seen[0]
    assert other is not mine
    for a, b in zip(mine.parts, other.parts):
        assert a is not b and a.equals(b)
        assert shapely.is_prepared(a) and shapely.is_prepared(b)


def test_parts_without_geometry_are_skipped(synthetic_boundaries):
    gdf = synthetic_boundaries.copy()
    gdf.loc[1, "geometry"] = None
    z = Zone.from_boundaries(gdf)
    g = G.build_grid(z)
    assert not g.parts[1].has_geometry
    assert (g.part_lut[np.unique(g.codes)] != 1).all()
    from xclz_geo.geo.locate import locate

    lon, lat = crs.transformer("EPSG:4549", "EPSG:4490").transform(*shapely.get_coordinates(
        synthetic_boundaries.to_crs("EPSG:4549").geometry.iloc[1].centroid)[0])
    assert locate(z, (lon, lat))["status"].iloc[0] == "outside"


def test_many_parts_use_a_wider_packed_grid_with_the_same_answers():
    # 20 parts do not fit the int8 packed grid (part * 8 + status up to 127): int16 is used, and
    # status and part still equal the exact predicate, overlapping parts included (first wins)
    rows, geoms = [], []
    for k in range(20):
        cx, cy = X0 + (k % 5) * 1500.0, Y0 + (k // 5) * 1500.0
        geoms.append(shapely.Point(cx, cy).buffer(900.0, quad_segs=8))  # neighbours overlap
        rows.append(dict(part_id=f"p{k}", block_id=f"b{k}", quality="schematic", positional_uncertainty_m=60.0))
    z = Zone.from_boundaries(gpd.GeoDataFrame(rows, geometry=geoms, crs=GK), spec=False)
    g = G.build_grid(z, frame=G.make_frame(crs=GK))
    assert g.packed.dtype == np.int16
    rng = np.random.default_rng(4)
    gx = rng.uniform(X0 - 1500, X0 + 7500, 200_000)
    gy = rng.uniform(Y0 - 1500, Y0 + 6000, 200_000)
    from xclz_geo.geo.locate import locate_xy

    res = locate_xy(z, gx, gy, crs=GK, with_distance=False)
    status, part, _ = oracle(z, gx, gy, with_distance=False)
    assert (res.status == status).all()
    assert (res.part_index == part).all()
    assert {0, 1, 2} <= set(np.unique(res.status).tolist())
    assert len(np.unique(part[part >= 0])) == 20


def test_packed_grid_holds_the_status_and_part_of_every_cell():
    g = G.build_grid(make_zone(uncertainty_m=100))
    assert g.packed.dtype == np.int8 and g.packed.shape == g.codes.shape
    part = g.packed.astype(np.int32) >> G.PACKED_SHIFT
    status = g.packed.astype(np.int32) & ((1 << G.PACKED_SHIFT) - 1)
    want_status = g.status_lut[g.codes].astype(np.int32)
    want_status[want_status == G.EXACT] = G.PACKED_EXACT
    assert (part == g.part_lut[g.codes]).all()
    assert (status == want_status).all()
    # exact cells are a small share: the boxes of consecutive boundary samples, not a dilation
    assert 0 < g.exact_fraction < 0.05


def test_grid_is_kept_on_disk_and_loaded_memory_mapped(monkeypatch, tmp_path, synthetic_zone):
    import numpy as np

    from xclz_geo.geo.grid import build_grid, clear_cache, make_frame
    from xclz_geo.geo.locate import locate_xy

    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    clear_cache()
    frame = make_frame(datum="gcj02")
    built = build_grid(synthetic_zone, frame=frame)
    assert not isinstance(built.codes, np.memmap)
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["grid"]
    clear_cache()  # the in-memory cache forgets it; the disk keeps it
    loaded = build_grid(synthetic_zone, frame=frame)
    assert isinstance(loaded.codes, np.memmap) and isinstance(loaded.packed, np.memmap)
    assert np.array_equal(loaded.codes, built.codes) and np.array_equal(loaded.packed, built.packed)
    assert (loaded.nx, loaded.ny, loaded.x0, loaded.dy) == (built.nx, built.ny, built.x0, built.dy)
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(119.3, 119.55, 20_000), rng.uniform(30.85, 30.95, 20_000)
    a = locate_xy(synthetic_zone, lon, lat, datum="gcj02", grid=built, with_distance=True)
    b = locate_xy(synthetic_zone, lon, lat, datum="gcj02", grid=loaded, with_distance=True)
    assert np.array_equal(a.status, b.status) and np.array_equal(a.part_index, b.part_index)
    assert np.array_equal(a.distance_m, b.distance_m)
    # a damaged entry is ignored, removed and rebuilt
    entry = next(tmp_path.iterdir())
    (entry / "codes.npy").write_bytes(b"broken")
    clear_cache()
    again = build_grid(synthetic_zone, frame=frame)
    assert np.array_equal(again.codes, built.codes)
    # switched off: nothing is written
    monkeypatch.setenv("XCLZ_GEO_CACHE", "off")
    clear_cache()
    build_grid(synthetic_zone, frame=make_frame(datum="bd09"))
    assert len(list(tmp_path.iterdir())) == 1
    clear_cache()


# ------------------------------------------------------------------ refinement of the exact cells (issue 18)


def _fine_cell_corners(g: G.LocateGrid, t: np.ndarray, w: np.ndarray, inset: float = 1e-6):
    """The four corners of fine cells (tile t, cell w of its sub × sub block), a hair inside them."""
    S = g.sub
    tr, tc = g.tile_cells[t] // g.nx, g.tile_cells[t] % g.nx
    rows = tr * S + w // S
    cols = tc * S + w % S
    fdx, fdy = g.dx / S, g.dy / S
    xs, ys = [], []
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        fr = rows + dr + (inset if dr == 0 else -inset)
        fc = cols + dc + (inset if dc == 0 else -inset)
        xs.append(g.x0 + fc * fdx)
        ys.append(g.y0 + fr * fdy)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("frame_args", [dict(crs=GK), dict(datum="wgs84"), dict(datum="bd09")])
def test_settled_fine_cells_are_uniform_to_their_corners(frame_args):
    """Every point of a settled fine cell has its answer: the corners of all fine cells next to exact ones."""
    from test_locate import sparse_zone

    for z in (make_zone(uncertainty_m=120), sparse_zone(300.0)):
        g = G.build_grid(z, frame=G.make_frame(**frame_args), cache=False)
        assert g.sub >= 2 and g.fine_codes.shape == (g.tile_cells.size, g.sub * g.sub)
        status = g.status_lut[g.fine_codes]  # (T, S*S)
        S = g.sub
        exact = (status == G.EXACT).reshape(-1, S, S)
        near = np.zeros_like(exact)
        near[:, 1:, :] |= exact[:, :-1, :]
        near[:, :-1, :] |= exact[:, 1:, :]
        near[:, :, 1:] |= exact[:, :, :-1]
        near[:, :, :-1] |= exact[:, :, 1:]
        t, r, c = np.nonzero(near & ~exact)
        rng = np.random.default_rng(5)
        pick = rng.choice(len(t), size=min(len(t), 30_000), replace=False)
        t, w = t[pick], (r * S + c)[pick]
        fx, fy = _fine_cell_corners(g, t, w)
        gx, gy = g.frame_map.to_gk(fx, fy)
        o_status, o_part, _ = oracle(z, gx, gy, with_distance=False)
        codes = g.fine_codes[t, w]
        assert len(t) > 1000
        assert (o_status == np.tile(g.status_lut[codes], 4)).all()
        assert (o_part == np.tile(g.part_lut[codes], 4)).all()
        # the refinement leaves a small share of the exact cells' area to the exact predicate
        assert g.fine_exact_fraction < g.exact_fraction / 3


def test_refinement_is_kept_on_disk(monkeypatch, tmp_path):
    from test_locate import sparse_zone

    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path))
    z = sparse_zone(300.0)
    built = G.build_grid(z)
    G.clear_cache()
    loaded = G.build_grid(z)
    assert isinstance(loaded.fine_packed, np.memmap) and loaded.sub == built.sub > 1
    for name in ("tile_cells", "fine_codes", "fine_packed"):
        assert np.array_equal(getattr(loaded, name), getattr(built, name))
    # without refinement (too many fine cells) the grid still works, every exact cell going to the exact test
    monkeypatch.setattr(G, "MAX_FINE_CELLS", 0)
    G.clear_cache()
    plain = G.build_grid(z, cache=False)
    assert plain.sub == 0 and plain.fine_codes is None
    from xclz_geo.geo.locate import locate_xy

    rng = np.random.default_rng(8)
    b0, b1, b2, b3 = z.parts.to_crs("EPSG:4490").total_bounds
    lon, lat = rng.uniform(b0 - 0.01, b2 + 0.01, 50_000), rng.uniform(b1 - 0.01, b3 + 0.01, 50_000)
    a = locate_xy(z, lon, lat, grid=built, with_distance=True)
    assert min(a.counts()[k] for k in ("inside", "outside", "uncertain")) > 1000
    for other in (plain, loaded):
        b = locate_xy(z, lon, lat, grid=other, with_distance=True)
        np.testing.assert_array_equal(a.status, b.status)
        np.testing.assert_array_equal(a.part_index, b.part_index)
        np.testing.assert_array_equal(a.distance_m, b.distance_m)
