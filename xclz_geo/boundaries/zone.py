"""The zone model: zone → blocks → parts, official areas, quality, and the area report.

A :class:`Zone` joins two things:

* the plan's definition (:class:`ZoneSpec`, read from ``data/boundaries/spec.toml``):
  ids, names, 四至 texts and official areas, with the source document;
* part polygons in the **boundaries schema** (one row per part: ``part_id``,
  ``block_id``, ``name_zh``, ``name_en``, ``official_area_km2``, ``quality``,
  ``positional_uncertainty_m``, ``source``, geometry with a declared CRS), from the
  bundled ``data/boundaries/zone.geojson`` or any file the user gives. An optional
  ``zone_id`` (and ``zone_name_zh``) column lets one file hold many zones (a province's
  development zones): ``part_id`` stays unique over the file, ``name_zh`` within a zone,
  and every result names zone, block and part.

Parts without a polygon stay in the zone (geometry ``None``) and are reported as
"no geometry", never skipped.
"""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from xclz_geo.geo import crs as _crs
from xclz_geo import units
from xclz_geo.errors import BoundaryError, InputFileError, SchematicGeometryWarning, SpecError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

#: quality labels, best first
QUALITY_LEVELS = ("official", "surveyed", "osm", "schematic", "synthetic")

#: columns of the boundaries schema (geometry aside)
BOUNDARY_COLUMNS = (
    "part_id",
    "block_id",
    "name_zh",
    "name_en",
    "official_area_km2",
    "quality",
    "positional_uncertainty_m",
    "source",
)


# ------------------------------------------------------------------ spec


@dataclass(frozen=True)
class BlockSpec:
    """One block of the zone (宣城经开区, 广德经开区)."""

    id: str
    name_zh: str
    name_en: str
    official_area_km2: float | None
    full_name_zh: str = ""
    county_adcode: str = ""
    county_name_zh: str = ""


@dataclass(frozen=True)
class PartSpec:
    """One part of a block, with its verbatim 四至 text and official area."""

    id: str
    block_id: str
    name_zh: str
    name_en: str
    official_area_km2: float | None
    sizhi_zh: str = ""
    note: str = ""


@dataclass(frozen=True)
class ZoneSpec:
    """The zone as a plan defines it: ids, names, 四至 texts, official areas, source."""

    id: str
    name_zh: str
    name_en: str
    official_area_km2: float | None
    blocks: tuple[BlockSpec, ...]
    parts: tuple[PartSpec, ...]
    source: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: functional areas inside parts (:mod:`xclz_geo.boundaries.areas`), in spec order
    areas: tuple[Any, ...] = ()

    def block(self, block_id: str) -> BlockSpec:
        """The block with this id (``KeyError`` naming the known ids otherwise)."""
        for b in self.blocks:
            if b.id == block_id:
                return b
        raise KeyError(f"no block {block_id!r}; known: {', '.join(b.id for b in self.blocks)}")

    def part(self, part_id: str) -> PartSpec:
        """The part with this id (``KeyError`` naming the known ids otherwise)."""
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(f"no part {part_id!r}; known: {', '.join(p.id for p in self.parts)}")

    def parts_of(self, block_id: str) -> tuple[PartSpec, ...]:
        """Parts belonging to a block, in spec order."""
        return tuple(p for p in self.parts if p.block_id == block_id)


def _where(path: Path | str | None, loc: str) -> str:
    return f"{path}: {loc}" if path else loc


def _req(table: dict[str, Any], key: str, loc: str, path: Any, *, kind: type | tuple[type, ...] = str) -> Any:
    if key not in table:
        raise SpecError(f"{_where(path, loc)}: missing field '{key}'")
    value = table[key]
    if kind is str and not isinstance(value, str):
        raise SpecError(f"{_where(path, loc)}.{key}: expected text, got {type(value).__name__} {value!r}")
    if kind is str and not value.strip():
        raise SpecError(f"{_where(path, loc)}.{key}: must not be empty")
    return value


def _area(table: dict[str, Any], loc: str, path: Any, *, required: bool = True) -> float | None:
    key = "official_area_km2"
    if key not in table:
        if required:
            raise SpecError(f"{_where(path, loc)}: missing field '{key}'")
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{_where(path, loc)}.{key}: expected a number of km², got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise SpecError(f"{_where(path, loc)}.{key}: must be a positive number of km², got {value}")
    return value


