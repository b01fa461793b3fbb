"""One site against the zone, fast from a cold start: numpy + shapely only, the zone from the disk cache.

``xclz-geo locate LON LAT`` waits mostly for start-up: importing geopandas, pandas and pyproj and
reading the boundaries file cost about a second for one point-in-polygon answer. This module answers
one site from a :class:`ZoneSnapshot` — the part attributes and quality labels, the Gauss-Krüger
parameters and the parts' GK polygons as WKB — kept in the on-disk cache
(:mod:`xclz_geo.geo.cache`, keyed by the boundaries and spec files' content and the code version).
On a cache hit neither geopandas, pandas, pyproj nor rasterio is imported: the datum inverse is
:mod:`xclz_geo.geo.datums`, the projection :func:`xclz_geo.geo.tm.tm_forward` (within a nanometre
of PROJ), the predicate shapely's.

The answer is the one of :func:`xclz_geo.geo.locate.locate_xy` for that point (the grid there only
skips the exact predicate where the answer is settled): status from ``intersects_xy`` per part in
zone order (the first covering part wins) and ``dwithin`` of the part's boundary within its
positional uncertainty; distance the exact planar distance to the nearest boundary segment, positive
inside. Inputs the fast path does not handle (text that is not a plain number, invalid coordinates,
projected input) return ``None`` and the caller takes the full path, which also writes the notes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xclz_geo.geo import cache as _cache
from xclz_geo.geo import datums as _datums
from xclz_geo.geo.tm import tm_forward

#: entry kind in the disk cache
SNAPSHOT_KIND = "zone-snapshot"
_PLAIN_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_STATUS = ("outside", "inside", "uncertain", "invalid")
#: metres: closer than this to a part boundary or a band edge, the full path answers (the numpy
#: projection agrees with PROJ to ~1e-8 m; a point this close to a line is on it to survey precision)
TIE_M = 1e-6


def _near_rounding_edge(v: float, *, decimals: int = 2, tol: float = 1e-6) -> bool:
    """Whether ``v`` rounded to ``decimals`` could change with a nanometre's difference."""
    f = abs(v) * 10**decimals
    return abs((f - math.floor(f)) - 0.5) < tol


@dataclass
class ZoneSnapshot:
    """What one site's answer needs of a zone (see the module docstring).

    Attributes
    ----------
    meta
        JSON-able: ``parts`` (part_id, block_id, name_zh, name_en, positional_uncertainty_m,
        quality, has_geometry per part, in zone order), ``worst_quality``, ``quality_by_part``,
        ``boundaries_source``, ``is_schematic``, ``is_mixed_quality``, ``describe_quality`` and
        ``gk`` (``label``, ``central_meridian_deg``, ``false_easting_m``).
    wkb
        The parts' GK polygons as WKB (``None`` for a part without geometry).
    """

    meta: dict[str, Any]
    wkb: list[bytes | None]
    _geoms: list[Any] | None = None
    _segs: tuple[np.ndarray, ...] | None = None

    @property
    def parts(self) -> list[dict[str, Any]]:
        return self.meta["parts"]

    def geometries(self) -> list[Any]:
        """The parts' GK shapely polygons (``None`` where a part has none)."""
        if self._geoms is None:
            import shapely

            self._geoms = [None if w is None else shapely.from_wkb(w) for w in self.wkb]
        return self._geoms

    def segments(self) -> tuple[np.ndarray, ...]:
        """Start points, deltas and inverse squared lengths of every boundary segment (holes included)."""
        if self._segs is None:
            import shapely

            ax, ay, dx, dy, owner = [], [], [], [], []
            for k, g in enumerate(self.geometries()):
                if g is None or g.is_empty:
                    continue
                polys = shapely.get_parts(g)
                rings = shapely.get_rings(polys)
                coords, ring = shapely.get_coordinates(rings, return_index=True)
                same = ring[1:] == ring[:-1]
                a, b = coords[:-1][same], coords[1:][same]
                ax.append(a[:, 0])
                ay.append(a[:, 1])
                dx.append(b[:, 0] - a[:, 0])
                dy.append(b[:, 1] - a[:, 1])
                owner.append(np.full(a.shape[0], k, dtype=np.int64))
            cat = (lambda v: np.concatenate(v) if v else np.empty(0))  # noqa: E731
            sax, say, sdx, sdy = cat(ax), cat(ay), cat(dx), cat(dy)
            l2 = sdx * sdx + sdy * sdy
            inv = np.divide(1.0, l2, out=np.zeros_like(l2), where=l2 > 0)
            self._segs = (sax, say, sdx, sdy, inv, cat(owner).astype(np.int64))
        return self._segs


