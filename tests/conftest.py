"""Shared fixtures.

``synthetic_boundaries`` is a boundaries-schema GeoDataFrame of three rectangles built
in EPSG:4549 around illustrative centres near the real blocks and sized to the official
areas. It is *synthetic* test material, labelled so, and says nothing about where the
zone's boundary really runs.
"""

from __future__ import annotations

import math
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# the on-disk zone cache (xclz_geo.geo.cache) of the tests lives in a private folder, never the user's
if "XCLZ_GEO_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["XCLZ_GEO_CACHE"] = tempfile.mkdtemp(prefix="xclz-geo-test-cache-")
    atexit.register(shutil.rmtree, os.environ["XCLZ_GEO_CACHE"], True)

#: illustrative centres (WGS84 lon, lat) and official areas, km²
SYNTHETIC_PARTS = [
    ("xuancheng", "xuancheng", "宣城经开区", "Xuancheng ETDZ", 29.8, (118.775, 30.915)),
    ("guangde_main", "guangde", "广德经开区主园区", "Guangde EDZ main park", 26.21, (119.465, 30.895)),
    ("guangde_west", "guangde", "广德经开区西区", "Guangde EDZ west area", 3.77, (119.370, 30.885)),
]


def make_synthetic_boundaries(*, uncertainty_m: float = 500.0):
    import geopandas as gpd
    from shapely.geometry import box

    from xclz_geo.geo.crs import transformer

    to_gk = transformer("EPSG:4490", "EPSG:4549")
    rows, geoms = [], []
    for pid, bid, zh, en, area_km2, (lon, lat) in SYNTHETIC_PARTS:
        x, y = to_gk.transform(lon, lat)
        half = math.sqrt(area_km2 * 1e6) / 2
        geoms.append(box(x - half, y - half, x + half, y + half))
        rows.append(
            dict(part_id=pid, block_id=bid, name_zh=zh, name_en=en, official_area_km2=area_km2,
                 quality="synthetic", positional_uncertainty_m=uncertainty_m,
                 source="synthetic test rectangles (tests/conftest.py)")
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4549").to_crs("EPSG:4490")


def random_voronoi_cells(polygon, n_cells: int, rng):
    """Tessellate ``polygon`` into about ``n_cells`` synthetic parcels: Voronoi cells of uniform random seeds.

    Seeds are drawn in batches of ``4 × n_cells`` from ``rng`` until enough fall inside; the cells are
    clipped to the polygon and empty ones dropped. Used by ``scripts/make_samples.py`` and
    ``benchmarks/bench_landuse.py`` (synthetic material only).
    """
    import numpy as np
    import shapely

    minx, miny, maxx, maxy = polygon.bounds
    pts: list = []
    while len(pts) < n_cells:
        x = rng.uniform(minx, maxx, 4 * n_cells)
        y = rng.uniform(miny, maxy, 4 * n_cells)
        inside = shapely.contains_xy(polygon, x, y)
        pts.extend(zip(x[inside], y[inside]))
    seeds = shapely.multipoints(np.array(pts[:n_cells]))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=polygon)), polygon)
    return cells[~shapely.is_empty(cells)]


@pytest.fixture
def synthetic_boundaries():
    """Boundaries-schema GeoDataFrame of three synthetic rectangles (EPSG:4490)."""
    return make_synthetic_boundaries()


@pytest.fixture
def synthetic_zone(synthetic_boundaries):
    """A :class:`~xclz_geo.boundaries.zone.Zone` on the synthetic rectangles, with the bundled spec attached."""
    from xclz_geo.boundaries.zone import Zone

    return Zone.from_boundaries(synthetic_boundaries)


@pytest.fixture
def boundaries_file(tmp_path, synthetic_boundaries):
    """The synthetic boundaries written to a GeoJSON file (for ``--boundaries FILE``)."""
    f = tmp_path / "zone.geojson"
    synthetic_boundaries.to_file(f, driver="GeoJSON")
    return f


def make_mixed_quality_boundaries(*, official_factor: float = 1.346):
    """The synthetic rectangles with ``guangde_main`` relabelled ``official`` (uncertainty 0) and scaled to
    ``official_factor`` × its official area (+34.6 % by default), the other two ``schematic`` (±500 m).

    Synthetic test material for per-part quality (a zone half imported, half schematic).
    """
    import numpy as np
    import shapely
    from shapely import affinity

    from xclz_geo.geo.crs import transformer

    b = make_synthetic_boundaries()
    to_gk, to_geo = transformer("EPSG:4490", "EPSG:4549"), transformer("EPSG:4549", "EPSG:4490")

    def move(t, g):
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    i = int((b["part_id"] == "guangde_main").to_numpy().nonzero()[0][0])
    gk = move(to_gk, b.geometry.iloc[i])
    big = affinity.scale(gk, math.sqrt(official_factor), math.sqrt(official_factor), origin="centroid")
    b.loc[b.index[i], "geometry"] = move(to_geo, big)
    b["quality"] = "schematic"
    b.loc[b.index[i], "quality"] = "official"
    b.loc[b.index[i], "positional_uncertainty_m"] = 0.0
    return b
