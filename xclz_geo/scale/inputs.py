"""Partitioned inputs of the Dask engine: folders and globs of GeoParquet, Parquet or CSV, or dask frames.

:func:`open_input` turns what the user gives into a :class:`PartitionedInput`: a lazy dask
DataFrame with **one partition per file** (files sorted by name), what is known without reading
the data — each file's row count (Parquet metadata) and bounds (GeoParquet ``bbox`` metadata, or
the min/max statistics of the coordinate columns) — and the source for messages. CSV files are
read with :func:`xclz_geo.io.iter_csv_batches` (every cell as text, UTF-8/BOM/GBK detected), as
``xclz-geo locate`` reads them in memory.
"""

from __future__ import annotations

import glob as _glob
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xclz_geo.errors import InputDataError, InputFileError

PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


def list_files(path_or_glob: str | Path) -> list[Path]:
    """The input files of a folder (its Parquet or CSV files) or a glob pattern, sorted by name."""
    text = str(path_or_glob)
    p = Path(text)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in PARQUET_SUFFIXES + CSV_SUFFIXES
                       and not f.name.startswith((".", "_")))
        if not files:
            raise InputFileError(f"{p}: no .parquet, .geoparquet or .csv files in this folder")
        return files
    if p.is_file():
        return [p]
    if any(ch in text for ch in "*?["):
        files = sorted(Path(f) for f in _glob.glob(text) if Path(f).is_file())
        if not files:
            raise InputFileError(f"{text}: no file matches this pattern")
        return files
    raise InputFileError(f"{text}: no such file, folder or pattern")


def _kind(f: Path) -> str:
    s = f.suffix.lower()
    if s in CSV_SUFFIXES:
        return "csv"
    if s in PARQUET_SUFFIXES:
        return "geoparquet" if _geo_metadata(f) is not None else "parquet"
    raise InputFileError(f"{f}: the Dask engine reads Parquet, GeoParquet and CSV files, not {s or 'files without a suffix'}")


def _geo_metadata(f: Path) -> dict[str, Any] | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(f).metadata or {}
    except Exception as exc:
        raise InputFileError(f"{f}: cannot read as Parquet ({exc})") from None
    raw = meta.get(b"geo")
    return json.loads(raw) if raw else None


def read_file(f: str | Path, kind: str, offset: int | None = None) -> Any:
    """One file as a (Geo)DataFrame (the partition of :func:`open_input`); index numbered from ``offset``."""
    import pandas as pd

    p = Path(f)
    if kind == "geoparquet":
        import geopandas as gpd

        df = gpd.read_parquet(p)
    elif kind == "parquet":
        df = pd.read_parquet(p)
    else:
        import pyarrow as pa

        from xclz_geo.io import csv_layout, iter_csv_batches

        batches = list(iter_csv_batches(p))
        if batches:
            df = pa.Table.from_batches(batches).to_pandas()
        else:
            df = pd.DataFrame({c: pd.Series([], dtype=object) for c in csv_layout(p)[2]})
    if offset is not None:
        df.index = pd.RangeIndex(offset, offset + len(df))
    return df


def _read_part(arg: tuple[str, str, int | None]) -> Any:
    return read_file(*arg)


@dataclass
class PartitionedInput:
    """A partitioned input: the lazy frame, its files (when read from files) and what their metadata tell.

    Attributes
    ----------
    frame
        dask (or dask-geopandas) DataFrame, one partition per file.
    files, kind
        The files and their format (``geoparquet``, ``parquet``, ``csv``); empty for a user's frame.
    source
        Text naming the input in messages.
    """

    frame: Any
    files: list[Path] = field(default_factory=list)
    kind: str = "dask"
    source: str = "dask frame"
    _lengths: list[int] | None = None

    def lengths(self) -> list[int]:
        """Rows per partition (Parquet metadata; otherwise one pass over the data)."""
        if self._lengths is None:
            self._lengths = [int(v) for v in self.frame.map_partitions(len).compute()]
        return self._lengths

    def bounds_for(self, *, x: str | None = None, y: str | None = None, geometry: bool = False) -> tuple[np.ndarray | None, Any]:
        """Bounds of each partition (n × 4, NaN where unknown) and their CRS (``None``: the coordinates as given).

        ``(None, None)`` when no partition's bounds are known.
        """
        if self.kind == "dask":
            sp = getattr(self.frame, "spatial_partitions", None)
            if geometry and sp is not None:
                return sp.bounds.to_numpy(dtype=float), sp.crs
            return None, None
        if self.kind == "geoparquet" and geometry:
            out = np.full((len(self.files), 4), np.nan)
            crs = None
            for i, f in enumerate(self.files):
                meta = _geo_metadata(f) or {}
                col = (meta.get("columns") or {}).get(meta.get("primary_column", "geometry"), {})
                bbox = col.get("bbox")
                if bbox and len(bbox) == 4:
                    out[i] = bbox
                if crs is None:
                    crs = col.get("crs", "OGC:CRS84")
            if not np.isfinite(out).any():
                return None, None
            from pyproj import CRS

            return out, CRS.from_user_input(crs) if crs is not None else CRS.from_user_input("OGC:CRS84")
        if self.kind in ("parquet", "geoparquet") and not geometry:
            from xclz_geo.geo.locate import detect_xy_columns

            xc, yc = detect_xy_columns(list(self.frame._meta.columns), x=x, y=y, source=self.source)
            out = np.array([_column_bounds(f, xc, yc) for f in self.files], dtype=float)
            return (out, None) if np.isfinite(out).any() else (None, None)
        return None, None


