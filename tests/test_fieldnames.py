"""Tests of :mod:`xclz_geo.fieldnames`: the alias table, truncated .dbf names, ``--field``."""

from __future__ import annotations

import pytest

from xclz_geo.errors import InputDataError
from xclz_geo.fieldnames import (
    FIELD_NAMES,
    gbk_bytes,
    norm,
    parse_field_args,
    truncated_match,
    use_field_map,
    active_field_map,
    check_field_names,
)


def test_every_short_alias_fits_a_dbf_field_name():
    for f in FIELD_NAMES:
        assert f.short, (f.context, f.key)
        for s in f.short:
            assert gbk_bytes(s) <= 10, (f.key, s)
    keys = {(f.context, f.key) for f in FIELD_NAMES}
    assert ("parcels", "footprint_m2") in keys and ("parcels", "investment_wan") in keys
    short = {f.key: f.short for f in FIELD_NAMES if f.context == "parcels"}
    assert {"JZJDMJ", "基底面积"} <= set(short["footprint_m2"]) and {"GDZCTZ", "固定投资"} <= set(short["investment_wan"])


def test_truncated_match_needs_8_bytes_and_one_key():
    known = {norm("建筑基底面积"): "footprint_m2", norm("建筑系数用地面积"): "coverage_m2", norm("固定资产投资"): "investment_wan",
             norm("建筑面积"): "floor_area_m2"}
    assert truncated_match("建筑基底面", known) == ("footprint_m2", "建筑基底面积")
    assert truncated_match("固定资产投", known) == ("investment_wan", "固定资产投资")
    assert truncated_match("建筑", known) is None  # 4 bytes: too short to tell
    assert truncated_match("建筑基底面积", known) is None  # not shorter: exact names are not fuzzy
    both = dict(known, **{norm("建筑基底面宽"): "other"})
    assert truncated_match("建筑基底面", both) is None  # ambiguous


def test_parse_field_args_and_context():
    assert parse_field_args(["建筑基底面积=JD 2023", " 实缴税金 = TAX "]) == {"建筑基底面积": "JD 2023", "实缴税金": "TAX"}
    for bad in (["建筑基底面积"], ["=X"], ["a="]):
        with pytest.raises(InputDataError, match="NAME=COLUMN"):
            parse_field_args(bad)
    with pytest.raises(InputDataError, match="given twice"):
        parse_field_args(["税收=A", "税收=B"])
    with pytest.raises(InputDataError, match="not a field this command uses"):
        check_field_names({"建筑基底面积": "X"}, ("efficiency",))
    check_field_names({"JZJDMJ": "X", "建筑基底面积": "Y"}, ("parcels",))
    with use_field_map({"a": "b"}):
        assert active_field_map() == {"a": "b"}
    assert active_field_map() == {}
