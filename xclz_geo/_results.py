"""The one shape of results and the one order of arguments (helpers shared by every subpackage).

Every result of the toolkit has ``.table`` (a DataFrame), ``.summary`` (a JSON-able dict with at
least ``quality`` and ``provenance``), ``.to_dict()`` (JSON-serialisable) and, where it is spatial,
``.layer`` (a GeoDataFrame whose CRS the result's docstring names). A function that needs a zone
takes it first (as shapely's ``contains_xy(geom, x, y)``); this module detects the old orders and
warns. It imports nothing of the package and only numpy at the top (pandas/geopandas on first use),
so any layer may use it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

__all__ = [
    "QUALITY_LEVELS",
    "worst_quality",
    "looks_like_zone",
    "zone_first",
    "warn_renamed",
    "jsonable",
    "callable_frame",
    "legacy_frame",
]


#: quality labels, most reliable first (as :data:`xclz_geo.boundaries.zone.QUALITY_LEVELS`)
QUALITY_LEVELS = ("official", "surveyed", "osm", "schematic", "synthetic")


def worst_quality(*labels: Any) -> str | None:
    """The least reliable of ``labels`` (``None`` and empty ignored; ``None`` when none is left).

    Order: ``official`` < ``surveyed`` < ``osm`` < any other label (``unknown``, ``unlabelled`` …:
    not vouched for) < ``schematic`` < ``synthetic``.
    """
    def rank(q: str) -> int:
        if q in QUALITY_LEVELS:
            i = QUALITY_LEVELS.index(q)
            return i if i < 3 else i + 1
        return 3

    seen = [str(q) for q in labels if q is not None and str(q) != ""]
    return max(seen, key=rank) if seen else None


def looks_like_zone(obj: Any) -> bool:
    """True for a :class:`~xclz_geo.boundaries.zone.Zone` (duck-typed: this module sits below ``boundaries``)."""
    return (
        obj is not None
        and not isinstance(obj, (str, bytes, np.ndarray, list, tuple))
        and hasattr(obj, "parts")
        and hasattr(obj, "part_ids")
        and hasattr(obj, "gk_crs")
    )


def zone_first(func: str, zone: Any, other: Any, *, new: str, stacklevel: int = 3) -> tuple[Any, Any]:
    """``(zone, other)`` in the new order; swaps an old-order call with a :class:`DeprecationWarning`.

    ``func(points, zone)`` (the zone second) was the old order; ``func(zone, points)`` is the new.
    """
    if looks_like_zone(other) and not looks_like_zone(zone):
        warnings.warn(
            f"{func}(…, zone) with the zone second is deprecated and stops working in the next release; "
            f"call {new} (the zone first)",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return other, zone
    return zone, other


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """A :class:`DeprecationWarning` that ``old`` is now spelled ``new``."""
    warnings.warn(f"{old} is deprecated and stops working in the next release; use {new}", DeprecationWarning,
                  stacklevel=stacklevel)


def jsonable(value: Any) -> Any:
    """``value`` with numpy/pandas scalars, paths, sets and NaN made JSON-serialisable (NaN → ``None``)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    mod = type(value).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            return [jsonable(r) for r in value.to_dict(orient="records")]
        if isinstance(value, pd.Series):
            return [jsonable(v) for v in value.tolist()]
        if value is pd.NaT or value is pd.NA:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "to_dict") and callable(value.to_dict):
        try:
            return jsonable(value.to_dict())
        except TypeError:
            pass
    if hasattr(value, "__dataclass_fields__"):
        return {k: jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return str(value)


# ------------------------------------------------------------------ frames that remember an old spelling


_CLASSES: dict[str, type] = {}


def _frame_class(geo: bool) -> type:
    key = "geo" if geo else "plain"
    cls = _CLASSES.get(key)
    if cls is not None:
        return cls
    import pandas as pd

    if geo:
        import geopandas as gpd

        base: type = gpd.GeoDataFrame
    else:
        base = pd.DataFrame

    class _Compat(base):  # type: ignore[misc, valid-type]
        """A (Geo)DataFrame that also answers an old call (``res.layer()``) or old attributes, with a warning."""

        _metadata = ["_xclz_call", "_xclz_old", "_xclz_new", "_xclz_legacy", "_xclz_legacy_names"]
        _xclz_call = None
        _xclz_old = ""
        _xclz_new = None
        _xclz_legacy = None
        _xclz_legacy_names: frozenset = frozenset()

        @property
        def _constructor(self) -> Any:  # derived frames are plain (Geo)DataFrames
            if geo:
                return gpd.GeoDataFrame._geodataframe_constructor_with_fallback
            return pd.DataFrame

        def _constructor_from_mgr(self, mgr: Any, axes: Any) -> Any:
            if not geo:
                return pd.DataFrame._from_mgr(mgr, axes=axes)
            from geopandas.array import GeometryDtype

            if not any(isinstance(block.dtype, GeometryDtype) for block in mgr.blocks):
                return gpd.GeoDataFrame._geodataframe_constructor_with_fallback(pd.DataFrame._from_mgr(mgr, axes))
            gdf = gpd.GeoDataFrame._from_mgr(mgr, axes)
            if (gdf.columns == "geometry").sum() == 1:
                gdf._geometry_column_name = "geometry"
            return gdf

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            call = self._xclz_call
            if call is None:
                raise TypeError(f"'{type(self).__name__}' object is not callable")
            warn_renamed(f"{self._xclz_old}(…)", self._xclz_new or f"{self._xclz_old} (a property now; no parentheses)")
            return call(*args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            if not name.startswith("_") and name in type(self)._legacy_names_of(self):
                legacy = self.__dict__.get("_xclz_legacy")
                if legacy is not None:
                    warn_renamed(f"{self._xclz_old}.{name}", f"{self._xclz_old.rpartition('.')[0] or 'result'}.enterprises.{name}")
                    return getattr(legacy, name)
            return super().__getattr__(name)

        @staticmethod
        def _legacy_names_of(obj: Any) -> frozenset:
            return obj.__dict__.get("_xclz_legacy_names", frozenset())

    _Compat.__name__ = "GeoDataFrame" if geo else "DataFrame"
    _CLASSES[key] = _Compat
    return _Compat


def _mark(frame: Any, geo: bool, **attrs: Any) -> Any:
    out = _frame_class(geo)(frame, copy=False) if not geo else _frame_class(geo)(frame, crs=frame.crs, copy=False)
    for k, v in attrs.items():
        object.__setattr__(out, k, v)
    return out


def callable_frame(frame: Any, call: Callable[..., Any], *, old: str, new: str | None = None) -> Any:
    """``frame`` that also answers ``frame(*args)`` (the old method call ``old(…)``) with a warning.

    For attributes that were methods and are now properties (``EvaluationResult.layer``,
    ``by_class`` …): ``res.layer`` is the GeoDataFrame, ``res.layer()`` still returns it for one
    release with a :class:`DeprecationWarning`. Derived frames (``res.layer.copy()``, slices) are
    plain (Geo)DataFrames.
    """
    import geopandas as gpd

    return _mark(frame, isinstance(frame, gpd.GeoDataFrame), _xclz_call=call, _xclz_old=old, _xclz_new=new)


def legacy_frame(frame: Any, legacy: Any, names: frozenset[str] | set[str], *, old: str) -> Any:
    """``frame`` whose attributes ``names`` still reach ``legacy`` (the object ``old`` used to be), with a warning."""
    return _mark(frame, False, _xclz_legacy=legacy, _xclz_legacy_names=frozenset(names), _xclz_old=old)
