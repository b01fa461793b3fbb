"""Tests of the streamed exact-coverage land-cover engine (xclz_geo.landuse.overlay, raster half).

Every expected area is computed independently: shapely intersection areas of the polygons with the
cell squares of a tiny raster, summed per raster value.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.env import get_gdal_config
from rasterio.transform import Affine
from shapely.geometry import Polygon, box

import geopandas as gpd

from xclz_geo.landuse import overlay as lu

CELL = 10.0
X0, Y0 = 500_003.7, 3_420_001.3  # not aligned to round coordinates


def _write(path, data, *, nodata=None, block=16, crs="EPSG:4549", transform=None):
    prof = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype=data.dtype, crs=crs,
                transform=transform or Affine(CELL, 0.0, X0, 0.0, -CELL, Y0), tiled=True, blockxsize=block, blockysize=block)
    if nodata is not None:
        prof["nodata"] = nodata
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
    return path


def _reference(polys, data, *, nodata=None):
    """{(polygon, value): m²}, nodata m² and outside-the-raster m² per polygon, from shapely clipping."""
    h, w = data.shape
    rows, cols = np.mgrid[0:h, 0:w]
    cells = shapely.box(X0 + cols.ravel() * CELL, Y0 - (rows.ravel() + 1) * CELL, X0 + (cols.ravel() + 1) * CELL, Y0 - rows.ravel() * CELL)
    vals = data.ravel()
    extent = shapely.box(X0, Y0 - h * CELL, X0 + w * CELL, Y0)
    by = {}
    nod = np.zeros(len(polys))
    out = np.zeros(len(polys))
    for k, g in enumerate(polys):
        a = shapely.area(shapely.intersection(g, cells))
        for v in np.unique(vals):
            s = a[vals == v].sum()
            if nodata is not None and v == nodata:
                nod[k] = s
            elif s > 0:
                by[(k, v.item())] = s
        out[k] = g.area - shapely.area(shapely.intersection(g, extent))
    return by, nod, out


def _got(res):
    return {(int(i), v.item() if hasattr(v, "item") else v): a for i, v, a in zip(res.by_class["id"], res.by_class["value"], res.by_class["area_m2"])}


def _polygons():
    """Shapes that exercise the engine: slanted edges, horizontal edges inside rows (fractional runs),
    vertices and edges on grid lines, a hole, a multipolygon, overlaps, a polygon half outside."""
    x, y = X0, Y0
    rng = np.random.default_rng(8)
    hulls = [shapely.convex_hull(shapely.multipoints(np.c_[x + rng.uniform(20, 280, 7), y - rng.uniform(20, 230, 7)])) for _ in range(4)]
    return [
        *hulls,                                                                               # overlap each other
        box(x + 12.5, y - 187.5, x + 157.5, y - 32.5),                                        # horizontal edges mid-row
        box(x + 40, y - 120, x + 90, y - 60),                                                 # every edge on a grid line
        box(x + 100, y - 240, x + 290, y - 100).difference(box(x + 151.1, y - 201.7, x + 233.3, y - 133.3)),  # hole
        shapely.MultiPolygon([Polygon([(x + 5, y - 5), (x + 55, y - 9), (x + 31, y - 44)]),
                              Polygon([(x + 200, y - 10), (x + 260, y - 10), (x + 260, y - 35.5)])]),
        box(x - 50.5, y - 100.25, x + 35.5, y - 70.75),                                       # half west of the raster
        Polygon([(x + 3.3, y - 247.1), (x + 297.7, y - 233.3), (x + 150.2, y - 212.2)]),      # thin sliver
    ]


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(21)
    data = rng.integers(1, 6, size=(25, 30)).astype(np.uint8)
    data[3:6, 20:27] = 0  # nodata block
    data[data == 4] = 5   # class 4 is absent from the raster
    path = _write(tmp_path / "tiny.tif", data, nodata=0)
    polys = _polygons()
    gdf = gpd.GeoDataFrame({"part_id": np.arange(len(polys))}, geometry=polys, crs="EPSG:4549")
    return path, data, gdf


def test_exact_areas_match_shapely_cell_clipping(tiny):
    path, data, gdf = tiny
    ref, nod, out = _reference(list(gdf.geometry), data, nodata=0)
    res = lu.landcover_by_polygons(gdf, path, ids=list(range(len(gdf))))
    assert res.method["windows_by_label_image"] == 0  # overlapping hulls: cells gathered per polygon
    got = _got(res)
    assert set(got) == set(ref)
    for k in ref:
        assert got[k] == pytest.approx(ref[k], rel=1e-9, abs=1e-6), k
    pol = res.polygons
    assert np.allclose(pol["nodata_m2"], nod, rtol=1e-9, atol=1e-6)
    assert np.allclose(pol["outside_raster_m2"], out, rtol=1e-9, atol=1e-6)
    assert out[8] == pytest.approx(50.5 * 29.5) and pol.loc[8, "status"] == "partly outside the raster"
    assert np.allclose(pol["classified_m2"] + pol["nodata_m2"] + pol["outside_raster_m2"], gdf.area, rtol=1e-12)


def test_streaming_with_a_tiny_budget_gives_the_same_numbers(tiny):
    path, _, gdf = tiny
    one = lu.landcover_by_polygons(gdf, path, ids=list(range(len(gdf))), max_window_cells=10**7)
    assert one.method["windows_read"] <= 3  # the whole 25 × 30 raster fits one window per column cluster
    for budget, min_windows in ((40, 19), (300, 4)):  # 750 cells: ≥ 19 windows of ≤ 40; 4 of 16 × 16 blocks
        small = lu.landcover_by_polygons(gdf, path, ids=list(range(len(gdf))), max_window_cells=budget)
        assert small.method["windows_read"] >= min_windows
        assert small.method["max_cells_read_at_once"] <= budget
        a = _got(one)
        b = _got(small)
        assert set(a) == set(b)
        assert max(abs(a[k] - b[k]) for k in a) < 1e-9
        assert np.allclose(small.polygons["nodata_m2"], one.polygons["nodata_m2"], rtol=1e-12, atol=1e-9)
        assert np.allclose(small.polygons["outside_raster_m2"], one.polygons["outside_raster_m2"], rtol=1e-12, atol=1e-9)


class CountingReader:
    """An open rasterio dataset that records every window read (for the memory-bound tests)."""

    def __init__(self, src):
        self._src = src
        self.windows = []

    def __getattr__(self, name):
        return getattr(self._src, name)

    def read(self, *args, **kwargs):
        w = kwargs["window"]
        self.windows.append((int(w.row_off), int(w.col_off), int(w.height), int(w.width)))
        return self._src.read(*args, **kwargs)


def test_reads_stay_within_the_budget_and_never_overlap(tmp_path):
    # 200 × 240 cells in 16 × 16 blocks; 300 polygons tessellating most of it
    rng = np.random.default_rng(4)
    data = rng.integers(1, 9, size=(200, 240)).astype(np.uint8)
    path = _write(tmp_path / "mid.tif", data, block=16)
    area = box(X0 + 35, Y0 - 1950, X0 + 2370, Y0 - 40)
    seeds = shapely.multipoints(np.c_[rng.uniform(X0 + 35, X0 + 2370, 300), rng.uniform(Y0 - 1950, Y0 - 40, 300)])
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=area)), area)
    gdf = gpd.GeoDataFrame({"part_id": np.arange(len(cells))}, geometry=list(cells), crs="EPSG:4549")
    cache_before = get_gdal_config("GDAL_CACHEMAX")
    budget = 16 * 16 * 4  # four blocks
    with rasterio.open(path) as src:
        reader = CountingReader(src)
        res = lu.landcover_by_polygons(gdf, reader, max_window_cells=budget)
    assert get_gdal_config("GDAL_CACHEMAX") == cache_before  # the cache cap is undone after the call
    sizes = [h * w for _, _, h, w in reader.windows]
    assert len(sizes) > 20 and max(sizes) <= budget
    assert res.method["max_cells_read_at_once"] == max(sizes)
    assert res.method["windows_by_label_image"] > 0  # tessellations take the label-image path
    # every cell is read at most once, and no two windows touch the same 16 × 16 block (each decoded once)
    seen = np.zeros(data.shape, dtype=np.int64)
    blocks = np.zeros((13, 15), dtype=np.int64)
    for r, c, h, w in reader.windows:
        seen[r:r + h, c:c + w] += 1
        blocks[r // 16:(r + h - 1) // 16 + 1, c // 16:(c + w - 1) // 16 + 1] += 1
    assert seen.max() == 1 and blocks.max() == 1
    # and the result is the one-window result
    full = lu.landcover_by_polygons(gdf, path, max_window_cells=10**7)
    a, b = _got(full), _got(res)
    assert set(a) == set(b) and max(abs(a[k] - b[k]) for k in a) < 1e-9
    assert np.allclose(res.polygons["classified_m2"], gdf.area, rtol=1e-12)


def test_memory_option_sizes_the_windows(tiny):
    path, _, gdf = tiny
    res = lu.landcover_by_polygons(gdf, path, memory_mb=0.01)
    assert res.method["max_window_cells"] == int(0.01e6 / (1 + lu._BYTES_PER_WINDOW_CELL))
    assert res.method["max_cells_read_at_once"] <= res.method["max_window_cells"]


def test_nodata_and_classes_absent_and_wide_value_types(tmp_path, tiny):
    _, _, gdf = tiny
    rng = np.random.default_rng(9)
    data = rng.choice(np.array([1100, 2100, 3100, -9999], dtype=np.int16), size=(25, 30), p=[0.45, 0.3, 0.2, 0.05])
    data[10:14, 0:12] = -9999
    path = _write(tmp_path / "int16.tif", data, nodata=-9999)
    ref, nod, _ = _reference(list(gdf.geometry), data, nodata=-9999)
    res = lu.landcover_by_polygons(gdf, path, ids=list(range(len(gdf))),
                                   classes={1100: "耕地", 2100: "林地", 3100: "水域", 4100: "建设用地"})
    got = _got(res)
    assert set(got) == set(ref)
    assert max(abs(got[k] - ref[k]) for k in ref) < 1e-6
    assert np.allclose(res.polygons["nodata_m2"], nod, rtol=1e-9, atol=1e-6)
    assert 4100 not in set(res.by_class["value"])  # a class the raster lacks is not invented
    assert set(res.by_class["name"]) == {"耕地", "林地", "水域"}
    # a float raster with NaN as nodata
    fdata = data.astype(np.float32)
    fdata[data == -9999] = np.nan
    fpath = _write(tmp_path / "float.tif", fdata, nodata=float("nan"))
    with pytest.warns(lu.DataQualityWarning, match="floating-point"):
        fres = lu.landcover_by_polygons(gdf, fpath, ids=list(range(len(gdf))))
    fgot = _got(fres)
    assert {(k, float(v)) for k, v in ref} == set(fgot)
    assert np.allclose(fres.polygons["nodata_m2"], nod, rtol=1e-9, atol=1e-6)


def test_polygon_larger_than_the_raster_and_one_outside(tmp_path):
    data = np.full((20, 20), 7, dtype=np.uint8)
    path = _write(tmp_path / "small.tif", data)
    big = box(X0 - 1000.3, Y0 - 1200.7, X0 + 900.1, Y0 + 700.9)  # covers the raster and far beyond
    far = box(X0 + 5000, Y0 - 100, X0 + 5100, Y0)
    gdf = gpd.GeoDataFrame({"part_id": ["big", "far"]}, geometry=[big, far], crs="EPSG:4549")
    res = lu.landcover_by_polygons(gdf, path, max_window_cells=64)
    p = res.polygons.set_index("id")
    assert p.loc["big", "classified_m2"] == pytest.approx(200 * 200, rel=1e-12)
    assert p.loc["big", "outside_raster_m2"] == pytest.approx(big.area - 200 * 200, rel=1e-12)
    assert p.loc["big", "status"] == "partly outside the raster"
    assert p.loc["far", "status"] == "outside the raster" and p.loc["far", "outside_raster_m2"] == pytest.approx(far.area)
    assert res.method["cells_read"] == 400  # each raster cell once, nothing for the far polygon


def test_bad_budgets_are_refused(tiny):
    path, _, gdf = tiny
    with pytest.raises(lu.InputDataError, match="memory_mb"):
        lu.landcover_by_polygons(gdf, path, memory_mb=0)
    with pytest.raises(lu.InputDataError, match="max_window_cells"):
        lu.landcover_by_polygons(gdf, path, max_window_cells=0)


def test_label_image_and_gathered_runs_agree(tmp_path):
    # a tessellation takes the label-image path; a duplicate of one parcel (an overlap) sends the
    # window to the per-polygon gather path: every parcel's numbers stay the same
    rng = np.random.default_rng(12)
    data = rng.integers(0, 6, size=(60, 70)).astype(np.uint8)
    path = _write(tmp_path / "t.tif", data, nodata=0)
    area = box(X0 + 15.5, Y0 - 590.5, X0 + 690.5, Y0 - 10.5)
    seeds = shapely.multipoints(np.c_[rng.uniform(X0 + 16, X0 + 690, 40), rng.uniform(Y0 - 590, Y0 - 11, 40)])
    cells = list(shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=area)), area))
    plain = gpd.GeoDataFrame({"part_id": np.arange(len(cells))}, geometry=cells, crs="EPSG:4549")
    dup = gpd.GeoDataFrame({"part_id": np.arange(len(cells) + 1)}, geometry=cells + [cells[7]], crs="EPSG:4549")
    a = lu.landcover_by_polygons(plain, path)
    b = lu.landcover_by_polygons(dup, path)
    assert a.method["windows_by_label_image"] > 0 and b.method["windows_by_label_image"] == 0
    ga, gb = _got(a), _got(b)
    assert all(abs(ga[k] - gb[k]) < 1e-9 for k in ga)
    assert {v: x for (i, v), x in gb.items() if i == len(cells)} == pytest.approx({v: x for (i, v), x in ga.items() if i == 7}, rel=1e-12)
    ref, nod, _ = _reference(cells, data, nodata=0)
    assert set(ga) == set(ref) and max(abs(ga[k] - ref[k]) for k in ref) < 1e-6
