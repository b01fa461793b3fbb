"""亩均效益 over the years: a history file of yearly evaluations, and year-over-year transitions.

The evaluation is yearly and its point is movement: which firms climbed a class, which fell, which
have been D for two years running (the usual trigger for 调控帮扶 measures). :func:`store_year` keeps
one year's evaluation in a SQLite file (a plain ``.sqlite``; a GeoPackage path works too, it is
SQLite): the inputs' names, the method profile with its id, year and hash, every firm's indicators,
score, class and status, the boundary version, and the quality labels. :func:`compare_years` matches
the firms of two stored years and returns one row per firm present in either year.

Matching (every fallback is reported in the ``match`` column and the summary)
-----------------------------------------------------------------------------
``credit_code``
    the same 统一社会信用代码 (spaces removed, upper case) in both years — a renamed firm keeps
    its code and matches here.
``name_location``
    no code match: the same normalised name (NFKC, no spaces or brackets, no 有限公司-type suffix
    difference is ignored) and locations within ``match_distance_m`` (default 500 m) when both
    years have coordinates, or the same part when only the part is known. Two firms with one name
    are told apart by location; a name with candidates on both sides that location cannot separate
    is left unmatched and listed under ``ambiguous``.
``name_only``
    the name is unique in both years and neither year has a location for it.
``-``
    no match: ``新增`` (only in the later year) or ``退出`` (only in the earlier year).

Changes: ``升档`` / ``降档`` / ``持平`` compare the classes (A best); a firm classed only in the later year
is ``新增`` and one classed only in the earlier year ``退出`` (its note says whether it was present
but not evaluated); a firm present in both years but classed in neither is ``持平`` with a note.

Rules that need more years (连续 N 年 D 类, trends over N years) are data: the ``[history]`` table of
the method profile (``consecutive_d_trigger_years``, ``trend_years``), with project defaults of 2 and
3 marked ``confirmed = false`` when a profile has none.
"""

from __future__ import annotations

import hashlib
import os
import json
import math
import re
import sqlite3
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo.errors import InputDataError, InputFileError

if TYPE_CHECKING:
    import pandas as pd

    from xclz_geo.efficiency.evaluate import EvaluationResult

__all__ = [
    "CHANGES",
    "HISTORY_COLUMNS",
    "TRANSITION_COLUMNS",
    "Comparison",
    "HistoryRules",
    "compare_years",
    "history_rules",
    "list_years",
    "load_year",
    "method_hash",
    "normalise_credit_code",
    "normalise_name",
    "store_year",
    "write_comparison",
]

SCHEMA_VERSION = 1
CLASS_ORDER = ("A", "B", "C", "D")
CHANGES = ("升档", "降档", "持平", "新增", "退出")
#: columns of transitions.csv, in order
TRANSITION_COLUMNS = (
    "credit_code", "name", "part_id", "class_from", "class_to", "change", "score_from", "score_to",
    "tax_per_mu_from", "tax_per_mu_to", "consecutive_d_years", "match",
)
#: per-firm columns stored for each year
HISTORY_COLUMNS = (
    "row", "credit_code", "name", "name_norm", "industry_code", "block_id", "part_id", "lon", "lat",
    "land_mu", "tax_wan", "revenue_wan", "tax_per_mu", "total_score", "rank", "class", "status", "reason",
    "data_quality", "indicators_json",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xclz_history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS xclz_evaluations (
    year INTEGER PRIMARY KEY,
    stored_at TEXT NOT NULL,
    method_id TEXT NOT NULL,
    method_version TEXT,
    method_hash TEXT NOT NULL,
    method_json TEXT NOT NULL,
    history_rules_json TEXT NOT NULL,
    boundary_version TEXT,
    boundaries_quality TEXT,
    data_quality TEXT,
    inputs_json TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    n_firms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS xclz_firms (
    year INTEGER NOT NULL REFERENCES xclz_evaluations(year) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    credit_code TEXT, name TEXT, name_norm TEXT, industry_code TEXT, block_id TEXT, part_id TEXT,
    lon REAL, lat REAL, land_mu REAL, tax_wan REAL, revenue_wan REAL, tax_per_mu REAL,
    total_score REAL, rank INTEGER, class TEXT, status TEXT, reason TEXT, data_quality TEXT,
    indicators_json TEXT,
    PRIMARY KEY (year, row)
);
CREATE INDEX IF NOT EXISTS xclz_firms_code ON xclz_firms(credit_code);
"""


# ------------------------------------------------------------------ normalisation

_NAME_DROP = re.compile(r"[\s()（）\[\]【】·・,，.。'\"“”‘’\-—_/]+")
_NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "公司", "厂")


def normalise_credit_code(code: Any) -> str | None:
    """A 统一社会信用代码 for matching: NFKC, spaces removed, upper case; ``None`` when empty."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return None
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(code))).upper()
    return s or None