def parse_spec(data: dict[str, Any], *, path: Path | str | None = None) -> ZoneSpec:
    """Validate a spec mapping (as read from TOML) and build a :class:`ZoneSpec`.

    Raises
    ------
    SpecError
        Naming the field at fault: a missing field, a duplicate id, a non-positive
        area, a part naming an unknown block, a block without parts.
    """
    if not isinstance(data.get("zone"), dict):
        raise SpecError(f"{_where(path, 'top level')}: missing table [zone]")
    z = data["zone"]
    zid = _req(z, "id", "[zone]", path)
    name_zh = _req(z, "name_zh", "[zone]", path)
    name_en = _req(z, "name_en", "[zone]", path)
    zone_area = _area(z, "[zone]", path)

    raw_blocks = data.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        raise SpecError(f"{_where(path, 'top level')}: missing [[blocks]] (at least one block is needed)")
    blocks: list[BlockSpec] = []
    seen: dict[str, str] = {}
    for i, b in enumerate(raw_blocks):
        loc = f"blocks[{i}]"
        bid = _req(b, "id", loc, path)
        if bid in seen:
            raise SpecError(f"{_where(path, loc)}.id: duplicate id {bid!r} (also used by {seen[bid]})")
        seen[bid] = loc
        blocks.append(
            BlockSpec(
                id=bid,
                name_zh=_req(b, "name_zh", loc, path),
                name_en=_req(b, "name_en", loc, path),
                official_area_km2=_area(b, loc, path),
                full_name_zh=str(b.get("full_name_zh", "")),
                county_adcode=str(b.get("county_adcode", "")),
                county_name_zh=str(b.get("county_name_zh", "")),
            )
        )
    raw_parts = data.get("parts")
    if not isinstance(raw_parts, list) or not raw_parts:
        raise SpecError(f"{_where(path, 'top level')}: missing [[parts]] (each block needs at least one part)")
    block_ids = {b.id for b in blocks}
    parts: list[PartSpec] = []
    part_seen: dict[str, str] = {}
    for i, p in enumerate(raw_parts):
        loc = f"parts[{i}]"
        pid = _req(p, "id", loc, path)
        if pid in part_seen:
            raise SpecError(f"{_where(path, loc)}.id: duplicate id {pid!r} (also used by {part_seen[pid]})")
        part_seen[pid] = loc
        bid = _req(p, "block_id", loc, path)
        if bid not in block_ids:
            raise SpecError(
                f"{_where(path, loc)}.block_id: part {pid!r} names unknown block {bid!r}; "
                f"known blocks: {', '.join(sorted(block_ids))}"
            )
        parts.append(
            PartSpec(
                id=pid,
                block_id=bid,
                name_zh=_req(p, "name_zh", loc, path),
                name_en=_req(p, "name_en", loc, path),
                official_area_km2=_area(p, loc, path),
                sizhi_zh=str(p.get("sizhi_zh", "")),
                note=str(p.get("note", "")),
            )
        )
    for b in blocks:
        if not any(p.block_id == b.id for p in parts):
            raise SpecError(f"{_where(path, 'blocks')}: block {b.id!r} has no parts; add a [[parts]] entry with block_id = {b.id!r}")
    source = data.get("source", {})
    if not isinstance(source, dict):
        raise SpecError(f"{_where(path, 'source')}: expected a table [source]")
    from xclz_geo.boundaries.areas import parse_areas

    areas = parse_areas(data.get("areas"), parts=parts, blocks=blocks, path=path)
    return ZoneSpec(
        id=zid,
        name_zh=name_zh,
        name_en=name_en,
        official_area_km2=zone_area,
        blocks=tuple(blocks),
        parts=tuple(parts),
        source=dict(source),
        path=Path(path) if path else None,
        areas=areas,
    )


def load_spec(path: str | Path | None = None) -> ZoneSpec:
    """Read and validate a zone spec TOML file (default: the bundled ``spec.toml``).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    SpecError
        The file is not valid TOML, or its content is malformed (the field is named).
    """
    from xclz_geo.datasets import spec_path

    p = Path(path) if path is not None else spec_path()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read spec file ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not UTF-8 text; save the spec as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: not valid TOML: {exc}") from None
    return parse_spec(data, path=p)


# ------------------------------------------------------------------ boundaries schema


def validate_boundaries(gdf: "gpd.GeoDataFrame", *, source: str = "boundaries") -> "gpd.GeoDataFrame":
    """Check a GeoDataFrame against the boundaries schema and return a normalised copy.

    Required: ``part_id``, ``block_id``, ``quality`` columns, a declared CRS and
    (Multi)Polygon or empty geometry. Optional: ``zone_id`` (many zones in one file; every
    part needs one, a block lies in one zone, ``name_zh`` is unique within a zone) and
    ``zone_name_zh`` (default: the ``zone_id``). Defaults: ``name_zh``/``name_en`` = ``part_id``,
    ``official_area_km2`` empty, ``positional_uncertainty_m`` 0 for ``official`` and
    ``surveyed`` (required otherwise), ``source`` = the file name.

    Raises
    ------
    BoundaryError
        Naming the file, column or row at fault.
    """
    import geopandas as gpd
    import pandas as pd

    if gdf.crs is None:
        raise BoundaryError(
            f"{source}: the layer has no CRS; declare it (e.g. EPSG:4490) or import it with "
            "`xclz-geo boundaries import FILE --crs EPSG:…`"
        )
    missing = [c for c in ("part_id", "block_id", "quality") if c not in gdf.columns]
    if missing:
        raise BoundaryError(
            f"{source}: missing column(s) {', '.join(missing)}; the boundaries schema needs "
            f"{', '.join(BOUNDARY_COLUMNS)} (see data/boundaries/README.md)"
        )
    out = gdf.copy()
    out["part_id"] = out["part_id"].astype(str)
    out["block_id"] = out["block_id"].astype(str)
    dup = sorted(set(out["part_id"][out["part_id"].duplicated()]))
    if dup:
        raise BoundaryError(
            f"{source}: part_id {', '.join(repr(d) for d in dup)} appears more than once; one row per part (dissolve first)"
        )
    bad_q = sorted(set(out["quality"].astype(str)) - set(QUALITY_LEVELS))
    if bad_q:
        raise BoundaryError(f"{source}: column quality has {bad_q}; allowed: {', '.join(QUALITY_LEVELS)}")
    for col in ("name_zh", "name_en"):
        if col not in out.columns:
            out[col] = out["part_id"]
        out[col] = out[col].where(out[col].notna(), out["part_id"]).astype(str)
    if "zone_id" in out.columns:
        # many zones in one file (a province's development zones): zone_id names the zone of each part
        zid = out["zone_id"]
        blank = zid.isna() | (zid.astype(str).str.strip() == "")
        if blank.any():
            row = out.index[blank][0]
            raise BoundaryError(
                f"{source}: row {row} (part {out.at[row, 'part_id']!r}) has no zone_id; give every part its zone, "
                "or drop the column for a file of one zone"
            )
        out["zone_id"] = zid.astype(str).str.strip()
        if "zone_name_zh" in out.columns:
            out["zone_name_zh"] = out["zone_name_zh"].where(out["zone_name_zh"].notna(), out["zone_id"]).astype(str)
        two = out.groupby("block_id")["zone_id"].nunique()
        if (two > 1).any():
            b = str(two.index[two > 1][0])
            raise BoundaryError(
                f"{source}: block_id {b!r} appears in zones {', '.join(sorted(set(out.loc[out['block_id'] == b, 'zone_id'])))}; "
                "a block belongs to one zone (prefix block ids with the zone id)"
            )
    # part names must be unique within a zone (two zones may each have a 主园区)
    scope = out["zone_id"] if "zone_id" in out.columns else None
    names = out["name_zh"].str.strip()
    keyed = names if scope is None else scope + "\0" + names
    dup_keys = sorted(set(keyed[keyed.duplicated()]))
    if dup_keys:
        which = "; ".join(
            f"{k.split(chr(0))[-1]!r} is used by parts {', '.join(out.loc[keyed == k, 'part_id'])}"
            + (f" (zone {k.split(chr(0))[0]!r})" if scope is not None else "")
            for k in dup_keys
        )
        raise BoundaryError(f"{source}: duplicate name_zh: {which}; give each part its own name")
    if "official_area_km2" not in out.columns:
        out["official_area_km2"] = float("nan")
    out["official_area_km2"] = pd.to_numeric(out["official_area_km2"], errors="coerce")
    if "positional_uncertainty_m" not in out.columns:
        out["positional_uncertainty_m"] = float("nan")
    out["positional_uncertainty_m"] = pd.to_numeric(out["positional_uncertainty_m"], errors="coerce")
    precise = out["quality"].isin(["official", "surveyed"])
    out.loc[precise & out["positional_uncertainty_m"].isna(), "positional_uncertainty_m"] = 0.0
    if out["positional_uncertainty_m"].isna().any():
        row = out.index[out["positional_uncertainty_m"].isna()][0]
        raise BoundaryError(
            f"{source}: row {row} (part {out.at[row, 'part_id']!r}) has quality "
            f"{out.at[row, 'quality']!r} but no positional_uncertainty_m; give an honest estimate in metres"
        )
    if (out["positional_uncertainty_m"] < 0).any():
        raise BoundaryError(f"{source}: positional_uncertainty_m must not be negative")
    if "source" not in out.columns:
        out["source"] = source
    out["source"] = out["source"].fillna(source).astype(str)
    geom_types = set(out.geometry[out.geometry.notna() & ~out.geometry.is_empty].geom_type)
    if geom_types - {"Polygon", "MultiPolygon"}:
        raise BoundaryError(
            f"{source}: geometry must be Polygon or MultiPolygon, found {', '.join(sorted(geom_types))}; "
            "closed lines from CAD go through `xclz-geo boundaries import`"
        )
    cols = list(BOUNDARY_COLUMNS) + [c for c in out.columns if c not in BOUNDARY_COLUMNS and c != out.geometry.name]
    return gpd.GeoDataFrame(out[cols], geometry=out.geometry, crs=out.crs)


