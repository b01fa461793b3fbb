"""The vectorised parcel overlay (xclz_geo.landuse.overlay.landuse_by_part) against a straightforward reference.

The reference below is written the slow, obvious way — one parcel and one part at a time with
plain shapely calls — and shares no code with the overlay beyond the code tables. The data: a
SYNTHETIC many-zone boundaries file (:mod:`xclz_geo.scale.sample`, 8 zones) and random parcels
plus hand-made awkward rows (invalid bow-tie, no geometry, a point, a multipolygon, a parcel over
several parts, unknown / missing / suffixed codes, duplicates that overlap).
"""

from __future__ import annotations

import warnings
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from xclz_geo.boundaries.zone import Zone
from xclz_geo.landuse import overlay as lu
from xclz_geo.scale import sample

TOL_M2 = 1e-6


@pytest.fixture(scope="module")
def zone_and_parts():
    parts = sample.synthetic_province_zones(zones=8, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zone = Zone.from_boundaries(parts)
    return zone, parts


@pytest.fixture(scope="module")
def parcels(zone_and_parts):
    zone, parts = zone_and_parts
    p = sample.synthetic_parcels(parts, 1_200, seed=3, near_share=0.8).copy()
    b0 = parts.geometry.iloc[0].bounds
    b1 = parts.geometry.iloc[1].bounds
    whole_zone = shapely.box(*parts[parts["zone_id"] == parts["zone_id"].iloc[0]].total_bounds)
    extra = [
        ("9001", "工业用地", shapely.Polygon([(b0[0], b0[1]), (b0[2], b0[3]), (b0[2], b0[1]), (b0[0], b0[3])])),  # bow-tie: invalid
        ("0601", "工业用地", None),
        ("0601", "工业用地", shapely.Point((b0[0] + b0[2]) / 2, (b0[1] + b0[3]) / 2)),
        ("0701", "城镇住宅用地", shapely.MultiPolygon([shapely.box(*b0).buffer(-0.001), shapely.box(*b1).buffer(-0.001)])),
        ("0601", "工业用地", whole_zone),  # over every part of the first zone
        ("9999", "自造地类", shapely.box(*b0)),  # unknown code, inside
        ("9999", "另一个名字", shapely.box(*b0).buffer(-0.002)),  # same unknown code, another name
        ("", "", shapely.box(*b1)),  # missing code and name
        ("0301K", "乔木林地", shapely.box(*b1).buffer(-0.003)),  # suffix rule
        ("05H1", "商业服务业设施用地", shapely.box(*b1).buffer(-0.004)),
    ]
    rows = pd.DataFrame({"BSM": np.arange(len(extra)) + 10_000, "DLBM": [c for c, _, _ in extra],
                         "DLMC": [n for _, n, _ in extra], "quality": "synthetic"})
    add = gpd.GeoDataFrame(rows, geometry=[g for _, _, g in extra], crs="EPSG:4490")
    dup = p.iloc[[5, 6, 7]]  # exact duplicates: overlaps
    return pd.concat([p, add, dup], ignore_index=True)


def reference_pieces(zone: Zone, gdf: gpd.GeoDataFrame) -> tuple[list[tuple[int, int, float, object]], np.ndarray, list[str]]:
    """(part index, row, area, piece) for every parcel and part, one pair at a time; parcel areas; row statuses."""
    parts = zone.parts_gk
    pg = list(parts.geometry)
    g = gdf.geometry.to_crs(zone.gk_crs)
    pieces = []
    areas = np.zeros(len(gdf))
    status = []
    for r, geom in enumerate(g):
        if geom is None or geom.is_empty:
            status.append("no geometry")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            status.append("not a polygon")
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        if geom.geom_type == "GeometryCollection":
            polys = [x for x in shapely.get_parts(geom) if x.geom_type in ("Polygon", "MultiPolygon")]
            if not polys:
                status.append("not a polygon")
                continue
            geom = shapely.union_all(polys)
        status.append("")
        areas[r] = geom.area
        for j, part in enumerate(pg):
            if part is None or not part.intersects(geom):
                continue
            piece = geom.intersection(part)
            if piece.area > TOL_M2:
                pieces.append((j, r, piece.area, piece))
    return pieces, areas, status


def test_parcels_table_matches_reference(zone_and_parts, parcels):
    zone, _ = zone_and_parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lu.landuse_by_part(zone, parcels)
    got = res.parcels
    pieces, areas, status = reference_pieces(zone, parcels)
    part_ids = list(zone.parts_gk["part_id"])
    inside = np.zeros(len(parcels))
    touched: list[list[str]] = [[] for _ in range(len(parcels))]
    for j, r, a, _ in pieces:
        inside[r] += a
        touched[r].append(part_ids[j])
    # every input row comes out, once, in order, with a status
    assert got["row"].tolist() == list(range(len(parcels)))
    assert got["status"].notna().all() and (got["status"] != "").all()
    np.testing.assert_allclose(got["area_m2"].to_numpy(), areas, rtol=1e-9, atol=TOL_M2)
    np.testing.assert_allclose(got["inside_m2"].to_numpy(), inside, rtol=1e-9, atol=TOL_M2)
    assert got["part_ids"].tolist() == [",".join(t) for t in touched]
    want = [s or ("outside the zone" if inside[r] <= TOL_M2 else
                  "partly inside" if inside[r] < areas[r] * (1 - 1e-9) - 1e-6 else "inside")
            for r, s in enumerate(status)]
    assert got["status"].tolist() == want
    # the awkward rows: the bow-tie is repaired and measured, not dropped; no geometry / a point are reported
    n0 = len(parcels) - 13
    assert got["status"].iloc[n0] in ("inside", "partly inside")
    assert got["status"].iloc[n0 + 1] == "no geometry"
    assert got["status"].iloc[n0 + 2] == "not a polygon"
    assert got["part_ids"].iloc[n0 + 4].count(",") >= 1  # over several parts
    zid = parcels_zone = zone.parts["zone_id"].iloc[0]
    assert got["zone_id"].iloc[n0 + 4] == zid == parcels_zone
    assert Counter(got["status"])["inside"] > 100 and Counter(got["status"])["partly inside"] > 10


def test_part_tables_match_reference(zone_and_parts, parcels):
    zone, _ = zone_and_parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lu.landuse_by_part(zone, parcels, level=2)
    pieces, areas, _ = reference_pieces(zone, parcels)
    part_ids = list(zone.parts_gk["part_id"])
    cls = lu.classify_codes(list(parcels["DLBM"]), scheme=res.method["scheme"], names=list(parcels["DLMC"]))
    # per part and level-2 code: summed piece areas and distinct parcels
    want_area: dict[tuple[str, str], float] = {}
    want_rows: dict[tuple[str, str], set[int]] = {}
    for j, r, a, _ in pieces:
        key = (part_ids[j], cls["level2_code"].iloc[r])
        want_area[key] = want_area.get(key, 0.0) + a
        want_rows.setdefault(key, set()).add(r)
    got = {(p, c): (a, n) for p, c, a, n in res.by_code[["part_id", "code", "area_m2", "parcel_count"]].itertuples(index=False)}
    assert set(got) == set(want_area)
    for key, (a, n) in got.items():
        assert a == pytest.approx(want_area[key], rel=1e-9, abs=TOL_M2)
        assert n == len(want_rows[key])
    # unknown codes keep their own code and their names, joined; known codes take the table's name
    unk = res.by_code[res.by_code["code"] == "9999"]
    assert len(unk) >= 1 and (unk["code_status"] == "unknown").all() and (unk["group"] == "unknown").all()
    assert "自造地类" in unk["name"].iloc[0] and "另一个名字" in unk["name"].iloc[0]
    known = res.by_code[res.by_code["code"] == "0601"]
    assert (known["name"] == "工业用地").all() and (known["code_status"] == "known").all()
    # per part: covered area is the union of the pieces; parcel area their sum
    for row in res.parts.itertuples(index=False):
        mine = [(r, a, g) for j, r, a, g in pieces if part_ids[j] == row.part_id]
        assert row.parcel_count == len({r for r, _, _ in mine})
        assert row.parcel_area_m2 == pytest.approx(sum(a for _, a, _ in mine), rel=1e-9, abs=TOL_M2)
        covered = shapely.union_all([g for _, _, g in mine]).area if mine else 0.0
        assert row.covered_m2 == pytest.approx(covered, rel=1e-9, abs=1e-3)
        assert row.status == ("ok" if mine else "no parcels")
    assert (res.parts["overlap_m2"] > 1.0).any()  # the duplicates
    assert len(res.overlaps) >= 3
    # groups add up to the same area as codes, part by part
    a = res.by_group.groupby("part_id")["area_m2"].sum()
    b = res.by_code.groupby("part_id")["area_m2"].sum()
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), check_names=False, rtol=1e-9)


