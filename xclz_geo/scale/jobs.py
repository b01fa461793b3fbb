"""The Dask engine's command-line jobs: ``xclz-geo locate/landuse --engine dask`` (called by the CLI).

Each job opens the partitioned input, builds the lazy result (:mod:`xclz_geo.scale.engine`), runs
it on a local cluster or the scheduler given (:func:`xclz_geo.scale.cluster.cluster_client`) and
writes partitioned GeoParquet into the output folder; every input row comes out, with a status.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from xclz_geo.errors import InputDataError


def _check_out(src: str, out: str | Path) -> Path:
    o = Path(out)
    if o.suffix.lower() in (".csv", ".xlsx", ".gpkg", ".geojson") or (o.exists() and not o.is_dir()):
        raise InputDataError(f"{o}: with --engine dask, --out is a folder (the result is partitioned GeoParquet)")
    s = Path(src)
    if s.exists() and s.resolve() == o.resolve():
        raise InputDataError(f"{o}: the output folder would be the input folder; choose another --out folder")
    return o


def locate_job(zone: Any, src: str, out: str | Path, *, x: str | None = None, y: str | None = None, datum: str = "wgs84",
               crs: Any | None = None, with_distance: bool = True, scheduler: str | None = None,
               n_workers: int | None = None, progress: bool = True, log: Any = None) -> dict[str, Any]:
    """``xclz-geo locate --input DIR_OR_GLOB --engine dask --out DIR``: returns the summary written as JSON."""
    from xclz_geo.scale.cluster import cluster_client, write_partitions
    from xclz_geo.scale.engine import locate_dask
    from xclz_geo.scale.inputs import open_input

    log = log or sys.stderr
    dst = _check_out(src, out)
    inp = open_input(src)
    t0 = time.perf_counter()
    with cluster_client(scheduler, n_workers=n_workers, log=log) as client:
        job = locate_dask(zone, inp, x=x, y=y, datum=datum, crs=crs, with_distance=with_distance)
        log.write(f"xclz-geo: dask: {job.npartitions} partition(s) of {inp.source}; {job.pruning}\n")
        import geopandas as gpd

        points = None if isinstance(job.frame._meta, gpd.GeoDataFrame) else {"x": x, "y": y, "datum": datum, "crs": crs}
        counts = write_partitions(job.frame, dst, client=client, points=points, progress=progress)
    for k in ("inside", "outside", "uncertain", "invalid"):
        counts.setdefault(k, 0)
    return {"input": str(src), "output": str(dst), "engine": "dask", "rows": sum(counts.values()), "counts": counts,
            "partitions": job.npartitions, "skipped_partitions": job.skipped, "pruning": job.pruning,
            "seconds": round(time.perf_counter() - t0, 2), "boundaries": zone.boundaries_source,
            "zones": zone.zone_count, "quality": zone.worst_quality}


def landuse_job(zone: Any, src: str, out: str | Path, *, code_field: str | None = None, name_field: str | None = None,
                scheme: str = "auto", level: int = 2, scheduler: str | None = None, n_workers: int | None = None,
                progress: bool = True, log: Any = None) -> dict[str, Any]:
    """``xclz-geo landuse --parcels DIR_OR_GLOB --engine dask --out DIR``: per-parcel results as GeoParquet."""
    from xclz_geo.scale.cluster import cluster_client, write_partitions
    from xclz_geo.scale.engine import landuse_dask
    from xclz_geo.scale.inputs import open_input

    log = log or sys.stderr
    dst = _check_out(src, out)
    inp = open_input(src)
    t0 = time.perf_counter()
    with cluster_client(scheduler, n_workers=n_workers, log=log) as client:
        job = landuse_dask(zone, inp, code_field=code_field, name_field=name_field, scheme=scheme, level=level,
                           with_geometry=True)
        log.write(f"xclz-geo: dask: {job.npartitions} partition(s) of {inp.source}; scheme {job.extra['scheme']}; "
                  f"{job.pruning}\n")
        counts = write_partitions(job.frame, dst, client=client, status_col="status", progress=progress)
    return {"input": str(src), "output": str(dst), "engine": "dask", "rows": sum(counts.values()), "counts": counts,
            "partitions": job.npartitions, "skipped_partitions": job.skipped, "pruning": job.pruning,
            "scheme": job.extra["scheme"], "code_field": job.extra["code_field"],
            "seconds": round(time.perf_counter() - t0, 2), "boundaries": zone.boundaries_source,
            "zones": zone.zone_count, "quality": {"zone": zone.worst_quality}}


def partition_job(src: str, out: str | Path, **kw: Any) -> dict[str, Any]:
    """``xclz-geo partition``: see :func:`xclz_geo.scale.partition.partition_file`."""
    from xclz_geo.scale.partition import partition_file

    return partition_file(src, out, **kw)


__all__ = ["landuse_job", "locate_job", "partition_job"]
