"""Reading one coordinate pair as people type or paste it.

Accepted: ``119.4681,30.8931``, ``119.4681 30.8931``, ``119.4681，30.8931`` (full-width comma),
``119°28'05.2"E 30°53'35.2"N``, ``东经119度28分5秒 北纬30度53分35秒``, ``N30°53.587′ E119°28.086′``.
Hemisphere letters (E/W/N/S, 东/西/南/北) decide which number is the longitude; without them
the first number is the longitude, unless only the second can be one (``30.89, 119.47``, as
Google Maps copies it), which is read as latitude, longitude and said so in the note.
"""

from __future__ import annotations

import math
import re

from xclz_geo.errors import InputDataError

__all__ = ["parse_pair", "parse_value"]

_FULLWIDTH = str.maketrans({"，": ",", "；": ";", "　": " ", "：": ":", "＂": '"', "＇": "'", "．": ".", "－": "-",
                            "’": "'", "‘": "'", "”": '"', "“": '"', "′": "'", "″": '"', "º": "°", "˚": "°"})
_DMS = re.compile(
    r"(?P<pre>[NSEWnsew]|东经|西经|北纬|南纬|[东西南北])?\s*"
    r"(?P<sign>[-+])?(?P<deg>\d+(?:\.\d+)?)\s*(?:°|度|d(?![a-z]))\s*"
    r"(?:(?P<min>\d+(?:\.\d+)?)\s*(?:'|分|m(?![a-z]))\s*)?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)\s*(?:\"|''|秒|s(?![a-z]))\s*)?"
    r"(?P<post>[NSEWnsew](?![a-z])|东经|西经|北纬|南纬|[东西南北])?"
)
_HEMI = {"e": "lon", "w": "lon", "n": "lat", "s": "lat", "东": "lon", "西": "lon", "北": "lat", "南": "lat"}


def _hemi(tag: str | None) -> tuple[str | None, int]:
    if not tag:
        return None, 1
    t = tag.lower()[-1] if tag[0].isascii() else tag[-1] if tag[-1] in "东西南北" else tag[0]
    if tag in ("东经", "西经"):
        t = tag[0]
    if tag in ("北纬", "南纬"):
        t = tag[0]
    axis = _HEMI.get(t)
    sign = -1 if t in ("w", "s", "西", "南") else 1
    return axis, sign


def parse_value(text: str) -> float:
    """One coordinate value: a decimal number or degrees-minutes-seconds (``119°28'05"``)."""
    s = str(text).translate(_FULLWIDTH).strip()
    try:
        v = float(s)
    except ValueError:
        m = _DMS.fullmatch(s)
        if not m:
            raise InputDataError(f"{text!r} is not a coordinate; write it as 119.4681 or 119°28'05\"") from None
        v = _dms_value(m)[0]
    if not math.isfinite(v):
        raise InputDataError(f"{text!r} is not a finite number")
    return v


def _dms_value(m: re.Match[str]) -> tuple[float, str | None]:
    deg = float(m.group("deg"))
    mi = float(m.group("min") or 0)
    se = float(m.group("sec") or 0)
    if mi >= 60 or se >= 60:
        raise InputDataError(f"{m.group(0).strip()!r}: minutes and seconds must be below 60")
    axis, sign = _hemi(m.group("pre") or m.group("post"))
    v = deg + mi / 60 + se / 3600
    if m.group("sign") == "-":
        sign = -sign
    return sign * v, axis


def parse_pair(text: str) -> tuple[float, float, str]:
    """``(lon, lat, note)`` from one typed or pasted coordinate pair.

    Raises
    ------
    InputDataError
        When the text does not hold exactly two coordinates (the message shows the accepted forms).
    """
    s = str(text or "").translate(_FULLWIDTH).strip()
    if not s:
        raise InputDataError("type a coordinate, e.g. 119.4681,30.8931")
    if len(s) > 200:
        raise InputDataError("the coordinate text is too long; type one pair, e.g. 119.4681,30.8931")
    forms = "write it as 119.4681,30.8931 or 119.4681 30.8931 or 119°28'05\"E 30°53'35\"N"
    values: list[tuple[float, str | None]] = []
    if re.search(r"[°度]|\d\s*'", s):
        pos = 0
        for m in _DMS.finditer(s):
            if not m.group("deg"):
                continue
            gap = s[pos:m.start()].strip(" ,;:")
            if gap:
                raise InputDataError(f"{text!r}: cannot read {gap!r}; {forms}")
            values.append(_dms_value(m))
            pos = m.end()
        if s[pos:].strip(" ,;:"):
            raise InputDataError(f"{text!r}: cannot read {s[pos:].strip()!r}; {forms}")
    else:
        parts = [p for p in re.split(r"[,;\s]+", s) if p]
        for p in parts:
            try:
                v = float(p)
            except ValueError:
                raise InputDataError(f"{text!r}: {p!r} is not a number; {forms}") from None
            if not math.isfinite(v):
                raise InputDataError(f"{text!r}: {p!r} is not a finite number")
            values.append((v, None))
    if len(values) != 2:
        raise InputDataError(f"{text!r}: found {len(values)} number(s), need two (longitude and latitude); {forms}")
    (a, ax_a), (b, ax_b) = values
    if ax_a == "lat" or ax_b == "lon":
        return b, a, "read as latitude, longitude (from the N/E letters)"
    if ax_a is None and ax_b is None and abs(a) <= 90 < abs(b) <= 180:
        return b, a, "the first number cannot be a longitude here: read as latitude, longitude (纬度, 经度)"
    return a, b, ""