# ------------------------------------------------------------------ building and caching


def snapshot_from_zone(zone: Any, *, describe_quality: str) -> ZoneSnapshot | None:
    """The snapshot of a loaded :class:`~xclz_geo.boundaries.zone.Zone`; ``None`` when the fast path
    cannot serve it (no part polygon, or a GK CRS that is not a CGCS2000 3° zone)."""
    import shapely

    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.tm import gk_parameters

    if not getattr(zone, "has_geometry", False):
        return None
    epsg = zone.gk_crs.to_epsg()
    gkp = gk_parameters(int(epsg)) if epsg else None
    if gkp is None or _crs.gk_zone_of_crs(zone.gk_crs) is None:
        return None
    parts = zone.parts
    parts_gk = zone.parts_gk
    geoms = list(parts_gk.geometry)
    rows = []
    for i in range(len(parts)):
        row = parts.iloc[i]
        g = geoms[i]
        rows.append({
            "part_id": str(row["part_id"]), "block_id": str(row["block_id"]),
            "name_zh": str(row["name_zh"]), "name_en": str(row["name_en"]),
            "positional_uncertainty_m": float(row["positional_uncertainty_m"]),
            "quality": str(row["quality"]),
            "has_geometry": bool(g is not None and not g.is_empty),
        })
    meta = {
        "parts": rows,
        "worst_quality": zone.worst_quality,
        "quality_by_part": zone.quality_by_part,
        "boundaries_source": zone.boundaries_source,
        "is_schematic": bool(zone.is_schematic),
        "is_mixed_quality": bool(zone.is_mixed_quality),
        "describe_quality": describe_quality,
        "gk": dict(gkp, label=f"EPSG:{epsg}"),
    }
    wkb = [None if g is None else bytes(shapely.to_wkb(g)) for g in geoms]
    return ZoneSnapshot(meta=meta, wkb=wkb)


def snapshot_key(*, boundaries: str | Path, spec: str | Path | None, layer: str | None) -> str:
    """Cache key of the zone loaded from ``boundaries`` (+ ``spec``, ``layer``): the files' content,
    the path as given (it is printed as the source) and the code version."""
    b = Path(boundaries)
    parts = [str(boundaries), f"layer={layer}", _cache.file_digest(b)]
    if b.suffix.lower() == ".shp":  # a shapefile is several files
        for ext in (".dbf", ".shx", ".prj", ".cpg"):
            side = b.with_suffix(ext)
            parts.append(_cache.file_digest(side) if side.exists() else f"no {ext}")
    parts.append(_cache.file_digest(spec) if spec is not None and Path(spec).exists() else "no spec")
    return _cache.entry_key(SNAPSHOT_KIND, *parts)


def store_snapshot(key: str, snap: ZoneSnapshot) -> bool:
    """Write a snapshot to the disk cache (atomic; ``False`` when the cache is off or unwritable)."""
    return _cache.store_entry(key, snap.meta, _cache.pack_wkb(snap.wkb))


def load_snapshot(key: str) -> ZoneSnapshot | None:
    """A snapshot from the disk cache (memory-mapped), or ``None``."""
    def build(meta: dict[str, Any], arrays: dict[str, Any]) -> ZoneSnapshot:
        snap = ZoneSnapshot(meta=meta, wkb=_cache.unpack_wkb(arrays, len(meta["parts"])))
        snap.geometries()  # a corrupt WKB fails here, not later
        return snap

    return _cache.load_valid(key, build)  # any damage: the entry is ignored and rebuilt


# ------------------------------------------------------------------ one site


