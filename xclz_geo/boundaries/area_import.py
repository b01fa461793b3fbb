"""Importing a functional area's outline into a boundaries GeoPackage (layer ``areas``), checked against its part.

See :mod:`xclz_geo.boundaries.areas` for the areas, their storage and the containment tolerance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xclz_geo.boundaries.areas import AREA_COLUMNS, AREAS_LAYER, area_statuses, check_areas, validate_areas
from xclz_geo.errors import BoundaryError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["import_area", "write_boundaries_with_areas"]


# ------------------------------------------------------------------ import and write


def write_boundaries_with_areas(parts: "gpd.GeoDataFrame", areas: "gpd.GeoDataFrame", path: str | Path) -> Path:
    """Write the parts layer and the ``areas`` layer (rows with geometry) into one GeoPackage, atomically."""
    from xclz_geo.boundaries.importing import STORAGE_CRS, round_coordinates
    from xclz_geo.boundaries.zone import QUALITY_LEVELS, validate_boundaries
    from xclz_geo.errors import InputDataError

    p = Path(path)
    if p.suffix.lower() != ".gpkg":
        raise InputDataError(f"{p}: functional areas are a layer '{AREAS_LAYER}' beside the parts; write a .gpkg")
    parts_v = round_coordinates(validate_boundaries(parts, source=str(p)).to_crs(STORAGE_CRS))
    keep = areas[areas.geometry.notna() & ~areas.geometry.is_empty]
    keep = validate_areas(keep[[*AREA_COLUMNS, keep.geometry.name]].copy(), quality_levels=QUALITY_LEVELS, source=str(p)).to_crs(STORAGE_CRS)
    keep = round_coordinates(keep)
    for c in ("parent_part_id", "name_en", "source", "parent_block_id", "name_zh"):
        keep[c] = keep[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
    try:
        if tmp.exists():
            tmp.unlink()
        parts_v.to_file(tmp, layer=p.stem, driver="GPKG", engine="pyogrio")
        if len(keep):
            keep.to_file(tmp, layer=AREAS_LAYER, driver="GPKG", engine="pyogrio", mode="a")
        tmp.replace(p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def import_area(
    path: str | Path,
    *,
    area_id: str,
    base: str | Path,
    out: str | Path,
    spec: Any = None,
    quality: str = "official",
    uncertainty_m: float | None = None,
    source: str | None = None,
    **read: Any,
) -> dict[str, Any]:
    """Import one functional area's outline into a boundaries GeoPackage (parts from ``base``, layer ``areas``).

    Parameters
    ----------
    path
        The area's file (anything :func:`xclz_geo.boundaries.importing.import_boundaries` reads).
    area_id
        An area of the spec, e.g. ``"carbon_neutral"``.
    base
        Boundaries whose parts the area must lie in (a file; its own areas are kept).
    out
        The GeoPackage to write (parts layer + ``areas`` layer).
    read
        ``crs``, ``layer``, ``encoding``, ``where``, ``select``, ``datum`` as for importing a part.

    Returns
    -------
    dict
        What was imported and checked: area, part, areas in km², outside share, the areas in the output.

    Raises
    ------
    BoundaryError
        An unknown area, or an outline that leaves its part (named with the m² outside).
    """
    from xclz_geo.boundaries.importing import import_boundaries
    from xclz_geo.boundaries.zone import Zone, load_spec

    zspec = spec if hasattr(spec, "areas") else load_spec(spec)
    known = {a.id: a for a in zspec.areas}
    if area_id not in known:
        raise BoundaryError(f"area {area_id!r} is not in the spec; known areas: {', '.join(known) or 'none'}")
    a = known[area_id]
    res = import_boundaries(path, part_id=area_id, block_id=a.parent_block_id, spec=False, quality=quality,
                            uncertainty_m=uncertainty_m, source=source, name_zh=a.name_zh, name_en=a.name_en,
                            official_area_km2=a.official_area_km2, **read)
    zone = Zone.load(boundaries=base, spec=zspec.path) if zspec.path else Zone.load(boundaries=base)
    row = res.boundaries.iloc[0]
    new = zone.areas.copy()
    k = int((new["area_id"] == area_id).to_numpy().nonzero()[0][0])
    new = new.to_crs(res.boundaries.crs)
    geom_col = new.geometry.name
    new.at[new.index[k], geom_col] = row.geometry
    new.at[new.index[k], "quality"] = row["quality"]
    new.at[new.index[k], "positional_uncertainty_m"] = float(row["positional_uncertainty_m"])
    new.at[new.index[k], "source"] = row["source"]
    zone2 = Zone(zone.parts, spec=zone.spec, boundaries_source=zone.boundaries_source, areas=new)
    status = next(s for s in area_statuses(zone2) if s.id == area_id)
    check_areas(zone2)
    if not a.parent_part_id:
        new.at[new.index[k], "parent_part_id"] = status.part
    write_boundaries_with_areas(zone.parts[zone.parts.geometry.notna()], new, out)
    return {
        "area_id": area_id, "name_zh": a.name_zh, "block_id": a.parent_block_id, "part_id": status.part,
        "part_from": "spec" if a.parent_part_id else "geometry", "file": str(path), "crs_note": res.crs_note,
        "area_km2": res.area_km2, "official_area_km2": a.official_area_km2, "deviation_pct": status.deviation_pct,
        "outside_m2": status.outside_m2, "outside_pct": status.outside_pct, "band_m": status.band_m,
        "quality": str(row["quality"]), "notes": list(res.notes), "base": str(base), "out": str(out),
        "areas_in_out": [str(i) for i, g in zip(new["area_id"], new.geometry) if g is not None and not g.is_empty],
    }
