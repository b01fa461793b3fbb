"""亩均效益 evaluation of industrial enterprises (per-mu benefit), with method profiles as data.

The planner's yearly job: take the enterprise table the 经信局 exports (tax, revenue, land in 亩,
energy, emissions, R&D, staff), compute every per-mu indicator, score each firm by a provincial
method, rank it within its group (规上 / 规下) and class it A–D, then summarise per block and part,
per industry and per class.

Methods are TOML profiles (``data/methods/anhui.toml``, ``data/methods/zhejiang.toml`` or a user's own
file with the same keys, see ``data/methods/README.md``). Items not read in an official text carry
``confirmed = false``; results list them (``summary["method"]["unconfirmed"]``) and carry a
disclaimer, so a report cannot present a default weight as the official one.

Rules (all tested in ``tests/test_efficiency.py``)
--------------------------------------------------
Rows are never dropped. Each row gets ``status`` and ``reason``, decided in this order:

``invalid`` (the data must be fixed)
    in a column the method needs (:func:`needed_fields`: scope and group fields, the profile's
    ``required_inputs`` and its indicators' inputs): a text value in a number column, a negative
    land area, revenue, energy, emission, R&D, staff, electricity or 技改 value (tax, value added
    and the adjustment may be negative), an unreadable 是否规上; a 统一社会信用代码 that appears
    on more than one row (all such rows, the message names their spreadsheet rows); a required
    input other than 用地面积 (default: 实缴税金) that is empty — write 0 for a firm that paid no
    tax; 是否规上 empty with no 营业收入 to infer it from.
``not_evaluated`` (the method leaves the firm out)
    a non-empty 不参评原因 (new firm, under construction …); a public utility by industry code
    (44/45/46 by default); an industry code outside the industrial range (06–46); an **empty** or
    zero 用地面积 (``missing_land`` / ``zero_land``: without land there is no per-mu indicator; this
    is checked before the required inputs, so an empty 用地面积 is never ``invalid``); a 规下 firm
    below the method's land threshold (5 亩 in Anhui, 3 亩 in Zhejiang).
``evaluated``
    everything else; ``reason`` then holds notes (e.g. which indicator was missing and how it
    was scored).

A value that cannot be read in a column the method does **not** need (经度 ``待补充``, an unused
用电量) never changes the status: it is left empty and explained in the row's ``xclz_note``.

Indicators: a missing input, or a zero denominator (no energy use, no staff), makes that indicator
*undefined* for the firm; it is scored by the profile's ``missing`` rule (default: the group's mean
score of that indicator, as 黄岩区 does for emissions), never NaN. A zero numerator is a real zero.
Negative values (a net tax refund, a loss giving negative value added) are kept as reported: in
min–max scoring they sit at the bottom of the range; in ratio scoring a single indicator's score
is floored at ``negative_floor × weight`` (default 0) so one refund does not wipe out the others.
Min–max with all firms equal gives every firm the full weight.

Ranks are competition ranks within the group (1, 2, 2, 4), on totals rounded to 1e-6. Classes
are cut at ``round(n × cumulative share)`` (``rounding = "floor"``: never above the share); firms
tied on total score share one class — the better one with ``ties = "higher"`` (default), so a
class can hold a little more than its share; ``ties = "lower"`` gives the worse class.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo.errors import DataQualityWarning, InputDataError, InputFileError, MethodProfileError

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from xclz_geo.boundaries.zone import Zone
    from xclz_geo.io import TextTable

STATUSES = ("evaluated", "not_evaluated", "invalid")
GROUPS = ("above_scale", "below_scale")
GROUP_NAMES_ZH = {"above_scale": "规上", "below_scale": "规下"}


# ------------------------------------------------------------------ input fields


@dataclass(frozen=True)
class Field:
    """One recognised column of the enterprise table.

    Attributes
    ----------
    key
        English snake_case name (also accepted as a header).
    header_zh
        The Chinese header written in templates and output.
    kind
        ``text``, ``number`` or ``bool``.
    unit
        Unit of the canonical value (``亩``, ``万元`` …), empty for text.
    signed
        Negative numbers allowed (tax refunds, negative value added, score adjustments).
    aliases
        Other headers seen in real exports (matched after normalisation).
    note
        One line for the template's notes sheet.
    """

    key: str
    header_zh: str
    kind: str
    unit: str = ""
    signed: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""


FIELDS: tuple[Field, ...] = (
    Field("credit_code", "统一社会信用代码", "text", aliases=("信用代码", "社会信用代码", "uscc"),
          note="18 位统一社会信用代码；一个独立法人一行，重复的代码整行标为 invalid"),
    Field("name", "企业名称", "text", aliases=("名称", "企业", "单位名称", "enterprise_name", "company_name"), note="企业名称"),
    Field("above_scale", "是否规上", "bool", aliases=("规上", "是否规模以上", "规模以上", "企业规模", "is_above_scale"),
          note="是/否（也接受 规上/规下、1/0）；为空时按营业收入 ≥ 2000 万元推断并在 reason 中注明"),
    Field("industry_code", "行业代码", "text", aliases=("国民经济行业代码", "行业代码(gb/t4754-2017)", "行业分类代码"),
          note="GB/T 4754-2017 行业代码（2–4 位）；44/45/46 公用事业不参评"),
    Field("industry_name", "行业名称", "text", aliases=("所属行业",), note="行业名称（可选）"),
    Field("land_mu", "用地面积(亩)", "number", "亩", aliases=("用地面积", "实际用地面积(亩)", "实际用地面积", "土地面积(亩)", "占地面积(亩)", "land_area_mu"),
          note="实际占用土地面积，亩；也接受 用地面积(平方米)/(公顷) 并自动换算；为空或 0 不参评"),
    Field("tax_wan", "实缴税金(万元)", "number", "万元", signed=True,
          aliases=("实缴税金", "税收实际贡献(万元)", "税收实际贡献", "评价税收(万元)", "评价税收", "税收(万元)", "tax"),
          note="评价年度实缴税金，万元；必填（未缴税请填 0）；净退税可为负数"),
    Field("revenue_wan", "营业收入(万元)", "number", "万元",
          aliases=("营业收入", "主营业务收入(万元)", "主营业务收入", "销售收入(万元)", "销售收入", "revenue"), note="营业收入，万元"),
    Field("value_added_wan", "工业增加值(万元)", "number", "万元", signed=True, aliases=("工业增加值", "增加值(万元)", "value_added"),
          note="工业增加值，万元（亏损企业可为负数）"),
    Field("tech_investment_wan", "技改投资(万元)", "number", "万元",
          aliases=("技改投资", "技术改造投资(万元)", "技术改造投资", "tech_investment"), note="技术改造投资，万元"),
    Field("energy_tce", "综合能耗(吨标煤)", "number", "吨标煤",
          aliases=("综合能耗", "综合能耗(吨标准煤)", "总用能量(吨标准煤)", "总用能量", "energy"), note="综合能耗（等价值），吨标准煤"),
    Field("emission_t", "主要污染物排放当量(吨)", "number", "吨",
          aliases=("主要污染物排放当量", "主要污染物排放量(吨)", "主要污染物排放量", "排放量(吨)", "排放量", "排放当量", "emission", "emissions"),
          note="主要污染物排放当量或排放量（COD、氨氮、SO2、NOx），吨或当量吨"),
    Field("rd_wan", "研发经费(万元)", "number", "万元",
          aliases=("研发经费", "r&d经费支出(万元)", "r&d经费支出", "研发经费支出(万元)", "研发经费支出", "rd_expenditure_wan"),
          note="研究与试验发展(R&D)经费支出，万元"),
    Field("employees", "年平均职工人数", "number", "人", aliases=("年平均职工人数(人)", "全部从业人员平均人数", "从业人员平均人数", "职工人数"),
          note="年平均职工人数，人"),
    Field("electricity_10k_kwh", "用电量(万千瓦时)", "number", "万千瓦时", aliases=("用电量",), note="年用电量，万千瓦时"),
    Field("adjustment", "加减分", "number", signed=True, aliases=("附加分值", "附加分", "加分减分"), note="附加分值（加分为正、减分为负），直接加到综合得分"),
    Field("exempt_reason", "不参评原因", "text", aliases=("免评原因", "暂缓评价原因", "不评价原因"),
          note="填写后该企业不参评（如 新办未满3年、在建），原因写入 reason"),
    Field("lon", "经度", "number", signed=True, aliases=("lon", "lng", "longitude"), note="WGS84 经度（可选，用于按园区/片区汇总）"),
    Field("lat", "纬度", "number", signed=True, aliases=("lat", "latitude"), note="WGS84 纬度（可选）"),
    Field("parcel_id", "地块编号", "text", aliases=("宗地号", "宗地编号", "地块号", "不动产单元号"), note="地块编号（可选，与地块图层关联）"),
    Field("data_quality", "数据质量", "text", aliases=("quality", "数据性质"),
          note="official / surveyed / synthetic …（可选；结果沿用此标签）"),
)
FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}

#: alternative units in headers (normalised) → factor to the field's canonical unit
_UNIT_FACTORS: dict[str, dict[str, float]] = {
    "亩": {"亩": 1.0, "mu": 1.0, "平方米": 15.0 / 10000.0, "m2": 15.0 / 10000.0, "㎡": 15.0 / 10000.0, "公顷": 15.0, "ha": 15.0,
          "平方公里": 1500.0, "km2": 1500.0},
    "万元": {"万元": 1.0, "元": 1e-4, "千元": 0.1, "亿元": 1e4},
    "吨标煤": {"吨标煤": 1.0, "吨标准煤": 1.0, "tce": 1.0, "万吨标煤": 1e4, "万吨标准煤": 1e4},
    "吨": {"吨": 1.0, "当量吨": 1.0, "t": 1.0, "千克": 1e-3, "kg": 1e-3},
    "万千瓦时": {"万千瓦时": 1.0, "万kwh": 1.0, "千瓦时": 1e-4, "kwh": 1e-4, "度": 1e-4, "万度": 1.0},
    "人": {"人": 1.0},
}

_MISSING_TOKENS = {"", "-", "--", "—", "——", "/", "nan", "none", "null", "n/a", "na", "#n/a", "无数据"}
_TRUE = {"是", "规上", "规模以上", "y", "yes", "true", "1", "1.0", "√", "规上企业"}
_FALSE = {"否", "规下", "规模以下", "n", "no", "false", "0", "0.0", "×", "规下企业"}


def _norm_header(h: Any) -> str:
    s = unicodedata.normalize("NFKC", str(h)).strip().lower()
    s = re.sub(r"\s+", "", s)
    return s.replace("（", "(").replace("）", ")")


def _split_unit(h: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"(.+?)\(([^()]*)\)", h)
    if m:
        return m.group(1), m.group(2)
    return h, None


def _alias_index() -> dict[str, str]:
    from xclz_geo.fieldnames import short_aliases

    idx: dict[str, str] = {}
    for f in FIELDS:
        for name in (f.key, f.header_zh, *f.aliases, *short_aliases("efficiency", f.key)):
            idx.setdefault(_norm_header(name), f.key)
    return idx


_ALIASES = _alias_index()


@dataclass
class ColumnMap:
    """How the headers of an enterprise table were understood.

    Attributes
    ----------
    fields
        field key → original header.
    factors
        field key → factor applied to convert the header's unit to the canonical one.
    unknown
        Headers the tool does not know (kept in the output, not used), in input order.
    duplicates
        Headers that name a field already mapped (kept, not used), header → field key.
    fuzzy
        Headers matched as a truncated name (a 10-byte .dbf field name cut from a longer Chinese
        name, e.g. ``技术改造投`` → ``技术改造投资``): header → the full name it was taken for.
    given
        Fields mapped by ``--field NAME=COLUMN`` (``field_map=``): field key → column.
    """

    fields: dict[str, str] = field(default_factory=dict)
    factors: dict[str, float] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)
    fuzzy: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "fields": dict(self.fields),
            "unit_conversions": {k: v for k, v in self.factors.items() if v != 1.0},
            "unknown_columns": list(self.unknown),
            "duplicate_columns": dict(self.duplicates),
            "fuzzy_matches": dict(self.fuzzy),
            "mapped_by_field_option": dict(self.given),
        }


def _unit_factor(key: str, unit: str | None) -> float | None:
    """Factor from ``unit`` to the field's canonical unit (1 when no unit is given; ``None`` when unknown)."""
    if unit is None:
        return 1.0
    return _UNIT_FACTORS.get(FIELD_BY_KEY[key].unit, {}).get(unit)


