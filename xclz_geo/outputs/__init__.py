"""What people look at: interactive maps, reports, charts, and the headless browser that checks them.

Owns: ``maps`` (folium maps that work offline, on Chinese basemaps), ``report`` (the land-efficiency
report as HTML, XLSX and GeoPackage), ``charts`` (matplotlib charts with CJK fonts), ``browser``
(one headless-chromium harness for PNG export and tests) and ``html_safe`` (the one escaping helper
for every string that goes into HTML, quality-label checks, and the pages' Content-Security-Policy).

May import every subpackage below it: :mod:`xclz_geo.errors`, :mod:`xclz_geo.units`,
:mod:`xclz_geo.datasets`, :mod:`xclz_geo.io`, :mod:`xclz_geo.geo`, :mod:`xclz_geo.boundaries`,
:mod:`xclz_geo.landuse` and :mod:`xclz_geo.efficiency`. Never :mod:`xclz_geo.cli` or :mod:`xclz_geo.web`.
"""

from __future__ import annotations

__all__: list[str] = []
