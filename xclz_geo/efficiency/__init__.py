"""Land efficiency: the 亩均效益 evaluation of enterprises and the TD/T 1029 development-zone indicators.

Owns: ``evaluate`` (the enterprise table, method profiles, scores and A–D classes) and ``intensity``
(development-zone land-use indicators, under-used land).

May import: :mod:`xclz_geo.errors`, :mod:`xclz_geo.units`, :mod:`xclz_geo.datasets`,
:mod:`xclz_geo.io`, :mod:`xclz_geo.geo`, :mod:`xclz_geo.boundaries` and :mod:`xclz_geo.landuse`.
"""

from __future__ import annotations

__all__: list[str] = []
