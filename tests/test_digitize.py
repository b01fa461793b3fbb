"""Tests of the digitizer (xclz_geo.boundaries.digitize): small networks built here, polygons built by hand.

Every network is synthetic: straight or sine-shaped lines around an invented origin in
CGCS2000 / 3° GK CM 120E (EPSG:4549), some converted to lon/lat (EPSG:4490).
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from xclz_geo.geo.crs import transformer
from xclz_geo.boundaries.digitize import DigitizeResult, digitize
from xclz_geo.errors import AssemblyError, DataQualityWarning, NameNotResolvedError, SizhiParseError
from xclz_geo.boundaries.network import NetworkIndex

GK = "EPSG:4549"
X0, Y0 = 480_000.0, 3_420_000.0
W, H = 3000.0, 2000.0


def net(lines, *, crs=GK, refs=None):
    """A network frame from (name, coords) pairs in GK metres, optionally converted to ``crs``."""
    gdf = gpd.GeoDataFrame(
        {"name": [n for n, _ in lines], "ref": refs or [""] * len(lines)},
        geometry=[LineString(c) for _, c in lines], crs=GK,
    )
    return gdf if crs == GK else gdf.to_crs(crs)


def iou(a, b) -> float:
    return shapely.intersection(a, b).area / shapely.union(a, b).area


def rect_lines(over: float = 400.0):
    return [
        ("北路", [(X0 - over, Y0 + H), (X0 + W + over, Y0 + H)]),
        ("东路", [(X0 + W, Y0 - over), (X0 + W, Y0 + H + over)]),
        ("南路", [(X0 - over, Y0), (X0 + W + over, Y0)]),
        ("西路", [(X0, Y0 - over), (X0, Y0 + H + over)]),
        ("内部路", [(X0 + 200, Y0 + 300), (X0 + 1800, Y0 + 1500)]),
        ("外部路", [(X0 + 5000, Y0), (X0 + 7000, Y0 + 2000)]),
    ]


RECT_TEXT = "东至东路,南至南路,西至西路,北至北路"


# ------------------------------------------------------------------ plain rectangle, two CRSs


@pytest.mark.parametrize("crs", [GK, "EPSG:4490"])
def test_plain_rectangle(crs):
    res = digitize(RECT_TEXT, net(rect_lines(), crs=crs))
    assert isinstance(res, DigitizeResult)
    assert res.crs.to_epsg() == 4549
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
    assert res.area_m2 == pytest.approx(W * H, rel=1e-3)
    assert res.area_mu == pytest.approx(W * H * 15 / 10000, rel=1e-3)
    rec = res.record
    assert rec["crs"] == "EPSG:4549"
    assert [c["method"] for c in rec["corners"]] == ["intersection"] * 4
    assert rec["gaps_closed"] == []
    assert {s["direction"]: s["features"][0]["match"]["level"] for s in rec["sides"]} == dict.fromkeys("ESWN", "exact")
    assert all(s["compass_ok"] for s in rec["sides"])
    # the overshooting ends are trimmed away: each side uses its own length only
    used = {s["direction"]: s["features"][0]["length_used_m"] for s in rec["sides"]}
    assert used["N"] == pytest.approx(W) and used["E"] == pytest.approx(H)
    json.dumps(rec)  # JSON-able


def test_geographic_polygon_and_geojson(tmp_path):
    res = digitize(RECT_TEXT, net(rect_lines()))
    geo = res.polygon_geographic()
    to_gk = transformer("EPSG:4490", GK)
    back = shapely.transform(geo, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    assert iou(back, res.polygon) > 0.9999
    assert geo.exterior.is_ccw  # RFC 7946: exterior counter-clockwise
    out = res.to_geojson(tmp_path / "out.geojson")
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    first = fc["features"][0]
    assert first["geometry"]["type"] == "Polygon"
    assert first["properties"]["area_m2"] == pytest.approx(W * H, rel=1e-3)
    assert first["properties"]["area_mu"] == pytest.approx(W * H * 0.0015, rel=1e-3)
    assert first["properties"]["record"]["sides"][0]["direction"] == "E"
    lon, lat = first["geometry"]["coordinates"][0][0]
    assert 119 < lon < 121 and 30 < lat < 32
    roles = {f["properties"]["role"] for f in fc["features"][1:]}
    assert roles == {"feature"}
    # the file reads back with GDAL as lon/lat
    g = gpd.read_file(out)
    assert g.crs.to_epsg() == 4326 and g.geometry.iloc[0].geom_type == "Polygon"


# ------------------------------------------------------------------ staircase, offsets, curves


def test_staircase_side_chaining_three_roads():
    # east side: 甲路 (x=W, north part) → 乙路 (step west at y=1200) → 丙路 (x=2000, south part)
    lines = [
        ("北路", [(X0 - 300, Y0 + H), (X0 + W + 300, Y0 + H)]),
        ("甲路", [(X0 + W, Y0 + 900), (X0 + W, Y0 + H + 300)]),
        ("乙路", [(X0 + 1700, Y0 + 1200), (X0 + W + 300, Y0 + 1200)]),
        ("丙路", [(X0 + 2000, Y0 - 300), (X0 + 2000, Y0 + 1500)]),
        ("南路", [(X0 - 300, Y0), (X0 + W + 300, Y0)]),
        ("西路", [(X0, Y0 - 300), (X0, Y0 + H + 300)]),
    ]
    # listed out of walking order on purpose: the digitizer orders the chain
    res = digitize("东至丙路、甲路、乙路,南至南路,西至西路,北至北路", net(lines))
    expected = Polygon([(X0, Y0), (X0 + 2000, Y0), (X0 + 2000, Y0 + 1200), (X0 + W, Y0 + 1200),
                        (X0 + W, Y0 + H), (X0, Y0 + H)])
    assert iou(res.polygon, expected) >= 0.97
    assert res.record["ring_order"][:4] == ["北至 北路", "东至 甲路", "东至 乙路", "东至 丙路"]


def test_offset_edge_with_no_road_on_it():
    res = digitize("东至东路,南至南路,西至西路,北至北路以北一公里处", net(rect_lines(over=400)))
    expected = box(X0, Y0, X0 + W, Y0 + H + 1000)
    assert iou(res.polygon, expected) >= 0.97
    north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
    assert north["offset"]["distance_m"] == 1000 and north["offset"]["direction"] == "N"
    assert "offset" in north["offset"]["method"]
    ext = [c for c in res.record["corners"] if c["method"] == "extension"]
    assert len(ext) == 2 and all(max(c["extension_m"]) == pytest.approx(600, abs=1) for c in ext)


def test_offset_of_a_slanted_road_is_parallel():
    # north road rises 300 m over the width; 以北500米 is its parallel 500 m away
    lines = rect_lines()
    lines[0] = ("北路", [(X0 - 400, Y0 + H - 40), (X0 + W + 400, Y0 + H + 340)])
    res = digitize("东至东路,南至南路,西至西路,北至北路以北500米", net(lines))
    main = LineString(lines[0][1])
    off = shapely.offset_curve(main, 500)
    assert off.length == pytest.approx(main.length)
    # hand-built: the parallel line is y = Y0 + H - 40 + 380/3800 (x - X0 + 400) + 500 / cos(atan(0.1))
    slope = 380 / (W + 800)
    shift = 500 / math.cos(math.atan(slope))

    def y_north(x):
        return Y0 + H - 40 + slope * (x - (X0 - 400)) + shift

    expected = Polygon([(X0, Y0), (X0 + W, Y0), (X0 + W, y_north(X0 + W)), (X0, y_north(X0))])
    assert iou(res.polygon, expected) >= 0.97


def test_curving_river_edge():
    def river_x(y):
        return X0 + 150 * math.sin(2 * math.pi * (y - Y0) / 800)

    ys = np.linspace(Y0 - 300, Y0 + H + 300, 200)
    river = [(river_x(y), y) for y in ys]
    lines = rect_lines()
    lines[3] = ("青弋江", river)
    res = digitize("东至东路,南至南路,西至青弋江西侧,北至北路", net(lines))
    inner = [(river_x(y), y) for y in np.linspace(Y0, Y0 + H, 200)]
    expected = Polygon([(X0 + W, Y0), (X0 + W, Y0 + H)] + inner[::-1])
    assert iou(res.polygon, expected) >= 0.97
    west = next(s for s in res.record["sides"] if s["direction"] == "W")["features"][0]
    assert west["kind"] == "water"
    assert west["side_of_feature"]["side"] == "W" and "inside" in west["side_of_feature"]["reading"]


# ------------------------------------------------------------------ gaps and overshoots


def test_30m_gap_and_200m_overshoot_are_closed_and_recorded():
    lines = [
        ("北路", [(X0 - 300, Y0 + H), (X0 + W + 200, Y0 + H)]),  # overshoots 东路 by 200 m
        ("东路", [(X0 + W, Y0 + 30), (X0 + W, Y0 + H + 300)]),  # stops 30 m short of 南路
        ("南路", [(X0 - 300, Y0), (X0 + W - 400, Y0)]),
        ("南路", [(X0 + W - 400, Y0), (X0 + W + 300, Y0)]),  # the same road in two pieces
        ("西路", [(X0, Y0 - 300), (X0, Y0 + H + 300)]),
    ]
    res = digitize(RECT_TEXT, net(lines), tolerance_m=50)
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
    se = next(c for c in res.record["corners"] if set(c["sides"]) == {"E", "S"})
    assert se["method"] in ("extension", "gap_closed")
    assert se["gap_m"] == pytest.approx(30, abs=0.5)
    assert len(res.record["gaps_closed"]) == 1
    east = next(s for s in res.record["sides"] if s["direction"] == "E")["features"][0]
    assert east["length_used_m"] == pytest.approx(H, abs=1)
    north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
    assert north["length_matched_m"] == pytest.approx(W + 500) and north["length_used_m"] == pytest.approx(W)


def test_gap_inside_one_feature_is_bridged():
    lines = rect_lines()
    # cut 东路 with a 25 m hole in the middle
    lines[1] = ("东路", [(X0 + W, Y0 - 400), (X0 + W, Y0 + 1000)])
    lines.append(("东路", [(X0 + W, Y0 + 1025), (X0 + W, Y0 + H + 400)]))
    res = digitize(RECT_TEXT, net(lines))
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
    east = next(s for s in res.record["sides"] if s["direction"] == "E")["features"][0]
    assert [g["gap_m"] for g in east["gaps_closed_inside"]] == [pytest.approx(25, abs=0.01)]


# ------------------------------------------------------------------ ambiguity


def test_same_name_twice_20km_apart():
    lines = rect_lines()
    lines.append(("北路", [(X0 + 20_000, Y0 + H + 5000), (X0 + 24_000, Y0 + H + 5000)]))
    res = digitize(RECT_TEXT, net(lines))
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
    north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
    assert north["candidates"] == 2
    assert north["feature_ids"] == ["0"]


def test_whole_ring_duplicated_reference_point_breaks_the_tie():
    lines = rect_lines(over=300)
    shift = 20_000.0
    lines += [(n, [(x + shift, y) for x, y in c]) for n, c in rect_lines(over=300)[:4]]
    to_geo = transformer(GK, "EPSG:4490")
    for cx in (X0 + W / 2, X0 + shift + W / 2):
        lon, lat = to_geo.transform(cx, Y0 + H / 2)
        res = digitize(RECT_TEXT, net(lines), reference_point=(lon, lat))
        assert iou(res.polygon, box(cx - W / 2, Y0, cx + W / 2, Y0 + H)) >= 0.97
        assert res.record["reference_point_used"]["inside_polygon"] is True


def test_side_given_by_road_number_only():
    lines = rect_lines()
    lines[0] = ("", lines[0][1])  # the north road has no name, only ref G318
    refs = ["G318", "", "", "", "", ""]
    for text in ("东至东路,南至南路,西至西路,北至318国道", "东至东路,南至南路,西至西路,北至G318"):
        res = digitize(text, net(lines, refs=refs))
        assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
        north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
        assert north["match"]["level"] == "ref" and north["feature_ids"] == ["0"]


def test_parenthetical_constraints_choose_the_section():
    # 外环路 is a loop with one E-W section north of the G50 (y=0) and one south of it (y=-600);
    # the G50 runs at y=-300. 318国道 has the railway 300 m north of it.
    lines = [
        ("经四路", [(X0 + W, Y0 - 800), (X0 + W, Y0 + H + 200)]),
        ("祥花线", [(X0, Y0 - 800), (X0, Y0 + H + 200)]),
        ("外环路", [(X0 - 600, Y0), (X0 + W + 600, Y0)]),
        ("外环路", [(X0 - 600, Y0 - 600), (X0 + W + 600, Y0 - 600)]),
        ("外环路", [(X0 - 600, Y0), (X0 - 600, Y0 - 600)]),
        ("外环路", [(X0 + W + 600, Y0), (X0 + W + 600, Y0 - 600)]),
        ("G50沪渝高速", [(X0 - 2000, Y0 - 300), (X0 + W + 2000, Y0 - 300)]),
        ("318国道", [(X0 - 300, Y0 + H), (X0 + W + 300, Y0 + H)]),
        ("宣杭铁路", [(X0 - 2000, Y0 + H + 300), (X0 + W + 2000, Y0 + H + 300)]),
    ]
    text = "东至经四路,南至外环路(G50高速以北),西至祥花线,北至318国道(宣杭铁路以南)"
    res = digitize(text, net(lines))
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97
    south = next(s for s in res.record["sides"] if s["direction"] == "S")["features"][0]
    (c,) = south["constraints"]
    assert c["status"] == "applied" and c["feature"] == "G50高速" and c["polygon_on_required_side"] is True
    assert (c["pieces_before"], c["pieces_kept"]) == (4, 3)  # south section gone, loop ends cut at the G50
    north = next(s for s in res.record["sides"] if s["direction"] == "N")["features"][0]
    assert north["constraints"][0]["polygon_on_required_side"] is True
    # without the bracket the south section (y=-600) is a candidate too; with it, it is cut away
    assert all(y >= Y0 - 1 for _, y in res.polygon.exterior.coords)


# ------------------------------------------------------------------ loud failures


def test_missing_name_lists_the_nearest_names():
    lines = rect_lines()
    lines[1] = ("东环路", lines[1][1])
    with pytest.raises(NameNotResolvedError) as ei:
        digitize("东至东湖路,南至南路,西至西路,北至北路", net(lines), allow_fuzzy=False)
    msg = str(ei.value)
    assert "东湖路" in msg and "东环路" in msg and "nearest names" in msg


def test_fuzzy_match_is_used_but_reported():
    lines = rect_lines()
    lines[1] = ("东环路", lines[1][1])
    with pytest.warns(DataQualityWarning, match="东环路"):
        res = digitize("东至东环大路,南至南路,西至西路,北至北路", net(lines))
    east = next(s for s in res.record["sides"] if s["direction"] == "E")["features"][0]
    assert east["match"]["level"] == "fuzzy" and east["match"]["matched_names"] == ["东环路"]
    assert any("fuzzy" in w for w in res.record["warnings"])


def test_ring_that_cannot_close_names_the_corner_and_gap():
    lines = rect_lines()
    lines[1] = ("东路", [(X0 + W, Y0 + 400), (X0 + W, Y0 + H + 400)])  # stops 400 m short of 南路
    with pytest.raises(AssemblyError) as ei:
        digitize(RECT_TEXT, net(lines), tolerance_m=50)
    err = ei.value
    assert "south-east" in str(err) and "400.0 m" in str(err)
    assert err.gap_m == pytest.approx(400, abs=0.5)
    to_gk = transformer("EPSG:4490", GK)
    x, y = to_gk.transform(err.location.x, err.location.y)
    assert abs(x - (X0 + W)) < 1 and abs(y - (Y0 + 200)) < 1
    # with a larger tolerance it closes
    res = digitize(RECT_TEXT, net(lines), tolerance_m=450)
    assert iou(res.polygon, box(X0, Y0, X0 + W, Y0 + H)) >= 0.97


def test_bad_inputs():
    with pytest.raises(SizhiParseError):
        digitize("东至", net(rect_lines()))
    with pytest.raises(ValueError, match="tolerance_m"):
        digitize(RECT_TEXT, net(rect_lines()), tolerance_m=-1)
    with pytest.raises(AssemblyError, match="at least 3"):
        digitize("东至东路,西至西路", net(rect_lines()))


def test_prebuilt_index_and_work_crs():
    idx = NetworkIndex(net(rect_lines(), crs="EPSG:4490"))
    a = digitize(RECT_TEXT, idx)
    b = digitize(RECT_TEXT, idx, crs="EPSG:4549")
    assert a.area_m2 == pytest.approx(b.area_m2)
    assert a.record["network_crs"] == "EPSG:4490"


# ------------------------------------------------------------------ CLI

FIX = __import__("pathlib").Path(__file__).parent / "fixtures"
OSM_TEXT = "东至经四路,南至外环路,西至祥花线,北至318国道(宣杭铁路以南)"


def test_cli_digitize_writes_geojson(tmp_path, capsys):
    from xclz_geo.cli.main import main

    out = tmp_path / "zone.geojson"
    code = main(["digitize", "--text", OSM_TEXT, "--network", str(FIX / "digitize_grid.osm"), "--out", str(out)])
    assert code == 0
    fc = json.loads(out.read_text(encoding="utf-8"))
    props = fc["features"][0]["properties"]
    assert props["area_m2"] == pytest.approx(1500 * 1000, rel=1e-3)
    assert props["record"]["crs"] == "EPSG:4549"
    assert "wrote" in capsys.readouterr().out


def test_cli_digitize_json_record(tmp_path, capsys):
    from xclz_geo.cli.main import main

    code = main(["digitize", "--text", OSM_TEXT, "--network", str(FIX / "digitize_grid.osm"),
                 "--out", str(tmp_path / "o.geojson"), "--json", "--tolerance-m", "20"])
    assert code == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["tolerance_m"] == 20 and len(rec["sides"]) == 4


def test_cli_digitize_part_of_the_plan_paragraph(tmp_path, capsys):
    """西区 of the real paragraph, against the synthetic OSM grid that uses the same names."""
    from xclz_geo.cli.main import main
    from xclz_geo.datasets import reference_path

    text = reference_path("seed_xuancheng_linkage_zone_plan_2022.txt").read_text(encoding="utf-8")
    para = text[text.index("宣城联动创新区的实施范围"):]
    para = para[: para.index("\n")]
    f = tmp_path / "scope.txt"
    f.write_bytes(para.encode("gbk"))  # a GBK text file
    code = main(["digitize", "--text-file", str(f), "--part", "西区", "--network", str(FIX / "digitize_grid.osm"),
                 "--out", str(tmp_path / "west.geojson")])
    captured = capsys.readouterr()
    assert code == 0
    # the G50 is not in the fixture network: the bracket could not be checked, and the user is told
    assert "G50" in captured.err and "not checked" in captured.err


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (["--text", "东至没有路,南至外环路,西至祥花线,北至318国道", "--no-fuzzy"], 1, "没有路"),
        (["--text", "东至"], 2, "at character 2"),
        (["--text", "东至其他路,南至外环路,西至祥花线,北至318国道", "--tolerance-m", "5"], 1, "does not close"),
    ],
)
def test_cli_digitize_exit_codes(tmp_path, capsys, args, code, needle):
    from xclz_geo.cli.main import main

    rc = main(["digitize", *args, "--network", str(FIX / "digitize_grid.osm"), "--out", str(tmp_path / "x.geojson")])
    err = capsys.readouterr().err
    assert rc == code
    assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "x.geojson").exists()


def test_cli_digitize_unreadable_network(tmp_path, capsys):
    from xclz_geo.cli.main import main

    bad = tmp_path / "bad.geojson"
    bad.write_text("not json", encoding="utf-8")
    rc = main(["digitize", "--text", OSM_TEXT, "--network", str(bad), "--out", str(tmp_path / "x.geojson")])
    assert rc == 2
    assert "bad.geojson" in capsys.readouterr().err


def test_equally_good_candidates_are_flagged():
    lines = rect_lines()
    lines.append(("东路", [(X0 + W - 800, Y0 - 300), (X0 + W - 800, Y0 + H + 300)]))  # a second 东路 inside
    with pytest.warns(DataQualityWarning, match="equally well"):
        res = digitize(RECT_TEXT, net(lines))
    east = next(s for s in res.record["sides"] if s["direction"] == "E")["features"][0]
    assert east["ambiguous"] is True and east["candidates"] == 2


# ------------------------------------------------------------------ property: rotated rectangles, ragged ends

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_END = st.one_of(st.floats(-40, -1), st.just(0.0), st.floats(1, 400))


@settings(max_examples=30, deadline=None)
@given(w=st.floats(300, 5000), h=st.floats(300, 5000), angle=st.floats(-30, 30),
       ends=st.lists(_END, min_size=8, max_size=8), offset=st.sampled_from([None, 500.0]))
def test_rotated_rectangles_with_ragged_ends(w, h, angle, ends, offset):
    """Gaps under the tolerance (≤ 40 m) and overshoots (≤ 400 m) at every corner, any rotation."""
    from shapely import affinity

    e = ends
    lines = [("北路", [(X0 - e[0], Y0 + h), (X0 + w + e[1], Y0 + h)]), ("东路", [(X0 + w, Y0 - e[2]), (X0 + w, Y0 + h + e[3])]),
             ("南路", [(X0 - e[4], Y0), (X0 + w + e[5], Y0)]), ("西路", [(X0, Y0 - e[6]), (X0, Y0 + h + e[7])])]
    lines = [(n, list(affinity.rotate(LineString(c), angle, origin=(X0, Y0)).coords)) for n, c in lines]
    text = RECT_TEXT + (f"以北{offset:g}米" if offset else "")
    res = digitize(text, net(lines), tolerance_m=50)
    expected = affinity.rotate(box(X0, Y0, X0 + w, Y0 + h + (offset or 0.0)), angle, origin=(X0, Y0))
    assert iou(res.polygon, expected) >= 0.97


def test_cli_digitize_dxf_with_name_field_and_crs(tmp_path, capsys):
    from xclz_geo.cli.main import main

    args = ["digitize", "--text", "东至民生路,南至光藻路,西至无量溪河西侧,北至芜杭铁路",
            "--network", str(FIX / "digitize_grid.dxf"), "--name-field", "Layer", "--out", str(tmp_path / "d.geojson")]
    assert main(args) == 2  # a DXF declares no CRS
    assert "crs" in capsys.readouterr().err.lower()
    assert main([*args, "--crs", "EPSG:4549", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["crs"] == "EPSG:4549" and rec["sides"][2]["features"][0]["side_of_feature"]["side"] == "W"


@pytest.mark.parametrize("bank, x_edge", [("西侧", X0 - 60), ("东侧", X0 + 60)])
def test_river_outline_bank_follows_the_side_of_feature(bank, x_edge):
    """A river drawn as an area (both banks, 120 m apart): 西侧 takes the west bank, 东侧 the east one."""
    lines = rect_lines()
    river = Polygon([(X0 - 60, Y0 - 400), (X0 + 60, Y0 - 400), (X0 + 60, Y0 + H + 400), (X0 - 60, Y0 + H + 400)])
    lines[3] = ("界河", list(river.exterior.coords))
    res = digitize(f"东至东路,南至南路,西至界河{bank},北至北路", net(lines))
    assert iou(res.polygon, box(x_edge, Y0, X0 + W, Y0 + H)) >= 0.995
    west = next(s for s in res.record["sides"] if s["direction"] == "W")["features"][0]
    assert west["side_of_feature"]["applied"].startswith("yes")


def test_diagonal_side_cuts_a_corner():
    lines = rect_lines()
    # 斜路 cuts the north-east corner: from (W-1000, H+300) down to (W+300, H-1000)
    lines.append(("斜路", [(X0 + W - 1300, Y0 + H + 300), (X0 + W + 300, Y0 + H - 1300)]))
    res = digitize("北至北路,东北至斜路,东至东路,南至南路,西至西路", net(lines))
    expected = Polygon([(X0, Y0), (X0 + W, Y0), (X0 + W, Y0 + H - 1000), (X0 + W - 1000, Y0 + H), (X0, Y0 + H)])
    assert iou(res.polygon, expected) >= 0.97
    assert [s["direction"] for s in res.record["sides"]] == ["N", "NE", "E", "S", "W"]
    assert all(s["compass_ok"] for s in res.record["sides"])


def test_broken_feature_and_not_exhaustive_hint():
    lines = rect_lines()
    lines[1] = ("东路", [(X0 + W, Y0 - 400), (X0 + W, Y0 + 900)])
    lines.append(("东路", [(X0 + W, Y0 + 1200), (X0 + W, Y0 + H + 400)]))  # a 300 m hole in 东路
    with pytest.raises(AssemblyError, match="broken by a gap of 300.0 m") as ei:
        digitize(RECT_TEXT, net(lines), cluster_distance_m=500)
    assert ei.value.location_gk.distance(Point(X0 + W, Y0 + 1050)) < 1
    # a side ending with 等 may leave out a link: the message says so
    lines = rect_lines()
    lines[1] = ("东路", [(X0 + W, Y0 + 400), (X0 + W, Y0 + H + 400)])
    with pytest.raises(AssemblyError, match="等"):
        digitize("东至东路等,南至南路,西至西路,北至北路", net(lines))


def test_work_crs_is_the_zone_of_the_matched_features():
    """A province-wide lon/lat network spanning several GK zones: the zone of the named roads is used."""
    g = net(rect_lines(), crs="EPSG:4490")
    far = gpd.GeoDataFrame({"name": ["远路"], "ref": [""]}, geometry=[LineString([(110.0, 30.0), (110.1, 30.0)])],
                           crs="EPSG:4490")
    import pandas as pd

    both = gpd.GeoDataFrame(pd.concat([g, far], ignore_index=True), crs="EPSG:4490")
    res = digitize(RECT_TEXT, both)
    assert res.crs.to_epsg() == 4549
    assert res.area_m2 == pytest.approx(W * H, rel=1e-3)


def test_absurd_offset_or_tolerance_is_refused_in_a_short_message():
    import dataclasses

    from xclz_geo.errors import InputDataError
    from xclz_geo.boundaries.sizhi import parse_sizhi

    spec = parse_sizhi("东至东路,南至南路,西至西路,北至北路以北一公里处")
    # a FeatureRef built by hand (not through the parser) with a 10²⁴ m offset
    sides = tuple(
        dataclasses.replace(s, features=tuple(dataclasses.replace(f, offset_m=1e24) if f.offset_m else f for f in s.features))
        for s in spec.sides
    )
    with pytest.raises(SizhiParseError, match=r"1e\+21 km is beyond 100 km") as info:
        digitize(dataclasses.replace(spec, sides=sides), net(rect_lines(over=400)))
    assert len(str(info.value)) < 200
    with pytest.raises(InputDataError, match="beyond 10 km"):
        digitize("东至东路,南至南路,西至西路,北至北路", net(rect_lines()), tolerance_m=1e24)