def _apply_field_map(cm: ColumnMap, headers: list[str], field_map: Mapping[str, str], *, strict: bool, where: str) -> set[str]:
    """Map ``--field NAME=COLUMN`` entries first; returns the headers taken. NAME may carry a unit
    (``用地面积(平方米)=MJ``), which sets the conversion factor."""
    from xclz_geo.fieldnames import resolve

    taken: set[str] = set()
    norm_headers = {_norm_header(h): h for h in headers}
    for name, col in field_map.items():
        key = resolve(name, "efficiency", _ALIASES)
        if key is None:
            if strict:
                raise InputDataError(f"--field {name}={col}: {name!r} is not a field of the enterprise table; known: "
                                     f"{', '.join(f.header_zh for f in FIELDS)}")
            continue
        h = col if col in headers else norm_headers.get(_norm_header(col))
        if h is None:
            msg = f"{where}: --field {name}={col}: no column {col!r}; headers: {', '.join(headers) or '(none)'}"
            if strict:
                raise InputDataError(msg)
            warnings.warn(msg, DataQualityWarning, stacklevel=3)
            continue
        base, unit = _split_unit(_norm_header(name))
        factor = _unit_factor(key, unit if _ALIASES.get(base) == key else None) if unit else 1.0
        if factor is None:
            raise InputDataError(f"--field {name}={col}: unit {unit!r} unknown for {FIELD_BY_KEY[key].header_zh}; "
                                 f"use one of {', '.join(_UNIT_FACTORS.get(FIELD_BY_KEY[key].unit, {}))}")
        cm.fields[key] = h
        cm.factors[key] = factor
        cm.given[key] = h
        taken.add(h)
    return taken


def map_columns(headers: Iterable[Any], *, field_map: Mapping[str, str] | None = None, strict: bool = True,
                where: str = "enterprise table") -> ColumnMap:
    """Match headers (Chinese, English snake_case, with or without a unit in brackets) to fields.

    A header whose base name is known but whose unit differs (``用地面积(平方米)``, ``实缴税金(元)``)
    is mapped with a conversion factor. DBF-safe short names (``YDMJ``, ``SJSJ`` …, see
    :mod:`xclz_geo.fieldnames`) are accepted; a header cut to 10 bytes by a .dbf (``技术改造投``)
    is matched to the one longer name it starts (``fuzzy``) unless its unit was cut (``用地面积(``).
    ``field_map`` (``--field NAME=COLUMN``) maps other headers first; with ``strict`` an unknown
    NAME or COLUMN is an error, else it is skipped (with a warning for a missing column).
    Headers that match nothing are listed in ``unknown``; a second header for a field already
    mapped is listed in ``duplicates``.
    """
    from xclz_geo.fieldnames import truncated_match

    cm = ColumnMap()
    headers = [str(h) for h in headers]
    taken = _apply_field_map(cm, headers, field_map or {}, strict=strict, where=where) if field_map else set()
    for h in headers:
        if h in taken:
            continue
        n = _norm_header(h)
        key = _ALIASES.get(n)
        factor = 1.0
        if key is None:
            base, unit = _split_unit(n)
            key = _ALIASES.get(base)
            if key is not None and unit is not None:
                f = _unit_factor(key, unit)
                if f is None:
                    cm.unknown.append(str(h))
                    continue
                factor = f
        if key is None and "(" not in n:  # a cut unit ("用地面积(") would leave the unit unknown: not guessed
            hit = truncated_match(n, _ALIASES)
            if hit is not None:
                key, full = hit
                base, unit = _split_unit(full)
                factor = _unit_factor(key, unit) or 1.0
                if key not in cm.fields:
                    cm.fuzzy[str(h)] = full
        if key is None:
            cm.unknown.append(str(h))
            continue
        if key in cm.fields:
            cm.duplicates[str(h)] = key
            continue
        cm.fields[key] = str(h)
        cm.factors[key] = factor
    return cm


@dataclass
class EnterpriseTable:
    """An enterprise table as read: the original rows and the parsed canonical fields.

    Attributes
    ----------
    raw
        Every input row and column, in input order (index 0..n-1). Read from a CSV or XLSX file, the
        columns are pandas' Arrow-backed ``str`` holding each cell's text as typed (``""`` when empty;
        :func:`xclz_geo.io.read_table_text` with ``arrow_text=True``): a tenth of the memory of a
        Python ``str`` per cell.
    data
        One column per recognised field key (numbers as float, booleans as object True/False/None,
        text as str or None), same index.
    columns
        The :class:`ColumnMap`.
    errors
        Row position → list of messages for values that could not be read (text in a number column,
        a negative value where none is allowed, an unreadable 是否规上).
    source
        Where the table came from.
    """

    raw: "pd.DataFrame"
    data: "pd.DataFrame"
    columns: ColumnMap
    errors: dict[int, list[str]]
    source: str = ""
    #: row position → the field key of each message in ``errors`` (same order)
    error_fields: dict[int, list[str]] = field(default_factory=dict)
    #: the table as read from a file (:class:`xclz_geo.io.TextTable`: sheet, header row, spreadsheet
    #: row numbers), used to write the input back unchanged and to name rows as the user sees them
    text: "TextTable | None" = None
    #: where 经度/纬度 came from: ``{"x": column, "y": column, "crs": CRS or None}`` (a ``crs`` means the
    #: columns held projected coordinates, converted to WGS84 lon/lat in ``data``)
    coordinates: dict[str, Any] = field(default_factory=dict)

    def rows_label(self, positions: Iterable[int]) -> str:
        """Data rows (0-based positions) as the user finds them (see :func:`spreadsheet_rows`)."""
        return spreadsheet_rows(self, positions)


def _clean_text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = unicodedata.normalize("NFKC", str(v)).strip()
    return None if s.lower() in _MISSING_TOKENS else s


def _parse_numbers(values: "pd.Series", fld: Field, header: str, factor: float, errors: dict[int, list[str]]) -> "pd.Series":
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # numbers already: their text is needed only for the messages (built per flagged row below)
        txt = _LazyText(values)
        num = pd.to_numeric(values, errors="coerce").astype(float)
    else:
        obj = values.astype(object)
        num = pd.to_numeric(obj, errors="coerce").astype(float)  # fast path: plain numbers
        txt = obj.where(obj.notna(), None)
        slow = num.isna() & txt.notna()
        if slow.any():  # thousands separators, full-width digits, blanks and '-' for missing
            t2 = map_distinct(obj[slow], _clean_text)
            txt = txt.copy()
            txt[slow] = t2
            cleaned = t2.dropna().astype(str).str.replace(r"[,，\s]", "", regex=True)
            num[cleaned.index] = pd.to_numeric(cleaned, errors="coerce").astype(float)
    given = txt.notna()
    bad_text = given & num.isna()
    inf = np.isinf(num.to_numpy())
    neg = (num < 0).to_numpy() & (not fld.signed)
    for i in np.flatnonzero(bad_text.to_numpy()):
        errors.setdefault(int(i), []).append(f"{header} {txt.iat[i]!r} is not a number")
    for i in np.flatnonzero(inf):
        errors.setdefault(int(i), []).append(f"{header} {txt.iat[i]!r} is not a finite number")
    for i in np.flatnonzero(neg):
        errors.setdefault(int(i), []).append(f"{header} is negative ({num.iat[i]:g}), which this field cannot be; correct the value")
    out = num.to_numpy(copy=True)
    out[inf | neg] = np.nan
    return pd.Series(out * factor, index=values.index, dtype=float)


def _parse_bool(values: "pd.Series", header: str, errors: dict[int, list[str]]) -> "pd.Series":
    import numpy as np
    import pandas as pd

    def one(v: Any) -> int:  # 1 yes, 0 no, -1 empty, -2 unreadable
        s = _clean_text(v)
        if s is None:
            return -1
        if s.lower() in _TRUE:
            return 1
        if s.lower() in _FALSE:
            return 0
        return -2

    kind = map_distinct(values, one).to_numpy(dtype=int)
    out = np.full(len(kind), None, dtype=object)
    out[kind == 1] = True
    out[kind == 0] = False
    for i in np.flatnonzero(kind == -2):
        errors.setdefault(int(i), []).append(f"{header} {_clean_text(values.iat[i])!r} is not 是/否")
    return pd.Series(out, index=values.index, dtype=object)


class _LazyText:
    """``txt`` of :func:`_parse_numbers` for a numeric column: ``notna`` and ``iat`` without a string per row."""

    def __init__(self, values: "pd.Series") -> None:
        self._v = values

    def notna(self) -> "pd.Series":
        return self._v.notna()

    @property
    def iat(self) -> "_LazyText":
        return self

    def __getitem__(self, i: int) -> str | None:
        v = self._v.iat[i]
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def map_distinct(values: "pd.Series", fn: Any) -> "pd.Series":
    """``values.map(fn)`` computed once per distinct value (a column of 10⁶ cells has few distinct codes).

    Gives exactly ``values.map(fn)`` (object dtype, same index); missing cells (None/NaN) get ``fn(None)``
    when they are all ``None`` and ``fn(nan)`` else, as ``map`` would. Columns mixing types that compare
    equal (``1``, ``1.0``, ``True``) are mapped cell by cell.
    """
    import numpy as np
    import pandas as pd

    if isinstance(values.dtype, pd.StringDtype) and len(values):  # Arrow text (the table as read): no str per cell
        # a missing cell gets fn(NaN), as map gives it (NaN is the missing value of pandas' str dtype)
        return pd.Series(_per_distinct(values, fn, missing=fn(values.dtype.na_value)), index=values.index, dtype=object)
    obj = values.astype(object)
    kind = pd.api.types.infer_dtype(obj, skipna=True)
    if kind not in ("string", "empty", "floating", "integer"):
        return pd.Series([fn(v) for v in obj.tolist()], index=values.index, dtype=object)
    codes, uniq = pd.factorize(obj, use_na_sentinel=True)
    mapped = [fn(v) for v in uniq.tolist()]
    na = codes < 0
    arr = np.empty(len(mapped) + 1, dtype=object)
    arr[: len(mapped)] = mapped
    out = arr[codes] if len(codes) else np.empty(0, dtype=object)
    if na.any():  # None, NaN, pd.NA …: fn of one cell of each kind
        na_pos = np.flatnonzero(na)
        raw = obj.to_numpy(dtype=object)[na_pos]
        kinds = np.array([type(v).__name__ for v in raw], dtype=object)
        for k in pd.unique(kinds):
            sel = kinds == k
            out[na_pos[sel]] = fn(raw[np.flatnonzero(sel)[0]])
    return pd.Series(out, index=values.index, dtype=object)


def _parse_text(values: "pd.Series") -> "pd.Series":
    import pandas as pd

    arr = _arrow_text(values)
    if arr is None:
        return pd.Series(map_distinct(values, _text_value).to_numpy(dtype=object), index=values.index, dtype=object)
    import numpy as np
    import pyarrow.compute as pc

    # _text_value column-wise (pyarrow's NFKC and Unicode White_Space trim, as the per-cell code does), once per
    # distinct text when texts repeat (行业代码, 数据质量 …): the cells then share one str object each
    head = arr.slice(0, 4096)  # the first cells tell a column of distinct texts (names, codes): no hashing of it all
    few = len(arr) > 0 and len(pc.unique(head)) * 2 <= len(head)
    enc = pc.dictionary_encode(arr) if few else None
    few = few and len(enc.dictionary) * 2 <= len(arr)
    src = enc.dictionary if few else arr
    txt = pc.utf8_trim(pc.utf8_normalize(src, form="NFKC"), characters=_WHITE_SPACE)
    missing = pc.is_in(pc.utf8_lower(txt), value_set=_missing_tokens_arrow())
    txt = pc.if_else(missing, None, txt).to_numpy(zero_copy_only=False)
    if few:
        uniq = np.empty(len(txt) + 1, dtype=object)
        uniq[: len(txt)] = txt
        uniq[len(txt)] = None  # an empty cell
        txt = uniq[enc.indices.fill_null(len(txt)).to_numpy(zero_copy_only=False)]
    return pd.Series(txt, index=values.index, dtype=object)


def _arrow_text(values: "pd.Series") -> Any:
    """A column of text cells (str or missing) as a pyarrow string array; ``None`` when it holds anything else."""
    import pandas as pd
    import pyarrow as pa

    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _missing_tokens_arrow() -> Any:
    import pyarrow as pa

    return pa.array(sorted(_MISSING_TOKENS), type=pa.string())


