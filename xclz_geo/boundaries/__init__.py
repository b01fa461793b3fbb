"""The zone's boundaries: from 四至 text and networks to part polygons, and official files in.

Owns: ``sizhi`` (parsing 四至 boundary text), ``network`` (road/river/railway networks from OSM,
GeoPackage, Shapefile, DXF), ``digitize`` (text + network → polygon with a resolution record),
``zone`` (the zone → blocks → parts model, the plan's official areas, the area report) and
``importing`` (the bundled schematic build and the import of official red lines).

May import: :mod:`xclz_geo.errors`, :mod:`xclz_geo.units`, :mod:`xclz_geo.datasets`,
:mod:`xclz_geo.io` and :mod:`xclz_geo.geo`.
"""

from __future__ import annotations

__all__: list[str] = []