def _column_bounds(f: Path, xc: str, yc: str) -> list[float]:
    """Bounds of a file's coordinates: its ``xclz_bbox`` metadata (``xclz-geo partition``) for these
    columns, else the min/max statistics of numeric columns (NaN when unknown)."""
    import pyarrow.parquet as pq

    md = pq.ParquetFile(f).metadata
    kv = md.metadata or {}
    if b"xclz_bbox" in kv:
        info = json.loads(kv[b"xclz_bbox"])
        if info.get("x") == str(xc) and info.get("y") == str(yc):
            bb = info.get("bbox")
            # no valid coordinate at all: nothing to test, the file can be skipped
            return [float(v) for v in bb] if bb else [1e300, 1e300, 1e300, 1e300]
    names = [md.schema.column(i).path for i in range(md.num_columns)]
    if xc not in names or yc not in names:
        return [np.nan] * 4
    ix, iy = names.index(xc), names.index(yc)
    lo = [np.inf, np.inf]
    hi = [-np.inf, -np.inf]
    for rg in range(md.num_row_groups):
        g = md.row_group(rg)
        if g.num_rows == 0:
            continue
        for k, i in enumerate((ix, iy)):
            st = g.column(i).statistics
            if st is None or not st.has_min_max or not isinstance(st.min, (int, float)):
                return [np.nan] * 4
            if st.null_count and st.null_count > 0:
                pass  # missing values are invalid rows, not bounds
            lo[k] = min(lo[k], float(st.min))
            hi[k] = max(hi[k], float(st.max))
    if not all(np.isfinite(lo + hi)):
        return [np.nan] * 4
    return [lo[0], lo[1], hi[0], hi[1]]


def open_input(obj: Any) -> PartitionedInput:
    """A :class:`PartitionedInput` from a dask(-geopandas) DataFrame, a folder, a glob or one file.

    Raises
    ------
    InputFileError
        No files, an unreadable file, or an unsupported format.
    InputDataError
        Files of different kinds (GeoParquet with CSV) in one input.
    """
    import dask.dataframe as dd

    if isinstance(obj, PartitionedInput):
        return obj
    if isinstance(obj, dd.DataFrame):
        return PartitionedInput(obj)
    files = list_files(obj)
    kinds = {f: _kind(f) for f in files}
    distinct = sorted(set(kinds.values()))
    if len(distinct) > 1:
        raise InputDataError(f"{obj}: mixes {', '.join(distinct)} files; give one kind per input folder or pattern")
    kind = distinct[0]
    lengths = None
    if kind in ("parquet", "geoparquet"):
        import pyarrow.parquet as pq

        lengths = [int(pq.ParquetFile(f).metadata.num_rows) for f in files]
        offsets: list[int | None] = [int(v) for v in np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    else:
        offsets = [None] * len(files)
    meta = read_file(files[0], kind).iloc[:0]
    if kind == "csv":
        meta = meta.astype(object)
    frame = dd.from_map(_read_part, [(str(f), kind, o) for f, o in zip(files, offsets)], meta=meta,
                        enforce_metadata=False, label=f"xclz-read-{kind}")
    return PartitionedInput(frame, files=files, kind=kind, source=str(obj), _lengths=lengths)


__all__ = ["PartitionedInput", "list_files", "open_input", "read_file"]
