"""Coordinate reference systems and datums for Chinese data.

Two concerns live here:

**CGCS2000 3° Gauss-Krüger zones.** All metric work (areas, offsets, distances,
tolerances) runs in the CGCS2000 3-degree Gauss-Krüger zone of the data. Zone
``n`` has its central meridian at ``3n`` °E and covers ``3n − 1.5`` to
``3n + 1.5`` °E; the west edge belongs to the zone (``n = floor((lon + 1.5) / 3)``).
Its EPSG code is ``4534 + n − 25`` (EPSG:4534 = CM 75°E … EPSG:4554 = CM 135°E),
and the twin whose eastings carry the zone number as a prefix
(e.g. ``40 512 345.67`` m) is ``4513 + n − 25`` (EPSG:4513 … EPSG:4533). Both
blocks of the Xuancheng zone lie in zone 40 (CM 120°E): EPSG:4549, twin EPSG:4528.

**Datum tags.** ``wgs84``, ``cgcs2000``, ``gcj02`` (Amap/Gaode, Tencent) and
``bd09`` (Baidu). CGCS2000 and WGS84 differ by centimetres here and are treated
as one. GCJ-02 and BD-09 are not CRSs (PROJ does not know them): they are
obfuscations applied to WGS84 lon/lat. Conversions to them are closed-form; the
inverse conversions are exact iterative inverses (round trip below 1 mm after
convergence, far below the 0.5 m target). Points outside China are refused for
GCJ-02/BD-09 conversion: the published algorithm leaves them unshifted, so
converting them would silently give wrong answers.

Areas are never computed in degrees or Web Mercator: :func:`require_metric_crs`
refuses both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from pyproj import CRS, Geod, Transformer

from xclz_geo.errors import CRSError, CRSMismatchError, DatumError

#: CGCS2000 geographic (lon/lat) — the CRS bundled data is stored in
CGCS2000_GEOGRAPHIC = "EPSG:4490"
#: WGS84 geographic
WGS84 = "EPSG:4326"
#: the GK zone of both Xuancheng blocks (CM 120°E)
XUANCHENG_GK_EPSG = 4549

GK_FIRST_ZONE = 25  # CM 75°E
GK_LAST_ZONE = 45  # CM 135°E
_GK_BASE = 4534  # EPSG of zone 25, no prefix
_GK_PREFIXED_BASE = 4513  # EPSG of zone 25, zone-prefixed eastings

#: EPSG codes of Web Mercator variants, refused for measurement
WEB_MERCATOR_EPSG = frozenset({3857, 3785, 900913, 102100, 102113, 3395})

#: the GRS80 ellipsoid of CGCS2000 (equal to WGS84's to 6e-10 in flattening)
GEOD = Geod(ellps="GRS80")


# ------------------------------------------------------------------ GK zones


@dataclass(frozen=True)
class GKZone:
    """A CGCS2000 3° Gauss-Krüger zone.

    Attributes
    ----------
    zone
        Zone number ``n`` (25–45); central meridian ``3n`` °E.
    central_meridian
        Central meridian in degrees east.
    epsg
        EPSG code of this CRS (prefixed or not, as ``prefixed`` says).
    prefixed
        True when eastings carry the zone number (EPSG:4513–4533).
    """

    zone: int
    central_meridian: int
    epsg: int
    prefixed: bool

    @property
    def crs(self) -> CRS:
        """The pyproj CRS."""
        return _crs_from_epsg(self.epsg)

    @property
    def plain_epsg(self) -> int:
        """EPSG code of the twin without the zone prefix (4534–4554)."""
        return _GK_BASE + self.zone - GK_FIRST_ZONE

    @property
    def prefixed_epsg(self) -> int:
        """EPSG code of the zone-prefixed twin (4513–4533)."""
        return _GK_PREFIXED_BASE + self.zone - GK_FIRST_ZONE

    def label(self) -> str:
        """Human-readable label, e.g. ``"CGCS2000 3° GK zone 40 (CM 120°E), EPSG:4549"``."""
        kind = ", zone-prefixed eastings" if self.prefixed else ""
        return f"CGCS2000 3° GK zone {self.zone} (CM {self.central_meridian}°E{kind}), EPSG:{self.epsg}"


def gk_zone_number(lon: float) -> int:
    """Return the 3° Gauss-Krüger zone number for a longitude.

    ``n = floor((lon + 1.5) / 3)``: zone 40 covers 118.5 ≤ lon < 121.5.

    Raises
    ------
    CRSError
        When the longitude is outside the CGCS2000 3° zones (73.5°E–136.5°E) or not finite.
    """
    if not math.isfinite(lon):
        raise CRSError(f"longitude {lon!r} is not a finite number")
    n = math.floor((lon + 1.5) / 3.0)
    if not GK_FIRST_ZONE <= n <= GK_LAST_ZONE:
        raise CRSError(
            f"longitude {lon:.6f} is outside the CGCS2000 3° Gauss-Krüger zones "
            f"(73.5°E to 136.5°E); is this lon/lat in China, and are x and y swapped?"
        )
    return n


def gk_zone_for_lon(lon: float, *, zone_prefixed: bool = False) -> GKZone:
    """Return the :class:`GKZone` (EPSG:4534–4554, or the prefixed twin) for a longitude."""
    n = gk_zone_number(lon)
    base = _GK_PREFIXED_BASE if zone_prefixed else _GK_BASE
    return GKZone(zone=n, central_meridian=3 * n, epsg=base + n - GK_FIRST_ZONE, prefixed=zone_prefixed)


def gk_epsg(lon: float, *, zone_prefixed: bool = False) -> int:
    """EPSG code of the CGCS2000 3° GK zone for a longitude."""
    return gk_zone_for_lon(lon, zone_prefixed=zone_prefixed).epsg


def gk_zone_of_crs(crs: Any) -> GKZone | None:
    """Recognise a CGCS2000 3° GK CRS (EPSG:4513–4554); ``None`` for anything else."""
    try:
        epsg = to_crs(crs).to_epsg()
    except CRSError:
        return None
    if epsg is None:
        return None
    if _GK_BASE <= epsg <= _GK_BASE + GK_LAST_ZONE - GK_FIRST_ZONE:
        n = epsg - _GK_BASE + GK_FIRST_ZONE
        return GKZone(zone=n, central_meridian=3 * n, epsg=epsg, prefixed=False)
    if _GK_PREFIXED_BASE <= epsg <= _GK_PREFIXED_BASE + GK_LAST_ZONE - GK_FIRST_ZONE:
        n = epsg - _GK_PREFIXED_BASE + GK_FIRST_ZONE
        return GKZone(zone=n, central_meridian=3 * n, epsg=epsg, prefixed=True)
    return None


def gk_zone_from_prefixed_easting(easting_m: float) -> GKZone:
    """Recognise a zone-prefixed easting (e.g. 40 512 345.67 m → zone 40, EPSG:4528).

    Raises
    ------
    CRSError
        When the leading digits are not a CGCS2000 3° zone number (25–45).
    """
    n = int(easting_m // 1_000_000)
    rest = easting_m - n * 1_000_000
    if not (GK_FIRST_ZONE <= n <= GK_LAST_ZONE) or not (0 < rest < 1_000_000):
        raise CRSError(
            f"easting {easting_m:.2f} m does not start with a CGCS2000 3° zone number (25–45)"
        )
    return GKZone(zone=n, central_meridian=3 * n, epsg=_GK_PREFIXED_BASE + n - GK_FIRST_ZONE, prefixed=True)


# ------------------------------------------------------------------ CRS helpers


@lru_cache(maxsize=256)
def _crs_from_epsg(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


def to_crs(crs: Any) -> CRS:
    """Coerce ``"EPSG:4549"``, ``4549``, a WKT string or a pyproj CRS into a pyproj :class:`CRS`.

    Raises
    ------
    CRSError
        When the value is ``None`` or not a CRS pyproj knows.
    """
    if crs is None:
        raise CRSError("no CRS given; the data must declare its CRS (e.g. EPSG:4490 or EPSG:4549)")
    if isinstance(crs, CRS):
        return crs
    if isinstance(crs, (int, np.integer)):
        return _crs_from_epsg(int(crs))
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError of its own
        raise CRSError(f"unknown CRS {crs!r}: {exc}") from None


def is_web_mercator(crs: Any) -> bool:
    """True for Web Mercator and its aliases (EPSG:3857, 900913, 102100 …) or a Mercator projection."""
    c = to_crs(crs)
    epsg = c.to_epsg()
    if epsg in WEB_MERCATOR_EPSG:
        return True
    method = ""
    try:
        method = (c.coordinate_operation.method_name or "").lower() if c.coordinate_operation else ""
    except Exception:
        method = ""
    return "mercator" in method and "transverse" not in method


def require_metric_crs(crs: Any, *, purpose: str = "measure area") -> CRS:
    """Return ``crs`` if it is a projected, non-Mercator CRS in metres; raise otherwise.

    Parameters
    ----------
    crs
        Anything :func:`to_crs` accepts.
    purpose
        What the CRS is needed for, used in the message.

    Raises
    ------
    CRSError
        For a missing CRS, a geographic CRS (degrees) or Web Mercator.
    """
    c = to_crs(crs)
    if c.is_geographic:
        raise CRSError(
            f"refusing to {purpose} in a geographic CRS ({c.name}, degrees); "
            "project to the CGCS2000 3° Gauss-Krüger zone first (xclz_geo.geo.crs.gk_crs_for)"
        )
    if is_web_mercator(c):
        raise CRSError(
            f"refusing to {purpose} in Web Mercator ({c.name}): its scale error is about "
            f"{1 / math.cos(math.radians(31)) ** 2:.2f}× in area at 31°N; use the CGCS2000 Gauss-Krüger zone"
        )
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if unit not in ("metre", "meter", "m"):
        raise CRSError(f"refusing to {purpose} in {c.name}: its unit is {unit!r}, not metres")
    return c


@lru_cache(maxsize=128)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


def transformer(src: Any, dst: Any) -> Transformer:
    """A cached, ``always_xy`` pyproj Transformer (the first one costs ~130 ms; reuse it).

    Between WGS84 lon/lat and a CRS on the CGCS2000 datum (EPSG:4490, the Gauss-Krüger zones) PROJ knows no
    transformation and, after searching its database for one (60–90 ms per pair), uses a null "ballpark"
    offset: the operation is the same as from CGCS2000 lon/lat. That one is built directly here (under a
    millisecond), so the coordinates are the same to the last bit (``tests/test_crs.py`` checks it against
    ``Transformer.from_crs`` and that PROJ still chooses the ballpark offset).
    """
    s, d = _cgcs2000_for_wgs84(to_crs(src), to_crs(dst))
    return _transformer(s.to_wkt(), d.to_wkt())


def _cgcs2000_for_wgs84(src: CRS, dst: CRS) -> tuple[CRS, CRS]:
    """``(src, dst)`` with WGS84 lon/lat replaced by CGCS2000 lon/lat when the other side is on CGCS2000.

    Only an exact EPSG:4326 (either axis order) is replaced, and only against a CRS whose geodetic CRS is
    CGCS2000: PROJ's operation between the two is a null offset (see :func:`transformer`)."""
    if _is_wgs84_lonlat(src) and _on_cgcs2000(dst):
        return _crs_from_epsg(4490), dst
    if _is_wgs84_lonlat(dst) and _on_cgcs2000(src):
        return src, _crs_from_epsg(4490)
    return src, dst


