"""xclz_geo: boundaries and land use of the Xuancheng linkage innovation zone.

中国(安徽)自由贸易试验区宣城联动创新区 — 四至 text to polygons, official-area checks,
site checks in any Chinese datum, offline maps, land-use overlay and 亩均效益 evaluation.

The package is cut by concern; dependencies point one way, down this list:

``errors``, ``units``, ``datasets``
    the error hierarchy with exit codes; m²/公顷/亩; the bundled data.
``geo``
    CRSs and datums, the lookup grid, site checks (``locate``).
``io``
    the one way in and out for files (vector, tables, atomic writes).
``boundaries``
    四至 text, networks, the digitizer, the zone model, official imports.
``landuse``
    land-use codes, parcel and raster overlays.
``efficiency``
    亩均效益 evaluation and TD/T 1029 indicators.
``outputs``
    maps, reports, charts, the headless browser.
``cli``
    the ``xclz-geo`` command, thin over the rest.

The most used functions are available from the top level and imported lazily, so
``import xclz_geo`` stays cheap (heavy modules load on first use)::

    import xclz_geo
    zone = xclz_geo.load_zone()
    result = xclz_geo.locate_xy(zone, 119.4681, 30.8931, datum="gcj02")
"""

from __future__ import annotations

from typing import Any

from xclz_geo.errors import XclzGeoError  # noqa: E402

#: top-level name -> (module, attribute), imported on first access
_LAZY: dict[str, tuple[str, str]] = {
    "load_zone": ("xclz_geo.boundaries.zone", "load_zone"),
    "Zone": ("xclz_geo.boundaries.zone", "Zone"),
    "area_report": ("xclz_geo.boundaries.zone", "area_report"),
    "parse_sizhi": ("xclz_geo.boundaries.sizhi", "parse_sizhi"),
    "digitize": ("xclz_geo.boundaries.digitize", "digitize"),
    "import_boundaries": ("xclz_geo.boundaries.importing", "import_boundaries"),
    "locate": ("xclz_geo.geo.locate", "locate"),
    "locate_xy": ("xclz_geo.geo.locate", "locate_xy"),
    "landuse_from_parcels": ("xclz_geo.landuse.overlay", "landuse_by_part"),
    "landcover_from_raster": ("xclz_geo.landuse.overlay", "landcover_by_part"),
    "evaluate": ("xclz_geo.efficiency.evaluate", "evaluate"),
    "zone_map": ("xclz_geo.outputs.maps", "zone_map"),
    "build_report": ("xclz_geo.outputs.report", "build_report"),
    "read_vector": ("xclz_geo.io", "read_vector"),
    "read_table": ("xclz_geo.io", "read_table"),
}

__all__ = ["XclzGeoError", "__version__", *_LAZY]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xclz_geo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:  # lazy: ``import xclz_geo`` stays cheap
    if name == "__version__":  # importlib.metadata costs ~40 ms of start-up: read on first use
        v = _version()
        globals()["__version__"] = v
        return v
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'xclz_geo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
