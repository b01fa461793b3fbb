"""Coordinates and point-in-zone lookups.

Owns: ``crs`` (CGCS2000 Gauss-Krüger zones, datum tags, the exact GCJ-02/BD-09 transforms, assigning a
file's CRS), ``grid`` (the lookup grid over a zone's parts) and ``locate`` (site checks: status, part,
distance to the boundary).

May import: :mod:`xclz_geo.errors`, :mod:`xclz_geo.units`, :mod:`xclz_geo.datasets` and third-party
packages. Nothing else of xclz_geo: every other subpackage builds on this one.
"""

from __future__ import annotations

__all__: list[str] = []
