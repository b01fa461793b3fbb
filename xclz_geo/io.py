"""Reading and writing the files planners actually have.

* Vector files through GDAL (pyogrio): GeoJSON, GeoPackage, Shapefile (GBK or UTF-8
  attributes: a ``.cpg`` is honoured; without one, UTF-8 is tried and GBK/GB18030 used
  when the text does not decode), DXF, FlatGeobuf, GeoParquet.
* Tables: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 detected), XLSX/XLS, Parquet.
* Writing by file extension: ``.csv`` (UTF-8 with BOM, so Excel shows Chinese),
  ``.xlsx``, ``.gpkg``, ``.geojson``, ``.parquet``, ``.fgb``, ``.shp``.

Every failure names the file and says what to do.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from xclz_geo.errors import InputDataError, InputFileError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

#: encodings tried, in order, for text files without a declared encoding
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")

VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".dxf", ".fgb", ".parquet", ".geoparquet", ".osm", ".pbf", ".kml", ".gml", ".zip"}
TABLE_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet"}


def _exists(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: file not found")
    if p.is_dir() and p.suffix.lower() not in (".gdb",):
        raise InputFileError(f"{p}: is a folder, not a file")
    return p


def detect_text_encoding(path: str | Path, *, sample_bytes: int = 1 << 20) -> str:
    """Guess the encoding of a text file: ``utf-8-sig`` (also plain UTF-8) or ``gb18030`` (GBK superset).

    Reads at most ``sample_bytes`` (cut at a line end) so huge files stay cheap.
    """
    p = _exists(path)
    with open(p, "rb") as f:
        raw = f.read(sample_bytes)
        if len(raw) == sample_bytes:
            cut = raw.rfind(b"\n")
            raw = raw[: cut + 1] if cut > 0 else raw
    for enc in TEXT_ENCODINGS:
        try:
            raw.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    raise InputFileError(f"{p}: text is neither UTF-8 nor GBK/GB18030; re-save it as UTF-8")


def shapefile_encoding(path: str | Path) -> str | None:
    """Encoding of a Shapefile's attributes: from its ``.cpg``, else by trying UTF-8 then GB18030 on the ``.dbf``."""
    p = Path(path)
    cpg = p.with_suffix(".cpg")
    if cpg.exists():
        name = cpg.read_text(errors="replace").strip()
        return name or None
    dbf = p.with_suffix(".dbf")
    if not dbf.exists():
        return None
    data = dbf.read_bytes()
    # decode only the field names and records, not the binary header fields
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 32 else 0
    names = b"".join(data[i : i + 11].split(b"\0", 1)[0] for i in range(32, max(32, header_len - 1), 32))
    raw = names + data[header_len:].rstrip(b"\x1a")
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return None


def dxf_text_encoding(path: str | Path) -> str | None:
    """Encoding of a DXF's text: ``UTF-8`` for AutoCAD 2007+ (``$ACADVER`` ≥ AC1021), else ``None`` (GDAL's guess)."""
    import re

    with open(path, "rb") as f:
        head = f.read(4096)
    m = re.search(rb"\$ACADVER\s*\r?\n\s*1\s*\r?\n\s*AC(\d{4})", head)
    if m and int(m.group(1)) >= 1021:
        return "UTF-8"
    return None