def read_boundaries(path: str | Path, *, layer: str | None = None) -> "gpd.GeoDataFrame":
    """Read a boundaries-schema file (GeoJSON, GeoPackage, Shapefile, GeoParquet …), validate and check it.

    The file is read with :func:`xclz_geo.io.read_vector` (an unknown or unparseable declared
    CRS is refused, never read as EPSG:4326), validated (:func:`validate_boundaries`) and its
    part geometries checked (:func:`check_part_geometries`).
    """
    from xclz_geo.io import read_vector

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: boundaries file not found")
    if layer is None:
        layer = _boundaries_layer(p)
    gdf = read_vector(p, layer=layer)
    src = f"{p} (layer {layer})" if layer is not None else str(p)
    return check_part_geometries(validate_boundaries(gdf, source=src), source=src)


def _boundaries_layer(p: Path) -> str | None:
    """The layer of a multi-layer file (GeoPackage) that holds the boundaries schema; ``None`` for one layer.

    Never the first layer silently: the one layer with ``part_id``, ``block_id`` and ``quality``
    columns is taken; none or several raise :class:`BoundaryError` listing the layers.
    """
    from xclz_geo.io import geometry_layers

    names = geometry_layers(p)
    if not names:
        return None
    import pyogrio

    fits = []
    for name in names:
        try:
            fields = {str(f) for f in pyogrio.read_info(p, layer=name)["fields"]}
        except Exception:
            continue
        if {"part_id", "block_id", "quality"} <= fields:
            fits.append(name)
    if len(fits) == 1:
        return fits[0]
    raise BoundaryError(
        f"{p}: {len(names)} layers ({', '.join(names)}), "
        + (f"{len(fits)} in the boundaries schema ({', '.join(fits)})" if fits else "none in the boundaries schema")
        + "; name one with --boundaries-layer NAME"
    )


#: a part whose repair (``make_valid``) changes its area by more than this is refused, percent
MAX_REPAIR_AREA_CHANGE_PCT = 1.0


def _part_label(row: Any) -> str:
    name = str(row.get("name_zh", "") or "")
    pid = str(row["part_id"])
    return f"part {pid!r}" + (f" ({name})" if name and name != pid else "")