def _text_value(v: Any) -> str | None:
    """One text cell: codes read as numbers from XLSX (3011.0 → "3011"), NFKC, stripped; missing tokens → None."""
    if type(v) is str:
        s = (v if v.isascii() else unicodedata.normalize("NFKC", v)).strip(_WHITE_SPACE)
    else:
        import pandas as pd

        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = unicodedata.normalize("NFKC", str(v)).strip(_WHITE_SPACE)
    return None if s.lower() in _MISSING_TOKENS else s


#: Unicode White_Space, the characters the text columns are stripped of (as pyarrow's utf8_trim_whitespace)
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def read_enterprises(source: "str | Path | pd.DataFrame", *, sheet: str | int | None = None,
                     field_map: Mapping[str, str] | None = None, header_row: int | None = None,
                     x: str | None = None, y: str | None = None, crs: Any | None = None) -> EnterpriseTable:
    """Read an enterprise table (CSV UTF-8/GBK, XLSX, Parquet or a DataFrame) and parse its fields.

    CSV and XLSX are read as text (:func:`xclz_geo.io.read_table_text`): every cell is kept as the
    user typed it (18-digit 统一社会信用代码, leading zeros, dates) and only the recognised columns
    are parsed. ``sheet`` picks the sheet of a workbook; ``header_row`` (1-based) gives the header
    row when it is not found (title rows above the header are passed over).

    The coordinate columns (经度/纬度) are found as ``locate`` finds them
    (:func:`xclz_geo.geo.xycols.find_xy_columns`: 经度/lon, then x/X坐标/东坐标 …, .dbf-cut names); ``x``/``y``
    (``--x``/``--y``) name them and win, as does ``--field 经度=COLUMN``. Coordinates are optional: a table
    without any is read; two candidate columns for one axis are an error. ``crs`` (``--crs EPSG:4549``):
    the columns hold projected coordinates in that CRS; they are converted to WGS84 lon/lat in ``data``
    (the input cells are kept as typed), so the evaluation's ``datum`` is then ``wgs84``.

    Unknown headers are listed in ``columns.unknown`` and announced with a
    :class:`~xclz_geo.errors.DataQualityWarning`; they are kept in the output.
    ``field_map`` (``{"实缴税金": "TAX2023"}``, from ``--field NAME=COLUMN``) maps headers the tool
    does not know; an unknown NAME or a missing COLUMN is an error. Without it, the mapping
    installed by :func:`xclz_geo.fieldnames.use_field_map` applies (names of other inputs skipped).

    Raises
    ------
    InputFileError
        The file cannot be read.
    InputDataError
        The table has no header that maps to 用地面积 (nothing could be evaluated).
    """
    import pandas as pd

    from xclz_geo.io import read_table

    text = None
    if isinstance(source, pd.DataFrame):
        raw = source.reset_index(drop=True)  # a new frame (pandas copies, or copies on write): the caller's is left as it is
        where = "enterprise table"
    else:
        suffix = Path(source).suffix.lower()
        if suffix == ".parquet":
            raw = read_table(source)
        else:
            from xclz_geo.io import HEADER_HINTS, read_table_text

            text = read_table_text(source, sheet=sheet, header_row=header_row, hints=set(HEADER_HINTS) | set(_ALIASES),
                                   arrow_text=True)
            raw = text.frame
        where = str(source)
        if text is not None and (text.sheet_name is not None or text.header_row != 1):  # say where the header was taken
            where += f" ({'sheet ' + text.sheet_name + ', ' if text.sheet_name is not None else ''}header row {text.header_row})"
    raw.columns = [str(c) for c in raw.columns]
    from xclz_geo.fieldnames import active_field_map

    strict = field_map is not None
    fmap = dict(field_map if strict else active_field_map())
    coords = _coordinate_columns(raw.columns, fmap, x=x, y=y, where=where)
    cm = map_columns(raw.columns, field_map=fmap, strict=strict, where=where)
    for key, col in coords.items():  # detected or --x/--y: the column (not the header's own alias) decides
        if col is not None and cm.fields.get(key) != col:
            from xclz_geo.fieldnames import resolve

            merged = {n: c for n, c in fmap.items() if resolve(n, "efficiency", {}) not in ("lon", "lat")}
            merged.update({FIELD_BY_KEY[k].header_zh: c for k, c in coords.items() if c is not None})
            cm = map_columns(raw.columns, field_map=merged, strict=strict, where=where)
            for k, c in coords.items():  # found by the coordinate rule, not by --field
                if c is not None and (x if k == "lon" else y) is None and cm.given.get(k) == c:
                    cm.given.pop(k)
            break
    if cm.fuzzy:
        warnings.warn(
            f"{where}: column(s) taken for a longer name they start (cut to 10 bytes by a .dbf?): "
            + ", ".join(f"{h} → {full}" for h, full in cm.fuzzy.items())
            + "; if one is wrong, name the column with --field NAME=COLUMN",
            DataQualityWarning,
            stacklevel=2,
        )
    if "land_mu" not in cm.fields:
        raise InputDataError(
            f"{where}: no land-area column; add 用地面积(亩) (or land_mu). Headers found: {', '.join(raw.columns) or '(none)'}. "
            "`xclz-geo efficiency template --out FILE.xlsx` writes a template with every header"
        )
    if cm.unknown:
        warnings.warn(
            f"{where}: column(s) not recognised and not used: {', '.join(cm.unknown)}; "
            "see `xclz-geo efficiency template` for the known headers",
            DataQualityWarning,
            stacklevel=2,
        )
    errors: dict[int, list[str]] = {}
    error_fields: dict[int, list[str]] = {}
    data = pd.DataFrame(index=raw.index)
    for f in FIELDS:
        header = cm.fields.get(f.key)
        if header is None:
            data[f.key] = pd.Series([None] * len(raw), index=raw.index, dtype=float if f.kind == "number" else object)
            continue
        col = raw[header]
        errs: dict[int, list[str]] = {}
        if f.kind == "number":
            data[f.key] = _parse_numbers(col, f, header, cm.factors[f.key], errs)
        elif f.kind == "bool":
            data[f.key] = _parse_bool(col, header, errs)
        else:
            data[f.key] = _parse_text(col)
        for i, msgs in errs.items():
            errors.setdefault(i, []).extend(msgs)
            error_fields.setdefault(i, []).extend([f.key] * len(msgs))
    coordinates = {"x": cm.fields.get("lon"), "y": cm.fields.get("lat"), "crs": None}
    if crs is not None and coordinates["x"] and coordinates["y"]:
        coordinates["crs"] = _projected_to_wgs84(data, crs)
    return EnterpriseTable(raw=raw, data=data, columns=cm, errors=errors, source=where, error_fields=error_fields,
                           text=text, coordinates=coordinates)


def _coordinate_columns(headers: Iterable[Any], fmap: Mapping[str, str], *, x: str | None, y: str | None,
                        where: str) -> dict[str, str | None]:
    """``{"lon": column, "lat": column}`` by the rule of ``locate`` (``--x``/``--y`` and ``--field 经度=…`` win)."""
    from xclz_geo.fieldnames import resolve
    from xclz_geo.geo.xycols import find_xy_columns

    given = {resolve(name, "efficiency", {}): col for name, col in fmap.items()}
    x = x if x is not None else given.get("lon")
    y = y if y is not None else given.get("lat")
    xc, yc = find_xy_columns([str(h) for h in headers], x=x, y=y, source=where, required=False)
    return {"lon": xc, "lat": yc}


def _projected_to_wgs84(data: "pd.DataFrame", crs: Any) -> str:
    """Replace the projected x/y in ``data["lon"]``/``data["lat"]`` by WGS84 lon/lat; the CRS's name."""
    import numpy as np

    from xclz_geo.geo.grid import make_frame

    frame = make_frame(datum="wgs84", crs=crs)
    if frame.crs is None:  # a geographic CRS of WGS84/CGCS2000: already lon/lat
        return str(crs)
    xv = data["lon"].to_numpy(dtype=float, na_value=np.nan)
    yv = data["lat"].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(xv) & np.isfinite(yv)
    lon = np.full(len(xv), np.nan)
    lat = np.full(len(xv), np.nan)
    if ok.any():
        lon[ok], lat[ok] = frame.to_wgs84(xv[ok], yv[ok])
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    lon[bad] = lat[bad] = np.nan
    data["lon"] = lon
    data["lat"] = lat
    return frame.label()


#: fields every evaluation reads whatever the method: identity, scope, group, land, adjustment
_SCOPE_FIELDS = ("credit_code", "above_scale", "industry_code", "exempt_reason", "land_mu", "revenue_wan", "adjustment")


def needed_fields(prof: "MethodProfile") -> set[str]:
    """Field keys the evaluation by ``prof`` needs: scope and group fields, the profile's
    ``required_inputs`` and the inputs of its indicators. A value that cannot be read in any
    other column (经度 ``待补充``, an unused 用电量) never makes a row ``invalid``."""
    need = set(_SCOPE_FIELDS) | set(prof.scope.get("required_inputs", []))
    for iid in prof.indicator_ids:
        need |= {INDICATORS[iid].numerator, INDICATORS[iid].denominator}
    return need


def split_row_errors(table: EnterpriseTable, prof: "MethodProfile") -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """(messages that make a row ``invalid``, per-row notes for ``xclz_note``) from ``table.errors``.

    An unreadable value in a column the method needs makes the row invalid; in any other column
    it becomes a note and the value is left empty (the firm stays in the ranking)."""
    need = needed_fields(prof)
    invalid: dict[int, list[str]] = {}
    notes: dict[int, list[str]] = {}
    for i, msgs in table.errors.items():
        keys = table.error_fields.get(i) or [None] * len(msgs)
        for msg, key in zip(msgs, keys):
            if key is None or key in need:
                invalid.setdefault(i, []).append(msg)
            elif key in ("lon", "lat"):
                notes.setdefault(i, []).append(f"{msg}: coordinates are optional — the firm is evaluated but not located")
            else:
                notes.setdefault(i, []).append(f"{msg}: not used by method '{prof.id}' — left empty, the firm is evaluated")
    return invalid, notes


def spreadsheet_rows(table: EnterpriseTable, positions: Iterable[int]) -> str:
    """How data rows (0-based positions) are named in messages: the row numbers a user sees in
    Excel (header on row 1 → first data row is row 2).

    The one place to switch when the table reader records where each row came from: a list
    ``raw.attrs["row_numbers"]`` (spreadsheet row of each data row) wins, then
    ``raw.attrs["header_row"]`` (1-based row of the header); a DataFrame given in memory has
    no spreadsheet, so its rows are counted from 1.
    """
    pos = [int(p) for p in positions]
    attrs = getattr(table.raw, "attrs", {}) or {}
    rows_attr = attrs.get("row_numbers")
    text = getattr(table, "text", None)
    if rows_attr is not None and len(rows_attr) == len(table.raw):
        nums = [int(rows_attr[p]) for p in pos]
    elif ("header_row" not in attrs and text is not None and len(text.row_numbers) == len(table.raw)
          and all(0 <= p < len(text.row_numbers) for p in pos)):
        # read by xclz_geo.io.read_table_text: the row numbers as the spreadsheet shows them
        if text.sheet_name is not None:
            return text.rows_label(pos)  # "sheet 企业名单, rows 14, 15"
        nums = [int(text.row_numbers[p]) for p in pos]
    elif table.source == "enterprise table":  # a DataFrame passed in
        return f"table row{'s' if len(pos) > 1 else ''} {', '.join(str(p + 1) for p in pos)}"
    else:
        header = int(attrs.get("header_row", 1))
        nums = [p + header + 1 for p in pos]
    return f"spreadsheet row{'s' if len(pos) > 1 else ''} {', '.join(str(k) for k in nums)}"


def missing_fields(prof: "MethodProfile", table: EnterpriseTable) -> list[dict[str, Any]]:
    """Inputs of the method's indicators that have no column in the table: which indicators
    are empty for every firm because of it, and how to supply it."""
    from xclz_geo.fieldnames import how_to_supply

    out: dict[str, dict[str, Any]] = {}
    for iid in prof.indicator_ids:
        ind = INDICATORS[iid]
        for key in (ind.numerator, ind.denominator):
            if key in table.columns.fields:
                continue
            f = FIELD_BY_KEY[key]
            name = _split_unit(f.header_zh)[0]
            e = out.setdefault(key, {"field": key, "header_zh": f.header_zh, "indicators": [], "hint": how_to_supply(name)})
            if ind.name_zh not in e["indicators"]:
                e["indicators"].append(ind.name_zh)
    return list(out.values())


