"""Land use inside the zone: national land-use code tables, vector parcels and land-cover rasters.

Owns: ``overlay`` (GB/T 21010 / 三调 / 用地用海 code tables and level aggregation, the parcel overlay
per part, the exact-coverage raster overlay).

May import: :mod:`xclz_geo.errors`, :mod:`xclz_geo.units`, :mod:`xclz_geo.datasets`,
:mod:`xclz_geo.io`, :mod:`xclz_geo.geo` and :mod:`xclz_geo.boundaries`.
"""

from __future__ import annotations

__all__: list[str] = []
