"""The one-site fast path (xclz_geo.geo.site) gives the full path's answer, and the CLI uses it cold and warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from conftest import make_mixed_quality_boundaries, make_synthetic_boundaries
from xclz_geo.boundaries.zone import Zone, describe_quality
from xclz_geo.geo import site
from xclz_geo.geo.crs import convert_datum, transformer
from xclz_geo.geo.locate import STATUS_LABELS, locate_xy

ROOT = Path(__file__).resolve().parents[1]


def _holed_boundaries():
    """The synthetic rectangles, ``xuancheng`` with a square hole and ``guangde_west`` as two pieces (synthetic)."""
    b = make_synthetic_boundaries(uncertainty_m=120.0)
    to_gk, to_geo = transformer("EPSG:4490", "EPSG:4549"), transformer("EPSG:4549", "EPSG:4490")

    def move(t, g):
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    g0 = move(to_gk, b.geometry.iloc[0])
    c = g0.centroid
    b.loc[b.index[0], "geometry"] = move(to_geo, g0.difference(c.buffer(900, cap_style="square")))
    g2 = move(to_gk, b.geometry.iloc[2])
    x0, y0, x1, y1 = g2.bounds
    piece = shapely.box(x1 + 300, y0, x1 + 1300, y0 + 700)
    b.loc[b.index[2], "geometry"] = move(to_geo, shapely.MultiPolygon([g2, piece]))
    b.loc[b.index[1], "positional_uncertainty_m"] = 0.0
    return b


def _test_points(zone, n_random: int, rng):
    """WGS84 lon/lat: random in the bounding box, on every boundary vertex and edge midpoint, and at the
    edges of each part's uncertainty band (u ± 1 cm along the outward normal)."""
    to_geo = transformer(zone.gk_crs, "EPSG:4490")
    gk = list(zone.parts_gk.geometry)
    xs, ys = [], []
    b = shapely.total_bounds(np.array(gk, dtype=object))
    xs.append(rng.uniform(b[0] - 3000, b[2] + 3000, n_random))
    ys.append(rng.uniform(b[1] - 3000, b[3] + 3000, n_random))
    for g, u in zip(gk, zone.parts["positional_uncertainty_m"]):
        rings = shapely.get_rings(shapely.get_parts(g))
        for r in rings:
            c = shapely.get_coordinates(r)
            mid = (c[:-1] + c[1:]) / 2
            xs += [c[:, 0], mid[:, 0]]
            ys += [c[:, 1], mid[:, 1]]
            d = c[1:] - c[:-1]
            nrm = np.column_stack([d[:, 1], -d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
            for off in (u - 0.01, u + 0.01, -(u - 0.01), -(u + 0.01), 0.004, -0.004):
                xs.append(mid[:, 0] + off * nrm[:, 0])
                ys.append(mid[:, 1] + off * nrm[:, 1])
    lon, lat = to_geo.transform(np.concatenate(xs), np.concatenate(ys))
    return np.asarray(lon), np.asarray(lat)


@pytest.mark.parametrize("which", ["bundled", "synthetic", "mixed", "holed"])
@pytest.mark.parametrize("datum", ["wgs84", "gcj02", "bd09"])
def test_fast_site_equals_full_path(which, datum):
    if which == "bundled":
        zone = Zone.load()
        if not zone.has_geometry:
            pytest.skip("no bundled polygons in this checkout")
    else:
        b = {"synthetic": make_synthetic_boundaries, "mixed": make_mixed_quality_boundaries,
             "holed": _holed_boundaries}[which]()
        zone = Zone.from_boundaries(b)
    snap = site.snapshot_from_zone(zone, describe_quality=describe_quality(zone))
    assert snap is not None
    lon, lat = _test_points(zone, 400, np.random.default_rng(7))
    x, y = (lon, lat) if datum == "wgs84" else convert_datum(lon, lat, from_datum="wgs84", to_datum=datum)
    x, y = np.asarray(x), np.asarray(y)
    full = locate_xy(x, y, zone, datum=datum, with_distance=True)
    rq = full.row_quality
    seen = set()
    declined = 0
    for i in range(x.shape[0]):
        ans = site.locate_site(snap, float(x[i]), float(y[i]), datum=datum)
        if ans is None:  # on a boundary to the nanometre: the CLI asks the full path
            declined += 1
            continue
        assert ans["status"] == STATUS_LABELS[full.status[i]], i
        assert ans["part_index"] == int(full.part_index[i]), i
        assert round(ans["distance_m"], 2) == round(float(full.distance_m[i]), 2), i
        assert ans["row_quality"] == rq[i]
        seen.add(ans["status"])
    assert declined < 0.2 * x.shape[0]  # only points on a line (vertices) are declined
    assert "outside" in seen and len(seen) >= 2  # the bundled zone's ±2.5 km bands leave no 'inside'
    if which != "bundled":
        assert "inside" in seen
    assert "uncertain" in seen


def test_fast_site_declines_what_it_does_not_handle():
    zone = Zone.from_boundaries(make_synthetic_boundaries())
    snap = site.snapshot_from_zone(zone, describe_quality=describe_quality(zone))
    assert site.locate_site(snap, "119.46°", "30.89", datum="wgs84") is None  # text: the full path parses it
    assert site.locate_site(snap, "119,46", "30.89", datum="wgs84") is None
    assert site.locate_site(snap, "nan", "30.89", datum="wgs84") is None
    assert site.locate_site(snap, "119.46", "95", datum="wgs84") is None  # invalid: the full path writes the note
    assert site.locate_site(snap, "2.35", "48.85", datum="gcj02") is None  # outside China
    assert site.locate_site(snap, " 119.465 ", "30.895", datum="wgs84")["status"] == "inside"


def test_snapshot_round_trips_through_the_disk_cache(monkeypatch, tmp_path, boundaries_file):
    monkeypatch.setenv("XCLZ_GEO_CACHE", str(tmp_path / "cache"))
    zone = Zone.from_boundaries(boundaries_file)
    snap = site.snapshot_from_zone(zone, describe_quality=describe_quality(zone))
    key = site.snapshot_key(boundaries=boundaries_file, spec=None, layer=None)
    assert site.load_snapshot(key) is None
    assert site.store_snapshot(key, snap)
    back = site.load_snapshot(key)
    assert back is not None
    assert {k: back.meta[k] for k in snap.meta} == json.loads(json.dumps(snap.meta))
    assert [shapely.equals_exact(a, b, 0) for a, b in zip(back.geometries(), snap.geometries())] == [True] * 3
    # another file content: another key
    boundaries_file.write_bytes(boundaries_file.read_bytes() + b"\n")
    assert site.snapshot_key(boundaries=boundaries_file, spec=None, layer=None) != key
    # a damaged entry is ignored (and removed)
    (tmp_path / "cache" / key / "wkb.npy").write_bytes(b"garbage")
    assert site.load_snapshot(key) is None


def _cli(args, env):
    code = ("import sys, json; from xclz_geo.cli.main import main; rc = main(sys.argv[1:]); "
            "mods = sorted({m.split('.')[0] for m in sys.modules} & {'geopandas', 'pandas', 'pyproj', 'rasterio'}); "
            "sys.stderr.write('MODULES ' + json.dumps(mods) + '\\n'); sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT)


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_cli_one_site_cold_and_warm_equal_the_full_path(tmp_path, boundaries_file, extra):
    env = dict(os.environ, XCLZ_GEO_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    args = ["locate", "119.4681", "30.8931", "--datum", "gcj02", "--boundaries", str(boundaries_file), *extra]
    off = _cli(args, dict(env, XCLZ_GEO_CACHE="off"))
    cold = _cli(args, env)
    warm = _cli(args, env)
    assert off.returncode == cold.returncode == warm.returncode
    assert off.stdout == cold.stdout == warm.stdout
    assert off.stdout.strip()
    # the warm run imports neither geopandas, pandas, pyproj nor rasterio
    assert warm.stderr.strip().splitlines()[-1] == "MODULES []"
    assert "pyproj" in off.stderr
    # text that is not a plain number falls back to the full path, with the same answer as ever
    t = _cli(["locate", "119.4681°", "30.8931", "--datum", "gcj02", "--boundaries", str(boundaries_file), *extra], env)
    assert t.returncode == off.returncode
    if extra:  # the JSON echoes the input as typed
        a, b = json.loads(t.stdout), json.loads(off.stdout)
        assert a.pop("input")["x"] == "119.4681°"
        b.pop("input")
        assert a == b
    else:
        assert t.stdout == off.stdout