def _is_wgs84_lonlat(c: CRS) -> bool:
    return c.is_geographic and not c.is_vertical and len(c.axis_info) == 2 and same_crs(c, _crs_from_epsg(4326))


def _on_cgcs2000(c: CRS) -> bool:
    g = c.geodetic_crs
    return g is not None and len(g.axis_info) == 2 and same_crs(g, _crs_from_epsg(4490)) and (
        c.is_geographic and len(c.axis_info) == 2 or c.is_projected)


def reproject_frame(gdf: Any, dst: Any) -> Any:
    """``gdf.to_crs(dst)`` through :func:`transformer` (the same coordinates, without PROJ's search for an
    operation on every new pair of CRSs — 60–90 ms each between WGS84 and CGCS2000).

    Parameters
    ----------
    gdf
        A GeoDataFrame with a CRS.
    dst
        Anything :func:`to_crs` accepts.

    Returns
    -------
    GeoDataFrame
        A copy in ``dst``, as :meth:`geopandas.GeoDataFrame.to_crs` returns it (3D geometries are handed to it).

    Raises
    ------
    CRSError
        When ``gdf`` has no CRS.
    """
    import shapely

    if gdf.crs is None:
        raise CRSError("the layer has no CRS; set it (e.g. gdf.set_crs('EPSG:4490')) before reprojecting")
    c = to_crs(dst)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if gdf.crs.is_exact_same(c) or shapely.has_z(geoms).any():
        return gdf.to_crs(c)
    tr = transformer(gdf.crs, c)

    def _xy(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    from geopandas import GeoSeries

    out = gdf.copy()
    out.geometry = GeoSeries(shapely.transform(geoms, _xy), index=gdf.index, crs=c, name=gdf.geometry.name)
    return out


def _lon_of_centre(obj: Any, crs: Any | None) -> float:
    """Longitude of the centre of a geometry-bearing object's bounds."""
    bounds = None
    if hasattr(obj, "total_bounds"):
        bounds = obj.total_bounds
        crs = crs if crs is not None else getattr(obj, "crs", None)
    elif hasattr(obj, "bounds"):
        bounds = obj.bounds
    elif isinstance(obj, (tuple, list, np.ndarray)) and len(obj) == 4:
        bounds = obj
    if bounds is None:
        raise CRSError("cannot find the extent of the data to choose a Gauss-Krüger zone")
    c = to_crs(crs if crs is not None else CGCS2000_GEOGRAPHIC)
    x = (float(bounds[0]) + float(bounds[2])) / 2.0
    y = (float(bounds[1]) + float(bounds[3])) / 2.0
    if not (math.isfinite(x) and math.isfinite(y)):
        raise CRSError("the data has no finite extent (empty geometry?); cannot choose a Gauss-Krüger zone")
    if c.is_geographic:
        return x
    lon, _ = transformer(c, CGCS2000_GEOGRAPHIC).transform(x, y)
    return float(lon)


def gk_crs_for(obj: Any, *, crs: Any | None = None, zone_prefixed: bool = False) -> CRS:
    """Choose the CGCS2000 3° GK CRS for data, from the longitude of its centre.

    Parameters
    ----------
    obj
        A GeoDataFrame/GeoSeries (its ``crs`` is used), a shapely geometry, or bounds
        ``(minx, miny, maxx, maxy)``.
    crs
        CRS of ``obj`` when it does not carry one (default: CGCS2000 geographic).
    zone_prefixed
        Return the zone-prefixed twin instead.
    """
    c = crs if crs is not None else getattr(obj, "crs", None)
    gk = gk_zone_of_crs(c) if c is not None else None
    if gk is not None and gk.prefixed == zone_prefixed:
        return gk.crs
    return gk_zone_for_lon(_lon_of_centre(obj, c), zone_prefixed=zone_prefixed).crs


def same_crs(a: Any, b: Any) -> bool:
    """True when two CRSs are equivalent (pyproj equality, ignoring axis order)."""
    ca, cb = to_crs(a), to_crs(b)
    return ca == cb or ca.equals(cb, ignore_axis_order=True)


def ensure_same_crs(*objs: Any, names: tuple[str, ...] | None = None) -> CRS:
    """Return the common CRS of several GeoDataFrames/GeoSeries; raise if any differ or is missing.

    Raises
    ------
    CRSMismatchError
        When the CRSs differ (the message names both).
    CRSError
        When one has no CRS.
    """
    labels = names or tuple(f"input {i + 1}" for i in range(len(objs)))
    first: CRS | None = None
    first_label = ""
    for label, obj in zip(labels, objs):
        c = getattr(obj, "crs", None)
        if c is None:
            raise CRSError(f"{label} has no CRS; set it (e.g. gdf.set_crs('EPSG:4490'))")
        c = to_crs(c)
        if first is None:
            first, first_label = c, label
        elif not same_crs(first, c):
            raise CRSMismatchError(
                f"{first_label} is in {first.name} ({first.to_string()}) but {label} is in "
                f"{c.name} ({c.to_string()}); reproject one of them first"
            )
    assert first is not None
    return first


def assign_crs(
    gdf: Any,
    crs: Any | None,
    *,
    source: str = "input",
    option: str = "the crs option",
    path: Any | None = None,
) -> Any:
    """Declare the CRS of a GeoDataFrame read from a file that has none; never reproject.

    Parameters
    ----------
    gdf
        GeoDataFrame (or GeoSeries) as read.
    crs
        The CRS the user says the coordinates are in; ``None`` leaves the CRS as read.
    source
        File name for messages.
    option
        How the user gave the CRS (e.g. ``"--crs"``), for the message.
    path
        The file ``gdf`` was read from. When given, the CRS the file *declares* is checked
        first (:func:`check_declared_crs`): an unknown or unparseable declaration is refused
        instead of being read as EPSG:4326 or as no CRS.

    Raises
    ------
    CRSMismatchError
        When the file declares a different CRS (assigning would silently move the data).
    CRSError
        When the file declares a CRS that cannot be read (see :func:`check_declared_crs`).
    """
    if path is not None:
        gdf = check_declared_crs(gdf, path, source=source)
    if crs is None:
        return gdf
    if gdf.crs is None:
        return gdf.set_crs(to_crs(crs))
    if not same_crs(gdf.crs, crs):
        raise CRSMismatchError(
            f"{source}: the file declares {gdf.crs.to_string()} but {crs} was given; "
            f"drop {option} or reproject the file"
        )
    return gdf


#: how much of a GeoJSON is searched for its top-level ``crs`` member
_GEOJSON_HEAD_BYTES = 1 << 20


def _geojson_crs_member(path: Any) -> tuple[bool, Any]:
    """``(found, value)`` of a GeoJSON's (legacy, 2008) top-level ``crs`` member, from the file's head."""
    import json
    import re

    with open(path, "rb") as f:
        head = f.read(_GEOJSON_HEAD_BYTES).decode("utf-8", errors="replace")
    dec = json.JSONDecoder()
    for m in re.finditer(r'"crs"\s*:\s*', head):
        try:
            value, _ = dec.raw_decode(head, m.end())
        except ValueError:
            continue
        if value is None or (isinstance(value, dict) and "type" in value):
            return True, value
    return False, None


def _crs_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def check_declared_crs(gdf: Any, path: Any, *, source: str | None = None) -> Any:
    """Refuse a file whose declared CRS cannot be read; return ``gdf`` (its CRS corrected if GDAL misread it).

    GDAL reads a GeoJSON ``crs`` member it does not understand (``EPSG::999999``, gibberish)
    as EPSG:4326, a Shapefile ``.prj`` it cannot parse as no CRS, and a GeoPackage ``srs_id``
    missing from ``gpkg_spatial_ref_sys`` as no CRS — each would silently put the data in the
    wrong place or have its CRS guessed. Here each is refused with a :class:`CRSError`
    naming the file and the declaration. Files without a declaration are left alone (a
    GeoJSON without ``crs`` is lon/lat by RFC 7946).

    Raises
    ------
    CRSError
        Naming the file, what it declares and how to fix it.
    """
    from pathlib import Path

    p = Path(path)
    src = source or str(p)
    suffix = p.suffix.lower()
    try:
        if suffix in (".geojson", ".json"):
            found, value = _geojson_crs_member(p)
            if not found or value is None:
                return gdf
            props = value.get("properties") if isinstance(value.get("properties"), dict) else {}
            kind = str(value.get("type", "")).lower()
            if kind == "name" and isinstance(props.get("name"), str):
                name = props["name"]
            elif kind == "epsg" and props.get("code") is not None:
                name = f"EPSG:{props['code']}"
            else:
                raise CRSError(
                    f"{src}: the GeoJSON declares its CRS as {_crs_text(value)}, which cannot be read; "
                    "declare it by name (\"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"EPSG:4490\"}}) "
                    "or remove the crs member and give the CRS with --crs"
                )
            try:
                declared = CRS.from_user_input(name)
            except Exception:
                raise CRSError(
                    f"{src}: the GeoJSON declares the CRS {_crs_text(name)}, which is not a known CRS; "
                    "fix the crs member (e.g. urn:ogc:def:crs:EPSG::4490 for CGCS2000 lon/lat) "
                    "or remove it and give the CRS with --crs"
                ) from None
            if gdf.crs is None or not same_crs(gdf.crs, declared):
                return gdf.set_crs(declared, allow_override=True)
            return gdf
        if suffix == ".shp":
            prj = p.with_suffix(".prj")
            if gdf.crs is None and prj.exists():
                text = prj.read_text(errors="replace").strip()
                if text:
                    raise CRSError(
                        f"{src}: its .prj ({_crs_text(text)}) is not a CRS that can be read; "
                        "replace the .prj (export it again from the GIS) or delete it and give the CRS with --crs"
                    )
            return gdf
        if suffix == ".gpkg" and gdf.crs is None:
            import sqlite3

            con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
            try:
                rows = con.execute(
                    "SELECT g.table_name, g.srs_id FROM gpkg_geometry_columns g "
                    "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id "
                    "WHERE s.srs_id IS NULL AND g.srs_id NOT IN (0, -1)"
                ).fetchall()
            finally:
                con.close()
            if rows:
                table, srs = rows[0]
                raise CRSError(
                    f"{src}: layer {table!r} declares srs_id {srs}, which the GeoPackage does not define; "
                    "export the layer again with its CRS (e.g. EPSG:4490) or give it with --crs after fixing the file"
                )
    except OSError:
        return gdf
    except Exception as exc:  # sqlite errors on a damaged GeoPackage: GDAL read it, let it be
        if isinstance(exc, CRSError):
            raise
        return gdf
    return gdf


def coordinate_problems(geoms: Any, *, crs: Any, slack_deg: float = 0.5) -> np.ndarray:
    """Per geometry, why its coordinates cannot be real data in ``crs`` (``""`` when they can).

    Vectorised over the geometries' bounds: not finite, longitude beyond ±180° or latitude
    beyond ±90° (in a geographic CRS), or outside the CRS's area of use by more than
    ``slack_deg`` (a CRS without one counts as the world). Missing and empty geometries
    get ``""`` (other checks report them). Used so that a parcel at lon 573000 in EPSG:4490
    or at latitude 95 is reported *invalid*, not "outside the zone".
    """
    import shapely

    g = np.asarray(geoms, dtype=object)
    out = np.full(len(g), "", dtype=object)
    if not len(g):
        return out
    present = np.array([x is not None for x in g], dtype=bool)
    present[present] = ~shapely.is_empty(g[present])
    if not present.any():
        return out
    b = shapely.bounds(g[present])
    c = to_crs(crs)
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    reason = np.full(len(b), "", dtype=object)
    if c.is_geographic:
        lon0, lat0, lon1, lat1 = x0, y0, x1, y1
        reason[(lat0 < -90) | (lat1 > 90)] = "latitude beyond ±90°"
        reason[(reason == "") & ((lon0 < -180) | (lon1 > 180))] = "longitude beyond ±180°"
    else:
        t = transformer(c, CGCS2000_GEOGRAPHIC)
        with np.errstate(all="ignore"):
            lon0, lat0 = t.transform(x0, y0, errcheck=False)
            lon1, lat1 = t.transform(x1, y1, errcheck=False)
        lon0, lat0, lon1, lat1 = (np.asarray(v, dtype=float) for v in (lon0, lat0, lon1, lat1))
    finite = np.isfinite(lon0) & np.isfinite(lat0) & np.isfinite(lon1) & np.isfinite(lat1)
    reason[(reason == "") & ~finite] = f"coordinates cannot be placed on the earth in {c.name}"
    aou = c.area_of_use
    if aou is not None:
        w, s_, e, n = aou.bounds
        off = finite & ((lon0 < w - slack_deg) | (lon1 > e + slack_deg) | (lat0 < s_ - slack_deg) | (lat1 > n + slack_deg))
        reason[(reason == "") & off] = f"outside the area of use of {c.name} ({aou.name})"
    out[np.flatnonzero(present)] = reason
    return out


def area_of_use_problem(lon_lat_bounds: tuple[float, float, float, float], crs: Any) -> str | None:
    """Why lon/lat bounds cannot be data in ``crs`` (``None`` if they can).

    Checks: finite, longitude within ±180 and latitude within ±90, inside the CRS's area of
    use (with 0.5° of slack; a CRS without one counts as the world).
    """
    x0, y0, x1, y1 = (float(v) for v in lon_lat_bounds)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return "its coordinates cannot be transformed to lon/lat (not finite)"
    if y0 < -90 or y1 > 90:
        return f"latitude {y0:.6g}…{y1:.6g}° is beyond ±90°"
    if x0 < -180 or x1 > 180:
        return f"longitude {x0:.6g}…{x1:.6g}° is beyond ±180°"
    aou = to_crs(crs).area_of_use
    if aou is not None:
        w, s, e, n = aou.bounds
        slack = 0.5
        if x0 < w - slack or x1 > e + slack or y0 < s - slack or y1 > n + slack:
            return (f"{x0:.4f}…{x1:.4f}°E, {y0:.4f}…{y1:.4f}°N lies outside the area of use of "
                    f"{to_crs(crs).name} ({aou.name}: {w:g}…{e:g}°E, {s:g}…{n:g}°N)")
    return None


def planar_area_m2(geoms: Any, *, crs: Any) -> np.ndarray:
    """Planar areas in m² of geometries in a metric CRS (refuses degrees and Web Mercator)."""
    import shapely

    require_metric_crs(crs)
    return np.asarray(shapely.area(np.asarray(geoms, dtype=object)), dtype=float)


def geodesic_area_m2(geom: Any, *, crs: Any) -> float:
    """Area in m² of one (multi)polygon on the GRS80 (CGCS2000) ellipsoid.

    The geometry is transformed to CGCS2000 lon/lat first; holes are subtracted.
    """
    import shapely

    c = to_crs(crs)
    if not c.is_geographic:
        t = transformer(c, CGCS2000_GEOGRAPHIC)
        geom = shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    if geom is None or geom.is_empty:
        return 0.0
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


# ------------------------------------------------------------------ datums

# the datum tags and the GCJ-02/BD-09 transforms live in xclz_geo.geo.datums (numpy only, no pyproj:
# the one-site path imports them alone); re-exported here, where they have always been
from xclz_geo.geo.datums import (  # noqa: E402,F401
    DATUMS,
    _DATUM_ALIASES,
    _GCJ_A,
    _GCJ_EE,
    _X_PI,
    CHINA_BBOX,
    normalize_datum,
    in_china,
    _gcj_delta,
    _check_china,
    _max_abs_finite,
    _arrays,
    _ret,
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
    convert_datum,
    convert_geometry_datum,
)


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "CGCS2000_GEOGRAPHIC", "WGS84", "XUANCHENG_GK_EPSG", "GK_FIRST_ZONE", "GK_LAST_ZONE", "WEB_MERCATOR_EPSG",
    "GEOD", "GKZone", "gk_zone_number", "gk_zone_for_lon", "gk_epsg", "gk_zone_of_crs",
    "gk_zone_from_prefixed_easting", "to_crs", "is_web_mercator", "require_metric_crs", "transformer", "reproject_frame",
    "gk_crs_for", "same_crs", "ensure_same_crs", "assign_crs", "check_declared_crs", "coordinate_problems",
    "area_of_use_problem", "planar_area_m2", "geodesic_area_m2", "DATUMS", "CHINA_BBOX", "normalize_datum",
    "in_china", "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09",
    "bd09_to_wgs84", "convert_datum", "convert_geometry_datum"
]