def firm_checks(scores: "pd.DataFrame", table: EnterpriseTable) -> list[dict[str, Any]]:
    """Plausibility checks on the per-firm indicators: a share outside [0, 100 %] (研发经费占营业收入
    比重 above 100 % means R&D > revenue); each names the firms (name or credit code, spreadsheet row)."""
    import numpy as np

    out: list[dict[str, Any]] = []
    d = table.data
    for iid, ind in INDICATORS.items():
        if ind.unit != "%" or iid not in scores.columns:
            continue
        v = scores[iid].to_numpy(dtype=float)
        bad = np.flatnonzero(np.isfinite(v) & ((v < 0) | (v > 100)))
        if not len(bad):
            continue
        firms = [str(d["name"].iat[k] or d["credit_code"].iat[k] or f"row {k + 1}") for k in bad[:20]]
        out.append({
            "indicator": iid, "name_zh": ind.name_zh, "rule": "a share must lie in [0, 100 %]", "count": int(len(bad)),
            "values": [float(v[k]) for k in bad[:20]], "firms": firms,
            "message": f"{ind.name_zh} outside [0, 100 %] for {len(bad)} firm(s): "
                       + ", ".join(f"{n} {v[k]:.1f}%" for n, k in zip(firms[:5], bad[:5]))
                       + f" ({spreadsheet_rows(table, bad[:5])}); check {FIELD_BY_KEY[ind.numerator].header_zh} "
                       f"and {FIELD_BY_KEY[ind.denominator].header_zh}",
        })
    return out


