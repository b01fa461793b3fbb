"""Province scale on Dask: site checks and parcel overlays over partitioned data, on a local or real cluster.

Owns the Dask engine (:mod:`xclz_geo.scale.engine`: ``locate_dask``, ``landuse_dask``, partition
pruning, the zone sent once per worker), partitioned inputs (:mod:`~xclz_geo.scale.inputs`),
clusters and partitioned GeoParquet output (:mod:`~xclz_geo.scale.cluster`), spatial partitioning
(:mod:`~xclz_geo.scale.partition`) and the SYNTHETIC province sample (:mod:`~xclz_geo.scale.sample`).

May import every layer below it (errors, units, datasets, geo, io, boundaries, landuse, efficiency,
outputs) and the optional extra ``scale`` (dask, distributed, dask-geopandas), always lazily inside
functions so ``import xclz_geo`` never loads Dask. Nothing below imports it; the CLI calls into it.
"""

from __future__ import annotations

__all__: list[str] = []
