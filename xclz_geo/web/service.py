"""The zone as the workbench serves it: boundary versions and the single-site check.

**Boundary versions.** The boundaries in use are a numbered, immutable file
``DATA_DIR/boundaries/v<N>.gpkg``. The first start registers ``v1`` from ``--boundaries FILE``
(or the bundled schematic zone); a later start with a different ``--boundaries`` file, or an
administrator confirming an uploaded red line, adds the next version. Earlier versions are
kept; every result records the version it used as ``v<N>-<hash>`` (``hash``: the first 8 hex
digits of the zone's geometry hash).

**Sharing.** A :class:`Zone` is read-only once loaded and shared by every request. The lookup
grids come from :func:`xclz_geo.grid.build_grid` (built once per zone and datum, cached
under a lock); the prepared shapely geometries the exact predicate and distances need are
per thread (:meth:`xclz_geo.grid.LocateGrid.geometries`), never shared between threads —
sharing one prepared GEOS geometry between threads corrupts the heap.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xclz_geo.errors import InputDataError

__all__ = ["DATUMS", "BoundaryVersions", "ZoneVersion", "locate_one", "part_rows"]

#: datum tags offered on the pages, with the one-line hint of where each comes from
DATUMS = {
    "gcj02": ("GCJ-02 高德 / 腾讯", "高德地图、腾讯地图、微信位置里拾取的坐标 (Amap, Tencent, WeChat)"),
    "bd09": ("BD-09 百度", "百度地图坐标拾取器里的坐标 (Baidu Maps)"),
    "wgs84": ("WGS84 / CGCS2000", "GPS、手机定位、天地图、测绘成果里的经纬度 (GPS, Tianditu, survey)"),
}


class _SettledZone:
    """A boundary version's zone as :func:`~xclz_geo.geo.locate.locate_xy` reads it with a prebuilt grid.

    A version's zone never changes, so its per-part qualities are computed once instead of on every
    single-site check (they are a pandas pass, a quarter of a single check's time); everything else
    is the zone itself.
    """

    def __init__(self, zone: Any) -> None:
        self._zone = zone
        self.quality_by_part = dict(zone.quality_by_part) if hasattr(zone, "quality_by_part") else {}
        self.worst_quality = zone.worst_quality

    def __getattr__(self, name: str) -> Any:
        return getattr(self._zone, name)


@dataclass
class ZoneVersion:
    """One registered version of the boundaries."""

    number: int
    hash8: str
    source: str
    created: float
    path: Path
    qualities: dict[str, str]
    zone: Any = None
    _grids: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def settled(self) -> Any:
        """The zone with its per-part qualities computed once (:class:`_SettledZone`)."""
        z = self.__dict__.get("_settled")
        if z is None:
            z = _SettledZone(self.zone)
            self.__dict__["_settled"] = z
        return z

    def to_wgs84(self) -> Any:
        """This thread's transformer from the zone's Gauss-Krüger CRS to WGS84 lon/lat."""
        t = getattr(self._local, "to_wgs84", None)
        if t is None:
            from pyproj import Transformer

            t = Transformer.from_crs(self.grid("wgs84").gk, "EPSG:4326", always_xy=True)
            self._local.to_wgs84 = t
        return t

    @property
    def label(self) -> str:
        """``v<N>-<hash8>``: what results record."""
        return f"v{self.number}-{self.hash8}"

    def grid(self, datum: str) -> Any:
        """The lookup grid of this version for lon/lat in ``datum`` (built once)."""
        g = self._grids.get(datum)
        if g is None:
            from xclz_geo.geo.grid import build_grid, make_frame

            with self._lock:
                g = self._grids.get(datum)
                if g is None:
                    g = build_grid(self.zone, frame=make_frame(datum=datum))
                    self._grids[datum] = g
        return g

    @property
    def parts(self) -> list[dict[str, Any]]:
        """Per part (zone order): ids, names, quality and uncertainty as plain values (cached)."""
        p = self.__dict__.get("_parts")
        if p is None:
            p = [{"part_id": str(r.part_id), "block_id": str(r.block_id), "name_zh": str(r.name_zh), "name_en": str(r.name_en),
                  "quality": str(r.quality), "uncertainty_m": float(r.positional_uncertainty_m)}
                 for r in self.zone.parts.itertuples()]
            self.__dict__["_parts"] = p
        return p

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.label, "number": self.number, "source": self.source, "created": self.created,
                "qualities": self.qualities}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS boundary_versions (
    number INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    source TEXT NOT NULL,
    created REAL NOT NULL,
    file TEXT NOT NULL,
    qualities TEXT NOT NULL
);
"""


def _qualities(zone: Any) -> dict[str, str]:
    return {str(p): str(q) for p, q in zip(zone.parts["part_id"], zone.parts["quality"])}


class BoundaryVersions:
    """The versions of the boundaries in ``DATA_DIR/boundaries`` and the one in use (the newest).

    Parameters
    ----------
    data_dir
        The workbench's data folder.
    boundaries
        A boundaries file to use (``--boundaries``); registered as a new version when it differs
        from the one in use. ``None``: the version in use, or the bundled zone on the first start.
    """

    def __init__(self, data_dir: str | Path, *, boundaries: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.dir = self.data_dir / "boundaries"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        self._loaded: dict[int, ZoneVersion] = {}
        with self._connect() as con:
            con.executescript(_SCHEMA)
        latest = self._latest_number()
        if boundaries is not None:
            from xclz_geo.boundaries.zone import Zone

            zone = Zone.load(boundaries=boundaries)
            cur = self.current() if latest else None
            if cur is None or cur.zone.geometry_hash[:8] != zone.geometry_hash[:8] or _qualities(cur.zone) != _qualities(zone):
                self.add(zone, source=f"--boundaries {Path(boundaries).name}")
        elif not latest:
            from xclz_geo.boundaries.zone import Zone

            self.add(Zone.load(), source="bundled schematic zone (xclz_geo data/boundaries)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    def _latest_number(self) -> int:
        with self._connect() as con:
            r = con.execute("SELECT MAX(number) FROM boundary_versions").fetchone()
        return int(r[0] or 0)

    def add(self, zone: Any, *, source: str) -> ZoneVersion:
        """Register ``zone``'s parts as the next version (it becomes the one in use)."""
        from xclz_geo.boundaries.importing import write_boundaries
        from xclz_geo.boundaries.zone import Zone

        with self._lock:
            n = self._latest_number() + 1
            path = self.dir / f"v{n}.gpkg"
            write_boundaries(zone.parts, path)
            loaded = Zone.load(boundaries=path)
            h = loaded.geometry_hash[:8]
            with self._connect() as con:
                con.execute("INSERT INTO boundary_versions VALUES (?, ?, ?, ?, ?, ?)",
                            (n, h, source[:300], time.time(), path.name, json.dumps(_qualities(loaded), ensure_ascii=False)))
            v = ZoneVersion(number=n, hash8=h, source=source[:300], created=time.time(), path=path,
                            qualities=_qualities(loaded), zone=loaded)
            self._loaded[n] = v
            self._current = n
            return v

    def list(self) -> list[ZoneVersion]:
        """Every version, newest first (zones not loaded)."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM boundary_versions ORDER BY number DESC").fetchall()
        return [ZoneVersion(number=r["number"], hash8=r["hash"], source=r["source"], created=r["created"],
                            path=self.dir / r["file"], qualities=json.loads(r["qualities"])) for r in rows]

    def get(self, number: int) -> ZoneVersion:
        """Version ``number`` with its zone loaded (cached)."""
        v = self._loaded.get(number)
        if v is not None:
            return v
        from xclz_geo.boundaries.zone import Zone

        with self._lock:
            v = self._loaded.get(number)
            if v is None:
                with self._connect() as con:
                    r = con.execute("SELECT * FROM boundary_versions WHERE number = ?", (number,)).fetchone()
                if r is None:
                    raise KeyError(number)
                path = self.dir / r["file"]
                v = ZoneVersion(number=r["number"], hash8=r["hash"], source=r["source"], created=r["created"], path=path,
                                qualities=json.loads(r["qualities"]), zone=Zone.load(boundaries=path))
                self._loaded[number] = v
        return v

    def current(self) -> ZoneVersion:
        """The version in use (the newest; one server process owns a data folder, so it is kept in memory)."""
        n = self.__dict__.get("_current")
        if n is None:
            n = self._latest_number()
            self._current = n
        return self.get(n)

    def copy_current(self, dest: Path) -> Path:
        """Copy the file of the version in use (e.g. into a job folder)."""
        cur = self.current()
        shutil.copyfile(cur.path, dest)
        return dest


def part_rows(zone: Any) -> list[dict[str, Any]]:
    """Per part: ids, names, quality, uncertainty and the area check (km², 亩, deviation)."""
    from xclz_geo.boundaries.zone import area_report

    rep = area_report(zone).to_dict()
    by_id = {p["id"]: p for p in rep["parts"]}
    rows = []
    for r in zone.parts.itertuples():
        a = by_id.get(r.part_id, {})
        rows.append({
            "part_id": r.part_id, "block_id": r.block_id, "name_zh": r.name_zh, "name_en": r.name_en,
            "quality": r.quality, "uncertainty_m": float(r.positional_uncertainty_m), "source": str(r.source or ""),
            "official_km2": a.get("official_km2"), "measured_km2": a.get("measured_km2"),
            "measured_mu": a.get("measured_mu"), "deviation_pct": a.get("deviation_pct"), "status": a.get("status"),
        })
    return rows


def locate_one(version: ZoneVersion, lon: float, lat: float, *, datum: str) -> dict[str, Any]:
    """Check one site against a boundary version.

    Returns
    -------
    dict
        ``status`` (inside | outside | uncertain | invalid), ``part_id``, ``block_id``, ``name_zh``,
        ``name_en``, ``distance_m`` (signed, + inside), ``quality`` (of the part named, else of the
        zone's worst part), ``uncertainty_m``, ``note``, ``wgs84`` (``{lon, lat}`` or ``None``),
        ``boundary_version``, ``input``.
    """
    from xclz_geo.geo import crs as _crs
    from xclz_geo.geo.locate import locate_xy

    d = _crs.normalize_datum(datum)
    if d not in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        raise InputDataError(f"datum {datum!r}: use gcj02, bd09 or wgs84")
    key = "wgs84" if d == "cgcs2000" else d
    zone = version.zone
    grid = version.grid(key)
    # status and part from the library's lookup grid; the signed distance to the nearest part boundary
    # (+ inside a part polygon, - outside), as locate_xy(with_distance=True) defines it, measured with this
    # thread's own prepared GEOS copies of the parts (LocateGrid.geometries): one point does not need the
    # vectorised segment machinery built for millions (3x faster for a single site, same value)
    res = locate_xy([lon], [lat], version.settled, datum=key, with_distance=False, grid=grid)
    status = str(res.status_labels[0])
    k = int(res.part_index[0])
    dist = math.nan
    wgs = None
    if status != "invalid":
        import numpy as np
        import shapely

        gx, gy = grid.frame_map.to_gk(np.array([lon], dtype=float), np.array([lat], dtype=float))
        if math.isfinite(float(gx[0])) and math.isfinite(float(gy[0])):
            pt = shapely.points(float(gx[0]), float(gy[0]))
            geoms = grid.geometries()
            near = min(float(shapely.distance(b, pt)) for b in geoms.boundaries if b is not None)
            covered = any(bool(shapely.intersects(p, pt)) for p in geoms.parts if p is not None)
            dist = near if covered else -near
            wl, wb = version.to_wgs84().transform(float(gx[0]), float(gy[0]))
            wgs = {"lon": round(float(wl), 7), "lat": round(float(wb), 7)}
    row = version.parts[k] if k >= 0 else None
    return {
        "status": status,
        "part_id": None if row is None else str(row["part_id"]),
        "block_id": None if row is None else str(row["block_id"]),
        "name_zh": None if row is None else str(row["name_zh"]),
        "name_en": None if row is None else str(row["name_en"]),
        "distance_m": round(dist, 2) if math.isfinite(dist) else None,
        "quality": str(row["quality"]) if row is not None else zone.worst_quality,
        "uncertainty_m": None if row is None else row["uncertainty_m"],
        "note": str(res.notes()[0]),
        "wgs84": wgs,
        "boundary_version": version.label,
        "input": {"x": lon, "y": lat, "datum": d},
    }
