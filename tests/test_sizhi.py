"""Tests of the 四至 parser (xclz_geo.boundaries.sizhi)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xclz_geo.errors import SizhiParseError
from xclz_geo.boundaries.sizhi import (
    BoundarySpec,
    parse_chinese_number,
    parse_implementation_scope,
    parse_ref,
    parse_sizhi,
)

PLAN_FILE = "seed_xuancheng_linkage_zone_plan_2022.txt"


@pytest.fixture(scope="module")
def plan_paragraph() -> str:
    from xclz_geo.datasets import reference_path

    text = reference_path(PLAN_FILE).read_text(encoding="utf-8")
    start = text.index("宣城联动创新区的实施范围")
    end = text.index("\n", start)
    return text[start:end]


def names(side) -> list[str]:
    return [f.name for f in side.features]


# ------------------------------------------------------------------ the plan's own paragraph


def test_plan_paragraph_three_parts_with_areas(plan_paragraph):
    scope = parse_implementation_scope(plan_paragraph)
    assert scope.total_area_km2 == pytest.approx(59.78)
    assert [b.name for b in scope.blocks] == ["宣城经开区", "广德经开区"]
    assert [b.full_name for b in scope.blocks] == ["宣城经济技术开发区", "广德经济开发区"]
    assert [b.area_km2 for b in scope.blocks] == [pytest.approx(29.8), pytest.approx(29.98)]
    assert [(p.name, p.area_km2) for p in scope.parts] == [
        ("宣城经开区", pytest.approx(29.8)), ("主园区", pytest.approx(26.21)), ("西区", pytest.approx(3.77))]
    assert all(c["ok"] for c in scope.area_checks())
    # the connecting sentence is kept as a note of the Guangde block, not lost and not read as a side
    assert any("沪渝高速" in n for n in scope.block("广德经开区").notes)


def test_plan_paragraph_every_feature(plan_paragraph):
    scope = parse_implementation_scope(plan_paragraph)
    xc = scope.block("宣城经开区").part("宣城经开区").sizhi
    assert xc.directions == ("E", "S", "W", "N")
    assert names(xc.side("东")) == ["水阳江西大道", "创业路", "鸿越大道", "景德路"]
    assert xc.side("E").not_exhaustive and xc.side("S").not_exhaustive
    assert not xc.side("W").not_exhaustive
    assert names(xc.side("S")) == ["文景路", "致学路", "三棵树路", "宝城路", "奉公大道", "关庙路"]
    assert names(xc.side("W")) == ["长桥路"]
    north = xc.side("N").features[0]
    assert (north.name, north.offset_m, north.offset_direction) == ("奇秀路", 1000.0, "N")

    main = scope.block("广德经开区").part("主园区").sizhi
    assert names(main.side("E")) == ["民生路"]
    assert names(main.side("S")) == ["光藻路", "南山路"]
    river = main.side("W").features[0]
    assert (river.name, river.kind, river.side_of_feature) == ("无量溪河", "water", "W")
    rail = main.side("N").features[0]
    assert (rail.name, rail.kind) == ("芜杭铁路", "rail")

    west = scope.block("广德经开区").part("西区").sizhi
    assert names(west.side("E")) == ["经四路"]
    south = west.side("S").features[0]
    assert south.name == "外环路"
    (c,) = south.constraints
    assert (c.feature.name, c.feature.ref, c.direction) == ("G50高速", "G50", "N")
    assert names(west.side("W")) == ["祥花线"] and west.side("W").features[0].kind == "road"
    n = west.side("N").features[0]
    assert (n.name, n.ref, n.kind) == ("318国道", "G318", "road")
    (c,) = n.constraints
    assert (c.feature.name, c.feature.kind, c.direction) == ("宣杭铁路", "rail", "S")


def test_spec_toml_texts_agree_with_the_paragraph(plan_paragraph):
    """The verbatim 四至 in spec.toml parse to the same features as the source paragraph."""
    from xclz_geo.boundaries.zone import load_spec

    spec = load_spec()
    scope = parse_implementation_scope(spec.source.get("implementation_scope_zh") or plan_paragraph)
    by_area = {round(p.area_km2, 2): p for p in scope.parts}
    for part in spec.parts:
        mine = parse_sizhi(part.sizhi_zh)
        theirs = by_area[round(part.official_area_km2, 2)].sizhi
        assert [(s.direction, names(s)) for s in mine.sides] == [(s.direction, names(s)) for s in theirs.sides]
        assert [[f.ref for f in s.features] for s in mine.sides] == [[f.ref for f in s.features] for s in theirs.sides]


# ------------------------------------------------------------------ grammar


@pytest.mark.parametrize(
    "qualifier, metres, direction, approx",
    [
        ("以北一公里处", 1000, "N", False),
        ("以南500米", 500, "S", False),
        ("以东约1.5公里", 1500, "E", True),
        ("以西两公里", 2000, "W", False),
        ("以北半公里处", 500, "N", False),
        ("以南1千米", 1000, "S", False),
        ("以南一千米", 1000, "S", False),
        ("以东2km", 2000, "E", False),
        ("以西800m", 800, "W", False),
        ("北侧300米处", 300, "N", False),
        ("以北一点五公里", 1500, "N", False),
        ("以南二百五十米左右", 250, "S", True),
        ("以东北1公里", 1000, "NE", False),
        ("以北１．５公里", 1500, "N", False),  # full-width digits
    ],
)
def test_offsets_in_common_forms(qualifier, metres, direction, approx):
    f = parse_sizhi(f"北至奇秀路{qualifier},南至文景路").side("N").features[0]
    assert f.name == "奇秀路"
    assert f.offset_m == pytest.approx(metres)
    assert f.offset_direction == direction
    assert f.offset_approximate is approx


@pytest.mark.parametrize(
    "text, ref",
    [("318国道", "G318"), ("G318国道", "G318"), ("G318", "G318"), ("国道318", "G318"), ("S215省道", "S215"),
     ("215省道", "S215"), ("G50高速", "G50"), ("沪渝高速", "G50"), ("G50沪渝高速", "G50"), ("X012县道", "X012"),
     ("创业路", None), ("经四路", None), ("水阳江西大道", None)],
)
def test_road_numbers(text, ref):
    assert parse_ref(text) == ref
    assert parse_sizhi(f"东至{text}").side("E").features[0].ref == ref


def test_compound_names_are_not_split_into_side_words():
    spec = parse_sizhi("东至水阳江西大道,西至江南路,北至河北路,南至城东大道")
    assert [f.name for _, f in spec.features()] == ["水阳江西大道", "江南路", "河北路", "城东大道"]
    assert all(f.side_of_feature is None and f.offset_m is None for _, f in spec.features())


@pytest.mark.parametrize("qual, code", [("西侧", "W"), ("东岸", "E"), ("南沿", "S"), ("北边", "N"), ("中心线", "C")])
def test_side_of_feature(qual, code):
    f = parse_sizhi(f"西至无量溪河{qual}").side("W").features[0]
    assert (f.name, f.side_of_feature, f.kind) == ("无量溪河", code, "water")


def test_kinds_guessed_and_overridable():
    spec = parse_sizhi("东至创业路,南至宣杭铁路,西至无量溪河,北至祥花线、某某")
    kinds = {f.name: f.kind for _, f in spec.features()}
    assert kinds == {"创业路": "road", "宣杭铁路": "rail", "无量溪河": "water", "祥花线": "road", "某某": "unknown"}
    spec2 = spec.with_kinds({"某某": "water"})
    f = spec2.side("N").features[1]
    assert (f.kind, f.kind_source) == ("water", "given")
    assert parse_sizhi("东至某某", kinds={"某某": "rail"}).side("E").features[0].kind == "rail"
    with pytest.raises(SizhiParseError, match="not a feature"):
        spec.with_kinds({"没有的路": "road"})


def test_separators_full_and_half_width_are_equivalent():
    a = parse_sizhi("东至甲路、乙路等,南至丙路;西至丁河西侧,北至戊路(G50高速以北)。")
    b = parse_sizhi("东至甲路、乙路等，南至丙路；西至丁河西侧，北至戊路（G50高速以北）。")
    strip = lambda s: [(x.direction, x.not_exhaustive, [(f.name, f.side_of_feature, [c.direction for c in f.constraints])
                                                         for f in x.features]) for x in s.sides]
    assert strip(a) == strip(b)
    assert a.side("N").features[0].constraints[0].feature.ref == "G50"


def test_sides_in_any_order_and_diagonals():
    spec = parse_sizhi("北至甲路,西南至乙路,东至丙路")
    assert spec.directions == ("N", "SW", "E")


def test_conjunctions_split_only_between_features():
    assert names(parse_sizhi("南至光藻路和南山路").side("S")) == ["光藻路", "南山路"]
    assert names(parse_sizhi("南至光藻路及南山路以及北山路").side("S")) == ["光藻路", "南山路", "北山路"]
    assert names(parse_sizhi("南至和平路").side("S")) == ["和平路"]
    assert names(parse_sizhi("南至民和路、及第路").side("S")) == ["民和路", "及第路"]


def test_bracket_notes():
    f = parse_sizhi("东至滨江大道(北段)").side("E").features[0]
    assert (f.name, f.section) == ("滨江大道", "北段")
    f = parse_sizhi("东至新华路(原人民路)").side("E").features[0]
    assert f.alt_names == ("人民路",)
    f = parse_sizhi("东至新华路(规划)").side("E").features[0]
    assert f.notes == ("规划",)


def test_continuation_clause_belongs_to_the_current_side():
    spec = parse_sizhi("东至甲路,乙路,南至丙路")
    assert names(spec.side("E")) == ["甲路", "乙路"]


@pytest.mark.parametrize(
    "text, offset, pattern",
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("创业路", 0, "expected a side"),
        ("东至", 2, "no feature"),
        ("东至创业路,北至", 8, "no feature"),
        ("东至创业路(G50以北", 5, "never closed"),
        ("东至创业路)", 5, "without a matching"),
        ("东至创业路,东至景德路", 6, "twice"),
        ("东至abc", 2, "neither a Chinese"),
        ("东至创业路、、景德路", 6, "empty item"),
        ("东至创业路等、景德路", 5, "等 must end"),
        ("东至创业路!", 5, "unexpected character"),
        ("东至以北一公里处", 2, "name missing"),
    ],
)
def test_errors_point_at_the_offset(text, offset, pattern):
    with pytest.raises(SizhiParseError, match=pattern) as ei:
        parse_sizhi(text)
    assert ei.value.offset == offset
    assert f"at character {offset}" in str(ei.value)


def test_scope_errors():
    with pytest.raises(SizhiParseError, match="no block"):
        parse_implementation_scope("这是一段没有四至的文字。")
    with pytest.raises(SizhiParseError, match="has no 四至"):
        parse_implementation_scope("甲区块总面积3平方公里,包括东区(1平方公里)和西区(2平方公里)。东区东至甲路,南至乙路,西至丙路。")


@pytest.mark.parametrize("s, v", [("一", 1), ("两", 2), ("十五", 15), ("二十", 20), ("一百零五", 105),
                                   ("一点五", 1.5), ("半", 0.5), ("一千二百", 1200), ("3.25", 3.25), ("一半", None)])
def test_chinese_numbers(s, v):
    if v is None:
        with pytest.raises(ValueError):
            parse_chinese_number(s)
    else:
        assert parse_chinese_number(s) == pytest.approx(v)


def test_to_dict_is_json_able():
    import json

    spec = parse_sizhi("东至甲路等,北至乙路以北一公里处,南至丙路(G50高速以北)")
    d = json.loads(json.dumps(spec.to_dict(), ensure_ascii=False))
    assert d["sides"][1]["features"][0]["offset_m"] == 1000
    assert d["sides"][2]["features"][0]["constraints"][0]["feature"]["ref"] == "G50"


# ------------------------------------------------------------------ property-based

_ALPHABET = list("东南西北至到路河江溪铁高速国道省线侧岸以一二两半公里米处等约、,，;；。()（）【】 和及0123456789GSm") + ["大道", "km"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40).map("".join))
def test_random_sizhi_like_text_only_raises_parse_errors(text):
    try:
        spec = parse_sizhi(text)
    except SizhiParseError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(text)
        return
    assert isinstance(spec, BoundarySpec) and spec.sides
    for side, f in spec.features():
        assert f.name and 0 <= f.start < f.end <= len(text)
        assert f.offset_m is None or f.offset_m > 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_unicode_only_raises_parse_errors(text):
    for fn in (parse_sizhi, parse_implementation_scope):
        try:
            fn(text)
        except SizhiParseError:
            pass


_NAMES = st.sampled_from(["创业路", "景德路", "水阳江西大道", "无量溪河", "芜杭铁路", "318国道", "G50高速", "经四路"])
_QUALS = st.sampled_from(["", "西侧", "以北一公里处", "以南500米", "(G50高速以北)", "(北段)"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["东", "南", "西", "北"]), st.lists(st.tuples(_NAMES, _QUALS), min_size=1, max_size=3)),
                min_size=1, max_size=4, unique_by=lambda t: t[0]),
       st.sampled_from([",", "，", ";"]))
def test_generated_sizhi_round_trips(sides, sep):
    text = sep.join(f"{d}至" + "、".join(n + q for n, q in feats) for d, feats in sides)
    spec = parse_sizhi(text)
    assert [s.label for s in spec.sides] == [d for d, _ in sides]
    assert [[f.name for f in s.features] for s in spec.sides] == [[n for n, _ in feats] for _, feats in sides]


_SCOPE_TOKENS = ["甲区", "乙区", "区块", "总面积", "包括", "和", "(", ")", "平方公里", "以下简称", "个区块", "实施范围为",
                 "主园区", "西区", "东至", "南至", "西至", "北至", "创业路", "、", ",", "。", "十", "一", "两", "点", "3.5", "2"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_SCOPE_TOKENS), max_size=40).map("".join))
def test_random_scope_like_text_only_raises_parse_errors(text):
    try:
        scope = parse_implementation_scope(text)
    except SizhiParseError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(text)
        return
    assert scope.parts and all(p.sizhi is not None and p.sizhi.sides for p in scope.parts)


def test_bundled_spec_agrees_with_the_source_paragraph(plan_paragraph):
    from dataclasses import replace

    from xclz_geo.boundaries.sizhi import compare_scope_with_spec
    from xclz_geo.boundaries.zone import load_spec

    spec = load_spec()
    scope = parse_implementation_scope(plan_paragraph)
    res = compare_scope_with_spec(scope, spec)
    assert [(r["part_id"], r["paragraph_part"], r["ok"]) for r in res] == [
        ("xuancheng", "宣城经开区", True), ("guangde_main", "主园区", True), ("guangde_west", "西区", True)]
    # a spec with a typo in a 四至 and a wrong area is caught
    bad_parts = (replace(spec.parts[0], sizhi_zh=spec.parts[0].sizhi_zh.replace("创业路", "创新路")),
                 replace(spec.parts[1], official_area_km2=26.3), spec.parts[2])
    res = compare_scope_with_spec(scope, replace(spec, parts=bad_parts))
    assert [r["ok"] for r in res] == [False, False, True]
    assert "创新路" in res[0]["differences"][0] and "26.3" in res[1]["differences"][0]


def test_heading_and_bracketed_route_number():
    spec = parse_sizhi("四至范围:东至沪渝高速公路(G50),南至某路")
    f = spec.side("E").features[0]
    assert (f.name, f.ref, f.kind) == ("沪渝高速公路", "G50", "road")
    assert parse_sizhi("该地块四至为东至某路").directions == ("E",)
    with pytest.raises(SizhiParseError, match="brackets say"):
        parse_sizhi("东至318国道(G205)")
    with pytest.raises(SizhiParseError, match="no side after"):
        parse_sizhi("四至为:")


def test_unreadable_qualifier_is_an_error_not_a_name():
    with pytest.raises(SizhiParseError, match="qualifier") as ei:
        parse_sizhi("北至奇秀路以北100米至200米")
    assert ei.value.offset == 5


@pytest.mark.parametrize("distance,shown", [("以东99999999999999999999999公里", "1e+23 km"), ("以东" + "9" * 600 + "米", "1e+308 km"),
                                            ("以东101公里", "101 km"), ("以东二百公里", "200 km")])
def test_offset_beyond_100_km_is_refused_with_a_short_number(distance, shown):
    with pytest.raises(SizhiParseError, match="beyond 100 km") as info:
        parse_sizhi(f"东至经四路{distance},南至外环路,西至祥花线,北至318国道")
    msg = str(info.value)
    assert shown in msg and len(msg) < 200 and info.value.offset == 7  # where the number starts