def check_part_geometries(
    gdf: "gpd.GeoDataFrame",
    *,
    source: str = "boundaries",
    max_repair_change_pct: float = MAX_REPAIR_AREA_CHANGE_PCT,
) -> "gpd.GeoDataFrame":
    """Refuse part polygons that cannot be where they claim; repair slightly invalid ones.

    For each part with a polygon, in order:

    1. **Where it is.** Its bounds in lon/lat must be finite, within ±180°/±90°, inside the
       area of use of the file's CRS and inside China (:data:`xclz_geo.crs.CHINA_BBOX`);
       otherwise :class:`BoundaryError` naming the part and the coordinates.
    2. **Valid geometry.** An invalid polygon (a ring crossing itself, a bow-tie) is
       repaired with ``shapely.make_valid`` keeping only its polygonal pieces. When the
       repair changes the part's planar area (in its CGCS2000 Gauss-Krüger zone) by at
       most ``max_repair_change_pct`` percent of the larger of the two areas, the repaired
       polygon is used and a :class:`~xclz_geo.errors.GeometryRepairWarning` names the part
       and the change; above that (a bow-tie whose halves cancel, a ring drawn inside out)
       the drawing is ambiguous and the part is refused with :class:`BoundaryError`.

    Returns
    -------
    GeoDataFrame
        ``gdf`` itself when nothing was repaired, else a copy with the repaired geometries.
    """
    import numpy as np
    import shapely

    from xclz_geo.errors import GeometryRepairWarning

    if gdf.crs is None or len(gdf) == 0:
        return gdf
    crs = _crs.to_crs(gdf.crs)
    to_geo = _crs.transformer(crs, _crs.CGCS2000_GEOGRAPHIC)
    geoms = gdf.geometry.to_numpy()
    fixed: dict[int, Any] = {}
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        row = gdf.iloc[i]
        label = _part_label(row)
        x0, y0, x1, y1 = geom.bounds
        if crs.is_geographic:
            lon_lat = (x0, y0, x1, y1)
        else:
            with np.errstate(all="ignore"):
                try:
                    lon_lat = to_geo.transform_bounds(x0, y0, x1, y1)
                except Exception:
                    lon_lat = (math.nan,) * 4
        problem = _crs.area_of_use_problem(lon_lat, crs)
        if problem is None:
            cx0, cy0, cx1, cy1 = _crs.CHINA_BBOX
            gx0, gy0, gx1, gy1 = lon_lat
            if gx0 < cx0 or gx1 > cx1 or gy0 < cy0 or gy1 > cy1:
                problem = f"{gx0:.4f}…{gx1:.4f}°E, {gy0:.4f}…{gy1:.4f}°N is outside China"
        if problem:
            raise BoundaryError(
                f"{source}: {label}: {problem}; fix the part's coordinates or the file's CRS ({crs.name})"
            )
        if shapely.is_valid(geom):
            continue
        reason = shapely.is_valid_reason(geom)
        repaired = shapely.make_valid(geom)
        pieces = [g for g in shapely.get_parts(repaired) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
        repaired = shapely.union_all(pieces) if pieces else shapely.Polygon()
        gk = _crs.gk_crs_for(tuple(lon_lat), crs=_crs.CGCS2000_GEOGRAPHIC)
        to_gk = _crs.transformer(crs, gk)

        def _gk(g: Any) -> Any:
            return shapely.transform(g, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))

        before = float(shapely.area(_gk(geom))) / units.M2_PER_KM2
        after = float(shapely.area(_gk(repaired))) / units.M2_PER_KM2 if not repaired.is_empty else 0.0
        big = max(before, after)
        change_pct = abs(after - before) / big * 100.0 if big > 0 else 100.0
        what = (f"{reason}; make_valid changes its area from {before:.4f} to {after:.4f} km² "
                f"({change_pct:.2f} %)")
        if change_pct > max_repair_change_pct or repaired.is_empty:
            raise BoundaryError(
                f"{source}: {label} is not a valid polygon ({what}, more than {max_repair_change_pct:g} %), so it "
                "cannot be repaired safely; redraw the part or import it with `xclz-geo boundaries import`"
            )
        warnings.warn(f"{source}: {label} was not a valid polygon ({what}); the repaired polygon is used",
                      GeometryRepairWarning, stacklevel=3)
        fixed[i] = repaired
    if not fixed:
        return gdf
    out = gdf.copy()
    col = out.geometry.name
    for i, g in fixed.items():
        out.iloc[i, out.columns.get_loc(col)] = g
    return out


# ------------------------------------------------------------------ Zone


