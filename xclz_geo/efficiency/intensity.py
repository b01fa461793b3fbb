"""Development-zone land-use intensity (开发区土地集约利用评价, TD/T 1029) and under-used land.

Inputs
------
A **parcel layer** (GeoDataFrame, any metric or geographic CRS) with status attributes; Chinese or
English headers are accepted (:data:`PARCEL_FIELDS`):

==================  ==========================  ==============================================
key                 Chinese header              meaning
==================  ==========================  ==============================================
``parcel_id``       地块编号                     id (joins firms' 地块编号)
``ledger_class``    统计类别                     A1 A2 A31 A32 A4 A51 A52 A6 (已建成城镇建设用地),
                                                B11 B12 B21 B22 (其他土地), C1 C2 C3 (不可建设)
``supplied``        是否已供应                   已供应国有建设用地 (D)
``idle``            是否闲置                     闲置土地 (G)
``floor_area_m2``   总建筑面积(平方米)            floor area (from buildings when absent)
``footprint_m2``    建筑基底面积(平方米)          building footprint (from buildings when absent)
``coverage_m2``     建筑系数用地面积(平方米)       建筑物+构筑物基底+露天堆场+露天操作场地 (default: footprint)
``investment_wan``  固定资产投资(万元)            cumulative fixed-asset investment of the firm(s) on it
``tax_wan``         税收(万元)                   taxes paid by the firm(s) on it
``industry_code``   行业代码                     GB/T 4754-2017 (for the 容积率 minimum)
==================  ==========================  ==============================================

A **building layer** (optional): footprints with ``floors`` (层数) or ``floor_area_m2``; each
building is given to the parcel holding its representative point, and fills the parcel's floor
area and footprint where the parcel has none.

Areas are measured in the CGCS2000 Gauss-Krüger zone of the data. With a zone, parcels are cut
by the part polygons: a parcel straddling a boundary counts only its inside piece, and its floor
area, footprint, investment and tax are apportioned by the share of its area inside.

Indicators (formulas and national averages in ``data/methods/tdt1029.toml``)
-----------------------------------------------------------------------------
A = Σ A*, A2 = 工矿仓储, B = Σ B*, D = supplied, G = idle.

* 土地开发率 = (A + B21)/(A + B); 土地供应率 = D/(A + B21); 土地建成率 = A/D
* 工业用地率 = A2/A; 综合容积率 = 建筑面积(A)/A; 建筑密度 = 基底面积(A)/A
* 工业用地综合容积率 = 建筑面积(A2)/A2; 工业用地建筑系数 = 建筑系数用地(A2)/A2
* 工业用地固定资产投入强度 = 投资(A2)/A2; 工业用地地均税收 = 税收(A2)/A2 (万元/公顷)
* 综合地均税收 = 税收(all)/A (万元/公顷); 土地闲置率 = G/D

The formulas follow working implementations and the Anhui land-survey institute's training slides;
the official TD/T 1029 text was not read, so every row carries ``formula_confirmed = False``.

Under-used land (:func:`underused`)
-----------------------------------
Parcels and firms are flagged by rules a planner sets (:class:`UnderusedRules`): 亩均税收 below a
share of the zone median; 容积率 below the 《工业项目建设用地控制指标》 minimum of the industry;
建筑系数 below the minimum; 闲置 status. For each flagged unit, ``freeable_mu`` estimates the land
that the current use would need at the threshold intensity: ``land × (1 − value / threshold)`` for
each failed rule (the largest one counts), and the whole land for an idle parcel.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo import units
from xclz_geo.errors import InputDataError, MethodProfileError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.efficiency.evaluate import EvaluationResult
    from xclz_geo.boundaries.zone import Zone

BUILT_CLASSES = ("A1", "A2", "A31", "A32", "A4", "A51", "A52", "A6")
OTHER_CLASSES = ("B11", "B12", "B21", "B22")
UNBUILDABLE_CLASSES = ("C1", "C2", "C3")
LEDGER_CLASSES = BUILT_CLASSES + OTHER_CLASSES + UNBUILDABLE_CLASSES

#: parcel attribute key → (Chinese header, aliases, kind)
PARCEL_FIELDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "parcel_id": ("地块编号", ("宗地号", "宗地编号", "地块号", "不动产单元号", "id"), "text"),
    "ledger_class": ("统计类别", ("用地状况", "土地利用状况类别", "tdtj_lb", "ledger"), "text"),
    "supplied": ("是否已供应", ("已供应", "已供应国有建设用地", "supplied"), "bool"),
    "idle": ("是否闲置", ("闲置", "闲置土地", "idle"), "bool"),
    "floor_area_m2": ("总建筑面积(平方米)", ("总建筑面积", "建筑面积", "jzmj", "floor_area"), "number"),
    "footprint_m2": ("建筑基底面积(平方米)", ("建筑基底面积", "基底面积", "jzjdmj", "footprint"), "number"),
    "coverage_m2": ("建筑系数用地面积(平方米)", ("建筑系数用地面积", "建构筑物基底及堆场面积", "jdzmj"), "number"),
    "investment_wan": ("固定资产投资(万元)", ("固定资产投资", "累计固定资产投资(万元)", "固定资产投资总额", "gdzctzze", "investment"), "number"),
    "tax_wan": ("税收(万元)", ("税收", "税收总额", "实缴税金(万元)", "实缴税金", "tax"), "number"),
    "industry_code": ("行业代码", ("国民经济行业代码", "hydm"), "text"),
    "floors": ("层数", ("楼层数", "floors"), "number"),
    "supply_status": ("供地状态", ("供应状态", "土地供应状态", "supply_status"), "text"),
    "landuse_code": ("地类编码", ("dlbm", "地类代码", "用地代码", "ghfldm", "ydyhfldm", "分类代码", "landuse_code"), "text"),
}


#: land-use report group (xclz_geo.landuse.overlay) → TD/T 1029 ledger class, used when a parcel has a land-use
#: code but no 统计类别. Built land is taken as 城镇 (A); rural built land (B11/B12) and land ready for
#: supply (B21) cannot be told from a land-use code: set 统计类别 where it matters.
GROUP_TO_LEDGER = {
    "industrial": "A2", "logistics": "A2", "residential": "A1", "commercial": "A4", "public": "A52",
    "transport": "A32", "green": "A51", "built_up": "A6", "water": "C1", "farmland": "B22", "unused_other": "B22",
}


# ------------------------------------------------------------------ reference data


@lru_cache(maxsize=4)
def _tdt(path: str | None = None) -> dict[str, Any]:
    from xclz_geo.datasets import data_path

    p = Path(path) if path else data_path("methods", "tdt1029.toml")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MethodProfileError(f"{p}: not valid TOML: {exc}") from None


def indicator_definitions() -> list[dict[str, Any]]:
    """The TD/T 1029 indicator rows of ``data/methods/tdt1029.toml`` (formula, unit, national value, flags)."""
    return [dict(d) for d in _tdt()["indicators"]]


from xclz_geo.efficiency.industry import control_table, industry_names  # noqa: E402  (public here too)


# ------------------------------------------------------------------ parcels


def _to_bool(v: Any) -> bool:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return False
    if isinstance(v, (bool, int, float)):
        return bool(v)
    return str(v).strip().lower() in ("是", "y", "yes", "true", "1", "√", "已供应", "闲置")


def _parcel_index() -> dict[str, str]:
    """Normalised header → :data:`PARCEL_FIELDS` key: keys, Chinese headers, aliases and the DBF-safe
    short names of :mod:`xclz_geo.fieldnames`."""
    from xclz_geo.efficiency.evaluate import _norm_header
    from xclz_geo.fieldnames import short_aliases

    idx: dict[str, str] = {}
    for key, (zh, aliases, _) in PARCEL_FIELDS.items():
        for name in (key, zh, *aliases, *short_aliases("parcels", key)):
            idx.setdefault(_norm_header(name), key)
    return idx


def map_parcel_columns(columns: "list[Any]", *, field_map: "dict[str, str] | None" = None, strict: bool = True,
                       source: str = "parcels") -> tuple[dict[str, str], dict[str, str]]:
    """(column → field key, fuzzy matches column → full name) for a parcel layer's columns.

    ``field_map`` (``--field NAME=COLUMN``) is applied first; then exact names and aliases; then a
    column cut to 10 bytes by a .dbf (``建筑基底面`` → ``建筑基底面积``, see
    :func:`xclz_geo.fieldnames.truncated_match`). With ``strict``, a NAME that is no parcel field or
    a COLUMN the layer lacks is an error; otherwise NAMEs of other inputs are skipped and a missing
    COLUMN is warned about.
    """
    import warnings

    from xclz_geo.efficiency.evaluate import _norm_header
    from xclz_geo.errors import DataQualityWarning
    from xclz_geo.fieldnames import resolve, truncated_match

    idx = _parcel_index()
    cols = [c for c in columns if isinstance(c, str)]
    rename: dict[str, str] = {}
    fuzzy: dict[str, str] = {}
    for name, col in (field_map or {}).items():
        key = resolve(name, "parcels", idx)
        if key is None:
            if strict:
                raise InputDataError(f"--field {name}={col}: {name!r} is not a parcel field; known: "
                                     f"{', '.join(zh for zh, _, _ in PARCEL_FIELDS.values())}")
            continue
        hit = col if col in cols else next((c for c in cols if _norm_header(c) == _norm_header(col)), None)
        if hit is None:
            msg = f"{source}: --field {name}={col}: no column {col!r}; columns: {', '.join(cols) or '(none)'}"
            if strict:
                raise InputDataError(msg)
            warnings.warn(msg, DataQualityWarning, stacklevel=3)
            continue
        rename = {c: k for c, k in rename.items() if k != key}
        rename[hit] = key
    for c in cols:
        if c in rename:
            continue
        k = idx.get(_norm_header(c))
        if k is None:
            m = truncated_match(c, idx)
            if m is not None:
                k = m[0]
                if k not in rename.values() and k not in columns:
                    fuzzy[c] = m[1]
        if k and k not in rename.values() and (c == k or k not in columns):
            rename[c] = k
    fuzzy = {c: full for c, full in fuzzy.items() if c in rename}
    return rename, fuzzy


def normalize_parcels(parcels: "gpd.GeoDataFrame", *, source: str = "parcels",
                      field_map: "dict[str, str] | None" = None) -> "gpd.GeoDataFrame":
    """Map Chinese/English headers to :data:`PARCEL_FIELDS` keys and parse values.

    Unknown columns are kept unchanged. ``ledger_class`` values are upper-cased and checked.
    DBF-safe short names (``JZJDMJ``, ``GDZCTZ`` …) and names cut to 10 bytes by a .dbf are
    recognised (the latter listed in ``attrs["fuzzy"]`` and warned about); ``field_map``
    (``--field NAME=COLUMN``; default: the mapping installed by
    :func:`xclz_geo.fieldnames.use_field_map`) maps any other column.

    Raises
    ------
    InputDataError
        No CRS; an unknown ``ledger_class`` value (the row is named); a number that does not parse.
    """
    import warnings

    import geopandas as gpd
    import pandas as pd

    from xclz_geo.errors import DataQualityWarning
    from xclz_geo.fieldnames import active_field_map

    if parcels.crs is None:
        raise InputDataError(f"{source}: the parcel layer has no CRS; set it (e.g. EPSG:4490 or EPSG:4549)")
    strict = field_map is not None
    rename, fuzzy = map_parcel_columns([c for c in parcels.columns if c != parcels.geometry.name],
                                       field_map=field_map if strict else active_field_map(), strict=strict, source=source)
    if fuzzy:
        warnings.warn(
            f"{source}: column(s) taken for a longer name they start (cut to 10 bytes by a .dbf?): "
            + ", ".join(f"{c} → {full}" for c, full in fuzzy.items()) + "; if one is wrong, name the column with --field NAME=COLUMN",
            DataQualityWarning,
            stacklevel=2,
        )
    # a column taken by --field or a fuzzy match may clash with an unused column already named like the key
    clash = [k for c, k in rename.items() if k in parcels.columns and c != k]
    base = parcels.rename(columns={k: f"{k}_input" for k in clash}) if clash else parcels
    out = base.rename(columns=rename).copy()
    for key, (zh, _, kind) in PARCEL_FIELDS.items():
        if key not in out.columns:
            out[key] = None if kind != "number" else float("nan")
            continue
        if kind == "number":
            num = pd.to_numeric(out[key], errors="coerce")
            bad = out[key].notna() & num.isna() & out[key].astype(str).str.strip().ne("")
            if bad.any():
                i = out.index[bad][0]
                raise InputDataError(f"{source}: {_row_label(out, i)}: {zh} {out.at[i, key]!r} is not a number")
            out[key] = num.astype(float)
        elif kind == "bool":
            out[key] = out[key].map(_to_bool)
        else:
            out[key] = out[key].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else (str(v).strip() or None))
    out["ledger_class"] = out["ledger_class"].map(lambda v: v.upper() if isinstance(v, str) and v else None)
    bad = out["ledger_class"].notna() & ~out["ledger_class"].isin(LEDGER_CLASSES)
    if bad.any():
        i = out.index[bad][0]
        raise InputDataError(
            f"{source}: {_row_label(out, i)}: 统计类别 {out.at[i, 'ledger_class']!r} is not a TD/T 1029 ledger class; use one of {', '.join(LEDGER_CLASSES)}"
        )
    if out["parcel_id"].isna().all():
        out["parcel_id"] = [f"P{i + 1}" for i in range(len(out))]
    present = {k for k in PARCEL_FIELDS if k in rename.values() or k in parcels.columns}
    out["ledger_derived"] = False
    need = out["ledger_class"].isna() & out["landuse_code"].notna()
    if need.any():
        from xclz_geo.landuse.overlay import classify_codes

        cl = classify_codes(list(out.loc[need, "landuse_code"]))
        derived = cl["group"].map(GROUP_TO_LEDGER)
        out.loc[need, "ledger_class"] = derived.to_numpy(dtype=object)
        out.loc[need, "ledger_derived"] = derived.notna().to_numpy()
        out["ledger_class"] = out["ledger_class"].map(lambda v: v if isinstance(v, str) else None)
        present.add("ledger_class")
    if "supply_status" in present:
        _apply_supply_status(out, source)
        present |= {"supplied", "idle"}
    res = gpd.GeoDataFrame(out, geometry=parcels.geometry.name, crs=parcels.crs)
    res.attrs["present"] = sorted(present)
    res.attrs["fuzzy"] = dict(fuzzy)
    res.attrs["columns"] = {k: c for c, k in rename.items()}
    return res


def _row_label(df: "pd.DataFrame", i: Any) -> str:
    """``feature 3 (地块编号 P3)``: the row counted from 1 as in a GIS attribute table, and its parcel id when it has one."""
    pos = df.index.get_loc(i) if i in df.index else i
    pid = df.at[i, "parcel_id"] if "parcel_id" in df.columns else None
    pid_txt = f" (地块编号 {pid})" if isinstance(pid, str) and pid else ""
    return f"feature {int(pos) + 1}{pid_txt}"


#: 供地状态 values → (supplied, idle, built)
SUPPLY_STATUS = {
    "已建成": (True, False, True), "已供应已建成": (True, False, True),
    "已供未建": (True, False, False), "已供应未建成": (True, False, False), "已供应": (True, False, None),
    "闲置": (True, True, False), "闲置土地": (True, True, False),
    "未供应": (False, False, False), "未供地": (False, False, False),
}


def _apply_supply_status(out: "pd.DataFrame", source: str) -> None:
    """Set ``supplied``/``idle`` from 供地状态; land not built (已供未建, 闲置, 未供应) whose 统计类别 was derived
    from a construction-land code counts as B21 (已达到供地条件的其他土地), not as built land A."""
    st = out["supply_status"]
    bad = st.notna() & ~st.isin(list(SUPPLY_STATUS))
    if bad.any():
        i = out.index[bad][0]
        raise InputDataError(f"{source}: {_row_label(out, i)}: 供地状态 {st[i]!r} is not one of {', '.join(SUPPLY_STATUS)}")
    known = st.notna()
    sup = st.map(lambda v: SUPPLY_STATUS[v][0] if v in SUPPLY_STATUS else False)
    idl = st.map(lambda v: SUPPLY_STATUS[v][1] if v in SUPPLY_STATUS else False)
    out["supplied"] = out["supplied"].astype(bool) | sup.astype(bool)
    out["idle"] = out["idle"].astype(bool) | idl.astype(bool)
    unbuilt = known & st.map(lambda v: SUPPLY_STATUS.get(v, (0, 0, None))[2] is False)
    move = unbuilt & out["ledger_derived"].astype(bool) & out["ledger_class"].isin(BUILT_CLASSES)
    out.loc[move, "ledger_class"] = "B21"


def attach_buildings(parcels: "gpd.GeoDataFrame", buildings: "gpd.GeoDataFrame", *,
                     double_high_storeys: bool = False) -> "gpd.GeoDataFrame":
    """Fill parcels' ``floor_area_m2``/``footprint_m2`` from a building layer where they are empty.

    Each building goes to the parcel that contains its representative point. Floor area is the
    building's ``floor_area_m2`` when given, else footprint × ``floors`` (1 when absent); with
    ``double_high_storeys``, buildings with ``storey_height_m`` > 8 count double (the control
    indicators' rule for 容积率).
    """
    import geopandas as gpd
    import numpy as np

    from xclz_geo.geo import crs as _crs

    gk = _crs.gk_crs_for(parcels)
    b = normalize_parcels(buildings, source="buildings", field_map={}) if len(buildings) else buildings
    b = b.to_crs(gk)
    p = parcels.to_crs(gk)
    foot = b.geometry.area.to_numpy()
    floors = b["floors"].fillna(1.0).to_numpy() if "floors" in b else np.ones(len(b))
    fa = b["floor_area_m2"].to_numpy(dtype=float) if "floor_area_m2" in b else np.full(len(b), np.nan)
    fa = np.where(np.isfinite(fa), fa, foot * floors)
    if double_high_storeys and "storey_height_m" in b.columns:
        fa = np.where(b["storey_height_m"].astype(float).fillna(0).to_numpy() > 8.0, fa * 2.0, fa)
    pts = gpd.GeoDataFrame({"_fa": fa, "_fp": foot}, geometry=b.geometry.representative_point(), crs=gk)
    j = gpd.sjoin(pts, p[[p.geometry.name]].reset_index(names="_pidx"), predicate="within", how="inner")
    sums = j.groupby("_pidx")[["_fa", "_fp"]].sum()
    out = parcels.copy()
    for col, src in (("floor_area_m2", "_fa"), ("footprint_m2", "_fp")):
        cur = out[col].astype(float)
        add = sums[src].reindex(out.index)
        out[col] = cur.where(cur.notna(), add)
    return out


def _pieces(zone: "Zone | None", parcels: "gpd.GeoDataFrame") -> "gpd.GeoDataFrame":
    """Parcels cut by parts (or whole, with part ``all``), in GK, with ``share`` of each parcel inside."""
    import geopandas as gpd

    from xclz_geo.geo import crs as _crs

    gk = zone.gk_crs if zone is not None else _crs.gk_crs_for(parcels)
    p = parcels.to_crs(gk)
    p["_area_full"] = p.geometry.area
    if zone is None:
        p["part_id"] = "all"
        p["block_id"] = "all"
        p["share"] = 1.0
        return p
    _crs.ensure_same_crs(p, zone.parts_gk, names=("parcels", "zone parts"))
    parts = zone.parts_gk[["part_id", "block_id", zone.parts_gk.geometry.name]]
    parts = parts[parts.geometry.notna() & ~parts.geometry.is_empty]
    cols = [c for c in p.columns if c not in ("part_id", "block_id")]
    inter = gpd.overlay(p[cols], parts, how="intersection", keep_geom_type=True)
    inter["share"] = (inter.geometry.area / inter["_area_full"]).clip(upper=1.0)
    return inter


def land_ledger(parcels: "gpd.GeoDataFrame", *, zone: "Zone | None" = None,
                buildings: "gpd.GeoDataFrame | None" = None) -> "pd.DataFrame":
    """Sums per part (or ``all``) in m² and 万元: A, A1, A2, B, B21, C, D, G, floor area and
    footprint on A and A2, coverage on A2, investment and tax on A2, tax on all land, parcel count."""
    return _land_ledger(parcels, zone=zone, buildings=buildings)[0]


def _land_ledger(parcels: "gpd.GeoDataFrame", *, zone: "Zone | None" = None,
                 buildings: "gpd.GeoDataFrame | None" = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """(ledger, pieces): the pieces (parcels cut by parts, GK areas ``_a``) feed the plausibility checks."""
    import pandas as pd

    par = normalize_parcels(parcels)
    present = set(par.attrs.get("present", []))
    if buildings is not None:
        par = attach_buildings(par, buildings)
        present |= {"floor_area_m2", "footprint_m2"}
    n_derived = int(par["ledger_derived"].sum())
    pc = _pieces(zone, par)
    pc["_a"] = pc.geometry.area
    lc = pc["ledger_class"]
    built = lc.isin(BUILT_CLASSES)
    ind = lc.eq("A2")
    sh = pc["share"]
    cov = pc["coverage_m2"].where(pc["coverage_m2"].notna(), pc["footprint_m2"])
    cols = {
        "A_m2": pc["_a"].where(built, 0.0),
        "A1_m2": pc["_a"].where(lc.eq("A1"), 0.0),
        "A2_m2": pc["_a"].where(ind, 0.0),
        "B_m2": pc["_a"].where(lc.isin(OTHER_CLASSES), 0.0),
        "B21_m2": pc["_a"].where(lc.eq("B21"), 0.0),
        "C_m2": pc["_a"].where(lc.isin(UNBUILDABLE_CLASSES), 0.0),
        "unclassified_m2": pc["_a"].where(lc.isna(), 0.0),
        "D_m2": pc["_a"].where(pc["supplied"].astype(bool), 0.0),
        "G_m2": pc["_a"].where(pc["idle"].astype(bool), 0.0),
        "floor_A_m2": (pc["floor_area_m2"].fillna(0.0) * sh).where(built, 0.0),
        "footprint_A_m2": (pc["footprint_m2"].fillna(0.0) * sh).where(built, 0.0),
        "floor_A2_m2": (pc["floor_area_m2"].fillna(0.0) * sh).where(ind, 0.0),
        "coverage_A2_m2": (cov.fillna(0.0) * sh).where(ind, 0.0),
        "investment_A2_wan": (pc["investment_wan"].fillna(0.0) * sh).where(ind, 0.0),
        "tax_A2_wan": (pc["tax_wan"].fillna(0.0) * sh).where(ind, 0.0),
        "tax_all_wan": pc["tax_wan"].fillna(0.0) * sh,
        # built land where buildings are expected (not roads, green space) but no floor area is given
        "missing_floor_area_A_m2": pc["_a"].where(lc.isin(("A1", "A2", "A4", "A52", "A6")) & pc["floor_area_m2"].isna(), 0.0),
    }
    df = pd.DataFrame(cols)
    df["part_id"] = pc["part_id"].to_numpy()
    df["block_id"] = pc["block_id"].to_numpy()
    df["parcels"] = 1
    led = df.groupby(["block_id", "part_id"], sort=False).sum(numeric_only=True).reset_index()
    if zone is not None:
        order = {p: i for i, p in enumerate(zone.part_ids)}
        missing = [p for p in zone.part_ids if p not in set(led["part_id"])]
        if missing:
            extra = zone.parts[zone.parts["part_id"].isin(missing)][["block_id", "part_id"]]
            led = pd.concat([led, pd.DataFrame(extra)], ignore_index=True).fillna(0)
        led = led.sort_values("part_id", key=lambda s: s.map(order)).reset_index(drop=True)
    led.attrs["present"] = sorted(present)
    led.attrs["ledger_derived"] = n_derived
    led.attrs["fuzzy"] = dict(par.attrs.get("fuzzy", {}))
    return led, pd.DataFrame(pc.drop(columns=pc.geometry.name))


def _ratio(num: float, den: float, scale: float = 1.0) -> float:
    return num / den * scale if den > 0 else float("nan")


#: indicator → parcel attributes it needs (besides 统计类别); absent from the layer → the indicator is NaN
NEEDS: dict[str, tuple[str, ...]] = {
    "supply_rate": ("supplied",), "built_rate": ("supplied",), "idle_rate": ("supplied", "idle"),
    "far": ("floor_area_m2",), "building_density": ("footprint_m2",), "industrial_far": ("floor_area_m2",),
    "industrial_coverage": ("coverage_m2|footprint_m2",), "industrial_investment_intensity": ("investment_wan",),
    "industrial_tax_intensity": ("tax_wan",), "tax_intensity": ("tax_wan",),
}


def indicators_from_ledger(row: "pd.Series | dict[str, float]", *, present: "set[str] | None" = None) -> dict[str, float]:
    """The twelve indicators from one ledger row (m² and 万元); % values in percent, money in 万元/公顷.

    ``present``: the parcel attributes the layer has; an indicator whose attribute is absent is NaN
    (an absent column is unknown, not zero). ``None``: all present.
    """
    r = row
    A, A2, B, B21, D, G = (float(r[k]) for k in ("A_m2", "A2_m2", "B_m2", "B21_m2", "D_m2", "G_m2"))
    A_ha, A2_ha = A / units.M2_PER_HA, A2 / units.M2_PER_HA
    vals = _indicator_values(r, A, A2, B, B21, D, G, A_ha, A2_ha)
    if present is not None:
        for ind, needs in NEEDS.items():
            if not all(any(alt in present for alt in n.split("|")) for n in needs):
                vals[ind] = float("nan")
    return vals


def _indicator_values(r: Any, A: float, A2: float, B: float, B21: float, D: float, G: float, A_ha: float, A2_ha: float) -> dict[str, float]:
    return {
        "development_rate": _ratio(A + B21, A + B, 100.0),
        "supply_rate": _ratio(D, A + B21, 100.0),
        "built_rate": _ratio(A, D, 100.0),
        "industrial_land_rate": _ratio(A2, A, 100.0),
        "far": _ratio(float(r["floor_A_m2"]), A),
        "building_density": _ratio(float(r["footprint_A_m2"]), A, 100.0),
        "industrial_far": _ratio(float(r["floor_A2_m2"]), A2),
        "industrial_coverage": _ratio(float(r["coverage_A2_m2"]), A2, 100.0),
        "industrial_investment_intensity": _ratio(float(r["investment_A2_wan"]), A2_ha),
        "industrial_tax_intensity": _ratio(float(r["tax_A2_wan"]), A2_ha),
        "tax_intensity": _ratio(float(r["tax_all_wan"]), A_ha),
        "idle_rate": _ratio(G, D, 100.0),
    }


@dataclass
class IntensityResult:
    """What :func:`intensity` returns.

    The common result shape: :attr:`table`, :attr:`summary`, :meth:`to_dict`; not spatial (no
    ``layer``: the rows are per part, block and zone).

    Attributes
    ----------
    ledger
        Land sums per part (m², 万元), one row per part (or ``all``).
    table
        Long table: ``level`` (part | block | zone), ``unit_id``, ``indicator``, ``name_zh``, ``value``,
        ``unit``, ``value_per_mu`` (money indicators in 万元/亩), ``national``, ``national_year``,
        ``formula``, ``formula_confirmed``, ``national_confirmed``.
    summary
        JSON-able: definitions, per-unit indicator dicts, notes, ``quality`` (the parcels' label),
        ``provenance`` (the TD/T 1029 source, the boundaries used, notes).
    """

    ledger: "pd.DataFrame"
    table: "pd.DataFrame"
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The summary (JSON-serialisable)."""
        from xclz_geo._results import jsonable

        return jsonable(self.summary)

    def wide(self, level: str = "part") -> "pd.DataFrame":
        """One row per unit of ``level`` and one column per indicator (by Chinese name)."""
        t = self.table[self.table["level"] == level]
        return t.pivot_table(index="unit_id", columns="name_zh", values="value", sort=False, dropna=False)


def intensity(parcels: "gpd.GeoDataFrame", *, zone: "Zone | None" = None,
              buildings: "gpd.GeoDataFrame | None" = None, quality: str | None = None) -> IntensityResult:
    """TD/T 1029 indicators per part, per block and for the zone, beside the national averages.

    Parameters
    ----------
    parcels
        Parcel layer with status attributes (see module doc).
    zone
        Parts to cut the parcels by; without one, the whole layer is one unit ``all``.
    buildings
        Optional building layer filling floor area and footprint.
    quality
        Quality label of the parcel data (``synthetic``, ``surveyed`` …), carried into the summary;
        default: the layer's ``quality`` column when it has one, else ``unlabelled``.
    """
    import pandas as pd

    led, pieces = _land_ledger(parcels, zone=zone, buildings=buildings)
    defs = indicator_definitions()
    num_cols = [c for c in led.columns if c not in ("block_id", "part_id")]
    units_rows: list[tuple[str, str, pd.Series]] = []
    for _, r in led.iterrows():
        units_rows.append(("part", str(r["part_id"]), r))
    if zone is not None:
        for bid, g in led.groupby("block_id", sort=False):
            units_rows.append(("block", str(bid), g[num_cols].sum()))
        units_rows.append(("zone", "zone", led[num_cols].sum()))
    rows = []
    per_unit: dict[str, dict[str, Any]] = {}
    present = set(led.attrs.get("present", []))
    for level, uid, r in units_rows:
        vals = indicators_from_ledger(r, present=present)
        per_unit[f"{level}:{uid}"] = {k: (None if math.isnan(v) else v) for k, v in vals.items()}
        for dfn in defs:
            v = vals[dfn["id"]]
            rows.append({
                "level": level, "unit_id": uid, "indicator": dfn["id"], "name_zh": dfn["name_zh"], "value": v,
                "unit": dfn["unit"], "value_per_mu": (v / units.MU_PER_HA if dfn["unit"] == "万元/公顷" else None),
                "national": dfn.get("national"), "national_year": dfn.get("national_year"),
                "formula": dfn["formula_zh"], "formula_confirmed": bool(dfn.get("formula_confirmed", False)),
                "national_confirmed": bool(dfn.get("national_confirmed", False)) if "national" in dfn else None,
            })
    table = pd.DataFrame(rows)
    if quality is None:
        q = sorted(set(parcels["quality"].dropna().astype(str))) if "quality" in parcels.columns else []
        quality = q[0] if len(q) == 1 else (",".join(q) if q else "unlabelled")
    notes = [
        "Formulas follow working implementations and the 安徽省土地勘测规划院 slides; the official TD/T 1029 text was not read (formula_confirmed = false).",
        "National averages are the 2020年度 monitoring values (建筑密度: 2024年度); they compare all zones and are not targets.",
    ]
    missing = missing_parcel_fields(present)
    for m in missing:
        notes.append(m["message"])
    if led.attrs.get("fuzzy"):
        notes.append("Columns taken for the longer name they start (a .dbf cuts names to 10 bytes): "
                     + ", ".join(f"{c} → {full}" for c, full in led.attrs["fuzzy"].items()) + ".")
    checks = plausibility_checks(table, pieces)
    for c in checks:
        notes.append("check: " + c["message"])
    if led.attrs.get("ledger_derived"):
        notes.append(f"统计类别 derived from land-use codes for {led.attrs['ledger_derived']} parcels (built land taken as 城镇 A; "
                     "B11/B12/B21 cannot be told from a code): give 统计类别 where it matters.")
    miss = float(led["missing_floor_area_A_m2"].sum())
    if miss > 0:
        notes.append(f"{units.m2_to_mu(miss):,.1f} 亩 of built residential, industrial, commercial or public land has no floor area "
                     "(neither attribute nor building): 容积率 and 建筑密度 are understated.")
    if float(led["unclassified_m2"].sum()) > 0:
        notes.append(f"{units.m2_to_mu(float(led['unclassified_m2'].sum())):,.1f} 亩 of parcels have no 统计类别 and count in no indicator.")
    summary = {
        "definitions": defs,
        "units": per_unit,
        "ledger": _records(led),
        "quality": quality,
        "boundaries": None if zone is None else {"source": zone.boundaries_source, "quality": zone.worst_quality},
        "source": _tdt()["source"],
        "notes": notes,
        "missing_fields": missing,
        "checks": checks,
    }
    summary["provenance"] = {"method": "TD/T 1029 indicators", "source": summary["source"],
                             "boundaries": summary["boundaries"], "notes": notes}
    return IntensityResult(ledger=led, table=table, summary=summary)


def missing_parcel_fields(present: "set[str]") -> list[dict[str, Any]]:
    """One entry per parcel attribute the layer lacks: the indicators left empty and how to supply it
    (a column with the name or a short alias, or ``--field NAME=<your column>``)."""
    from xclz_geo.fieldnames import how_to_supply

    defs = {d["id"]: d["name_zh"] for d in indicator_definitions()}
    by_need: dict[str, list[str]] = {}
    for ind, needs in NEEDS.items():
        for n in needs:
            if not any(a in present for a in n.split("|")):
                by_need.setdefault(n, []).append(defs.get(ind, ind))
    out = []
    for n, inds in by_need.items():
        heads = [_strip_unit(PARCEL_FIELDS[a][0]) for a in n.split("|")]
        label = " or ".join(heads)
        out.append({"field": n, "header_zh": label, "indicators": inds, "hint": how_to_supply(heads[0]),
                    "message": f"{'、'.join(inds)} not computed (shown empty, not 0): the parcel layer has no {label}; "
                               f"{how_to_supply(heads[0])}"})
    return out


def _strip_unit(header: str) -> str:
    return header.split("(", 1)[0]


#: indicator → (rule, test) for the plausibility checks; shares and rates must lie in [0, 100 %]
_FAR_MAX = 10.0


def plausibility_checks(table: "pd.DataFrame", pieces: "pd.DataFrame", *, far_max: float = _FAR_MAX,
                        max_listed: int = 20) -> list[dict[str, Any]]:
    """Implausible indicator values and the parcels that cause them.

    A share or rate (unit %) outside [0, 100 %], a 容积率 above ``far_max`` (10), a negative value;
    plus parcels with a negative area attribute (建筑面积, 基底面积, 建筑系数用地, 投资). Each check
    names the unit (part, block, zone), the value, the rule, and up to ``max_listed`` parcels
    (``parcel_id``) that make it so, e.g. 土地供应率 above 100 % lists the parcels counted as
    supplied (D) that are neither built land (A) nor ready for supply (B21).
    """
    import numpy as np

    out: list[dict[str, Any]] = []
    pc = pieces
    area = pc["_a"].to_numpy(dtype=float) if len(pc) else np.array([])
    share = pc["share"].to_numpy(dtype=float) if len(pc) else np.array([])
    lc = pc["ledger_class"] if len(pc) else None

    def ids(mask: "np.ndarray", unit_mask: "np.ndarray") -> list[str]:
        m = mask & unit_mask
        return [str(x) for x in pc.loc[m, "parcel_id"].astype(str).drop_duplicates().head(max_listed)]

    def culprits(ind: str, unit_mask: "np.ndarray", high: bool) -> tuple[list[str], str]:
        if not len(pc):
            return [], ""
        sup = pc["supplied"].astype(bool).to_numpy()
        idle = pc["idle"].astype(bool).to_numpy()
        built = lc.isin(BUILT_CLASSES).to_numpy()
        b21 = lc.eq("B21").to_numpy()
        a2 = lc.eq("A2").to_numpy()
        floor = pc["floor_area_m2"].to_numpy(dtype=float) * share
        foot = pc["footprint_m2"].to_numpy(dtype=float) * share
        cov = pc["coverage_m2"].where(pc["coverage_m2"].notna(), pc["footprint_m2"]).to_numpy(dtype=float) * share
        with np.errstate(divide="ignore", invalid="ignore"):
            if ind == "supply_rate" and high:
                return ids(sup & ~built & ~b21, unit_mask), "supplied (D) but 统计类别 neither built land A nor B21: the status contradicts the class"
            if ind == "built_rate" and high:
                return ids(built & ~sup, unit_mask), "built land (A) not marked supplied: 供应 status missing or wrong"
            if ind == "idle_rate" and high:
                return ids(idle & ~sup, unit_mask), "idle (G) but not supplied (D)"
            if ind == "building_density" and high:
                return ids(built & (foot > area * (1 + 1e-9)), unit_mask), "建筑基底面积 larger than the parcel"
            if ind == "industrial_coverage" and high:
                return ids(a2 & (cov > area * (1 + 1e-9)), unit_mask), "建筑系数用地面积 larger than the parcel"
            if ind in ("far", "industrial_far") and high:
                sel = built if ind == "far" else a2
                return ids(sel & (floor / area > far_max), unit_mask), f"parcel 容积率 above {far_max:g}"
        neg_cols = {"far": "floor_area_m2", "industrial_far": "floor_area_m2", "building_density": "footprint_m2",
                    "industrial_coverage": "coverage_m2", "industrial_investment_intensity": "investment_wan",
                    "industrial_tax_intensity": "tax_wan", "tax_intensity": "tax_wan"}
        if not high and ind in neg_cols:
            return ids((pc[neg_cols[ind]].to_numpy(dtype=float) < 0), unit_mask), f"negative {neg_cols[ind]}"
        return [], ""

    for _, r in table.iterrows():
        v = r["value"]
        if v is None or not np.isfinite(v):
            continue
        ind, unit = r["indicator"], r["unit"]
        rule = None
        if unit == "%" and (v > 100.0 + 1e-9 or v < -1e-9):
            rule, high = "a share or rate must lie in [0, 100 %]", v > 100.0
        elif ind in ("far", "industrial_far") and v > far_max:
            rule, high = f"容积率 above {far_max:g} is implausible", True
        elif v < -1e-9:
            rule, high = "a negative value (net tax refunds, or a negative attribute)", False
        if rule is None:
            continue
        if not len(pc):
            umask = np.zeros(0, dtype=bool)
        elif r["level"] == "part":
            umask = (pc["part_id"].astype(str) == str(r["unit_id"])).to_numpy()
        elif r["level"] == "block":
            umask = (pc["block_id"].astype(str) == str(r["unit_id"])).to_numpy()
        else:
            umask = np.ones(len(pc), dtype=bool)
        bad, why = culprits(ind, umask, high)
        where = f"{r['level']} {r['unit_id']}" if r["level"] != "zone" else "the zone"
        msg = (f"{r['name_zh']} {v:.1f}{'%' if unit == '%' else ' ' + unit} in {where}: {rule}"
               + (f"; parcels {', '.join(bad[:10])}{' …' if len(bad) > 10 else ''}: {why}" if bad else "; no single parcel causes it: check the sums"))
        out.append({"level": r["level"], "unit_id": r["unit_id"], "indicator": ind, "name_zh": r["name_zh"], "value": float(v),
                    "unit": unit, "rule": rule, "parcels": bad, "cause": why, "message": msg})
    if len(pc):
        for col, label in (("floor_area_m2", "总建筑面积"), ("footprint_m2", "建筑基底面积"), ("coverage_m2", "建筑系数用地面积"),
                           ("investment_wan", "固定资产投资")):
            neg = (pc[col].to_numpy(dtype=float) < 0)
            if neg.any():
                bad = ids(neg, np.ones(len(pc), dtype=bool))
                out.append({"level": "parcel", "unit_id": None, "indicator": col, "name_zh": label, "value": None, "unit": "",
                            "rule": "an area or investment cannot be negative", "parcels": bad, "cause": f"negative {label}",
                            "message": f"{label} negative on parcel(s) {', '.join(bad[:10])}: an area or investment cannot be negative"})
    return out


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    import numpy as np

    recs = df.replace({np.nan: None}).to_dict(orient="records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in recs]


# ------------------------------------------------------------------ under-used land


@dataclass
class UnderusedRules:
    """Planner-settable rules for under-used land (defaults from ``data/methods/tdt1029.toml``).

    Attributes
    ----------
    tax_share_of_median
        Flag when 亩均税收 < this share of the zone median (of evaluated firms, or of parcels with tax);
        ``None`` switches the rule off.
    far_min
        Override of the 容积率 minimum for every industry (``None``: the control-indicator table by
        industry code; a parcel without a known industry is not checked).
    far_min_default
        容积率 minimum for industrial parcels whose industry is unknown (``None``: not checked).
    coverage_min_pct
        建筑系数 minimum in % (30 in the 2008 control indicators); ``None`` switches it off.
    idle
        Flag parcels with 闲置 status.
    industrial_only
        Apply the 容积率 / 建筑系数 rules only to 工矿仓储 (A2) parcels or parcels with an industry code.
    """

    tax_share_of_median: float | None = 0.5
    far_min: float | None = None
    far_min_default: float | None = None
    coverage_min_pct: float | None = 30.0
    idle: bool = True
    industrial_only: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def defaults(cls) -> "UnderusedRules":
        """The defaults of ``data/methods/tdt1029.toml`` ``[underused]``."""
        u = _tdt().get("underused", {})
        return cls(tax_share_of_median=u.get("tax_share_of_median", 0.5), coverage_min_pct=u.get("coverage_min_pct", 30.0))

    def to_dict(self) -> dict[str, Any]:
        u = _tdt().get("underused", {})
        return {
            "tax_share_of_median": self.tax_share_of_median,
            "far_min": self.far_min,
            "far_min_default": self.far_min_default,
            "far_source": u.get("far_source"),
            "coverage_min_pct": self.coverage_min_pct,
            "coverage_source": u.get("coverage_source"),
            "idle": self.idle,
            "industrial_only": self.industrial_only,
            "freeable": "land × (1 − value / threshold) for the failed rule with the largest gap; an idle parcel frees all its land",
        }


@dataclass
class UnderusedResult:
    """What :func:`underused` returns: ``table`` (every checked unit with its values, thresholds,
    flags, ``underused`` and ``freeable_mu``), ``layer`` (the flagged units with geometry, in
    EPSG:4490 — CGCS2000 lon/lat, the bundled zone's CRS, within a metre of WGS84),
    ``total_freeable_mu`` and a JSON-able ``summary`` (with ``quality``: the least reliable label of
    the parcels, the firms and the zone; ``provenance``: the rules and notes); :meth:`to_dict`."""

    table: "pd.DataFrame"
    layer: "gpd.GeoDataFrame"
    total_freeable_mu: float
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The summary (JSON-serialisable)."""
        from xclz_geo._results import jsonable

        return jsonable(self.summary)


def far_minimum(industry_code: Any) -> tuple[float | None, bool]:
    """(容积率 minimum, confirmed) for a GB/T 4754-2017 code (2–4 digits), ``(None, False)`` when unknown."""
    import re

    if industry_code is None or (isinstance(industry_code, float) and math.isnan(industry_code)):
        return None, False
    digits = re.sub(r"\D", "", str(industry_code))
    if not digits:
        return None, False
    digits = digits.zfill(2)[:2]
    t = control_table()
    m = t[t["code_2017"] == digits]
    if m.empty or math.isnan(float(m["far_min"].iloc[0])):
        return None, False
    return float(m["far_min"].iloc[0]), bool(m["far_confirmed"].iloc[0])


def _gap(value: float, threshold: float | None) -> float:
    if threshold is None or not (threshold > 0) or value is None or math.isnan(value):
        return 0.0
    return min(max(1.0 - value / threshold, 0.0), 1.0) if value < threshold else 0.0


#: columns of :attr:`UnderusedResult.table` before the thresholds and flags
_UNDERUSED_COLUMNS = ("kind", "parcel_id", "credit_code", "name", "block_id", "part_id", "ledger_class", "industry_code",
                      "land_mu", "far", "coverage_pct", "tax_per_mu", "idle", "industrial")


def _is_text(values: "np.ndarray") -> "np.ndarray":
    """Boolean array: the value is a non-empty ``str``."""
    import numpy as np

    return np.fromiter((isinstance(v, str) and bool(v) for v in values), dtype=bool, count=len(values))


def _underused_firm_rows(firms: Any, cols: dict[str, list[Any]], geoms: list[Any], *, pids: Any, zone: "Zone | None") -> None:
    """Add the evaluated firms to the column lists of :func:`underused` (column arrays, no per-firm Python).

    A firm whose 地块编号 names one of the parcel rows (``pids``; the last row of a repeated id) is merged
    into that row: the parcel takes the code and name of the last such firm and, when it has no 亩均税收
    of its own, the first such firm's that has one. Every other evaluated firm becomes a ``firm`` row."""
    import numpy as np
    import pandas as pd
    import shapely

    sc, fd = _firm_frames(firms)
    ev_mask = np.array(sc["status"] == "evaluated", dtype=bool)  # a copy: the comparison may be a read-only view
    if zone is not None and "part_id" in sc.columns:
        ev_mask &= _is_text(sc["part_id"].to_numpy(dtype=object))
    sc = sc[ev_mask]
    fd = fd.loc[sc.index]
    pid = fd["parcel_id"].to_numpy(dtype=object)
    code = fd["credit_code"].to_numpy(dtype=object)
    name = fd["name"].to_numpy(dtype=object)
    tax = sc["tax_per_mu"].to_numpy(dtype=float)
    row = np.full(len(sc), -1, dtype=np.int64)
    if pids is not None and len(pids) and len(sc):
        where = pd.Series(np.arange(len(pids)), index=pd.Index(pids, dtype=object))
        where = where[~where.index.duplicated(keep="last")]
        hit = _is_text(pid)
        row[hit] = pd.Index(pid[hit], dtype=object).map(where).fillna(-1).to_numpy(dtype=np.int64)
    merged = row >= 0
    if merged.any():
        m = pd.DataFrame({"row": row[merged], "code": code[merged], "name": name[merged], "tax": tax[merged]})
        last = m.drop_duplicates("row", keep="last")
        cols["credit_code"][0][last["row"].to_numpy()] = last["code"].to_numpy(dtype=object)
        cols["name"][0][last["row"].to_numpy()] = last["name"].to_numpy(dtype=object)
        own = cols["tax_per_mu"][0]
        first = m[m["tax"].notna()].drop_duplicates("row", keep="first")
        r = first["row"].to_numpy()
        fill = np.isnan(own[r])
        own[r[fill]] = first["tax"].to_numpy(dtype=float)[fill]
    keep = ~merged
    n = int(keep.sum())
    none = np.full(n, None, dtype=object)
    for c, v in (("kind", np.full(n, "firm", dtype=object)), ("parcel_id", pid[keep]), ("credit_code", code[keep]),
                 ("name", name[keep]),
                 ("block_id", sc["block_id"].to_numpy(dtype=object)[keep] if "block_id" in sc.columns else none),
                 ("part_id", sc["part_id"].to_numpy(dtype=object)[keep] if "part_id" in sc.columns else none),
                 ("ledger_class", none), ("industry_code", fd["industry_code"].to_numpy(dtype=object)[keep]),
                 ("land_mu", fd["land_mu"].to_numpy(dtype=float)[keep]), ("far", np.full(n, np.nan)),
                 ("coverage_pct", np.full(n, np.nan)), ("tax_per_mu", tax[keep]), ("idle", np.zeros(n, dtype=bool)),
                 ("industrial", np.ones(n, dtype=bool))):
        cols[c].append(v)
    lon = fd["lon"].to_numpy(dtype=float)[keep]
    lat = fd["lat"].to_numpy(dtype=float)[keep]
    pts = np.asarray(shapely.points(lon, lat), dtype=object)
    pts[np.isnan(lon) | np.isnan(lat)] = None
    geoms.append(pts)


def _none_where_nan(values: "np.ndarray", missing: "np.ndarray") -> list[Any]:
    """``values`` as a list with ``None`` where ``missing`` (pandas then infers the column as the per-row lists did)."""
    import numpy as np

    out = values.astype(object)
    out[missing] = None
    return out.tolist() if len(out) else []


def _underused_flags(t: "pd.DataFrame", rules: UnderusedRules, *, tax_threshold: float | None, median: float) -> dict[str, Any]:
    """Thresholds, flags, ``freeable_mu`` and the reason text of every row of the :func:`underused` table, by column."""
    import numpy as np
    import pandas as pd

    n = len(t)
    industrial = t["industrial"].to_numpy(dtype=bool)
    check = industrial | (not rules.industrial_only)
    icode = t["industry_code"].to_numpy(dtype=object)
    ledger = t["ledger_class"].to_numpy(dtype=object)
    if rules.far_min is not None:
        fmin = np.full(n, float(rules.far_min))
        fconf = np.ones(n, dtype=bool)
    else:  # the control-indicator table, once per distinct industry code
        codes, uniq = pd.factorize(pd.Series(icode, dtype=object))
        found = [far_minimum(u) for u in uniq]
        fm_u = np.array([np.nan if v is None else v for v, _ in found] + [np.nan], dtype=float)
        fc_u = np.array([c for _, c in found] + [False], dtype=bool)
        fmin = fm_u[codes]  # code -1 (no industry) takes the last entry: no minimum
        fconf = fc_u[codes]
    if rules.far_min_default is not None:
        dflt = np.isnan(fmin) & check & ((ledger == "A2") | pd.notna(icode))
        fmin[dflt] = rules.far_min_default
        fconf[dflt] = False
    fmin[~check] = np.nan
    no_far = np.isnan(fmin)
    cmin = np.full(n, np.nan if rules.coverage_min_pct is None else float(rules.coverage_min_pct))
    cmin[~check] = np.nan
    far = t["far"].to_numpy(dtype=float)
    cov = t["coverage_pct"].to_numpy(dtype=float)
    tpm = t["tax_per_mu"].to_numpy(dtype=float)
    land = np.nan_to_num(t["land_mu"].to_numpy(dtype=float), nan=0.0)
    with np.errstate(invalid="ignore"):
        low_far = ~no_far & (far < fmin)
        low_cov = ~np.isnan(cmin) & (cov < cmin)
        low_tax = (check & (tpm < tax_threshold)) if tax_threshold is not None else np.zeros(n, dtype=bool)
    idle = t["idle"].to_numpy(dtype=bool) & bool(rules.idle)

    def gap(value: "np.ndarray", thr: "np.ndarray | float | None") -> "np.ndarray":  # _gap, by column
        if thr is None:
            return np.zeros(n)
        thr = np.broadcast_to(np.asarray(thr, dtype=float), (n,))
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.clip(1.0 - value / thr, 0.0, 1.0)
        return np.where((thr > 0) & (value < thr), g, 0.0)

    gaps = np.zeros(n)
    gaps = np.maximum(gaps, np.where(low_far, gap(far, fmin), 0.0))
    gaps = np.maximum(gaps, np.where(low_cov, gap(cov, cmin), 0.0))
    gaps = np.maximum(gaps, np.where(low_tax, np.where(tpm > 0, gap(tpm, tax_threshold), 1.0), 0.0))
    gaps = np.maximum(gaps, np.where(idle, 1.0, 0.0))
    any_flag = low_far | low_cov | low_tax | idle
    bits = low_far.astype(np.int8) | (low_cov.astype(np.int8) << 1) | (low_tax.astype(np.int8) << 2) | (idle.astype(np.int8) << 3)
    names = ("low_far", "low_coverage", "low_tax", "idle")
    table = np.array([",".join(f for k, f in enumerate(names) if b >> k & 1) for b in range(16)], dtype=object)
    # the reason text: one piece per failed rule, joined by "; " (formatted only where the rule failed)
    pieces = []
    for mask, text in (
        (low_far, lambda i: [f"容积率 {a:.2f} < {b:g}" for a, b in zip(far[i].tolist(), fmin[i].tolist())]),
        (low_cov, lambda i: [f"建筑系数 {a:.1f}% < {b:g}%" for a, b in zip(cov[i].tolist(), cmin[i].tolist())]),
        (low_tax, lambda i: [f"亩均税收 {a:.2f} < {rules.tax_share_of_median:g} × median {median:.2f} 万元/亩"
                             for a in tpm[i].tolist()]),
        (idle, lambda i: ["闲置土地"] * int(i.sum())),
    ):
        p = np.full(n, "", dtype=object)
        if mask.any():
            p[mask] = text(mask)
        pieces.append(p)
    reason = pieces[0]
    for p in pieces[1:]:
        both = (reason != "") & (p != "")
        reason = np.where(both, reason + "; " + p, reason + p)
    return {
        "far_min": _none_where_nan(fmin, no_far),
        "far_min_confirmed": _none_where_nan(fconf, no_far),
        "coverage_min_pct": _none_where_nan(cmin, np.isnan(cmin)),
        "flags": table[bits],
        "freeable_mu": np.where(any_flag, land * gaps, 0.0),
        "reason": reason,
        "masks": {"low_far": low_far, "low_coverage": low_cov, "low_tax": low_tax, "idle": idle},
    }


def underused(
    *,
    parcels: "gpd.GeoDataFrame | None" = None,
    firms: "EvaluationResult | pd.DataFrame | None" = None,
    zone: "Zone | None" = None,
    rules: UnderusedRules | None = None,
) -> UnderusedResult:
    """Flag under-used parcels and firms and estimate the 亩 that could be freed.

    Parameters
    ----------
    parcels
        Parcel layer (see module doc). Each parcel is checked for 容积率, 建筑系数, 亩均税收
        (when it has ``tax_wan``) and 闲置.
    firms
        An :class:`~xclz_geo.efficiency.evaluate.EvaluationResult` (or its ``scores``). Evaluated firms are
        checked for 亩均税收 against the median of evaluated firms; a firm whose 地块编号 matches a
        parcel is merged into that parcel's row (its flags join the parcel's), so land is not counted twice.
    zone
        When given, the median and the layer are restricted to parcels/firms inside the zone
        (firms by their ``part_id``; parcels by intersection).
    rules
        :class:`UnderusedRules` (default: :meth:`UnderusedRules.defaults`).
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from xclz_geo.geo import crs as _crs

    rules = rules or UnderusedRules.defaults()
    cols: dict[str, list[Any]] = {c: [] for c in _UNDERUSED_COLUMNS}
    geoms: list[Any] = []  # object arrays of shapely geometries (None: no position), in row order
    pids: Any = None
    if parcels is not None:
        par = normalize_parcels(parcels)
        gk = zone.gk_crs if zone is not None else _crs.gk_crs_for(par)
        pg = par.to_crs(gk)
        if zone is not None:
            pcs = _pieces(zone, par)
            inside = pcs.groupby("parcel_id").agg(part_id=("part_id", "first"), block_id=("block_id", "first"))
            pg = pg[pg["parcel_id"].isin(inside.index)].copy()
            pg["part_id"] = pg["parcel_id"].map(inside["part_id"])
            pg["block_id"] = pg["parcel_id"].map(inside["block_id"])
        n_p = len(pg)
        area_mu = units.m2_to_mu(pg.geometry.area.to_numpy()).astype(float)
        land_m2 = area_mu * units.M2_PER_MU
        has_land = area_mu > 0
        floor = pg["floor_area_m2"].to_numpy(dtype=float)
        cov_m2 = pg["coverage_m2"].to_numpy(dtype=float)
        cov_m2 = np.where(np.isnan(cov_m2), pg["footprint_m2"].to_numpy(dtype=float), cov_m2)
        with np.errstate(divide="ignore", invalid="ignore"):
            tpm = np.where(has_land, pg["tax_wan"].to_numpy(dtype=float) / np.where(has_land, area_mu, 1), np.nan)
            far = np.where(~np.isnan(floor) & has_land, floor / np.where(has_land, land_m2, 1), np.nan)
            cov = np.where(~np.isnan(cov_m2) & has_land, cov_m2 / np.where(has_land, land_m2, 1) * 100.0, np.nan)
        none = np.full(n_p, None, dtype=object)
        pids = pg["parcel_id"].to_numpy(dtype=object)
        ledger = pg["ledger_class"].to_numpy(dtype=object)
        icode = pg["industry_code"].to_numpy(dtype=object)
        for c, v in (("kind", np.full(n_p, "parcel", dtype=object)), ("parcel_id", pids), ("credit_code", none.copy()),
                     ("name", none.copy()),
                     ("block_id", pg["block_id"].to_numpy(dtype=object) if "block_id" in pg.columns else none),
                     ("part_id", pg["part_id"].to_numpy(dtype=object) if "part_id" in pg.columns else none),
                     ("ledger_class", ledger), ("industry_code", icode), ("land_mu", area_mu), ("far", far),
                     ("coverage_pct", cov), ("tax_per_mu", tpm), ("idle", pg["idle"].to_numpy(dtype=object).astype(bool)),
                     ("industrial", (ledger == "A2") | pd.notna(icode))):
            cols[c].append(v)
        geoms.append(pg.to_crs(_crs.CGCS2000_GEOGRAPHIC).geometry.to_numpy())
    if firms is not None:
        _underused_firm_rows(firms, cols, geoms, pids=pids, zone=zone)
    t = pd.DataFrame({c: (np.concatenate(v) if v else []) for c, v in cols.items()}, columns=list(_UNDERUSED_COLUMNS))
    geom = np.concatenate(geoms) if geoms else np.empty(0, dtype=object)
    if not len(t):  # as the per-row version built it: an empty frame of object columns
        t = t.astype(object)
    tx = t["tax_per_mu"].astype(float)
    if rules.industrial_only:
        tx = tx[t["industrial"].astype(bool)]
    median = float(tx.median()) if tx.notna().any() else float("nan")
    tax_thr = rules.tax_share_of_median * median if rules.tax_share_of_median is not None and not math.isnan(median) else None
    fl = _underused_flags(t, rules, tax_threshold=tax_thr, median=median)
    t["far_min"] = fl["far_min"]
    t["far_min_confirmed"] = fl["far_min_confirmed"]
    t["coverage_min_pct"] = fl["coverage_min_pct"]
    t["tax_threshold_per_mu"] = tax_thr
    t["flags"] = pd.Series(fl["flags"], index=t.index, dtype=object)
    t["underused"] = t["flags"].ne("").astype(bool)
    t["freeable_mu"] = pd.Series(fl["freeable_mu"], index=t.index, dtype=float)
    t["reason"] = pd.Series(fl["reason"], index=t.index, dtype=object)
    # nothing checked or nothing under-used is a normal outcome: an empty layer, never an error
    keep = t["underused"].to_numpy(dtype=bool) & pd.notna(geom)
    layer = gpd.GeoDataFrame(t[keep].reset_index(drop=True),
                             geometry=gpd.GeoSeries(geom[keep], crs=_crs.CGCS2000_GEOGRAPHIC))
    total = float(t["freeable_mu"].sum())
    land_mu = t["land_mu"].astype(float)
    by_flag = {f: {"count": int(fl["masks"][f].sum()), "land_mu": float(land_mu[fl["masks"][f]].sum())}
               for f in ("low_tax", "low_far", "low_coverage", "idle")}
    by_part = []
    if zone is not None and len(t):
        for pid, g in t[t["underused"]].groupby("part_id", dropna=False):
            by_part.append({"part_id": pid if isinstance(pid, str) else None, "count": int(len(g)),
                            "land_mu": float(g["land_mu"].sum()), "freeable_mu": float(g["freeable_mu"].sum())})
    summary = {
        "rules": rules.to_dict(),
        "zone_median_tax_per_mu": None if math.isnan(median) else median,
        "tax_threshold_per_mu": tax_thr,
        "checked": int(len(t)),
        "underused": int(t["underused"].sum()),
        "underused_land_mu": float(t.loc[t["underused"], "land_mu"].sum()),
        "total_freeable_mu": total,
        "by_flag": by_flag,
        "by_part": by_part,
        "notes": [
            "freeable_mu is an estimate: the land the current use would need at the threshold intensity, not a decision to reclaim it.",
            "容积率 minimums for GB/T 4754-2017 codes 33–41 and the 2002→2017 crosswalk are unverified (far_min_confirmed = false).",
        ],
    }
    from xclz_geo._results import worst_quality

    pq = parcels["quality"].dropna().astype(str).unique() if parcels is not None and "quality" in parcels.columns else ()
    fq = (getattr(firms, "summary", None) or {}).get("quality") if firms is not None else None
    summary["quality"] = worst_quality(*pq, *(fq if isinstance(fq, list) else [fq]), None if zone is None else zone.worst_quality)
    summary["provenance"] = {"method": "under-used land rules", "rules": summary["rules"], "notes": summary["notes"]}
    return UnderusedResult(table=t, layer=layer, total_freeable_mu=total, summary=summary)


def _firm_frames(firms: Any) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """(scores table, parsed canonical fields) of an EvaluationResult or a scores DataFrame."""
    import warnings

    from xclz_geo.efficiency.evaluate import read_enterprises

    if hasattr(firms, "scores"):
        if getattr(firms, "table", None) is not None:
            return firms.scores, firms.enterprises.data
        sc = firms.scores
    else:
        sc = firms
    if "status" not in sc.columns or "tax_per_mu" not in sc.columns:
        raise InputDataError("firms: expected the result of efficiency.evaluate (columns status, tax_per_mu)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = read_enterprises(sc.reset_index(drop=True)).data
    fd.index = sc.index
    return sc, fd


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "BUILT_CLASSES", "OTHER_CLASSES", "UNBUILDABLE_CLASSES", "LEDGER_CLASSES", "PARCEL_FIELDS", "GROUP_TO_LEDGER",
    "indicator_definitions", "map_parcel_columns", "normalize_parcels", "SUPPLY_STATUS", "attach_buildings",
    "land_ledger", "NEEDS", "indicators_from_ledger", "IntensityResult", "intensity", "missing_parcel_fields",
    "plausibility_checks", "UnderusedRules", "UnderusedResult", "far_minimum", "underused"
]