def read_vector(
    path: str | Path,
    *,
    layer: str | int | None = None,
    encoding: str | None = None,
    crs: Any | None = None,
    **kwargs: Any,
) -> "gpd.GeoDataFrame":
    """Read a vector file into a GeoDataFrame.

    Parameters
    ----------
    path
        Any file GDAL reads (GeoJSON, GeoPackage, Shapefile, DXF, FlatGeobuf, GeoParquet …).
    layer
        Layer name or index for multi-layer files.
    encoding
        Attribute encoding (e.g. ``"gbk"``); detected for Shapefiles and DXF (AutoCAD 2007+ is UTF-8) when omitted.
    crs
        CRS to assign when the file declares none (it is *not* a reprojection). A file that
        declares a different CRS raises :class:`~xclz_geo.errors.CRSMismatchError`.
    kwargs
        Passed to :func:`geopandas.read_file`.
    """
    import geopandas as gpd

    from xclz_geo.geo import crs as _crs

    p = _exists(path)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(p)
        except Exception as exc:
            raise InputFileError(f"{p}: cannot read as GeoParquet ({exc})") from None
    else:
        if encoding is None and suffix == ".shp":
            encoding = shapefile_encoding(p)
        opts: dict[str, Any] = dict(kwargs)
        if layer is not None:
            opts["layer"] = layer
        dxf_encoding = None
        if suffix == ".dxf":
            # GDAL decodes DXF text by $DWGCODEPAGE, but AutoCAD 2007+ files (and ezdxf's) are
            # UTF-8 whatever that header says; GBK drawings declare ANSI_936 or need encoding="gbk"
            dxf_encoding = encoding or dxf_text_encoding(p)
        elif encoding:
            opts["encoding"] = encoding
        try:
            if dxf_encoding:
                import pyogrio

                old = pyogrio.get_gdal_config_option("DXF_ENCODING")
                pyogrio.set_gdal_config_options({"DXF_ENCODING": dxf_encoding})
                try:
                    gdf = gpd.read_file(p, engine="pyogrio", **opts)
                finally:
                    pyogrio.set_gdal_config_options({"DXF_ENCODING": old})
            else:
                gdf = gpd.read_file(p, engine="pyogrio", **opts)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{p}: attributes are not in {encoding or 'UTF-8'} ({exc.reason}); pass encoding='gbk'") from None
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            hint = ""
            if "layer" in msg.lower():
                try:
                    import pyogrio

                    hint = f"; layers in the file: {', '.join(str(n) for n in pyogrio.list_layers(p)[:, 0])}"
                except Exception:
                    hint = ""
            raise InputFileError(f"{p}: cannot read as a vector file ({msg}){hint}") from None
    return _crs.assign_crs(gdf, crs, source=str(p), path=p)


def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    dtype: Any = None,
    **kwargs: Any,
) -> "pd.DataFrame":
    """Read a CSV/TSV (UTF-8, UTF-8 with BOM or GBK, detected), XLSX/XLS or Parquet table.

    Values are read as text when ``dtype=str`` is given, so the caller decides how to
    parse numbers (and can report the rows that do not parse).
    """
    import pandas as pd

    p = _exists(path)
    suffix = p.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(p, sheet_name=sheet if sheet is not None else 0, dtype=dtype, **kwargs)
        if suffix == ".parquet":
            return pd.read_parquet(p, **kwargs)
        if suffix in (".csv", ".txt", ".tsv"):
            enc = encoding or detect_text_encoding(p)
            sep = "\t" if suffix == ".tsv" else kwargs.pop("sep", None)
            return pd.read_csv(p, encoding=enc, dtype=dtype, sep=sep, engine="python" if sep is None else "c", **kwargs)
    except (InputFileError, InputDataError):
        raise
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            raise InputDataError(f"{p}: {exc}") from None
        raise InputFileError(f"{p}: cannot read table ({exc})") from None
    except Exception as exc:
        raise InputFileError(f"{p}: cannot read table ({type(exc).__name__}: {exc})") from None
    raise InputFileError(
        f"{p}: unsupported table format {suffix or '(no extension)'}; use .csv, .xlsx, .xls or .parquet"
    )


