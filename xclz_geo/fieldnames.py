"""Field names of the indicator inputs: Chinese, English and DBF-safe short aliases, in one table.

A Shapefile's .dbf holds field names of at most **10 bytes**; in GBK a Chinese character takes
2 bytes, so ``建筑基底面积(平方米)`` arrives as ``建筑基底面`` and ``固定资产投资(万元)`` as
``固定资产投`` (GDAL cuts at a character boundary and numbers clashes ``固定资产_1``). Three
things make such files usable:

1. :data:`FIELD_NAMES` gives every indicator input a short alias that fits in 10 GBK bytes
   (``JZJDMJ`` / ``基底面积`` for 建筑基底面积, ``GDZCTZ`` / ``固定投资`` for 固定资产投资 …). The
   efficiency table (:mod:`xclz_geo.efficiency`), the parcel layer (:mod:`xclz_geo.intensity`) and
   the land-use code fields (:mod:`xclz_geo.landuse`) all accept them. The table is printed by
   ``xclz-geo efficiency template`` (sheet ``字段别名``) and in ``docs/notes/semantics.md``.
2. :func:`truncated_match`: a header of at least 8 GBK bytes that is a byte-prefix of exactly one
   known Chinese name is taken for that name and reported as a *fuzzy* match.
3. ``--field NAME=COLUMN`` (repeatable; :func:`parse_field_args`) maps any other column:
   ``--field 建筑基底面积=JDMJ_2023``. NAME is the field's Chinese name, English key or any alias.
   The commands install the mapping with :func:`use_field_map`; the readers consult
   :func:`active_field_map`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from xclz_geo.errors import InputDataError

#: contexts: the enterprise table of ``efficiency``, the parcel layer of the TD/T 1029 indicators,
#: the code/name fields of ``landuse``
CONTEXTS = ("efficiency", "parcels", "landuse")

#: a truncated header must keep at least this many GBK bytes to be matched to a longer name
MIN_TRUNCATED_BYTES = 8


@dataclass(frozen=True)
class FieldName:
    """One input field in one context.

    Attributes
    ----------
    context
        ``efficiency``, ``parcels`` or ``landuse``.
    key
        The field key the code uses (``footprint_m2``).
    name_zh
        The Chinese name (without unit) users write (``建筑基底面积``).
    name_en
        English name.
    short
        DBF-safe aliases, each at most 10 bytes in GBK (``JZJDMJ``, ``基底面积``).
    """

    context: str
    key: str
    name_zh: str
    name_en: str
    short: tuple[str, ...]


def _f(context: str, key: str, zh: str, en: str, *short: str) -> FieldName:
    return FieldName(context, key, zh, en, tuple(short))


#: the alias table (pinyin initials follow the field names of MNR 开发区 and 亩均 data sets where they exist:
#: JZMJ 总建筑面积, JZJDMJ 建筑基底面积, JDZMJ 建筑系数用地, GDZCTZZE 固定资产投资总额, DLBM 地类编码)
FIELD_NAMES: tuple[FieldName, ...] = (
    # enterprise table (亩均效益)
    _f("efficiency", "credit_code", "统一社会信用代码", "credit code", "TYSHXYDM", "XYDM", "信用代码"),
    _f("efficiency", "name", "企业名称", "enterprise name", "QYMC"),
    _f("efficiency", "above_scale", "是否规上", "above scale", "SFGS"),
    _f("efficiency", "industry_code", "行业代码", "industry code", "HYDM"),
    _f("efficiency", "industry_name", "行业名称", "industry name", "HYMC"),
    _f("efficiency", "land_mu", "用地面积", "land area (mu)", "YDMJ", "用地面积"),
    _f("efficiency", "tax_wan", "实缴税金", "tax paid", "SJSJ", "实缴税金"),
    _f("efficiency", "revenue_wan", "营业收入", "revenue", "YYSR", "营业收入"),
    _f("efficiency", "value_added_wan", "工业增加值", "industrial value added", "GYZJZ", "工业增加值"),
    _f("efficiency", "tech_investment_wan", "技改投资", "technical-upgrade investment", "JGTZ", "技改投资"),
    _f("efficiency", "energy_tce", "综合能耗", "energy use (tce)", "ZHNH", "综合能耗"),
    _f("efficiency", "emission_t", "主要污染物排放当量", "pollutant emissions", "PFDL", "排放当量"),
    _f("efficiency", "rd_wan", "研发经费", "R&D expenditure", "YFJF", "研发经费"),
    _f("efficiency", "employees", "年平均职工人数", "employees", "ZGRS", "职工人数"),
    _f("efficiency", "electricity_10k_kwh", "用电量", "electricity use", "YDL", "用电量"),
    _f("efficiency", "adjustment", "加减分", "score adjustment", "JJF", "加减分"),
    _f("efficiency", "exempt_reason", "不参评原因", "exemption reason", "BCPYY", "不参评原因"),
    _f("efficiency", "lon", "经度", "longitude", "JD"),
    _f("efficiency", "lat", "纬度", "latitude", "WD"),
    _f("efficiency", "parcel_id", "地块编号", "parcel id", "DKBH"),
    _f("efficiency", "data_quality", "数据质量", "data quality", "SJZL"),
    # parcel layer (TD/T 1029 开发区土地集约利用, under-used land)
    _f("parcels", "parcel_id", "地块编号", "parcel id", "DKBH", "ZDH"),
    _f("parcels", "ledger_class", "统计类别", "ledger class", "TJLB"),
    _f("parcels", "supplied", "是否已供应", "supplied", "SFGY", "已供应"),
    _f("parcels", "idle", "是否闲置", "idle", "SFXZ"),
    _f("parcels", "supply_status", "供地状态", "supply status", "GDZT"),
    _f("parcels", "floor_area_m2", "总建筑面积", "floor area (m²)", "JZMJ", "ZJZMJ", "总建筑面积", "建筑面积"),
    _f("parcels", "footprint_m2", "建筑基底面积", "building footprint (m²)", "JZJDMJ", "JDMJ", "基底面积"),
    _f("parcels", "coverage_m2", "建筑系数用地面积", "coverage area (m²)", "JDZMJ", "JZXSMJ", "系数用地"),
    _f("parcels", "investment_wan", "固定资产投资", "fixed-asset investment", "GDZCTZ", "GDZCTZZE", "固定投资"),
    _f("parcels", "tax_wan", "税收", "tax", "SS", "SSZE", "GYSSZE", "税收总额"),
    _f("parcels", "industry_code", "行业代码", "industry code", "HYDM"),
    _f("parcels", "floors", "层数", "floors", "CS"),
    _f("parcels", "landuse_code", "地类编码", "land-use code", "DLBM"),
    # land-use layer (landuse --parcels)
    _f("landuse", "code", "地类编码", "land-use code", "DLBM", "GHFLDM", "YDYHFLDM"),
    _f("landuse", "name", "地类名称", "land-use name", "DLMC", "GHFLMC", "YDYHFLMC"),
)


def gbk_bytes(text: str) -> int:
    """Length of ``text`` in GBK bytes (characters GBK cannot encode count 2)."""
    return len(str(text).encode("gbk", errors="replace"))


def norm(name: Any) -> str:
    """Header as compared: NFKC, no spaces, lower case, full-width brackets as ASCII."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s.replace("（", "(").replace("）", ")")


