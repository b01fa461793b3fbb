"""Land use inside each part: national land-use codes, vector parcels and land-cover rasters.

Three concerns live here:

**Code tables** (``data/landuse/*.csv``): GB/T 21010-2017 (``gbt21010``), the 三调 working
classification of the DLTB layers (``sandiao``: 05H1, 0508, 08H1, 08H2 …), the 2023 用地用海
classification (``ydyh``), a crosswalk 三调 → 用地用海, and the report groups (industrial,
logistics, residential, commercial, public, transport, green, water, farmland, unused_other).
:func:`lookup` finds a class by code or name; :func:`classify_codes` classifies a column of
codes and keeps every code it does not know (status ``unknown``) — nothing is dropped.
:func:`detect_scheme` tells the three schemes apart (they share many codes with different
meanings: 1001 is 铁路用地 in GB/T 21010 and 工业用地 in 用地用海).

**Vector overlay** (:func:`landuse_by_part`): parcels (三调 图斑, planning layers) are
intersected with the parts in the zone's CGCS2000 Gauss-Krüger CRS; each part gets its
area per code in m², 公顷 and 亩, its share, the number of parcels, roll-ups to the first
level and to the report groups, and the area counted twice (overlapping parcels) and not
covered (gaps). A parcel that straddles a part boundary counts only its inside piece.

**Raster overlay** (:func:`landcover_by_part`, :func:`landcover_by_polygons`): categorical
rasters in any CRS, read by windows only. Class areas are weighted by the *exact* fraction of
each cell inside the polygon: interior cells come from a plain cell-centre rasterize, and only
the cells crossed by a polygon boundary get exact coverage fractions, computed in numpy from
the boundary edges by Green's theorem (no per-cell geometry). The result equals exact
coverage (exactextract's ``frac``) to floating-point precision at about the cost of the
cell-centre method. Nodata is reported apart from "outside the raster".
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from xclz_geo import units
from xclz_geo.errors import CRSError, DataQualityWarning, GeometryRepairWarning, InputDataError, InputFileError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.boundaries.zone import Zone

#: code schemes and their table files in ``data/landuse/``
SCHEMES: dict[str, str] = {
    "sandiao": "sandiao_working.csv",
    "gbt21010": "gbt21010_2017.csv",
    "ydyh": "ydyh_2023.csv",
}
#: human-readable titles of the schemes
SCHEME_TITLES: dict[str, str] = {
    "sandiao": "三调工作分类 (DLTB DLBM)",
    "gbt21010": "GB/T 21010-2017 土地利用现状分类",
    "ydyh": "国土空间调查、规划、用途管制用地用海分类 (2023)",
}
#: aliases accepted for ``scheme=``
SCHEME_ALIASES: dict[str, str] = {
    "sandiao": "sandiao", "三调": "sandiao", "dltb": "sandiao", "3diao": "sandiao",
    "gbt21010": "gbt21010", "gb/t21010": "gbt21010", "gb/t 21010-2017": "gbt21010", "gbt21010-2017": "gbt21010", "21010": "gbt21010",
    "ydyh": "ydyh", "用地用海": "ydyh", "ydyh2023": "ydyh", "guotukongjian": "ydyh",
}
#: built-in raster class tables in ``data/landuse/``
RASTER_CLASS_TABLES: dict[str, str] = {"worldcover": "worldcover.csv", "clcd": "clcd.csv"}

#: column names tried, in order, when ``code_field`` is not given
CODE_FIELD_CANDIDATES = ("DLBM", "dlbm", "GHFLDM", "GHFLDM2", "GHFLDM3", "YDYHFLDM", "YDDM", "DLDM", "地类编码", "用地代码", "分类代码", "code", "CODE")
#: column names tried, in order, for the class name
NAME_FIELD_CANDIDATES = ("DLMC", "dlmc", "GHFLMC", "GHFLMC2", "GHFLMC3", "YDYHFLMC", "YDMC", "地类名称", "用地名称", "分类名称", "name", "NAME")

#: the GK areas of a polygon and of its pieces may differ by float noise; below this, a piece is empty (m²)
_MIN_PIECE_M2 = 1e-6


def _table_path(name: str) -> Path:
    from xclz_geo.datasets import data_path

    return data_path("landuse", name)


def _read_data_csv(name: str) -> "pd.DataFrame":
    import pandas as pd

    p = _table_path(name)
    try:
        return pd.read_csv(p, comment="#", dtype=str, keep_default_na=False, encoding="utf-8")
    except Exception as exc:  # pragma: no cover - bundled files are tested
        raise InputFileError(f"{p}: cannot read code table ({exc})") from None


# ====================================================================== code tables


@dataclass(frozen=True)
class LandUseClass:
    """One class of a land-use code table.

    Attributes
    ----------
    scheme
        ``sandiao``, ``gbt21010`` or ``ydyh``.
    code, name_zh
        The class code (text, leading zeros kept) and its Chinese name.
    level
        1, 2 or 3.
    parent
        Code of the parent class (``""`` at level 1).
    level1_code, level1_name
        The first-level class it belongs to.
    level2_code, level2_name
        The second-level class (itself at level 2; the parent at level 3; ``""`` at level 1).
    group
        Report group (see ``data/landuse/report_groups.csv``).
    status
        ``confirmed``, ``recall_unverified`` or ``inferred`` (see ``data/landuse/README.md``).
    """

    scheme: str
    code: str
    name_zh: str
    level: int
    parent: str
    level1_code: str
    level1_name: str
    level2_code: str
    level2_name: str
    group: str
    status: str
    note: str = ""
    variant: bool = False

    def at_level(self, level: int) -> tuple[str, str]:
        """Code and name of this class rolled up to ``level`` (1, 2, or 3 = itself)."""
        if level <= 1 or self.level == 1:
            return self.level1_code, self.level1_name
        if level == 2 or self.level == 2:
            return self.level2_code, self.level2_name
        return self.code, self.name_zh


@dataclass(frozen=True)
class ReportGroup:
    """A report group (industrial, logistics …)."""

    group: str
    name_zh: str
    name_en: str
    order: int


@lru_cache(maxsize=1)
def report_groups() -> dict[str, ReportGroup]:
    """The report groups in report order, keyed by id."""
    df = _read_data_csv("report_groups.csv")
    out = {}
    for _, r in df.iterrows():
        out[r["group"]] = ReportGroup(r["group"], r["name_zh"], r["name_en"], int(r["order"]))
    return dict(sorted(out.items(), key=lambda kv: kv[1].order))


def normalize_scheme(scheme: str) -> str:
    """Canonical scheme id for a name or alias (``"三调"`` → ``"sandiao"``).

    Raises
    ------
    InputDataError
        For an unknown scheme (the message lists the accepted ones).
    """
    key = str(scheme).strip().lower().replace("_", "").replace(" ", "") if scheme is not None else ""
    for alias, canon in SCHEME_ALIASES.items():
        if key == alias.replace(" ", "").replace("_", ""):
            return canon
    raise InputDataError(
        f"unknown land-use code scheme {scheme!r}; use one of {', '.join(SCHEMES)} (or 'auto' to detect it)"
    )


def normalize_code(value: Any) -> str:
    """Normalise one land-use code as found in attribute tables.

    Text is stripped and upper-cased (``05h1`` → ``05H1``); numbers that lost their leading
    zero (``101``, ``101.0``) get it back (``0101``); missing values become ``""``.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer():
            value = int(value)
    s = str(value).strip().upper()
    if s in ("", "NAN", "NONE", "NULL", "<NA>"):
        return ""
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    if s.isdigit() and len(s) % 2 == 1:
        s = "0" + s
    return s


def _norm_name(name: Any) -> str:
    if name is None or (isinstance(name, float) and not math.isfinite(name)):
        return ""
    return str(name).strip().replace(" ", "").replace("\u3000", "")


class CodeTable:
    """A land-use code table (one scheme), with lookup by code or name.

    Use :func:`code_table` to get the bundled tables.
    """

    def __init__(self, scheme: str, rows: "pd.DataFrame", *, source: str = "", variants: "pd.DataFrame | None" = None,
                 suffix_rules: "pd.DataFrame | None" = None) -> None:
        self.scheme = scheme
        self.title = SCHEME_TITLES.get(scheme, scheme)
        self.source = source
        raw = {r["code"]: r for r in rows.to_dict("records")}  # dicts: iterrows cost more than the table
        variant_codes: set[str] = set()
        if variants is not None:
            # codes the layers carry that the standard does not define (data/landuse/code_variants.csv)
            for r in variants.to_dict("records"):
                if r["code"] in raw:
                    raise InputFileError(f"{source}: variant {r['code']} is already a class of {scheme}")
                raw[r["code"]] = r
                variant_codes.add(r["code"])
        #: suffix letter → meaning, from data/landuse/suffix_rules.csv (only these letters are stripped)
        self.suffix_rules: dict[str, str] = (
            {str(r["suffix"]).strip().upper(): r["meaning_zh"] for r in suffix_rules.to_dict("records")} if suffix_rules is not None else {}
        )
        levels: dict[str, int] = {}

        def level_of(code: str) -> int:
            if code not in levels:
                r = raw[code]
                levels[code] = level_of(r["parent"]) + 1 if code in variant_codes else int(r["level"])
            return levels[code]

        classes: dict[str, LandUseClass] = {}
        for code, r in raw.items():
            if code in variant_codes and r["parent"] not in raw:
                raise InputFileError(f"{source}: variant {code} names unknown parent {r['parent']}")
            level = level_of(code)
            chain = [code]
            while raw[chain[-1]]["parent"]:
                parent = raw[chain[-1]]["parent"]
                if parent not in raw:
                    raise InputFileError(f"{source}: class {code} names unknown parent {parent}")
                chain.append(parent)
            l1 = raw[chain[-1]]
            l2 = raw[chain[-2]] if len(chain) >= 2 else None
            classes[code] = LandUseClass(
                scheme=scheme, code=code, name_zh=r["name_zh"], level=level, parent=r["parent"],
                level1_code=l1["code"], level1_name=l1["name_zh"],
                level2_code=l2["code"] if l2 is not None else "", level2_name=l2["name_zh"] if l2 is not None else "",
                group=r["group"], status=r["status"], note=r.get("note", ""), variant=code in variant_codes,
            )
        self.classes = classes
        self._by_name: dict[str, list[LandUseClass]] = {}
        for c in classes.values():
            if c.variant:
                continue
            for key in {_norm_name(c.name_zh), _norm_name(c.name_zh).removesuffix("用地")}:
                if key:
                    self._by_name.setdefault(key, []).append(c)

    def __contains__(self, code: str) -> bool:
        return normalize_code(code) in self.classes

    def __len__(self) -> int:
        return len(self.classes)

    def level_codes(self, level: int) -> list[str]:
        """Codes of one level of the standard, in table order (variants not included)."""
        return [c.code for c in self.classes.values() if c.level == level and not c.variant]

    def parent_at(self, code: Any, level: int) -> str | None:
        """The code ``code`` rolls up to at ``level`` (1, 2, 3 = itself), by the tables' parents and
        suffix rules; ``None`` for a code the scheme does not know.

        >>> code_table("sandiao").parent_at("0301K", 1)
        '03'
        """
        c, _ = self.get(code)
        if c is None:
            return None
        return c.at_level(level)[0] if level < 3 else c.code

    def get(self, code: Any, *, include_variants: bool = True) -> tuple[LandUseClass | None, str]:
        """Find a class by code; returns ``(class, how)``.

        ``how`` is ``"exact"``; ``"variant (rolls up to P)"`` for a code listed in
        ``data/landuse/code_variants.csv`` (not a class of the standard, e.g. 05H1 in GB/T 21010);
        ``"base code (suffix X)"`` when a suffixed code such as ``0301K`` was matched to its base code
        by a rule of ``data/landuse/suffix_rules.csv``; or ``"unknown"``. Only the suffix letters
        the scheme's rules list are stripped.
        """
        s = normalize_code(code)
        c = self.classes.get(s)
        if c is not None and (include_variants or not c.variant):
            return c, ("exact" if not c.variant else f"variant (rolls up to {c.parent})")
        for suffix in sorted(self.suffix_rules, key=len, reverse=True):
            if len(s) > len(suffix) + 1 and s.endswith(suffix):
                base = self.classes.get(s[: -len(suffix)])
                if base is not None and (include_variants or not base.variant):
                    return base, f"base code (suffix {suffix})"
        return None, "unknown"

    def find_name(self, name: Any) -> list[LandUseClass]:
        """Classes whose Chinese name equals ``name`` (with or without the 用地 suffix)."""
        key = _norm_name(name)
        return list(self._by_name.get(key, self._by_name.get(key.removesuffix("用地"), [])))

    def lookup(self, code_or_name: Any) -> LandUseClass | None:
        """A class by code (suffix variants allowed) or by exact name; ``None`` when unknown."""
        c, _ = self.get(code_or_name)
        if c is not None:
            return c
        found = self.find_name(code_or_name)
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"CodeTable({self.scheme!r}, {len(self)} classes)"


@lru_cache(maxsize=None)
def code_table(scheme: str) -> CodeTable:
    """The bundled code table of a scheme (``sandiao``, ``gbt21010``, ``ydyh`` or an alias)."""
    s = normalize_scheme(scheme)
    variants = _read_data_csv("code_variants.csv")
    rules = _read_data_csv("suffix_rules.csv")
    return CodeTable(s, _read_data_csv(SCHEMES[s]), source=str(_table_path(SCHEMES[s])),
                     variants=variants[variants["scheme"] == s].drop(columns=["scheme"]).assign(level=""),
                     suffix_rules=rules[rules["scheme"] == s])