def template(path: str | Path, *, fields: Iterable[str] | None = None) -> Path:
    """Write an empty XLSX template: a sheet ``企业数据`` with the Chinese headers, a ``说明`` notes sheet.

    Parameters
    ----------
    path
        Output ``.xlsx`` file.
    fields
        Field keys to include (default: all).
    """
    import pandas as pd

    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputDataError(f"{p}: the template is an Excel file; use a name ending in .xlsx")
    keys = list(fields) if fields is not None else [f.key for f in FIELDS]
    unknown = [k for k in keys if k not in FIELD_BY_KEY]
    if unknown:
        raise InputDataError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELD_BY_KEY)}")
    flds = [FIELD_BY_KEY[k] for k in keys]
    notes = pd.DataFrame(
        {
            "表头": [f.header_zh for f in flds],
            "英文别名": [f.key for f in flds],
            "单位": [f.unit for f in flds],
            "类型": [{"text": "文本", "number": "数值", "bool": "是/否"}[f.kind] for f in flds],
            "可为负数": ["是" if f.signed else "" for f in flds],
            "说明": [f.note for f in flds],
            "也接受的表头": ["、".join(f.aliases) for f in flds],
        }
    )
    general = pd.DataFrame(
        {
            "说明": [
                "每个独立法人一行；不要合并单元格；数值列只填数字（不要写“约”“万元”等文字）。",
                "用地面积 以亩为单位；表头写成 用地面积(平方米) 或 用地面积(公顷) 时自动换算。金额以万元为单位（表头写 (元) 时自动换算）。",
                "未识别的表头会被列出并原样保留在输出中，不参与计算。",
                "Shapefile(.dbf) 字段名最多 10 字节：可用“字段别名”表中的短名（如 JZJDMJ、GDZCTZ），被截断的中文名（如 建筑基底面）也能识别；"
                "其他列名用 --field 字段名=列名 指定。",
                "评价方法见 data/methods/README.md；权重未经核实（confirmed = false）的方法，结果中会注明。",
            ]
        }
    )
    p.parent.mkdir(parents=True, exist_ok=True)
    from xclz_geo.io import temp_sibling

    tmp = temp_sibling(p)  # unique per run; removed on SIGTERM
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            pd.DataFrame(columns=[f.header_zh for f in flds]).to_excel(xw, sheet_name="企业数据", index=False)
            notes.to_excel(xw, sheet_name="说明", index=False)
            general.to_excel(xw, sheet_name="说明", index=False, startrow=len(notes) + 2)
            from xclz_geo.fieldnames import alias_rows

            # Chinese, English and DBF-safe short names (≤ 10 bytes GBK) of every input field
            pd.DataFrame(alias_rows()).to_excel(xw, sheet_name="字段别名", index=False)
            from openpyxl.utils import get_column_letter

            ws = xw.sheets["企业数据"]
            for k, f in enumerate(flds, start=1):
                ws.column_dimensions[get_column_letter(k)].width = max(12, 2 * len(f.header_zh) + 2)
            ws.freeze_panes = "A2"
            wn = xw.sheets["说明"]
            for col, width in zip("ABCDEFG", (26, 22, 10, 8, 10, 70, 50)):
                wn.column_dimensions[col].width = width
        tmp.replace(p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


# ------------------------------------------------------------------ indicators


@dataclass(frozen=True)
class Indicator:
    """A per-firm indicator ``numerator / denominator × scale``.

    ``needs_positive_denominator``: a zero or missing denominator makes it undefined.
    """

    id: str
    name_zh: str
    numerator: str
    denominator: str
    unit: str
    scale: float = 1.0


INDICATORS: dict[str, Indicator] = {
    i.id: i
    for i in (
        Indicator("tax_per_mu", "亩均税收", "tax_wan", "land_mu", "万元/亩"),
        Indicator("revenue_per_mu", "亩均营业收入", "revenue_wan", "land_mu", "万元/亩"),
        Indicator("value_added_per_mu", "亩均增加值", "value_added_wan", "land_mu", "万元/亩"),
        Indicator("tech_investment_per_mu", "亩均技改投资", "tech_investment_wan", "land_mu", "万元/亩"),
        Indicator("labour_productivity", "全员劳动生产率", "value_added_wan", "employees", "万元/人"),
        Indicator("revenue_per_energy", "单位能耗营业收入", "revenue_wan", "energy_tce", "万元/吨标煤"),
        Indicator("value_added_per_energy", "单位能耗增加值", "value_added_wan", "energy_tce", "万元/吨标煤"),
        Indicator("revenue_per_emission", "单位污染物排放营业收入", "revenue_wan", "emission_t", "万元/吨"),
        Indicator("value_added_per_emission", "单位排放增加值", "value_added_wan", "emission_t", "万元/吨"),
        Indicator("rd_share_pct", "研发经费占营业收入比重", "rd_wan", "revenue_wan", "%", 100.0),
        Indicator("tax_per_electricity", "单位用电税收", "tax_wan", "electricity_10k_kwh", "万元/万千瓦时"),
    )
}

#: the per-mu indicators, always written to the output whatever the method
ALWAYS_OUTPUT = ("tax_per_mu", "revenue_per_mu", "value_added_per_mu", "tech_investment_per_mu")


def compute_indicators(data: "pd.DataFrame", ids: Iterable[str] | None = None) -> "pd.DataFrame":
    """Per-firm indicator values; NaN where an input is missing or a denominator is zero or negative."""
    import numpy as np
    import pandas as pd

    out = pd.DataFrame(index=data.index)
    for iid in ids if ids is not None else INDICATORS:
        ind = INDICATORS[iid]
        num = pd.to_numeric(data[ind.numerator], errors="coerce").to_numpy(dtype=float)
        den = pd.to_numeric(data[ind.denominator], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(den > 0, num / np.where(den > 0, den, 1.0) * ind.scale, np.nan)
        out[iid] = v
    return out


# ------------------------------------------------------------------ method profiles


@dataclass(frozen=True)
class WeightedIndicator:
    """An indicator of a group with its weight, optional fixed benchmark and ``confirmed`` flag."""

    id: str
    weight: float
    confirmed: bool
    benchmark: float | None = None


@dataclass(frozen=True)
class Group:
    """规上 or 规下: its indicators and whether the list is confirmed."""

    id: str
    name_zh: str
    indicators: tuple[WeightedIndicator, ...]
    confirmed: bool
    source: str = ""


@dataclass(frozen=True)
class MethodProfile:
    """A validated evaluation method (see ``data/methods/README.md`` for every key)."""

    id: str
    name_zh: str
    name_en: str
    source: str
    year: int | None
    confirmed: bool
    notes: tuple[str, ...]
    scope: dict[str, Any]
    scoring: dict[str, Any]
    classes: dict[str, Any]
    groups: dict[str, Group]
    path: str = ""

    @property
    def indicator_ids(self) -> list[str]:
        """Indicators used by any group, in first-use order."""
        seen: dict[str, None] = {}
        for g in self.groups.values():
            for wi in g.indicators:
                seen.setdefault(wi.id, None)
        return list(seen)

    def unconfirmed(self) -> list[str]:
        """Names of the items not read in an official source (``confirmed = false``)."""
        out = []
        if not self.confirmed:
            out.append("method")
        for sec in ("scope", "scoring", "classes"):
            if not getattr(self, sec).get("confirmed", False):
                out.append(sec)
        for g in self.groups.values():
            if not g.confirmed:
                out.append(f"groups.{g.id}")
            for wi in g.indicators:
                if not wi.confirmed:
                    out.append(f"groups.{g.id}.{wi.id}.weight")
        return out

    def disclaimer(self) -> str | None:
        """A sentence for reports when anything is unconfirmed, else ``None``."""
        u = self.unconfirmed()
        if not u:
            return None
        weights = [x for x in u if x.endswith(".weight")]
        parts = []
        if weights:
            parts.append(f"{len(weights)} indicator weight(s) are documented defaults, not official values")
        other = [x for x in u if not x.endswith(".weight") and x != "method"]
        if other:
            parts.append("unconfirmed: " + ", ".join(other))
        return (
            f"Method '{self.id}' is not fully confirmed ({'; '.join(parts)}). Scores, ranks and classes "
            "depend on these defaults and are not official results. 方法中部分参数（权重等）未经官方文件核实，结果仅供参考。"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description with every ``confirmed`` flag."""
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "source": self.source,
            "year": self.year,
            "confirmed": self.confirmed,
            "path": self.path,
            "notes": list(self.notes),
            "scope": dict(self.scope),
            "scoring": dict(self.scoring),
            "classes": dict(self.classes),
            "groups": {
                gid: {
                    "name_zh": g.name_zh,
                    "confirmed": g.confirmed,
                    "source": g.source,
                    "indicators": [
                        {"id": wi.id, "name_zh": INDICATORS[wi.id].name_zh, "unit": INDICATORS[wi.id].unit,
                         "weight": wi.weight, "confirmed": wi.confirmed, "benchmark": wi.benchmark}
                        for wi in g.indicators
                    ],
                }
                for gid, g in self.groups.items()
            },
            "unconfirmed": self.unconfirmed(),
            "disclaimer": self.disclaimer(),
        }


_SCORING_KINDS = ("minmax", "ratio")
_MISSING_RULES = ("mean_score", "zero", "min_score")
_BENCHMARK_MODES = ("population_aggregate", "population_mean")


def _perr(where: str, key: str, msg: str) -> MethodProfileError:
    return MethodProfileError(f"{where}: {key}: {msg}")


#: what a profile value of each kind must be, for the message (``{key}`` is the full key)
_KIND_NAMES: dict[type, str] = {bool: "true or false", str: "text", list: "a list", dict: "a table [{key}]"}


def _get(table: Mapping[str, Any], key: str, where: str, prefix: str, kind: Any, default: Any = ...) -> Any:
    full = f"{prefix}.{key}" if prefix else key
    if key not in table:
        if default is ...:
            raise _perr(where, full, "missing; see data/methods/README.md for the keys a profile needs")
        return default
    v = table[key]
    if kind is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise _perr(where, full, f"expected a number, got {v!r}")
        return float(v)
    expected = _KIND_NAMES.get(kind)
    if expected is not None and not isinstance(v, kind):
        raise _perr(where, full, f"expected {expected.format(key=full)}, got {v!r}")
    return v


def parse_method(data: Mapping[str, Any], *, where: str = "method profile") -> MethodProfile:
    """Validate a profile mapping (as read from TOML).

    Raises
    ------
    MethodProfileError
        Naming the key at fault (``classes.shares``, ``groups.above_scale.indicators[2].weight`` …).
    """
    m = _get(data, "method", where, "", dict)
    mid = _get(m, "id", where, "method", str)
    msource = _get(m, "source", where, "method", str)
    mconfirmed = _get(m, "confirmed", where, "method", bool)
    scope = dict(_get(data, "scope", where, "", dict))
    _get(scope, "below_scale_min_land_mu", where, "scope", float)
    if scope["below_scale_min_land_mu"] < 0:
        raise _perr(where, "scope.below_scale_min_land_mu", "must not be negative")
    scope["above_scale_revenue_wan"] = _get(scope, "above_scale_revenue_wan", where, "scope", float, 2000.0)
    rng = _get(scope, "industrial_code_range", where, "scope", list, [])
    if rng and (len(rng) != 2 or not all(isinstance(x, str) and x.isdigit() for x in rng)):
        raise _perr(where, "scope.industrial_code_range", f"expected two code strings like [\"06\", \"46\"], got {rng!r}")
    ex = _get(scope, "exempt_industry_prefixes", where, "scope", list, [])
    if not all(isinstance(x, str) and x.isdigit() for x in ex):
        raise _perr(where, "scope.exempt_industry_prefixes", f"expected a list of code strings, got {ex!r}")
    req = _get(scope, "required_inputs", where, "scope", list, ["land_mu", "tax_wan"])
    bad = [x for x in req if x not in FIELD_BY_KEY or FIELD_BY_KEY[x].kind != "number"]
    if bad:
        raise _perr(where, "scope.required_inputs", f"unknown numeric field(s) {bad}; known: {', '.join(k for k, f in FIELD_BY_KEY.items() if f.kind == 'number')}")
    scope.setdefault("confirmed", False)
    _get(scope, "confirmed", where, "scope", bool)

    scoring = dict(_get(data, "scoring", where, "", dict))
    kind = _get(scoring, "kind", where, "scoring", str)
    if kind not in _SCORING_KINDS:
        raise _perr(where, "scoring.kind", f"{kind!r} is not one of {', '.join(_SCORING_KINDS)}")
    missing = _get(scoring, "missing", where, "scoring", str, "mean_score")
    if missing not in _MISSING_RULES:
        raise _perr(where, "scoring.missing", f"{missing!r} is not one of {', '.join(_MISSING_RULES)}")
    scoring["missing"] = missing
    if kind == "minmax":
        fl = _get(scoring, "floor", where, "scoring", float, 20.0)
        if not 0 <= fl <= 100:
            raise _perr(where, "scoring.floor", f"must be between 0 and 100, got {fl:g}")
        scoring["floor"] = fl
    else:
        bm = _get(scoring, "benchmark", where, "scoring", str, "population_aggregate")
        if bm not in _BENCHMARK_MODES:
            raise _perr(where, "scoring.benchmark", f"{bm!r} is not one of {', '.join(_BENCHMARK_MODES)} (fixed values go per indicator or in a benchmarks file)")
        scoring["benchmark"] = bm
        scoring["negative_floor"] = _get(scoring, "negative_floor", where, "scoring", float, 0.0)
        cap = _get(scoring, "cap_multiple", where, "scoring", float, 0.0)
        if cap < 0:
            raise _perr(where, "scoring.cap_multiple", "must be 0 (no cap) or positive")
        scoring["cap_multiple"] = cap
    scoring.setdefault("confirmed", False)
    _get(scoring, "confirmed", where, "scoring", bool)

    classes = dict(_get(data, "classes", where, "", dict))
    labels = _get(classes, "labels", where, "classes", list)
    shares = _get(classes, "shares", where, "classes", list)
    if not labels or not all(isinstance(x, str) and x for x in labels):
        raise _perr(where, "classes.labels", f"expected a list of class names, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise _perr(where, "classes.labels", f"duplicate label in {labels!r}")
    if len(shares) != len(labels) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in shares):
        raise _perr(where, "classes.shares", f"expected {len(labels)} non-negative numbers (one per label), got {shares!r}")
    if abs(sum(shares) - 1.0) > 1e-6:
        raise _perr(where, "classes.shares", f"must add up to 1, they add up to {sum(shares):g}")
    names = _get(classes, "names_zh", where, "classes", list, list(labels))
    if len(names) != len(labels):
        raise _perr(where, "classes.names_zh", f"expected {len(labels)} names, got {len(names)}")
    rounding = _get(classes, "rounding", where, "classes", str, "round")
    if rounding not in ("round", "floor"):
        raise _perr(where, "classes.rounding", f"{rounding!r} is not round or floor")
    ties = _get(classes, "ties", where, "classes", str, "higher")
    if ties not in ("higher", "lower"):
        raise _perr(where, "classes.ties", f"{ties!r} is not higher or lower")
    classes.update(labels=list(labels), shares=[float(x) for x in shares], names_zh=list(names), rounding=rounding, ties=ties)
    classes.setdefault("confirmed", False)
    _get(classes, "confirmed", where, "classes", bool)

    graw = _get(data, "groups", where, "", dict)
    unknown_groups = sorted(set(graw) - set(GROUPS))
    if unknown_groups:
        raise _perr(where, f"groups.{unknown_groups[0]}", f"unknown group; use {', '.join(GROUPS)}")
    if not graw:
        raise _perr(where, "groups", "at least one of [groups.above_scale] / [groups.below_scale] is needed")
    groups: dict[str, Group] = {}
    for gid in GROUPS:
        if gid not in graw:
            continue
        g = _get(graw, gid, where, "groups", dict)
        inds = _get(g, "indicators", where, f"groups.{gid}", list)
        if not inds:
            raise _perr(where, f"groups.{gid}.indicators", "empty; list at least one indicator")
        wis = []
        seen = set()
        for k, it in enumerate(inds):
            pre = f"groups.{gid}.indicators[{k}]"
            if not isinstance(it, dict):
                raise _perr(where, pre, f"expected {{ id = …, weight = … }}, got {it!r}")
            iid = _get(it, "id", where, pre, str)
            if iid not in INDICATORS:
                raise _perr(where, f"{pre}.id", f"unknown indicator {iid!r}; known: {', '.join(INDICATORS)}")
            if iid in seen:
                raise _perr(where, f"{pre}.id", f"{iid!r} listed twice")
            seen.add(iid)
            w = _get(it, "weight", where, pre, float)
            if w < 0:
                raise _perr(where, f"{pre}.weight", f"must not be negative, got {w:g}")
            bm = _get(it, "benchmark", where, pre, float, None)
            if bm is not None and bm <= 0:
                raise _perr(where, f"{pre}.benchmark", f"must be positive, got {bm:g}")
            wis.append(WeightedIndicator(iid, w, _get(it, "confirmed", where, pre, bool, False), bm))
        groups[gid] = Group(gid, str(g.get("name_zh", GROUP_NAMES_ZH[gid])), tuple(wis),
                            _get(g, "confirmed", where, f"groups.{gid}", bool, False), str(g.get("source", "")))
    year = m.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise _perr(where, "method.year", f"expected a year like 2022, got {year!r}")
    notes = m.get("notes", [])
    if isinstance(notes, str):
        notes = [notes]
    return MethodProfile(
        id=mid,
        name_zh=str(m.get("name_zh", mid)),
        name_en=str(m.get("name_en", mid)),
        source=msource,
        year=year,
        confirmed=mconfirmed,
        notes=tuple(str(n) for n in notes),
        scope=scope,
        scoring=scoring,
        classes=classes,
        groups=groups,
        path=where,
    )


BUILTIN_METHODS = ("anhui", "zhejiang")


def load_method(name_or_path: "str | Path | MethodProfile" = "anhui") -> MethodProfile:
    """Load a method profile: ``"anhui"``, ``"zhejiang"`` or the path of a user's TOML file.

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    MethodProfileError
        Not valid TOML, or a key is missing or malformed (the key is named).
    """
    from xclz_geo.datasets import data_path

    if isinstance(name_or_path, MethodProfile):
        return name_or_path
    s = str(name_or_path)
    if s in BUILTIN_METHODS:
        p = data_path("methods", f"{s}.toml")
    else:
        p = Path(s)
        if not p.exists():
            raise InputFileError(f"{p}: method profile not found; use {' or '.join(BUILTIN_METHODS)} or the path of a .toml profile")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise MethodProfileError(f"{p}: not UTF-8 text; save the profile as UTF-8") from None
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MethodProfileError(f"{p}: not valid TOML: {exc}") from None
    return parse_method(data, where=str(p))


def load_benchmarks(source: "str | Path | pd.DataFrame | Mapping[str, Any]") -> dict[tuple[str, str], float]:
    """Read fixed benchmarks: a CSV/XLSX with ``group``, ``indicator``, ``benchmark`` columns, or a mapping.

    A mapping may be ``{indicator: value}`` (all groups) or ``{(group, indicator): value}``.
    Returns ``{(group, indicator): value}``; group ``"*"`` means every group.
    """
    import pandas as pd

    from xclz_geo.io import read_table

    if isinstance(source, Mapping):
        out: dict[tuple[str, str], float] = {}
        for k, v in source.items():
            key = k if isinstance(k, tuple) else ("*", str(k))
            out[key] = float(v)
    else:
        df = source if isinstance(source, pd.DataFrame) else read_table(source)
        where = "benchmarks" if isinstance(source, pd.DataFrame) else str(source)
        missing = [c for c in ("indicator", "benchmark") if c not in df.columns]
        if missing:
            raise InputDataError(f"{where}: missing column(s) {', '.join(missing)}; expected group, indicator, benchmark")
        out = {}
        for i, r in df.iterrows():
            g = str(r["group"]).strip() if "group" in df.columns and pd.notna(r["group"]) and str(r["group"]).strip() else "*"
            try:
                v = float(r["benchmark"])
            except (TypeError, ValueError):
                raise InputDataError(f"{where}: row {i + 2}: benchmark {r['benchmark']!r} is not a number") from None
            out[(g, str(r["indicator"]).strip())] = v
    for (g, iid), v in out.items():
        if iid not in INDICATORS:
            raise InputDataError(f"benchmarks: unknown indicator {iid!r}; known: {', '.join(INDICATORS)}")
        if g not in ("*", *GROUPS):
            raise InputDataError(f"benchmarks: unknown group {g!r}; use above_scale, below_scale or leave it empty")
        if not (math.isfinite(v) and v > 0):
            raise InputDataError(f"benchmarks: {g}/{iid}: benchmark must be a positive number, got {v!r}")
    return out


# ------------------------------------------------------------------ classes


def class_cuts(n: int, shares: Iterable[float], *, rounding: str = "round") -> list[int]:
    """Cumulative cut positions: firms at positions ``[cut[k-1], cut[k])`` take class ``k``.

    ``round``: ``floor(n × cumulative share + 0.5)``; ``floor``: ``floor(n × cumulative share)``
    (no class above its share). The last cut is always ``n``.
    """
    cum = 0.0
    cuts = []
    sh = list(shares)
    for k, s in enumerate(sh):
        cum += s
        if k == len(sh) - 1:
            cuts.append(n)
            break
        x = n * cum
        c = math.floor(x + 0.5 + 1e-9) if rounding == "round" else math.floor(x + 1e-9)
        cuts.append(min(max(c, 0), n))
    return cuts


def assign_classes(totals: "pd.Series", *, labels: list[str], shares: list[float], rounding: str = "round",
                   ties: str = "higher") -> tuple["pd.Series", "pd.Series"]:
    """Competition ranks (1 = best) and class labels for a group's total scores.

    Totals are compared after rounding to 1e-6. Tied firms share one class (see module doc).
    """
    import numpy as np
    import pandas as pd

    t = totals.round(6)
    rank_min = t.rank(method="min", ascending=False).astype(int)
    rank_max = t.rank(method="max", ascending=False).astype(int)
    cuts = class_cuts(len(t), shares, rounding=rounding)
    pos = ((rank_min if ties == "higher" else rank_max) - 1).to_numpy()
    # class k holds the positions [cuts[k-1], cuts[k]); past the last cut: the last class
    k = np.minimum(np.searchsorted(np.asarray(cuts), pos, side="right"), len(labels) - 1)
    lab = np.asarray(labels, dtype=object)
    return rank_min, pd.Series(lab[k] if len(k) else np.empty(0, dtype=object), index=t.index, dtype=object)


# ------------------------------------------------------------------ evaluation


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    The common result shape: :attr:`table` (= :attr:`scores`), :attr:`summary`, :meth:`to_dict`
    and :attr:`layer` (points in EPSG:4326). :attr:`by_class`, :attr:`by_industry`,
    :attr:`by_part`, :attr:`by_block` and :attr:`layer` are properties; calling them as the
    methods they were (``res.layer()``) still works for one release, with a
    :class:`DeprecationWarning` (the property's value is a (Geo)DataFrame that also answers the old
    call: no caller breaks, and ``res.layer`` reads like ``res.table``). ``res.table.data`` /
    ``.raw`` / ``.text`` (the old ``table`` attribute, an :class:`EnterpriseTable`) still reach
    :attr:`enterprises` for one release, with a warning.

    Attributes
    ----------
    scores
        Every input row in input order with every input column, then ``group``, the indicator
        columns, ``score_<indicator>`` columns, ``adjustment``, ``total_score``, ``rank``, ``class``,
        ``status``, ``reason``, ``reason_code`` (and ``block_id``, ``part_id``, ``locate_status`` when located).
    method
        The :class:`MethodProfile` used.
    summary
        JSON-able dict (method with ``confirmed`` flags and disclaimer, counts, group statistics,
        summaries, input column report, ``quality`` (the enterprise table's label) and
        ``provenance`` (method, source, disclaimer)).
    enterprises
        The :class:`EnterpriseTable` as read (was ``table`` before ``table`` became the scores).
    """

    scores: "pd.DataFrame"
    method: MethodProfile
    summary: dict[str, Any]
    enterprises: EnterpriseTable | None = None

    @property
    def table(self) -> "pd.DataFrame":
        """The scores (every input row, in input order); see :attr:`scores`."""
        from xclz_geo._results import legacy_frame

        return legacy_frame(self.scores, self.enterprises, {"data", "raw", "text", "errors", "error_fields", "source", "rows_label"},
                            old="res.table")

    def _frame(self, key: str) -> "pd.DataFrame":
        import pandas as pd

        from xclz_geo._results import callable_frame

        df = pd.DataFrame(self.summary[key])
        return callable_frame(df, lambda: pd.DataFrame(self.summary[key]), old=f"res.{key}")

    @property
    def by_class(self) -> "pd.DataFrame":
        """Per group and class: count, land (亩), tax (万元), tax per 亩."""
        return self._frame("by_class")

    @property
    def by_industry(self) -> "pd.DataFrame":
        """Per two-digit industry code (evaluated firms): count, land, tax, tax per 亩, revenue."""
        return self._frame("by_industry")

    @property
    def by_part(self) -> "pd.DataFrame":
        """Per part (and ``outside`` / ``not located``): count, land, tax, tax per 亩, class counts."""
        return self._frame("by_part")

    @property
    def by_block(self) -> "pd.DataFrame":
        """Per block: as :attr:`by_part`."""
        return self._frame("by_block")

    def to_dict(self) -> dict[str, Any]:
        """The summary (JSON-able)."""
        return self.summary

    @property
    def layer(self) -> "gpd.GeoDataFrame":
        """The scores as a point layer in WGS84 (EPSG:4326) from 经度/纬度, converted from the datum
        they were given in; rows without usable coordinates keep an empty geometry (none dropped)."""
        from xclz_geo._results import callable_frame

        return callable_frame(self._layer(), self._layer, old="res.layer")

    def _layer(self) -> "gpd.GeoDataFrame":
        import geopandas as gpd
        import numpy as np

        from xclz_geo.geo.crs import convert_datum, in_china

        d = self.enterprises.data if self.enterprises is not None else None
        n = len(self.scores)
        lon = d["lon"].to_numpy(dtype=float) if d is not None else np.full(n, np.nan)
        lat = d["lat"].to_numpy(dtype=float) if d is not None else np.full(n, np.nan)
        datum = (self.summary.get("location") or {}).get("datum", "wgs84")
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if datum not in ("wgs84", "cgcs2000") and ok.any():
            ok &= np.asarray(in_china(lon, lat), dtype=bool)
            if ok.any():
                lon[ok], lat[ok] = convert_datum(lon[ok], lat[ok], from_datum=datum, to_datum="wgs84")
        geom = gpd.points_from_xy(np.where(ok, lon, 0.0), np.where(ok, lat, 0.0), crs="EPSG:4326")
        geom[~ok] = None
        # a shallow copy: the layer adds its geometry column without copying every score column (10⁶ rows)
        return gpd.GeoDataFrame(self.scores.copy(deep=False), geometry=geom, crs="EPSG:4326")


_NON_DIGIT = re.compile(r"\D")


def _industry_digits(code: Any) -> str | None:
    """Digits of an industry code, a lost leading zero restored ("6" → "06"); ``None`` when there are none."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return None
    digits = _NON_DIGIT.sub("", str(code))
    if not digits:
        return None
    return digits.zfill(2)


def _industry_prefix(code: Any) -> str | None:
    digits = _industry_digits(code)
    return digits[:2] if digits else None


def _scope_status(row: Mapping[str, Any], scope: dict[str, Any]) -> tuple[str | None, str | None, bool, str | None]:
    """(status or None when in scope, reason, above_scale, reason code) for one parsed row."""
    notes: list[str] = []
    if row["exempt_reason"]:
        return "not_evaluated", f"不参评原因: {row['exempt_reason']}", False, "exempt"
    digits = _industry_digits(row["industry_code"])
    if digits is not None:
        pre = digits[:2]
        for ex in scope.get("exempt_industry_prefixes", []):
            if digits.startswith(ex):
                return "not_evaluated", f"public utility (行业代码 {row['industry_code']}): {scope.get('exempt_reason_zh', 'exempt by the method')}", False, "utility"
        rng = scope.get("industrial_code_range") or []
        if rng and not (rng[0] <= pre <= rng[1]):
            return "not_evaluated", f"行业代码 {row['industry_code']} is not an industrial code ({rng[0]}–{rng[1]} in GB/T 4754-2017)", False, "not_industrial"
    land = row["land_mu"]
    if land is None or (isinstance(land, float) and math.isnan(land)):
        return "not_evaluated", "用地面积 missing: per-mu indicators cannot be computed (fill it in to evaluate the firm)", False, "missing_land"
    if land == 0:
        return "not_evaluated", "用地面积 is 0: per-mu indicators are undefined (leased premises are not evaluated per mu)", False, "zero_land"
    above = row["above_scale"]
    if above is None:
        rev = row["revenue_wan"]
        if rev is None or (isinstance(rev, float) and math.isnan(rev)):
            return "invalid", "是否规上 and 营业收入 both missing: the group (规上/规下) cannot be decided", False, "group_unknown"
        above = bool(rev >= scope["above_scale_revenue_wan"])
        notes.append(f"是否规上 empty: inferred {'规上' if above else '规下'} from 营业收入 {rev:g} 万元 (threshold {scope['above_scale_revenue_wan']:g})")
    if not above and land < scope["below_scale_min_land_mu"]:
        return "not_evaluated", f"规下 firm with {land:g} 亩 < {scope['below_scale_min_land_mu']:g} 亩: below the method's land threshold", False, "below_land_threshold"
    return None, "; ".join(notes) or None, bool(above), None


def evaluate(
    enterprises: "str | Path | pd.DataFrame | EnterpriseTable",
    *,
    method: "str | Path | MethodProfile" = "anhui",
    zone: "Zone | None" = None,
    parcels: "gpd.GeoDataFrame | None" = None,
    benchmarks: "str | Path | pd.DataFrame | Mapping[str, Any] | None" = None,
    datum: str = "wgs84",
) -> EvaluationResult:
    """Evaluate an enterprise table by a method profile.

    Parameters
    ----------
    enterprises
        A file (CSV/XLSX/Parquet), a DataFrame with Chinese or English headers, or an
        :class:`EnterpriseTable` from :func:`read_enterprises`.
    method
        ``"anhui"`` (default), ``"zhejiang"``, a profile path or a :class:`MethodProfile`.
    zone
        When given, firms are located by 经度/纬度 (through :func:`xclz_geo.geo.locate.locate`) or by
        地块编号 joined to ``parcels``, and summarised per block and part.
    parcels
        Parcel layer with a ``parcel_id`` column; its ``block_id``/``part_id`` are used when present,
        else each parcel's representative point is located in ``zone``.
    benchmarks
        Fixed benchmarks for ratio scoring (file or mapping, see :func:`load_benchmarks`); they
        override the profile's and the population's.
    datum
        Datum of 经度/纬度 (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``).

    Returns
    -------
    EvaluationResult
    """
    import numpy as np
    import pandas as pd

    prof = load_method(method)
    table = enterprises if isinstance(enterprises, EnterpriseTable) else read_enterprises(enterprises)
    d = table.data
    n = len(d)
    st_l: list[str] = ["evaluated"] * n
    # steps 1-2 name few rows (their messages per row); steps 3-4 and the scoring notes go column-wise
    reason: defaultdict[int, list[str]] = defaultdict(list)
    rcode: list[str | None] = [None] * n

    # 1. unreadable values: invalid in a column the method needs, a note (xclz_note) elsewhere
    bad_values, row_notes = split_row_errors(table, prof)
    for i, msgs in bad_values.items():
        st_l[i] = "invalid"
        reason[i].extend(msgs)
        rcode[i] = "unreadable_value"
    # 2. duplicate credit codes
    codes = _upper_codes(d["credit_code"])
    dup = codes[codes.notna() & codes.duplicated(keep=False)]
    for code, idx in dup.groupby(dup).groups.items():
        rows = [int(d.index.get_loc(k)) for k in idx]
        for i in rows:
            st_l[i] = "invalid"
            rcode[i] = rcode[i] or "duplicate_credit_code"
            others = spreadsheet_rows(table, [r for r in rows if r != i])
            reason[i].append(f"统一社会信用代码 {code} also on {others}: one legal person = one row; merge them")
    # 3. scope, land, group; 4. required inputs (column-wise, same rules and messages as _scope_status)
    st = np.array(st_l, dtype=object)
    code = np.array(rcode, dtype=object)
    notes = _Reasons(n)
    todo = st != "invalid"
    sc_st, sc_why, above, sc_code, sc_note = _scope_columns(d, prof.scope, todo)
    out_of_scope = todo & (sc_st != None)  # noqa: E711 - element-wise on an object array
    st[out_of_scope] = sc_st[out_of_scope]
    code[out_of_scope] = sc_code[out_of_scope]
    notes.add(np.flatnonzero(out_of_scope), sc_why[out_of_scope])
    in_scope = todo & ~out_of_scope
    has_note = in_scope & (sc_note != None)  # noqa: E711
    notes.add(np.flatnonzero(has_note), sc_note[has_note])
    gid_arr = np.where(above, "above_scale", "below_scale").astype(object)
    grp = np.full(n, None, dtype=object)
    for gid in GROUPS:
        m = in_scope & (gid_arr == gid)
        if gid not in prof.groups:
            st[m] = "not_evaluated"
            code[m] = "no_group_in_method"
            notes.add(np.flatnonzero(m), f"method '{prof.id}' has no group for {GROUP_NAMES_ZH[gid]} firms")
        else:
            grp[m] = gid
    required = list(prof.scope.get("required_inputs", []))
    missing_req = np.full(n, "", dtype=object)
    for k in required:
        m = (grp != None) & d[k].isna().to_numpy()  # noqa: E711
        hz = FIELD_BY_KEY[k].header_zh
        first = m & (missing_req == "")
        more = m & ~first
        missing_req[more] = missing_req[more] + (", " + hz)
        missing_req[first] = hz
    m = missing_req != ""
    st[m] = "invalid"
    code[m] = "missing_required"
    notes.add(np.flatnonzero(m), missing_req[m] + f" missing: required by method '{prof.id}' (write 0 for a true zero)")
    status = pd.Series(st, index=d.index, dtype=object)
    group = pd.Series(np.where(st == "evaluated", grp, None), index=d.index, dtype=object)
    rcode = code

    ind_ids = list(dict.fromkeys([*ALWAYS_OUTPUT, *prof.indicator_ids]))
    values = compute_indicators(d, ind_ids)
    scores = pd.DataFrame(np.nan, index=d.index, columns=[f"score_{i}" for i in prof.indicator_ids])
    fixed = load_benchmarks(benchmarks) if benchmarks is not None else {}
    group_stats: dict[str, Any] = {}
    ranks = pd.Series([pd.NA] * n, index=d.index, dtype="Int64")
    klass = pd.Series([None] * n, index=d.index, dtype=object)
    totals = pd.Series(np.nan, index=d.index)
    adjust = d["adjustment"].fillna(0.0)

    for gid, g in prof.groups.items():
        mask = (status == "evaluated") & (group == gid)
        idx = d.index[mask]
        stats: dict[str, Any] = {"name_zh": g.name_zh, "n": int(mask.sum()), "indicators": {}}
        if len(idx) == 0:
            group_stats[gid] = stats
            continue
        for wi in g.indicators:
            ind = INDICATORS[wi.id]
            x = values.loc[idx, wi.id]
            have = x.notna()
            sc = pd.Series(np.nan, index=idx)
            info: dict[str, Any] = {"name_zh": ind.name_zh, "unit": ind.unit, "weight": wi.weight, "confirmed": wi.confirmed,
                                    "n_with_value": int(have.sum()), "n_missing": int((~have).sum())}
            if have.any():
                xv = x[have]
                info.update(min=float(xv.min()), max=float(xv.max()), mean=float(xv.mean()), median=float(xv.median()))
                if prof.scoring["kind"] == "minmax":
                    lo, hi = float(xv.min()), float(xv.max())
                    fl = prof.scoring["floor"]
                    frac = (xv - lo) / (hi - lo) if hi > lo else pd.Series(1.0, index=xv.index)
                    sc[have] = wi.weight * (fl + (100.0 - fl) * frac) / 100.0
                else:
                    bm, bsrc = _benchmark(gid, wi, fixed, prof, d.loc[idx], xv)
                    info.update(benchmark=bm, benchmark_source=bsrc)
                    if bm is None or not (bm > 0):
                        raise InputDataError(
                            f"indicator {ind.name_zh} ({wi.id}) of {g.name_zh}: the benchmark ({bsrc}) is {bm!r}, not positive; "
                            "give a fixed benchmark with --benchmarks / benchmarks="
                        )
                    s = wi.weight * xv / bm
                    s = s.clip(lower=prof.scoring["negative_floor"] * wi.weight)
                    if prof.scoring["cap_multiple"] > 0:
                        s = s.clip(upper=prof.scoring["cap_multiple"] * wi.weight)
                    sc[have] = s
            rule = prof.scoring["missing"]
            if (~have).any():
                if have.any():
                    fill = {"mean_score": float(sc[have].mean()), "zero": 0.0, "min_score": float(sc[have].min())}[rule]
                else:
                    fill = 0.0
                sc[~have] = fill
                info["missing_rule"] = rule
                info["missing_score"] = fill
                pos = d.index.get_indexer(idx[~have.to_numpy()])
                notes.add(pos, f"{ind.name_zh} undefined (" + _why_undefined_columns(d, ind, pos)
                          + f"): scored {fill:.3f} by rule {rule}")
            scores.loc[idx, f"score_{wi.id}"] = sc
            stats["indicators"][wi.id] = info
        tot = scores.loc[idx, [f"score_{wi.id}" for wi in g.indicators]].sum(axis=1) + adjust.loc[idx]
        totals.loc[idx] = tot
        r, c = assign_classes(tot, labels=prof.classes["labels"], shares=prof.classes["shares"],
                              rounding=prof.classes["rounding"], ties=prof.classes["ties"])
        ranks.loc[idx] = r.astype("Int64")
        klass.loc[idx] = c
        stats["class_counts"] = {lab: int((c == lab).sum()) for lab in prof.classes["labels"]}
        stats["class_cuts"] = class_cuts(len(idx), prof.classes["shares"], rounding=prof.classes["rounding"])
        group_stats[gid] = stats

    # ---- assemble output
    raw = table.raw  # not copied: concat below makes the output frame
    computed = pd.DataFrame(index=d.index)
    computed["group"] = group
    for iid in ind_ids:
        computed[iid] = values[iid]
    for c in scores.columns:
        computed[c] = scores[c]
    computed["adjustment"] = np.where(status == "evaluated", adjust, np.nan)
    computed["total_score"] = totals
    computed["rank"] = ranks
    computed["class"] = klass
    computed["status"] = status
    why = notes.text
    for i, rs in reason.items():  # rows made invalid by steps 1-2 carry only those messages
        why[i] = "; ".join(r for r in rs if r)
    computed["reason"] = why
    computed["reason_code"] = rcode
    xnote = np.full(n, "", dtype=object)
    for i, msgs in row_notes.items():
        xnote[i] = "; ".join(msgs)
    computed["xclz_note"] = xnote

    locinfo: dict[str, Any] | None = None
    if zone is not None and not zone.has_geometry:
        warnings.warn(f"zone from {zone.boundaries_source} has no polygons: firms are not located (no per-part summary)",
                      DataQualityWarning, stacklevel=2)
        zone = None
    if zone is not None:
        loc, locinfo = _locate_firms(d, zone, parcels=parcels, datum=datum)
        for c in loc.columns:
            computed[c] = loc[c]
    clash = [c for c in raw.columns if c in computed.columns]
    if clash:
        raw = raw.rename(columns={c: f"{c}_input" for c in clash})
    out = pd.concat([raw, computed], axis=1)
    summary = _summary(out, d, prof, table, group_stats, zone, locinfo)
    _add_input_checks(summary, out, prof, table, row_notes)
    summary.setdefault("quality", summary.get("data_quality"))
    summary.setdefault("provenance", {"method": prof.id, "method_name_zh": prof.name_zh,
                                      "source": table.source, "disclaimer": summary.get("disclaimer"),
                                      "location": summary.get("location")})
    return EvaluationResult(scores=out, method=prof, summary=summary, enterprises=table)


def _add_input_checks(summary: dict[str, Any], out: "pd.DataFrame", prof: MethodProfile, table: EnterpriseTable,
                      row_notes: dict[int, list[str]]) -> None:
    """Missing indicator fields, per-row notes and plausibility checks into the summary."""
    summary["input"]["missing_fields"] = missing_fields(prof, table)
    summary["input"]["rows_with_notes"] = len(row_notes)
    summary["checks"] = firm_checks(out, table)


def _why_undefined(row: "pd.Series", ind: Indicator) -> str:
    num, den = row[ind.numerator], row[ind.denominator]
    hn, hd = FIELD_BY_KEY[ind.numerator].header_zh, FIELD_BY_KEY[ind.denominator].header_zh
    if num is None or (isinstance(num, float) and math.isnan(num)):
        return f"{hn} missing"
    if den is None or (isinstance(den, float) and math.isnan(den)):
        return f"{hd} missing"
    return f"{hd} is {den:g}"


def _upper_codes(values: "pd.Series") -> "pd.Series":
    """``s.upper()`` of each text cell (``None`` for the rest), column-wise for ASCII codes."""
    import pandas as pd

    arr = _arrow_text(values)
    if arr is not None:
        import pyarrow.compute as pc

        if pc.all(pc.fill_null(pc.string_is_ascii(arr), True)).as_py():  # ASCII: the same as str.upper
            return pd.Series(pc.utf8_upper(arr).to_numpy(zero_copy_only=False), index=values.index, dtype=object)
    return map_distinct(values, lambda s: s.upper() if isinstance(s, str) else None)


def _why_undefined_columns(d: "pd.DataFrame", ind: Indicator, pos: "np.ndarray") -> "np.ndarray":
    """:func:`_why_undefined` of the rows at positions ``pos`` (an object array of the same texts)."""
    import numpy as np
    import pandas as pd

    hn, hd = FIELD_BY_KEY[ind.numerator].header_zh, FIELD_BY_KEY[ind.denominator].header_zh
    num = pd.to_numeric(d[ind.numerator].iloc[pos], errors="coerce").to_numpy(dtype=float)
    den_s = d[ind.denominator].iloc[pos]
    den = pd.to_numeric(den_s, errors="coerce").to_numpy(dtype=float)
    out = np.empty(len(pos), dtype=object)
    out[:] = f"{hn} missing"
    m = ~np.isnan(num) & np.isnan(den)
    out[m] = f"{hd} missing"
    m = ~np.isnan(num) & ~np.isnan(den)
    if m.any():
        out[m] = (f"{hd} is " + map_distinct(pd.Series(den[m]), lambda v: f"{v:g}")).to_numpy(dtype=object)
    return out


class _Reasons:
    """The ``reason`` column built a message at a time for many rows: ``add(positions, messages)``
    appends ``"; " + message`` (or starts the text) at those rows, as ``"; ".join`` of each row's list would."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.text = np.full(n, "", dtype=object)

    def add(self, pos: "np.ndarray", msgs: Any) -> None:
        import numpy as np

        if not len(pos):
            return
        msgs = np.asarray(msgs, dtype=object) if not isinstance(msgs, str) else msgs
        if not isinstance(msgs, str):  # empty messages are skipped, as the join did
            keep = msgs != ""
            pos, msgs = pos[keep], msgs[keep]
        elif not msgs:
            return
        cur = self.text[pos]
        empty = cur == ""
        self.text[pos] = np.where(empty, msgs, cur + "; " + msgs)


def _scope_columns(d: "pd.DataFrame", scope: dict[str, Any], todo: "np.ndarray") -> tuple["np.ndarray", ...]:
    """:func:`_scope_status` for every row at once: object arrays (status or None, reason, above_scale
    (bool), reason code, note for rows in scope). Rows outside ``todo`` are left as in scope."""
    import numpy as np
    import pandas as pd

    n = len(d)
    st = np.full(n, None, dtype=object)
    why = np.full(n, None, dtype=object)
    code = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    above = np.zeros(n, dtype=bool)
    rem = todo.copy()

    def settle(m: "np.ndarray", status: str, c: str, msg: Any) -> None:
        nonlocal rem
        st[m] = status
        code[m] = c
        why[m] = msg
        rem &= ~m

    ex = d["exempt_reason"]
    ex_txt = ex.astype(object).where(ex.notna(), "").to_numpy(dtype=object)
    m = rem & (ex_txt != "")
    settle(m, "not_evaluated", "exempt", "不参评原因: " + ex_txt[m].astype(str).astype(object))
    ind_code = d["industry_code"]
    digits = map_distinct(ind_code, _industry_digits).to_numpy(dtype=object)
    has = digits != None  # noqa: E711
    code_txt = ind_code.astype(object).to_numpy(dtype=object)
    prefixes = tuple(scope.get("exempt_industry_prefixes", []))
    if prefixes:
        util = has & map_distinct(pd.Series(digits), lambda v: isinstance(v, str) and v.startswith(prefixes)).to_numpy(dtype=bool)
        m = rem & util
        if m.any():
            settle(m, "not_evaluated", "utility",
                   np.array([f"public utility (行业代码 {c}): {scope.get('exempt_reason_zh', 'exempt by the method')}"
                             for c in code_txt[m]], dtype=object))
    rng = scope.get("industrial_code_range") or []
    if rng:
        outside = has & map_distinct(pd.Series(digits), lambda v: isinstance(v, str) and not (rng[0] <= v[:2] <= rng[1])).to_numpy(dtype=bool)
        m = rem & outside
        if m.any():
            settle(m, "not_evaluated", "not_industrial",
                   np.array([f"行业代码 {c} is not an industrial code ({rng[0]}–{rng[1]} in GB/T 4754-2017)" for c in code_txt[m]],
                            dtype=object))
    land = pd.to_numeric(d["land_mu"], errors="coerce").to_numpy(dtype=float)
    m = rem & np.isnan(land)
    settle(m, "not_evaluated", "missing_land",
           "用地面积 missing: per-mu indicators cannot be computed (fill it in to evaluate the firm)")
    m = rem & (land == 0)
    settle(m, "not_evaluated", "zero_land", "用地面积 is 0: per-mu indicators are undefined (leased premises are not evaluated per mu)")
    ab = d["above_scale"].astype(object).to_numpy(dtype=object)
    given = np.array([v is not None for v in ab], dtype=bool) if n else np.zeros(0, bool)
    above[given] = ab[given].astype(bool)
    rev = pd.to_numeric(d["revenue_wan"], errors="coerce").to_numpy(dtype=float)
    m = rem & ~given & np.isnan(rev)
    settle(m, "invalid", "group_unknown", "是否规上 and 营业收入 both missing: the group (规上/规下) cannot be decided")
    inferred = rem & ~given
    thr = scope["above_scale_revenue_wan"]
    if inferred.any():
        above[inferred] = rev[inferred] >= thr
        note[inferred] = [f"是否规上 empty: inferred {'规上' if a else '规下'} from 营业收入 {r:g} 万元 (threshold {thr:g})"
                          for a, r in zip(above[inferred], rev[inferred])]
    lim = scope["below_scale_min_land_mu"]
    with np.errstate(invalid="ignore"):
        m = rem & ~above & (land < lim)
    if m.any():
        settle(m, "not_evaluated", "below_land_threshold",
               np.array([f"规下 firm with {x:g} 亩 < {lim:g} 亩: below the method's land threshold" for x in land[m]], dtype=object))
        note[m] = None
    return st, why, above, code, note


def _benchmark(gid: str, wi: WeightedIndicator, fixed: dict[tuple[str, str], float], prof: MethodProfile,
               rows: "pd.DataFrame", xv: "pd.Series") -> tuple[float | None, str]:
    if (gid, wi.id) in fixed:
        return fixed[(gid, wi.id)], "benchmarks file"
    if ("*", wi.id) in fixed:
        return fixed[("*", wi.id)], "benchmarks file"
    if wi.benchmark is not None:
        return wi.benchmark, "profile"
    if prof.scoring["benchmark"] == "population_mean":
        return float(xv.mean()), "population mean"
    ind = INDICATORS[wi.id]
    r = rows.loc[xv.index]
    den = float(r[ind.denominator].sum())
    num = float(r[ind.numerator].sum())
    return (num / den * ind.scale if den > 0 else None), "population aggregate (Σ numerator / Σ denominator)"


# ------------------------------------------------------------------ locating


def _locate_firms(d: "pd.DataFrame", zone: "Zone", *, parcels: "gpd.GeoDataFrame | None", datum: str) -> tuple["pd.DataFrame", dict[str, Any]]:
    """block_id, part_id, locate_status per firm: by coordinates, else by parcel id."""
    import numpy as np
    import pandas as pd

    from xclz_geo.geo.locate import locate

    out = pd.DataFrame({"block_id": [None] * len(d), "part_id": [None] * len(d), "locate_status": ["no location"] * len(d)},
                       index=d.index, dtype=object)
    how = {"by_coordinates": 0, "by_parcel": 0}
    has_xy = d["lon"].notna() & d["lat"].notna()
    if has_xy.any():
        pts = pd.DataFrame({"lon": d.loc[has_xy, "lon"].to_numpy(), "lat": d.loc[has_xy, "lat"].to_numpy()})
        res = locate(zone, pts, datum=datum, x="lon", y="lat")
        res = pd.DataFrame(res).reset_index(drop=True)
        idx = d.index[has_xy]
        # one str object per distinct id/status (a str per row would hold 10⁶ copies of a few words)
        out.loc[idx, "block_id"] = _shared_text(res["block_id"], missing=None)
        out.loc[idx, "part_id"] = _shared_text(res["part_id"], missing=None)
        out.loc[idx, "locate_status"] = _shared_text(res["status"], missing="nan")
        how["by_coordinates"] = int(has_xy.sum())
    if parcels is not None and "parcel_id" in parcels.columns:
        need = ~has_xy & d["parcel_id"].notna()
        if need.any():
            pinfo = _parcel_parts(parcels, zone)
            pids = d.loc[need, "parcel_id"].astype(str)
            found = pids.isin(list(pinfo)).to_numpy()
            hit = pids[found]
            if len(hit):
                vals = [pinfo[p] for p in hit.tolist()]
                out.loc[hit.index, "block_id"] = [v[0] for v in vals]
                out.loc[hit.index, "part_id"] = [v[1] for v in vals]
                out.loc[hit.index, "locate_status"] = [v[2] for v in vals]
            how["by_parcel"] += int(found.sum())
            out.loc[pids.index[~found], "locate_status"] = "parcel not found"
    for c in ("block_id", "part_id"):
        out[c] = map_distinct(out[c], lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else v)
    return out, {"how": how, "boundaries": zone.boundaries_source, "boundaries_quality": zone.worst_quality, "datum": datum}


def _per_distinct(values: "pd.Series", fn: Any, *, missing: Any) -> "np.ndarray":
    """``fn`` of each cell as an object array, computed once per distinct value (equal cells share the one
    result object); ``missing`` for a missing cell."""
    import numpy as np
    import pandas as pd

    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    arr = np.empty(len(uniq) + 1, dtype=object)
    arr[: len(uniq)] = [fn(v) for v in uniq.tolist()]
    arr[len(uniq)] = missing  # codes of -1 (missing) index this last slot
    return arr[codes]


def _shared_text(values: "pd.Series", *, missing: Any) -> "np.ndarray":
    """``str`` of each cell as an object array, the equal ones sharing one ``str`` object; ``missing`` for a
    missing cell (``None``, or ``"nan"`` as ``astype(str)`` writes it)."""
    return _per_distinct(values, str, missing=missing)


def _parcel_parts(parcels: "gpd.GeoDataFrame", zone: "Zone") -> dict[str, tuple[Any, Any, str]]:
    import pandas as pd

    if {"part_id", "block_id"} <= set(parcels.columns):
        return {str(r.parcel_id): (r.block_id, r.part_id, "by parcel") for r in parcels.itertuples()}
    from xclz_geo.geo.locate import locate

    pts = parcels.geometry.representative_point().to_crs("EPSG:4326")
    df = pd.DataFrame({"lon": pts.x.to_numpy(), "lat": pts.y.to_numpy()})
    res = pd.DataFrame(locate(zone, df, datum="wgs84", x="lon", y="lat")).reset_index(drop=True)
    return {
        str(pid): (res["block_id"].iat[i], res["part_id"].iat[i], f"by parcel: {res['status'].iat[i]}")
        for i, pid in enumerate(parcels["parcel_id"])
    }


# ------------------------------------------------------------------ summaries


def _agg(df: "pd.DataFrame", keys: list[str], labels: list[str] | None = None) -> list[dict[str, Any]]:
    """count, land, tax, revenue, tax per mu (Σ tax / Σ land) per key, and class counts when labels."""
    import pandas as pd

    if df.empty:
        return []
    rows = []
    for key, g in df.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        land = float(g["_land"].sum())
        tax = float(g["_tax"].sum())
        rec: dict[str, Any] = {k: (None if pd.isna(v) else v) for k, v in zip(keys, key)}
        rec.update(
            count=int(len(g)),
            land_mu=land,
            tax_wan=tax,
            revenue_wan=float(g["_rev"].sum(min_count=1)) if g["_rev"].notna().any() else None,
            tax_per_mu=(tax / land) if land > 0 else None,
        )
        if labels:
            for lab in labels:
                rec[f"class_{lab}"] = int((g["class"] == lab).sum())
        if "locate_status" in g.columns:
            rec["uncertain"] = int((g["locate_status"] == "uncertain").sum())
        rows.append(rec)
    return rows


def _summary(out: "pd.DataFrame", d: "pd.DataFrame", prof: MethodProfile, table: EnterpriseTable,
             group_stats: dict[str, Any], zone: "Zone | None", locinfo: dict[str, Any] | None) -> dict[str, Any]:

    from xclz_geo.efficiency.industry import industry_names

    # only the columns the summaries read (a copy of every column of 10⁶ rows would double the memory)
    ev = out.loc[(out["status"] == "evaluated").to_numpy(),
                 [c for c in ("group", "class", "block_id", "part_id", "locate_status") if c in out.columns]].copy()
    ev["_land"] = d.loc[ev.index, "land_mu"]
    ev["_tax"] = d.loc[ev.index, "tax_wan"]
    ev["_rev"] = d.loc[ev.index, "revenue_wan"]
    labels = prof.classes["labels"]
    ev["industry"] = map_distinct(d.loc[ev.index, "industry_code"], _industry_prefix)
    names = industry_names()
    by_ind = _agg(ev, ["industry"], labels)
    for r in by_ind:
        r["industry_name_zh"] = names.get(r["industry"]) if r["industry"] else None
    by_class = _agg(ev, ["group", "class"])
    tot_land = float(ev["_land"].sum())
    for r in by_class:
        r["share_of_group"] = r["count"] / max(group_stats.get(r["group"], {}).get("n", 0), 1)
        r["share_of_land"] = r["land_mu"] / tot_land if tot_land > 0 else None
        k = labels.index(r["class"]) if r["class"] in labels else None
        r["class_name_zh"] = prof.classes["names_zh"][k] if k is not None else None
    by_part: list[dict[str, Any]] = []
    by_block: list[dict[str, Any]] = []
    if zone is not None and "part_id" in ev.columns:
        ev["part_id"] = map_distinct(ev["part_id"], lambda v: v if isinstance(v, str) and v else None)
        ev["block_id"] = map_distinct(ev["block_id"], lambda v: v if isinstance(v, str) and v else None)
        loc_label = map_distinct(ev["locate_status"], lambda s: "outside the zone" if s == "outside" else ("not located" if s in ("no location", "invalid", "parcel not found") else None))
        ev["part_key"] = ev["part_id"].where(ev["part_id"].notna(), loc_label)
        ev["block_key"] = ev["block_id"].where(ev["block_id"].notna(), loc_label)
        by_part = _agg(ev.rename(columns={"part_key": "part"}), ["part"], labels)
        by_block = _agg(ev.rename(columns={"block_key": "block"}), ["block"], labels)
    counts = {s: int((out["status"] == s).sum()) for s in STATUSES}
    reasons = out.loc[out["status"] != "evaluated", "reason_code"]
    qual = sorted({str(q) for q in d["data_quality"].dropna().unique()}) if "data_quality" in d else []
    all_land = d["land_mu"]
    summary = {
        "method": prof.to_dict(),
        "disclaimer": prof.disclaimer(),
        "data_quality": (qual[0] if len(qual) == 1 else qual) if qual else "unlabelled",
        "input": {"source": table.source, "rows": int(len(d)), **table.columns.to_dict()},
        "counts": counts,
        "not_evaluated_reasons": {k: int(v) for k, v in reasons.value_counts().items()},
        "groups": group_stats,
        "totals": {
            "evaluated_land_mu": tot_land,
            "evaluated_tax_wan": float(ev["_tax"].sum()),
            "evaluated_tax_per_mu": float(ev["_tax"].sum()) / tot_land if tot_land > 0 else None,
            "all_land_mu": float(all_land[all_land > 0].sum()),
        },
        "by_class": by_class,
        "by_industry": by_ind,
        "by_part": by_part,
        "by_block": by_block,
        "location": locinfo,
        "rules": _RULES,
    }
    return summary


_RULES = {
    "invalid": "in a column the method needs: text in a number column, negative land/revenue/energy/emission/R&D/staff/electricity/技改; duplicate 统一社会信用代码 (all its rows); a required input other than 用地面积 (default 实缴税金) empty; 是否规上 and 营业收入 both empty",
    "not_evaluated": "不参评原因 given; public utility (行业代码 44/45/46 by default); non-industrial code; 用地面积 empty (missing_land) or 0 (zero_land) — an empty 用地面积 is never invalid; 规下 firm below the land threshold",
    "notes": "an unreadable value in a column the method does not need (e.g. 经度 待补充) is left empty and explained in xclz_note; the row keeps its status",
    "missing_indicator": "undefined indicator (input missing or zero denominator) scored by scoring.missing (default: the group's mean score)",
    "negative_values": "kept as reported; min–max: lowest in range; ratio: single-indicator score floored at negative_floor × weight",
    "ties": "competition ranks on totals rounded to 1e-6; tied firms share the class given by classes.ties (default: the higher one)",
    "groups": "规上 and 规下 are scored, ranked and classed separately",
    "reason_codes": "unreadable_value, duplicate_credit_code, missing_required, group_unknown (invalid); exempt, utility, "
                    "not_industrial, missing_land, zero_land, below_land_threshold, no_group_in_method (not_evaluated)",
}


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "STATUSES", "GROUPS", "GROUP_NAMES_ZH", "Field", "FIELDS", "FIELD_BY_KEY", "ColumnMap", "map_columns",
    "EnterpriseTable", "read_enterprises", "needed_fields", "split_row_errors", "spreadsheet_rows",
    "missing_fields", "firm_checks", "template", "Indicator", "INDICATORS", "ALWAYS_OUTPUT", "compute_indicators",
    "WeightedIndicator", "Group", "MethodProfile", "parse_method", "BUILTIN_METHODS", "load_method",
    "load_benchmarks", "class_cuts", "assign_classes", "EvaluationResult", "evaluate"
]
