"""The public API: the zone first, one shape for results, one ``with_distance`` default, ``__all__`` everywhere.

Everything runs on the bundled data (the schematic zone, its line networks and the synthetic
samples in ``data/samples``), so the quality labels carried into every result are known:
``schematic`` for the zone, ``synthetic`` for the samples.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xclz_geo
from xclz_geo.datasets import data_path

PKG = Path(xclz_geo.__file__).resolve().parent

#: a point inside the bundled 广德 main part (the 太极大道780号 pin of data/boundaries/networks/build.toml)
INSIDE = (119.462887, 30.895259)
OUTSIDE = (118.0, 30.0)
#: its status in the schematic zone: within the part's positional uncertainty of the edge
IN = "uncertain"

#: the synthetic samples carry an unknown land-use code and a 备注 column on purpose (they exercise the warnings)
samples_warn = pytest.mark.filterwarnings("ignore::xclz_geo.errors.DataQualityWarning")


@pytest.fixture(scope="module")
def zone():
    return xclz_geo.load_zone()


# ------------------------------------------------------------------ the zone first


def test_locate_family_takes_the_zone_first(zone):
    from xclz_geo.geo.locate import locate_table

    funcs = [getattr(xclz_geo, n) for n in ("locate", "locate_xy", "landuse_from_parcels", "landcover_from_raster",
                                             "zone_map", "build_report")] + [locate_table]
    for func in funcs:
        params = list(inspect.signature(func).parameters)
        assert params[0] == "zone", f"{func.__name__}: {params[:3]}"
    df = xclz_geo.locate(zone, [INSIDE, OUTSIDE])
    # the bundled zone is schematic (kilometres of uncertainty): the pin is in guangde_main, but not surely
    assert df["status"].tolist() == [IN, "outside"]
    assert df["part_id"].iloc[0] == "guangde_main"


def test_optional_zone_stays_a_keyword():
    """evaluate (and intensity) work without a zone, so the zone is the keyword ``zone=`` there."""
    from xclz_geo.efficiency.intensity import intensity

    for func in (xclz_geo.evaluate, intensity):
        p = inspect.signature(func).parameters["zone"]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None


@pytest.mark.parametrize("call", ["locate", "locate_xy", "locate_table"])
def test_old_orders_warn_and_give_the_same_answer(zone, call):
    pts = pd.DataFrame({"lon": [INSIDE[0], OUTSIDE[0]], "lat": [INSIDE[1], OUTSIDE[1]]})
    if call == "locate":
        new = xclz_geo.locate(zone, pts)
        with pytest.warns(DeprecationWarning, match=r"locate\(zone, points\)"):
            old = xclz_geo.locate(pts, zone)
    elif call == "locate_xy":
        new = xclz_geo.locate_xy(zone, pts["lon"], pts["lat"]).table
        with pytest.warns(DeprecationWarning, match=r"locate_xy\(zone, x, y\)"):
            old = xclz_geo.locate_xy(pts["lon"], pts["lat"], zone).table
    else:
        from xclz_geo.geo.locate import locate_table

        new = locate_table(zone, pts).table
        with pytest.warns(DeprecationWarning, match=r"locate_table\(zone, df\)"):
            old = locate_table(pts, zone).table
    pd.testing.assert_frame_equal(old, new)
    assert new["status"].tolist() == [IN, "outside"]


def test_locate_table_returns_a_result_and_the_old_tuple_still_unpacks(zone):
    from xclz_geo.geo.locate import LocateResult, locate_table

    df = pd.DataFrame({"经度": [INSIDE[0], "待补充"], "纬度": [INSIDE[1], 30.9]}, index=[10, 11])
    res = locate_table(zone, df)
    assert isinstance(res, LocateResult)
    assert res.table.index.tolist() == [10, 11]
    assert res.table["status"].tolist() == [IN, "invalid"]
    assert "待补充" in res.table["note"].iloc[1]  # the note names the cell, not only the reason code
    with pytest.warns(DeprecationWarning, match="locate_table"):
        r2, notes = res
    assert r2 is res and list(notes) == list(res.row_notes)


def test_build_report_takes_the_zone_positionally_or_by_keyword(zone, tmp_path):
    a = xclz_geo.build_report(zone, out_dir=tmp_path / "a")
    b = xclz_geo.build_report(zone=zone, out_dir=tmp_path / "b")
    assert a.html_path.exists() and b.html_path.exists()
    assert a.table["id"].tolist() == b.table["id"].tolist()


# ------------------------------------------------------------------ one with_distance default


def test_one_with_distance_default(zone):
    from xclz_geo.geo.locate import locate_table

    defaults = {f.__name__: inspect.signature(f).parameters["with_distance"].default
                for f in (xclz_geo.locate, xclz_geo.locate_xy, locate_table)}
    assert set(defaults.values()) == {True}, defaults
    res = xclz_geo.locate_xy(zone, [INSIDE[0]], [INSIDE[1]])
    assert res.distance_m is not None and res.distance_m[0] > 0  # within the part: positive
    fast = xclz_geo.locate_xy(zone, [INSIDE[0]], [INSIDE[1]], with_distance=False)
    assert fast.distance_m is None and fast.status.tolist() == res.status.tolist()


# ------------------------------------------------------------------ one shape for results


def _check_shape(res, *, quality, spatial, crs=None):
    assert isinstance(res.table, pd.DataFrame) and len(res.table.columns)
    s = res.summary
    assert "quality" in s and s["quality"] == quality, s.get("quality")
    assert "provenance" in s
    text = json.dumps(res.to_dict(), allow_nan=False)
    assert text
    if spatial:
        import geopandas as gpd

        lay = res.layer
        assert isinstance(lay, gpd.GeoDataFrame)
        assert lay.crs.to_epsg() == crs
    else:
        assert not hasattr(res, "layer")


def test_locate_result_shape(zone):
    res = xclz_geo.locate_xy(zone, [INSIDE[0], OUTSIDE[0], np.nan], [INSIDE[1], OUTSIDE[1], 30.0])
    _check_shape(res, quality="schematic", spatial=True, crs=4326)
    assert res.summary["counts"] == {"outside": 1, "inside": 0, "uncertain": 1, "invalid": 1}
    lay = res.layer
    assert len(lay) == 3 and lay.geometry.iloc[2] is None  # the invalid row is kept, without geometry
    assert lay.geometry.iloc[0].x == pytest.approx(INSIDE[0])


def test_locate_layer_is_converted_to_wgs84(zone):
    from xclz_geo.geo.crs import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(np.array([INSIDE[0]]), np.array([INSIDE[1]]))
    lay = xclz_geo.locate_xy(zone, glon, glat, datum="gcj02").layer
    assert lay.geometry.iloc[0].x == pytest.approx(INSIDE[0], abs=1e-5)
    assert lay.geometry.iloc[0].y == pytest.approx(INSIDE[1], abs=1e-5)


def test_digitize_result_shape():
    from xclz_geo.boundaries.zone import load_spec

    spec = load_spec()
    part = spec.part("guangde_main")
    net = xclz_geo.read_vector(data_path("boundaries", "networks", "guangde.geojson"))
    res = xclz_geo.digitize(part.sizhi_zh, net, reference_point=INSIDE, quality="schematic")
    _check_shape(res, quality="schematic", spatial=True, crs=4490)
    assert res.summary["provenance"]["sides"] and res.summary["provenance"]["crs"] == res.record["crs"]
    assert res.layer["role"].iloc[0] == "polygon"
    assert res.layer.geometry.iloc[0].contains(__import__("shapely").Point(INSIDE))


@samples_warn
def test_landuse_and_landcover_shape(zone):
    parcels = xclz_geo.read_vector(data_path("samples", "landuse_parcels_synthetic.gpkg"))
    lu = xclz_geo.landuse_from_parcels(zone, parcels)
    _check_shape(lu, quality="synthetic", spatial=False)  # the worse of schematic (zone) and synthetic (parcels)
    pd.testing.assert_frame_equal(lu.table, lu.by_code)
    assert lu.by_class is lu.by_code
    with pytest.warns(DeprecationWarning, match="level_table"):
        old = lu.table(1)
    pd.testing.assert_frame_equal(old, lu.level_table(1), check_frame_type=False)

    lc = xclz_geo.landcover_from_raster(zone, data_path("samples", "landcover_synthetic.tif"), classes="clcd")
    _check_shape(lc, quality="synthetic", spatial=False)
    assert lc.table is lc.by_class


@samples_warn
def test_evaluation_result_shape(zone):
    res = xclz_geo.evaluate(data_path("samples", "enterprises_synthetic.csv"), zone=zone)
    _check_shape(res, quality="synthetic", spatial=True, crs=4326)
    pd.testing.assert_frame_equal(res.table, res.scores)
    assert res.summary["provenance"]["method"] == "anhui"
    # old spellings: method calls and the EnterpriseTable behind .table, each with a warning
    with pytest.warns(DeprecationWarning, match="res.layer"):
        old_layer = res.layer()
    new_layer = res.layer
    assert old_layer.geometry.to_wkt().tolist() == new_layer.geometry.to_wkt().tolist()
    assert old_layer.crs == new_layer.crs and len(new_layer) == len(res.scores)
    with pytest.warns(DeprecationWarning, match="by_class"):
        pd.testing.assert_frame_equal(res.by_class(), res.by_class, check_frame_type=False)
    with pytest.warns(DeprecationWarning, match="enterprises"):
        data = res.table.data
    assert data is res.enterprises.data


@samples_warn
def test_intensity_and_underused_shape(zone):
    from xclz_geo.efficiency.intensity import intensity, underused

    parcels = xclz_geo.read_vector(data_path("samples", "landuse_parcels_synthetic.gpkg"))
    ti = intensity(parcels, zone=zone)
    _check_shape(ti, quality="synthetic", spatial=False)
    assert set(ti.table["level"]) == {"part", "block", "zone"}
    res = xclz_geo.evaluate(data_path("samples", "enterprises_synthetic.csv"), zone=zone)
    u = underused(parcels=parcels, firms=res, zone=zone)
    _check_shape(u, quality="synthetic", spatial=True, crs=4490)
    assert len(u.layer) == int(u.table["underused"].sum()) or len(u.layer) <= len(u.table)


def test_area_and_report_shape(zone, tmp_path):
    ar = xclz_geo.area_report(zone)
    _check_shape(ar, quality="schematic", spatial=False)
    assert ar.table["id"].tolist() == zone.part_ids
    rep = xclz_geo.build_report(zone, out_dir=tmp_path)
    _check_shape(rep, quality="schematic", spatial=False)
    assert "areas" in rep.table["id"].tolist()


def test_zone_map_and_readers(zone):
    sites = xclz_geo.read_table(data_path("samples", "enterprises_synthetic.csv"))
    m = xclz_geo.zone_map(zone, sites=sites.head(5))
    page = m.get_root().render()
    assert "合成示例企业001" in page and "广德" in page


# ------------------------------------------------------------------ __all__ in every module


def _module_names() -> list[str]:
    out = []
    for p in sorted(PKG.rglob("*.py")):
        if "_data" in p.parts:
            continue
        rel = p.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


@pytest.mark.parametrize("name", _module_names())
def test_every_module_declares_all(name):
    path = PKG.parent.joinpath(*name.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared = [n for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                and any(getattr(t, "id", None) == "__all__" for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))]
    assert declared, f"{path.relative_to(PKG.parent)} has no __all__"
    if name.endswith("__main__"):
        return
    mod = importlib.import_module(name)
    names = list(mod.__all__)
    assert len(names) == len(set(names)), f"{name}.__all__ names something twice"
    for n in names:
        assert not n.startswith("_") or n == "__version__", f"{name}.__all__ names a private name {n!r}"
        assert hasattr(mod, n), f"{name}.__all__ names {n!r}, which does not exist"
