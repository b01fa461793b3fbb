"""四至 text ⇄ :class:`BoundarySpec`.

Chinese planning documents define an area by its four reaches (四至)::

    东至水阳江西大道、创业路、鸿越大道、景德路等,南至文景路、致学路,西至长桥路,北至奇秀路以北一公里处。

:func:`parse_sizhi` reads such a text into a :class:`BoundarySpec`: one :class:`Side` per
compass side (东/南/西/北, also 东北/东南/西北/西南), each with its ordered list of
:class:`FeatureRef` (separators ``、 , ， ; ；`` and ``及``/``和``/``以及``), a trailing ``等``
noted as *not exhaustive*, the feature kind guessed from the name and the qualifiers:

* **offsets** — ``以北一公里处``, ``以南500米``, ``以东约1.5公里``, ``两公里``, ``半公里``, ``千米``,
  ``km``, ``m`` → :attr:`FeatureRef.offset_m` and :attr:`FeatureRef.offset_direction`;
* **side of the feature** — ``西侧``, ``东岸``, ``南沿``, ``北边``, ``中心线`` →
  :attr:`FeatureRef.side_of_feature`. ``西至无量溪河西侧`` is read as: the west boundary runs
  along the *west* side (bank) of 无量溪河, so the river itself lies inside the area. A bare
  ``以北`` without a distance (``南至某路以北``) is read the same way as ``北侧``: the boundary is
  the road's north edge. With a centreline network both end up on the centreline; the
  digitizer records the qualifier and says so;
* **parenthetical notes** with half- or full-width brackets: ``外环路(G50高速以北)`` is a
  :class:`Constraint` (the part, and the section of 外环路 used, lie north of the G50);
  ``(北段)`` is a section note; ``(原某路)`` an alternative name; ``(G50)`` the route number;
  anything else is kept verbatim in :attr:`FeatureRef.notes`.

A heading such as ``四至范围:`` or ``该地块四至为`` before the first side is skipped.

Road numbers: ``318国道``, ``G318国道`` and ``G318`` all mean ref ``G318``; ``S215省道`` means
``S215``; ``G50高速`` and ``沪渝高速`` both mean ``G50`` (see :data:`EXPRESSWAY_REFS`).

Names such as ``水阳江西大道`` are never split into 水阳江 + 西 + 大道: a compass character is
only read as a qualifier when it is followed by 侧/岸/沿/边/面/畔/缘 or by a distance.

:func:`parse_implementation_scope` reads a whole 实施范围 paragraph (total area, blocks,
parts with their areas, each part's 四至) into a :class:`ScopeSpec`.

Text the parser cannot read raises :class:`~xclz_geo.errors.SizhiParseError` with the
character offset of the problem; it never guesses silently.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from xclz_geo.errors import SizhiParseError

# ------------------------------------------------------------------ vocabulary

#: compass sides: Chinese label → code
SIDE_CODES: dict[str, str] = {
    "东北": "NE", "东南": "SE", "西北": "NW", "西南": "SW",
    "东": "E", "南": "S", "西": "W", "北": "N",
}
#: code → Chinese label
SIDE_LABELS: dict[str, str] = {v: k for k, v in SIDE_CODES.items()}
#: unit vectors (x = east, y = north) of the compass codes
SIDE_VECTORS: dict[str, tuple[float, float]] = {
    "E": (1.0, 0.0), "W": (-1.0, 0.0), "N": (0.0, 1.0), "S": (0.0, -1.0),
    "NE": (0.7071067811865476, 0.7071067811865476), "SE": (0.7071067811865476, -0.7071067811865476),
    "NW": (-0.7071067811865476, 0.7071067811865476), "SW": (-0.7071067811865476, -0.7071067811865476),
}
#: clockwise order of the sides, starting at north (the order a ring is walked)
CLOCKWISE = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")

#: feature kinds
KINDS = ("road", "water", "rail", "unknown")

#: suffixes → kind, checked in this order (rail first: 铁路 ends in 路)
KIND_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("铁路", "rail"), ("高铁", "rail"), ("铁道", "rail"), ("轻轨", "rail"), ("地铁", "rail"),
    ("城际", "rail"), ("专用线", "rail"), ("客专", "rail"),
    ("高速公路", "road"), ("高速", "road"), ("国道", "road"), ("省道", "road"), ("县道", "road"),
    ("乡道", "road"), ("公路", "road"), ("大道", "road"), ("大街", "road"), ("路", "road"),
    ("街", "road"), ("巷", "road"), ("弄", "road"), ("道", "road"), ("线", "road"), ("环", "road"),
    ("桥", "road"),
    ("运河", "water"), ("水库", "water"), ("江", "water"), ("河", "water"), ("溪", "water"),
    ("渠", "water"), ("湖", "water"), ("港", "water"), ("沟", "water"), ("塘", "water"),
    ("浜", "water"), ("涧", "water"), ("川", "water"), ("湾", "water"), ("圩", "water"),
)

#: expressway names → national/provincial route number (extend or override per call)
EXPRESSWAY_REFS: dict[str, str] = {
    "沪渝高速": "G50", "沪渝高速公路": "G50",
    "京沪高速": "G2", "京台高速": "G3", "沈海高速": "G15", "长深高速": "G25",
    "沪陕高速": "G40", "沪蓉高速": "G42", "沪昆高速": "G60", "溧宁高速": "G4012",
}

_SIDE_ALT = "东北|东南|西北|西南|东|南|西|北"
_SIDE_VERBS = "至|到|临|邻|抵|接"
_SIDE_START = re.compile(rf"(?P<side>{_SIDE_ALT})(?:面|侧|边)?(?:{_SIDE_VERBS})")

#: largest offset a 四至 may state (``以北一公里处``): real ones are metres to a few kilometres; beyond this
#: the text is a typo or hostile, and offsetting a road by it would build a polygon the size of a country
MAX_OFFSET_M = 100_000.0

_CN_NUM_CHARS = "零〇一二两三四五六七八九十百千点半"
_NUM = rf"(?:\d+(?:\.\d+)?|[{_CN_NUM_CHARS}]+)"
_UNIT = r"(?:公里|千米|km|KM|Km|米|m|M)"
_OFFSET_RE = re.compile(
    rf"(?:以|向|往|偏)?(?P<dir>{_SIDE_ALT})(?:侧|面|边|方向|方)?(?:的)?"
    rf"(?P<approx>约|大约|大概|近)?(?P<num>{_NUM})(?P<unit>{_UNIT})"
    r"(?:左右)?(?:处|的位置|位置|一线|一带|范围|以内)?$"
)
_SIDE_OF_RE = re.compile(rf"(?P<dir>{_SIDE_ALT})(?P<what>侧|岸|沿|边|面|畔|缘|边界|边线|红线)$")
_BARE_SIDE_RE = re.compile(rf"(?:以|之)(?P<dir>{_SIDE_ALT})(?:侧|面|边)?$")
_CENTRE_RE = re.compile(r"(?:道路|河道)?(?:中心线|中线)$")
_NOT_EXHAUSTIVE_RE = re.compile(r"(?:等等|等)(?:道路|路段|河道|水系|线路|范围|地块|区域|一线|处)?$")

_REF_RE = re.compile(
    r"^(?P<letter>[GSXYgsxy])?\s*(?P<num>\d{1,4})(?P<suffix>国道|省道|县道|乡道|高速公路|高速|线|公路)?"
    r"(?P<rest>.*)$"
)
_OPEN = "([【〔［"
_CLOSE = ")]】〕］"
_PAIR = {")": "(", "]": "[", "】": "【", "〕": "〔", "］": "［"}
_CLAUSE_SEPS = ",;。\n"
_ITEM_SEPS = "、/"
_CONJ = ("以及", "及", "和", "与")
#: a heading the text may start with: 四至为 / 四至范围: / 该地块四至: / 其四至是
_PREFIX_RE = re.compile(r"(?:其|该(?:区域|地块|园区|片区|区块)?的?)?四至(?:范围)?(?:为|是|如下)?\s*:?\s*")
_NAME_OK = re.compile(r"^[\u3400-\u9fff\uf900-\ufaffA-Za-z0-9·\-—_#号 ]+$")
_CJK = re.compile(r"[\u3400-\u9fff]")


# ------------------------------------------------------------------ data model


@dataclass(frozen=True)
class Constraint:
    """A parenthetical condition on a feature, e.g. ``(G50高速以北)``.

    Attributes
    ----------
    feature
        The other feature the condition names (``G50高速``, ref ``G50``).
    direction
        Compass code of where the part (and the section of the main feature used) lies
        relative to :attr:`feature`: ``"N"`` for ``以北``.
    text
        The bracket content as written.
    """

    feature: "FeatureRef"
    direction: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"feature": self.feature.to_dict(), "direction": self.direction, "text": self.text}


@dataclass(frozen=True)
class FeatureRef:
    """One named line feature of a side, with its qualifiers.

    Attributes
    ----------
    name
        The name as written, without qualifiers (``无量溪河``, ``318国道``, ``G50沪渝高速``).
    kind
        ``road``, ``water``, ``rail`` or ``unknown`` (guessed from the name unless given).
    ref
        Route number (``G318``, ``S215``, ``G50``) when the name carries or implies one.
    offset_m
        Distance of the boundary from the feature in metres (``以北一公里处`` → 1000), or ``None``.
    offset_direction
        Compass code of the offset (``"N"``), or ``None``.
    offset_approximate
        True when the text says 约/大约/左右.
    side_of_feature
        Compass code of the side of the feature the boundary runs along (``西侧`` → ``"W"``),
        ``"C"`` for 中心线, or ``None``.
    constraints
        Parenthetical conditions naming another feature and a side.
    section
        A section note such as ``北段``.
    alt_names
        Alternative names from the text (``(原某路)``).
    notes
        Other parenthetical text, kept verbatim.
    text
        The item as written (with qualifiers).
    start, end
        Character offsets of the item in the parsed text.
    kind_source
        ``"guessed"`` (from the name) or ``"given"`` (overridden by the caller).
    """

    name: str
    kind: str = "unknown"
    ref: str | None = None
    offset_m: float | None = None
    offset_direction: str | None = None
    offset_approximate: bool = False
    side_of_feature: str | None = None
    constraints: tuple[Constraint, ...] = ()
    section: str | None = None
    alt_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    text: str = ""
    start: int = 0
    end: int = 0
    kind_source: str = "guessed"

    @property
    def has_offset(self) -> bool:
        """True when the boundary is an offset line (``以北一公里处``)."""
        return self.offset_m is not None and self.offset_m > 0

    def with_kind(self, kind: str) -> "FeatureRef":
        """A copy with the kind overridden (``kind_source="given"``)."""
        if kind not in KINDS:
            raise SizhiParseError(f"unknown feature kind {kind!r} for {self.name}; use one of {', '.join(KINDS)}")
        return replace(self, kind=kind, kind_source="given")

    def label(self) -> str:
        """Short human label: name plus qualifiers (``奇秀路 +1000 m N``)."""
        s = self.name
        if self.has_offset:
            s += f" +{self.offset_m:g} m {self.offset_direction}"
        if self.side_of_feature:
            s += f" ({self.side_of_feature} side)"
        return s

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name, "kind": self.kind, "kind_source": self.kind_source, "ref": self.ref,
            "offset_m": self.offset_m, "offset_direction": self.offset_direction,
            "offset_approximate": self.offset_approximate, "side_of_feature": self.side_of_feature,
            "constraints": [c.to_dict() for c in self.constraints], "section": self.section,
            "alt_names": list(self.alt_names), "notes": list(self.notes), "text": self.text,
            "start": self.start, "end": self.end,
        }


@dataclass(frozen=True)
class Side:
    """One compass side of a 四至: its direction and ordered features.

    Attributes
    ----------
    direction
        Compass code (``E``, ``S``, ``W``, ``N``, ``NE`` …).
    features
        The features in the order the text lists them.
    not_exhaustive
        True when the list ends with 等 ("and others").
    text, start, end
        The side's text and its character offsets.
    """

    direction: str
    features: tuple[FeatureRef, ...]
    not_exhaustive: bool = False
    text: str = ""
    start: int = 0
    end: int = 0

    @property
    def label(self) -> str:
        """Chinese label (东, 南 …)."""
        return SIDE_LABELS[self.direction]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "direction": self.direction, "label": self.label, "not_exhaustive": self.not_exhaustive,
            "features": [f.to_dict() for f in self.features], "text": self.text,
            "start": self.start, "end": self.end,
        }


@dataclass(frozen=True)
class BoundarySpec:
    """A parsed 四至: sides in text order, with the source text.

    Attributes
    ----------
    sides
        The sides in the order the text gives them.
    text
        The text as given.
    """

    sides: tuple[Side, ...]
    text: str = ""

    def side(self, direction: str) -> Side:
        """The side with this compass code or Chinese label (``"E"`` or ``"东"``)."""
        code = SIDE_CODES.get(direction, direction)
        for s in self.sides:
            if s.direction == code:
                return s
        raise KeyError(f"no side {direction!r} in this 四至; sides: {', '.join(s.label for s in self.sides)}")

    @property
    def directions(self) -> tuple[str, ...]:
        """Compass codes of the sides, in text order."""
        return tuple(s.direction for s in self.sides)

    def features(self) -> list[tuple[Side, FeatureRef]]:
        """Every (side, feature) pair in text order."""
        return [(s, f) for s in self.sides for f in s.features]

    def feature_names(self) -> list[str]:
        """Every feature name in text order (constraint features not included)."""
        return [f.name for s in self.sides for f in s.features]

    def with_kinds(self, kinds: Mapping[str, str]) -> "BoundarySpec":
        """A copy with feature kinds overridden by name (``{"祥花线": "road"}``)."""
        unknown = set(kinds) - set(self.feature_names())
        if unknown:
            raise SizhiParseError(
                f"cannot override the kind of {', '.join(sorted(unknown))}: not a feature of this 四至 "
                f"(features: {', '.join(self.feature_names())})"
            )
        sides = tuple(
            replace(s, features=tuple(f.with_kind(kinds[f.name]) if f.name in kinds else f for f in s.features))
            for s in self.sides
        )
        return replace(self, sides=sides)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"text": self.text, "sides": [s.to_dict() for s in self.sides]}


@dataclass(frozen=True)
class PartScope:
    """One part of a block in an 实施范围 paragraph (``主园区(26.21平方公里)``)."""

    name: str
    area_km2: float | None
    sizhi: BoundarySpec | None
    text: str = ""
    start: int = 0
    end: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"name": self.name, "area_km2": self.area_km2, "text": self.text,
                "sizhi": self.sizhi.to_dict() if self.sizhi else None}


@dataclass(frozen=True)
class BlockScope:
    """One block (区块) of an 实施范围 paragraph, with its parts."""

    name: str
    full_name: str
    area_km2: float | None
    parts: tuple[PartScope, ...]
    notes: tuple[str, ...] = ()

    def part(self, name: str) -> PartScope:
        """The part with this name (``KeyError`` naming the known parts otherwise)."""
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"no part {name!r} in {self.name}; parts: {', '.join(p.name for p in self.parts)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"name": self.name, "full_name": self.full_name, "area_km2": self.area_km2,
                "parts": [p.to_dict() for p in self.parts], "notes": list(self.notes)}


@dataclass(frozen=True)
class ScopeSpec:
    """A parsed 实施范围 paragraph: total area, blocks, parts and their 四至."""

    total_area_km2: float | None
    blocks: tuple[BlockScope, ...]
    text: str = ""
    notes: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[PartScope, ...]:
        """Every part of every block, in text order."""
        return tuple(p for b in self.blocks for p in b.parts)

    def block(self, name: str) -> BlockScope:
        """The block with this (short or full) name."""
        for b in self.blocks:
            if name in (b.name, b.full_name):
                return b
        raise KeyError(f"no block {name!r}; blocks: {', '.join(b.name for b in self.blocks)}")

    def area_checks(self, *, rounding_km2: float = 0.01) -> list[dict[str, Any]]:
        """The paragraph's own arithmetic: parts sum to their block, blocks to the total.

        Each check is a dict ``{"name", "expected_km2", "sum_km2", "ok"}``; ``ok`` is
        ``None`` when a figure is missing.
        """
        checks: list[dict[str, Any]] = []

        def add(name: str, expected: float | None, values: list[float | None]) -> None:
            if expected is None or not values or any(v is None for v in values):
                checks.append({"name": name, "expected_km2": expected, "sum_km2": None, "ok": None})
                return
            total = float(sum(v for v in values if v is not None))
            checks.append({"name": name, "expected_km2": expected, "sum_km2": round(total, 6),
                           "ok": abs(total - expected) <= rounding_km2 / 2 + 1e-9})

        add("blocks → total", self.total_area_km2, [b.area_km2 for b in self.blocks])
        for b in self.blocks:
            if len(b.parts) > 1:
                add(f"parts → {b.name}", b.area_km2, [p.area_km2 for p in b.parts])
        return checks

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"total_area_km2": self.total_area_km2, "blocks": [b.to_dict() for b in self.blocks],
                "notes": list(self.notes), "area_checks": self.area_checks()}


# ------------------------------------------------------------------ helpers


def normalize_text(text: str) -> str:
    """Half-width form of a text, one output character per input character.

    Full-width letters, digits and punctuation become half-width (NFKC per character,
    kept only when it yields exactly one character, so character offsets stay valid);
    ``，；：（）`` become ``,;:()``. 、 and 。 are kept.
    """
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def format_distance_m(value_m: float) -> str:
    """A distance for a message, short whatever its size: ``1.5 km``, ``500 m``, ``1e+20 km``, ``inf km``."""
    v = float(value_m)
    if not math.isfinite(v):
        return "more than 1e+308 km" if v > 0 else f"{v} km"
    if abs(v) >= 1000:
        km = v / 1000
        return f"{km:.3g} km" if abs(km) >= 1e6 else f"{km:,.3f}".rstrip("0").rstrip(".") + " km"
    return f"{v:g} m"


def parse_chinese_number(s: str) -> float:
    """Parse ``一``, ``两``, ``十五``, ``一点五``, ``半``, ``二百五十`` or ``1.5`` into a float.

    Raises
    ------
    ValueError
        For a string that is not a number (the caller turns it into :class:`SizhiParseError`).
    """
    s = s.strip()
    if not s:
        raise ValueError("empty number")
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    if s == "半":
        return 0.5
    if "点" in s:
        whole, _, frac = s.partition("点")
        if not frac or any(c not in _CN_DIGITS for c in frac):
            raise ValueError(f"bad decimal {s!r}")
        w = parse_chinese_number(whole) if whole else 0.0
        return w + float("0." + "".join(str(_CN_DIGITS[c]) for c in frac))
    total = 0
    current = -1  # -1: no digit pending
    last_unit = 10_000
    for c in s:
        if c in _CN_DIGITS:
            if current >= 0 and current != 0:
                raise ValueError(f"two digits in a row in {s!r}")
            current = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            u = _CN_UNITS[c]
            if u >= last_unit:
                raise ValueError(f"bad unit order in {s!r}")
            total += (current if current > 0 else 1) * u
            current = -1
            last_unit = u
        else:
            raise ValueError(f"not a number: {s!r} (write 1.5公里 rather than 一公里半)")
    if current > 0:
        total += current
    if total == 0 and not any(c in "零〇" for c in s):
        raise ValueError(f"not a number: {s!r}")
    return float(total)


def guess_kind(name: str) -> str:
    """Guess ``road``/``water``/``rail`` from a feature name's suffix (``unknown`` if none fits)."""
    n = normalize_text(name).strip()
    n = re.sub(r"\(.*?\)$", "", n)
    for suffix, kind in KIND_SUFFIXES:
        if n.endswith(suffix):
            return kind
    m = _REF_RE.match(n)
    if m and m.group("letter") and not m.group("rest"):
        return "road"
    if n in EXPRESSWAY_REFS:
        return "road"
    return "unknown"