def names_for(context: str) -> tuple[FieldName, ...]:
    """The rows of one context."""
    return tuple(f for f in FIELD_NAMES if f.context == context)


def short_aliases(context: str, key: str) -> tuple[str, ...]:
    """DBF-safe aliases (and the English name) of ``key`` in ``context``; empty when not in the table."""
    out: list[str] = []
    for f in FIELD_NAMES:
        if f.context == context and f.key == key:
            out += [*f.short, f.name_zh, f.name_en]
    return tuple(out)


def truncated_match(header: Any, known: Mapping[str, str]) -> tuple[str, str] | None:
    """``(key, full name)`` when ``header`` is a byte-prefix (GBK) of known names of exactly one key.

    ``known`` maps normalised names (as :func:`norm` gives them) to keys. The header must keep at
    least :data:`MIN_TRUNCATED_BYTES` bytes and be shorter than the name; a header that is a prefix
    of names of two different keys is not matched (ambiguous).
    """
    h = norm(header)
    if gbk_bytes(h) < MIN_TRUNCATED_BYTES or h.isascii():
        return None
    hits: dict[str, str] = {}
    for name, key in known.items():
        if len(name) > len(h) and name.startswith(h):
            hits.setdefault(key, name)
    if len(hits) != 1:
        return None
    return next(iter(hits.items()))