def write_table(
    df: "pd.DataFrame", path: str | Path, *, sheet_name: str = "data", index: bool = False, keep_crs: bool = False
) -> Path:
    """Write a (Geo)DataFrame by extension; CSV is UTF-8 with BOM so Excel opens Chinese text correctly.

    Geometry columns are written as WKT to CSV/XLSX; GeoDataFrames go to GeoPackage,
    GeoJSON (RFC 7946: reprojected to lon/lat), Parquet, FlatGeobuf or Shapefile as such.
    The file is written to a temporary name first and moved into place, so a failure
    leaves no partial file. ``keep_crs=True`` writes GeoJSON in the frame's own
    geographic CRS (e.g. EPSG:4490, declared in the file) instead of RFC 7946 EPSG:4326.
    """
    import geopandas as gpd

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
    is_geo = isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns
    try:
        if suffix in (".csv", ".txt"):
            out = df.to_wkt() if is_geo else df
            out.to_csv(tmp, index=index, encoding="utf-8-sig")
        elif suffix in (".xlsx", ".xlsm"):
            out = df.to_wkt() if is_geo else df
            out.to_excel(tmp, index=index, sheet_name=sheet_name[:31])
        elif suffix in (".gpkg", ".geojson", ".json", ".fgb", ".shp"):
            if not is_geo:
                raise InputDataError(f"{p}: {suffix} needs geometry; write a table to .csv or .xlsx instead")
            out = df
            driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".fgb": "FlatGeobuf", ".shp": "ESRI Shapefile"}[suffix]
            if driver == "GeoJSON" and not keep_crs and out.crs is not None and not out.crs.equals("EPSG:4326"):
                out = out.to_crs("EPSG:4326")
            opts: dict[str, Any] = {}
            if driver == "ESRI Shapefile":
                opts["encoding"] = "UTF-8"
            if driver in ("GPKG", "GeoJSON"):
                opts["layer"] = p.stem
            out.to_file(tmp, driver=driver, engine="pyogrio", **opts)
            if driver == "ESRI Shapefile":
                for ext in (".shx", ".dbf", ".prj", ".cpg"):
                    side = tmp.with_suffix(ext)
                    if side.exists():
                        os.replace(side, p.with_suffix(ext))
        elif suffix in (".parquet", ".geoparquet"):
            (df.to_parquet(tmp, index=index) if is_geo else df.to_parquet(tmp, index=index))
        else:
            raise InputDataError(
                f"{p}: unsupported output format {suffix or '(no extension)'}; use .csv, .xlsx, .gpkg, .geojson or .parquet"
            )
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def csv_layout(path: str | Path, *, encoding: str | None = None) -> tuple[str, str, list[str], int]:
    """Encoding, delimiter, column names and a typical row length (bytes) of a CSV/TSV file.

    The delimiter (``,`` ``;`` tab ``|``) is sniffed from the header line; duplicate or empty
    column names are made unique the way pandas does (``name.1``, ``Unnamed: 3``).
    """
    import csv

    p = _exists(path)
    enc = encoding or detect_text_encoding(p)
    with open(p, "rb") as f:
        raw = f.read(256 * 1024)
    text = raw.decode(enc, errors="replace")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputDataError(f"{p}: the file is empty (no header row)")
    if p.suffix.lower() == ".tsv":
        sep = "\t"
    else:
        try:
            sep = csv.Sniffer().sniff(lines[0], delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    header = next(csv.reader([lines[0]], delimiter=sep))
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name.strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    body = lines[1:-1] if len(raw) == 256 * 1024 else lines[1:]
    row_bytes = max((len(ln.encode(enc, errors="replace")) + 1 for ln in body), default=64)
    return enc, sep, names, row_bytes


def iter_csv_batches(
    path: str | Path,
    *,
    chunk_rows: int = 250_000,
    encoding: str | None = None,
) -> "Any":
    """Stream a CSV/TSV as pyarrow RecordBatches of about ``chunk_rows`` rows, every cell as text.

    Encoding (UTF-8, UTF-8 with BOM, GBK/GB18030) and delimiter are detected. Empty cells
    stay empty strings, so every value can be written back unchanged. Memory stays bounded
    by the batch size.

    Yields
    ------
    pyarrow.RecordBatch
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = _exists(path)
    enc, sep, names, row_bytes = csv_layout(p, encoding=encoding)
    block = int(min(max(chunk_rows * row_bytes, 2 * row_bytes + 64), 256 << 20))
    arrow_enc = "utf8" if enc.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig") else enc
    try:
        reader = pacsv.open_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=arrow_enc, block_size=block),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        for batch in reader:
            if batch.num_rows:
                yield batch
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        raise InputFileError(f"{p}: cannot read as CSV ({msg}); check the delimiter, quoting and encoding") from None


def iter_csv_chunks(
    path: str | Path,
    *,
    chunk_rows: int = 250_000,
    encoding: str | None = None,
) -> "Any":
    """Like :func:`iter_csv_batches`, as pandas DataFrames (text columns) with a running index."""
    import pandas as pd

    start = 0
    for batch in iter_csv_batches(path, chunk_rows=chunk_rows, encoding=encoding):
        df = batch.to_pandas()
        df.index = pd.RangeIndex(start, start + len(df))
        start += len(df)
        yield df


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends without error.

    The parent folder is created. On an error the temporary file is removed and ``path`` is left as it
    was, so a reader never sees a half-written output.

    Examples
    --------
    >>> with atomic_path("out/report.html") as tmp:  # doctest: +SKIP
    ...     tmp.write_text(page, encoding="utf-8")
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