def test_detect_scheme_counts_like_row_by_row():
    codes = ["0601", "0601", "05H1", "0604", 601, None, float("nan"), "100101", "0301K", "abc", "1301"] * 7
    names = ["工业用地", "工业", "商业服务业设施用地", "", "工业用地", None, "x", "y", "乔木林地", "", "z"] * 7
    det = lu.detect_scheme(codes, names)
    for s in lu.SCHEMES:
        t = lu.code_table(s)
        hits = [t.get(c, include_variants=False)[0] for c in codes]
        assert det.known_share[s] == sum(h is not None for h in hits) / len(codes)
        pairs = [(h, lu._norm_name(n)) for h, n in zip(hits, names) if lu._norm_name(n)]
        ok = sum(1 for h, n in pairs if h is not None and n in (lu._norm_name(h.name_zh), lu._norm_name(h.name_zh).removesuffix("用地"),
                                                                   lu._norm_name(h.name_zh) + "用地"))
        assert det.name_agreement[s] == ok / len(pairs)
    assert det.scheme == "sandiao"


def test_without_summaries_the_parcels_table_is_the_same(zone_and_parts, parcels):
    zone, _ = zone_and_parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = lu.landuse_by_part(zone, parcels)
        lean = lu.landuse_by_part(zone, parcels, summaries=False)
    pd.testing.assert_frame_equal(lean.parcels, full.parcels)
    pd.testing.assert_frame_equal(lean.unknown_codes, full.unknown_codes)
    assert lean.method == full.method
    for name in ("by_code", "by_level1", "by_group", "parts", "overlaps"):
        got, ref = getattr(lean, name), getattr(full, name)
        assert len(got) == 0 and len(ref) > 0, name
        assert list(got.columns) == list(ref.columns), name