def parse_field_args(items: Iterable[str] | None) -> dict[str, str]:
    """``["建筑基底面积=JDMJ", …]`` → ``{"建筑基底面积": "JDMJ"}`` (``--field NAME=COLUMN``, repeatable).

    Raises
    ------
    InputDataError
        An item without ``=``, with an empty side, or a NAME given twice.
    """
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, col = str(item).partition("=")
        name, col = name.strip(), col.strip()
        if not sep or not name or not col:
            raise InputDataError(f"--field {item!r}: write NAME=COLUMN, e.g. --field 建筑基底面积=JDMJ_2023 (NAME: the field's Chinese "
                                 "or English name or an alias; COLUMN: the header in your file)")
        if name in out and out[name] != col:
            raise InputDataError(f"--field {name}: given twice ({out[name]!r} and {col!r}); give each field once")
        out[name] = col
    return out


def resolve(name: str, context: str, index: Mapping[str, str]) -> str | None:
    """The key ``name`` stands for in ``context`` (``index``: normalised name → key), else ``None``."""
    n = norm(name)
    if n in index:
        return index[n]
    base = re.fullmatch(r"(.+?)\(([^()]*)\)", n)
    if base and base.group(1) in index:
        return index[base.group(1)]
    for f in names_for(context):
        if n in {norm(f.key), norm(f.name_zh), norm(f.name_en), *(norm(s) for s in f.short)}:
            return f.key
    return None


def known_anywhere(name: str) -> bool:
    """Whether ``name`` names a field of any context (for checking ``--field`` before reading files)."""
    n = norm(name)
    return any(n in {norm(f.key), norm(f.name_zh), norm(f.name_en), *(norm(s) for s in f.short)} for f in FIELD_NAMES)


_ACTIVE: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("xclz_field_map", default={})


@contextlib.contextmanager
def use_field_map(mapping: Mapping[str, str] | None) -> Iterator[None]:
    """Make ``--field`` mappings visible to every reader called inside the ``with`` block."""
    token = _ACTIVE.set(dict(mapping or {}))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active_field_map() -> dict[str, str]:
    """The mapping installed by :func:`use_field_map` (empty outside one)."""
    return dict(_ACTIVE.get())


def check_field_names(mapping: Mapping[str, str], contexts: Iterable[str]) -> None:
    """Refuse a ``--field`` NAME that no field of ``contexts`` has (the message lists the names)."""
    ctx = tuple(contexts)
    for name in mapping:
        n = norm(name)
        ok = any(n in {norm(f.key), norm(f.name_zh), norm(f.name_en), *(norm(s) for s in f.short)}
                 for f in FIELD_NAMES if f.context in ctx)
        if not ok:
            names = "、".join(dict.fromkeys(f.name_zh for f in FIELD_NAMES if f.context in ctx))
            raise InputDataError(f"--field {name}={mapping[name]}: {name!r} is not a field this command uses; known: {names}")


def how_to_supply(name_zh: str) -> str:
    """The hint printed when an indicator is empty for lack of ``name_zh``."""
    shorts = next((f.short for f in FIELD_NAMES if f.name_zh == name_zh), ())
    alias = f" (or a column named {'/'.join(shorts[:2])})" if shorts else ""
    return f"add a column {name_zh}{alias}, or map yours with --field {name_zh}=<your column>"


def alias_rows(context: str | None = None) -> list[dict[str, str]]:
    """The table as rows (for the template's 字段别名 sheet and the docs)."""
    return [
        {"用途": {"efficiency": "企业表 亩均效益", "parcels": "地块图层 集约利用", "landuse": "地类图层"}[f.context],
         "字段": f.name_zh, "英文": f.name_en, "键": f.key, "DBF 短名 (≤10 字节 GBK)": "、".join(f.short)}
        for f in FIELD_NAMES if context is None or f.context == context
    ]


__all__ = [
    "FIELD_NAMES", "FieldName", "CONTEXTS", "MIN_TRUNCATED_BYTES", "gbk_bytes", "norm", "names_for", "short_aliases",
    "truncated_match", "parse_field_args", "resolve", "known_anywhere", "use_field_map", "active_field_map",
    "check_field_names", "how_to_supply", "alias_rows",
]
