"""四至 spec + line network → polygon, with a record of every decision.

(Work in progress: the public API below is final; the assembly is being completed.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sizhi import BoundarySpec, parse_sizhi

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import Polygon


@dataclass
class DigitizeResult:
    """The polygon a 四至 describes, in the Gauss-Krüger CRS of the network, plus its record.

    Attributes
    ----------
    polygon
        The polygon in :attr:`crs` (metres).
    crs
        The CGCS2000 3° Gauss-Krüger CRS the work was done in.
    spec
        The parsed 四至.
    record
        JSON-able dict: per side and feature the matched network feature ids and how each
        name matched, corners, gaps closed and their lengths, offsets applied, CRS, areas.
    """

    polygon: "Polygon"
    crs: "CRS"
    spec: BoundarySpec
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def area_m2(self) -> float:
        """Planar area in the Gauss-Krüger CRS, m²."""
        return float(self.polygon.area)

    @property
    def area_mu(self) -> float:
        """Area in 亩."""
        from .units import m2_to_mu

        return float(m2_to_mu(self.area_m2))

    @property
    def area_km2(self) -> float:
        """Area in km²."""
        return self.area_m2 / 1e6

    def polygon_geographic(self) -> "Polygon":
        """The polygon in CGCS2000 lon/lat (EPSG:4490)."""
        raise NotImplementedError

    def to_geojson_dict(self, *, include_lines: bool = True) -> dict[str, Any]:
        """RFC 7946 FeatureCollection (lon/lat); the first feature is the polygon."""
        raise NotImplementedError

    def to_geojson(self, path: str | Path, *, include_lines: bool = True) -> Path:
        """Write :meth:`to_geojson_dict` to ``path`` (UTF-8)."""
        raise NotImplementedError


def digitize(
    spec: BoundarySpec | str,
    network: "gpd.GeoDataFrame",
    *,
    reference_point: tuple[float, float] | None = None,
    reference_crs: Any = "EPSG:4490",
    tolerance_m: float = 50.0,
    crs: Any | None = None,
    allow_fuzzy: bool = True,
) -> DigitizeResult:
    """Build the polygon a 四至 describes from a line network.

    Raises
    ------
    SizhiParseError, NameNotResolvedError, AssemblyError
    """
    if isinstance(spec, str):
        spec = parse_sizhi(spec)
    raise NotImplementedError