def normalise_name(name: Any) -> str | None:
    """A firm name for matching: NFKC, lower case, no spaces/brackets/punctuation, legal-form suffix dropped."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return None
    s = _NAME_DROP.sub("", unicodedata.normalize("NFKC", str(name)).lower())
    for suf in _NAME_SUFFIXES:
        if s.endswith(suf) and len(s) > len(suf):
            s = s[: -len(suf)]
            break
    return s or None


# ------------------------------------------------------------------ rules


@dataclass(frozen=True)
class HistoryRules:
    """Multi-year rules from the method profile's ``[history]`` table.

    Attributes
    ----------
    consecutive_d_trigger_years
        A firm in class D this many years running is flagged (``d_trigger``); 连续两年D类 by default.
    trend_years
        Years over which ``score_trend`` is taken (least-squares slope of the total score per year).
    match_distance_m
        Name matches need locations within this distance.
    confirmed
        Whether the values were read in an official text (the defaults are not).
    source
        Where the values come from.
    """

    consecutive_d_trigger_years: int = 2
    trend_years: int = 3
    match_distance_m: float = 500.0
    confirmed: bool = False
    source: str = "project defaults (连续两年D类 as commonly described for 调控帮扶 follow-up; not read in any official text we hold)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "consecutive_d_trigger_years": self.consecutive_d_trigger_years,
            "trend_years": self.trend_years,
            "match_distance_m": self.match_distance_m,
            "confirmed": self.confirmed,
            "source": self.source,
        }


def history_rules(method: Any) -> HistoryRules:
    """The :class:`HistoryRules` of a method profile (its TOML's ``[history]`` table, else the defaults).

    Raises
    ------
    MethodProfileError
        A ``[history]`` value of the wrong kind, named by its key.
    """
    from xclz_geo.errors import MethodProfileError

    path = getattr(method, "path", "") or ""
    table: Mapping[str, Any] = {}
    if path and Path(path).is_file():
        with open(path, "rb") as f:
            table = tomllib.load(f).get("history", {}) or {}
    if not table:
        return HistoryRules()
    out: dict[str, Any] = {}
    for key, kind in (("consecutive_d_trigger_years", int), ("trend_years", int), ("match_distance_m", float),
                      ("confirmed", bool), ("source", str)):
        if key in table:
            v = table[key]
            if kind is float and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if not isinstance(v, kind) or isinstance(v, bool) != (kind is bool):
                raise MethodProfileError(f"{path}: history.{key} must be {kind.__name__}, not {v!r}")
            out[key] = v
    rules = HistoryRules(**out)
    if rules.consecutive_d_trigger_years < 1 or rules.trend_years < 2 or rules.match_distance_m <= 0:
        raise MethodProfileError(f"{path}: history: consecutive_d_trigger_years ≥ 1, trend_years ≥ 2, match_distance_m > 0")
    return rules


def method_hash(method: Any) -> str:
    """SHA-256 (first 16 hex digits) of the method profile's canonical JSON (weights, shares, rules)."""
    doc = method.to_dict() if hasattr(method, "to_dict") else dict(method)
    doc = {k: v for k, v in doc.items() if k not in ("path",)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------ the file


def _connect(path: str | Path, *, create: bool) -> sqlite3.Connection:
    p = Path(path)
    if not create and not p.is_file():
        raise InputFileError(f"{p}: history file not found; store a year first with `xclz-geo efficiency … --year Y --history {p}`")
    if p.is_dir():
        raise InputFileError(f"{p}: is a folder; give a file such as {p / 'history.sqlite'}")
    if create and not p.parent.exists():
        raise InputFileError(f"{p}: folder {p.parent} does not exist")
    try:
        con = sqlite3.connect(str(p), timeout=30.0, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA busy_timeout = 30000")
        con.executescript(_SCHEMA) if create else None
        have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise InputFileError(f"{p}: not a readable history file ({exc}); give a .sqlite made by xclz-geo") from None
    if "xclz_evaluations" not in have:
        con.close()
        raise InputFileError(f"{p}: has no xclz_geo evaluation history (table xclz_evaluations missing)")
    row = con.execute("SELECT value FROM xclz_history_meta WHERE key = 'schema_version'").fetchone()
    if row is None and create:
        con.execute("INSERT OR IGNORE INTO xclz_history_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif row is not None and int(row[0]) > SCHEMA_VERSION:
        con.close()
        raise InputFileError(f"{p}: written by a newer xclz_geo (history schema {row[0]}); update xclz_geo")
    return con


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _txt(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        import pandas as pd

        if v is pd.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    s = str(v).strip()
    return s or None


def _boundary_version(result: "EvaluationResult") -> str | None:
    loc = result.summary.get("location") or {}
    src = loc.get("boundaries")
    if not src:
        return None
    p = Path(str(src))
    if p.is_file():
        return f"{p.name}@sha256:{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
    return str(src)


def store_year(
    history: str | Path,
    result: "EvaluationResult",
    *,
    year: int,
    replace: bool = False,
    inputs: Mapping[str, Any] | None = None,
    boundary_version: str | None = None,
) -> dict[str, Any]:
    """Store one year's evaluation in a history file (created when missing).

    Parameters
    ----------
    history
        The SQLite file (``.sqlite``; a ``.gpkg`` works too).
    result
        What :func:`xclz_geo.efficiency.evaluate.evaluate` returned for that year.
    year
        The evaluation year (e.g. 2024: the year whose tax and output were evaluated).
    replace
        Replace a year that is stored already; without it that is an error.
    inputs
        Names of the input files and parameters, stored as the year's record.
    boundary_version
        Which boundaries located the firms; default: the boundaries file's name and content hash.

    Returns
    -------
    dict
        The year's record: year, method id/hash, boundary version, firm count, whether replaced.

    Raises
    ------
    InputDataError
        The year exists and ``replace`` is false; a year outside 1990–2100.
    """
    if not isinstance(year, int) or not 1990 <= year <= 2100:
        raise InputDataError(f"--year {year!r}: give the evaluation year as four digits, e.g. 2024")
    rules = history_rules(result.method)
    scores = result.scores
    data = result.enterprises.data if result.enterprises is not None else None
    # locations in WGS84, converted from the datum the table used
    lon = lat = None
    try:
        layer = result.layer
        ok = ~layer.geometry.is_empty & layer.geometry.notna()
        lon = [float(g.x) if k else None for g, k in zip(layer.geometry, ok)]
        lat = [float(g.y) if k else None for g, k in zip(layer.geometry, ok)]
    except Exception:  # noqa: BLE001 - a table without coordinates keeps none
        lon = lat = None
    indicator_ids = list(result.method.indicator_ids)
    rows = []
    for i in range(len(scores)):
        s = scores.iloc[i]
        d = data.iloc[i] if data is not None else {}
        ind = {k: _num(s.get(k)) for k in indicator_ids if k in scores.columns}
        name = _txt(d.get("name")) if data is not None else None
        rows.append((
            year, i,
            normalise_credit_code(d.get("credit_code")) if data is not None else None,
            name, normalise_name(name),
            _txt(d.get("industry_code")) if data is not None else None,
            _txt(s.get("block_id")), _txt(s.get("part_id")),
            lon[i] if lon else None, lat[i] if lat else None,
            _num(d.get("land_mu")) if data is not None else None,
            _num(d.get("tax_wan")) if data is not None else None,
            _num(d.get("revenue_wan")) if data is not None else None,
            _num(s.get("tax_per_mu")), _num(s.get("total_score")),
            int(s["rank"]) if _num(s.get("rank")) is not None else None,
            _txt(s.get("class")), _txt(s.get("status")), _txt(s.get("reason")),
            _txt(d.get("data_quality")) if data is not None else None,
            json.dumps(ind, ensure_ascii=False),
        ))
    summary = result.summary
    loc = summary.get("location") or {}
    quality = summary.get("data_quality")
    record = {
        "year": year,
        "method_id": result.method.id,
        "method_version": str(result.method.year) if result.method.year is not None else None,
        "method_hash": method_hash(result.method),
        "boundary_version": boundary_version or _boundary_version(result),
        "boundaries_quality": loc.get("boundaries_quality"),
        "data_quality": quality if isinstance(quality, str) else json.dumps(quality, ensure_ascii=False),
        "n_firms": len(rows),
    }
    con = _connect(history, create=True)
    try:
        con.execute("BEGIN IMMEDIATE")
        exists = con.execute("SELECT 1 FROM xclz_evaluations WHERE year = ?", (year,)).fetchone() is not None
        if exists and not replace:
            con.execute("ROLLBACK")
            raise InputDataError(f"{history}: year {year} is stored already; add --replace to overwrite it")
        if exists:
            con.execute("DELETE FROM xclz_firms WHERE year = ?", (year,))
            con.execute("DELETE FROM xclz_evaluations WHERE year = ?", (year,))
        con.execute(
            "INSERT INTO xclz_evaluations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (year, datetime.now(timezone.utc).isoformat(timespec="seconds"), record["method_id"], record["method_version"],
             record["method_hash"], json.dumps(result.method.to_dict(), ensure_ascii=False, default=str),
             json.dumps(rules.to_dict(), ensure_ascii=False), record["boundary_version"], record["boundaries_quality"],
             record["data_quality"], json.dumps(dict(inputs or {}), ensure_ascii=False, default=str),
             json.dumps(summary, ensure_ascii=False, default=str), len(rows)),
        )
        con.executemany(f"INSERT INTO xclz_firms VALUES ({','.join('?' * (len(HISTORY_COLUMNS) + 1))})", rows)
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    record["replaced"] = exists
    return record


def list_years(history: str | Path) -> list[dict[str, Any]]:
    """The stored years with their method, boundary version and firm count, oldest first."""
    con = _connect(history, create=False)
    try:
        cur = con.execute(
            "SELECT year, stored_at, method_id, method_version, method_hash, boundary_version, boundaries_quality, "
            "data_quality, n_firms, inputs_json FROM xclz_evaluations ORDER BY year"
        )
        cols = [c[0] for c in cur.description]
        out = [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()
    for r in out:
        r["inputs"] = json.loads(r.pop("inputs_json") or "{}")
    return out


def load_year(history: str | Path, year: int) -> "pd.DataFrame":
    """One stored year's firms (columns :data:`HISTORY_COLUMNS`), in input order.

    Raises
    ------
    InputDataError
        The year is not stored (the message lists the stored years).
    """
    import pandas as pd

    con = _connect(history, create=False)
    try:
        if con.execute("SELECT 1 FROM xclz_evaluations WHERE year = ?", (year,)).fetchone() is None:
            years = [r[0] for r in con.execute("SELECT year FROM xclz_evaluations ORDER BY year")]
            raise InputDataError(f"{history}: year {year} is not stored; stored years: {', '.join(map(str, years)) or 'none'}")
        df = pd.read_sql_query(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM xclz_firms WHERE year = ? ORDER BY row", con, params=(year,))
    finally:
        con.close()
    return df


def _evaluation_meta(history: str | Path, year: int) -> dict[str, Any]:
    con = _connect(history, create=False)
    try:
        cur = con.execute("SELECT * FROM xclz_evaluations WHERE year = ?", (year,))
        row = cur.fetchone()
        cols = [c[0] for c in cur.description]
    finally:
        con.close()
    if row is None:
        raise InputDataError(f"{history}: year {year} is not stored")
    return dict(zip(cols, row))


# ------------------------------------------------------------------ matching


def _distance_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> float | None:
    if None in (lon1, lat1, lon2, lat2) or any(isinstance(v, float) and math.isnan(v) for v in (lon1, lat1, lon2, lat2)):
        return None
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def _match(a: "pd.DataFrame", b: "pd.DataFrame", *, distance_m: float) -> tuple[dict[int, tuple[int, str]], list[str]]:
    """Match rows of year ``a`` to rows of year ``b``: {a_row: (b_row, how)}, plus ambiguous names."""
    out: dict[int, tuple[int, str]] = {}
    used_b: set[int] = set()
    # 1. credit codes unique on both sides
    ca = a["credit_code"].dropna()
    cb = b["credit_code"].dropna()
    ua = ca[~ca.duplicated(keep=False)]
    ub = cb[~cb.duplicated(keep=False)]
    b_by_code = {c: int(i) for i, c in zip(b.loc[ub.index, "row"], ub)}
    for i, c in zip(a.loc[ua.index, "row"], ua):
        j = b_by_code.get(c)
        if j is not None:
            out[int(i)] = (j, "credit_code")
            used_b.add(j)
    # 2. names, told apart by location
    ambiguous: list[str] = []
    rest_a = a[~a["row"].isin(list(out)) & a["name_norm"].notna()]
    rest_b = b[~b["row"].isin(list(used_b)) & b["name_norm"].notna()]
    # a firm with a code on both sides that did not match is another firm: names never override two different codes
    for name, ga in rest_a.groupby("name_norm", sort=False):
        gb = rest_b[rest_b["name_norm"] == name]
        if gb.empty:
            continue
        pairs = []
        for _, ra in ga.iterrows():
            for _, rb in gb.iterrows():
                code_a, code_b = _txt(ra["credit_code"]), _txt(rb["credit_code"])
                if code_a and code_b and code_a != code_b:
                    continue
                part_a, part_b = _txt(ra["part_id"]), _txt(rb["part_id"])
                d = _distance_m(_num(ra["lon"]), _num(ra["lat"]), _num(rb["lon"]), _num(rb["lat"]))
                has_xy_a = _num(ra["lon"]) is not None and _num(ra["lat"]) is not None
                has_xy_b = _num(rb["lon"]) is not None and _num(rb["lat"]) is not None
                single = len(ga) == 1 and len(gb) == 1
                if d is not None:
                    if d <= distance_m:
                        pairs.append((d, int(ra["row"]), int(rb["row"]), "name_location"))
                elif part_a and part_b and not (has_xy_a and has_xy_b):
                    if part_a == part_b and single:
                        pairs.append((distance_m, int(ra["row"]), int(rb["row"]), "name_location"))
                elif not has_xy_a and not has_xy_b and single:
                    pairs.append((2 * distance_m, int(ra["row"]), int(rb["row"]), "name_only"))
        taken_a: set[int] = set()
        for _, i, j, how in sorted(pairs):
            if i in taken_a or j in used_b:
                continue
            out[i] = (j, how)
            taken_a.add(i)
            used_b.add(j)
        if len(taken_a) < min(len(ga), len(gb)):
            shown = ga["name"].iloc[0]
            ambiguous.append(str(shown))
    return out, ambiguous


def _better(c1: str | None, c2: str | None) -> int:
    """+1 when c2 is a better class than c1, −1 worse, 0 equal."""
    i1, i2 = CLASS_ORDER.index(c1), CLASS_ORDER.index(c2)  # type: ignore[arg-type]
    return (i1 > i2) - (i1 < i2)


# ------------------------------------------------------------------ comparison


@dataclass
class Comparison:
    """What :func:`compare_years` returns.

    Attributes
    ----------
    table
        transitions: one row per firm present in either year, columns :data:`TRANSITION_COLUMNS` then
        ``industry_code``, ``d_trigger``, ``score_trend``, ``note``.
    matrix
        Counts of firms classed in both years: rows = class in the earlier year (A–D), columns = later.
    summary
        JSON-able: the years, methods and hashes, the rules, counts per change, per part and per industry,
        match counts (fallbacks reported), ambiguous names, quality labels of both years, notes.
    """

    table: "pd.DataFrame"
    matrix: "pd.DataFrame"
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary (JSON-able)."""
        return self.summary


def compare_years(
    history: str | Path,
    *,
    year_from: int,
    year_to: int,
    allow_method_change: bool = False,
) -> Comparison:
    """Year-over-year transitions between two stored years.

    Parameters
    ----------
    history
        The history file.
    year_from, year_to
        The earlier and the later year (both stored).
    allow_method_change
        Compare years scored with different method profiles (different hashes); the summary then says so.

    Returns
    -------
    Comparison

    Raises
    ------
    InputDataError
        A year is not stored, ``year_from`` ≥ ``year_to``, or the methods differ without ``allow_method_change``.
    """
    import numpy as np
    import pandas as pd

    if year_from >= year_to:
        raise InputDataError(f"--from {year_from} must be an earlier year than --to {year_to}")
    meta_a, meta_b = _evaluation_meta(history, year_from), _evaluation_meta(history, year_to)
    notes: list[str] = []
    method_changed = meta_a["method_hash"] != meta_b["method_hash"]
    if method_changed:
        what = (f"{year_from} was scored with {meta_a['method_id']} ({meta_a['method_hash']}), "
                f"{year_to} with {meta_b['method_id']} ({meta_b['method_hash']})")
        if not allow_method_change:
            raise InputDataError(f"{history}: {what}; classes from different methods are not comparable — "
                                 "add --allow-method-change to compare them anyway (the output will say so)")
        notes.append(f"方法变更 method changed: {what}; class changes partly reflect the method, not the firms")
    rules = HistoryRules(**json.loads(meta_b["history_rules_json"]))
    a, b = load_year(history, year_from), load_year(history, year_to)
    matches, ambiguous = _match(a, b, distance_m=rules.match_distance_m)
    b_to_a = {j: (i, how) for i, (j, how) in matches.items()}

    # older years for consecutive D and trends: chain matches back from year_to through contiguous stored years
    stored = [r["year"] for r in list_years(history)]
    chain_years = [y for y in range(year_to, 1989, -1) if y in stored]
    contiguous = []
    for y in chain_years:
        if contiguous and contiguous[-1] - y != 1:
            break
        contiguous.append(y)
    depth = max(rules.consecutive_d_trigger_years, rules.trend_years, 1)
    back_years = contiguous[: max(depth, 64)]
    frames = {year_to: b, year_from: a}
    # back_map[y] : row in year_to -> row in year y
    back_map: dict[int, dict[int, int]] = {year_to: {int(r): int(r) for r in b["row"]}}
    prev_year, prev = year_to, b
    for y in back_years[1:]:
        cur = frames.get(y)
        if cur is None:
            cur = load_year(history, y)
            frames[y] = cur
        if y == year_from and prev_year == year_to:
            m = {j: i for i, (j, _how) in matches.items()}
        else:
            mm, _ = _match(cur, prev, distance_m=rules.match_distance_m)
            m = {j: i for i, (j, _how) in mm.items()}
        back_map[y] = {r: m[pr] for r, pr in back_map[prev_year].items() if pr in m}
        prev_year, prev = y, cur

    def consecutive_d(row_to: int) -> int:
        n = 0
        for y in back_years:
            r = back_map.get(y, {}).get(row_to)
            if r is None:
                break
            if frames[y]["class"].iloc[r] != "D":
                break
            n += 1
        return n

    def trend(row_to: int) -> float | None:
        xs, ys = [], []
        for y in back_years[: rules.trend_years]:
            r = back_map.get(y, {}).get(row_to)
            if r is None:
                break
            v = _num(frames[y]["total_score"].iloc[r])
            if v is None:
                break
            xs.append(y)
            ys.append(v)
        if len(xs) < rules.trend_years:
            return None
        return float(np.polyfit(np.array(xs, dtype=float), np.array(ys, dtype=float), 1)[0])

    records: list[dict[str, Any]] = []
    for _, rb in b.iterrows():
        j = int(rb["row"])
        i, how = b_to_a.get(j, (None, "-"))
        ra = a.iloc[i] if i is not None else None
        c_from = _txt(ra["class"]) if ra is not None else None
        c_to = _txt(rb["class"])
        note = ""
        if c_from in CLASS_ORDER and c_to in CLASS_ORDER:
            k = _better(c_from, c_to)
            change = "升档" if k > 0 else ("降档" if k < 0 else "持平")
        elif c_to in CLASS_ORDER:
            change = "新增"
            if ra is not None:
                note = f"{year_from} 年在表但未分类 ({ra['status']}: {ra['reason'] or ''})".strip()
        elif c_from in CLASS_ORDER:
            change = "退出"
            note = f"{year_to} 年在表但未分类 ({rb['status']}: {rb['reason'] or ''})".strip()
        elif ra is not None:
            change = "持平"
            note = f"两年均未分类 ({ra['status']} → {rb['status']})"
        else:
            change = "新增"
            note = f"{year_to} 年新增但未分类 ({rb['status']}: {rb['reason'] or ''})".strip()
        nd = consecutive_d(j)
        records.append({
            "credit_code": rb["credit_code"] or (ra["credit_code"] if ra is not None else None),
            "name": rb["name"],
            "part_id": rb["part_id"] or (ra["part_id"] if ra is not None else None),
            "class_from": c_from, "class_to": c_to, "change": change,
            "score_from": _num(ra["total_score"]) if ra is not None else None, "score_to": _num(rb["total_score"]),
            "tax_per_mu_from": _num(ra["tax_per_mu"]) if ra is not None else None, "tax_per_mu_to": _num(rb["tax_per_mu"]),
            "consecutive_d_years": nd, "match": how,
            "industry_code": rb["industry_code"],
            "d_trigger": nd >= rules.consecutive_d_trigger_years,
            "score_trend": trend(j),
            "note": note,
        })
    matched_a = set(matches)
    for _, ra in a.iterrows():
        i = int(ra["row"])
        if i in matched_a:
            continue
        c_from = _txt(ra["class"])
        records.append({
            "credit_code": ra["credit_code"], "name": ra["name"], "part_id": ra["part_id"],
            "class_from": c_from, "class_to": None, "change": "退出",
            "score_from": _num(ra["total_score"]), "score_to": None,
            "tax_per_mu_from": _num(ra["tax_per_mu"]), "tax_per_mu_to": None,
            "consecutive_d_years": 0, "match": "-", "industry_code": ra["industry_code"],
            "d_trigger": False, "score_trend": None,
            "note": f"{year_to} 年不在表中" + ("" if c_from else f" ({year_from}: {ra['status']})"),
        })
    table = pd.DataFrame.from_records(records, columns=[*TRANSITION_COLUMNS, "industry_code", "d_trigger", "score_trend", "note"])
    table["consecutive_d_years"] = table["consecutive_d_years"].astype("int64")
    both = table[table["class_from"].isin(CLASS_ORDER) & table["class_to"].isin(CLASS_ORDER)]
    matrix = pd.crosstab(pd.Categorical(both["class_from"], categories=CLASS_ORDER),
                         pd.Categorical(both["class_to"], categories=CLASS_ORDER), dropna=False)
    matrix.index.name = f"class_{year_from}"
    matrix.columns.name = f"class_{year_to}"
    matrix = matrix.reindex(index=list(CLASS_ORDER), columns=list(CLASS_ORDER), fill_value=0).astype("int64")

    def counts(df: "pd.DataFrame") -> dict[str, int]:
        vc = df["change"].value_counts()
        return {c: int(vc.get(c, 0)) for c in CHANGES}

    by_part = [{"part_id": k if k is not None else "not located", **counts(g), "d_trigger": int(g["d_trigger"].sum())}
               for k, g in table.groupby(table["part_id"].fillna("not located"), sort=True)]
    ind2 = table["industry_code"].fillna("").astype(str).str[:2].replace("", "unknown")
    by_industry = [{"industry": k, **counts(g), "d_trigger": int(g["d_trigger"].sum())} for k, g in table.groupby(ind2, sort=True)]
    match_counts = {k: int(v) for k, v in table["match"].value_counts().items()}
    fallback = int(sum(v for k, v in match_counts.items() if k in ("name_location", "name_only")))
    if fallback:
        notes.append(f"{fallback} firm(s) matched by name (no common 统一社会信用代码): see the match column")
    if ambiguous:
        notes.append(f"names left unmatched because location could not tell the firms apart: {', '.join(ambiguous)}")
    quality = {str(year_from): meta_a["data_quality"], str(year_to): meta_b["data_quality"]}
    if "synthetic" in " ".join(str(v) for v in quality.values()):
        notes.append("synthetic data: the transitions illustrate the method, they describe no real firm")
    summary = {
        "years": [year_from, year_to],
        "methods": {str(year_from): {"id": meta_a["method_id"], "hash": meta_a["method_hash"]},
                    str(year_to): {"id": meta_b["method_id"], "hash": meta_b["method_hash"]}},
        "method_changed": method_changed,
        "rules": rules.to_dict(),
        "boundary_versions": {str(year_from): meta_a["boundary_version"], str(year_to): meta_b["boundary_version"]},
        "quality": {"data": quality, "boundaries": {str(year_from): meta_a["boundaries_quality"], str(year_to): meta_b["boundaries_quality"]}},
        "counts": counts(table),
        "firms": {"from": len(a), "to": len(b), "rows": len(table)},
        "d_trigger": int(table["d_trigger"].sum()),
        "match": match_counts,
        "ambiguous_names": ambiguous,
        "by_part": by_part,
        "by_industry": by_industry,
        "matrix": {r: {c: int(matrix.loc[r, c]) for c in CLASS_ORDER} for r in CLASS_ORDER},
        "notes": notes,
    }
    return Comparison(table=table, matrix=matrix, summary=summary)


def write_comparison(comparison: Comparison, out_dir: str | Path, *, csv_safe: bool = False) -> list[Path]:
    """Write ``transitions.csv``, ``matrix.csv``, ``by_part.csv``, ``by_industry.csv`` and ``summary.json``.

    CSVs are UTF-8 with BOM (Excel shows the Chinese); with ``csv_safe`` a cell starting with ``= + - @``
    gets a leading ``'`` so Excel does not read it as a formula.
    """
    import pandas as pd

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError(f"{out}: exists and is not a folder; give a folder for --out")
    out.mkdir(parents=True, exist_ok=True)

    def safe(df: "pd.DataFrame") -> "pd.DataFrame":
        if not csv_safe:
            return df
        from xclz_geo.io import csv_safe_text

        df = df.copy()
        for c in df.columns:  # object or pandas' str dtype: both hold text
            if pd.api.types.is_object_dtype(df[c].dtype) or pd.api.types.is_string_dtype(df[c].dtype):
                df[c] = df[c].map(lambda v: csv_safe_text(v) if isinstance(v, str) else v)
        return df

    paths = []
    for name, df, index in (("transitions.csv", comparison.table, False), ("matrix.csv", comparison.matrix, True),
                            ("by_part.csv", pd.DataFrame(comparison.summary["by_part"]), False),
                            ("by_industry.csv", pd.DataFrame(comparison.summary["by_industry"]), False)):
        p = out / name
        tmp = out / f".{name}.{os.getpid()}.tmp"
        safe(df).to_csv(tmp, index=index, encoding="utf-8-sig")
        tmp.replace(p)
        paths.append(p)
    p = out / "summary.json"
    tmp = out / f".summary.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(comparison.summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(p)
    paths.append(p)
    return paths