def parse_ref(name: str, *, expressway_refs: Mapping[str, str] | None = None) -> str | None:
    """The route number a name carries or implies, or ``None``.

    ``318国道`` / ``G318国道`` / ``G318`` / ``国道318`` → ``G318``; ``S215省道`` / ``215省道`` → ``S215``;
    ``G50高速`` / ``G50沪渝高速`` / ``沪渝高速`` → ``G50``; ``X012县道`` → ``X012``.
    """
    table = EXPRESSWAY_REFS if expressway_refs is None else expressway_refs
    n = normalize_text(name).strip().replace(" ", "")
    n = re.sub(r"\(.*?\)$", "", n)
    m = re.fullmatch(r"(国道|省道|县道|乡道)([GSXYgsxy]?)(\d{1,4})", n)
    if m:
        letter = m.group(2).upper() or {"国道": "G", "省道": "S", "县道": "X", "乡道": "Y"}[m.group(1)]
        return f"{letter}{m.group(3)}"
    m = _REF_RE.match(n)
    if m:
        letter = (m.group("letter") or "").upper()
        suffix = m.group("suffix") or ""
        rest = m.group("rest") or ""
        if not letter:
            letter = {"国道": "G", "省道": "S", "县道": "X", "乡道": "Y"}.get(suffix, "")
        if letter:
            # a letter+number must stand alone or be followed by a road word / expressway name
            if not rest or suffix or rest in table or rest.endswith(("高速", "高速公路", "国道", "省道", "公路", "线")):
                return f"{letter}{m.group('num')}"
    if n in table:
        return table[n]
    for name_, ref in table.items():
        if n.endswith(name_):
            return ref
    return None


