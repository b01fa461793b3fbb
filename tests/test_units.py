from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from xclz_geo import units
from xclz_geo.errors import InputDataError, XclzGeoError


def test_mu_is_exactly_ten_thousand_fifteenths_m2():
    assert units.EXACT_M2_PER_MU == Fraction(2000, 3)
    assert units.mu_to_m2(15.0) == pytest.approx(10000.0, abs=1e-9)
    assert units.m2_to_mu(10000.0) == 15.0


def test_exact_relations():
    assert units.km2_to_mu(1.0) == 1500.0
    assert units.ha_to_mu(1.0) == 15.0
    assert units.mu_to_ha(15.0) == 1.0
    assert units.m2_to_km2(1_000_000.0) == 1.0
    assert units.km2_to_m2(59.78) == pytest.approx(59_780_000.0)
    assert units.m2_to_ha(1_000_000.0) == 100.0
    # the plan's figures in 亩
    assert units.km2_to_mu(29.8) == pytest.approx(44_700.0)
    assert units.km2_to_mu(59.78) == pytest.approx(89_670.0)


def test_arrays_and_round_trips():
    a = np.array([0.0, 1.0, 666.6666666666666, 1e6])
    assert np.allclose(units.mu_to_m2(units.m2_to_mu(a)), a)
    assert np.allclose(units.convert_area(a, from_unit="m2", to_unit="亩"), a * 15 / 10000)


@pytest.mark.parametrize(
    "src,dst,value,expected",
    [("km2", "mu", 2.0, 3000.0), ("公顷", "亩", 2.0, 30.0), ("亩", "m²", 3.0, 2000.0), ("平方公里", "ha", 1.0, 100.0)],
)
def test_convert_area_names(src, dst, value, expected):
    assert units.convert_area(value, from_unit=src, to_unit=dst) == pytest.approx(expected)


def test_unknown_unit_is_clear_error():
    with pytest.raises(InputDataError, match="unknown area unit 'acre'"):
        units.convert_area(1.0, from_unit="acre", to_unit="mu")
    with pytest.raises(XclzGeoError):
        units.unit_key("")


def test_area_triplet():
    t = units.area_triplet(2_000_000.0)
    assert t == {"area_m2": 2e6, "area_ha": 200.0, "area_mu": 3000.0, "area_km2": 2.0}