def plain_number(text: Any) -> float | None:
    """The finite number a plain decimal text spells (``"119.4681"``, ``"-1e3"``), else ``None``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        v = float(text)
    elif isinstance(text, str) and _PLAIN_NUMBER.fullmatch(text):
        v = float(text)
    else:
        return None
    return v if math.isfinite(v) else None


def locate_site(snap: ZoneSnapshot, x: Any, y: Any, *, datum: str = "wgs84") -> dict[str, Any] | None:
    """One lon/lat site in ``datum``; ``None`` when the full path must answer (see the module docstring).

    Returns
    -------
    dict or None
        ``status`` (label), ``part_index`` (-1 none), ``distance_m`` (signed, unrounded),
        ``lon``/``lat`` (WGS84), ``gx``/``gy`` (Gauss-Krüger) and ``row_quality``.
    """
    import shapely

    fx, fy = plain_number(x), plain_number(y)
    if fx is None or fy is None:
        return None
    d = _datums.normalize_datum(datum)
    d = "wgs84" if d == "cgcs2000" else d
    if d in ("gcj02", "bd09"):
        b = _datums.CHINA_BBOX
        if not (b[0] <= fx <= b[2] and b[1] <= fy <= b[3]):
            return None
    elif not (abs(fy) <= 90.0 and abs(fx) <= 180.0):
        return None
    if d == "wgs84":
        lon, lat = fx, fy
    else:
        lon, lat = _datums.convert_datum(fx, fy, from_datum=d, to_datum="wgs84")
    gkp = snap.meta["gk"]
    gxa, gya = tm_forward(np.array([lon]), np.array([lat]), central_meridian_deg=gkp["central_meridian_deg"],
                          false_easting_m=gkp["false_easting_m"])
    gx, gy = float(gxa[0]), float(gya[0])
    if not (math.isfinite(gx) and math.isfinite(gy)):
        return None
    ins = unc = -1
    pt = None
    for k, (g, row) in enumerate(zip(snap.geometries(), snap.parts)):
        if g is None or g.is_empty:
            continue
        if ins < 0 and bool(shapely.intersects_xy(g, gx, gy)):
            ins = k
        u = row["positional_uncertainty_m"]
        u = max(float(u) if u == u else 0.0, 0.0)
        if u > 0 and unc < 0:
            pt = pt if pt is not None else shapely.Point(gx, gy)
            if bool(shapely.dwithin(shapely.boundary(g), pt, u)):
                unc = k
    covered = ins >= 0
    status = 2 if unc >= 0 else (1 if covered else 0)
    part = ins if covered else unc
    ax, ay, dx, dy, inv, owner = snap.segments()
    sx, sy = gx - ax, gy - ay
    t = (sx * dx + sy * dy) * inv
    np.clip(t, 0.0, 1.0, out=t)
    sx -= t * dx
    sy -= t * dy
    d2 = sx * sx + sy * sy
    dist = float(np.sqrt(d2.min())) if ax.size else math.nan
    if not math.isfinite(dist):
        return None
    # a point within TIE_M of a part boundary or of the edge of its band, or whose distance or
    # position sits on a rounding edge: the answer could turn on the last nanometre of the
    # projection, so the full path (pyproj) decides, as it always did
    per_part = np.full(len(snap.parts), np.inf)
    np.minimum.at(per_part, owner, d2)
    per_part = np.sqrt(per_part)
    for k, row in enumerate(snap.parts):
        u = row["positional_uncertainty_m"]
        u = max(float(u) if u == u else 0.0, 0.0)
        if per_part[k] < TIE_M or (u > 0 and abs(per_part[k] - u) < TIE_M):
            return None
    if any(_near_rounding_edge(v) for v in (dist, gx, gy)):
        return None
    qualities = snap.meta.get("quality_by_part") or {}
    worst = snap.meta.get("worst_quality")
    if part >= 0 and qualities:
        pid = snap.parts[part]["part_id"]
        row_quality = str(qualities.get(pid) or worst or "")
    else:
        row_quality = worst
    return {"status": _STATUS[status], "part_index": part, "distance_m": dist if covered else -dist,
            "lon": float(lon), "lat": float(lat), "gx": gx, "gy": gy, "row_quality": row_quality}


__all__ = ["SNAPSHOT_KIND", "ZoneSnapshot", "load_snapshot", "locate_site", "plain_number", "snapshot_from_zone",
           "snapshot_key", "store_snapshot"]
