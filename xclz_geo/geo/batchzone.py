"""A zone for table batches from the disk cache: no geopandas, no pandas, no boundaries file read.

``xclz-geo locate --input big.csv --out out.csv`` spent about a second of CPU before its first row:
loading the zone imports pandas and geopandas and reads the boundaries file. What the located rows
need of the zone is small: the parts' ids, names, quality labels and Gauss-Krüger polygons (the
exact stage and the distances), the zone's quality and provenance, and the lookup grid of the input's
frame, which :mod:`xclz_geo.geo.grid` already keeps in the disk cache. A :class:`BatchZone` holds
exactly that, from one cache entry (:mod:`xclz_geo.geo.cache`, keyed like the single-site snapshot by
the boundaries and spec files' content, the layer and the code version), and is passed to
:func:`xclz_geo.geo.locate.locate_xy` with the cached grid: the same code locates the rows, on the
same polygons (WKB round-trips every coordinate bit for bit) and the same grid, so every output cell
is the one the full path writes.

The entry stores the keys of the frames' grids (WGS84/CGCS2000, GCJ-02, BD-09 lon/lat) as the full
path computes them; a frame whose grid is not on disk yet is answered by the full path, which builds
and stores it. Projected input (``--crs``) and zones with functional areas always take the full path.
pyproj is still imported (the exact stage and the distances project with it, as the full path does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from xclz_geo.geo import cache as _cache

#: entry kind in the disk cache
BATCH_KIND = "zone-batch"
#: the datum frames whose grid keys an entry records
DATUM_FRAMES = ("wgs84", "gcj02", "bd09")


def batch_key(*, boundaries: str | Path, spec: str | Path | None, layer: str | None) -> str:
    """Cache key of the batch zone loaded from ``boundaries`` (+ ``spec``, ``layer``): the same inputs
    as the single-site snapshot's key (:func:`xclz_geo.geo.site.snapshot_key`)."""
    from xclz_geo.geo.site import snapshot_key

    return _cache.entry_key(BATCH_KIND, snapshot_key(boundaries=boundaries, spec=spec, layer=layer))


@dataclass
class BatchZone:
    """What :func:`~xclz_geo.geo.locate.locate_xy` and a batch's summary need of a zone (see the module
    docstring); duck-types :class:`~xclz_geo.boundaries.zone.Zone` for them.

    Attributes
    ----------
    meta
        JSON-able: ``parts`` (part_id, block_id, name, uncertainty_m per part, in zone order),
        ``zone_ids``, ``quality_by_part``, ``worst_quality``, ``boundaries_source``, ``gk_wkt``,
        ``grid_keys`` (frame key → grid cache key) and ``schematic_warnings`` (the texts the zone's
        schematic warning prints).
    wkb
        The parts' Gauss-Krüger polygons as WKB (``None`` for a part without geometry).
    """

    meta: dict[str, Any]
    wkb: list[bytes | None]
    _grids: dict[str, Any] = field(default_factory=dict)
    _gk: Any = None

    is_batch_zone = True
    areas = None  # a zone with functional area geometry never becomes a BatchZone

    @property
    def parts(self) -> dict[str, list[str]]:
        return {"part_id": [p["part_id"] for p in self.meta["parts"]]}

    @property
    def part_ids(self) -> list[str]:
        return [p["part_id"] for p in self.meta["parts"]]

    @property
    def zone_ids(self) -> list[str]:
        return list(self.meta["zone_ids"])

    @property
    def quality_by_part(self) -> dict[str, str]:
        return dict(self.meta["quality_by_part"])

    @property
    def worst_quality(self) -> str | None:
        return self.meta["worst_quality"]

    @property
    def boundaries_source(self) -> str:
        return self.meta["boundaries_source"]

    @property
    def gk_crs(self) -> Any:
        if self._gk is None:
            from pyproj import CRS

            self._gk = CRS.from_wkt(self.meta["gk_wkt"])
        return self._gk

    def warn_if_schematic(self) -> None:
        """The zone's :class:`~xclz_geo.errors.SchematicGeometryWarning`, with the text the full zone gives."""
        import warnings

        from xclz_geo.errors import SchematicGeometryWarning

        for text in self.meta.get("schematic_warnings", []):
            warnings.warn(text, SchematicGeometryWarning, stacklevel=2)

    def grid(self, frame: Any) -> Any:
        """The cached lookup grid for ``frame`` (a :class:`~xclz_geo.geo.grid.Frame`), or ``None`` when it
        is not on disk (the full path then builds it)."""
        if frame.key in self._grids:
            return self._grids[frame.key]
        from xclz_geo.geo import grid as _grid

        key = self.meta["grid_keys"].get(frame.key)
        g = None
        if key is not None:
            import shapely

            parts = [
                _grid.PartGeometry(index=i, part_id=p["part_id"], block_id=p["block_id"],
                                   geometry=None if w is None else shapely.from_wkb(w), uncertainty_m=float(p["uncertainty_m"]))
                for i, (p, w) in enumerate(zip(self.meta["parts"], self.wkb))
            ]
            g = _grid._load_grid(key, frame, self.gk_crs, parts)
            if g is not None:
                g.quality = self.worst_quality
                g.part_names_zh = tuple(p["name"] for p in self.meta["parts"])
        self._grids[frame.key] = g
        return g


