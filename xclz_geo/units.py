"""Area units used in Chinese planning: m², 公顷 (hectare), 亩 (mu) and km².

All factors are exact:

* 1 亩 = 10000/15 m² = 666.666… m² (the 市亩)
* 1 公顷 = 10 000 m² = 15 亩
* 1 km² = 1 000 000 m² = 100 公顷 = 1 500 亩

Functions accept floats or numpy arrays and return the same kind.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TypeVar

import numpy as np

Number = TypeVar("Number", float, np.ndarray)

#: square metres in one 亩, exactly 10000/15
M2_PER_MU: float = 10000.0 / 15.0
#: square metres in one 公顷 (hectare)
M2_PER_HA: float = 10_000.0
#: square metres in one km²
M2_PER_KM2: float = 1_000_000.0
#: 亩 per 公顷, exactly
MU_PER_HA: int = 15
#: 亩 per km², exactly
MU_PER_KM2: int = 1500

#: exact rational factors (for tests and documentation)
EXACT_M2_PER_MU = Fraction(10000, 15)

_TO_M2 = {
    "m2": 1.0,
    "ha": M2_PER_HA,
    "mu": M2_PER_MU,
    "km2": M2_PER_KM2,
}
_ALIASES = {
    "m2": "m2", "m²": "m2", "sqm": "m2", "平方米": "m2",
    "ha": "ha", "hectare": "ha", "公顷": "ha",
    "mu": "mu", "亩": "mu",
    "km2": "km2", "km²": "km2", "平方公里": "km2", "平方千米": "km2",
}


def unit_key(unit: str) -> str:
    """Return the canonical key (``m2``, ``ha``, ``mu``, ``km2``) of a unit name.

    Parameters
    ----------
    unit
        A unit name in English or Chinese (``"亩"``, ``"公顷"``, ``"km²"`` …).

    Raises
    ------
    ValueError
        For a unit this module does not know.
    """
    key = _ALIASES.get(unit.strip().lower()) if isinstance(unit, str) else None
    if key is None:
        from xclz_geo.errors import InputDataError

        raise InputDataError(
            f"unknown area unit {unit!r}; use one of m2, ha (公顷), mu (亩), km2 (平方公里)"
        )
    return key


def convert_area(value: Number, *, from_unit: str, to_unit: str) -> Number:
    """Convert an area between m², 公顷, 亩 and km².

    Parameters
    ----------
    value
        Area (float or array).
    from_unit, to_unit
        Unit names accepted by :func:`unit_key`.
    """
    return value * (_TO_M2[unit_key(from_unit)] / _TO_M2[unit_key(to_unit)])


def m2_to_mu(area_m2: Number) -> Number:
    """Square metres → 亩 (× 15/10000)."""
    return area_m2 * 15.0 / 10000.0


def mu_to_m2(area_mu: Number) -> Number:
    """亩 → square metres (× 10000/15)."""
    return area_mu * 10000.0 / 15.0


def m2_to_ha(area_m2: Number) -> Number:
    """Square metres → 公顷."""
    return area_m2 / M2_PER_HA


def ha_to_m2(area_ha: Number) -> Number:
    """公顷 → square metres."""
    return area_ha * M2_PER_HA


def m2_to_km2(area_m2: Number) -> Number:
    """Square metres → km²."""
    return area_m2 / M2_PER_KM2


def km2_to_m2(area_km2: Number) -> Number:
    """km² → square metres."""
    return area_km2 * M2_PER_KM2


def km2_to_mu(area_km2: Number) -> Number:
    """km² → 亩 (× 1500)."""
    return area_km2 * MU_PER_KM2


def mu_to_km2(area_mu: Number) -> Number:
    """亩 → km² (÷ 1500)."""
    return area_mu / MU_PER_KM2


def ha_to_mu(area_ha: Number) -> Number:
    """公顷 → 亩 (× 15)."""
    return area_ha * MU_PER_HA


def mu_to_ha(area_mu: Number) -> Number:
    """亩 → 公顷 (÷ 15)."""
    return area_mu / MU_PER_HA


def area_triplet(area_m2: float) -> dict[str, float]:
    """Return one area in m², 公顷, 亩 and km² as a dict (``area_m2``, ``area_ha``, ``area_mu``, ``area_km2``)."""
    return {
        "area_m2": float(area_m2),
        "area_ha": float(m2_to_ha(area_m2)),
        "area_mu": float(m2_to_mu(area_m2)),
        "area_km2": float(m2_to_km2(area_m2)),
    }


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "Number", "M2_PER_MU", "M2_PER_HA", "M2_PER_KM2", "MU_PER_HA", "MU_PER_KM2", "EXACT_M2_PER_MU", "unit_key",
    "convert_area", "m2_to_mu", "mu_to_m2", "m2_to_ha", "ha_to_m2", "m2_to_km2", "km2_to_m2", "km2_to_mu",
    "mu_to_km2", "ha_to_mu", "mu_to_ha", "area_triplet"
]
