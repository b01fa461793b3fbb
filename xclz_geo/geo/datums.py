"""Datum tags and the GCJ-02/BD-09 transforms (numpy only: no pyproj, cheap to import).

``wgs84``, ``cgcs2000``, ``gcj02`` (Amap/Gaode, Tencent) and ``bd09`` (Baidu). CGCS2000 and WGS84
differ by centimetres here and are treated as one. GCJ-02 and BD-09 are not CRSs (PROJ does not
know them): they are obfuscations applied to WGS84 lon/lat. Conversions to them are closed-form;
the inverse conversions are exact iterative inverses. Points outside China are refused for
GCJ-02/BD-09 conversion. :mod:`xclz_geo.geo.crs` re-exports every name of this module; it lives
apart so that the one-site path of ``xclz-geo locate`` never imports pyproj.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xclz_geo.errors import DatumError

#: datum tags understood everywhere a ``datum=`` option exists
DATUMS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_DATUM_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "wgs 84": "wgs84", "epsg:4326": "wgs84", "gps": "wgs84",
    "cgcs2000": "cgcs2000", "cgcs-2000": "cgcs2000", "epsg:4490": "cgcs2000",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02", "高德": "gcj02",
    "mars": "gcj02", "tencent": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09", "baidu": "bd09", "百度": "bd09",
}

# Krasovsky 1940 constants used by the GCJ-02 algorithm
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

#: the rectangle the published GCJ-02 algorithm treats as China (lon_min, lat_min, lon_max, lat_max)
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)


def normalize_datum(datum: str) -> str:
    """Canonical datum tag (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``) for a name or alias.

    Raises
    ------
    DatumError
        For an unknown tag (the message lists the known ones).
    """
    key = _DATUM_ALIASES.get(str(datum).strip().lower()) if datum is not None else None
    if key is None:
        raise DatumError(
            f"unknown datum {datum!r}; use one of wgs84, cgcs2000, gcj02 (Amap/Gaode), bd09 (Baidu), "
            "or give --crs EPSG:… for projected coordinates"
        )
    return key


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """Boolean array: inside the rectangle the GCJ-02 algorithm treats as China."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= CHINA_BBOX[0]) & (lon <= CHINA_BBOX[2]) & (lat >= CHINA_BBOX[1]) & (lat <= CHINA_BBOX[3])


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _check_china(lon: np.ndarray, lat: np.ndarray, datum: str) -> None:
    finite = np.isfinite(lon) & np.isfinite(lat)
    bad = finite & ~in_china(lon, lat)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatumError(
            f"{int(bad.sum())} point(s) lie outside China (first: index {i}, lon {lon[i]:.6f}, "
            f"lat {lat[i]:.6f}); {datum} coordinates exist only inside China, so they cannot be converted. "
            "Check the datum tag and whether x and y are swapped."
        )


def _max_abs_finite(*arrays: np.ndarray) -> float:
    """Largest finite |value| of the arrays (0 when there is none: NaN input never blocks convergence)."""
    best = 0.0
    for a in arrays:
        a = np.abs(a)
        a = a[np.isfinite(a)]
        if a.size:
            best = max(best, float(a.max()))
    return best


def _arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    return np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float)), scalar


def _ret(x: np.ndarray, y: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x[0]), float(y[0])
    return x, y


def wgs84_to_gcj02(lon: Any, lat: Any, *, check: bool = True) -> tuple[Any, Any]:
    """WGS84 → GCJ-02 (closed form). Refuses points outside China unless ``check=False``."""
    x, y, scalar = _arrays(lon, lat)
    if check:
        _check_china(x, y, "gcj02")
    dx, dy = _gcj_delta(x, y)
    return _ret(x + dx, y + dy, scalar)