def batch_zone_from_zone(zone: Any, *, schematic_warnings: list[str]) -> BatchZone | None:
    """The :class:`BatchZone` of a loaded :class:`~xclz_geo.boundaries.zone.Zone`; ``None`` when a batch
    of it must take the full path (functional areas, no part polygon)."""
    import shapely

    from xclz_geo.geo import grid as _grid

    if not getattr(zone, "has_geometry", False):
        return None
    from xclz_geo.geo.locate import has_area_geometry

    if has_area_geometry(zone):  # xclz_area needs the areas' geometry: the full path
        return None
    parts, gk = _grid.zone_part_geometries(zone)  # as build_grid sees them
    zk = _grid.zone_key(zone)
    size = _grid._cell_size(parts, target_cells=_grid.DEFAULT_TARGET_CELLS)
    grid_keys = {}
    for d in DATUM_FRAMES:
        frame = _grid.make_frame(datum=d)
        key = _grid._disk_key((zk, frame.key, None, _grid.DEFAULT_TARGET_CELLS), gk, size)
        if key is None:
            return None
        grid_keys[frame.key] = key
    names = zone.parts["name_zh"] if "name_zh" in zone.parts.columns else zone.parts["part_id"]
    meta = {
        "parts": [{"part_id": p.part_id, "block_id": p.block_id, "name": str(n), "uncertainty_m": float(p.uncertainty_m)}
                  for p, n in zip(parts, names)],
        "zone_ids": [str(z) for z in (getattr(zone, "zone_ids", None) or [])],
        "quality_by_part": {str(k): str(v) for k, v in (zone.quality_by_part or {}).items()},
        "worst_quality": zone.worst_quality,
        "boundaries_source": zone.boundaries_source,
        "gk_wkt": gk.to_wkt(),
        "grid_keys": grid_keys,
        "schematic_warnings": list(schematic_warnings),
    }
    wkb = [bytes(shapely.to_wkb(p.geometry)) if p.geometry is not None else None for p in parts]
    return BatchZone(meta=meta, wkb=wkb)


def store_batch_zone(key: str, bz: BatchZone) -> bool:
    """Write a batch zone to the disk cache (atomic; ``False`` when the cache is off or unwritable)."""
    return _cache.store_entry(key, bz.meta, _cache.pack_wkb(bz.wkb))


def load_batch_zone(key: str) -> BatchZone | None:
    """A batch zone from the disk cache, or ``None`` (absent, or damaged: then removed)."""
    def build(meta: dict[str, Any], arrays: dict[str, Any]) -> BatchZone:
        n = len(meta["parts"])
        wkb = _cache.unpack_wkb(arrays, n)
        if len(meta["zone_ids"]) not in (0, n) or not isinstance(meta["grid_keys"], dict):
            raise ValueError("meta")
        import shapely

        shapely.from_wkb([w for w in wkb if w is not None])  # a corrupt WKB fails here, not later
        return BatchZone(meta=meta, wkb=wkb)

    return _cache.load_valid(key, build)  # any damage: the entry is ignored and rebuilt


__all__ = ["BATCH_KIND", "BatchZone", "batch_key", "batch_zone_from_zone", "load_batch_zone", "store_batch_zone"]