def _split_top(text: str, start: int, end: int, seps: str) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` at separator characters outside brackets → [(s, e)]."""
    out: list[tuple[int, int]] = []
    depth = 0
    s = start
    for i in range(start, end):
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and c in seps:
            out.append((s, i))
            s = i + 1
    out.append((s, end))
    return out


def _check_brackets(text: str, base: int = 0) -> None:
    stack: list[tuple[str, int]] = []
    for i, c in enumerate(text):
        if c in _OPEN:
            if stack:
                raise SizhiParseError("nested brackets are not supported; write the note without inner brackets",
                                      offset=base + i, text=text)
            stack.append((c, i))
        elif c in _CLOSE:
            if not stack or stack[-1][0] != _PAIR[c]:
                raise SizhiParseError(f"closing bracket {c!r} without a matching opening bracket", offset=base + i, text=text)
            stack.pop()
    if stack:
        raise SizhiParseError(f"bracket {stack[-1][0]!r} is never closed", offset=base + stack[-1][1], text=text)


def _strip_span(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _ends_like_feature(s: str) -> bool:
    s = s.strip()
    if not s:
        return False
    if s.endswith(")"):
        return True
    if guess_kind(s) != "unknown" or parse_ref(s):
        return True
    return bool(_OFFSET_RE.search(s) or _SIDE_OF_RE.search(s) or _CENTRE_RE.search(s))


def _split_items(t: str, s: int, e: int) -> list[tuple[int, int]]:
    """Split a side's feature list into items: 、 / and the conjunctions 及/和/以及/与 (only between two features)."""
    pieces = _split_top(t, s, e, _ITEM_SEPS)
    out: list[tuple[int, int]] = []
    for ps, pe in pieces:
        cur = ps
        i = ps
        depth = 0
        while i < pe:
            c = t[i]
            if c in _OPEN:
                depth += 1
            elif c in _CLOSE:
                depth = max(0, depth - 1)
            elif depth == 0:
                for conj in _CONJ:
                    if t.startswith(conj, i) and i > cur:
                        left = t[cur:i]
                        right = t[i + len(conj):pe].strip()
                        if right and _ends_like_feature(left):
                            out.append((cur, i))
                            cur = i + len(conj)
                            i = cur - 1
                            break
            i += 1
        out.append((cur, pe))
    return out


def _parse_name(t: str, s: int, e: int, *, what: str, expressway_refs: Mapping[str, str] | None,
                kinds: Mapping[str, str] | None) -> tuple[str, str, str | None, str]:
    """Validate a bare feature name → (name, kind, ref, kind_source)."""
    s, e = _strip_span(t, s, e)
    name = t[s:e].replace(" ", "")
    if not name:
        raise SizhiParseError(f"{what}: feature name missing", offset=s, text=t)
    if not _NAME_OK.match(name):
        bad = next((i for i, c in enumerate(t[s:e]) if not _NAME_OK.match(c)), 0)
        raise SizhiParseError(
            f"{what}: {t[s:e]!r} is not a feature name (unexpected character {t[s + bad]!r}); "
            "separate features with 、 and sides with ,", offset=s + bad, text=t)
    ref = parse_ref(name, expressway_refs=expressway_refs)
    if not _CJK.search(name) and ref is None:
        raise SizhiParseError(
            f"{what}: {name!r} is neither a Chinese feature name (创业路) nor a road number (G318)",
            offset=s, text=t)
    if len(name) > 40:
        raise SizhiParseError(f"{what}: feature name {name[:20]!r}… is over 40 characters; is a separator (、 or ,) missing?",
                              offset=s, text=t)
    if _SIDE_START.search(name):
        m = _SIDE_START.search(name)
        assert m is not None
        raise SizhiParseError(
            f"{what}: {name!r} contains {m.group(0)!r}; start each side on its own clause after a comma",
            offset=s + m.start(), text=t)
    q = re.search(rf"(?:以|之)(?:{_SIDE_ALT})", name)
    if q:
        raise SizhiParseError(
            f"{what}: cannot read the qualifier {name[q.start():]!r} of {name[:q.start()]!r}; write it as "
            "以北500米 / 以北一公里处 / 北侧", offset=s + q.start(), text=t)
    if kinds and name in kinds:
        kind = kinds[name]
        if kind not in KINDS:
            raise SizhiParseError(f"unknown feature kind {kind!r} for {name}; use one of {', '.join(KINDS)}")
        return name, kind, ref, "given"
    return name, guess_kind(name), ref, "guessed"


def _parse_paren(t: str, s: int, e: int, *, expressway_refs: Mapping[str, str] | None,
                 kinds: Mapping[str, str] | None) -> tuple[str, Any]:
    """Read a bracket's content → ("constraint", Constraint) | ("section", str) | ("alt", str) | ("note", str)."""
    s, e = _strip_span(t, s, e)
    content = t[s:e]
    if not content:
        raise SizhiParseError("empty brackets", offset=s, text=t)
    m = re.fullmatch(rf"(?:位于|在)?(?P<name>.+?)(?:以|之)(?P<dir>{_SIDE_ALT})(?:侧|面|边|部|段|区域|部分)?(?:的)?(?:部分|段|区域|范围)?", content)
    if m:
        ns, ne = s + m.start("name"), s + m.end("name")
        name, kind, ref, ksrc = _parse_name(t, ns, ne, what="note in brackets", expressway_refs=expressway_refs, kinds=kinds)
        f = FeatureRef(name=name, kind=kind, ref=ref, text=t[ns:ne], start=ns, end=ne, kind_source=ksrc)
        return "constraint", Constraint(feature=f, direction=SIDE_CODES[m.group("dir")], text=content)
    if re.fullmatch(rf"(?:{_SIDE_ALT}|中)段", content):
        return "section", content
    if re.fullmatch(r"[GSXYgsxy]\d{1,4}", content.replace(" ", "")):
        return "ref", content.replace(" ", "").upper()
    m = re.fullmatch(r"(?:原|旧称|旧|即|又称|俗称|亦称|也称)(?P<alt>.+)", content)
    if m:
        return "alt", m.group("alt").strip()
    return "note", content


def _parse_item(t: str, s: int, e: int, *, side_label: str, expressway_refs: Mapping[str, str] | None,
                kinds: Mapping[str, str] | None) -> tuple[FeatureRef, bool]:
    """Parse one list item → (FeatureRef, not_exhaustive)."""
    s, e = _strip_span(t, s, e)
    what = f"{side_label}至"
    if s >= e:
        raise SizhiParseError(f"{what}: empty item (two separators in a row?)", offset=s, text=t)
    item = t[s:e]
    # trailing 等
    not_exhaustive = False
    m = _NOT_EXHAUSTIVE_RE.search(item)
    if m and m.start() > 0:
        not_exhaustive = True
        e = s + m.start()
        s, e = _strip_span(t, s, e)
    # brackets: take them out, remember their content
    constraints: list[Constraint] = []
    bracket_ref: str | None = None
    section = None
    alts: list[str] = []
    notes: list[str] = []
    chunks: list[tuple[int, int]] = []  # pieces of the item outside brackets
    i = s
    cur = s
    while i < e:
        if t[i] in _OPEN:
            j = i + 1
            while j < e and t[j] not in _CLOSE:
                j += 1
            if j >= e:
                raise SizhiParseError(f"{what}: bracket is never closed", offset=i, text=t)
            chunks.append((cur, i))
            kind_, val = _parse_paren(t, i + 1, j, expressway_refs=expressway_refs, kinds=kinds)
            if kind_ == "constraint":
                constraints.append(val)
            elif kind_ == "section":
                section = val
            elif kind_ == "alt":
                alts.append(val)
            elif kind_ == "ref":
                bracket_ref = val
            else:
                notes.append(val)
            cur = j + 1
            i = j + 1
            continue
        i += 1
    chunks.append((cur, e))
    # the name is the first chunk; a qualifier may be in the first chunk (no brackets) or the last
    body = "".join(t[a:b] for a, b in chunks)
    # map positions of body back to text offsets
    pos: list[int] = [p for a, b in chunks for p in range(a, b)]
    body_stripped = body.rstrip()
    offset_m = offset_dir = None
    approx = False
    side_of = None
    qual_at = len(body_stripped)
    m = _OFFSET_RE.search(body_stripped)
    for rx in (_OFFSET_RE, _SIDE_OF_RE, _BARE_SIDE_RE, _CENTRE_RE):
        m0 = rx.search(body_stripped)
        if m0 is not None and m0.start() == 0:
            raise SizhiParseError(f"{what}: feature name missing before {body_stripped!r}", offset=s, text=t)
    if m and m.start() > 0:
        try:
            value = parse_chinese_number(m.group("num"))
        except ValueError:
            raise SizhiParseError(f"{what}: cannot read the distance {m.group('num')!r}",
                                  offset=pos[m.start("num")], text=t) from None
        unit = m.group("unit").lower()
        factor = 1000.0 if unit in ("公里", "千米", "km") else 1.0
        offset_m = value * factor
        if not (offset_m > 0):
            raise SizhiParseError(f"{what}: offset distance must be positive", offset=pos[m.start("num")], text=t)
        if not offset_m <= MAX_OFFSET_M:
            raise SizhiParseError(
                f"{what}: offset {format_distance_m(offset_m)} is beyond {MAX_OFFSET_M / 1000:g} km; a 四至 offset is "
                "metres to a few kilometres — check the number", offset=pos[m.start("num")], text=t)
        offset_dir = SIDE_CODES[m.group("dir")]
        approx = bool(m.group("approx")) or "左右" in m.group(0)
        qual_at = m.start()
    else:
        m2 = _SIDE_OF_RE.search(body_stripped)
        m3 = _BARE_SIDE_RE.search(body_stripped)
        m4 = _CENTRE_RE.search(body_stripped)
        if m3 and m3.start() > 0:
            side_of = SIDE_CODES[m3.group("dir")]
            qual_at = m3.start()
        elif m2 and m2.start() > 0:
            side_of = SIDE_CODES[m2.group("dir")]
            qual_at = m2.start()
        elif m4 and m4.start() > 0:
            side_of = "C"
            qual_at = m4.start()
    if qual_at <= 0 or not pos:
        raise SizhiParseError(f"{what}: feature name missing before {body_stripped!r}", offset=s, text=t)
    name_end = pos[qual_at - 1] + 1
    name_start = pos[0]
    # the name must be one piece of text (brackets only after it)
    first_a, first_b = chunks[0]
    if name_end > first_b and first_b > first_a:
        # qualifier or name text continues after a bracket, e.g. 外环路(…)以北一公里: allowed when
        # everything after the first chunk is a qualifier
        name_end = first_b
        rest = "".join(t[a:b] for a, b in chunks[1:]).strip()
        if rest and not (offset_m or side_of):
            raise SizhiParseError(f"{what}: unexpected text {rest!r} after the brackets", offset=chunks[1][0], text=t)
    elif first_b == first_a:
        raise SizhiParseError(f"{what}: feature name missing before the brackets", offset=s, text=t)
    name, kind, ref, ksrc = _parse_name(t, name_start, name_end, what=what, expressway_refs=expressway_refs, kinds=kinds)
    if bracket_ref is not None:
        if ref is not None and ref != bracket_ref:
            raise SizhiParseError(f"{what}: {name} means {ref} but the brackets say {bracket_ref}",
                                  offset=name_start, text=t)
        ref = bracket_ref
        if kind == "unknown" and ksrc == "guessed":
            kind = "road"
    f = FeatureRef(
        name=name, kind=kind, ref=ref, offset_m=offset_m, offset_direction=offset_dir, offset_approximate=approx,
        side_of_feature=side_of, constraints=tuple(constraints), section=section, alt_names=tuple(alts),
        notes=tuple(notes), text=t[s:e], start=s, end=e, kind_source=ksrc,
    )
    return f, not_exhaustive


def _parse_sides(t: str, start: int, end: int, *, expressway_refs: Mapping[str, str] | None,
                 kinds: Mapping[str, str] | None, original: str) -> BoundarySpec:
    _check_brackets(t[start:end], base=start)
    clauses = _split_top(t, start, end, _CLAUSE_SEPS)
    sides: list[Side] = []
    cur: dict[str, Any] | None = None

    def close() -> None:
        if cur is None:
            return
        feats: list[FeatureRef] = []
        not_exh = False
        items = [(a, b) for a, b in cur["items"]]
        if not items:
            raise SizhiParseError(f"{SIDE_LABELS[cur['dir']]}至: no feature given", offset=cur["start"], text=original)
        for k, (a, b) in enumerate(items):
            f, ne = _parse_item(t, a, b, side_label=SIDE_LABELS[cur["dir"]], expressway_refs=expressway_refs, kinds=kinds)
            if ne and k != len(items) - 1:
                raise SizhiParseError(f"{SIDE_LABELS[cur['dir']]}至: 等 must end the list", offset=b - 1, text=original)
            not_exh = not_exh or ne
            feats.append(f)
        sides.append(Side(direction=cur["dir"], features=tuple(feats), not_exhaustive=not_exh,
                          text=t[cur["start"]:cur["end"]], start=cur["start"], end=cur["end"]))

    for cs, ce in clauses:
        cs, ce = _strip_span(t, cs, ce)
        if cs >= ce:
            continue
        m = _SIDE_START.match(t, cs)
        if m and m.end() <= ce:
            close()
            code = SIDE_CODES[m.group("side")]
            if any(s.direction == code for s in sides):
                raise SizhiParseError(f"side {m.group('side')} is given twice; list all its features in one clause",
                                      offset=cs, text=original)
            cur = {"dir": code, "start": cs, "end": ce, "items": []}
            body_s, body_e = _strip_span(t, m.end(), ce)
            if body_s >= body_e:
                raise SizhiParseError(f"{m.group('side')}至: no feature given", offset=m.end(), text=original)
            cur["items"].extend(_split_items(t, body_s, body_e))
        else:
            if cur is None:
                raise SizhiParseError(
                    "expected a side such as 东至/南至/西至/北至 here", offset=cs, text=original)
            cur["end"] = ce
            cur["items"].extend(_split_items(t, cs, ce))
    close()
    if not sides:
        raise SizhiParseError("no side (东至/南至/西至/北至) found", offset=start, text=original)
    return BoundarySpec(sides=tuple(sides), text=original)


# ------------------------------------------------------------------ public API


def parse_sizhi(
    text: str,
    *,
    kinds: Mapping[str, str] | None = None,
    expressway_refs: Mapping[str, str] | None = None,
) -> BoundarySpec:
    """Parse a 四至 text into a :class:`BoundarySpec`.

    Parameters
    ----------
    text
        The 四至, e.g. ``"东至民生路,南至光藻路、南山路,西至无量溪河西侧,北至芜杭铁路。"``.
        Full- and half-width punctuation are both accepted; the sides may come in any order.
    kinds
        Override the guessed kind of features by name (``{"祥花线": "road"}``).
    expressway_refs
        Expressway name → route number table used instead of :data:`EXPRESSWAY_REFS`.

    Returns
    -------
    BoundarySpec
        Sides in text order; character offsets refer to ``text``.

    Raises
    ------
    SizhiParseError
        When the text cannot be read; ``offset`` is the character offset of the problem.
    """
    if not isinstance(text, str):
        raise SizhiParseError(f"四至 text must be a string, not {type(text).__name__}", offset=0)
    t = normalize_text(text)
    s, e = _strip_span(t, 0, len(t))
    if s >= e:
        raise SizhiParseError("四至 text is empty", offset=0, text=text)
    m = _PREFIX_RE.match(t, s)
    if m and m.end() > s:
        s, e = _strip_span(t, m.end(), e)
        if s >= e:
            raise SizhiParseError("四至 text has no side after its heading", offset=m.end(), text=text)
    return _parse_sides(t, s, e, expressway_refs=expressway_refs, kinds=kinds, original=text)


_AREA = rf"(?P<area>{_NUM})\s*(?:平方公里|平方千米|km2|km²)"


def _area(m: re.Match[str], t: str) -> float:
    try:
        return parse_chinese_number(m.group("area"))
    except ValueError:
        raise SizhiParseError(f"cannot read the area {m.group('area')!r}", offset=m.start("area"), text=t) from None


def _area_at(value: str, offset: int, text: str) -> float:
    try:
        return parse_chinese_number(value)
    except ValueError:
        raise SizhiParseError(f"cannot read the area {value!r}", offset=offset, text=text) from None


def parse_implementation_scope(
    text: str,
    *,
    kinds: Mapping[str, str] | None = None,
    expressway_refs: Mapping[str, str] | None = None,
) -> ScopeSpec:
    """Parse a whole 实施范围 paragraph: total area, blocks, parts with areas and their 四至.

    The paragraph of 宣政秘〔2022〕14号 reads (abridged)::

        宣城联动创新区的实施范围为59.78平方公里,包括宣城经济技术开发区(以下简称宣城经开区)和
        广德经济开发区(以下简称广德经开区)2个区块。宣城经开区区块总面积29.8平方公里。东至…,北至…。
        广德经开区区块总面积29.98平方公里,包括主园区(26.21平方公里)和西区(3.77平方公里)。
        主园区东至民生路,…北至芜杭铁路。主园区经G50沪渝高速往西至西区,西区东至经四路,…

    Rules: a block is opened by ``<name>区块总面积N平方公里``; its parts by
    ``包括<part>(N平方公里)和<part>(N平方公里)``; a 四至 starts at a clause beginning with a side
    (``东至``), optionally prefixed by a part name (``主园区东至``), and runs to the end of the
    sentence (。) or to the next part-prefixed side. A block without listed parts is its own
    single part. Clauses that are none of these (``主园区经G50沪渝高速往西至西区``) are kept as
    notes of the block.

    Parameters
    ----------
    text
        The paragraph (full- or half-width punctuation).
    kinds, expressway_refs
        As in :func:`parse_sizhi`.

    Raises
    ------
    SizhiParseError
        For a 四至 that cannot be read, a part named twice, a part without a 四至, or a 四至
        that belongs to no block; ``offset`` points into ``text``.
    """
    if not isinstance(text, str):
        raise SizhiParseError(f"text must be a string, not {type(text).__name__}", offset=0)
    t = normalize_text(text)
    _check_brackets(t)
    total = None
    m = re.search(rf"实施范围(?:总面积)?(?:为|是|共|约|共计)*{_AREA}", t)
    if m:
        total = _area(m, t)
    # block names: 包括A(以下简称B)和C(以下简称D)N个区块
    blocks: list[dict[str, Any]] = []
    for bm in re.finditer(r"(?:包括|及|和|、)(?P<full>[^,、。;()和及]+?)\((?:以下)?简称(?P<short>[^)]+)\)", t):
        blocks.append({"name": bm.group("short").strip(), "full": bm.group("full").strip(), "area": None,
                       "parts": [], "notes": [], "declared_parts": []})
    notes: list[str] = []
    sentences = _split_top(t, 0, len(t), "。\n")
    current: dict[str, Any] | None = None

    def find_block(name: str) -> dict[str, Any] | None:
        for b in blocks:
            if name in (b["name"], b["full"]):
                return b
        return None

    def part_names() -> list[str]:
        names: list[str] = []
        for b in blocks:
            names.extend(p[0] for p in b["declared_parts"])
            names.append(b["name"])
        return sorted(set(names), key=len, reverse=True)

    runs: list[dict[str, Any]] = []
    for ss, se in sentences:
        ss, se = _strip_span(t, ss, se)
        if ss >= se:
            continue
        clauses = [c for c in (_strip_span(t, a, b) for a, b in _split_top(t, ss, se, ",;")) if c[0] < c[1]]
        run: dict[str, Any] | None = None
        for cs, ce in clauses:
            clause = t[cs:ce]
            bm = re.match(rf"(?P<block>[^,。]+?)区块(?:总)?面积(?:为|是|约)*{_AREA}", clause)
            if bm:
                name = bm.group("block").strip()
                b = find_block(name)
                if b is None:
                    b = {"name": name, "full": name, "area": None, "parts": [], "notes": [], "declared_parts": []}
                    blocks.append(b)
                b["area"] = _area_at(bm.group("area"), cs + bm.start("area"), text)
                current = b
                run = None
                continue
            if clause.startswith("包括") and "区块" not in clause:
                pm = list(re.finditer(rf"(?:包括|和|及|、)(?P<name>[^,、()和及]+?)\({_AREA}\)", clause))
                if pm and current is not None:
                    for p in pm:
                        current["declared_parts"].append(
                            (p.group("name").strip(), _area_at(p.group("area"), cs + p.start("area"), text)))
                    run = None
                    continue
            if re.search(r"实施范围|个区块", clause):
                run = None
                continue
            # a side start, optionally prefixed by a part or block name
            subject = None
            sm = _SIDE_START.match(t, cs)
            if not sm:
                for pn in part_names():
                    if clause.startswith(pn):
                        sm2 = _SIDE_START.match(t, cs + len(pn))
                        if sm2:
                            subject, sm = pn, sm2
                            break
            if sm:
                if run is None or subject is not None:
                    if current is None:
                        raise SizhiParseError("a 四至 appears before any block (…区块总面积…平方公里)", offset=cs, text=text)
                    run = {"block": current, "subject": subject, "start": sm.start(), "end": ce}
                    runs.append(run)
                else:
                    run["end"] = ce
                continue
            if run is not None:
                run["end"] = ce  # continuation of a feature list
                continue
            (current["notes"] if current is not None else notes).append(clause)
    # attach runs to parts
    for r in runs:
        b = r["block"]
        subj = r["subject"]
        spec = _parse_sides(t, r["start"], r["end"], expressway_refs=expressway_refs, kinds=kinds, original=text)
        if subj is None or subj == b["name"]:
            if b["declared_parts"]:
                raise SizhiParseError(
                    f"a 四至 in block {b['name']} names no part, but the block has parts "
                    f"({', '.join(p[0] for p in b['declared_parts'])}); prefix it with the part name",
                    offset=r["start"], text=text)
            pname, parea = b["name"], b["area"]
        else:
            owner = next((bb for bb in blocks if any(p[0] == subj for p in bb["declared_parts"])), None)
            if owner is None:
                raise SizhiParseError(f"{subj} is not a declared part", offset=r["start"], text=text)
            b = owner
            pname = subj
            parea = next(p[1] for p in b["declared_parts"] if p[0] == subj)
        if any(p.name == pname for p in b["parts"]):
            raise SizhiParseError(f"part {pname} has two 四至 texts", offset=r["start"], text=text)
        b["parts"].append(PartScope(name=pname, area_km2=parea, sizhi=spec, text=t[r["start"]:r["end"]],
                                    start=r["start"], end=r["end"]))
    out_blocks: list[BlockScope] = []
    for b in blocks:
        parts = list(b["parts"])
        for pname, parea in b["declared_parts"]:
            if not any(p.name == pname for p in parts):
                raise SizhiParseError(f"part {pname} of {b['name']} has no 四至 in the text", offset=len(text), text=text)
        order = {p[0]: i for i, p in enumerate(b["declared_parts"])}
        parts.sort(key=lambda p: order.get(p.name, -1))
        out_blocks.append(BlockScope(name=b["name"], full_name=b["full"], area_km2=b["area"], parts=tuple(parts),
                                     notes=tuple(b["notes"])))
    if not out_blocks or not any(b.parts for b in out_blocks):
        raise SizhiParseError("no block with a 四至 found (expected …区块总面积…平方公里 and 东至…)", offset=0, text=text)
    return ScopeSpec(total_area_km2=total, blocks=tuple(out_blocks), text=text, notes=tuple(notes))


def compare_scope_with_spec(scope: ScopeSpec, spec: Any, *, rounding_km2: float = 0.01) -> list[dict[str, Any]]:
    """Check a zone spec (``spec.toml``) against the 实施范围 paragraph it was copied from.

    Each spec part is paired with the paragraph's part whose name ends its ``name_zh``
    (``广德经开区西区`` ↔ ``西区``; a block that is its own part matches by its name). Areas
    and the parsed 四至 (sides, feature names in order, refs, offsets, side-of-feature,
    constraints, 等) are compared.

    Parameters
    ----------
    scope
        The parsed paragraph (:func:`parse_implementation_scope`).
    spec
        A :class:`~xclz_geo.boundaries.zone.ZoneSpec` (anything with ``parts`` carrying ``id``,
        ``name_zh``, ``official_area_km2`` and ``sizhi_zh``).

    Returns
    -------
    list of dict
        One entry per spec part: ``part_id``, ``paragraph_part`` (or ``None``), ``ok`` and
        ``differences`` (human-readable strings).
    """

    def sig(b: BoundarySpec) -> list[tuple[Any, ...]]:
        return [(sd.direction, sd.not_exhaustive,
                 tuple((f.name, f.ref, f.offset_m, f.offset_direction, f.side_of_feature,
                        tuple((c.feature.name, c.direction) for c in f.constraints)) for f in sd.features))
                for sd in b.sides]

    out: list[dict[str, Any]] = []
    parts = list(scope.parts)
    for sp in spec.parts:
        name = str(getattr(sp, "name_zh", ""))
        match = [p for p in parts if name == p.name or name.endswith(p.name)]
        match.sort(key=lambda p: -len(p.name))
        diffs: list[str] = []
        if not match:
            out.append({"part_id": sp.id, "paragraph_part": None, "ok": False,
                        "differences": [f"no part of the paragraph matches {name!r} "
                                        f"(paragraph parts: {', '.join(p.name for p in parts)})"]})
            continue
        pp = match[0]
        area = getattr(sp, "official_area_km2", None)
        if area is not None and pp.area_km2 is not None and abs(float(area) - pp.area_km2) > rounding_km2 / 2:
            diffs.append(f"area {area} km² in the spec, {pp.area_km2} km² in the paragraph")
        text = str(getattr(sp, "sizhi_zh", "") or "")
        if not text:
            diffs.append("the spec has no 四至 text")
        elif pp.sizhi is not None:
            try:
                mine = parse_sizhi(text)
            except SizhiParseError as exc:
                diffs.append(f"the spec's 四至 does not parse: {exc}")
            else:
                a, b = sig(mine), sig(pp.sizhi)
                if a != b:
                    for x, y in itertools.zip_longest(a, b):
                        if x != y:
                            diffs.append(f"spec {x} ≠ paragraph {y}")
        out.append({"part_id": sp.id, "paragraph_part": pp.name, "ok": not diffs, "differences": diffs})
    return out


def iter_feature_refs(spec: BoundarySpec, *, with_constraints: bool = True) -> Iterable[FeatureRef]:
    """Every feature of a spec (and, optionally, the features its constraints name)."""
    for s in spec.sides:
        for f in s.features:
            yield f
            if with_constraints:
                for c in f.constraints:
                    yield c.feature


__all__ = [
    "BlockScope", "BoundarySpec", "CLOCKWISE", "Constraint", "compare_scope_with_spec", "EXPRESSWAY_REFS", "FeatureRef", "KINDS",
    "PartScope", "SIDE_CODES", "SIDE_LABELS", "SIDE_VECTORS", "ScopeSpec", "Side", "guess_kind",
    "iter_feature_refs", "normalize_text", "parse_chinese_number", "parse_implementation_scope",
    "parse_ref", "parse_sizhi",
]