@lru_cache(maxsize=1)
def crosswalk_sandiao_ydyh() -> dict[str, tuple[str, str]]:
    """三调 code → (用地用海 code, status) from ``data/landuse/crosswalk_sandiao_ydyh.csv``."""
    df = _read_data_csv("crosswalk_sandiao_ydyh.csv")
    return {r["sandiao_code"]: (r["ydyh_code"], r["status"]) for _, r in df.iterrows()}


def to_ydyh(sandiao_code: Any) -> LandUseClass | None:
    """The 用地用海 class a 三调 code maps to (``None`` when the code is not in the crosswalk)."""
    table = code_table("sandiao")
    cls, _ = table.get(sandiao_code)
    cw = crosswalk_sandiao_ydyh()
    key = cls.code if cls is not None else normalize_code(sandiao_code)
    if key not in cw and cls is not None and cls.level == 3:
        key = cls.parent
    if key not in cw:
        return None
    return code_table("ydyh").classes.get(cw[key][0])


def lookup(code_or_name: Any, *, scheme: str = "auto") -> list[LandUseClass]:
    """Find land-use classes by code or by Chinese name, at any level.

    Parameters
    ----------
    code_or_name
        A code (``"0601"``, ``"05H1"``, ``"100101"``, ``601``) or a name (``"工业用地"``).
    scheme
        ``"auto"`` searches every scheme; otherwise one scheme.

    Returns
    -------
    list of LandUseClass
        One entry per scheme that knows the code or name (empty when none does: unknown
        codes are the caller's to report).
    """
    schemes = list(SCHEMES) if scheme == "auto" else [normalize_scheme(scheme)]
    out = []
    for s in schemes:
        c = code_table(s).lookup(code_or_name)
        if c is not None:
            out.append(c)
    return out


@dataclass
class SchemeDetection:
    """Result of :func:`detect_scheme`."""

    scheme: str
    scores: dict[str, float]
    known_share: dict[str, float]
    name_agreement: dict[str, float | None]
    markers: dict[str, list[str]]
    ambiguous: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme, "scores": self.scores, "known_share": self.known_share,
            "name_agreement": self.name_agreement, "markers": self.markers, "ambiguous": self.ambiguous,
            "reason": self.reason,
        }


_EXCLUSIVE = {
    "sandiao": lambda c: c in ("05H1", "08H1", "08H2", "08H2A", "00", "0508"),
    "gbt21010": lambda c: c == "0604" or (len(c) == 4 and c[:2] == "08" and c[2:] in ("02", "03", "04", "05", "06", "07", "08")),
    "ydyh": lambda c: len(c) == 6 and c.isdigit() or (len(c) == 4 and c.isdigit() and 13 <= int(c[:2]) <= 24),
}


def detect_scheme(codes: Iterable[Any], names: Iterable[Any] | None = None) -> SchemeDetection:
    """Tell which code scheme a column of codes (and, better, codes with names) uses.

    Each scheme scores the share of rows whose code it knows, plus (when names are given)
    the share of rows whose name agrees with its name for the code, plus 0.5 when codes only
    it uses appear (05H1/08H1/08H2/0508 for 三调; 0604 and 0802–0808 for GB/T 21010; 6-digit
    codes and 13xx–24xx for 用地用海). Ties go to 三调, then GB/T 21010 (三调 data is what
    planners hold); a near-tie is flagged ``ambiguous`` so callers can warn.
    """
    codes_n = [normalize_code(c) for c in codes]
    names_n = [_norm_name(n) for n in names] if names is not None else None
    n = max(len(codes_n), 1)
    scores: dict[str, float] = {}
    known: dict[str, float] = {}
    agree: dict[str, float | None] = {}
    markers: dict[str, list[str]] = {}
    distinct = sorted(set(c for c in codes_n if c))
    # each distinct code (and code-name pair) is looked up once and weighted by its count: the
    # same integer counts as row by row, so the same scores (a layer holds a few hundred distinct
    # codes and millions of rows)
    code_counts = Counter(codes_n)
    pair_counts = Counter((c, nm) for c, nm in zip(codes_n, names_n) if nm) if names_n is not None else None
    for s in SCHEMES:
        t = code_table(s)
        hits = {c: t.get(c, include_variants=False)[0] for c in code_counts}
        known[s] = sum(k for c, k in code_counts.items() if hits[c] is not None) / n
        if pair_counts is not None:
            npairs = sum(pair_counts.values())
            if npairs:
                ok = sum(k for (c, nm), k in pair_counts.items() if hits[c] is not None and nm in (
                    _norm_name(hits[c].name_zh), _norm_name(hits[c].name_zh).removesuffix("用地"), _norm_name(hits[c].name_zh) + "用地"))
                agree[s] = ok / npairs
            else:
                agree[s] = None
        else:
            agree[s] = None
        markers[s] = [c for c in distinct if _EXCLUSIVE[s](c)][:10]
        scores[s] = known[s] + (agree[s] or 0.0) + (0.5 if markers[s] else 0.0)
    order = sorted(SCHEMES, key=lambda s: (-round(scores[s], 9), list(SCHEMES).index(s)))
    best = order[0]
    ambiguous = False
    # a near-tie matters only when the tied schemes give the codes present different meanings
    t1 = code_table(best)
    for other in (s for s in order[1:] if scores[best] - scores[s] < 0.05):
        t2 = code_table(other)
        for c in distinct:
            a, b = t1.get(c, include_variants=False)[0], t2.get(c, include_variants=False)[0]
            if (a is None) != (b is None) or (a is not None and b is not None and _norm_name(a.name_zh) != _norm_name(b.name_zh)):
                ambiguous = True
                break
    parts = [f"{s}: {known[s]:.0%} of codes known" + (f", names agree {agree[s]:.0%}" if agree[s] is not None else "")
             + (f", codes only it uses: {', '.join(markers[s][:4])}" if markers[s] else "") for s in order]
    reason = f"chose {best} ({'; '.join(parts)})"
    return SchemeDetection(best, scores, known, agree, markers, ambiguous, reason)


def classify_codes(codes: Sequence[Any], *, scheme: str = "auto", names: Sequence[Any] | None = None) -> "pd.DataFrame":
    """Classify a column of codes; unknown and missing codes are kept and marked.

    Returns
    -------
    pandas.DataFrame
        One row per input value, in input order: ``code_in`` (as given), ``code`` (normalised),
        ``status`` (``known`` / ``suffix`` (a suffix rule) / ``variant`` (code_variants.csv) / ``by_name`` / ``unknown`` / ``missing``), ``match``, ``name``,
        ``level``, ``level1_code``, ``level1_name``, ``level2_code``, ``level2_name``, ``group``,
        ``class_status``; attribute ``df.attrs["scheme"]`` and ``df.attrs["detection"]``.
    """
    import pandas as pd

    codes = list(codes)
    det = None
    if scheme == "auto":
        det = detect_scheme(codes, names)
        s = det.scheme
    else:
        s = normalize_scheme(scheme)
    t = code_table(s)
    names_l = list(names) if names is not None else [None] * len(codes)
    rows = []
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    for raw, nm in zip(codes, names_l):
        code = normalize_code(raw)
        nm_s = _norm_name(nm)
        key = (code, nm_s)
        if key not in cache:
            if not code:
                found = t.find_name(nm_s) if nm_s else []
                if found:
                    c, how = found[0], "by name (code missing)"
                else:
                    c, how = None, "missing"
            else:
                c, how = t.get(code)
            if c is None:
                status = "missing" if not code else "unknown"
                label = nm_s or ("(no code)" if not code else f"(unknown code {code})")
                cache[key] = dict(code=code or "", status=status, match=how, name=label, level=None,
                                  level1_code=code or "", level1_name=label, level2_code=code or "", level2_name=label,
                                  group="unknown", class_status="")
            else:
                status = ("known" if how == "exact" else "suffix" if how.startswith("base")
                          else "variant" if how.startswith("variant") else "by_name")
                cache[key] = dict(code=code or c.code, status=status, match=how, name=c.name_zh, level=c.level,
                                  level1_code=c.level1_code, level1_name=c.level1_name,
                                  level2_code=c.level2_code or c.code, level2_name=c.level2_name or c.name_zh,
                                  group=c.group, class_status=c.status, class_code=c.code)
        row = dict(cache[key])
        row["code_in"] = raw
        rows.append(row)
    df = pd.DataFrame(rows, columns=["code_in", "code", "status", "match", "name", "level", "level1_code", "level1_name",
                                     "level2_code", "level2_name", "group", "class_status", "class_code"])
    df["class_code"] = df["class_code"].fillna(df["code"])
    df.attrs["scheme"] = s
    df.attrs["detection"] = det.to_dict() if det else {"scheme": s, "reason": "given"}
    return df


# ====================================================================== results


def _area_cols(df: "pd.DataFrame", col: str = "area_m2") -> "pd.DataFrame":
    df["area_ha"] = units.m2_to_ha(df[col].astype(float))
    df["area_mu"] = units.m2_to_mu(df[col].astype(float))
    return df


def _clean(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def _records(df: "pd.DataFrame", cols: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _clean(r[c]) for c in cols} for _, r in df.iterrows()]


def _status_counts(df: "pd.DataFrame") -> dict[str, int]:
    """Rows per ``status`` value (empty without a status column)."""
    return {k: int(v) for k, v in df["status"].value_counts().items()} if "status" in df else {}


def _overlay_summary(method: dict[str, Any], **counts: Any) -> dict[str, Any]:
    """The ``summary`` of an overlay result: worst input quality, quality per input, ``counts``, provenance."""
    from xclz_geo._results import jsonable, worst_quality

    q = method.get("quality") or {}
    return jsonable({"quality": worst_quality(q.get("zone"), q.get("data")), "quality_by_input": dict(q),
                     **counts, "provenance": method})


