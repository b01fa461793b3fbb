"""Functional areas inside a part: the plan's named areas (碳中和示范区, 宛陵科创城 …), their geometry and checks.

The plan (宣政秘〔2022〕14号) names areas inside the blocks that are not parts: the 7.9 km² 碳中和示范区
and the 宛陵科创城 in the 宣城经开区 block (plan text line 88), the 安徽皖东南保税物流中心(B型) (line 102),
the 安徽广德航天科技产业园 and the 汽车检测小镇 (line 160) in 广德. The spec lists them under
``[[areas]]`` with the part (``parent_part_id``) or, where the plan does not say which part, only the
block (``parent_block_id``: the part is then the one the geometry lies in). Only the 碳中和示范区 has an
official area in the plan.

Storage
-------
No geometry is bundled. ``xclz-geo boundaries import FILE --area ID --out B.gpkg``
(:mod:`xclz_geo.boundaries.area_import`) writes it into a
**separate layer ``areas``** of the boundaries GeoPackage, beside the parts layer, with the columns
:data:`AREA_COLUMNS`. The parts layer is unchanged, so every existing boundaries file (GeoJSON,
GeoPackage, Shapefile) loads as before; a file without an ``areas`` layer simply has no area geometry.
Areas of the spec without geometry stay in :attr:`Zone.areas` with geometry ``None`` and are reported
as ``no geometry``, never left out.

Containment
-----------
An area must lie in its part. It may stick out by a band of ``max(1 m, the part's positional
uncertainty)`` (digitising noise along shared edges; kilometres for a schematic part); beyond that
band at most :data:`OUTSIDE_TOLERANCE_PCT` (0.01 %) of the area's own area may lie outside. More is a
:class:`~xclz_geo.errors.BoundaryError` naming the area, the part and the m² and % outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xclz_geo.errors import BoundaryError, SpecError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "AREAS_LAYER",
    "AREA_COLUMNS",
    "AreaSpec",
    "AreaStatus",
    "area_statuses",
    "areas_frame",
    "check_areas",
    "parse_areas",
    "read_areas",
    "validate_areas",
]

#: layer name of the areas in a boundaries GeoPackage
AREAS_LAYER = "areas"
#: columns of the areas layer (geometry aside)
AREA_COLUMNS = ("area_id", "name_zh", "name_en", "parent_block_id", "parent_part_id", "official_area_km2", "quality",
                "positional_uncertainty_m", "source")
#: an area may lie outside its part by this band at least, metres (else the part's positional uncertainty)
OUTSIDE_BAND_M = 1.0
#: beyond the band, at most this share of the area may lie outside its part, percent
OUTSIDE_TOLERANCE_PCT = 0.01


@dataclass(frozen=True)
class AreaSpec:
    """A functional area named by the plan inside a part (or a block, the part then found from geometry)."""

    id: str
    name_zh: str
    name_en: str
    parent_block_id: str
    parent_part_id: str | None
    official_area_km2: float | None
    source: str = ""
    note: str = ""


def parse_areas(raw: Any, *, parts: Any, blocks: Any, path: Any = None) -> tuple[AreaSpec, ...]:
    """The ``[[areas]]`` of a spec (none: an empty tuple).

    Raises
    ------
    SpecError
        Naming the field: a missing id or name, a duplicate id (also against part ids), a parent that is no
        part/block of the spec, both or neither of ``parent_part_id``/``parent_block_id``, a bad area.
    """
    if raw is None:
        return ()
    where = f"{path}: " if path else ""
    if not isinstance(raw, list):
        raise SpecError(f"{where}areas: expected [[areas]] tables")
    part_block = {p.id: p.block_id for p in parts}
    block_ids = {b.id for b in blocks}
    out: list[AreaSpec] = []
    seen: set[str] = set()
    for i, a in enumerate(raw):
        loc = f"{where}areas[{i}]"
        if not isinstance(a, dict):
            raise SpecError(f"{loc}: expected a table")
        for key in ("id", "name_zh"):
            if not isinstance(a.get(key), str) or not a[key].strip():
                raise SpecError(f"{loc}: missing field '{key}'")
        aid = a["id"]
        if aid in seen or aid in part_block:
            raise SpecError(f"{loc}.id: duplicate id {aid!r} (ids of areas and parts must differ)")
        seen.add(aid)
        pp, pb = a.get("parent_part_id"), a.get("parent_block_id")
        if (pp is None) == (pb is None):
            raise SpecError(f"{loc}: give exactly one of parent_part_id (the part it lies in) or parent_block_id "
                            "(when the plan names only the block)")
        if pp is not None and pp not in part_block:
            raise SpecError(f"{loc}.parent_part_id: {pp!r} is not a part; known: {', '.join(part_block)}")
        if pb is not None and pb not in block_ids:
            raise SpecError(f"{loc}.parent_block_id: {pb!r} is not a block; known: {', '.join(sorted(block_ids))}")
        off = a.get("official_area_km2")
        if off is not None and (isinstance(off, bool) or not isinstance(off, (int, float)) or not math.isfinite(off) or off <= 0):
            raise SpecError(f"{loc}.official_area_km2: must be a positive number of km², got {off!r}")
        out.append(AreaSpec(id=aid, name_zh=a["name_zh"], name_en=str(a.get("name_en", aid)),
                            parent_block_id=pb if pb is not None else part_block[pp], parent_part_id=pp,
                            official_area_km2=float(off) if off is not None else None,
                            source=str(a.get("source", "")), note=str(a.get("note", ""))))
    return tuple(out)


# ------------------------------------------------------------------ the areas frame


def _empty(crs: Any) -> "gpd.GeoDataFrame":
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in AREA_COLUMNS}, geometry=[], crs=crs)


def validate_areas(gdf: "gpd.GeoDataFrame", *, quality_levels: Any, source: str = "areas") -> "gpd.GeoDataFrame":
    """Check an areas layer: ``area_id`` (unique), ``quality`` (one of ``quality_levels``: pass
    :data:`xclz_geo.boundaries.zone.QUALITY_LEVELS`), a CRS, (Multi)Polygon geometry."""
    import pandas as pd

    QUALITY_LEVELS = tuple(quality_levels)

    if gdf.crs is None:
        raise BoundaryError(f"{source}: the areas layer has no CRS")
    missing = [c for c in ("area_id", "quality") if c not in gdf.columns]
    if missing:
        raise BoundaryError(f"{source}: areas layer lacks column(s) {', '.join(missing)}; it needs {', '.join(AREA_COLUMNS)}")
    out = gdf.copy()
    out["area_id"] = out["area_id"].astype(str)
    dup = sorted(set(out["area_id"][out["area_id"].duplicated()]))
    if dup:
        raise BoundaryError(f"{source}: area_id {', '.join(dup)} appears more than once; one row per area")
    bad = sorted(set(out["quality"].astype(str)) - set(QUALITY_LEVELS))
    if bad:
        raise BoundaryError(f"{source}: areas column quality has {bad}; allowed: {', '.join(QUALITY_LEVELS)}")
    for c in AREA_COLUMNS:
        if c not in out.columns:
            out[c] = None
    for c in ("official_area_km2", "positional_uncertainty_m"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    types = set(out.geometry[out.geometry.notna() & ~out.geometry.is_empty].geom_type)
    if types - {"Polygon", "MultiPolygon"}:
        raise BoundaryError(f"{source}: area geometry must be Polygon or MultiPolygon, found {', '.join(sorted(types))}")
    return out


def read_areas(path: str | Path, *, quality_levels: Any) -> "gpd.GeoDataFrame | None":
    """The ``areas`` layer of a boundaries GeoPackage, validated; ``None`` when the file has none."""
    p = Path(path)
    if p.suffix.lower() != ".gpkg" or not p.is_file():
        return None
    import pyogrio

    try:
        names = [str(n) for n, _ in pyogrio.list_layers(p)]
    except Exception:  # noqa: BLE001 - not a GeoPackage we can list: no areas (read_boundaries reports the file)
        return None
    if AREAS_LAYER not in names:
        return None
    from xclz_geo.io import read_vector

    return validate_areas(read_vector(p, layer=AREAS_LAYER), quality_levels=quality_levels, source=f"{p} (layer {AREAS_LAYER})")


def areas_frame(spec: Any, areas: "gpd.GeoDataFrame | None", *, crs: Any) -> "gpd.GeoDataFrame":
    """One row per area: every area of the spec (geometry ``None`` until imported) plus the file's rows.

    Names, parents and official areas come from the spec where the file has none; an area of the file
    that the spec does not know is kept (a user's own area) only when it names its ``parent_part_id``.
    """
    import geopandas as gpd
    import pandas as pd

    specs = list(getattr(spec, "areas", ()) or ()) if spec is not None else []
    have = areas.to_crs(crs) if areas is not None and len(areas) and crs is not None else areas
    by_id = {str(r["area_id"]): r for _, r in have.iterrows()} if have is not None else {}
    rows, geoms = [], []
    for a in specs:
        r = by_id.pop(a.id, None)
        rows.append({
            "area_id": a.id, "name_zh": a.name_zh, "name_en": a.name_en, "parent_block_id": a.parent_block_id,
            "parent_part_id": a.parent_part_id if a.parent_part_id else (r.get("parent_part_id") if r is not None else None),
            "official_area_km2": a.official_area_km2 if a.official_area_km2 is not None else float("nan"),
            "quality": str(r["quality"]) if r is not None else None,
            "positional_uncertainty_m": float(r["positional_uncertainty_m"]) if r is not None and pd.notna(r["positional_uncertainty_m"]) else float("nan"),
            "source": (str(r["source"]) if r is not None and pd.notna(r["source"]) else None) or a.source,
            "parent_from": "spec" if a.parent_part_id else "geometry",
        })
        geoms.append(r.geometry if r is not None else None)
    for aid, r in by_id.items():
        pp = r.get("parent_part_id")
        if pp is None or (isinstance(pp, float) and math.isnan(pp)):
            raise BoundaryError(f"areas layer: area {aid!r} is not in the spec and names no parent_part_id; add it to the "
                                "spec's [[areas]] or give parent_part_id")
        rows.append({c: r.get(c) for c in AREA_COLUMNS} | {"parent_from": "file"})
        geoms.append(r.geometry)
    if not rows:
        out = _empty(crs)
        out["parent_from"] = []
        return out
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)


# ------------------------------------------------------------------ containment and statuses


@dataclass
class AreaStatus:
    """Measured area and containment of one functional area (what the area check shows)."""

    id: str
    name_zh: str
    block: str
    part: str | None
    official_km2: float | None
    measured_km2: float | None
    deviation_pct: float | None
    outside_m2: float | None
    outside_pct: float | None
    band_m: float | None
    quality: str | None
    status: str  # "pass" | "fail" | "no official area" | "no geometry" | "outside part" | "part has no geometry"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as ``None``)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in vars(self).items()}


def area_statuses(zone: Any, *, tolerance_pct: float = 1.0) -> list[AreaStatus]:
    """Every area of the zone: official vs measured (planar, the zone's Gauss-Krüger CRS) and containment.

    Areas without geometry come out with status ``no geometry``; a block-level area gets its part from
    the geometry (the part holding most of it).
    """
    from xclz_geo.geo import crs as _crs
    from xclz_geo import units

    areas = getattr(zone, "areas", None)
    if areas is None or not len(areas):
        return []
    gk = zone.gk_crs
    parts_gk = zone.parts_gk
    areas_gk = areas.to_crs(gk)
    out: list[AreaStatus] = []
    for (_, a), g in zip(areas.iterrows(), areas_gk.geometry):
        off = a["official_area_km2"]
        off = float(off) if off is not None and not (isinstance(off, float) and math.isnan(off)) else None
        base = dict(id=str(a["area_id"]), name_zh=str(a["name_zh"]), block=str(a["parent_block_id"]), official_km2=off)
        pp = a.get("parent_part_id")
        pp = None if pp is None or (isinstance(pp, float) and math.isnan(pp)) else str(pp)
        if g is None or g.is_empty:
            out.append(AreaStatus(**base, part=pp, measured_km2=None, deviation_pct=None, outside_m2=None, outside_pct=None,
                                  band_m=None, quality=None, status="no geometry"))
            continue
        measured_m2 = float(_crs.planar_area_m2([g], crs=gk)[0])
        measured = measured_m2 / units.M2_PER_KM2
        cand = parts_gk[(parts_gk["part_id"] == pp) if pp else (parts_gk["block_id"] == base["block"])]
        cand = cand[cand.geometry.notna() & ~cand.geometry.is_empty]
        dev = (measured - off) / off * 100.0 if off else None
        common = dict(measured_km2=measured, deviation_pct=dev, quality=str(a["quality"]))
        if cand.empty:
            out.append(AreaStatus(**base, part=pp, outside_m2=None, outside_pct=None, band_m=None, **common,
                                  status="part has no geometry"))
            continue
        if not pp:
            inter = [g.intersection(pg).area for pg in cand.geometry]
            k = max(range(len(inter)), key=inter.__getitem__)
            cand = cand.iloc[[k]]
        prow = cand.iloc[0]
        unc = prow["positional_uncertainty_m"]
        band = max(OUTSIDE_BAND_M, float(unc) if unc is not None and not (isinstance(unc, float) and math.isnan(unc)) else 0.0)
        outside = g.difference(prow.geometry.buffer(band)).area
        pct = outside / measured_m2 * 100.0 if measured_m2 > 0 else 0.0
        if pct > OUTSIDE_TOLERANCE_PCT:
            status = "outside part"
        elif off is None:
            status = "no official area"
        else:
            status = "pass" if abs(dev) <= tolerance_pct else "fail"
        out.append(AreaStatus(**base, part=str(prow["part_id"]), outside_m2=float(outside), outside_pct=float(pct), band_m=band,
                              **common, status=status))
    return out


def check_areas(zone: Any) -> None:
    """Raise :class:`BoundaryError` for the first area that leaves its part beyond the tolerance (see the module)."""
    for s in area_statuses(zone):
        if s.status == "outside part":
            raise BoundaryError(
                f"area {s.id!r} ({s.name_zh}) leaves its part {s.part!r}: {s.outside_m2:,.0f} m² "
                f"({s.outside_pct:.2f} % of the area) lies outside the part beyond a {s.band_m:g} m band "
                f"(tolerance {OUTSIDE_TOLERANCE_PCT:g} %); check the CRS and that the file holds only this area's outline"
            )