class Zone:
    """A zone: its spec (may be ``None`` for a planner's own boundaries) and its parts.

    Use :meth:`Zone.load` for the bundled zone or a boundaries file.

    Attributes
    ----------
    spec
        The plan's definition, or ``None``.
    parts
        GeoDataFrame in the boundaries schema, one row per part (geometry may be ``None``),
        in the CRS of its source (bundled data: EPSG:4490).
    boundaries_source
        Where the geometry came from (a path, ``"spec only"``, or a description).
    areas
        Functional areas inside the parts (:mod:`xclz_geo.boundaries.areas`): one row per area of the
        spec (geometry ``None`` until imported) plus the rows of the file's ``areas`` layer.
    """

    def __init__(self, parts: "gpd.GeoDataFrame", *, spec: ZoneSpec | None = None, boundaries_source: str = "",
                 areas: "gpd.GeoDataFrame | None" = None) -> None:
        from xclz_geo.boundaries.areas import areas_frame

        self.parts = parts
        self.spec = spec
        self.boundaries_source = boundaries_source
        self.areas = areas_frame(spec, areas, crs=parts.crs)

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: ZoneSpec | str | Path | None = None) -> "Zone":
        """A zone with the spec's parts and no geometry."""
        import geopandas as gpd

        if not isinstance(spec, ZoneSpec):
            spec = load_spec(spec)
        rows = [
            {
                "part_id": p.id,
                "block_id": p.block_id,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "official_area_km2": p.official_area_km2 if p.official_area_km2 is not None else float("nan"),
                "quality": "official",
                "positional_uncertainty_m": float("nan"),
                "source": spec.source.get("document_number", str(spec.path or "spec")),
            }
            for p in spec.parts
        ]
        gdf = gpd.GeoDataFrame(rows, geometry=[None] * len(rows), crs=_crs.CGCS2000_GEOGRAPHIC)
        return cls(gdf, spec=spec, boundaries_source="spec only (no geometry)")

    @classmethod
    def from_boundaries(
        cls,
        boundaries: "str | Path | gpd.GeoDataFrame",
        *,
        spec: ZoneSpec | str | Path | None | bool = None,
        layer: str | None = None,
    ) -> "Zone":
        """A zone from a boundaries-schema file or GeoDataFrame.

        Parameters
        ----------
        boundaries
            Path or GeoDataFrame in the boundaries schema.
        spec
            A spec to attach. ``None`` (default): attach the bundled spec when every
            ``part_id`` of the file is one of its parts (missing official areas and names
            are then filled from it, and spec parts absent from the file are kept with no
            geometry); ``False``: never attach one.
        """
        import geopandas as gpd
        import pandas as pd

        from xclz_geo.boundaries.areas import check_areas, read_areas

        areas = None
        if isinstance(boundaries, gpd.GeoDataFrame):
            gdf = check_part_geometries(validate_boundaries(boundaries, source="boundaries table"), source="boundaries table")
            src = "GeoDataFrame"
        else:
            gdf = read_boundaries(boundaries, layer=layer)
            src = str(boundaries)
            areas = read_areas(boundaries, quality_levels=QUALITY_LEVELS)
        zspec: ZoneSpec | None
        if spec is False:
            zspec = None
        elif spec is None:
            try:
                cand = load_spec()
            except (InputFileError, SpecError):
                cand = None
            ids = {p.id for p in cand.parts} if cand else set()
            zspec = cand if cand is not None and set(gdf["part_id"]) <= ids else None
        elif isinstance(spec, ZoneSpec):
            zspec = spec
        else:
            zspec = load_spec(spec)
        if zspec is not None:
            known = {p.id: p for p in zspec.parts}
            unknown = sorted(set(gdf["part_id"]) - set(known))
            if unknown:
                raise BoundaryError(
                    f"{src}: part_id {', '.join(unknown)} not in spec {zspec.path}; known: {', '.join(known)}"
                )
            for i, row in gdf.iterrows():
                ps = known[row["part_id"]]
                if row["block_id"] != ps.block_id:
                    raise BoundaryError(
                        f"{src}: part {ps.id!r} has block_id {row['block_id']!r} but the spec puts it in {ps.block_id!r}"
                    )
                if pd.isna(row["official_area_km2"]) and ps.official_area_km2 is not None:
                    gdf.at[i, "official_area_km2"] = ps.official_area_km2
            missing = [p for p in zspec.parts if p.id not in set(gdf["part_id"])]
            if missing:
                extra = Zone.from_spec(zspec).parts
                extra = extra[extra["part_id"].isin([p.id for p in missing])].to_crs(gdf.crs)
                gdf = gpd.GeoDataFrame(pd.concat([gdf, extra], ignore_index=True), geometry=gdf.geometry.name, crs=gdf.crs)
            order = {p.id: i for i, p in enumerate(zspec.parts)}
            gdf = gdf.iloc[sorted(range(len(gdf)), key=lambda k: order[gdf["part_id"].iloc[k]])].reset_index(drop=True)
        zone = cls(gdf, spec=zspec, boundaries_source=src, areas=areas)
        if areas is not None:
            check_areas(zone)  # an area leaving its part is an error naming it (never a silent mismatch)
        return zone

    @classmethod
    def load(
        cls,
        *,
        boundaries: "str | Path | gpd.GeoDataFrame | None" = None,
        spec: str | Path | ZoneSpec | None = None,
        layer: str | None = None,
    ) -> "Zone":
        """Load a zone.

        With no arguments: the bundled spec and the bundled polygons
        (``data/boundaries/zone.geojson``) when present, else the spec alone.
        ``boundaries`` replaces the bundled polygons with a user's file; ``spec`` a
        user's spec.
        """
        from xclz_geo.datasets import data_path

        if boundaries is not None:
            return cls.from_boundaries(boundaries, spec=spec, layer=layer)
        zspec = spec if isinstance(spec, ZoneSpec) else load_spec(spec)
        bundled = data_path("boundaries", "zone.geojson", must_exist=False)
        if spec is None and bundled.exists():
            return cls.from_boundaries(bundled, spec=zspec)
        return cls.from_spec(zspec)

    # -- properties ---------------------------------------------------------------
    @property
    def crs(self) -> Any:
        """CRS of :attr:`parts`."""
        return self.parts.crs

    @property
    def part_ids(self) -> list[str]:
        """Part ids in order."""
        return list(self.parts["part_id"])

    @property
    def block_ids(self) -> list[str]:
        """Block ids in order of first appearance."""
        return list(dict.fromkeys(self.parts["block_id"]))

    @property
    def zone_ids(self) -> list[str]:
        """Zone id of each part, in part order: the ``zone_id`` column of a many-zone file, else the spec's id.

        A planner's own single-zone file without ``zone_id`` and without a spec gives ``""``
        (the results then name block and part only).
        """
        if "zone_id" in self.parts.columns:
            return [str(z) for z in self.parts["zone_id"]]
        zid = self.spec.id if self.spec is not None else ""
        return [zid] * len(self.parts)

    @property
    def zone_count(self) -> int:
        """Number of distinct zones in :attr:`parts` (1 for a file without ``zone_id``)."""
        return len(set(self.zone_ids)) if len(self.parts) else 0

    @property
    def has_geometry(self) -> bool:
        """True when at least one part has a non-empty polygon."""
        g = self.parts.geometry
        return bool((g.notna() & ~g.is_empty).any()) if len(g) else False

    @property
    def qualities(self) -> list[str]:
        """Distinct quality labels of parts with geometry, worst last."""
        g = self.parts.geometry
        q = set(self.parts.loc[g.notna() & ~g.is_empty, "quality"])
        return [x for x in QUALITY_LEVELS if x in q]

    @property
    def worst_quality(self) -> str | None:
        """The least reliable quality label among parts with geometry (``None`` without geometry)."""
        q = self.qualities
        return q[-1] if q else None

    @property
    def is_schematic(self) -> bool:
        """True when any part geometry is ``schematic`` or ``synthetic``."""
        return any(q in ("schematic", "synthetic") for q in self.qualities)

    @cached_property
    def gk_crs(self) -> Any:
        """The CGCS2000 3° GK CRS used for metric work on this zone (chosen from its centre)."""
        g = self.parts.geometry
        geo = self.parts[g.notna() & ~g.is_empty]
        if len(geo) == 0:
            return _crs.to_crs(_crs.XUANCHENG_GK_EPSG)
        return _crs.gk_crs_for(geo)

    @cached_property
    def parts_gk(self) -> "gpd.GeoDataFrame":
        """:attr:`parts` projected to :attr:`gk_crs` (cached)."""
        return self.parts.to_crs(self.gk_crs)

    @cached_property
    def geometry_hash(self) -> str:
        """SHA-256 of the part ids, CRS and geometry WKB (cache key for derived structures)."""
        h = hashlib.sha256()
        h.update(str(self.parts.crs).encode())
        for pid, geom in zip(self.parts["part_id"], self.parts.geometry):
            h.update(str(pid).encode())
            h.update(b"\0" if geom is None else geom.wkb)
        return h.hexdigest()

    def part(self, part_id: str) -> dict[str, Any]:
        """One part's row as a dict (``KeyError`` naming the known ids otherwise)."""
        m = self.parts["part_id"] == part_id
        if not m.any():
            raise KeyError(f"no part {part_id!r}; known: {', '.join(self.part_ids)}")
        return self.parts[m].iloc[0].to_dict()

    @property
    def quality_by_part(self) -> dict[str, str | None]:
        """``{part_id: quality}`` in zone order; ``None`` for a part without geometry."""
        g = self.parts.geometry
        has = (g.notna() & ~g.is_empty).to_numpy() if len(g) else []
        return {str(pid): (str(q) if h else None) for pid, q, h in zip(self.parts["part_id"], self.parts["quality"], has)}

    @property
    def is_mixed_quality(self) -> bool:
        """True when the parts with geometry carry more than one quality label."""
        return len(self.qualities) > 1

    def warn_if_schematic(self) -> None:
        """Emit :class:`SchematicGeometryWarning` when any part's geometry is schematic or synthetic.

        When the parts differ, the warning names the parts that are not official (see
        :func:`describe_quality`).
        """
        if not self.is_schematic:
            return
        if self.is_mixed_quality:
            what = f"are mixed ({describe_quality(self)}); the schematic/synthetic parts are not official"
        else:
            what = f"are {self.worst_quality}, not official"
        warnings.warn(
            f"boundaries from {self.boundaries_source} {what}: "
            "positions are uncertain by kilometres; use --boundaries with the official red line",
            SchematicGeometryWarning,
            stacklevel=2,
        )

    def __repr__(self) -> str:
        name = self.spec.name_zh if self.spec else "user zone"
        return f"Zone({name!r}, parts={self.part_ids}, quality={self.qualities or 'no geometry'})"


