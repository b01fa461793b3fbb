"""The numpy Transverse Mercator forward (xclz_geo.geo.tm) against pyproj."""

from __future__ import annotations

import numpy as np
import pytest

from xclz_geo.geo.crs import transformer
from xclz_geo.geo.tm import gk_parameters, tm_forward


@pytest.mark.parametrize("epsg", [4549, 4528, 4548, 4534, 4554])
def test_tm_forward_matches_pyproj_to_a_millimetre_over_the_zone(epsg):
    gkp = gk_parameters(epsg)
    assert gkp is not None
    cm = gkp["central_meridian_deg"]
    rng = np.random.default_rng(epsg)
    # the whole 3° zone (and a little beyond its edges), all of China's latitudes
    lon = rng.uniform(cm - 1.7, cm + 1.7, 50_000)
    lat = rng.uniform(15.0, 54.0, 50_000)
    x, y = transformer("EPSG:4490", f"EPSG:{epsg}").transform(lon, lat)
    ex, ey = tm_forward(lon, lat, **gkp)
    assert np.abs(ex - x).max() < 1e-3
    assert np.abs(ey - y).max() < 1e-3


def test_tm_forward_central_meridian_and_scalars():
    x, y = tm_forward(120.0, 0.0, central_meridian_deg=120.0)
    assert float(x) == pytest.approx(500_000.0, abs=1e-9)
    assert float(y) == pytest.approx(0.0, abs=1e-9)
    # one degree of latitude on the central meridian at 31°N: the meridian arc, ~110.9 km
    _, y30 = tm_forward(120.0, 30.5, central_meridian_deg=120.0)
    _, y31 = tm_forward(120.0, 31.5, central_meridian_deg=120.0)
    assert 110_800 < float(y31 - y30) < 111_000


def test_gk_parameters_refuses_other_crs():
    assert gk_parameters(4326) is None
    assert gk_parameters(3857) is None
    assert gk_parameters(4528) == {"central_meridian_deg": 120.0, "false_easting_m": 40_500_000.0}
