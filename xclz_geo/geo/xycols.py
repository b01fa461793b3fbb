"""Which columns of a table hold the coordinates: one rule for ``locate``, ``map --sites``, ``efficiency`` and ``report``.

A column given by name (``--x COL`` / ``--y COL``) always wins and must exist. Otherwise the headers
are compared without case, spaces, full-width forms and a bracketed unit or datum
(``经度(°)``, ``X坐标（米）``, ``经度(GCJ-02)``), in two tiers per axis:

1. lon/lat names: ``lon``, ``lng``, ``longitude``, ``经度``, ``东经``, ``lon_wgs84`` … and ``lat``,
   ``latitude``, ``纬度``, ``北纬`` …;
2. plane names: ``x``, ``x坐标``, ``横坐标``, ``东坐标``, ``东向坐标``, ``easting`` … and ``y``,
   ``y坐标``, ``纵坐标``, ``北坐标``, ``northing`` …, plus the DBF short names ``JD``/``WD`` and
   ``XZB``/``YZB``.

The first tier with a hit decides. A header cut to 10 bytes by a .dbf (``longitude_``, ``东坐标（`` …)
counts for the longer name it starts. Two or more hits in the deciding tier are *ambiguous*: the
error names the candidates and how to choose (``--x COL``), rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable

from xclz_geo.errors import InputDataError

#: lon/lat names of the x axis (tier 1), as :func:`header_key` gives them
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "东经", "经度坐标",
             "longitudewgs84", "longitudegcj02", "longitudebd09")
#: lon/lat names of the y axis (tier 1)
LAT_NAMES = ("lat", "latitude", "纬度", "北纬", "纬度坐标",
             "latitudewgs84", "latitudegcj02", "latitudebd09")
#: plane and short names of the x axis (tier 2)
X_PLANE_NAMES = ("x", "x坐标", "坐标x", "横坐标", "东坐标", "东向坐标", "东坐标x", "x东坐标", "east", "easting", "xcoord",
                 "xzb", "jd", "dzb")
#: plane and short names of the y axis (tier 2)
Y_PLANE_NAMES = ("y", "y坐标", "坐标y", "纵坐标", "北坐标", "北向坐标", "北坐标y", "y北坐标", "north", "northing", "ycoord",
                 "yzb", "wd", "bzb")

#: a .dbf field name keeps at most this many bytes
DBF_NAME_BYTES = 10


def header_key(name: Any) -> str:
    """A header as compared: NFKC, lower case, without spaces, ``_``/``-``/``.``, a bracketed part
    (also one the .dbf cut open, ``经度(gcj``), a trailing unit after ``/`` and a datum tag before or after
    the name (``经度_GCJ02``, ``lon_wgs84``)."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    s = re.sub(r"[\(\[【<].*$", "", s)  # 经度(°), x坐标(米), 经度(gcj-02), 经度(gc  (NFKC turns （ into ()
    s = re.sub(r"/.*$", "", s)  # 东坐标/m
    s = re.sub(r"[\s_\-.:：°]+", "", s)
    bare = re.sub(r"^(wgs84|gcj02|bd09|cgcs2000)|(wgs84|gcj02|bd09|cgcs2000)$", "", s)  # 经度_GCJ02, wgs84_lon
    return bare or s


def _dbf_cut(raw: Any) -> bool:
    """True when a header is as long as a .dbf field name can be (it may have been cut)."""
    text = str(raw).strip()
    lengths = {len(text.encode("utf-8", errors="replace")), len(text.encode("gbk", errors="replace"))}
    return any(DBF_NAME_BYTES - 2 <= n <= DBF_NAME_BYTES for n in lengths)


def _hits(columns: list[Any], names: tuple[str, ...]) -> list[Any]:
    """Columns whose header is one of ``names``, or a .dbf-cut prefix of one (input order)."""
    out = []
    for c in columns:
        k = header_key(c)
        if not k:
            continue
        if k in names or (len(k) >= 4 and _dbf_cut(c) and any(len(n) > len(k) and n.startswith(k) for n in names)):
            out.append(c)
    return out


def xy_candidates(columns: Iterable[Any]) -> dict[str, list[Any]]:
    """The candidate columns per axis and tier: ``{"lon": [...], "lat": [...], "x": [...], "y": [...]}``."""
    cols = list(columns)
    return {"lon": _hits(cols, LON_NAMES), "lat": _hits(cols, LAT_NAMES),
            "x": _hits(cols, X_PLANE_NAMES), "y": _hits(cols, Y_PLANE_NAMES)}


def find_xy_columns(columns: Iterable[Any], *, x: str | None = None, y: str | None = None, source: str = "table",
                    required: bool = True) -> tuple[Any, Any]:
    """The x (longitude, east) and y (latitude, north) columns of a table.

    Parameters
    ----------
    columns
        The table's headers.
    x, y
        Columns named by the user (``--x``/``--y``): they win, and must exist (exact, else compared as
        :func:`header_key` does).
    source
        How errors name the table (file, sheet).
    required
        ``False``: an axis without any candidate comes back as ``None`` (coordinates are optional, as in
        ``efficiency``); ``True``: that is an error.

    Raises
    ------
    InputDataError
        A named column is missing; two or more candidates for one axis (the message lists them and says
        ``--x COL``/``--y COL``); no candidate with ``required``; the same column for both axes.
    """
    cols = list(columns)
    listing = ", ".join(repr(str(c)) for c in cols)
    cand = xy_candidates(cols)

    def pick(given: str | None, tiers: tuple[str, str], what: str, opt: str) -> Any:
        if given is not None:
            if given in cols:
                return given
            for c in cols:
                if str(c) == str(given) or str(c).strip().lower() == str(given).strip().lower():
                    return c
            key = header_key(given)
            same = [c for c in cols if key and header_key(c) == key]
            if len(same) == 1:
                return same[0]
            raise InputDataError(f"{source}: no column {given!r} for the {what} ({opt}); columns are: {listing}")
        for tier in tiers:
            found = cand[tier]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(repr(str(c)) for c in found)
                raise InputDataError(
                    f"{source}: {len(found)} columns could hold the {what}: {names}; name the right one with {opt} COLUMN "
                    f"(e.g. {opt} {str(found[0])!r})")
        if not required:
            return None
        raise InputDataError(
            f"{source}: cannot tell which column holds the {what}; columns are: {listing}. Name it with {opt} COLUMN")

    xc = pick(x, ("lon", "x"), "x coordinate (longitude / 经度 / 东坐标)", "--x")
    yc = pick(y, ("lat", "y"), "y coordinate (latitude / 纬度 / 北坐标)", "--y")
    if xc is not None and yc is not None and xc == yc:
        raise InputDataError(f"{source}: the same column {str(xc)!r} was chosen for x and y; give --x and --y")
    return xc, yc


#: the public names of this module (``from … import *``, the API reference)
__all__ = ["LON_NAMES", "LAT_NAMES", "X_PLANE_NAMES", "Y_PLANE_NAMES", "DBF_NAME_BYTES", "header_key", "xy_candidates",
           "find_xy_columns"]
