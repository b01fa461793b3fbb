"""xclz_geo: boundaries and land use of the Xuancheng linkage innovation zone.

中国(安徽)自由贸易试验区宣城联动创新区 — 四至 text to polygons, official-area checks,
site checks in any Chinese datum, offline maps, land-use overlay and 亩均效益 evaluation.

Heavy modules (geopandas, rasterio, folium) are imported lazily by the submodules
that need them; ``import xclz_geo`` stays cheap.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xclz_geo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from .errors import XclzGeoError  # noqa: E402

__all__ = ["XclzGeoError", "__version__"]


def __getattr__(name: str):  # lazy: ``import xclz_geo`` stays cheap
    if name == "locate_xy":
        from .locate import locate_xy

        return locate_xy
    raise AttributeError(f"module 'xclz_geo' has no attribute {name!r}")