@dataclass
class LanduseResult:
    """Result of :func:`landuse_by_part` (vector parcels) — all areas planar in the zone's GK CRS.

    The common result shape: :attr:`table` (= :attr:`by_code`, also :attr:`by_class` as in
    :class:`LandcoverResult`), :attr:`summary` (``quality``: the worse of the zone's and the
    parcels' labels; ``provenance``: :attr:`method`) and :meth:`to_dict`. Not spatial (no
    ``layer``): the rows are per part and class. ``table`` was a method: ``res.table(level)``
    still works for one release, with a warning; use :meth:`level_table`.

    Attributes
    ----------
    by_code
        One row per part and code at the finest level asked (``level``): ``part_id``, ``code``,
        ``name``, ``level1_code``, ``level1_name``, ``group``, ``area_m2``, ``area_ha``,
        ``area_mu``, ``share`` (of the part's area), ``parcel_count``, ``code_status``.
    by_level1, by_group
        The same rolled up to first-level classes and to report groups.
    parts
        One row per part: ``part_area_m2``, ``covered_m2`` (union of the parcels inside),
        ``parcel_area_m2`` (sum of pieces), ``overlap_m2`` (counted twice), ``gap_m2`` (not
        covered), ``parcel_count``, ``straddling_count``, ``status``.
    parcels
        One row per input parcel: ``row``, ``code``, ``code_status``, ``zone_id`` (the zone(s) of
        the parts it touches, comma-joined; empty outside), ``part_ids``,
        ``area_m2`` (whole parcel), ``inside_m2``, ``status`` (``inside``, ``partly inside``,
        ``outside the zone``, ``no geometry``, ``not a polygon``).
    unknown_codes
        Codes the table does not know: ``code``, ``name_in_data``, ``rows``, ``inside_m2``.
    overlaps
        Pairs of parcels whose interiors overlap: ``row_a``, ``row_b``, ``code_a``, ``code_b``,
        ``area_m2``.
    method
        Scheme, its detection, fields, level, CRS, quality labels (also ``summary["provenance"]``).
    """

    by_code: "pd.DataFrame"
    by_level1: "pd.DataFrame"
    by_group: "pd.DataFrame"
    parts: "pd.DataFrame"
    parcels: "pd.DataFrame"
    unknown_codes: "pd.DataFrame"
    overlaps: "pd.DataFrame"
    method: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> "pd.DataFrame":
        """Per part and class at the level asked (:attr:`by_code`)."""
        from xclz_geo._results import callable_frame

        return callable_frame(self.by_code, self.level_table, old="res.table", new="res.level_table(level) (or res.table for the level asked)")

    @property
    def by_class(self) -> "pd.DataFrame":
        """Alias of :attr:`by_code` (the name :class:`LandcoverResult` uses)."""
        return self.by_code

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-able: ``quality``, ``quality_by_input``, parcel status counts, ``provenance`` (:attr:`method`)."""
        return _overlay_summary(self.method, parts=int(len(self.parts)), parcels=_status_counts(self.parcels),
                                unknown_codes=int(len(self.unknown_codes)))

    def level_table(self, level: int | str | None = None) -> "pd.DataFrame":
        """The per-part table at ``level`` (1, 2, 3 or ``"group"``; default: the level asked)."""
        if level in (None, self.method.get("level"), str(self.method.get("level"))):
            return self.by_code
        if level == 1 or level == "1":
            return self.by_level1
        if level == "group":
            return self.by_group
        raise InputDataError(f"level {level!r} is not in this result; use 1, 'group' or {self.method.get('level')}")

    def to_dict(self, level: int | str | None = None) -> dict[str, Any]:
        """JSON-ready dict: ``{"parts": [{"part_id", "classes": [...], "groups": [...], ...}], "method": {...}}``."""
        tab = self.level_table(level)
        if level == "group":
            tab = tab.assign(code=tab["group"], code_status=tab["group"].map(lambda g: "unknown" if g == "unknown" else "known"))
        out_parts = []
        for _, p in self.parts.iterrows():
            pid = p["part_id"]
            cl = tab[tab["part_id"] == pid]
            gr = self.by_group[self.by_group["part_id"] == pid]
            out_parts.append({
                "part_id": pid,
                "name_zh": p.get("name_zh"),
                "status": p["status"],
                "area_m2": _clean(p["part_area_m2"]),
                "area_mu": _clean(units.m2_to_mu(p["part_area_m2"])) if p["part_area_m2"] == p["part_area_m2"] else None,
                "classes": _records(cl, ["code", "name", "area_m2", "area_ha", "area_mu", "share", "parcel_count", "code_status"]),
                "groups": _records(gr, ["group", "name", "area_m2", "area_ha", "area_mu", "share"]),
                "covered_m2": _clean(p["covered_m2"]),
                "overlap_m2": _clean(p["overlap_m2"]),
                "gap_m2": _clean(p["gap_m2"]),
                "parcel_count": _clean(p["parcel_count"]),
                "straddling_count": _clean(p["straddling_count"]),
                "outside_raster_m2": None,
                "nodata_m2": None,
            })
        return {
            "parts": out_parts,
            "unknown_codes": _records(self.unknown_codes, list(self.unknown_codes.columns)),
            "overlaps": {"pairs": len(self.overlaps), "area_m2": _clean(float(self.overlaps["area_m2"].sum()) if len(self.overlaps) else 0.0)},
            "parcels": {k: int(v) for k, v in self.parcels["status"].value_counts().items()},
            "method": self.method,
        }


@dataclass
class LandcoverResult:
    """Result of :func:`landcover_by_polygons` / :func:`landcover_by_part`.

    The common result shape: :attr:`table` (= :attr:`by_class`), :attr:`summary` (``quality``:
    the worse of the polygons' and the raster's labels; ``provenance``: :attr:`method`) and
    :meth:`to_dict`. Not spatial (no ``layer``): the rows are per polygon and class.

    Attributes
    ----------
    by_class
        One row per polygon and raster value: ``id``, ``value``, ``name``, ``group``,
        ``cells`` (coverage-weighted cell count), ``area_m2``, ``area_ha``, ``area_mu``,
        ``share`` (of the polygon's area), ``in_class_table``.
    by_group
        The same rolled up to report groups.
    polygons
        One row per polygon: ``id``, ``area_m2`` (planar, GK), ``classified_m2``,
        ``nodata_m2``, ``outside_raster_m2``, ``scale`` (GK area ÷ raster-grid area), ``status``.
    method
        Raster, its CRS and cell size, GK CRS, engine, windows and cells read, quality labels
        (also ``summary["provenance"]``).
    """

    by_class: "pd.DataFrame"
    polygons: "pd.DataFrame"
    method: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> "pd.DataFrame":
        """Per polygon and raster value (:attr:`by_class`)."""
        return self.by_class

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-able: ``quality``, ``quality_by_input``, polygon status counts, ``provenance`` (:attr:`method`)."""
        return _overlay_summary(self.method, polygons=_status_counts(self.polygons))

    @property
    def by_group(self) -> "pd.DataFrame":
        """Class areas rolled up to report groups (``id``, ``group``, ``name``, areas, ``share``)."""
        import pandas as pd

        cols = ["id", "group", "name", "area_m2", "area_ha", "area_mu", "share"]
        if not len(self.by_class):
            return pd.DataFrame(columns=cols)
        bg = self.by_class.groupby(["id", "group"], sort=False).agg(area_m2=("area_m2", "sum"), share=("share", "sum")).reset_index()
        gnames = {g: r.name_zh for g, r in report_groups().items()}
        bg["name"] = [gnames.get(g, g) for g in bg["group"]]
        return _area_cols(bg)[cols]

    def to_dict(self, level: str | int | None = None) -> dict[str, Any]:
        """JSON-ready dict in the CLI shape (``parts`` → ``classes``, ``outside_raster_m2``, ``nodata_m2``)."""
        by_group = self.by_group
        tab = by_group if level == "group" else self.by_class
        code_col = "group" if level == "group" else "value"
        out = []
        for _, p in self.polygons.iterrows():
            cl = tab[tab["id"] == p["id"]]
            classes = [
                {"code": _clean(r[code_col]), "name": r["name"], "area_m2": _clean(r["area_m2"]),
                 "area_ha": _clean(r["area_ha"]), "area_mu": _clean(r["area_mu"]), "share": _clean(r["share"])}
                for _, r in cl.iterrows()
            ]
            gr = by_group[by_group["id"] == p["id"]]
            out.append({
                "part_id": p["id"],
                "status": p["status"],
                "area_m2": _clean(p["area_m2"]),
                "classes": classes,
                "groups": _records(gr, ["group", "name", "area_m2", "area_ha", "area_mu", "share"]),
                "classified_m2": _clean(p["classified_m2"]),
                "outside_raster_m2": _clean(p["outside_raster_m2"]),
                "nodata_m2": _clean(p["nodata_m2"]),
            })
        return {"parts": out, "method": self.method}


# ====================================================================== vector overlay


def _pick_field(gdf: "gpd.GeoDataFrame", given: str | None, candidates: Sequence[str], what: str, source: str, *, required: bool) -> str | None:
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    if given is not None:
        if given in cols:
            return given
        lower = {c.lower(): c for c in cols}
        if given.lower() in lower:
            return lower[given.lower()]
        raise InputDataError(f"{source}: no field {given!r} for the {what}; fields in the file: {', '.join(map(str, cols))}")
    for c in candidates:
        if c in cols:
            return c
    if required:
        raise InputDataError(
            f"{source}: cannot find the {what} field (tried {', '.join(candidates[:8])} …); "
            f"name it with code_field=… / --code-field; fields in the file: {', '.join(map(str, cols))}"
        )
    return None


def _prepare_polygons(geoms: Any, *, source: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Polygonal part of each geometry (repairing invalid ones) and a status per row."""
    import shapely

    g = np.asarray(geoms, dtype=object)
    status = np.full(len(g), "", dtype=object)
    missing = np.array([x is None for x in g], dtype=bool)
    present = ~missing
    empty = np.zeros(len(g), dtype=bool)
    empty[present] = shapely.is_empty(g[present])
    status[missing | empty] = "no geometry"
    ok = present & ~empty
    types = np.full(len(g), "", dtype=object)
    types[ok] = shapely.get_type_id(g[ok])
    poly = ok & np.isin(types, [3, 6, 7])  # Polygon, MultiPolygon, GeometryCollection
    status[ok & ~poly] = "not a polygon"
    out = np.full(len(g), None, dtype=object)
    idx = np.flatnonzero(poly)
    if len(idx):
        valid = shapely.is_valid(g[idx])
        if not valid.all():
            bad = idx[~valid]
            warnings.warn(
                f"{source}: {len(bad)} invalid {label} geometr{'y' if len(bad) == 1 else 'ies'} repaired with make_valid "
                f"(first at row {int(bad[0])}); check the source layer",
                GeometryRepairWarning,
                stacklevel=3,
            )
            fixed = shapely.make_valid(g[bad])
            g = g.copy()
            g[bad] = fixed
        sub = g[idx]
        # keep only polygonal parts (make_valid and collections may carry lines/points)
        tid = shapely.get_type_id(sub)
        coll = tid == 7
        if coll.any():
            parts, pidx = shapely.get_parts(sub[coll], return_index=True)
            keep = np.isin(shapely.get_type_id(parts), [3, 6])
            merged = [shapely.union_all(parts[keep & (pidx == k)]) if (keep & (pidx == k)).any() else None for k in range(int(coll.sum()))]
            sub = sub.copy()
            sub[coll] = np.array(merged, dtype=object)
        out[idx] = sub
        none = np.array([x is None or shapely.is_empty(x) for x in out[idx]], dtype=bool)
        status[idx[none]] = "not a polygon"
    return out, status


def _read_parcels(parcels: Any, *, layer: str | None, encoding: str | None) -> tuple["gpd.GeoDataFrame", str]:
    import geopandas as gpd

    from xclz_geo.io import read_vector

    if isinstance(parcels, gpd.GeoDataFrame):
        return parcels, "parcels table"
    if isinstance(parcels, (str, Path)):
        return read_vector(parcels, layer=layer, encoding=encoding), str(parcels)
    raise InputDataError(f"parcels must be a GeoDataFrame or a path to a vector file, not {type(parcels).__name__}")


def _zone_quality(zone: "Zone") -> str | None:
    return zone.worst_quality


def _data_quality(gdf: "pd.DataFrame", given: str | None) -> str:
    if given:
        return given
    if "quality" in gdf.columns:
        q = sorted(set(str(x) for x in gdf["quality"].dropna().unique()))
        if q:
            return ",".join(q)
    return "unknown"


def _join_unique(values: "pd.Series") -> str:
    seen = list(dict.fromkeys(str(v) for v in values if isinstance(v, str) and v))
    return "、".join(seen)


def _group_by_code(pieces: "pd.DataFrame", part_ids: Sequence[str], table: CodeTable) -> "pd.DataFrame":
    """Sum the pieces per part and *code at the level asked* — one row per code, whatever the
    groups, names or first-level classes of the parcels that roll up to it (0508 logistics and
    05H1 commercial are one row ``05`` at level 1). The row's name and group are the table's for
    that code; for a code the table does not know, the names and groups the parcels carry.

    Vectorised: only the groups of codes the table does not know join their parcels' names in
    Python (a per-group Python aggregation over every group took two thirds of the overlay's time
    at 25,000 parcels)."""
    import pandas as pd

    cols = ["part_id", "code", "name", "level1_code", "level1_name", "group", "area_m2", "area_ha", "area_mu", "share",
            "parcel_count", "code_status"]
    if not len(pieces):
        return pd.DataFrame(columns=cols)
    keys = ["part_idx", "code"]
    st = pieces["code_status"].to_numpy(dtype=object)
    # worst status of a group: unknown > missing > known
    work = pieces.assign(_worst=np.where(st == "unknown", 2, np.where(st == "missing", 1, 0)).astype(np.int8))
    g = work.groupby(keys, sort=False, dropna=False).agg(
        area_m2=("area_m2", "sum"), parcel_count=("row", "nunique"), part_area_m2=("part_area_m2", "first"),
        level1_code=("level1_code", "first"), level1_name=("level1_name", "first"), _worst=("_worst", "max"),
    ).reset_index()
    classes = table.classes
    found = [classes.get(c) if isinstance(c, str) else None for c in g["code"].to_numpy(dtype=object)]
    known = np.array([c is not None for c in found], dtype=bool)
    name = np.empty(len(g), dtype=object)
    group = np.empty(len(g), dtype=object)
    l1c = g["level1_code"].to_numpy(dtype=object).copy()
    l1n = g["level1_name"].to_numpy(dtype=object).copy()
    for k in np.flatnonzero(known):
        c = found[k]
        name[k], group[k], l1c[k], l1n[k] = c.name_zh, c.group, c.level1_code, c.level1_name
    if not known.all():
        # codes the table does not know: the parcels' own names and groups, joined (groups keep their
        # order of first appearance, so the subset's groups line up with g's unknown rows)
        pc = pieces["code"].to_numpy(dtype=object)
        sub = pieces[~np.array([isinstance(c, str) and c in classes for c in pc], dtype=bool)]
        j = sub.groupby(keys, sort=False, dropna=False).agg(name=("name", _join_unique), group=("group", _join_unique))
        name[~known] = j["name"].to_numpy(dtype=object)
        group[~known] = j["group"].to_numpy(dtype=object)
    g["name"] = pd.array(name, dtype="str")
    g["group"] = pd.array(group, dtype="str")
    g["level1_code"] = pd.array(l1c, dtype=g["level1_code"].dtype)
    g["level1_name"] = pd.array(l1n, dtype=g["level1_name"].dtype)
    w = g.pop("_worst").to_numpy()
    g["code_status"] = pd.array(np.where(w == 2, "unknown", np.where(w == 1, "missing", "known")).astype(object), dtype="str")
    g["part_id"] = [part_ids[k] for k in g["part_idx"]]
    g["share"] = g["area_m2"] / g["part_area_m2"]
    g = _area_cols(g)
    return g.sort_values(["part_idx", "area_m2"], ascending=[True, False]).reset_index(drop=True)


def _part_summaries(*, pg: np.ndarray, part_has: np.ndarray, part_ids: list[str], parts_gk: "gpd.GeoDataFrame", pp: np.ndarray,
                    pr: np.ndarray, pa: np.ndarray, pgeo: np.ndarray, code_l: Any, name_l: Any, cls: "pd.DataFrame",
                    scheme_used: str, parcel_area: np.ndarray, usable: np.ndarray, tree: Any, geoms: np.ndarray,
                    min_overlap_m2: float, source: str) -> tuple["pd.DataFrame", ...]:
    """The per-part tables of :func:`landuse_by_part`: by code, by first-level class, by group, the
    parts (coverage as the union of the pieces, overlaps, gaps) and the overlapping parcel pairs."""
    import pandas as pd
    import shapely

    part_area = np.full(len(pg), np.nan)
    part_area[part_has] = shapely.area(pg[part_has])
    pieces = pd.DataFrame({
        "part_idx": pp, "row": pr, "area_m2": pa,
        "code": np.asarray(code_l, dtype=object)[pr] if len(pr) else [],
        "name": np.asarray(name_l, dtype=object)[pr] if len(pr) else [],
        "level1_code": cls["level1_code"].to_numpy(dtype=object)[pr] if len(pr) else [],
        "level1_name": cls["level1_name"].to_numpy(dtype=object)[pr] if len(pr) else [],
        "group": cls["group"].to_numpy(dtype=object)[pr] if len(pr) else [],
        "code_status": cls["status"].to_numpy(dtype=object)[pr] if len(pr) else [],
    })
    pieces["part_id"] = [part_ids[k] for k in pieces["part_idx"]]
    pieces["part_area_m2"] = part_area[pieces["part_idx"].to_numpy(dtype=int)] if len(pieces) else []
    straddle = pieces["area_m2"].to_numpy() < parcel_area[pieces["row"].to_numpy(dtype=int)] * (1 - 1e-9) - 1e-6 if len(pieces) else np.array([], bool)
    pieces["straddling"] = straddle

    groups = report_groups()

    def agg(keys: list[str]) -> pd.DataFrame:
        if not len(pieces):
            return pd.DataFrame(columns=["part_id", *keys[1:], "area_m2", "area_ha", "area_mu", "share", "parcel_count"])
        g = pieces.groupby(["part_idx", *keys], sort=False, dropna=False).agg(
            area_m2=("area_m2", "sum"), parcel_count=("row", "nunique"), part_area_m2=("part_area_m2", "first"),
            **({"code_status": ("code_status", lambda s: "unknown" if (s == "unknown").any() else ("missing" if (s == "missing").any() else "known"))} if "code" in keys else {}),
        ).reset_index()
        g["part_id"] = [part_ids[k] for k in g["part_idx"]]
        g["share"] = g["area_m2"] / g["part_area_m2"]
        g = _area_cols(g)
        return g.sort_values(["part_idx", "area_m2"], ascending=[True, False]).reset_index(drop=True)

    by_code = _group_by_code(pieces, part_ids, code_table(scheme_used))
    by_l1 = agg(["level1_code", "level1_name"])
    if len(by_l1):
        by_l1 = by_l1.rename(columns={"level1_code": "code", "level1_name": "name"})
        l1_classes = code_table(scheme_used).classes
        by_l1["group"] = [l1_classes[c].group if c in l1_classes else "unknown" for c in by_l1["code"]]
        by_l1["code_status"] = np.where(by_l1["group"] == "unknown", "unknown", "known")
    by_group = agg(["group"])
    if len(by_group):
        by_group["name"] = [groups[g].name_zh if g in groups else g for g in by_group["group"]]
        by_group["order"] = [groups[g].order if g in groups else 99 for g in by_group["group"]]
        by_group = by_group.sort_values(["part_idx", "order"]).drop(columns=["order"]).reset_index(drop=True)
    by_code, by_l1, by_group = (df.drop(columns=[c for c in ("part_idx", "part_area_m2") if c in df.columns])
                                for df in (by_code, by_l1, by_group))
    cols_code = ["part_id", "code", "name", "level1_code", "level1_name", "group", "area_m2", "area_ha", "area_mu", "share", "parcel_count", "code_status"]
    by_code = by_code.reindex(columns=cols_code)
    by_l1 = by_l1.reindex(columns=["part_id", "code", "name", "group", "area_m2", "area_ha", "area_mu", "share", "parcel_count", "code_status"])
    by_group = by_group.reindex(columns=["part_id", "group", "name", "area_m2", "area_ha", "area_mu", "share", "parcel_count"])

    # per part: coverage, overlaps, gaps (pieces are grouped by part: each part's slice is looked up once)
    prow = []
    names_zh = list(parts_gk["name_zh"]) if "name_zh" in parts_gk.columns else list(part_ids)
    starts = np.searchsorted(pp, np.arange(len(part_ids) + 1)) if len(pp) else np.zeros(len(part_ids) + 1, dtype=int)
    for j, pid in enumerate(part_ids):
        name_zh = names_zh[j]
        if not part_has[j]:
            prow.append(dict(part_id=pid, name_zh=name_zh, part_area_m2=np.nan, covered_m2=np.nan, parcel_area_m2=np.nan,
                             overlap_m2=np.nan, gap_m2=np.nan, parcel_count=0, straddling_count=0, status="no geometry"))
            continue
        m = slice(int(starts[j]), int(starts[j + 1]))
        has = starts[j + 1] > starts[j]
        total = float(pa[m].sum())
        covered = float(shapely.area(shapely.union_all(pgeo[m]))) if has else 0.0
        overlap = max(total - covered, 0.0)
        gap = max(part_area[j] - covered, 0.0)
        prow.append(dict(part_id=pid, name_zh=name_zh, part_area_m2=part_area[j], covered_m2=covered, parcel_area_m2=total,
                         overlap_m2=overlap, gap_m2=gap, parcel_count=int(len(np.unique(pr[m]))),
                         straddling_count=int(straddle[m].sum()) if len(straddle) else 0,
                         status="ok" if has else "no parcels"))
    parts_df = pd.DataFrame(prow)

    # overlapping parcel pairs (anywhere in the layer)
    ov_rows = []
    if usable.sum() > 1:
        a, b = tree.query(np.where(usable, geoms, None), predicate="intersects")
        sel = a < b
        a, b = a[sel], b[sel]
        if len(a):
            inter = shapely.relate_pattern(geoms[a], geoms[b], "T********")
            a, b = a[inter], b[inter]
            if len(a):
                ar = shapely.area(shapely.intersection(geoms[a], geoms[b]))
                big = ar >= min_overlap_m2
                codes_arr = cls["code"].to_numpy(dtype=object)
                for i, k, x in zip(a[big], b[big], ar[big]):
                    ov_rows.append(dict(row_a=int(i), row_b=int(k), code_a=codes_arr[i], code_b=codes_arr[k], area_m2=float(x)))
    overlaps = pd.DataFrame(ov_rows, columns=["row_a", "row_b", "code_a", "code_b", "area_m2"])
    if len(overlaps):
        warnings.warn(
            f"{source}: {len(overlaps)} pair(s) of parcels overlap ({overlaps['area_m2'].sum():,.1f} m² counted twice); "
            "see result.overlaps and the parts' overlap_m2",
            DataQualityWarning,
            stacklevel=3,
        )
    return by_code, by_l1, by_group, parts_df, overlaps


def _overlay_pieces(tree: Any, geoms: np.ndarray, pg: np.ndarray, part_has: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of parcels inside parts: part index, parcel row, area and geometry of each, ordered by part.

    One bulk query of the parcels' tree for every part at once gives the (part, parcel) pairs; a
    parcel wholly inside its part (``contains_properly``, parts prepared) is its own piece, and
    only the pairs across a part boundary are intersected (in one call). Pieces of
    :data:`_MIN_PIECE_M2` or less are dropped.
    """
    import shapely

    js = np.flatnonzero(part_has)
    if not len(js):
        return np.array([], dtype=int), np.array([], dtype=int), np.array([]), np.array([], dtype=object)
    qi, idx = tree.query(pg[js], predicate="intersects")
    if len(qi) and (np.diff(qi) < 0).any():  # pieces are grouped by part below (and per part by slice)
        o = np.argsort(qi, kind="stable")
        qi, idx = qi[o], idx[o]
    jj = js[qi]
    parts = pg[jj]
    mine = pg[js][~shapely.is_prepared(pg[js])]  # leave parts prepared by others as they were
    shapely.prepare(mine)
    try:
        inside = shapely.contains_properly(parts, geoms[idx])
    finally:
        shapely.destroy_prepared(mine)
    pieces = np.empty(len(idx), dtype=object)
    pieces[inside] = geoms[idx[inside]]
    if (~inside).any():
        pieces[~inside] = shapely.intersection(geoms[idx[~inside]], parts[~inside])
    areas = shapely.area(pieces) if len(pieces) else np.array([])
    keep = areas > _MIN_PIECE_M2
    return jj[keep].astype(int), idx[keep], areas[keep], pieces[keep]


def landuse_by_part(
    zone: "Zone",
    parcels: "gpd.GeoDataFrame | str | Path",
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    scheme: str = "auto",
    level: int = 2,
    layer: str | None = None,
    encoding: str | None = None,
    data_quality: str | None = None,
    min_overlap_m2: float = 0.01,
    summaries: bool = True,
) -> LanduseResult:
    """Land use per part from a parcel layer (三调 图斑, planning parcels).

    Parameters
    ----------
    zone
        The zone (its parts must have geometry; parts without are reported ``no geometry``).
    parcels
        GeoDataFrame or vector file (GeoPackage, GBK or UTF-8 Shapefile, GeoJSON …) with a
        declared CRS; any CRS: pieces are measured in ``zone.gk_crs``.
    code_field, name_field
        Attribute with the land-use code (default: the first of ``DLBM``, ``GHFLDM``,
        ``YDYHFLDM``, ``地类编码`` … present) and with the class name (``DLMC`` …, optional;
        it helps scheme detection and names unknown codes).
    scheme
        ``"auto"`` (detect; see :func:`detect_scheme`), ``"sandiao"``, ``"gbt21010"`` or ``"ydyh"``.
    level
        Finest level of ``by_code``: 1, 2 or 3 (3 keeps third-level 用地用海 and 三调 suffix classes).
    layer, encoding
        Passed to :func:`xclz_geo.io.read_vector` for files.
    data_quality
        Quality label of the parcel data (default: its ``quality`` column, else ``unknown``).
    min_overlap_m2
        Overlaps between two parcels smaller than this are ignored as digitising noise.
    summaries
        ``False``: only the per-parcel table (``parcels``), ``unknown_codes`` and ``method``; the
        per-part tables and ``overlaps`` come back empty, with their columns. What the Dask
        engine needs per partition: it skips the union of the pieces per part and the search for
        overlapping parcel pairs, whose cost grows with how densely parcels overlap.

    Returns
    -------
    LanduseResult

    Raises
    ------
    CRSError
        When the parcels declare no CRS.
    InputDataError
        When the code field is missing or ``level`` is not 1–3.
    """
    import pandas as pd
    import shapely
    from xclz_geo.geo import crs as _crs_mod

    if level not in (1, 2, 3):
        raise InputDataError(f"level must be 1, 2 or 3, not {level!r}")
    gdf, source = _read_parcels(parcels, layer=layer, encoding=encoding)
    if gdf.crs is None:
        raise CRSError(f"{source}: the parcel layer declares no CRS; set it (e.g. EPSG:4549 for CGCS2000 GK CM 120°E) before the overlay")
    cf = _pick_field(gdf, code_field, CODE_FIELD_CANDIDATES, "land-use code", source, required=True)
    nf = _pick_field(gdf, name_field, NAME_FIELD_CANDIDATES, "class name", source, required=name_field is not None)
    gk = zone.gk_crs
    gk_label = f"EPSG:{gk.to_epsg()}" if gk.to_epsg() else gk.name
    n = len(gdf)
    cls = classify_codes(list(gdf[cf]), scheme=scheme, names=list(gdf[nf]) if nf else None)
    scheme_used = cls.attrs["scheme"]
    det = cls.attrs["detection"]
    if det.get("ambiguous"):
        warnings.warn(
            f"{source}: the code scheme is ambiguous ({det['reason']}); pass scheme=… / --scheme to be sure",
            DataQualityWarning,
            stacklevel=2,
        )
    # coordinates that cannot be data in the layer's CRS (lon 573000 in EPSG:4490, latitude 95) are invalid,
    # not "outside the zone" (xclz_geo.crs.coordinate_problems)
    bad_xy = _crs_mod.coordinate_problems(gdf.geometry.values, crs=gdf.crs) if n and gdf.crs is not None else np.full(n, "", dtype=object)
    if (bad_xy != "").any():
        first = int(np.flatnonzero(bad_xy != "")[0])
        warnings.warn(f"{source}: {int((bad_xy != '').sum())} parcel(s) with invalid coordinates (first at row {first}: "
                      f"{bad_xy[first]}); they are counted as 'invalid coordinates'", DataQualityWarning, stacklevel=2)
        gdf = gdf.copy()
        gdf.loc[gdf.index[bad_xy != ""], gdf.geometry.name] = None
    geoms_gk = gdf.geometry.to_crs(gk).values if n else np.array([], dtype=object)
    geoms, gstatus = _prepare_polygons(np.asarray(geoms_gk, dtype=object), source=source, label="parcel")
    gstatus = np.where(bad_xy != "", "invalid coordinates", gstatus)
    usable = np.array([g is not None for g in geoms], dtype=bool)
    parcel_area = np.zeros(n)
    parcel_area[usable] = shapely.area(geoms[usable])

    # codes at the requested level
    if level == 1:
        code_l, name_l = cls["level1_code"], cls["level1_name"]
    elif level == 2:
        code_l, name_l = cls["level2_code"], cls["level2_name"]
    else:
        code_l, name_l = cls["class_code"], cls["name"]
    known = cls["status"].isin(["known", "suffix", "variant", "by_name"])
    if nf is not None:
        # unknown codes keep the name the data gives them
        data_names = gdf[nf].map(_norm_name)
        name_l = name_l.where(known | (data_names == ""), data_names)

    parts_gk = zone.parts_gk
    pg = np.asarray(parts_gk.geometry.values, dtype=object)
    part_ids = list(parts_gk["part_id"])
    part_has = np.array([g is not None and not shapely.is_empty(g) for g in pg], dtype=bool)
    tree = shapely.STRtree(np.where(usable, geoms, None))
    pp, pr, pa, pgeo = _overlay_pieces(tree, geoms, pg, part_has)

    if summaries:
        by_code, by_l1, by_group, parts_df, overlaps = _part_summaries(
            pg=pg, part_has=part_has, part_ids=part_ids, parts_gk=parts_gk, pp=pp, pr=pr, pa=pa, pgeo=pgeo, code_l=code_l,
            name_l=name_l, cls=cls, scheme_used=scheme_used, parcel_area=parcel_area, usable=usable, tree=tree, geoms=geoms,
            min_overlap_m2=min_overlap_m2, source=source)
    else:
        by_code = pd.DataFrame(columns=["part_id", "code", "name", "level1_code", "level1_name", "group", "area_m2", "area_ha",
                                        "area_mu", "share", "parcel_count", "code_status"])
        by_l1 = pd.DataFrame(columns=["part_id", "code", "name", "group", "area_m2", "area_ha", "area_mu", "share", "parcel_count",
                                      "code_status"])
        by_group = pd.DataFrame(columns=["part_id", "group", "name", "area_m2", "area_ha", "area_mu", "share", "parcel_count"])
        parts_df = pd.DataFrame(columns=["part_id", "name_zh", "part_area_m2", "covered_m2", "parcel_area_m2", "overlap_m2", "gap_m2",
                                         "parcel_count", "straddling_count", "status"])
        overlaps = pd.DataFrame(columns=["row_a", "row_b", "code_a", "code_b", "area_m2"])

    # per input row
    inside = np.zeros(n)
    np.add.at(inside, pr, pa)
    pid_lists: list[list[str]] = [[] for _ in range(n)]
    for j, r in zip(pp, pr):
        pid_lists[int(r)].append(part_ids[int(j)])
    # zone of each parcel (many-zone boundaries files): the zones of the parts it touches, comma-joined
    part_zone = dict(zip(map(str, zone.parts["part_id"]), getattr(zone, "zone_ids", None) or [""] * len(zone.parts)))
    zid_lists = [",".join(dict.fromkeys(part_zone.get(p, "") for p in ps)) for ps in pid_lists]
    st = np.where(gstatus != "", gstatus, np.where(inside <= _MIN_PIECE_M2, "outside the zone",
                  np.where(inside < parcel_area * (1 - 1e-9) - 1e-6, "partly inside", "inside")))
    parcels_df = pd.DataFrame({
        "row": np.arange(n), "code_in": list(gdf[cf]), "code": cls["code"], "code_status": cls["status"],
        "name": cls["name"], "zone_id": zid_lists, "part_ids": [",".join(x) for x in pid_lists], "area_m2": parcel_area,
        "inside_m2": inside, "status": st,
    })

    unk = parcels_df[parcels_df["code_status"].isin(["unknown", "missing"])]
    if len(unk):
        nm = gdf[nf].map(_norm_name) if nf else pd.Series([""] * n)
        unk = unk.assign(name_in_data=nm.iloc[unk.index].to_numpy())
        unknown = unk.groupby(["code", "code_status"], dropna=False).agg(
            name_in_data=("name_in_data", lambda s: "、".join(sorted(set(x for x in s if x))[:5])),
            rows=("row", "count"), inside_m2=("inside_m2", "sum")).reset_index()
        unknown = unknown.rename(columns={"code_status": "status"})
        warnings.warn(
            f"{source}: {int(unknown['rows'].sum())} parcel(s) carry codes not in the {scheme_used} table "
            f"({', '.join(repr(c) for c in unknown['code'][:6])}); they are reported under their own code, group 'unknown'",
            DataQualityWarning,
            stacklevel=2,
        )
    else:
        unknown = pd.DataFrame(columns=["code", "status", "name_in_data", "rows", "inside_m2"])

    zq = _zone_quality(zone)
    dq = _data_quality(gdf, data_quality)
    method = {
        "kind": "vector overlay",
        "source": source,
        "scheme": scheme_used,
        "scheme_title": SCHEME_TITLES[scheme_used],
        "scheme_detection": det,
        "code_field": cf,
        "name_field": nf,
        "level": level,
        "crs": gk_label,
        "area_basis": f"planar area in {gk_label} (CGCS2000 3° Gauss-Krüger)",
        "parcels_crs": gdf.crs.to_string(),
        "quality": {"zone": zq, "data": dq},
        "notes": [
            "Parcels straddling a part boundary count only their inside piece.",
            "overlap_m2 is area counted twice by overlapping parcels; gap_m2 is part area no parcel covers.",
            "Codes not in the table are kept under their own code (group 'unknown'), never dropped.",
        ],
    }
    if zq in ("schematic", "synthetic"):
        method["notes"].append(f"The zone boundaries are {zq}: shares say nothing about the official red line.")
    return LanduseResult(by_code, by_l1, by_group, parts_df, parcels_df, unknown, overlaps, method)


# ====================================================================== raster: exact coverage engine


def _grid_line_crossings(n_: np.ndarray, f0: np.ndarray, a0: np.ndarray, a1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where edges cross the integer grid lines along one axis.

    Edge ``i`` runs from ``a0[i]`` to ``a1[i]`` (pixel coordinates, ``f0 = floor(a0)``) and crosses
    ``n_[i]`` grid lines. Returns, one entry per crossing, the edge index and the crossing's
    parameter ``t`` in [0, 1] along the edge, in the edge's direction.
    """
    eid = np.repeat(np.arange(len(n_)), n_)
    off = np.arange(int(n_.sum())) - np.repeat(np.cumsum(n_) - n_, n_)
    d = np.sign(a1 - a0)[eid]
    line = np.where(d > 0, f0[eid] + 1, f0[eid]) + d * off
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (line - a0[eid]) / (a1 - a0)[eid]
    return eid, np.clip(t, 0.0, 1.0)


def _edge_pieces(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (pixel coordinates, ``(x0, y0)`` → ``(x1, y1)``) cut at every integer grid line they cross.

    Returns ``(e, ta, tb)``, one entry per non-empty piece: the edge index and the piece's start and end
    parameters along the edge (``0 ≤ ta < tb ≤ 1``), pieces in edge order, then in the edge's direction.
    Each piece lies within one cell.
    """
    ne = len(x0)
    fx0, fx1, fy0, fy1 = np.floor(x0), np.floor(x1), np.floor(y0), np.floor(y1)
    nx = np.abs(fx1 - fx0).astype(np.int64)
    ny = np.abs(fy1 - fy0).astype(np.int64)
    ex, tx = _grid_line_crossings(nx, fx0, x0, x1)
    ey, ty = _grid_line_crossings(ny, fy0, y0, y1)
    ar = np.arange(ne)
    eid = np.concatenate([ar, ar, ex, ey])
    t = np.concatenate([np.zeros(ne), np.ones(ne), tx, ty])
    # four runs, each sorted by (edge, t): a stable (tim)sort merges them in linear time
    o = np.argsort(eid + 0.5 * t, kind="stable")
    eid, t = eid[o], t[o]
    keep = (eid[:-1] == eid[1:]) & (t[1:] > t[:-1])
    return eid[:-1][keep], t[:-1][keep], t[1:][keep]


def boundary_coverage(geoms_pix: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact coverage fractions of the cells crossed by polygon boundaries, in pixel space.

    Cell ``(row, col)`` is the unit square ``[col, col+1] × [row, row+1]`` of the
    coordinates given (x = column, y = row). For each polygon, every ring edge is cut at the
    grid lines; a piece inside cell ``(r, c)`` from ``(xa, ya)`` to ``(xb, yb)`` contributes
    ``−Δx·(ȳ − r)`` to that cell and ``−Δx`` to every cell above it in the same column
    (Green's theorem with the integrand ``clamp(y − r, 0, 1)``, restricted to the column), so
    the coverage of a boundary cell is its own term plus the sum of the full terms of the
    pieces below it in its column. Rings are oriented first, so holes subtract.

    Parameters
    ----------
    geoms_pix
        Polygons or MultiPolygons in pixel coordinates.
    Returns
    -------
    poly, row, col, frac : numpy arrays
        One entry per boundary cell, sorted by polygon, then column, then row; ``frac`` in
        [0, 1]. Cells not listed are entirely inside or entirely outside their polygon.
    """
    import shapely

    empty = (np.array([], dtype=np.int64),) * 3 + (np.array([], dtype=float),)
    g = shapely.orient_polygons(np.asarray(geoms_pix, dtype=object), exterior_cw=False)
    parts, pidx = shapely.get_parts(g, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    ring_poly = pidx[ridx]
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        return empty
    same = cidx[:-1] == cidx[1:]
    x0 = coords[:-1, 0][same]; y0 = coords[:-1, 1][same]
    x1 = coords[1:, 0][same]; y1 = coords[1:, 1][same]
    epoly = ring_poly[cidx[:-1][same]]
    e, ta, tb = _edge_pieces(x0, y0, x1, y1)
    dx, dy = (x1 - x0)[e], (y1 - y0)[e]
    xa, xb = x0[e] + ta * dx, x0[e] + tb * dx
    ym = y0[e] + (0.5 * (ta + tb)) * dy
    col = np.floor(0.5 * (xa + xb)).astype(np.int64)
    row = np.floor(ym).astype(np.int64)
    full = xa - xb
    part = full * (ym - row)
    p = epoly[e]
    if len(p) == 0:
        return empty
    npoly = len(g)
    # group pieces by cell, cells ordered by (polygon, column, row): pieces are already in polygon
    # order, so a stable sort by a key local to the polygon's bounding box, then by polygon, does it;
    # with keys of 16 bits numpy's stable sort is a radix sort (linear time)
    b = shapely.bounds(g)
    r0 = np.floor(np.nan_to_num(b[:, 1])).astype(np.int64)
    c0 = np.floor(np.nan_to_num(b[:, 0])).astype(np.int64)
    h = np.floor(np.nan_to_num(b[:, 3])).astype(np.int64) - r0 + 1
    local = (col - c0[p]) * h[p] + (row - r0[p])
    lk = local.astype(np.uint16) if local.max() < 65536 else local
    pk = p.astype(np.uint16) if npoly < 65536 else p
    o = np.lexsort((lk, pk))
    p, part, full, local = p[o], part[o], full[o], local[o]
    new = np.ones(len(p), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (local[1:] != local[:-1])
    cid = np.cumsum(new) - 1
    ncell = int(cid[-1]) + 1
    cpart = np.bincount(cid, part, ncell)
    cfull = np.bincount(cid, full, ncell)
    cp, cl = p[new], local[new]
    cc = cl // h[cp]
    rr = cl - cc * h[cp] + r0[cp]
    cc = cc + c0[cp]
    # suffix sum of the full terms over the later (higher-row) cells of the same polygon and column
    grp = np.ones(ncell, dtype=bool)
    grp[1:] = (cp[1:] != cp[:-1]) | (cc[1:] != cc[:-1])
    gid = np.cumsum(grp) - 1
    gend = np.cumsum(np.bincount(gid, cfull))
    frac = cpart + (gend[gid] - np.cumsum(cfull))
    return cp.astype(np.int64), rr.astype(np.int64), cc.astype(np.int64), np.clip(frac, 0.0, 1.0)


def _ellipsoid_row_areas(lat_top: np.ndarray, lat_bot: np.ndarray, dlon_deg: float) -> np.ndarray:
    """Exact area (m²) of lon/lat cells on the GRS80 ellipsoid between two latitudes, width ``dlon_deg``."""
    a = 6378137.0
    f = 1 / 298.257222101
    e2 = f * (2 - f)
    e = math.sqrt(e2)
    b2 = a * a * (1 - e2)

    def q(lat: np.ndarray) -> np.ndarray:
        s = np.sin(np.radians(lat))
        return s / (1 - e2 * s * s) + (1 / (2 * e)) * np.log((1 + e * s) / (1 - e * s))

    return np.abs(b2 / 2 * math.radians(abs(dlon_deg)) * (q(lat_top) - q(lat_bot)))


def _class_table(classes: Any) -> tuple["pd.DataFrame | None", str]:
    """Normalise ``classes=``: None, 'worldcover', 'clcd', a CSV path, a mapping or a DataFrame."""
    import pandas as pd

    if classes is None:
        return None, "none (raw raster values)"
    if isinstance(classes, str) and classes.strip().lower() in RASTER_CLASS_TABLES:
        key = classes.strip().lower()
        df = _read_data_csv(RASTER_CLASS_TABLES[key])
        label = f"built-in {key} (data/landuse/{RASTER_CLASS_TABLES[key]})"
    elif isinstance(classes, (str, Path)):
        from xclz_geo.io import read_table

        df = read_table(classes, dtype=str, comment="#")
        label = str(classes)
    elif isinstance(classes, Mapping):
        df = pd.DataFrame({"value": list(classes.keys()), "name": list(classes.values())})
        label = "mapping"
    elif isinstance(classes, pd.DataFrame):
        df = classes.copy()
        label = "table"
    else:
        raise InputDataError(f"classes must be 'worldcover', 'clcd', a CSV path, a dict or a DataFrame, not {type(classes).__name__}")
    cols = {c.lower().strip(): c for c in df.columns}
    vcol = cols.get("value") or cols.get("code") or cols.get("值") or cols.get("编码")
    if vcol is None:
        raise InputDataError(f"class table {label}: needs a 'value' column (raster value) and a name column; has {', '.join(map(str, df.columns))}")
    ncol = next((cols[c] for c in ("name_zh", "name", "name_en", "名称", "类别") if c in cols), None)
    if ncol is None:
        raise InputDataError(f"class table {label}: needs a name column (name_zh, name or name_en); has {', '.join(map(str, df.columns))}")
    out = pd.DataFrame({"value": df[vcol], "name": df[ncol].astype(str)})
    try:
        out["value"] = pd.to_numeric(out["value"], errors="raise")
    except (ValueError, TypeError):
        bad = [v for v in out["value"] if pd.to_numeric(pd.Series([v]), errors="coerce").isna().iloc[0]]
        raise InputDataError(f"class table {label}: value {bad[0]!r} is not a number") from None
    gcol = cols.get("group")
    out["group"] = df[gcol].astype(str).where(df[gcol].astype(str) != "", "unknown") if gcol else "unknown"
    if "name_en" in cols and ncol != cols["name_en"]:
        out["name_en"] = df[cols["name_en"]].astype(str)
    dup = out["value"][out["value"].duplicated()]
    if len(dup):
        raise InputDataError(f"class table {label}: value {dup.iloc[0]} appears more than once")
    return out, label


#: working memory per window cell (bytes, beyond the raster values themselves): the gathered codes,
#: keys and flat indices of the covered cells, measured on the 40,000² benchmark (see max_window_cells)
_BYTES_PER_WINDOW_CELL = 48


def _pixel_edges(geoms: np.ndarray, transform: Any) -> dict[str, np.ndarray]:
    """Non-horizontal ring edges of polygons in pixel coordinates (column, row), with their sign.

    ``sg`` is +1 or −1 so that ``sg·Δy`` integrates to the polygon's area whatever the rings'
    orientation (exteriors count positive, holes negative); ``bounds`` holds each polygon's pixel
    bounds (``minx, miny, maxx, maxy``; NaN without coordinates).
    """
    import shapely

    n = len(geoms)
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    bounds = np.full((n, 4), np.nan)
    if len(coords) < 2:
        e = np.array([], dtype=float)
        return {"x0": e, "y0": e, "x1": e, "y1": e, "p": e.astype(np.int64), "sg": e, "bounds": bounds}
    x = (coords[:, 0] - transform.c) / transform.a  # exact for vertices on grid lines
    y = (coords[:, 1] - transform.f) / transform.e
    ring_poly = pidx[ridx]
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ridx[1:] != ridx[:-1]
    cpoly = ring_poly[cidx]
    starts = np.flatnonzero(np.r_[True, cpoly[1:] != cpoly[:-1]])
    owner = cpoly[starts]
    bounds[owner, 0] = np.minimum.reduceat(x, starts)
    bounds[owner, 1] = np.minimum.reduceat(y, starts)
    bounds[owner, 2] = np.maximum.reduceat(x, starts)
    bounds[owner, 3] = np.maximum.reduceat(y, starts)
    same = cidx[:-1] == cidx[1:]
    er = cidx[:-1][same]
    x0, y0, x1, y1 = x[:-1][same], y[:-1][same], x[1:][same], y[1:][same]
    # signed ring areas (shoelace about each ring's first vertex, for precision)
    rstart = np.searchsorted(cidx, np.arange(len(rings)))
    ox, oy = x[np.minimum(rstart, len(x) - 1)][er], y[np.minimum(rstart, len(y) - 1)][er]
    a2 = np.bincount(er, (x0 - ox) * (y1 - oy) - (x1 - ox) * (y0 - oy), minlength=len(rings))
    sg_ring = np.sign(a2) * np.where(exterior, 1.0, -1.0)
    keep = y0 != y1  # horizontal edges add nothing to ∮ P dy
    return {"x0": x0[keep], "y0": y0[keep], "x1": x1[keep], "y1": y1[keep], "p": ring_poly[er][keep],
            "sg": sg_ring[er][keep], "bounds": bounds}


def _strip_coverage(ed: Mapping[str, np.ndarray], sel: np.ndarray, s0: int, s1: int, cmin: int, span: int
                    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Exact coverage of the polygons over raster rows ``s0:s1``, as boundary cells and interior runs.

    Green's theorem along each row: with ``P = [r ≤ y < r+1]·clamp(x − c, 0, 1)``, the area of a
    polygon inside cell ``(r, c)`` is ``∮ P dy``: a boundary piece inside the cell adds
    ``Δy·(x̄ − c)``, a piece further right in the same row adds ``Δy``, pieces to the left nothing.
    The cells holding pieces are the boundary cells; between two of them in a row every cell has the
    same coverage (the sum of ``Δy`` of the pieces to its right: 1 inside, 0 outside, a fraction
    where a horizontal edge runs along the row), so interior cells come as runs. Rows depend only on
    their own pieces: a strip of rows is exact on its own.

    Returns
    -------
    cells : (polygon, row, col, frac)
        Boundary cells sorted by polygon, row, column.
    runs : (polygon, row, col0, col1, coverage)
        Runs of cells ``col0 ≤ c < col1`` of equal coverage (> 0) between boundary cells.
    """
    x0, y0, x1, y1 = ed["x0"][sel], ed["y0"][sel], ed["x1"][sel], ed["y1"][sel]
    pe, sg = ed["p"][sel], ed["sg"][sel]
    dy = y1 - y0
    dx = x1 - x0
    ta = (s0 - y0) / dy
    tb = (s1 - y0) / dy
    tlo = np.clip(np.minimum(ta, tb), 0.0, 1.0)
    thi = np.clip(np.maximum(ta, tb), 0.0, 1.0)
    X0, X1 = x0 + tlo * dx, x0 + thi * dx
    Y0, Y1 = np.clip(y0 + tlo * dy, s0, s1), np.clip(y0 + thi * dy, s0, s1)
    e, ta_, tb_ = _edge_pieces(X0, Y0, X1, Y1)
    DX, DY = (X1 - X0)[e], (Y1 - Y0)[e]
    xm = X0[e] + (0.5 * (ta_ + tb_)) * DX
    ym = Y0[e] + (0.5 * (ta_ + tb_)) * DY
    dyp = (tb_ - ta_) * DY * sg[e]
    col = np.floor(xm).astype(np.int64)
    row = np.floor(ym).astype(np.int64)
    ok = (row >= s0) & (row < s1) & (dyp != 0)
    h = s1 - s0
    key = (pe[e][ok] * h + (row[ok] - s0)) * span + (col[ok] - cmin)
    part = dyp[ok] * (xm[ok] - col[ok])
    full = dyp[ok]
    e64 = np.array([], dtype=np.int64)
    ef = np.array([], dtype=float)
    if not len(key):
        return (e64, e64, e64, ef), (e64, e64, e64, e64, ef)
    o = np.argsort(key)
    key, part, full = key[o], part[o], full[o]
    new = np.empty(len(key), dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    cid = np.cumsum(new) - 1
    ncell = int(cid[-1]) + 1
    cpart = np.bincount(cid, part, ncell)
    cfull = np.bincount(cid, full, ncell)
    ukey = key[new]
    ccol = ukey % span + cmin
    grp = ukey // span  # polygon·h + row offset
    crow = grp % h + s0
    cp = grp // h
    gnew = np.empty(ncell, dtype=bool)
    gnew[0] = True
    np.not_equal(grp[1:], grp[:-1], out=gnew[1:])
    gid = np.cumsum(gnew) - 1
    gend = np.cumsum(np.bincount(gid, cfull))[gid]
    after = gend - np.cumsum(cfull)  # sum of Δy of the pieces right of each cell in its row
    frac = np.clip(cpart + after, 0.0, 1.0)
    # runs: the gap after cell i up to the next boundary cell of the same polygon and row
    nxt = np.flatnonzero(~gnew[1:])  # i such that cell i+1 is in the same row group
    gap = ccol[nxt + 1] - ccol[nxt] - 1
    g = after[nxt]
    g = np.where(np.abs(g - 1.0) < 1e-9, 1.0, g)
    m = (gap > 0) & (g > 1e-9)
    r = nxt[m]
    runs = (cp[r], crow[r], ccol[r] + 1, ccol[r + 1], np.minimum(g[m], 1.0))
    fm = frac > 1e-10  # the running sums leave ~1e-13 where a cell is touched but not covered
    return (cp[fm], crow[fm], ccol[fm], frac[fm]), runs


def _strip_rows(ed: Mapping[str, np.ndarray], *, max_rows: int, block_rows: int, budget_pieces: int) -> int:
    """Rows per strip: at most ``max_rows``, a multiple of the block height when possible, and few
    enough that no strip holds more than about ``budget_pieces`` boundary pieces."""
    h = max(1, int(max_rows))
    if h >= block_rows:
        h = h // block_rows * block_rows
    if not len(ed["y0"]):
        return h
    ymin = np.minimum(ed["y0"], ed["y1"])
    ymax = np.maximum(ed["y0"], ed["y1"])
    pieces = np.abs(np.floor(ed["x1"]) - np.floor(ed["x0"])) + np.floor(ymax) - np.floor(ymin) + 1
    r0 = int(np.floor(ymin.min()))
    nrow = int(np.floor(ymax.max())) - r0 + 2
    a = np.floor(ymin).astype(np.int64) - r0
    b = np.floor(ymax).astype(np.int64) - r0 + 1
    dens = pieces / (b - a)
    diff = np.bincount(a, dens, nrow + 1) - np.bincount(b, dens, nrow + 1)
    cum = np.concatenate([[0.0], np.cumsum(np.cumsum(diff)[:nrow])])  # pieces in rows < k
    while h > 1:
        k = np.arange((r0 // h) * h, r0 + nrow + h, h) - r0
        if np.diff(cum[np.clip(k, 0, nrow)]).max() <= budget_pieces:
            break
        h = max(block_rows, h // 2 // block_rows * block_rows) if h > block_rows else h // 2
    return max(1, h)


def _per_polygon_extent(p: np.ndarray, lo: np.ndarray, hi: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    """(polygon, min col, max col end, min row, max row) of items sorted by polygon."""
    if not len(p):
        e = np.array([], dtype=np.int64)
        return e, e, e, e, e
    st = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    return (p[st], np.minimum.reduceat(lo, st), np.maximum.reduceat(hi, st),
            np.minimum.reduceat(r, st), np.maximum.reduceat(r, st))


def _stream_coverage(src: Any, band: int, ed: Mapping[str, np.ndarray], *, n: int, max_cells: int,
                     row_weight: Any, stats: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Class weights of polygons over a raster read strip by strip, window by window.

    Rows are processed in strips (a multiple of the raster's block height where the budget allows);
    in each strip the polygons' exact coverage comes from :func:`_strip_coverage` (boundary cells
    and interior runs), the polygons are clustered by column range, and each cluster is read in
    windows of at most ``max_cells`` cells, aligned to the raster's blocks, so every block is decoded
    once. No array of the raster's or a polygon's full size is ever made.

    Returns
    -------
    P, V, Kd, W
        Polygon index, raw raster value (NaN for nodata/outside), kind (0 value, 1 nodata, 2 outside
        the raster) and weight (cell area × coverage, m² in the raster grid); one entry per polygon,
        class and window, to be summed.
    """
    from rasterio.windows import Window

    H, W = src.height, src.width
    dtype = np.dtype(src.dtypes[band - 1])
    nodata = src.nodatavals[band - 1]
    small = dtype in (np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.bool_))
    voff = 128 if dtype == np.dtype(np.int8) else 0
    nan_nodata = nodata is not None and isinstance(nodata, float) and math.isnan(nodata)
    acc: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    e64 = np.array([], dtype=np.int64)
    b = ed["bounds"]
    have = np.flatnonzero(~np.isnan(b[:, 0]))
    if not len(have) or not len(ed["y0"]):
        return e64, np.array([]), e64, np.array([])

    def emit_outside(p: np.ndarray, w: np.ndarray) -> None:
        if len(p):
            acc.append((p, np.full(len(p), np.nan), np.full(len(p), 2, dtype=np.int64), w))

    bh, bw = (int(v) for v in src.block_shapes[band - 1])
    bh, bw = max(1, min(bh, H)), max(1, min(bw, W))
    # widest cluster of polygon column ranges (inside the raster): the strip height follows from it
    gap_merge = max(bw, 64)
    lo = np.clip(np.floor(b[have, 0]), 0, W).astype(np.int64)
    hi = np.clip(np.floor(b[have, 2]) + 1, 0, W).astype(np.int64)
    o = np.argsort(lo, kind="stable")
    lo_s, hi_s = lo[o], hi[o]
    run_hi = np.maximum.accumulate(hi_s)
    cut = np.flatnonzero(lo_s[1:] > run_hi[:-1] + gap_merge) + 1
    starts = np.r_[0, cut]
    widths = np.maximum.reduceat(hi_s, starts) - lo_s[starts]
    maxw = max(1, int(widths.max()))
    max_rows = max(1, max_cells // maxw, bh if max_cells >= bh * bw else 0)
    # a boundary piece costs ~250 bytes in _strip_coverage, a window cell a few: ~1/32 as many pieces as cells
    h = _strip_rows(ed, max_rows=max_rows, block_rows=bh, budget_pieces=max(20_000, max_cells // 32))
    cw = max(1, max_cells // h)
    if cw >= bw and cw < maxw:  # clusters wider than a window: chunks aligned to the blocks
        cw = cw // bw * bw
    stats.update(strip_rows=h, window_cols=cw)
    cmin = int(np.floor(np.nanmin(b[:, 0]))) - 1
    span = int(np.ceil(np.nanmax(b[:, 2]))) - cmin + 2
    eymin = np.minimum(ed["y0"], ed["y1"])
    eymax = np.maximum(ed["y0"], ed["y1"])
    order = np.argsort(eymin, kind="stable")
    eymin_s = eymin[order]
    rlo = np.floor(b[have, 1]).astype(np.int64) // h
    rhi = np.floor(b[have, 3]).astype(np.int64) // h
    strips = np.unique(np.concatenate([np.arange(a, z + 1) for a, z in zip(rlo.tolist(), rhi.tolist())]))
    loc_of = np.zeros(n, dtype=np.int64)
    max_bins = max(1 << 22, max_cells)
    for k in strips.tolist():
        s0, s1 = k * h, (k + 1) * h
        cand = order[: np.searchsorted(eymin_s, s1, side="left")]
        sel = np.sort(cand[eymax[cand] > s0])
        if not len(sel):
            continue
        (bp, br, bc, bf), (rp, rr, ra, rz, rg) = _strip_coverage(ed, sel, s0, s1, cmin, span)
        stats["boundary_cells"] += len(bp)
        # ---- outside the raster: no read
        bout = (br < 0) | (br >= H) | (bc < 0) | (bc >= W)
        if bout.any():
            emit_outside(bp[bout], bf[bout] * row_weight(br[bout]))
            bp, br, bc, bf = bp[~bout], br[~bout], bc[~bout], bf[~bout]
        rin = (rr >= 0) & (rr < H)
        a = np.clip(ra, 0, W)
        z = np.clip(rz, 0, W)
        inl = np.where(rin, np.maximum(z - a, 0), 0)
        outl = (rz - ra) - inl
        if (outl > 0).any():
            m = outl > 0
            emit_outside(rp[m], rg[m] * outl[m] * row_weight(rr[m]))
        m = inl > 0
        rp, rr, a, z, rg = rp[m], rr[m], a[m], z[m], rg[m]
        if not len(bp) and not len(rp):
            continue
        # ---- clusters of the polygons' column ranges in this strip → windows
        ext = [_per_polygon_extent(bp, bc, bc + 1, br), _per_polygon_extent(rp, a, z, rr)]
        pp = np.concatenate([ext[0][0], ext[1][0]])
        up, inv_ = np.unique(pp, return_inverse=True)
        plo = np.full(len(up), np.iinfo(np.int64).max); phi = np.zeros(len(up), dtype=np.int64)
        prl = np.full(len(up), np.iinfo(np.int64).max); prh = np.zeros(len(up), dtype=np.int64)
        np.minimum.at(plo, inv_, np.concatenate([ext[0][1], ext[1][1]]))
        np.maximum.at(phi, inv_, np.concatenate([ext[0][2], ext[1][2]]))
        np.minimum.at(prl, inv_, np.concatenate([ext[0][3], ext[1][3]]))
        np.maximum.at(prh, inv_, np.concatenate([ext[0][4], ext[1][4]]))
        o = np.argsort(plo, kind="stable")
        up, plo, phi, prl, prh = up[o], plo[o], phi[o], prl[o], prh[o]
        run_hi = np.maximum.accumulate(phi)
        cst = np.r_[0, np.flatnonzero(plo[1:] > run_hi[:-1] + gap_merge) + 1]
        cend = np.r_[cst[1:], len(up)]
        wins = []  # (col0, col1, row0, row1, first member, last member)
        for c_a, c_b in zip(cst.tolist(), cend.tolist()):
            x0 = int(plo[c_a]); x1 = int(phi[c_a:c_b].max())
            y0 = int(prl[c_a:c_b].min()); y1 = int(prh[c_a:c_b].max()) + 1
            for kc in range(x0 // cw, (x1 - 1) // cw + 1):
                wins.append((max(x0, kc * cw), min(x1, (kc + 1) * cw), y0, y1, c_a, c_b))
        wc0 = np.array([w[0] for w in wins], dtype=np.int64)
        # split runs at window-chunk boundaries (multiples of cw), then assign items to windows
        k0 = a // cw
        ns = (z - 1) // cw - k0 + 1
        if (ns > 1).any():
            rep = np.repeat(np.arange(len(a)), ns)
            j = np.arange(len(rep)) - np.repeat(np.cumsum(ns) - ns, ns)
            kk = k0[rep] + j
            a = np.maximum(a[rep], kk * cw); z = np.minimum(z[rep], (kk + 1) * cw)
            rp, rr, rg = rp[rep], rr[rep], rg[rep]
        wid_b = np.searchsorted(wc0, bc, side="right") - 1
        wid_r = np.searchsorted(wc0, a, side="right") - 1
        ob = np.argsort(wid_b, kind="stable"); orr = np.argsort(wid_r, kind="stable")
        bp, br, bc, bf = bp[ob], br[ob], bc[ob], bf[ob]
        rp, rr, a, z, rg = rp[orr], rr[orr], a[orr], z[orr], rg[orr]
        bcut = np.searchsorted(wid_b[ob], np.arange(len(wins) + 1))
        rcut = np.searchsorted(wid_r[orr], np.arange(len(wins) + 1))
        for wi, (c0, c1, y0, y1, m_a, m_b) in enumerate(wins):
            sb = slice(bcut[wi], bcut[wi + 1]); sr = slice(rcut[wi], rcut[wi + 1])
            if sb.start == sb.stop and sr.start == sr.stop:
                continue
            data = src.read(band, window=Window(c0, y0, c1 - c0, y1 - y0))
            stats["windows_read"] += 1
            stats["cells_read"] += data.size
            stats["max_cells_at_once"] = max(stats["max_cells_at_once"], int(data.size))
            wwid = c1 - c0
            flat = data.reshape(-1)
            members = up[m_a:m_b]
            loc_of[members] = np.arange(len(members))
            # values of the boundary cells and of the runs' cells (runs expanded in bounded batches)
            vb = data[br[sb] - y0, bc[sb] - c0]
            lb = loc_of[bp[sb]]
            wb = bf[sb] * row_weight(br[sb])
            L = z[sr] - a[sr]
            rstart = (rr[sr] - y0) * wwid + (a[sr] - c0)
            lr = loc_of[rp[sr]]
            gr = rg[sr]
            rw_r = row_weight(rr[sr])
            if small:
                uv = None
                K = 257  # 0..255 values (+128 for int8), 256 nodata
            else:
                good = ~(np.isnan(data) if nan_nodata else (data == nodata if nodata is not None else np.zeros(data.shape, dtype=bool)))
                uv = np.unique(data[good])
                K = len(uv) + 1
            mb = max(1, max_bins // K)
            for m0 in range(0, len(members), mb):
                nm = min(mb, len(members) - m0)
                cnt = np.zeros(nm * K)
                parts_b = [slice(None)] if m0 == 0 and nm == len(members) else [(lb >= m0) & (lb < m0 + nm)]
                for sel_b in parts_b:
                    cnt += np.bincount((lb[sel_b] - m0) * K + _codes(vb[sel_b], small=small, voff=voff, nodata=nodata,
                                                                     nan_nodata=nan_nodata, uv=uv),
                                       weights=wb[sel_b], minlength=nm * K)
                rsel = np.flatnonzero((lr >= m0) & (lr < m0 + nm)) if not (m0 == 0 and nm == len(members)) else np.arange(len(L))
                if small and not np.ndim(rw_r) and len(rsel) and (nm + 1) * K <= max_bins:
                    # label image of the fully covered runs (flat diff + cumsum), when they do not overlap
                    # and cover enough of the window: one pass less per cell than gathering, and no indices
                    full_r = rsel[gr[rsel] == 1.0]
                    st = rstart[full_r]
                    os_ = np.argsort(st, kind="stable")
                    st_s = st[os_]
                    en_s = st_s + L[full_r][os_]
                    if len(full_r) and not (st_s[1:] < en_s[:-1]).any() and 3 * int(L[full_r].sum()) >= data.size:
                        lab = np.zeros(data.size + 1, dtype=np.intp)
                        lid = (lr[full_r][os_] - m0 + 1).astype(np.intp)
                        np.add.at(lab, st_s, lid)
                        np.add.at(lab, en_s, -lid)
                        np.cumsum(lab, out=lab)
                        img = lab[:-1]
                        img *= K
                        img += flat
                        if voff:
                            img += voff
                        if nodata is not None and not nan_nodata:
                            nd = flat == nodata
                            if nd.any():
                                img[nd] += 256 - (int(nodata) + voff)
                        cnt += np.bincount(img, minlength=(nm + 1) * K)[K:] * float(rw_r)
                        stats["label_windows"] += 1
                        del lab, img
                        rsel = rsel[gr[rsel] != 1.0]
                # batches of runs of at most max_cells cells
                cs = np.cumsum(L[rsel])
                bstarts = np.searchsorted(cs, np.arange(0, int(cs[-1]) if len(cs) else 0, max_cells), side="right")
                for q0, q1 in zip(bstarts.tolist(), np.r_[bstarts[1:], len(rsel)].tolist()):
                    if q1 <= q0:
                        continue
                    ri = rsel[q0:q1]
                    Lq = L[ri]
                    tot = int(Lq.sum())
                    offs = np.cumsum(Lq) - Lq
                    idx = np.arange(tot, dtype=np.int64)
                    idx += np.repeat(rstart[ri] - offs, Lq)
                    codes = _codes(flat[idx], small=small, voff=voff, nodata=nodata, nan_nodata=nan_nodata, uv=uv)
                    del idx
                    codes += np.repeat((lr[ri] - m0) * K, Lq)
                    wq = gr[ri] * rw_r[ri] if np.ndim(rw_r) else gr[ri] * rw_r
                    if np.all(wq == wq[0]):
                        cnt += np.bincount(codes, minlength=nm * K) * float(wq[0])
                    else:
                        cnt += np.bincount(codes, weights=np.repeat(wq, Lq), minlength=nm * K)
                    del codes
                cnt = cnt.reshape(nm, K)
                pi, ci = np.nonzero(cnt)
                w = cnt[pi, ci]
                if uv is None:
                    val = np.where(ci < 256, ci - voff, np.nan)
                    kind = (ci == 256).astype(np.int64)
                else:
                    val = np.where(ci < len(uv), uv[np.minimum(ci, max(len(uv) - 1, 0))] if len(uv) else np.nan, np.nan).astype(np.float64)
                    kind = (ci == len(uv)).astype(np.int64)
                acc.append((members[m0 + pi], val.astype(np.float64), kind, w))
    if not acc:
        return e64, np.array([]), e64, np.array([])
    return tuple(np.concatenate([x[i] for x in acc]) for i in range(4))  # type: ignore[return-value]


def _codes(vals: np.ndarray, *, small: bool, voff: int, nodata: Any, nan_nodata: bool, uv: np.ndarray | None) -> np.ndarray:
    """Raster values → bin codes (``intp``): value codes, then one nodata code after them."""
    if small:
        c = vals.astype(np.intp)
        if voff:
            c += voff
        if nodata is not None and not nan_nodata:
            nd = vals == nodata
            if nd.any():
                c[nd] = 256
        return c
    assert uv is not None
    nd = np.isnan(vals) if nan_nodata else (vals == nodata if nodata is not None else np.zeros(vals.shape, dtype=bool))
    c = np.searchsorted(uv, vals).astype(np.intp)
    c[nd] = len(uv)
    return c


def landcover_by_polygons(
    polygons: "gpd.GeoDataFrame | gpd.GeoSeries",
    raster: Any,
    *,
    classes: Any = None,
    ids: Sequence[Any] | None = None,
    band: int = 1,
    gk_crs: Any = None,
    data_quality: str | None = None,
    polygons_quality: str | None = None,
    tile_px: int = 1024,
    max_window_cells: int = 2_000_000,
    memory_mb: float | None = None,
) -> LandcoverResult:
    """Exact-coverage class areas of a categorical raster inside arbitrary polygons.

    Parameters
    ----------
    polygons
        GeoDataFrame/GeoSeries of (Multi)Polygons with a CRS (3 parts or 100,000 parcels: the
        same code path).
    raster
        Path of a raster GDAL reads, or an open ``rasterio`` dataset. Any CRS; must be
        north-up (no rotation).
    classes
        ``None`` (raw values), ``"worldcover"``, ``"clcd"``, a CSV with ``value`` and ``name``
        (optional ``group``), a ``{value: name}`` dict or a DataFrame.
    ids
        One id per polygon (default: the ``part_id`` column, else the index).
    band
        Band number (1-based).
    gk_crs
        CRS for the areas (default: the CGCS2000 3° GK zone of the polygons).
    data_quality
        Quality label of the raster (default: its ``quality`` tag, else ``unknown``).
    polygons_quality
        Quality label of the polygons, carried into ``method["quality"]``.
    tile_px
        Ignored (kept so that older calls still work; windows now follow the raster's blocks).
    max_window_cells
        At most this many raster cells are read and held at once (default 2,000,000, about
        100 MB of working memory for a uint8 raster). The raster is streamed: strips of rows (a
        multiple of its block height), and in each strip windows over the polygons that lie there,
        aligned to the blocks so each block is decoded once; nothing of the raster's or of a
        polygon's full size is ever allocated. GDAL's block cache is capped for the call (and
        restored after it).
    memory_mb
        Working-memory budget in MB; when given it sets ``max_window_cells`` (about
        ``memory_mb·10⁶ / (48 + bytes per value)`` cells).

    Returns
    -------
    LandcoverResult
        Areas are coverage-weighted cell areas scaled to each polygon's planar area in the GK
        CRS (the ``scale`` column gives the factor; 1 when the raster is in that CRS).
        ``method`` reports ``windows_read``, ``cells_read``, ``max_cells_read_at_once`` and
        ``strip_rows``.

    Notes
    -----
    Exact coverage without rasterizing: Green's theorem along each raster row gives, from the
    polygon edges alone, the exact covered fraction of every cell a boundary crosses and runs
    of cells of equal coverage between them (1 inside; a fraction where an edge runs along the
    row), see :func:`_strip_coverage`. Boundary cells are weighted by their fraction and the runs'
    cells gathered from the window and counted with one ``np.bincount`` over
    ``polygon × class`` per window. Each polygon's cells are its own, so overlapping polygons are
    exact in one pass.
    Polygon edges are straight lines in the raster's CRS (vertices are reprojected).
    """
    import geopandas as gpd
    import pandas as pd
    import rasterio
    import shapely

    from xclz_geo.geo import crs as _crs

    if isinstance(polygons, gpd.GeoSeries):
        polygons = gpd.GeoDataFrame(geometry=polygons)
    if polygons.crs is None:
        raise CRSError("the polygons declare no CRS; set it before the land-cover overlay")
    n = len(polygons)
    if ids is None:
        ids = list(polygons["part_id"]) if "part_id" in polygons.columns else list(polygons.index)
    ids = list(ids)
    if len(ids) != n:
        raise InputDataError(f"ids has {len(ids)} entries for {n} polygons")
    gk = _crs.to_crs(gk_crs) if gk_crs is not None else (_crs.gk_crs_for(polygons) if n else _crs.to_crs(_crs.XUANCHENG_GK_EPSG))
    gk_label = f"EPSG:{gk.to_epsg()}" if gk.to_epsg() else gk.name
    table, table_label = _class_table(classes)

    own = False
    if isinstance(raster, (str, Path)):
        p = Path(raster)
        if not p.exists():
            raise InputFileError(f"{p}: raster file not found")
        try:
            src = rasterio.open(p)
        except Exception as exc:
            raise InputFileError(f"{p}: cannot open as a raster ({exc})") from None
        own = True
        rlabel = str(p)
    else:
        src = raster
        rlabel = str(getattr(src, "name", "raster"))
    try:
        if src.crs is None:
            raise CRSError(f"{rlabel}: the raster declares no CRS; assign one (gdal_edit.py -a_srs EPSG:…) first")
        if not 1 <= band <= src.count:
            raise InputDataError(f"{rlabel}: band {band} does not exist (the raster has {src.count})")
        T = src.transform
        if abs(T.b) > 1e-12 * abs(T.a) or abs(T.d) > 1e-12 * abs(T.e):
            raise InputDataError(f"{rlabel}: the raster grid is rotated; warp it to a north-up grid first (gdalwarp)")
        rcrs = _crs.to_crs(src.crs)
        dtype = np.dtype(src.dtypes[band - 1])
        if dtype.kind == "f":
            warnings.warn(f"{rlabel}: floating-point raster read as categorical; values are compared exactly",
                          DataQualityWarning, stacklevel=2)
        nodata = src.nodatavals[band - 1]
        H, W = src.height, src.width
        geographic = rcrs.is_geographic
        if geographic:
            cell_desc = f"{abs(T.a):.8g}° × {abs(T.e):.8g}°"
            unit_factor = 1.0
        else:
            try:
                unit_factor = float(rcrs.axis_info[0].unit_conversion_factor)
            except Exception:  # pragma: no cover - exotic CRS
                unit_factor = 1.0
            cell_desc = f"{abs(T.a) * unit_factor:.6g} m × {abs(T.e) * unit_factor:.6g} m"
        cell_area_const = abs(T.a * T.e) * unit_factor ** 2
        tags = src.tags()
        dq = data_quality or tags.get("quality") or tags.get("QUALITY") or "unknown"

        # ---- geometry: GK areas, raster-CRS vertices, pixel-space ring edges (vertex transforms, cached transformers)
        prepared, gstatus = _prepare_polygons(np.asarray(polygons.geometry.values, dtype=object), source="polygons", label="polygon")
        usable = np.array([g is not None for g in prepared], dtype=bool)
        uidx = np.flatnonzero(usable)
        pcrs = _crs.to_crs(polygons.crs)

        def reproject(geoms: np.ndarray, dst: Any) -> np.ndarray:
            if _crs.same_crs(pcrs, dst):
                return geoms
            tr = _crs.transformer(pcrs, dst)
            return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

        area_gk = np.zeros(n)
        e64 = np.array([], dtype=np.int64)
        ed: dict[str, np.ndarray] = {"x0": np.array([]), "y0": np.array([]), "x1": np.array([]), "y1": np.array([]),
                                     "p": e64, "sg": np.array([]), "bounds": np.full((n, 4), np.nan)}
        if len(uidx):
            area_gk[uidx] = shapely.area(reproject(prepared[uidx], gk))
            ed = _pixel_edges(reproject(prepared[uidx], rcrs), T)
            ed["p"] = uidx[ed["p"]]
            bnds = np.full((n, 4), np.nan)
            bnds[uidx] = ed["bounds"]
            ed["bounds"] = bnds
        bp_ = ed["bounds"]
        whole_out = usable & ((bp_[:, 2] <= 0) | (bp_[:, 0] >= W) | (bp_[:, 3] <= 0) | (bp_[:, 1] >= H))
        outside_whole = np.flatnonzero(whole_out).tolist()
        if whole_out.any():
            keep = ~whole_out[ed["p"]]
            for k_ in ("x0", "y0", "x1", "y1", "p", "sg"):
                ed[k_] = ed[k_][keep]
            ed["bounds"] = np.where(whole_out[:, None], np.nan, bp_)

        def row_area(rows: np.ndarray) -> np.ndarray:
            top = T.f + T.e * rows
            return _ellipsoid_row_areas(top, top + T.e, T.a)

        def row_weight(rows: np.ndarray) -> Any:
            """Area (m² in the grid) of one whole cell in each row."""
            return row_area(rows.astype(float)) if geographic else cell_area_const

        if memory_mb is not None:
            if not memory_mb > 0:
                raise InputDataError(f"memory_mb must be a positive number of megabytes, not {memory_mb!r}")
            max_window_cells = max(1, int(memory_mb * 1e6 / (dtype.itemsize + _BYTES_PER_WINDOW_CELL)))
        if not max_window_cells >= 1:
            raise InputDataError(f"max_window_cells must be at least 1, not {max_window_cells!r}")
        stats: dict[str, Any] = {"windows_read": 0, "cells_read": 0, "passes": 1, "max_cells_at_once": 0,
                                 "boundary_cells": 0, "strip_rows": None, "window_cols": None, "label_windows": 0}
        # GDAL keeps every decoded block in its cache (5 % of RAM by default): cap it for the call, so
        # memory stays bounded on a raster larger than RAM (each block is decoded once anyway)
        from rasterio.env import get_gdal_config, set_gdal_config

        bh_, bw_ = src.block_shapes[band - 1]
        cap = max(16 << 20, 2 * max_window_cells * dtype.itemsize + int(bh_) * W * dtype.itemsize)
        old_cache = get_gdal_config("GDAL_CACHEMAX")
        lower = isinstance(old_cache, int) and old_cache > cap
        if lower:
            set_gdal_config("GDAL_CACHEMAX", cap)
        try:
            P, V, Kd, Wt = _stream_coverage(src, band, ed, n=n, max_cells=max(1, int(max_window_cells)),
                                            row_weight=row_weight, stats=stats)
        finally:
            if lower:
                set_gdal_config("GDAL_CACHEMAX", old_cache)

        # ---- assemble (vectorised)
        total = np.bincount(P, weights=Wt, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, area_gk / total, np.nan)
        nod = np.bincount(P, weights=Wt * (Kd == 1), minlength=n) * np.nan_to_num(scale)
        outside = np.bincount(P, weights=Wt * (Kd == 2), minlength=n) * np.nan_to_num(scale)
        vm = Kd == 0
        Pv, Vv, Wv = P[vm], V[vm], Wt[vm]
        # merge duplicates (row bands) per (polygon, value)
        if len(Pv):
            o = np.lexsort((Vv, Pv))
            Pv, Vv, Wv = Pv[o], Vv[o], Wv[o]
            new = np.ones(len(Pv), dtype=bool)
            new[1:] = (Pv[1:] != Pv[:-1]) | (Vv[1:] != Vv[:-1])
            gid = np.cumsum(new) - 1
            Wv = np.bincount(gid, weights=Wv)
            Pv, Vv = Pv[new], Vv[new]
            nz = np.abs(Wv) > 1e-9 * cell_area_const
            Pv, Vv, Wv = Pv[nz], Vv[nz], Wv[nz]
        area_v = Wv * scale[Pv] if len(Pv) else Wv
        classified = np.bincount(Pv, weights=area_v, minlength=n)
        is_int = np.all(np.mod(Vv, 1) == 0) if len(Vv) else True
        vals_out = Vv.astype(np.int64) if is_int else Vv
        if table is not None:
            tv = table["value"].to_numpy()
            lut_name = dict(zip(tv.tolist(), table["name"]))
            lut_group = dict(zip(tv.tolist(), table["group"]))
            uvals = np.unique(vals_out)
            in_tab_u = {v: v in lut_name for v in uvals.tolist()}
            name_u = {v: lut_name.get(v, f"(value {v}: not in class table)") for v in uvals.tolist()}
            group_u = {v: lut_group.get(v, "unknown") for v in uvals.tolist()}
            vl = vals_out.tolist()
            names_col = [name_u[v] for v in vl]
            groups_col = [group_u[v] for v in vl]
            in_tab = [in_tab_u[v] for v in vl]
            unknown_vals = sorted(v for v, ok in in_tab_u.items() if not ok)
        else:
            names_col = [f"value {v}" for v in vals_out.tolist()]
            groups_col = ["unknown"] * len(vals_out)
            in_tab = [True] * len(vals_out)
            unknown_vals = []
        ids_arr = np.asarray(ids, dtype=object)
        by_class = pd.DataFrame({
            "id": ids_arr[Pv] if len(Pv) else [],
            "value": vals_out,
            "name": names_col,
            "group": groups_col,
            "cells": Wv / cell_area_const if not geographic else np.full(len(Wv), np.nan),
            "area_m2": area_v,
            "area_ha": units.m2_to_ha(area_v),
            "area_mu": units.m2_to_mu(area_v),
            "share": area_v / area_gk[Pv] if len(Pv) else area_v,
            "in_class_table": in_tab,
        })
        status = np.full(n, "ok", dtype=object)
        part_out = outside > 1e-6 * np.maximum(area_gk, 1.0)
        status[part_out] = "partly outside the raster"
        status[part_out & (classified + nod <= 1e-9)] = "outside the raster"
        if outside_whole:
            ow = np.array(outside_whole)
            outside[ow] = area_gk[ow]
            classified[ow] = 0.0
            nod[ow] = 0.0
            status[ow] = "outside the raster"
        status[~usable] = np.where(gstatus[~usable] != "", gstatus[~usable], "no geometry")
        nanu = np.where(usable, 1.0, np.nan)
        polys_df = pd.DataFrame({
            "id": ids, "area_m2": area_gk * nanu, "classified_m2": classified * nanu, "nodata_m2": nod * nanu,
            "outside_raster_m2": outside * nanu, "scale": scale, "status": status,
        })
        if unknown_vals and table is not None:
            warnings.warn(
                f"{rlabel}: raster values {unknown_vals[:8]} are not in the class table {table_label}; "
                "they are reported as '(value N: not in class table)'",
                DataQualityWarning,
                stacklevel=2,
            )
        method = {
            "kind": "raster overlay",
            "engine": "exact coverage, streamed: boundary-cell fractions and interior runs per raster row (Green's theorem, numpy), "
                      "block-aligned windows of at most max_window_cells cells",
            "raster": rlabel,
            "raster_crs": rcrs.to_string(),
            "raster_crs_name": rcrs.name,
            "cell_size": cell_desc,
            "cell_size_xy": [abs(T.a), abs(T.e)],
            "raster_shape": [H, W],
            "band": band,
            "nodata_value": None if nodata is None else _clean(nodata),
            "classes": table_label,
            "unknown_values": [_clean(v) for v in unknown_vals],
            "crs": gk_label,
            "area_basis": f"coverage-weighted cell areas scaled to each polygon's planar area in {gk_label}",
            "windows_read": stats["windows_read"],
            "cells_read": stats["cells_read"],
            "passes": stats["passes"],
            "max_window_cells": int(max_window_cells),
            "max_cells_read_at_once": stats["max_cells_at_once"],
            "strip_rows": stats["strip_rows"],
            "boundary_cells": stats["boundary_cells"],
            "windows_by_label_image": stats["label_windows"],
            "quality": {"zone": polygons_quality, "data": dq},
        }
        return LandcoverResult(by_class, polys_df, method)
    finally:
        if own:
            src.close()


def landcover_by_part(
    zone: "Zone",
    raster: Any,
    *,
    classes: Any = None,
    band: int = 1,
    data_quality: str | None = None,
    max_window_cells: int = 2_000_000,
    memory_mb: float | None = None,
) -> LandcoverResult:
    """Exact-coverage land-cover class areas per part of a zone.

    Parameters
    ----------
    zone
        The zone; parts without geometry come out with status ``no geometry``.
    raster
        Categorical raster (path or open rasterio dataset) in any CRS; only the windows that
        cover the parts are read.
    classes
        ``"worldcover"``, ``"clcd"``, a CSV path (``value``, ``name``, optional ``group``), a
        ``{value: name}`` dict, a DataFrame, or ``None`` for raw values.
    band, data_quality, max_window_cells, memory_mb
        See :func:`landcover_by_polygons`.

    Returns
    -------
    LandcoverResult
        ``polygons["id"]`` holds the part ids; ``method["quality"]`` carries the zone's and the
        raster's quality labels.
    """
    res = landcover_by_polygons(
        zone.parts, raster, classes=classes, ids=list(zone.parts["part_id"]), band=band,
        gk_crs=zone.gk_crs, data_quality=data_quality, polygons_quality=zone.worst_quality,
        max_window_cells=max_window_cells, memory_mb=memory_mb,
    )
    if zone.worst_quality in ("schematic", "synthetic"):
        res.method.setdefault("notes", []).append(
            f"The zone boundaries are {zone.worst_quality}: shares say nothing about the official red line."
        )
    return res


__all__ = [
    "SCHEMES", "LandUseClass", "CodeTable", "code_table", "lookup", "normalize_code", "normalize_scheme",
    "detect_scheme", "classify_codes", "crosswalk_sandiao_ydyh", "to_ydyh", "report_groups",
    "landuse_by_part", "LanduseResult", "landcover_by_part", "landcover_by_polygons", "LandcoverResult",
    "boundary_coverage",
]