# ------------------------------------------------------------------ quality per part

#: labels whose geometry is not a red line (drawn from text or invented)
NOT_OFFICIAL_QUALITIES = ("schematic", "synthetic")


@dataclass(frozen=True)
class QualityGroup:
    """Parts sharing one quality label (``"no geometry"`` for parts without a polygon)."""

    quality: str
    part_ids: tuple[str, ...]
    names_zh: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"quality": self.quality, "parts": list(self.part_ids), "names_zh": list(self.names_zh)}


def quality_groups(zone: "Zone") -> list[QualityGroup]:
    """The zone's parts grouped by quality label, best label first, parts without geometry last."""
    by_part = zone.quality_by_part
    names = dict(zip(zone.parts["part_id"].astype(str), zone.parts["name_zh"].astype(str)))
    groups: list[QualityGroup] = []
    for q in (*QUALITY_LEVELS, None):
        ids = tuple(pid for pid, pq in by_part.items() if pq == q)
        if ids:
            groups.append(QualityGroup(q or "no geometry", ids, tuple(names.get(i, i) for i in ids)))
    return groups


def describe_quality(zone: "Zone") -> str:
    """The zone's boundary quality in words, per part when the parts differ.

    ``"official"`` when every part with geometry is official (and none lacks one);
    ``"广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic"`` when they differ
    (best label first; parts without a polygon as ``no geometry``); ``"no geometry"`` for
    a zone without polygons. Used by the ``locate`` text output, the map banner, the
    report header and the area notes; :func:`quality_summary` is the structured form.
    """
    groups = quality_groups(zone)
    if not groups:
        return "no geometry"
    if len(groups) == 1:
        return groups[0].quality
    return "; ".join(f"{', '.join(g.names_zh)}: {g.quality}" for g in groups)


def quality_summary(zone: "Zone") -> dict[str, Any]:
    """Structured form of :func:`describe_quality` for JSON outputs.

    Returns
    -------
    dict
        ``label`` (the text of :func:`describe_quality`), ``mixed`` (parts with geometry
        differ), ``worst`` (least reliable label among parts with geometry, or ``None``),
        ``quality_by_part`` (``{part_id: label or None}``) and ``groups`` (one entry per
        label: ``quality``, ``parts``, ``names_zh``).
    """
    return {
        "label": describe_quality(zone),
        "mixed": zone.is_mixed_quality,
        "worst": zone.worst_quality,
        "quality_by_part": zone.quality_by_part,
        "groups": [g.to_dict() for g in quality_groups(zone)],
    }


def load_zone(
    boundaries: "str | Path | gpd.GeoDataFrame | None" = None,
    *,
    spec: str | Path | ZoneSpec | None = None,
    layer: str | None = None,
) -> Zone:
    """Load the zone: the bundled one, or a user's boundaries file (the top-level ``xclz_geo.load_zone``).

    Parameters
    ----------
    boundaries
        A boundaries file (GeoJSON, GeoPackage, Shapefile, GeoParquet …) or GeoDataFrame in the
        boundaries schema; ``None`` for the bundled (schematic) polygons.
    spec
        A zone specification (``spec.toml``) instead of the bundled one.
    layer
        Layer of a multi-layer ``boundaries`` file.

    Returns
    -------
    Zone
        Same as :meth:`Zone.load`.
    """
    return Zone.load(boundaries=boundaries, spec=spec, layer=layer)


# ------------------------------------------------------------------ area report


@dataclass
class PartArea:
    """Measured and official area of one part."""

    id: str
    block: str
    name_zh: str
    name_en: str
    official_km2: float | None
    measured_km2: float | None
    geodesic_km2: float | None
    deviation_km2: float | None
    deviation_mu: float | None
    deviation_pct: float | None
    geodesic_deviation_pct: float | None
    quality: str | None  # None when the part has no geometry
    status: str  # "pass" | "fail" | "no geometry" | "no official area"
    crs: str | None

    @property
    def measured_mu(self) -> float | None:
        return None if self.measured_km2 is None else units.km2_to_mu(self.measured_km2)

    @property
    def official_mu(self) -> float | None:
        return None if self.official_km2 is None else units.km2_to_mu(self.official_km2)

    @property
    def measured_ha(self) -> float | None:
        """Measured (planar) area in 公顷 (hectares)."""
        return None if self.measured_km2 is None else units.m2_to_ha(units.km2_to_m2(self.measured_km2))

    @property
    def official_ha(self) -> float | None:
        """Official area in 公顷 (hectares)."""
        return None if self.official_km2 is None else units.m2_to_ha(units.km2_to_m2(self.official_km2))

    @property
    def deviation_ha(self) -> float | None:
        """Measured minus official area in 公顷."""
        return None if self.deviation_km2 is None else units.m2_to_ha(units.km2_to_m2(self.deviation_km2))


@dataclass
class AreaCheck:
    """One arithmetic or measurement check."""

    name: str
    expected: float | None
    actual: float | None
    ok: bool | None
    detail: str = ""