def gcj02_to_wgs84(lon: Any, lat: Any, *, check: bool = True, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[Any, Any]:
    """GCJ-02 → WGS84, exact iterative inverse (fixed point on the forward transform).

    Converges to ``tol_deg`` (1e-10° ≈ 0.01 mm) in a few iterations everywhere in China.
    """
    gx, gy, scalar = _arrays(lon, lat)
    if check:
        _check_china(gx, gy, "gcj02")
    dx, dy = _gcj_delta(gx, gy)
    wx, wy = gx - dx, gy - dy
    for _ in range(max_iter):
        fx, fy = _gcj_delta(wx, wy)
        ex = (wx + fx) - gx
        ey = (wy + fy) - gy
        wx = wx - ex
        wy = wy - ey
        err = _max_abs_finite(ex, ey)
        if err < tol_deg:
            break
    return _ret(wx, wy, scalar)


def gcj02_to_bd09(lon: Any, lat: Any, *, check: bool = True) -> tuple[Any, Any]:
    """GCJ-02 → BD-09 (closed form)."""
    x, y, scalar = _arrays(lon, lat)
    if check:
        _check_china(x, y, "bd09")
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _ret(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def bd09_to_gcj02(lon: Any, lat: Any, *, check: bool = True, tol_deg: float = 1e-10, max_iter: int = 30) -> tuple[Any, Any]:
    """BD-09 → GCJ-02, exact iterative inverse of :func:`gcj02_to_bd09`."""
    bx, by, scalar = _arrays(lon, lat)
    if check:
        _check_china(bx, by, "bd09")
    # closed-form approximation as the start
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        fx, fy = gcj02_to_bd09(gx, gy, check=False)
        ex, ey = np.asarray(fx) - bx, np.asarray(fy) - by
        gx, gy = gx - ex, gy - ey
        err = _max_abs_finite(np.atleast_1d(ex), np.atleast_1d(ey))
        if err < tol_deg:
            break
    return _ret(gx, gy, scalar)


def wgs84_to_bd09(lon: Any, lat: Any, *, check: bool = True) -> tuple[Any, Any]:
    """WGS84 → BD-09 (through GCJ-02)."""
    gx, gy = wgs84_to_gcj02(lon, lat, check=check)
    return gcj02_to_bd09(gx, gy, check=False)


def bd09_to_wgs84(lon: Any, lat: Any, *, check: bool = True) -> tuple[Any, Any]:
    """BD-09 → WGS84 (exact inverses through GCJ-02)."""
    gx, gy = bd09_to_gcj02(lon, lat, check=check)
    return gcj02_to_wgs84(gx, gy, check=False)


def convert_datum(lon: Any, lat: Any, *, from_datum: str, to_datum: str, check: bool = True) -> tuple[Any, Any]:
    """Convert lon/lat between ``wgs84``/``cgcs2000``, ``gcj02`` and ``bd09``.

    ``cgcs2000`` is treated as ``wgs84`` (they differ by centimetres in China).
    Arrays are converted in one vectorised pass. Points outside China raise
    :class:`DatumError` when GCJ-02 or BD-09 is involved (``check=True``).
    """
    src = normalize_datum(from_datum)
    dst = normalize_datum(to_datum)
    src = "wgs84" if src == "cgcs2000" else src
    dst = "wgs84" if dst == "cgcs2000" else dst
    if src == dst:
        x, y, scalar = _arrays(lon, lat)
        return _ret(x.copy(), y.copy(), scalar)
    table = {
        ("wgs84", "gcj02"): wgs84_to_gcj02,
        ("gcj02", "wgs84"): gcj02_to_wgs84,
        ("gcj02", "bd09"): gcj02_to_bd09,
        ("bd09", "gcj02"): bd09_to_gcj02,
        ("wgs84", "bd09"): wgs84_to_bd09,
        ("bd09", "wgs84"): bd09_to_wgs84,
    }
    return table[(src, dst)](lon, lat, check=check)


def convert_geometry_datum(geom: Any, *, from_datum: str, to_datum: str) -> Any:
    """Convert every vertex of a shapely geometry (or array of them) between datums."""
    import shapely

    def _f(xy: np.ndarray) -> np.ndarray:
        if xy.size == 0:
            return xy
        x, y = convert_datum(xy[:, 0], xy[:, 1], from_datum=from_datum, to_datum=to_datum)
        return np.column_stack([x, y])

    return shapely.transform(geom, _f)
