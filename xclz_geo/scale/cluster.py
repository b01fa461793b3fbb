"""Clusters and outputs of the Dask engine: a local cluster sized to the machine, or a user's scheduler;
results written as partitioned GeoParquet with a progress bar.

:func:`cluster_client` starts a ``LocalCluster`` (one single-threaded worker process per core, a
memory limit per worker, bound to 127.0.0.1, the dashboard when bokeh is installed) and stops it
afterwards, or connects to ``--scheduler ADDRESS``. :func:`write_partitions` computes a lazy frame
partition by partition on the cluster, each worker writing its own file, and never holds the result
on the client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from xclz_geo.errors import InputDataError, InputFileError

#: share of the machine's memory given to the local cluster's workers together
LOCAL_MEMORY_SHARE = 0.75


def machine_cores() -> int:
    """Usable CPU cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def machine_memory_bytes() -> int:
    """Physical memory of the machine (bytes)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4 << 30


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def cluster_client(scheduler: str | None = None, *, n_workers: int | None = None, memory_limit: str | int | None = None,
                   log: Any = None) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` (e.g. ``tcp://10.0.0.5:8786``) or on a local cluster started here.

    The local cluster has ``n_workers`` (default: the cores) single-threaded worker processes, each
    limited to ``memory_limit`` (default: 3/4 of the machine's memory shared out), listening on
    127.0.0.1 only. Where it runs (and the dashboard address, or why there is none) is written to
    ``log`` (default stderr). The cluster stops when the block ends.
    """
    from distributed import Client, LocalCluster

    log = log or sys.stderr
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputFileError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc}); "
                                 "start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
        log.write(f"xclz-geo: dask: scheduler {scheduler}, {len(client.scheduler_info().get('workers', {}))} workers"
                  + (f", dashboard {client.dashboard_link}" if _has_bokeh() else "") + "\n")
        try:
            yield client
        finally:
            client.close()
        return
    n = int(n_workers or machine_cores())
    if memory_limit is None:
        memory_limit = int(machine_memory_bytes() * LOCAL_MEMORY_SHARE / n)
    dash = _has_bokeh()
    # a free port always: without one the scheduler's HTTP server still takes :8787 and the cluster fails to
    # start when another Dask cluster (or anything) holds that port
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    lim = memory_limit if isinstance(memory_limit, str) else f"{memory_limit / 2**30:.1f} GiB"
    where = f"dashboard {client.dashboard_link}" if dash else "no dashboard (bokeh is not installed: pip install bokeh)"
    log.write(f"xclz-geo: dask: local cluster {cluster.scheduler_address}, {n} worker(s) × 1 thread, "
              f"memory limit {lim} per worker; {where}\n")
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def wgs84_points(df: Any, *, x: str | None, y: str | None, datum: str, crs: Any) -> Any:
    """WGS84 point geometries of a located table's rows (``None`` for ``invalid`` rows), as ``xclz-geo locate`` writes them."""
    from xclz_geo.geo.grid import make_frame
    from xclz_geo.geo.locate import detect_xy_columns, parse_coordinates
    from xclz_geo.geo.locate import wgs84_points as points_in_frame

    xc, yc = detect_xy_columns(list(df.columns), x=x, y=y)
    xv, _ = parse_coordinates(df[xc])
    yv, _ = parse_coordinates(df[yc])
    return points_in_frame(make_frame(datum=datum, crs=crs), xv, yv, (df["xclz_status"] != "invalid").to_numpy())


def _write_one(df: Any, out_dir: str, points: dict[str, Any] | None, status_col: str, partition_info: Any = None) -> Any:
    import geopandas as gpd
    import pandas as pd

    i = partition_info["number"] if partition_info else 0
    if points is not None and not isinstance(df, gpd.GeoDataFrame):
        df = gpd.GeoDataFrame(df, geometry=wgs84_points(df, **points), crs="EPSG:4326")
    f = Path(out_dir) / f"part.{i:05d}.parquet"
    df.to_parquet(f, index=False)  # GeoParquet for a GeoDataFrame
    counts = df[status_col].astype(str).value_counts()
    return pd.DataFrame({"status": counts.index.astype(str), "rows": counts.to_numpy(dtype=np.int64)})


def write_partitions(frame: Any, out_dir: str | Path, *, client: Any = None, points: dict[str, Any] | None = None,
                     status_col: str = "xclz_status", progress: bool = True) -> dict[str, int]:
    """Compute ``frame`` and write one (Geo)Parquet file per partition into ``out_dir``; rows per status.

    The files are written into ``out_dir/.partial`` and moved into place when every partition is
    done (a failed job leaves ``out_dir`` as it was). ``points``: ``x``/``y``/``datum``/``crs`` of a
    located table without geometry, to add WGS84 points (GeoParquet). Progress: a ``distributed``
    progress bar on stderr when ``progress`` and a client are given.
    """
    import pandas as pd

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputDataError(f"{out}: --out must be a folder for the Dask engine (partitioned GeoParquet)")
    if out.exists() and any(p.name.startswith("part.") for p in out.iterdir()):
        raise InputDataError(f"{out}: the folder already holds part.* files; choose an empty or new folder")
    tmp = out / ".partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    meta = pd.DataFrame({"status": pd.Series([], dtype=object), "rows": pd.Series([], dtype="int64")})
    counts_ddf = frame.map_partitions(_write_one, str(tmp), points, status_col, meta=meta, partition_info=True,
                                      enforce_metadata=False, align_dataframes=False)
    try:
        if client is not None:
            parts = client.compute(counts_ddf.to_delayed())
            if progress:
                from distributed import progress as dprogress

                with contextlib.redirect_stdout(sys.stderr):
                    dprogress(parts, notebook=False)
                sys.stderr.write("\n")
            results = client.gather(parts)
        else:
            import dask

            results = list(dask.compute(*counts_ddf.to_delayed()))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for f in sorted(tmp.iterdir()):
        f.replace(out / f.name)
    tmp.rmdir()
    total = pd.concat(results) if results else meta
    return {str(k): int(v) for k, v in total.groupby("status")["rows"].sum().items()}


__all__ = ["cluster_client", "machine_cores", "machine_memory_bytes", "wgs84_points", "write_partitions"]