@dataclass
class AreaReport:
    """Result of :func:`area_report`.

    The common result shape: :attr:`table` (one row per part), :attr:`summary` (``quality``,
    ``ok``, checks; ``provenance``: notes and the quality per part) and :meth:`to_dict`. Not
    spatial (no ``layer``): the zone's :attr:`Zone.parts` is the layer.
    """

    zone: dict[str, Any]
    parts: list[PartArea]
    blocks: list[dict[str, Any]]
    checks: list[AreaCheck]
    tolerance_pct: float
    quality: str | None
    notes: list[str] = field(default_factory=list)
    #: :func:`quality_summary` of the zone (label per part)
    quality_detail: dict[str, Any] = field(default_factory=dict)
    #: functional areas (:class:`xclz_geo.boundaries.areas.AreaStatus`), with or without geometry
    areas: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check that could run passed and no measured part or area failed."""
        return (all(c.ok is not False for c in self.checks) and all(p.status != "fail" for p in self.parts)
                and all(a.status not in ("fail", "outside part") for a in self.areas))

    @property
    def table(self) -> "pd.DataFrame":
        """One row per part: official, measured and geodesic areas (km², 公顷, 亩), deviation, quality, status."""
        import pandas as pd

        return pd.DataFrame(self.to_dict()["parts"])

    @property
    def summary(self) -> dict[str, Any]:
        """JSON-able: ``quality``, ``ok``, ``tolerance_pct``, the zone and block sums, the checks and
        ``provenance`` (notes, quality per part)."""
        d = self.to_dict()
        return {
            "quality": d["quality"],
            "quality_label": d["quality_label"],
            "ok": d["ok"],
            "tolerance_pct": d["tolerance_pct"],
            "zone": d["zone"],
            "blocks": d["blocks"],
            "checks": d["checks"],
            "provenance": {"method": "planar areas in the zone's Gauss-Krüger CRS against the official areas",
                           "notes": d["notes"], "quality_by_part": d["quality_by_part"]},
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``None`` where a value does not exist)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {
            "zone": {k: clean(v) for k, v in self.zone.items()},
            "parts": [
                {
                    "id": p.id,
                    "block": p.block,
                    "name_zh": p.name_zh,
                    "name_en": p.name_en,
                    "official_km2": clean(p.official_km2),
                    "official_ha": clean(p.official_ha),
                    "official_mu": clean(p.official_mu),
                    "measured_km2": clean(p.measured_km2),
                    "measured_ha": clean(p.measured_ha),
                    "measured_mu": clean(p.measured_mu),
                    "geodesic_km2": clean(p.geodesic_km2),
                    "deviation_km2": clean(p.deviation_km2),
                    "deviation_ha": clean(p.deviation_ha),
                    "deviation_mu": clean(p.deviation_mu),
                    "deviation_pct": clean(p.deviation_pct),
                    "geodesic_deviation_pct": clean(p.geodesic_deviation_pct),
                    "quality": p.quality,
                    "status": p.status,
                    "crs": p.crs,
                }
                for p in self.parts
            ],
            "blocks": [{k: clean(v) for k, v in b.items()} for b in self.blocks],
            "checks": [
                {"name": c.name, "expected": clean(c.expected), "actual": clean(c.actual), "ok": c.ok, "detail": c.detail}
                for c in self.checks
            ],
            "tolerance_pct": self.tolerance_pct,
            "quality": self.quality,
            "quality_label": self.quality_detail.get("label", self.quality),
            "quality_by_part": dict(self.quality_detail.get("quality_by_part", {})),
            "ok": self.ok,
            "notes": self.notes,
            "areas": [a.to_dict() for a in self.areas],
        }


def _opt(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _sum_check(name: str, expected: float | None, parts: Iterable[float | None], rounding_km2: float) -> AreaCheck:
    vals = list(parts)
    if expected is None or any(v is None for v in vals):
        return AreaCheck(name, expected, None, None, "not checked: an official figure is missing")
    actual = round(sum(v for v in vals if v is not None), 6)
    # published figures are rounded to 0.01 km²: allow half a unit per summand, plus float noise
    allowed = rounding_km2 / 2 * (len(vals) + 1) + 1e-9
    ok = abs(actual - expected) <= allowed
    detail = f"|{actual:.4f} − {expected:.4f}| = {abs(actual - expected):.4f} km² (allowed {allowed:.4f})"
    return AreaCheck(name, expected, actual, ok, detail)


def area_report(zone: Zone, *, tolerance_pct: float = 1.0, rounding_km2: float = 0.01) -> AreaReport:
    """Check a zone's official areas and measure its polygons.

    (a) Declared arithmetic: the parts of each block sum to the block's official area,
    and the blocks sum to the zone's, within the rounding of the published figures
    (``rounding_km2``, half a unit per summand). (b) Each part with a polygon: its planar
    area in the zone's CGCS2000 3° Gauss-Krüger CRS and its geodesic area on the GRS80
    ellipsoid, with the deviation of the planar area from the official figure in km², 亩
    and %, and ``pass``/``fail`` against ``tolerance_pct``. Parts without a polygon are
    reported with status ``"no geometry"``.

    Parameters
    ----------
    zone
        The zone.
    tolerance_pct
        Allowed |deviation| of the measured from the official area, in percent.
    rounding_km2
        Rounding unit of the published figures.
    """
    if tolerance_pct < 0:
        raise ValueError("tolerance_pct must be ≥ 0")
    spec = zone.spec
    gk = zone.gk_crs
    gk_label = f"EPSG:{gk.to_epsg()}" if gk.to_epsg() else gk.name
    gk_parts = zone.parts_gk
    parts: list[PartArea] = []
    for (_, row), geom_gk, geom in zip(zone.parts.iterrows(), gk_parts.geometry, zone.parts.geometry):
        official = _opt(row["official_area_km2"])
        if geom is None or geom.is_empty:
            parts.append(
                PartArea(row["part_id"], row["block_id"], row["name_zh"], row["name_en"], official,
                         None, None, None, None, None, None, None, "no geometry", None)
            )
            continue
        measured = float(_crs.planar_area_m2([geom_gk], crs=gk)[0]) / units.M2_PER_KM2
        geodesic = _crs.geodesic_area_m2(geom, crs=zone.crs) / units.M2_PER_KM2
        if official is None:
            dev = dev_mu = pct = gpct = None
            status = "no official area"
        else:
            dev = measured - official
            dev_mu = units.km2_to_mu(dev)
            pct = dev / official * 100.0
            gpct = (geodesic - official) / official * 100.0
            status = "pass" if abs(pct) <= tolerance_pct else "fail"
        parts.append(
            PartArea(row["part_id"], row["block_id"], row["name_zh"], row["name_en"], official,
                     measured, geodesic, dev, dev_mu, pct, gpct, str(row["quality"]), status, gk_label)
        )
    checks: list[AreaCheck] = []
    blocks: list[dict[str, Any]] = []
    block_ids = [b.id for b in spec.blocks] if spec else zone.block_ids
    for bid in block_ids:
        bparts = [p for p in parts if p.block == bid]
        b_off = spec.block(bid).official_area_km2 if spec else None
        measured_vals = [p.measured_km2 for p in bparts]
        blocks.append(
            {
                "id": bid,
                "name_zh": spec.block(bid).name_zh if spec else bid,
                "official_km2": b_off,
                "parts_official_km2": sum(p.official_km2 for p in bparts) if all(p.official_km2 is not None for p in bparts) else None,
                "measured_km2": sum(v for v in measured_vals if v is not None) if all(v is not None for v in measured_vals) else None,
            }
        )
        if spec and len(bparts) > 1:
            checks.append(
                _sum_check(f"parts of {bid} sum to the block ({' + '.join(p.id for p in bparts)})",
                           b_off, [p.official_km2 for p in bparts], rounding_km2)
            )
        elif spec and len(bparts) == 1:
            checks.append(_sum_check(f"part {bparts[0].id} equals block {bid}", b_off, [bparts[0].official_km2], rounding_km2))
    if spec:
        checks.append(
            _sum_check(f"blocks sum to the zone ({' + '.join(block_ids)})", spec.official_area_km2,
                       [spec.block(b).official_area_km2 for b in block_ids], rounding_km2)
        )
    for p in parts:
        if p.status in ("pass", "fail"):
            checks.append(
                AreaCheck(f"measured area of {p.id} within {tolerance_pct}% of official", p.official_km2,
                          p.measured_km2, p.status == "pass",
                          f"{p.deviation_pct:+.3f}% in {p.crs} ({p.quality})")
            )
    notes = [
        f"measured_km2 is planar in {gk_label} (CGCS2000 3° Gauss-Krüger); geodesic_km2 is on the GRS80 ellipsoid.",
    ]
    notes.extend(_part_area_notes(parts, tolerance_pct=tolerance_pct))
    if not zone.has_geometry:
        notes.append("No part has geometry: only the declared arithmetic was checked.")
    zone_info = {
        "id": spec.id if spec else None,
        "name_zh": spec.name_zh if spec else None,
        "name_en": spec.name_en if spec else None,
        "official_km2": spec.official_area_km2 if spec else None,
        "measured_km2": sum(p.measured_km2 for p in parts if p.measured_km2 is not None) if zone.has_geometry else None,
        "source": (spec.source.get("document_number") if spec else None),
        "boundaries": zone.boundaries_source,
    }
    from xclz_geo.boundaries.areas import area_statuses

    fareas = area_statuses(zone, tolerance_pct=tolerance_pct)
    no_geom = [a.name_zh for a in fareas if a.status == "no geometry"]
    if no_geom:
        notes.append(f"functional areas without geometry (import with `xclz-geo boundaries import FILE --area ID`): "
                     f"{'、'.join(no_geom)}")
    return AreaReport(zone_info, parts, blocks, checks, tolerance_pct, zone.worst_quality, notes,
                      quality_detail=quality_summary(zone), areas=fareas)


def _names(ps: list[PartArea]) -> str:
    return ", ".join(p.name_zh for p in ps)


def _part_area_notes(parts: list[PartArea], *, tolerance_pct: float) -> list[str]:
    """Notes on the measured areas that depend on each part's own quality label.

    * schematic/synthetic parts within the tolerance: their geometry reproduces the
      official areas by construction and says nothing about the true boundary;
    * schematic/synthetic parts outside it: they do *not* reproduce the official figure;
    * official, surveyed or OSM parts outside it: the deviation is named, with what to check.
    """
    notes: list[str] = []
    for q in QUALITY_LEVELS:
        mine = [p for p in parts if p.quality == q and p.measured_km2 is not None]
        if not mine:
            continue
        ok = [p for p in mine if p.status == "pass"]
        off = [p for p in mine if p.status == "fail"]
        unchecked = [p for p in mine if p.status == "no official area"]
        if q in NOT_OFFICIAL_QUALITIES:
            if ok:
                notes.append(
                    f"{_names(ok)} ({q}): the geometry reproduces the official areas by construction and says "
                    "nothing about where the true boundary runs."
                )
            for p in off:
                notes.append(
                    f"{p.name_zh} ({q}): the geometry does not reproduce the official area "
                    f"({p.deviation_pct:+.1f} %, {p.deviation_km2:+.3f} km²) and says nothing about where the true "
                    "boundary runs."
                )
            if unchecked:
                notes.append(f"{_names(unchecked)} ({q}): no official area to compare; the geometry is not a red line.")
        else:
            for p in off:
                notes.append(
                    f"{p.name_zh} ({q}): the measured area is {p.deviation_pct:+.1f} % "
                    f"({p.deviation_km2:+.3f} km², {p.deviation_mu:+,.0f} 亩) off the official figure, beyond "
                    f"±{tolerance_pct:g} %; check that the file holds only this part's red line (other CAD layers, "
                    "another part, the CRS) and that the official figure applies to it."
                )
    return notes


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "QUALITY_LEVELS", "BOUNDARY_COLUMNS", "BlockSpec", "PartSpec", "ZoneSpec", "parse_spec", "load_spec",
    "validate_boundaries", "read_boundaries", "MAX_REPAIR_AREA_CHANGE_PCT", "check_part_geometries", "Zone",
    "NOT_OFFICIAL_QUALITIES", "QualityGroup", "quality_groups", "describe_quality", "quality_summary",
    "load_zone", "PartArea", "AreaCheck", "AreaReport", "area_report"
]
