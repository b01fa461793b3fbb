"""Reading and writing the files planners actually have.

* Vector files through GDAL (pyogrio): GeoJSON, GeoPackage, Shapefile (GBK or UTF-8
  attributes: a ``.cpg`` is honoured; without one, UTF-8 is tried and GBK/GB18030 used
  when the text does not decode), DXF, FlatGeobuf, GeoParquet.
* Tables: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 detected), XLSX/XLS, Parquet. Users' tables are
  read as text (:func:`read_table_text`: every cell as typed, the header found below title rows,
  spreadsheet row numbers kept) and written back unchanged with the added columns
  (:func:`write_table_back`); every XLSX goes through one writer that never writes user text as a
  formula (:func:`write_xlsx`, :func:`safe_row`).
* Writing by file extension: ``.csv`` (UTF-8 with BOM, so Excel shows Chinese),
  ``.xlsx``, ``.gpkg``, ``.geojson``, ``.parquet``, ``.fgb``, ``.shp``.

Every failure names the file and says what to do.
"""

from __future__ import annotations

import io as io_module
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from xclz_geo.errors import DataQualityWarning, InputDataError, InputFileError, XclzGeoError

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
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



def geometry_layers(path: str | Path) -> list[str]:
    """Names of the layers with geometry of a multi-layer file (GeoPackage, FileGDB, KML, GML).

    ``[]`` for a single-layer file or a format that has one layer (Shapefile, GeoJSON, DXF …), and
    when the file cannot be listed (the reader then says why).
    """
    p = Path(path)
    if p.suffix.lower() not in (".gpkg", ".gdb", ".sqlite", ".kml", ".gml"):
        return []
    try:
        import pyogrio

        info = pyogrio.list_layers(p)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader
        return []
    names = [str(n) for n, g in info if g is not None and str(g) not in ("None", "")]
    return names if len(names) > 1 else []

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
            if p.stat().st_size < 65536 and not p.read_bytes().lstrip(b"\xef\xbb\xbf \t\r\n"):
                raise InputDataError(f"{p}: the file is empty")
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
    df: "pd.DataFrame", path: str | Path, *, sheet_name: str = "data", index: bool = False, keep_crs: bool = False,
    csv_safe: bool = False,
) -> Path:
    """Write a (Geo)DataFrame by extension; CSV is UTF-8 with BOM so Excel opens Chinese text correctly.

    Geometry columns are written as WKT to CSV/XLSX; GeoDataFrames go to GeoPackage,
    GeoJSON (RFC 7946: reprojected to lon/lat), Parquet, FlatGeobuf or Shapefile as such.
    The file is written to a temporary name first and moved into place, so a failure
    leaves no partial file. ``keep_crs=True`` writes GeoJSON in the frame's own
    geographic CRS (e.g. EPSG:4490, declared in the file) instead of RFC 7946 EPSG:4326.
    XLSX goes through :func:`write_xlsx` (text stays text, never a formula); CSV text is written
    as it is, or with ``csv_safe=True`` as :func:`write_csv_text` describes.
    """
    import geopandas as gpd

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    tmp = temp_sibling(p)  # unique per process and call: concurrent runs never share it
    is_geo = isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns
    try:
        if suffix in (".csv", ".txt"):
            out = df.to_wkt() if is_geo else df
            if not index and len(out) > STREAM_MIN_ROWS:  # large: streamed by pyarrow
                write_csv_stream(out, tmp, csv_safe=csv_safe)
            else:
                if csv_safe:
                    out = _csv_safe_frame(out)
                out.to_csv(tmp, index=index, encoding="utf-8-sig")
        elif suffix in (".xlsx", ".xlsm"):
            out = df.to_wkt() if is_geo else df
            if index:
                out = out.reset_index()
            write_xlsx({sheet_name: out}, tmp)
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


def csv_layout(path: str | Path, *, encoding: str | None = None, header_row: int | None = None) -> tuple[str, str, list[str], int]:
    """Encoding, delimiter, column names and a typical row length (bytes) of a CSV/TSV file.

    The delimiter (``,`` ``;`` tab ``|``) and the header row (title rows above it are passed
    over, see :func:`find_header_row`; or ``header_row``, 1-based) are detected; duplicate or
    empty column names are made unique the way pandas does (``name.1``, ``Unnamed: 3``).
    """
    info = csv_header(path, encoding=encoding, header_row=header_row)
    enc = info["encoding"]
    names = _unique_names(_trim_header(info["header"]))
    text, more = _csv_sample(Path(path), enc)
    body = text.splitlines()[info["header_row"]:]
    if more:
        body = body[:-1]
    row_bytes = max((len(ln.encode(enc, errors="replace")) + 1 for ln in body), default=64)
    return enc, info["delimiter"], names, row_bytes


def _trim_header(header: Sequence[str]) -> list[str]:
    """The header without trailing empty cells (a trailing delimiter on the header line)."""
    h = [c[1:] if i == 0 and c.startswith("\ufeff") else c for i, c in enumerate(header)]
    while len(h) > 1 and not h[-1].strip():
        h.pop()
    return h


def csv_column_names(path: str | Path, *, header_row: int | None = None, encoding: str | None = None) -> tuple[list[str], list[str]]:
    """``(names, headers)`` of a CSV: the column names :func:`iter_csv_batches` uses (made unique) and
    the header cells as typed (for writing the header back unchanged)."""
    info = csv_header(path, encoding=encoding, header_row=header_row)
    headers = _trim_header(info["header"])
    return _unique_names(headers), headers


def iter_csv_batches(
    path: str | Path,
    *,
    chunk_rows: int = 250_000,
    encoding: str | None = None,
    header_row: int | None = None,
) -> "Any":
    """Stream a CSV/TSV as pyarrow RecordBatches of about ``chunk_rows`` rows, every cell as text.

    Encoding (UTF-8, UTF-8 with BOM, GBK/GB18030), delimiter and header row (title rows above
    it are passed over; or ``header_row``, 1-based) are detected. Empty cells stay empty
    strings, so every value can be written back unchanged; blank lines hold no cell and are
    skipped. Memory stays bounded by the batch size.

    Rows with a field more than the header (a trailing delimiter) are read as the header says —
    never shifted: empty extra fields are dropped, a non-empty one raises
    :class:`~xclz_geo.errors.InputDataError` naming the row. Short rows are padded with ``""``.

    Yields
    ------
    pyarrow.RecordBatch
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = _exists(path)
    info = csv_header(p, encoding=encoding, header_row=header_row)
    enc, sep, h = info["encoding"], info["delimiter"], info["header_row"]
    names = _unique_names(_trim_header(info["header"]))
    _, _, _, row_bytes = csv_layout(p, encoding=enc, header_row=h)
    # Arrow's streaming reader reads up to 32 blocks ahead of the consumer: small blocks bound the memory
    # (32 × 4 MB) whatever the file's size; the batches are joined again to about ``chunk_rows`` rows
    block = int(min(max(chunk_rows * row_bytes, 2 * row_bytes + 64), _CSV_BLOCK_BYTES))
    arrow_enc = "utf8" if enc.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig") else enc
    done = 0
    met_ragged: list[int] = []

    def ragged(row: Any) -> str:
        met_ragged.append(1)
        return "error"

    try:
        reader = pacsv.open_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=h, encoding=arrow_enc, block_size=block),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, invalid_row_handler=ragged),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        pending: list[Any] = []
        n_pending = 0
        for batch in reader:
            if batch.num_rows:
                pending.append(batch)
                n_pending += batch.num_rows
                if n_pending >= chunk_rows:
                    out = _join_batches(pending)
                    pending, n_pending = [], 0
                    done += out.num_rows
                    yield out
        if pending:
            out = _join_batches(pending)
            done += out.num_rows
            yield out
        return
    except pa.ArrowInvalid as exc:
        if not met_ragged:
            msg = str(exc).splitlines()[0]
            raise InputFileError(f"{p}: cannot read as CSV ({msg}); check the delimiter, quoting and encoding") from None
    # a row with more or fewer fields than the header: the Python reader, from where Arrow stopped
    yield from _python_csv_batches(p, enc=enc, sep=sep, h=h, names=names, skip=done, chunk_rows=chunk_rows)


#: block size of Arrow's streaming CSV reader (it reads up to 32 blocks ahead)
_CSV_BLOCK_BYTES = 4 << 20


def _join_batches(batches: "list[Any]") -> Any:
    """One RecordBatch of several with the same schema (the one itself when alone)."""
    import pyarrow as pa

    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _python_csv_batches(p: Path, *, enc: str, sep: str, h: int, names: list[str], skip: int, chunk_rows: int) -> "Any":
    import csv

    import pyarrow as pa

    width = len(names)
    rows: list[list[str]] = []
    seen = 0

    def flush() -> "pa.RecordBatch":
        cols = list(zip(*rows)) if rows else [[] for _ in names]
        return pa.record_batch([pa.array(list(c), type=pa.string()) for c in cols], names=names)

    try:
        with open(p, encoding=enc, newline="") as fh:
            for k, row in enumerate(csv.reader(fh, delimiter=sep), start=1):
                if k <= h or not row:
                    continue
                seen += 1
                if seen <= skip:
                    continue
                if len(row) > width:
                    extra = [c for c in row[width:] if c.strip()]
                    if extra:
                        raise InputDataError(
                            f"{p}: row {k} has {len(row)} fields but the header (row {h}) has {width}: "
                            f"{extra[0][:40]!r} has no column; add a header for it or remove it (a stray delimiter?)"
                        )
                    row = row[:width]
                elif len(row) < width:
                    row = row + [""] * (width - len(row))
                rows.append(row)
                if len(rows) >= chunk_rows:
                    yield flush()
                    rows = []
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p}: text is not {enc} throughout ({exc.reason}); re-save it as UTF-8") from None
    except csv.Error as exc:
        raise InputFileError(f"{p}: cannot read as CSV ({exc}); check the quoting") from None
    if rows:
        yield flush()


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


# atomic outputs, output sets and interruption: implemented in xclz_geo._atomic, used from here
from xclz_geo._atomic import (  # noqa: E402,F401
    OutputSet,
    atomic_output_set,
    atomic_path,
    check_interrupted,
    stop_requested,
    temp_sibling,
)


# ------------------------------------------------------------------ large XLSX, streamed

#: rows of one Excel sheet, the header included (Excel's limit)
XLSX_MAX_ROWS = 1_048_576
#: characters of one Excel cell (longer text is cut, with a warning)
XLSX_MAX_CELL_CHARS = 32_767
#: text a spreadsheet would take for a formula when typed (stored as text with Excel's quote prefix)
_FORMULA_START = r"^[=+\-@\t\r]"
#: characters XML 1.0 (so XLSX) cannot hold
_XML_ILLEGAL = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{fffe}\x{ffff}]"
#: the control characters of :data:`XLSX_ILLEGAL_CHARS`, for pyarrow
_XML_CONTROL = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}]"

_XLSX_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xlsx_col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _xml_text(s: str) -> str:
    import re

    s = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", s)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _xlsx_clean_text(arr: Any, name: Any, counts: dict[str, int], weights: Any = None) -> Any:
    """Text with the characters XML cannot hold removed and cut to Excel's cell limit; the cells
    touched are counted in ``counts`` (``weights``: how many cells each value stands for)."""
    import pyarrow.compute as pc

    def n_cells(mask: Any) -> int:
        if weights is not None:
            mask = pc.if_else(mask, weights, 0)
        return int(pc.sum(mask).as_py() or 0)

    bad = pc.fill_null(pc.match_substring_regex(arr, _XML_ILLEGAL), False)
    if pc.any(bad).as_py():
        counts[f"illegal:{name}"] = counts.get(f"illegal:{name}", 0) + n_cells(bad)
        arr = pc.replace_substring_regex(arr, _XML_ILLEGAL, "")
    long = pc.fill_null(pc.greater(pc.utf8_length(arr), XLSX_MAX_CELL_CHARS), False)
    if pc.any(long).as_py():
        counts[f"long:{name}"] = counts.get(f"long:{name}", 0) + n_cells(long)
        arr = pc.utf8_slice_codeunits(arr, 0, XLSX_MAX_CELL_CHARS)
    return arr


#: Excel's day 0 of the 1900 date system (serial 1 is 1900-01-01; Excel counts a 1900-02-29 that never was)
_EXCEL_EPOCH_US = -2_209_161_600_000_000  # 1899-12-30T00:00 in microseconds since 1970-01-01
_US_PER_DAY = 86_400_000_000


def _excel_date_serials(values: Any) -> "tuple[Any, Any, bool]":
    """Excel serial numbers (1900 date system) of dates and date-times.

    ``values`` is a pandas Series of ``datetime64`` (naive or with a time zone) or an iterable of
    ``datetime.date``/``datetime.datetime``/``pandas.Timestamp``/``numpy.datetime64`` values and
    missing values. A value with a time zone is taken at its own local (wall-clock) time, the zone
    dropped: ``2024-03-01 08:00+08:00`` becomes ``2024-03-01 08:00``. Returns ``(serials, ok,
    date_only)``: float serials, a mask of the values Excel can show as a date (present and on or
    after 1900-01-01), and whether every such value is at midnight (a date format then suffices).
    """
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dtype, "tz", None) is not None:
            values = values.dt.tz_localize(None)  # the wall-clock time of each value
        a = values.to_numpy().astype("datetime64[us]")
    else:
        def naive(v: Any) -> Any:
            if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and v != v):
                return None
            if getattr(v, "tzinfo", None) is not None:
                return v.replace(tzinfo=None)
            return v

        a = np.array([naive(v) for v in values], dtype="datetime64[us]")
    missing = np.isnat(a)
    us = np.where(missing, 0, a.astype(np.int64)) - _EXCEL_EPOCH_US
    days = us // _US_PER_DAY
    days = np.where((days > 0) & (days <= 60), days - 1, days)  # before 1900-03-01: Excel's phantom 1900-02-29
    frac = us % _US_PER_DAY
    ok = ~missing & (days >= 1)
    serials = days + frac / _US_PER_DAY
    date_only = bool(np.all(frac[ok] == 0))
    return serials, ok, date_only


def _xlsx_date_cells(values: Any, start: str, rows: Any, date_styles: "tuple[int, int]") -> "tuple[Any, Any]":
    """Date cells (an Excel serial with the date or date-time style of ``date_styles``) of a slice, and a
    mask of the values Excel cannot show as a date (before 1900), which the caller writes as ISO text."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    serials, ok, date_only = _excel_date_serials(values)
    if date_only:
        nums = pc.cast(pa.array(serials.astype(np.int64), mask=~ok), pa.string())
    else:
        nums = pc.cast(pa.array(serials, mask=~ok), pa.string())
    style = date_styles[0] if date_only else date_styles[1]
    return pc.binary_join_element_wise(start, rows, f'" s="{style}"><v>', nums, "</v></c>", ""), ok


def _xlsx_column_date_styles(col: "pd.Series", date_styles: "tuple[int, int] | None") -> "tuple[int, int] | None":
    """The ``date_styles`` of a whole column for :func:`_xlsx_column_cells`: as given when its dates are all
    at midnight (a date format), else the date-time style twice — one format for the whole column."""
    if date_styles is None:
        return None
    dates = _date_values(col)
    if dates is None or len(dates) == 0:
        return date_styles
    _serials, _ok, date_only = _excel_date_serials(dates)
    return date_styles if date_only else (date_styles[1], date_styles[1])


def _date_values(col: "pd.Series") -> Any:
    """The dates and date-times a column holds, ``None`` when it cannot hold any.

    A ``datetime64`` column gives its present values (a Series), an object column whose cells include
    dates the list of its present ``datetime.date``/``datetime.datetime``/``numpy.datetime64`` values
    (empty when there are none); any other column ``None``."""
    import datetime as _dt

    import numpy as np
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col[col.notna()]
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) not in ("date", "datetime", "datetime64", "mixed"):
        return None
    return [v for v in col.tolist() if isinstance(v, (_dt.date, np.datetime64)) and not pd.isna(v)]


def _xlsx_column_cells(col: "pd.Series", letter: str, rows: Any, counts: dict[str, int], sst: "dict[str, int] | None" = None,
                       *, quote_style: int = 1, date_styles: "tuple[int, int] | None" = None) -> Any:
    """The ``<c>`` elements of one column slice as a pyarrow string array (null for an empty cell).

    Text repeated in the slice (status, class, reason …) goes to the shared-string table ``sst``
    (text → index) and the cell holds its index; other text is written inline. Text a spreadsheet
    would take for a formula gets the cell style ``quote_style`` (Excel's quote prefix).
    ``date_styles`` (date style, date-time style of the workbook): dates and date-times are Excel
    dates with that style (see :func:`_excel_date_serials`); without it they are ISO text."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    start = f'<c r="{letter}'
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        kind = "bool"
    elif pd.api.types.is_numeric_dtype(dtype):
        kind = "number"
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        kind = "date" if date_styles is not None else "mixed"
    elif dtype == object or pd.api.types.is_string_dtype(dtype):
        inferred = pd.api.types.infer_dtype(col, skipna=True)
        kind = {"string": "text", "empty": "empty", "boolean": "bool", "floating": "number", "integer": "number",
                "mixed-integer-float": "number", "decimal": "number"}.get(inferred, "mixed")
    else:
        kind = "mixed"
    if kind == "empty":
        return pa.nulls(len(col), pa.string())
    if kind == "date":  # a datetime64 column: Excel dates; NaT is an empty cell
        assert date_styles is not None
        cells, ok = _xlsx_date_cells(col, start, rows, date_styles)
        early = col.notna().to_numpy() & ~ok
        if early.any():  # before 1900: Excel has no date for it, so its ISO text
            txt = pd.Series([v.isoformat() if e else None for v, e in zip(col.tolist(), early)], dtype=object, name=col.name)
            cells = pc.if_else(pa.array(early), _xlsx_column_cells(txt, letter, rows, counts, sst, quote_style=quote_style), cells)
        return cells
    if kind == "bool":
        v = pa.array(col.astype(object).where(col.notna(), None).tolist(), type=pa.bool_())
        return pc.binary_join_element_wise(start, rows, '" t="b"><v>', pc.if_else(v, "1", "0"), "</v></c>", "")
    if kind == "number":
        x = pd.to_numeric(col, errors="coerce")
        if pd.api.types.is_integer_dtype(x.dtype) and not x.isna().any():
            arr = pa.array(x.to_numpy())
        else:
            f = x.to_numpy(dtype=float, na_value=np.nan)
            arr = pa.array(f, mask=~np.isfinite(f))
        return pc.binary_join_element_wise(start, rows, '"><v>', pc.cast(arr, pa.string()), "</v></c>", "")
    if kind == "mixed":  # numbers as numbers, anything else as its text (geometry → WKT, dates → ISO or Excel dates)
        import datetime as _dt

        vals = col.astype(object).tolist()
        if date_styles is not None:
            isdate = np.array([isinstance(v, (_dt.date, np.datetime64)) and not pd.isna(v) for v in vals], dtype=bool)
            if isdate.any():
                dcells, ok = _xlsx_date_cells([v if d else None for v, d in zip(vals, isdate)], start, rows, date_styles)
                isdate &= ok  # before 1900: its ISO text, below
                rest = pd.Series([None if d else v for v, d in zip(vals, isdate)], dtype=object, name=col.name)
                return pc.if_else(pa.array(isdate), dcells,  # the rest as without dates (one before 1900: its ISO text)
                                  _xlsx_column_cells(rest, letter, rows, counts, sst, quote_style=quote_style))
        isnum = np.array([isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in vals],
                         dtype=bool)
        txt = [None if v is None or n or v is pd.NA or v is pd.NaT
               else (v.wkt if hasattr(v, "wkt") else (v.isoformat() if hasattr(v, "isoformat") else str(v))) for v, n in zip(vals, isnum)]
        if isnum.any():
            f = np.array([float(v) if n else np.nan for v, n in zip(vals, isnum)], dtype=float)
            nums = pc.cast(pa.array(f, mask=~np.isfinite(f)), pa.string())
            num_cells = pc.binary_join_element_wise(start, rows, '"><v>', nums, "</v></c>", "")
            text_cells = _xlsx_column_cells(pd.Series(txt, dtype=object, name=col.name), letter, rows, counts, sst,
                                            quote_style=quote_style)
            return pc.if_else(pa.array(isnum), num_cells, text_cells)
        arr = pa.array(txt, type=pa.string())
    else:
        arr = pa.array(col.astype(object).where(col.notna(), None).tolist(), type=pa.string()) if dtype == object \
            else pa.array(col, type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count == len(arr):  # a text column with nothing in it (e.g. pandas' str dtype, all missing)
        return pa.nulls(len(arr), pa.string())
    if sst is not None and len(arr):
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) * 2 <= len(arr):  # repeated text → shared strings; the checks run on the distinct values
            ind = enc.indices
            uses = pc.value_counts(ind)  # cells per distinct value, for the warnings' counts
            weights = np.zeros(len(enc.dictionary), dtype=np.int64)
            vc = uses.flatten()
            keys = vc[0].to_numpy(zero_copy_only=False)
            ok = ~np.isnan(keys.astype(float))
            weights[keys[ok].astype(np.int64)] = vc[1].to_numpy(zero_copy_only=False)[ok]
            d = _xlsx_clean_text(enc.dictionary, col.name, counts, pa.array(weights))
            uniq = d.to_pylist()
            gid = np.fromiter((sst.setdefault(u, len(sst)) for u in uniq), dtype=np.int64, count=len(uniq))
            formula = pc.fill_null(pc.match_substring_regex(d, _FORMULA_START), False).to_numpy(zero_copy_only=False)
            valid = pc.is_valid(ind).to_numpy(zero_copy_only=False)
            pos = np.where(valid, ind.fill_null(0).to_numpy(zero_copy_only=False), 0)
            num = pc.cast(pa.array(gid[pos], mask=~valid), pa.string())
            if formula.any():
                style = pc.if_else(pa.array(formula[pos]), f'" s="{quote_style}" t="s"><v>', '" t="s"><v>')
                return pc.binary_join_element_wise(start, rows, style, num, "</v></c>", "")
            return pc.binary_join_element_wise(start, rows, '" t="s"><v>', num, "</v></c>", "")
    arr = _xlsx_clean_text(arr, col.name, counts)
    esc = arr
    if pc.any(pc.match_substring_regex(arr, "[&<>]")).as_py():
        esc = pc.replace_substring(pc.replace_substring(pc.replace_substring(arr, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    formula = pc.fill_null(pc.match_substring_regex(arr, _FORMULA_START), False)
    spaced = pc.fill_null(pc.match_substring_regex(arr, r"^\s|\s$"), False)  # kept only with xml:space
    has_f, has_s = pc.any(formula).as_py(), pc.any(spaced).as_py()
    if not has_f and not has_s:
        return pc.binary_join_element_wise(start, rows, '" t="inlineStr"><is><t>', esc, "</t></is></c>", "")
    style = pc.if_else(formula, f'" s="{quote_style}', "") if has_f else ""
    open_t = pc.if_else(spaced, '" t="inlineStr"><is><t xml:space="preserve">', '" t="inlineStr"><is><t>') if has_s \
        else '" t="inlineStr"><is><t>'
    return pc.binary_join_element_wise(start, rows, style, open_t, esc, "</t></is></c>", "")


def _xlsx_sheet_xml(fh: Any, df: "pd.DataFrame", r0: int, r1: int, *, head: str, counts: dict[str, int],
                    sst: "dict[str, int] | None", chunk_rows: int = 20_000, quote_style: int = 1,
                    header_styles: "tuple[int, int] | None" = None,
                    bold_rows: "Mapping[int, tuple[int, int]] | None" = None,
                    date_styles: "tuple[int, int] | None" = None) -> None:
    """Write the XML of a sheet holding rows ``r0:r1`` of ``df`` (header on row 1) to the binary stream ``fh``.

    ``head`` opens the worksheet up to ``<sheetData>``; cells as :func:`_xlsx_column_cells` makes them
    (shared strings into ``sst``, or inline strings when ``sst`` is ``None``), built ``chunk_rows`` rows
    at a time while the previous chunk is written (deflated) in a second thread. ``header_styles``
    (plain, quote-prefixed) are the header cells' styles (empty labels then stay empty cells);
    ``bold_rows`` maps sheet row numbers to the (plain, quote-prefixed) styles of their cells;
    ``date_styles`` (date, date-time) makes dates Excel dates (one format per column), else ISO text."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = list(df.columns)
    letters = [_xlsx_col_letter(j) for j in range(len(cols))]
    col_dates = [_xlsx_column_date_styles(df.iloc[:, j], date_styles) for j in range(len(cols))]
    with ThreadPoolExecutor(max_workers=1) as pool:  # deflate chunk k while chunk k+1 is built
        pending = None
        fh.write(head.encode("utf-8"))
        if header_styles is None:
            hdr = "".join(_x_inline_cell(f"{c}1", str(h), quote_style) for c, h in zip(letters, cols))
        else:
            hdr = "".join(_x_inline_cell(f"{c}1", str(h), header_styles[1], plain_style=header_styles[0])
                          for c, h in zip(letters, cols) if str(h) != "")
        fh.write(f'<row r="1">{hdr}</row>'.encode("utf-8"))
        for a in range(r0, r1, chunk_rows):
            b = min(a + chunk_rows, r1)
            rows = pc.cast(pa.array(np.arange(a - r0 + 2, b - r0 + 2, dtype=np.int64)), pa.string())
            cells = [_xlsx_column_cells(df.iloc[a:b, j], letters[j], rows, counts, sst, quote_style=quote_style,
                                        date_styles=col_dates[j])
                     for j in range(len(cols))]
            line = pc.binary_join_element_wise('<row r="', rows, '">', *cells, "</row>", "",
                                               null_handling="replace", null_replacement="")
            if isinstance(line, pa.ChunkedArray):
                line = line.combine_chunks()
            line = line.cast(pa.large_string()) if len(line) else line
            if bold_rows and any(a - r0 + 2 <= r < b - r0 + 2 for r in bold_rows):
                vals = line.to_pylist()
                for r, (st_plain, st_quote) in bold_rows.items():
                    if a - r0 + 2 <= r < b - r0 + 2:
                        k = r - (a - r0 + 2)
                        vals[k] = re.sub(r'(<c r="[A-Z]+[0-9]+")( s="([0-9]+)")?',
                                         lambda m, sp=st_plain, sq=st_quote: f'{m.group(1)} s="{_bold_style(m.group(3), sp, sq)}"',
                                         vals[k])
                line = pa.array(vals, type=pa.large_string())
            if len(line):
                offs = np.frombuffer(line.buffers()[1], dtype=np.int64)[line.offset: line.offset + len(line) + 1]
                data = line.buffers()[2]
                if pending is not None:
                    pending.result()
                pending = pool.submit(fh.write, memoryview(data)[int(offs[0]):int(offs[-1])])
            del cells
        if pending is not None:
            pending.result()
        fh.write(b"</sheetData></worksheet>")


#: cell styles of :func:`write_xlsx_stream`'s workbooks: name → (cellXfs index, with quote prefix).
#: Index 1 is the quote-prefixed plain text every writer of the module uses (``quote_style=1``).
_XLSX_STREAM_STYLES: dict[str, tuple[int, int]] = {"plain": (0, 1), "bold": (2, 3), "filled": (4, 5), "title": (6, 7)}
#: (date ``yyyy-mm-dd``, date-time ``yyyy-mm-dd h:mm:ss``) cellXfs of :func:`write_xlsx_stream`'s workbooks — the
#: formats openpyxl gives dates, so small and streamed workbooks look alike — and their bold twins
_XLSX_STREAM_DATE_STYLES = (8, 9)
_XLSX_STREAM_BOLD_DATE_STYLES = {"8": 10, "9": 11}


def _bold_style(current: str | None, plain: int, quoted: int) -> int:
    """The bold style of a cell of a ``bold_rows`` row, from its current style (none, quote prefix or a date)."""
    if current is None:
        return plain
    return _XLSX_STREAM_BOLD_DATE_STYLES.get(current, quoted)


_XLSX_STREAM_STYLESHEET = (
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd h:mm:ss"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/></font>'
    '<font><b/><sz val="13"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="00DDEBF7"/><bgColor rgb="00DDEBF7"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="12"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" applyAlignment="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" quotePrefix="1" applyAlignment="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" quotePrefix="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" quotePrefix="1" applyAlignment="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '<xf numFmtId="165" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/></cellXfs>'
)


def write_xlsx_stream(
    sheets: "Mapping[str, pd.DataFrame] | Sequence[tuple[str, pd.DataFrame]]",  # noqa: F821
    path: str | Path,
    *,
    chunk_rows: int = 20_000,
    compresslevel: int = 1,
    header_style: "str | Mapping[str, str] | None" = None,
    freeze_header: "bool | Mapping[str, bool]" = True,
    column_widths: "Mapping[str, Sequence[float | None]] | None" = None,
    bold_rows: "Mapping[str, Sequence[int]] | None" = None,
) -> Path:
    """Write DataFrames to a new workbook fast and in bounded memory — for tables of 10⁵–10⁶ rows.

    Same cell rules as the toolkit's XLSX writer: text is stored as text (inline strings: no cell
    is ever a formula, and text a spreadsheet would take for one — starting with ``= + - @``, tab
    or CR — carries Excel's quote prefix), numbers stay numbers, NaN/inf and None are empty cells,
    booleans are booleans, characters XML cannot hold are removed and text over 32,767 characters
    is cut (each with one warning naming the column and the count). Dates and date-times
    (``datetime64`` columns, ``pandas.Timestamp``, ``datetime.date``/``datetime.datetime``,
    ``numpy.datetime64``) are Excel dates — serial numbers of the 1900 date system with the format
    ``yyyy-mm-dd``, or ``yyyy-mm-dd h:mm:ss`` for a column with times of day (one format per
    column); NaT is an empty cell. A value with a time zone is written at its own local
    (wall-clock) time and the zone dropped, as Excel has no time zones: ``2024-03-01 08:00+08:00``
    shows as ``2024-03-01 8:00:00``. A date before 1900-01-01, which Excel cannot show as a date,
    is written as its ISO text. Text that merely looks like a date stays text. A sheet with more rows than
    Excel allows continues on ``NAME_2``, ``NAME_3`` … (each with the header). The XML is built
    column-wise with pyarrow, ``chunk_rows`` rows at a time, and streamed into the zip; the file
    is written aside and moved into place.

    Styling (all optional; a mapping gives it per sheet, by the name passed in ``sheets``):
    ``header_style`` is ``"filled"`` (bold on light blue, wrapped, top-aligned), ``"bold"`` or
    ``"title"`` (bold 13 pt) for the header row (then an empty header label is an empty cell);
    ``freeze_header`` keeps row 1 in view (the default); ``column_widths`` gives the widths of the
    first columns in Excel's character units (``None`` keeps the default); ``bold_rows`` lists
    sheet row numbers (≥ 2) written in bold.
    """
    import itertools
    import warnings
    import zipfile
    from collections.abc import Mapping

    import geopandas as gpd

    from xclz_geo.errors import DataQualityWarning

    p = Path(path)
    items = list(sheets.items()) if isinstance(sheets, Mapping) else list(sheets)
    if not items:
        import pandas as pd

        items = [("data", pd.DataFrame())]
    per_sheet = XLSX_MAX_ROWS - 1
    plan: list[tuple[str, Any, int, int]] = []  # (sheet name, frame, first row, last row)
    given: list[str] = []  # the name each planned sheet was passed under (for the styling options)
    used: set[str] = set()
    for name, df in items:
        if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
            df = df.to_wkt()
        parts = max(1, -(-len(df) // per_sheet))
        for k in range(parts):
            base = "".join("_" if ch in set('[]:*?/\\') else ch for ch in str(name))[:31] or "sheet"
            if k:
                base = f"{base[:27]}_{k + 1}"
            out, j = base, 1
            while out.lower() in used:
                j += 1
                out = f"{base[:27]}_{j}"
            used.add(out.lower())
            plan.append((out, df, k * per_sheet, min(len(df), (k + 1) * per_sheet)))
            given.append(str(name))
    counts: dict[str, int] = {}
    sst: dict[str, int] = {}

    def per(option: Any, name: str, default: Any) -> Any:
        return option.get(name, default) if isinstance(option, Mapping) else (default if option is None else option)

    def head_for(name: str) -> str:
        xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_XLSX_NS}" xmlns:r="{_XLSX_REL}">'
        if per(freeze_header, name, True):
            xml += ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '</sheetView></sheetViews>')
        widths = (column_widths or {}).get(name) or ()
        cols = "".join(f'<col min="{j}" max="{j}" width="{float(w):g}" customWidth="1"/>'
                       for j, w in enumerate(widths, start=1) if w is not None)
        return xml + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"

    for name in given:
        hs = per(header_style, name, None)
        if hs is not None and hs not in _XLSX_STREAM_STYLES:
            raise ValueError(f"write_xlsx_stream: header_style {hs!r} for sheet {name!r}: use one of {sorted(_XLSX_STREAM_STYLES)}")
    with atomic_path(p) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
            for k, ((name, df, r0, r1), gname) in enumerate(zip(plan, given), start=1):
                hs = per(header_style, gname, None)
                bold = {int(r): _XLSX_STREAM_STYLES["bold"] for r in ((bold_rows or {}).get(gname) or ())
                        if r0 == 0 and int(r) >= 2}  # rows of the sheet's first part
                with zf.open(f"xl/worksheets/sheet{k}.xml", "w", force_zip64=True) as fh:
                    _xlsx_sheet_xml(fh, df, r0, r1, head=head_for(gname), counts=counts, sst=sst, chunk_rows=chunk_rows,
                                    header_styles=_XLSX_STREAM_STYLES[hs] if hs is not None else None, bold_rows=bold or None,
                                    date_styles=_XLSX_STREAM_DATE_STYLES)
            sheets_xml = "".join(f'<sheet name="{_xml_text(nm)}" sheetId="{k}" r:id="rId{k}"/>' for k, (nm, *_r) in enumerate(plan, start=1))
            zf.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<workbook xmlns="{_XLSX_NS}" xmlns:r="{_XLSX_REL}"><sheets>{sheets_xml}</sheets></workbook>')
            rels = "".join(f'<Relationship Id="rId{k}" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                           for k in range(1, len(plan) + 1))
            rels += f'<Relationship Id="rId{len(plan) + 1}" Type="{_XLSX_REL}/styles" Target="styles.xml"/>'
            rels += f'<Relationship Id="rId{len(plan) + 2}" Type="{_XLSX_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                fh.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_XLSX_NS}" uniqueCount="{len(sst)}">'
                         .encode("utf-8"))
                for a in range(0, len(sst), 200_000):
                    part = list(sst)[a:a + 200_000] if len(sst) <= 200_000 else list(itertools.islice(sst, a, a + 200_000))
                    fh.write("".join(('<si><t xml:space="preserve">' if t[:1].isspace() or t[-1:].isspace() else "<si><t>")
                                     + t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</t></si>"
                                     for t in part).encode("utf-8"))
                fh.write(b"</sst>")
            zf.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
            zf.writestr("xl/styles.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<styleSheet xmlns="{_XLSX_NS}">{_XLSX_STREAM_STYLESHEET}'
                        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
            overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" '
                                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                                for k in range(1, len(plan) + 1))
            zf.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                        '<Default Extension="xml" ContentType="application/xml"/>'
                        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                        '<Override PartName="/xl/sharedStrings.xml" '
                        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                        f"{overrides}</Types>")
            zf.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                        f'<Relationship Id="rId1" Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    for key, c in counts.items():
        what, col = key.split(":", 1)
        if what == "illegal":
            msg = f"{p}: column {col}: {c:,} cell(s) held control characters (such as NUL) that XLSX cannot store; they were removed in the XLSX"
        else:
            msg = f"{p}: column {col}: {c:,} cell(s) longer than Excel's {XLSX_MAX_CELL_CHARS:,} characters were cut in the XLSX"
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
    return p


def _arrow_column(col: "pd.Series") -> Any:
    """A column as pyarrow, written as pandas' ``to_csv`` writes it: text as text, numbers as numbers,
    booleans as ``True``/``False``, missing values empty, other objects as ``str(value)``."""
    import math

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(col.astype(object).map({True: "True", False: "False"}).where(col.notna(), None).tolist(), type=pa.string())
    if pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype):
            return pa.array(col.astype("Int64").to_numpy(dtype="float64", na_value=np.nan), mask=col.isna().to_numpy()).cast(pa.int64()) \
                if col.isna().any() else pa.array(col.to_numpy(dtype=np.int64))
        return pa.array(col.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":  # Arrow text: its buffers, no str per cell
        return pa.array(col.array, type=pa.string())
    inferred = pd.api.types.infer_dtype(col, skipna=True)
    if inferred in ("string", "empty"):
        return pa.array(col.astype(object).where(col.notna(), None).tolist(), type=pa.string())
    vals = col.astype(object).tolist()
    return pa.array([None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))
                     else (v.wkt if hasattr(v, "wkt") else str(v)) for v in vals], type=pa.string())


#: tables with more rows than this are written by the streamed writers (:func:`write_csv_stream`,
#: :func:`write_xlsx_stream`) — same cells, seconds instead of minutes for 10⁶ rows
STREAM_MIN_ROWS = 20_000


def _csv_quote(text: str, sep: str) -> str:
    return '"' + text.replace('"', '""') + '"' if (sep in text or '"' in text or "\n" in text or "\r" in text) else text


def _csv_safe_arrow(arr: Any) -> Any:
    """``csv_safe_text`` of every text cell of a pyarrow column (others unchanged)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(arr.type):
        return arr
    hit = pc.fill_null(pc.match_substring_regex(arr, _FORMULA_START), False)
    if not pc.any(hit).as_py():
        return arr
    return pc.if_else(hit, pc.binary_join_element_wise("'", arr, ""), arr)


def write_csv_stream(df: "pd.DataFrame", path: str | Path, *, header: "Sequence[str] | None" = None, csv_safe: bool = False,
                     sep: str = ",", chunk_rows: int = 200_000) -> Path:
    """Write a large table as CSV (UTF-8 with BOM, so Excel shows Chinese) fast and in bounded memory.

    The same cells as :func:`write_table`'s CSV — text exactly as it is, numbers in their shortest
    round-trip form (``1e-7``, ``3`` for 3.0), missing values empty, ``True``/``False`` — written by
    pyarrow ``chunk_rows`` rows at a time; every text cell is quoted (a standard CSV reader, Excel
    included, reads it as the same text). Geometry goes out as WKT. ``header`` replaces the column
    names; ``csv_safe`` as in :func:`write_csv_text`. Written aside, moved into place.
    """
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = Path(path)
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        df = df.to_wkt()
    names = [str(c) for c in (header if header is not None else df.columns)]
    if csv_safe:
        names = [csv_safe_text(n) for n in names]
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as fh:
            fh.write("\ufeff".encode("utf-8"))
            writer = None
            for a in range(0, max(len(df), 1), chunk_rows):
                part = df.iloc[a:a + chunk_rows]
                cols = [_arrow_column(part.iloc[:, j]) for j in range(part.shape[1])]
                if csv_safe:
                    cols = [_csv_safe_arrow(c) for c in cols]
                table = pa.Table.from_arrays(cols, names=[f"c{j}" for j in range(len(cols))])
                if writer is None:
                    fh.write((sep.join(_csv_quote(n, sep) for n in names) + "\n").encode("utf-8"))
                    writer = pacsv.CSVWriter(fh, table.schema, write_options=pacsv.WriteOptions(include_header=False, delimiter=sep))
                writer.write_table(table)
            if writer is not None:
                writer.close()
    return p

# ====================================================================== text-first tables
#
# Users' tables come back with every cell they gave unchanged. The reader below reads every
# cell as the text the user typed (no float conversion), keeps the sheet, the header row and
# the title rows above it, and maps each data row to its spreadsheet row number; the writers
# write user text as text, never as a formula. See docs/notes/tables.md.

#: characters an XLSX file cannot hold (XML 1.0); removed on writing, with a warning
XLSX_ILLEGAL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: a cell starting with one of these is a formula (or a formula trigger) in a spreadsheet
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: header names that mark the header row of a table (normalised: stripped, lower case)
HEADER_HINTS = frozenset(
    {
        "lon", "lng", "long", "longitude", "经度", "x", "lat", "latitude", "纬度", "y",
        "name", "名称", "企业名称", "单位名称", "公司名称", "统一社会信用代码", "信用代码", "credit_code",
        "地块编号", "宗地编号", "parcel_id", "用地面积(亩)", "用地面积", "land_mu", "地址",
    }
)
#: CSV delimiters tried, in order of preference
CSV_DELIMITERS = (",", "\t", ";", "|")
_HEADER_SCAN_ROWS = 30


@dataclass
class TextTable:
    """A table read as text: every cell is the string the user typed (``""`` when empty).

    Attributes
    ----------
    frame
        One ``object`` column of ``str`` per header cell, in file order (pandas' Arrow-backed ``str``
        columns, the same texts, when read with ``arrow_text=True``). Column names are the
        header texts, made unique the way pandas does (``名称.1``, ``Unnamed: 3``); the texts as
        typed are in :attr:`headers`. Index ``0..n-1``.
    source
        The file read (``None`` for a frame made in memory).
    format
        ``"csv"`` (also TSV/TXT), ``"xlsx"`` (also XLSM) or ``"xls"``.
    sheet_name
        The sheet read (``None`` for CSV).
    sheet_names
        Every sheet of the workbook, in order (``[]`` for CSV).
    header_row
        Spreadsheet number (1-based) of the header row; for CSV the record number (= the row
        Excel shows when it opens the file).
    row_numbers
        Spreadsheet row number (1-based) of each data row of :attr:`frame`.
    headers
        The header cells as typed, one per column of :attr:`frame`.
    title_rows
        The rows above the header (title, notes), as text, kept for writing the table back.
    encoding, delimiter
        Of a CSV source.
    """

    frame: "pd.DataFrame"
    source: Path | None = None
    format: str = "csv"
    sheet_name: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    header_row: int = 1
    row_numbers: "np.ndarray | None" = None
    headers: list[str] = field(default_factory=list)
    title_rows: list[list[str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None

    def __post_init__(self) -> None:
        import numpy as np

        if self.row_numbers is None:
            self.row_numbers = np.arange(self.header_row + 1, self.header_row + 1 + len(self.frame), dtype=np.int64)
        if not self.headers:
            self.headers = [str(c) for c in self.frame.columns]

    def row_label(self, i: int) -> str:
        """Where data row ``i`` (0-based position in :attr:`frame`) is, as a user sees it: ``sheet 企业名单, row 14``."""
        assert self.row_numbers is not None
        n = int(self.row_numbers[i])
        return f"sheet {self.sheet_name}, row {n}" if self.sheet_name is not None else f"row {n}"

    def rows_label(self, positions: Iterable[int]) -> str:
        """Several data rows as one phrase: ``sheet 企业名单, rows 14, 15`` (row numbers as the spreadsheet shows)."""
        assert self.row_numbers is not None
        nums = [str(int(self.row_numbers[i])) for i in positions]
        word = "row" if len(nums) == 1 else "rows"
        prefix = f"sheet {self.sheet_name}, " if self.sheet_name is not None else ""
        return f"{prefix}{word} {', '.join(nums)}"

    def where(self, i: int) -> str:
        """``FILE: sheet S, row N`` of data row ``i``, for messages."""
        return f"{self.source}: {self.row_label(i)}" if self.source is not None else self.row_label(i)


def _unique_names(header: Sequence[str]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = str(name).strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _looks_numeric(s: str) -> bool:
    try:
        float(s.replace(",", ""))
        return True
    except ValueError:
        return False


def _norm_hint(s: str) -> str:
    s = s.strip().lower().replace("（", "(").replace("）", ")").replace(" ", "")
    return s.replace("(°)", "")


def find_header_row(rows: Sequence[Sequence[str]], *, hints: Iterable[str] | None = None) -> int:
    """Position (0-based, in ``rows``) of the row that looks like the header.

    The rule, applied to the first 30 non-empty rows:

    1. the first row with at least two non-empty cells of which one is a known column name
       (``hints``; by default coordinates, names, IDs: 经度, 纬度, 企业名称, 统一社会信用代码 …);
    2. else the first row whose non-empty cells fill at least half of the table's width (and at
       least two cells when the table is wider than one column), at least half of them text
       rather than numbers — a title row above the header has one cell, so it is passed over;
    3. else the first non-empty row.
    """
    import math

    hint_set = {_norm_hint(h) for h in (hints if hints is not None else HEADER_HINTS)}
    import itertools

    sample = list(itertools.islice(((i, [str(c).strip() for c in r]) for i, r in enumerate(rows) if any(str(c).strip() for c in r)),
                                   _HEADER_SCAN_ROWS))
    if not sample:
        return 0
    for i, cells in sample:
        filled = [c for c in cells if c]
        if len(filled) >= 2 and any(_norm_hint(c) in hint_set or _norm_hint(re.split(r"[(\[]", c)[0]) in hint_set
                                    for c in filled):
            return i
    width = max(len([c for c in cells if c]) and max(k + 1 for k, c in enumerate(cells) if c) for _, cells in sample)
    need = max(2 if width > 1 else 1, math.ceil(width / 2))
    for i, cells in sample:
        filled = [c for c in cells if c]
        texty = [c for c in filled if not _looks_numeric(c)]
        if len(filled) >= need and len(texty) * 2 >= len(filled):
            return i
    return sample[0][0]


def _sniff_delimiter(lines: Sequence[str], suffix: str) -> str:
    import csv

    if suffix == ".tsv":
        return "\t"
    best, best_n = ",", 0
    for d in CSV_DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=d) if r]
        except csv.Error:
            continue
        n = sum(1 for w in widths if w >= 2)
        if n > best_n:
            best, best_n = d, n
    return best


def _check_header_row(header_row: int | None, p: Path) -> None:
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise InputDataError(f"{p}: --header-row {header_row!r} must be a row number, 1 for the first row")


def _csv_sample(p: Path, enc: str, *, max_bytes: int = 256 * 1024) -> tuple[str, bool]:
    with open(p, "rb") as f:
        raw = f.read(max_bytes)
        more = bool(f.read(1))
    if more:
        cut = raw.rfind(b"\n")
        raw = raw[: cut + 1] if cut > 0 else raw
    return raw.decode(enc, errors="replace"), more


def csv_header(path: str | Path, *, header_row: int | None = None, encoding: str | None = None,
               hints: Iterable[str] | None = None) -> dict[str, Any]:
    """Encoding, delimiter, header row (1-based record number), header cells and title rows of a CSV/TSV.

    Raises
    ------
    InputDataError
        The file is empty, or ``header_row`` is beyond its end.
    """
    import csv

    p = _exists(path)
    _check_header_row(header_row, p)
    if p.stat().st_size == 0:
        raise InputDataError(f"{p}: the file is empty")
    enc = encoding or detect_text_encoding(p)
    text, _ = _csv_sample(p, enc)
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if not any(ln.strip() for ln in lines):
        raise InputDataError(f"{p}: the file is empty")
    sep = _sniff_delimiter([ln for ln in lines[:200]], p.suffix.lower())
    rows = list(csv.reader(io_module.StringIO(text), delimiter=sep))
    if header_row is not None:
        if header_row > len(rows):
            raise InputDataError(f"{p}: --header-row {header_row} is beyond the {len(rows)} rows read from the file's start")
        h = header_row - 1
    else:
        h = find_header_row(rows, hints=hints)
    return {"encoding": enc, "delimiter": sep, "header_row": h + 1, "header": rows[h], "title_rows": rows[:h]}


def _read_csv_text(p: Path, *, header_row: int | None, encoding: str | None, hints: Iterable[str] | None,
                   arrow_text: bool = False) -> TextTable:
    import csv

    import numpy as np
    import pandas as pd

    info = csv_header(p, header_row=header_row, encoding=encoding, hints=hints)
    enc, sep, h = info["encoding"], info["delimiter"], info["header_row"]
    fast = _read_csv_text_arrow(p, info, arrow_text=arrow_text)
    if fast is not None:
        return fast
    header = list(info["header"])
    rows: list[list[str]] = []
    nums: list[int] = []
    try:
        with open(p, encoding=enc, newline="") as fh:
            reader = csv.reader(fh, delimiter=sep)
            for k, row in enumerate(reader, start=1):
                if k <= h:
                    continue
                if not row:
                    continue  # a blank line holds no cell
                if k == h + 1 and row and row[0].startswith("\ufeff"):
                    row[0] = row[0][1:]
                rows.append(row)
                nums.append(k)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{p}: text is not {enc} throughout ({exc.reason} at byte {exc.start}); re-save it as UTF-8") from None
    except csv.Error as exc:
        raise InputFileError(f"{p}: cannot read as CSV ({exc}); check the quoting") from None
    header = _trim_header(header)
    width = len(header)
    for r, k in zip(rows, nums):
        if len(r) > width:
            extra = [c for c in r[width:] if c.strip()]
            if extra:
                raise InputDataError(
                    f"{p}: row {k} has {len(r)} fields but the header (row {h}) has {width}: "
                    f"{extra[0][:40]!r} has no column; add a header for it or remove it (a stray delimiter?)"
                )
            del r[width:]
        elif len(r) < width:
            r.extend([""] * (width - len(r)))
    names = _unique_names(header)
    if rows:
        arr = np.empty((len(rows), width), dtype=object)
        arr[:] = rows
        frame = pd.DataFrame(arr, columns=names)
    else:
        frame = pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    return TextTable(frame=frame, source=p, format="csv", header_row=h, row_numbers=np.asarray(nums, dtype=np.int64),
                     headers=[str(c) for c in header], title_rows=info["title_rows"], encoding=enc, delimiter=sep)


def _read_csv_text_arrow(p: Path, info: dict[str, Any], *, arrow_text: bool = False) -> TextTable | None:
    """The fast path of :func:`read_table_text` for CSV: Arrow reads the body as text. ``None`` (use the
    Python reader) when a row is ragged, or when blank lines or line breaks inside quoted cells make the
    spreadsheet row numbers differ from the line numbers."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    enc, sep, h = info["encoding"], info["delimiter"], info["header_row"]
    headers = _trim_header(info["header"])
    names = _unique_names(headers)
    raw = p.read_bytes()
    if enc.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig"):
        try:
            raw = raw.decode(enc).encode("utf-8")
        except UnicodeDecodeError:
            return None
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if b"\r" in raw and b"\r\n" not in raw:  # old Mac line ends: let Python count them
        return None
    bad: list[int] = []

    def ragged(row: Any) -> str:
        bad.append(1)
        return "error"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=h, encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, invalid_row_handler=ragged),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    if n != lines - h:  # blank lines or quoted line breaks: row numbers need the Python reader
        return None
    text_dtype = _arrow_text_dtype() if arrow_text else None
    if text_dtype is not None:  # the Arrow buffers as they are, no Python string per cell
        cols = {name: pd.Series(pd.array(table.column(i), dtype=text_dtype)) for i, name in enumerate(names)}
    else:
        cols = {name: pd.Series(table.column(i).to_numpy(zero_copy_only=False), dtype=object)
                for i, name in enumerate(names)}
    del table, raw
    frame = pd.DataFrame(cols) if n else pd.DataFrame({c: pd.Series([], dtype=object) for c in names})
    return TextTable(frame=frame, source=p, format="csv", header_row=h, row_numbers=np.arange(h + 1, h + 1 + n, dtype=np.int64),
                     headers=headers, title_rows=info["title_rows"], encoding=enc, delimiter=sep)


def _arrow_text_dtype() -> Any:
    """pandas' Arrow-backed ``str`` dtype (missing = NaN), or ``None`` when this pandas/pyarrow has none."""
    import numpy as np
    import pandas as pd

    try:
        import pyarrow  # noqa: F401

        return pd.StringDtype("pyarrow", na_value=np.nan)
    except (ImportError, TypeError):
        return None


def _arrow_text_frame(table: TextTable, arrow_text: bool) -> TextTable:
    """``table`` with its ``object`` columns of text as Arrow-backed ``str`` (``read_table_text(arrow_text=True)``)."""
    import pandas as pd

    dtype = _arrow_text_dtype() if arrow_text else None
    if dtype is None:
        return table
    frame = table.frame
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) in ("string", "empty"):
            frame.isetitem(j, col.astype(dtype))
    return table


# ---------------------------------------------------------------- XLSX cells as text

_DATE_TOKEN = re.compile(r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|am/pm|.', re.IGNORECASE)
_ZERO_PAD = re.compile(r"^0+$")


def _format_date(value: Any, number_format: str) -> str:
    """A date/time cell as text: ISO ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS`` with a time), unless the
    cell's own date-only format spells year, month and day with digits (``yyyy/m/d``, ``yyyy"年"m"月"d"日"``)."""
    import datetime as dt

    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S") if value.second or value.microsecond else value.strftime("%H:%M")
    if isinstance(value, dt.timedelta):
        return str(value)
    if not isinstance(value, dt.datetime):
        if isinstance(value, dt.date):
            value = dt.datetime(value.year, value.month, value.day)
        else:
            return str(value)
    fmt = re.sub(r"\[[^\]]*\]", "", (number_format or "").split(";")[0])
    low = fmt.lower()
    # built-in format 14 (``mm-dd-yy``) is shown in the reader's locale: ISO is the honest text for it
    own = ("yy" in low and "d" in low and "m" in low and "mmm" not in low and "ddd" not in low
           and "h" not in low and "s" not in low and low != "mm-dd-yy")
    if own and not (value.hour or value.minute or value.second):
        out: list[str] = []
        after_hour = False
        for tok in _DATE_TOKEN.findall(fmt):
            t = tok.lower()
            if tok.startswith('"'):
                out.append(tok[1:-1])
            elif tok.startswith("\\"):
                out.append(tok[1:])
            elif t == "yyyy":
                out.append(f"{value.year:04d}")
            elif t == "yy":
                out.append(f"{value.year % 100:02d}")
            elif t in ("mm", "m"):
                v = value.minute if after_hour else value.month
                out.append(f"{v:02d}" if t == "mm" else str(v))
            elif t in ("dd", "d"):
                out.append(f"{value.day:02d}" if t == "dd" else str(value.day))
            elif t in ("hh", "h"):
                after_hour = True
                out.append(f"{value.hour:02d}" if t == "hh" else str(value.hour))
            elif t in ("ss", "s"):
                out.append(f"{value.second:02d}" if t == "ss" else str(value.second))
            elif t == "am/pm":
                out.append("AM" if value.hour < 12 else "PM")
            else:
                out.append(tok)
        return "".join(out)
    if value.hour or value.minute or value.second:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d")


def excel_cell_text(value: Any, number_format: str = "General", *, is_date: bool = False) -> str:
    """The text of one spreadsheet cell, as the user typed or sees it.

    * text: unchanged (leading zeros, 18-digit codes, spaces);
    * empty: ``""``;
    * whole numbers: without ``.0`` (``12``, ``13912345678``); a format of zeros only
      (``0000``) pads them (``0012``) as Excel shows them;
    * other numbers: the shortest text that reads back as the stored number (``12.5``, ``0.125``
      for 12.5 %); display rounding by the cell's format is not applied;
    * dates: ISO ``YYYY-MM-DD`` (with `` HH:MM:SS`` when there is a time), unless the cell's own
      date-only format spells year, month and day with digits (``yyyy/m/d`` → ``2024/3/5``,
      ``yyyy"年"m"月"d"日"`` → ``2024年3月5日``);
    * TRUE/FALSE as ``TRUE``/``FALSE``.
    """
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return _format_date(value, number_format)
    if isinstance(value, int):
        s = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        s = str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    else:
        return str(value)
    fmt = (number_format or "").split(";")[0]
    if _ZERO_PAD.match(fmt) and s.lstrip("-").isdigit():
        neg = s.startswith("-")
        s = ("-" if neg else "") + s.lstrip("-").zfill(len(fmt))
    return s


def _xlsx_grid_openpyxl(p: Path, sheet: str | int | None) -> tuple[list[str], str, list[list[str]], list[int], dict[int, int]]:
    """Sheet names, the sheet picked, its rows as text (trailing empty cells dropped), their spreadsheet
    numbers and the count of 16+-digit whole numbers per column — read by openpyxl (read-only)."""
    import warnings

    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - openpyxl is a main dependency
        raise InputFileError(f"{p}: reading XLSX needs openpyxl (pip install openpyxl)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's "unknown extension" chatter
            wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(f"{p}: cannot read as an Excel workbook ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    try:
        names = list(wb.sheetnames)
        ws_name = _pick_sheet(p, names, sheet)
        ws = wb[ws_name]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        grid: list[list[str]] = []
        row_no: list[int] = []
        big_numbers: dict[int, int] = {}
        k = 0
        for row in ws.iter_rows():
            k += 1
            for c in row:
                r = getattr(c, "row", None)
                if r is not None:
                    k = r
                    break
            texts: list[str] = []
            for j, c in enumerate(row):
                v = c.value
                if v is None:
                    texts.append("")
                    continue
                if isinstance(v, float) and v.is_integer() and abs(v) >= 1e15:
                    big_numbers[j] = big_numbers.get(j, 0) + 1
                texts.append(excel_cell_text(v, getattr(c, "number_format", "General") or "General",
                                             is_date=bool(getattr(c, "is_date", False))))
            while texts and texts[-1] == "":
                texts.pop()
            grid.append(texts)
            row_no.append(k)
    finally:
        wb.close()
    return names, ws_name, grid, row_no, big_numbers


# ---------------------------------------------------------------- XLSX package, read and patched directly
#
# The fast paths read the sheet XML straight from the zip (regular expressions over streamed chunks)
# and write a workbook back by copying every part of the user's file and patching only the table's
# sheet. They give exactly what openpyxl gives (the cell values of a read-only, data-only load) and
# step aside for the openpyxl paths on anything they do not know (namespace prefixes, rows out of
# order, strict OOXML …): :class:`_XlsxUnsupported`.


class _XlsxUnsupported(Exception):
    """The fast XLSX path met something it does not handle; the openpyxl path is used instead."""


_X_ATTR = re.compile(r"""([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_X_ENT = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_X_ENT_MAP = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_X_ROW = re.compile(r"<row\b([^>]*?)(/>|>(.*?)</row>)", re.S)
_X_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_X_REF = re.compile(r"([A-Z]{1,3})([0-9]+)$")
_X_TS = re.compile(r'(?:^|\s)([ts])="([^"]*)"')
_X_CELL_FAST = re.compile(r'<c r="([A-Z]{1,3})[0-9]+"((?: [a-z]{1,2}="[^"<>]*")*)\s*(?:/>|>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>)?(?:<is>(.*?)</is>)?</c>)', re.S)
_X_V = re.compile(r"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_X_T = re.compile(r"<t(?:\s[^>]*?)?(?:/>|>(.*?)</t>)", re.S)
_X_RPH = re.compile(r"<rPh\b.*?</rPh>", re.S)
_X_IS = re.compile(r"<is(?:\s[^>]*)?>(.*?)</is>", re.S)
_X_SI = re.compile(r"<si(?:\s[^>]*?)?(?:/>|>(.*?)</si>)", re.S)
_X_PREFIXED = re.compile(r"<\w+:(?:worksheet|workbook|sheetData|row|c|sst|si|styleSheet)\b")


def _x_ent(m: "re.Match[str]") -> str:
    e = m.group(1)
    if e[0] == "#":
        return chr(int(e[2:], 16) if e[1] in "xX" else int(e[1:]))
    return _X_ENT_MAP[e]


def _x_unescape(s: str) -> str:
    """Text of XML character data as an XML parser gives it (entities resolved, line ends normalised)."""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in s:
        return s
    return _X_ENT.sub(_x_ent, s)


def _x_attrs(s: str) -> dict[str, str]:
    return {k: _x_unescape(a if b is None or a else b) for k, a, b in ((m.group(1), m.group(2), m.group(3)) for m in _X_ATTR.finditer(s))}


def _x_text_of(inner: str) -> str:
    """The text of a ``<si>``/``<is>`` element: its ``<t>`` runs, phonetic runs (``<rPh>``) left out (as openpyxl)."""
    if inner.startswith("<t>") and inner.endswith("</t>") and inner.count("<t") == 1:
        return _x_unescape(inner[3:-4])
    if "<rPh" in inner:
        inner = _X_RPH.sub("", inner)
    return "".join(_x_unescape(t or "") for t in _X_T.findall(inner))


def _xlsx_col_index(letters: str, _cache: dict[str, int] = {}) -> int:  # noqa: B006 - a deliberate cache
    j = _cache.get(letters)
    if j is None:
        j = 0
        for ch in letters:
            j = j * 26 + ord(ch) - 64
        _cache[letters] = j
    return j


# openpyxl's rules for number formats and serial dates (openpyxl 3.1, MIT licence), copied so that the
# fast reader does not import openpyxl (a third of a second); tests/test_io.py checks they agree with it.
_XL_BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 5: '"$"#,##0_);("$"#,##0)', 6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)', 8: '"$"#,##0.00_);[Red]("$"#,##0.00)', 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm", 37: "#,##0_);(#,##0)", 38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)", 40: "#,##0.00_);[Red](#,##0.00)", 41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)', 43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)', 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0",
    48: "##0.0E+0", 49: "@",
}
_XL_STRIP = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_XL_TIMEDELTA = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_XL_DATE_CHAR = re.compile(r"(?<![_\\])[dmhysDMHYS]")


def _xl_is_date_format(fmt: str | None) -> bool:
    return fmt is not None and _XL_DATE_CHAR.search(_XL_STRIP.sub("", fmt.split(";")[0])) is not None


def _xl_is_timedelta_format(fmt: str | None) -> bool:
    return fmt is not None and _XL_TIMEDELTA.search(fmt.split(";")[0]) is not None


def _xl_from_excel(value: float, date1904: bool = False, timedelta: bool = False) -> Any:
    """openpyxl's ``from_excel``: an Excel serial number as a datetime, time or timedelta."""
    import datetime

    if timedelta:
        td = datetime.timedelta(days=value)
        if td.microseconds:
            td = datetime.timedelta(seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3))
        return td
    epoch = datetime.datetime(1904, 1, 1) if date1904 else datetime.datetime(1899, 12, 30)
    day, fraction = divmod(value, 1)
    diff = datetime.timedelta(milliseconds=round(fraction * 86400 * 1000))
    if 0 <= value < 1 and diff.days == 0:
        mins, seconds = divmod(diff.seconds, 60)
        hours, mins = divmod(mins, 60)
        return datetime.time(hours, mins, seconds, diff.microseconds)
    if 0 < value < 60 and not date1904:
        day += 1
    return epoch + datetime.timedelta(days=day) + diff


class _XlsxPackage:
    """The parts of an XLSX/XLSM file the fast paths need: sheets (names in order → zip paths), the date
    system, number formats per cell style, and shared strings (read on demand)."""

    def __init__(self, path: Path) -> None:
        import posixpath
        import zipfile

        self.path = path
        self.zf = zipfile.ZipFile(path)
        self.members = {i.filename: i for i in self.zf.infolist()}
        root = self._rels("_rels/.rels", "")
        wb_part = next((t for typ, t, _ in root.values() if typ.endswith("/officeDocument")), None)
        if wb_part is None or wb_part not in self.members:
            raise _XlsxUnsupported("no workbook part")
        self.workbook_part = wb_part
        self.workbook_xml = self.text(wb_part)
        if _X_PREFIXED.search(self.workbook_xml[:4096]) or "<sheets" not in self.workbook_xml:
            raise _XlsxUnsupported("prefixed or unusual workbook.xml")
        base = posixpath.dirname(wb_part)
        self.workbook_rels_part = posixpath.join(base, "_rels", posixpath.basename(wb_part) + ".rels")
        self.rels = self._rels(self.workbook_rels_part, base)
        self.sheets: list[tuple[str, str, str]] = []  # (name, zip path, relationship id)
        for m in re.finditer(r"<sheet\b([^>]*?)/?>", self.workbook_xml):
            a = _x_attrs(m.group(1))
            rid = next((v for k, v in a.items() if k.endswith(":id")), None)
            if rid is None or rid not in self.rels or "name" not in a:
                raise _XlsxUnsupported("sheet without a relationship")
            typ, target, _ = self.rels[rid]
            if not typ.endswith("/worksheet") or target not in self.members:
                raise _XlsxUnsupported("not a worksheet (a chart sheet?) or missing part")
            self.sheets.append((a["name"], target, rid))
        if not self.sheets:
            raise _XlsxUnsupported("no sheets")
        pr = re.search(r"<workbookPr\b([^>]*?)/?>", self.workbook_xml)
        self.date1904 = bool(pr) and _x_attrs(pr.group(1)).get("date1904", "").lower() in ("1", "true")
        # as openpyxl finds them: styles at their usual place, shared strings by their content type
        self.styles_part = "xl/styles.xml" if "xl/styles.xml" in self.members else \
            next((t for typ, t, _ in self.rels.values() if typ.endswith("/styles")), None)
        self.sst_part = next((t for typ, t, _ in self.rels.values() if typ.endswith("/sharedStrings")), None)
        if "[Content_Types].xml" in self.members:
            m = re.search(r'<Override\b[^>]*?PartName="/?([^"]+)"[^>]*?ContentType="[^"]*sharedStrings\+xml"',
                          self.text("[Content_Types].xml"))
            self.sst_part = m.group(1) if m else self.sst_part
        self._sst: list[str] | None = None

    def close(self) -> None:
        self.zf.close()

    def text(self, part: str) -> str:
        raw = self.zf.read(part)
        head = raw[:200]
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"encoding=" in head and not re.search(rb"encoding=[\"']utf-8[\"']", head, re.I)):
            raise _XlsxUnsupported(f"{part}: not UTF-8")
        return raw.decode("utf-8-sig")

    def _rels(self, part: str, base: str) -> dict[str, tuple[str, str, str]]:
        import posixpath

        if part not in self.members:
            return {}
        out: dict[str, tuple[str, str, str]] = {}
        for m in re.finditer(r"<Relationship\b([^>]*?)/?>", self.text(part)):
            a = _x_attrs(m.group(1))
            target = a.get("Target", "")
            if a.get("TargetMode", "").lower() != "external":
                target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            out[a.get("Id", "")] = (a.get("Type", ""), target, a.get("TargetMode", ""))
        return out

    def cell_formats(self) -> list[str]:
        """The number format of each cell style (``cellXfs`` position), as openpyxl names it."""
        BUILTIN_FORMATS = _XL_BUILTIN_FORMATS  # noqa: N806

        if self.styles_part is None or self.styles_part not in self.members:
            return []
        xml = self.text(self.styles_part)
        if _X_PREFIXED.search(xml[:4096]):
            raise _XlsxUnsupported("prefixed styles.xml")
        custom = {}
        for m in re.finditer(r"<numFmt\b([^>]*?)/?>", xml):
            a = _x_attrs(m.group(1))
            custom[int(a["numFmtId"])] = a.get("formatCode", "")
        sec = re.search(r"<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)", xml, re.S)
        out = []
        for m in re.finditer(r"<xf\b([^>]*?)(?:/>|>.*?</xf>)", (sec.group(1) or "") if sec else "", re.S):
            fid = int(_x_attrs(m.group(1)).get("numFmtId", 0))
            out.append(custom[fid] if fid in custom else BUILTIN_FORMATS.get(fid, "General"))
        return out

    def shared_strings(self) -> list[str]:
        if self._sst is None:
            if self.sst_part is None or self.sst_part not in self.members:
                self._sst = []
            else:
                xml = self.text(self.sst_part)
                if _X_PREFIXED.search(xml[:4096]):
                    raise _XlsxUnsupported("prefixed sharedStrings.xml")
                self._sst = [_x_text_of(m.group(1) or "").replace("x005F_", "") for m in _X_SI.finditer(xml)]
        return self._sst

    def iter_row_chunks(self, part: str, *, chunk_bytes: int = 1 << 22) -> Iterator[tuple[str, bool]]:
        """The sheet XML as text pieces cut after a ``</row>`` (``True`` for the last piece)."""
        with self.zf.open(part) as fh:
            buf = b""
            first = True
            while True:
                data = fh.read(chunk_bytes)
                if first:
                    head = data[:300]
                    if b"encoding=" in head and not re.search(rb"encoding=[\"']utf-8[\"']", head, re.I):
                        raise _XlsxUnsupported("sheet not UTF-8")
                    if _X_PREFIXED.search(data[:8192].decode("utf-8", "ignore")) or b"<![CDATA[" in data:
                        raise _XlsxUnsupported("prefixed sheet XML or CDATA")
                    first = False
                if not data:
                    yield buf.decode("utf-8-sig"), True
                    return
                if b"<![CDATA[" in data:
                    raise _XlsxUnsupported("CDATA in the sheet")
                buf += data
                cut = buf.rfind(b"</row>")
                if cut >= 0:
                    cut += 6
                    yield buf[:cut].decode("utf-8-sig"), False
                    buf = buf[cut:]


def _xlsx_style_kinds(formats: Sequence[str]) -> list[tuple[str, int]]:
    """Per cell style: its number format and how a number in it reads (0 number, 1 date, 2 duration, 3 zero-padded)."""
    is_date_format, is_timedelta_format = _xl_is_date_format, _xl_is_timedelta_format
    out = []
    for fmt in formats:
        kind = 2 if is_timedelta_format(fmt) else 1 if is_date_format(fmt) else 3 if _ZERO_PAD.match((fmt or "").split(";")[0]) else 0
        if kind == 2 and not is_date_format(fmt):
            kind = 0  # openpyxl: a duration is a date format first
        out.append((fmt, kind))
    return out


def _xlsx_grid_fast(p: Path, sheet: str | int | None) -> tuple[list[str], str, list[list[str]], list[int], dict[int, int]] | None:
    """:func:`_xlsx_grid_openpyxl` without openpyxl's per-cell objects: the sheet XML is read in streamed
    chunks and each cell's text made by :func:`excel_cell_text`'s rules (the same values openpyxl gives).
    ``None`` when the workbook has something this reader does not handle."""
    try:
        return _xlsx_grid_fast_read(p, sheet)
    except _XlsxUnsupported:
        return None


def _xlsx_grid_fast_read(p: Path, sheet: str | int | None) -> tuple[list[str], str, list[list[str]], list[int], dict[int, int]]:
    pkg = _XlsxPackage(p)
    try:
        names = [n for n, _, _ in pkg.sheets]
        ws_name = _pick_sheet(p, names, sheet)
        part = pkg.sheets[names.index(ws_name)][1]
        styles = _xlsx_style_kinds(pkg.cell_formats())
        n_styles = len(styles)
        date1904 = pkg.date1904
        sst: list[str] | None = None
        grid: list[list[str]] = []
        row_no: list[int] = []
        big_numbers: dict[int, int] = {}
        row_counter = 0
        cell_re, ref_re, v_re, ts_re = _X_CELL, _X_REF, _X_V, _X_TS
        col_index = _xlsx_col_index
        ts_cache: dict[str, tuple[str, int]] = {}
        fast_findall = _X_CELL_FAST.findall
        colmap = {_xlsx_col_letter(j): j + 1 for j in range(64)}
        row_r_re = re.compile(r'(?:^|\s)r\s*=\s*["\']([0-9]+)["\']')

        def convert(t: str, s: int, raw: str, col: int) -> str:
            """The text of a cell of type ``t``, style ``s`` and raw value ``raw`` (not empty), as openpyxl + excel_cell_text."""
            if t == "n":
                v: Any = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
                fmt, kind = styles[s] if s < n_styles else ("General", 0)
                if kind == 1 or kind == 2:
                    try:
                        return _format_date(_xl_from_excel(v, date1904, timedelta=kind == 2), fmt)
                    except (OverflowError, ValueError):
                        return "#VALUE!"
                if type(v) is float and v.is_integer() and abs(v) >= 1e15:
                    big_numbers[col - 1] = big_numbers.get(col - 1, 0) + 1
                return excel_cell_text(v, fmt)
            if t == "s":
                assert sst is not None
                return sst[int(raw)]
            if t == "b":
                return "TRUE" if int(raw) else "FALSE"
            if t == "d":
                from openpyxl.utils.datetime import from_ISO8601

                return excel_cell_text(from_ISO8601(_x_unescape(raw)), styles[s][0] if s < n_styles else "General")
            return _x_unescape(raw)  # str (a formula's text result), e (an error such as #N/A) and anything else: the text

        for piece, _last in pkg.iter_row_chunks(part):
            for rm in _X_ROW.finditer(piece):
                rattr = rm.group(1)
                m = row_r_re.search(rattr)
                if m is not None:
                    r = int(m.group(1))
                elif "r=" in rattr:
                    raise _XlsxUnsupported("odd row number")
                else:
                    r = row_counter + 1
                if r <= row_counter:
                    raise _XlsxUnsupported("rows out of order")
                while row_counter + 1 < r:  # rows the sheet leaves out: empty, as openpyxl gives them
                    row_counter += 1
                    grid.append([])
                    row_no.append(row_counter)
                row_counter = r
                inner = rm.group(3)
                cells: dict[int, str] = {}
                if inner:
                    found = fast_findall(inner)
                    if len(found) == inner.count("<c"):  # every cell in the usual form
                        for letters, attrs, raw, istr in found:
                            col = colmap.get(letters) or col_index(letters)
                            if istr:
                                if 't="inlineStr"' in attrs:
                                    if istr[:3] == "<t>" and istr[-4:] == "</t>" and "<" not in istr[3:-4]:
                                        text = istr[3:-4]
                                        cells[col] = _x_unescape(text) if ("&" in text or "\r" in text) else text
                                    else:
                                        cells[col] = _x_text_of(istr)
                                    continue
                                raise _XlsxUnsupported("an inline string in a cell not of that type")
                            if not raw:
                                cells.pop(col, None)
                                continue
                            ts = ts_cache.get(attrs)
                            if ts is None:
                                at = dict(ts_re.findall(attrs))
                                ts = ts_cache[attrs] = (at.get("t", "n"), int(at.get("s", 0) or 0))
                            t, s = ts
                            if t == "s":
                                if sst is None:
                                    sst = pkg.shared_strings()
                                cells[col] = sst[int(raw)]
                            elif t == "n" and (styles[s][1] if s < n_styles else 0) == 0:
                                if "." in raw or "E" in raw or "e" in raw:
                                    f = float(raw)
                                    if f.is_integer():
                                        if abs(f) >= 1e15:
                                            big_numbers[col - 1] = big_numbers.get(col - 1, 0) + 1
                                        cells[col] = str(int(f)) if abs(f) < 1e21 else repr(f)
                                    else:
                                        cells[col] = repr(f) if f == f and f not in (float("inf"), float("-inf")) else ""
                                else:
                                    cells[col] = str(int(raw))
                            else:
                                cells[col] = convert(t, s, raw, col)
                    else:
                        col = 0
                        for cm in cell_re.finditer(inner):
                            at = _x_attrs(cm.group(1))
                            ref = at.get("r")
                            if ref is not None:
                                mm = ref_re.match(ref)
                                if mm is None:
                                    raise _XlsxUnsupported("odd cell reference")
                                col = col_index(mm.group(1))
                            else:
                                col += 1
                            t = at.get("t", "n")
                            s = int(at.get("s", 0) or 0)
                            body = cm.group(2)
                            if t == "inlineStr":
                                im = _X_IS.search(body or "")
                                if im is None:
                                    cells.pop(col, None)
                                else:
                                    cells[col] = _x_text_of(im.group(1))
                                continue
                            vm = v_re.search(body or "")
                            raw = vm.group(1) if vm is not None else ""
                            if not raw:
                                cells.pop(col, None)
                                continue
                            if t == "s" and sst is None:
                                sst = pkg.shared_strings()
                            cells[col] = convert(t, s, raw, col)
                if cells:
                    width = max(cells)
                    texts = [""] * width
                    for j, text in cells.items():
                        texts[j - 1] = text
                    while texts and texts[-1] == "":
                        texts.pop()
                else:
                    texts = []
                grid.append(texts)
                row_no.append(r)
    finally:
        pkg.close()
    return names, ws_name, grid, row_no, big_numbers


def _read_xlsx_text(p: Path, *, sheet: str | int | None, header_row: int | None, hints: Iterable[str] | None) -> TextTable:
    import warnings

    import numpy as np
    import pandas as pd

    _check_header_row(header_row, p)
    try:
        grid_info = _xlsx_grid_fast(p, sheet)
    except XclzGeoError:
        raise
    except Exception:  # noqa: BLE001 - anything the fast reader does not know: openpyxl reads it (and says why not)
        grid_info = None
    names, ws_name, grid, row_no, big_numbers = grid_info if grid_info is not None else _xlsx_grid_openpyxl(p, sheet)
    if not any(grid):
        raise InputDataError(f"{p}: sheet {ws_name} is empty")
    if header_row is not None:
        hits = [i for i, n in enumerate(row_no) if n == header_row]
        if not hits or not grid[hits[0]]:
            raise InputDataError(f"{p}: sheet {ws_name}, row {header_row} (--header-row) is empty; the header is elsewhere")
        h = hits[0]
    else:
        h = find_header_row(grid, hints=hints)
    body = [(n, r) for n, r in zip(row_no[h + 1 :], grid[h + 1 :]) if r]
    width = max([len(grid[h])] + [len(r) for _, r in body])
    header = grid[h] + [""] * (width - len(grid[h]))
    names_u = _unique_names(header)
    for j, count in sorted(big_numbers.items()):
        if j < len(names_u):
            warnings.warn(
                f"{p}: sheet {ws_name}, column {names_u[j]}: {count} cell(s) hold numbers of 16 or more digits stored as "
                "numbers; Excel keeps only 15 significant digits, so IDs such as 统一社会信用代码 may already be "
                "wrong in the workbook — format the column as text (文本) and type them again",
                DataQualityWarning,
                stacklevel=3,
            )
    if body:
        arr = np.empty((len(body), width), dtype=object)
        arr[:] = [r + [""] * (width - len(r)) for _, r in body]
        frame = pd.DataFrame(arr, columns=names_u)
    else:
        frame = pd.DataFrame({n: pd.Series([], dtype=object) for n in names_u})
    return TextTable(frame=frame, source=p, format="xlsx", sheet_name=ws_name, sheet_names=names, header_row=row_no[h],
                     row_numbers=np.asarray([n for n, _ in body], dtype=np.int64), headers=header,
                     title_rows=[grid[i] for i in range(h)])


def _pick_sheet(p: Path, names: Sequence[str], sheet: str | int | None) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return names[sheet]
    else:
        s = str(sheet)
        if s in names:
            return s
        for n in names:  # spaces and case as typed on a command line
            if n.strip().lower() == s.strip().lower():
                return n
        if s.isdigit() and 1 <= int(s) <= len(names):  # --sheet 2: the second sheet, as a spreadsheet user counts
            return names[int(s) - 1]
    raise InputDataError(f"{p}: no sheet {sheet!r}; the sheets are: {', '.join(names)}")


def read_table_text(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    hints: Iterable[str] | None = None,
    arrow_text: bool = False,
) -> TextTable:
    """Read a CSV/TSV/TXT or XLSX/XLSM table with every cell as the text the user typed.

    Nothing is converted: 18-digit 统一社会信用代码 stay exact, ``0012`` stays ``0012``, dates stay as
    typed. Numbers and dates typed into XLSX cells come back as text by the rule of
    :func:`excel_cell_text`. Parse only the columns you use, e.g. with
    :func:`xclz_geo.geo.locate.parse_coordinates`.

    Parameters
    ----------
    path
        ``.csv``/``.tsv``/``.txt`` (UTF-8, UTF-8 with BOM or GBK/GB18030, detected; delimiter
        ``,`` tab ``;`` or ``|`` detected) or ``.xlsx``/``.xlsm``.
    sheet
        Sheet name, or its position (an ``int`` counts from 0; a string of digits that is not a sheet
        name counts from 1 as in a spreadsheet). Default: the first sheet.
    header_row
        Spreadsheet number (1 = the first row) of the header. Default: found by
        :func:`find_header_row` (title rows above the header are passed over).
    encoding
        Text encoding of a CSV (default: detected).
    hints
        Column names that mark the header row (default :data:`HEADER_HINTS`).
    arrow_text
        Give ``.frame`` pandas' Arrow-backed ``str`` columns (the same texts, ``""`` for an empty cell)
        instead of ``object`` columns of Python ``str``: a tenth of the memory for a large table, taken
        from the CSV reader's Arrow buffers without a copy. Unchanged when pandas has no such dtype.

    Returns
    -------
    TextTable
        ``.frame`` (text), ``.sheet_name``, ``.header_row``, ``.row_numbers`` (spreadsheet row of
        each data row) and what is needed to write the table back (:func:`write_table_back`).

    Raises
    ------
    InputFileError
        The file is missing or cannot be read.
    InputDataError
        The file or sheet is empty, the sheet does not exist, or a row has a value beyond the
        header's last column (a ragged row; a trailing empty field is dropped silently).

    Notes
    -----
    Completely empty rows (a blank line, an empty spreadsheet row) hold no cell and are not data
    rows. ``.xls`` (Excel 97–2003) needs the optional ``xlrd`` package and is read through pandas.
    """
    p = _exists(path)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _arrow_text_frame(_read_csv_text(p, header_row=header_row, encoding=encoding, hints=hints, arrow_text=arrow_text),
                                 arrow_text)
    if suffix in (".xlsx", ".xlsm"):
        return _arrow_text_frame(_read_xlsx_text(p, sheet=sheet, header_row=header_row, hints=hints), arrow_text)
    if suffix == ".xls":
        return _arrow_text_frame(_read_xls_text(p, sheet=sheet, header_row=header_row, hints=hints), arrow_text)
    raise InputFileError(f"{p}: unsupported table format {suffix or '(no extension)'}; use .csv or .xlsx")


def _read_xls_text(p: Path, *, sheet: str | int | None, header_row: int | None, hints: Iterable[str] | None) -> TextTable:
    import numpy as np
    import pandas as pd

    _check_header_row(header_row, p)
    try:
        book = pd.ExcelFile(p)
    except ImportError:
        raise InputFileError(f"{p}: .xls (Excel 97–2003) needs the xlrd package; open it in Excel or WPS and save as .xlsx") from None
    except Exception as exc:
        raise InputFileError(f"{p}: cannot read as an Excel workbook ({type(exc).__name__})") from None
    names = [str(n) for n in book.sheet_names]
    ws_name = _pick_sheet(p, names, sheet)
    raw = book.parse(ws_name, header=None, dtype=object)
    grid = [[excel_cell_text(None if (isinstance(v, float) and v != v) else v) for v in row] for row in raw.itertuples(index=False)]
    for r in grid:
        while r and r[-1] == "":
            r.pop()
    if not any(grid):
        raise InputDataError(f"{p}: sheet {ws_name} is empty")
    h = header_row - 1 if header_row is not None else find_header_row(grid, hints=hints)
    body = [(i + 1, r) for i, r in enumerate(grid) if i > h and r]
    width = max([len(grid[h])] + [len(r) for _, r in body])
    header = grid[h] + [""] * (width - len(grid[h]))
    names_u = _unique_names(header)
    arr = np.empty((len(body), width), dtype=object)
    if body:
        arr[:] = [r + [""] * (width - len(r)) for _, r in body]
    return TextTable(frame=pd.DataFrame(arr, columns=names_u), source=p, format="xls", sheet_name=ws_name, sheet_names=names,
                     header_row=h + 1, row_numbers=np.asarray([n for n, _ in body], dtype=np.int64), headers=header,
                     title_rows=grid[:h])


# ---------------------------------------------------------------- safe writing

def csv_safe_text(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula (= + - @ tab CR)."""
    return "'" + value if value[:1] in FORMULA_TRIGGERS and value else value


def _is_text_dtype(col: "pd.Series") -> bool:
    import pandas as pd

    return bool(pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype))


def _text_cells_match(col: "pd.Series", pattern: str) -> bool:
    """Whether any text cell of ``col`` matches the regular expression ``pattern`` (searched with pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _is_text_dtype(col):
        return False
    values = col.tolist()
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # text mixed with numbers …: only its text cells
        arr = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
    return bool(pc.any(pc.fill_null(pc.match_substring_regex(arr, pattern), False)).as_py())


def strip_xlsx_illegal(df: "pd.DataFrame", where: str) -> "pd.DataFrame":
    """Remove characters XLSX cannot hold from text cells, warning once per column with a count."""
    import warnings

    out = df
    for j, c in enumerate(df.columns):
        col = df.iloc[:, j]
        if not _is_text_dtype(col):
            continue
        if not _text_cells_match(col, _XML_CONTROL):
            continue
        values = col.tolist()
        n = sum(1 for v in values if isinstance(v, str) and XLSX_ILLEGAL_CHARS.search(v) is not None)
        if n:
            if out is df:
                out = df.copy()
            out.iloc[:, j] = [XLSX_ILLEGAL_CHARS.sub("", v) if isinstance(v, str) else v for v in values]
            warnings.warn(f"{where}: column {c}: {n} cell(s) held control characters (such as NUL) that XLSX cannot "
                          "store; they were removed in the XLSX (the CSV keeps them)", DataQualityWarning, stacklevel=3)
    return out


def xlsx_value(ws: Any, value: Any) -> Any:
    """A value ready for ``ws.append``: user text that a spreadsheet would take as a formula becomes a
    text cell (``data_type 's'`` and Excel's quote prefix), never a formula; numbers stay numbers;
    missing values become empty cells; anything else becomes its text."""
    import datetime as dt
    import math

    import numpy as np

    if value is None:
        return None
    if isinstance(value, str):
        if XLSX_ILLEGAL_CHARS.search(value):  # table cells are cleaned (with a warning) before; this guards the rest
            value = XLSX_ILLEGAL_CHARS.sub("", value)
        if value[:1] in FORMULA_TRIGGERS:
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            cell.quotePrefix = True
            return cell
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, (dt.datetime, dt.date)):
        try:
            import pandas as pd

            if value is pd.NaT:
                return None
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime(warn=False)
        except ImportError:  # pragma: no cover - pandas is a dependency
            pass
        if getattr(value, "tzinfo", None) is not None:  # Excel has no time zones: the value's own wall-clock time
            value = value.replace(tzinfo=None)
        if value < (dt.datetime(1900, 1, 1) if isinstance(value, dt.datetime) else dt.date(1900, 1, 1)):
            return value.isoformat()  # Excel shows no date before 1900 (as write_xlsx_stream)
        return value
    if isinstance(value, dt.time):
        return value
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT or (not isinstance(value, (list, tuple, dict, set)) and pd.isna(value)):
            return None
        if isinstance(value, np.datetime64):
            return xlsx_value(ws, pd.Timestamp(value))
    except (TypeError, ValueError):
        pass
    if hasattr(value, "wkt"):
        return value.wkt
    return xlsx_value(ws, str(value))


def safe_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """:func:`xlsx_value` of each value of a row, for ``ws.append(safe_row(ws, row))`` in any openpyxl writer."""
    return [xlsx_value(ws, v) for v in values]


def _unique_sheet(name: str, used: set[str]) -> str:
    bad = set('[]:*?/\\')
    base = "".join("_" if ch in bad else ch for ch in str(name))[:31] or "sheet"
    out, k = base, 1
    while out.lower() in {u.lower() for u in used}:
        k += 1
        out = f"{base[:28]}_{k}"
    used.add(out)
    return out


def _frame_for_excel(df: "pd.DataFrame") -> "pd.DataFrame":
    import geopandas as gpd

    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        return df.to_wkt()
    return df


def _dates_as_stream_writes(df: "pd.DataFrame") -> "pd.DataFrame":
    """``df`` with the date-times of each column that holds only midnights as dates, so openpyxl gives them
    the date format :func:`write_xlsx_stream` gives them (``yyyy-mm-dd``, not ``yyyy-mm-dd 0:00:00``)."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    out = None
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        dates = _date_values(col)
        if dates is None:
            continue
        if len(dates) and not _excel_date_serials(dates)[2]:
            continue  # times of day: date-times

        def day(v: Any) -> Any:
            if isinstance(v, np.datetime64):
                v = pd.Timestamp(v)
            if isinstance(v, dt.datetime) and v is not pd.NaT:
                return v.date()
            return v

        vals = [day(v) for v in col.tolist()]
        if any(isinstance(v, dt.date) for v in vals):
            if out is None:
                out = df.copy()
            out.isetitem(j, pd.Series(vals, index=df.index, dtype=object))
    return df if out is None else out


def _append_frame(ws: Any, df: "pd.DataFrame", *, header: Sequence[str] | None = None) -> None:
    df = _dates_as_stream_writes(df)
    ws.append(safe_row(ws, header if header is not None else [str(c) for c in df.columns]))
    for row in df.itertuples(index=False, name=None):
        ws.append(safe_row(ws, row))


def write_xlsx(sheets: "Mapping[str, pd.DataFrame] | Sequence[tuple[str, pd.DataFrame]]", path: str | Path) -> Path:
    """Write DataFrames into a new workbook, one sheet each, in order — the one XLSX writer of the toolkit.

    User text is written as text, never as a formula (see :func:`xlsx_value`); IDs read as text
    stay text; characters XLSX cannot hold are removed with a warning naming the column. The file
    is written aside and moved into place.
    """
    from openpyxl import Workbook

    p = Path(path)
    items = list(sheets.items()) if isinstance(sheets, Mapping) else list(sheets)
    if any(len(df) > STREAM_MIN_ROWS for _, df in items):  # large: streamed, same cell rules
        return write_xlsx_stream(items, p)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    for name, df in items:
        df = strip_xlsx_illegal(_frame_for_excel(df), f"{p} sheet {name}")
        ws = wb.create_sheet(_unique_sheet(name, used))
        _append_frame(ws, df)
    if not items:
        wb.create_sheet("data")
    with atomic_path(p) as tmp:
        wb.save(tmp)
    return p


def _csv_safe_frame(df: "pd.DataFrame") -> "pd.DataFrame":
    out = df.copy()
    for j in range(out.shape[1]):
        if _is_text_dtype(out.iloc[:, j]):
            out.iloc[:, j] = out.iloc[:, j].map(lambda v: csv_safe_text(v) if isinstance(v, str) else v)
    out.columns = [csv_safe_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv_text(df: "pd.DataFrame", path: str | Path, *, header: Sequence[str] | None = None, csv_safe: bool = False,
                   sep: str | None = None) -> Path:
    """Write a table as CSV (UTF-8 with BOM, so Excel shows Chinese), text cells exactly as they are.

    ``csv_safe=True`` prefixes ``'`` to text cells starting with ``= + - @``, tab or CR, so Excel
    shows them as text instead of running them as formulas (the file then differs from the input
    in those cells; keep the default for files read by programs).
    """
    p = Path(path)
    if len(df) > STREAM_MIN_ROWS:  # large: streamed by pyarrow (same cells, every text cell quoted)
        return write_csv_stream(df, p, header=header, csv_safe=csv_safe, sep=sep or ("\t" if p.suffix.lower() == ".tsv" else ","))
    out = _frame_for_excel(df)
    if csv_safe:
        out = _csv_safe_frame(out)
        if header is not None:
            header = [csv_safe_text(str(h)) for h in header]
    with atomic_path(p) as tmp:
        out.to_csv(tmp, index=False, encoding="utf-8-sig", header=list(header) if header is not None else True,
                   sep=sep or ("\t" if p.suffix.lower() == ".tsv" else ","))
    return p


def write_table_back(
    table: TextTable,
    added: "pd.DataFrame",
    path: str | Path,
    *,
    sheet_name: str = "data",
    extra_sheets: "Mapping[str, pd.DataFrame] | None" = None,
    csv_safe: bool = False,
    on_clash: str = "replace",
    rename_columns: "Mapping[str, str] | None" = None,
) -> Path:
    """Write a table read by :func:`read_table_text` back with the columns a command adds.

    Every input cell comes back unchanged, with the header as typed, in column order:

    * ``.xlsx``/``.xlsm`` from a workbook: a copy of the user's workbook — every sheet, in order,
      untouched; in the table's sheet the title rows, header and cells stay as they were (styles,
      number formats, formulas too) and the added columns are filled in to the right of the
      header (a column the table already has, e.g. ``xclz_status`` from an earlier run, is
      overwritten in place). ``extra_sheets`` are appended after the user's sheets.
    * ``.xlsx`` from a CSV: a new workbook, sheet ``sheet_name``, header on row 1, input cells as
      text cells.
    * ``.csv``/``.txt``: UTF-8 with BOM, header on the first line (title rows are kept only in
      workbooks), input cells as text; ``csv_safe`` as in :func:`write_csv_text`.

    Parameters
    ----------
    table
        The table as read.
    added
        The columns to add, one row per row of ``table.frame`` (same order).
    path
        Output file; the format is taken from its extension.
    on_clash
        An added column whose name is already a header: ``"replace"`` (default) overwrites that
        column (for columns the tool wrote on an earlier run, e.g. ``xclz_status``);
        ``"rename"`` keeps the user's column and writes the added one as ``NAME_xclz``.
    rename_columns
        ``{column: new header}`` for input columns (names of ``table.frame``) whose header is
        written under a new name, cells unchanged — e.g. ``xclz_status`` of an earlier run kept
        as ``xclz_status_input`` beside the recomputed one.
    """
    import pandas as pd

    p = Path(path)
    ren_in = dict(rename_columns or {})
    headers = [ren_in.get(str(col), h) for col, h in zip(table.frame.columns, table.headers)]
    if ren_in:
        import dataclasses

        table = dataclasses.replace(table, headers=headers)
    if on_clash == "rename":
        taken = set(table.headers)
        ren: dict[str, str] = {}
        for c in added.columns:
            if str(c) in taken:
                new = f"{c}_xclz"
                while new in taken or new in added.columns:
                    new += "_"
                ren[c] = new
                taken.add(new)
        if ren:
            added = added.rename(columns=ren)
    suffix = p.suffix.lower()
    if len(added) != len(table.frame):
        raise ValueError(f"write_table_back: {len(added)} added rows for {len(table.frame)} table rows")
    base = table.frame.reset_index(drop=True)
    add = added.reset_index(drop=True)
    if suffix in (".xlsx", ".xlsm"):
        if len(base) > 1_048_575:
            raise InputDataError(f"{p}: {len(base):,} rows do not fit in an Excel sheet (1,048,575 + header); write .csv or .parquet")
        if table.format == "xlsx" and table.source is not None and table.source.suffix.lower() in (".xlsx", ".xlsm"):
            return _write_back_workbook(table, add, p, extra_sheets=extra_sheets, rename_columns=ren_in)
        keep = [j for j, h in enumerate(table.headers) if h not in add.columns]
        out = pd.concat([base.iloc[:, keep], add], axis=1)
        header = [table.headers[j] for j in keep] + [str(c) for c in add.columns]
        if len(out) > STREAM_MIN_ROWS:  # large: streamed (seconds and bounded memory for 10⁶ rows)
            out = out.set_axis(header, axis=1)
            return write_xlsx_stream([(table.sheet_name or sheet_name, out), *(extra_sheets or {}).items()], p)
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        used: set[str] = set()
        ws = wb.create_sheet(_unique_sheet(table.sheet_name or sheet_name, used))
        out = strip_xlsx_illegal(out, f"{p}")
        _append_frame(ws, out, header=header)
        for name, df in (extra_sheets or {}).items():
            df = strip_xlsx_illegal(_frame_for_excel(df), f"{p} sheet {name}")
            _append_frame(wb.create_sheet(_unique_sheet(name, used)), df)
        with atomic_path(p) as tmp:
            wb.save(tmp)
        return p
    if suffix in (".csv", ".txt", ".tsv"):
        keep = [j for j, h in enumerate(table.headers) if h not in add.columns]
        out = pd.concat([base.iloc[:, keep], add], axis=1)
        header = [table.headers[j] for j in keep] + [str(c) for c in add.columns]
        return write_csv_text(out, p, header=header, csv_safe=csv_safe)
    raise InputDataError(f"{p}: write the table as .csv or .xlsx")


def _x_cell_col(attrs: str) -> int | None:
    """Column number of a ``<c>`` element from its attributes (``None`` without a reference)."""
    m = re.search(r'(?:^|\s)r\s*=\s*["\']([A-Z]{1,3})[0-9]+["\']', attrs)
    return _xlsx_col_index(m.group(1)) if m else None


def _x_merge_row(inner: str, new: "Mapping[int, str]") -> str:
    """A row's cells with the cells ``new`` (column → ``<c>`` element) put in, replacing any cell in
    that column; a replaced cell's style is kept when the new one has none. Cells in column order."""
    cells: list[tuple[int, str]] = []
    col = 0
    for m in _X_CELL.finditer(inner):
        c = _x_cell_col(m.group(1))
        col = c if c is not None else col + 1
        if col in new:
            xml = new[col]
            old_s = re.search(r'(?:^|\s)s="([0-9]+)"', m.group(1))
            if old_s and old_s.group(1) != "0" and ' s="' not in xml[: xml.index(">")]:
                xml = xml.replace("<c ", f'<c s="{old_s.group(1)}" ', 1)
            new = {k: v for k, v in new.items() if k != col}
            cells.append((col, xml))
        else:
            cells.append((col, m.group(0)))
        if c is None:
            raise _XlsxUnsupported("a cell without a reference in a row the table writes to")
    cells += list(new.items())
    cells.sort(key=lambda t: t[0])
    return "".join(x for _, x in cells)


def _x_inline_cell(ref: str, text: str, quote_style: int, *, plain_style: int = 0) -> str:
    text = XLSX_ILLEGAL_CHARS.sub("", text)[:XLSX_MAX_CELL_CHARS]
    s = f' s="{quote_style}"' if text[:1] in FORMULA_TRIGGERS and text else (f' s="{plain_style}"' if plain_style else "")
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'


def _added_column_positions(headers: Sequence[str], added: Any) -> list[int]:
    """1-based sheet columns of the added columns: a column already in the header is written in place, others to its right."""
    positions: list[int] = []
    nxt = len(headers) + 1
    for c in added:
        if str(c) in headers:
            positions.append(list(headers).index(str(c)) + 1)
        else:
            positions.append(nxt)
            nxt += 1
    return positions


def _column_has_dates(col: "pd.Series") -> bool:
    """True when a column holds a date or date-time (a ``datetime64`` column, or such values among objects)."""
    dates = _date_values(col)
    return dates is not None and len(dates) > 0


def _free_numfmt_ids(styles_xml: str, n: int) -> list[int]:
    """``n`` custom number-format ids (164 and up) that a workbook's styles part does not use yet."""
    used = [int(x) for x in re.findall(r'<numFmt\b[^>]*?\snumFmtId="([0-9]+)"', styles_xml)]
    first = max([163, *used]) + 1
    return list(range(first, first + n))


def _add_numfmts(styles_xml: str, formats: "Mapping[int, str]") -> str:
    """A styles part with the number formats ``{id: code}`` added (to its ``numFmts``, made when missing)."""
    add = "".join(f'<numFmt numFmtId="{i}" formatCode="{_xml_text(code)}"/>' for i, code in formats.items())
    sec = re.search(r"<numFmts\b([^>]*)>(.*?)</numFmts>", styles_xml, re.S)
    if sec is not None:
        n = len(re.findall(r"<numFmt\b", sec.group(2))) + len(formats)
        head = re.sub(r'\scount="[0-9]*"', "", sec.group(1)) + f' count="{n}"'
        return styles_xml[: sec.start()] + f"<numFmts{head}>" + sec.group(2) + add + "</numFmts>" + styles_xml[sec.end():]
    empty = re.search(r"<numFmts\b[^>]*/>", styles_xml)  # openpyxl writes <numFmts count="0" />
    if empty is not None:
        return styles_xml[: empty.start()] + f'<numFmts count="{len(formats)}">{add}</numFmts>' + styles_xml[empty.end():]
    if re.search(r"<numFmts\b", styles_xml):
        raise _XlsxUnsupported("a numFmts element it cannot read")
    top = re.search(r"<styleSheet\b[^>]*>", styles_xml)
    if top is None or top.group(0).endswith("/>"):
        raise _XlsxUnsupported("no styleSheet element")
    return styles_xml[: top.end()] + f'<numFmts count="{len(formats)}">{add}</numFmts>' + styles_xml[top.end():]


def _write_back_workbook_fast(table: TextTable, add: "pd.DataFrame", p: Path, *, rename_columns: "Mapping[str, str] | None" = None,
                              extra_sheets: "Mapping[str, pd.DataFrame] | None" = None, chunk_rows: int = 20_000) -> Path:
    """:func:`_write_back_workbook` by copying every part of the user's file as it is and patching only
    the table's sheet: the header cells and the added cells are put into the rows, every other byte of
    the sheet is copied (so formulas keep their cached values, and charts, images, comments … stay).

    Raises :class:`_XlsxUnsupported` (nothing written) for anything it does not handle; the caller then
    uses openpyxl."""
    import copy
    import shutil
    import warnings
    import zipfile

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    assert table.source is not None and table.row_numbers is not None
    if table.source.suffix.lower() != p.suffix.lower():
        raise _XlsxUnsupported("a different kind of workbook (.xlsm ↔ .xlsx)")
    pkg = _XlsxPackage(table.source)
    try:
        parts = {n: part for n, part, _ in pkg.sheets}
        if table.sheet_name not in parts:
            raise _XlsxUnsupported("sheet not found")
        part = parts[table.sheet_name]
        h = int(table.header_row)
        rows_at = np.asarray(table.row_numbers, dtype=np.int64)
        if len(rows_at) and (np.any(np.diff(rows_at) <= 0) or rows_at[0] <= h):
            raise _XlsxUnsupported("rows out of order")
        positions = _added_column_positions(table.headers, add.columns)
        # does any cell need Excel's quote prefix (text a spreadsheet would take for a formula)?
        header_new = {j + 1: name for j, (col, name) in enumerate(zip(table.frame.columns, table.headers))
                      if str(col) in (rename_columns or {})}
        header_new.update({pos: str(name) for pos, name in zip(positions, add.columns)})
        need_quote = any(t[:1] in FORMULA_TRIGGERS and t for t in header_new.values())
        for j in range(add.shape[1]):
            if _text_cells_match(add.iloc[:, j], _FORMULA_START):
                need_quote = True
                break
        # sheets appended after the user's (new parts; workbook, its relationships and the content types patched)
        extras: list[tuple[str, str, Any]] = []  # (sheet name, zip path, frame)
        workbook_xml = rels_xml = types_xml = None
        if extra_sheets:
            import posixpath

            used = {n for n, _, _ in pkg.sheets}
            taken = set(pkg.members)
            k = len(pkg.sheets)
            for name, df in extra_sheets.items():
                df = strip_xlsx_illegal(_frame_for_excel(df), f"{p} sheet {name}")
                k += 1
                while f"xl/worksheets/sheet{k}.xml" in taken:
                    k += 1
                taken.add(f"xl/worksheets/sheet{k}.xml")
                extras.append((_unique_sheet(name, used), f"xl/worksheets/sheet{k}.xml", df))
                need_quote = need_quote or any(str(c)[:1] in FORMULA_TRIGGERS and str(c) for c in df.columns) \
                    or any(_text_cells_match(df.iloc[:, j], _FORMULA_START) for j in range(df.shape[1]))
            prefix = re.search(r"<sheet\b[^>]*?\s([\w.\-]+):id\s*=", pkg.workbook_xml)
            if prefix is None or "</sheets>" not in pkg.workbook_xml or "[Content_Types].xml" not in pkg.members \
                    or pkg.workbook_rels_part not in pkg.members:
                raise _XlsxUnsupported("cannot add sheets to this workbook")
            rels_xml = pkg.text(pkg.workbook_rels_part)
            types_xml = pkg.text("[Content_Types].xml")
            if "</Relationships>" not in rels_xml or "</Types>" not in types_xml:
                raise _XlsxUnsupported("cannot add sheets to this workbook")
            sheet_id = max([int(x) for x in re.findall(r'<sheet\b[^>]*?\ssheetId="([0-9]+)"', pkg.workbook_xml)] or [0])
            new_sheets, new_rels, new_types = [], [], []
            for k, (name, zpath, _df) in enumerate(extras, start=1):
                rid = f"rIdXclz{k}"
                while rid in pkg.rels:
                    rid += "x"
                new_sheets.append(f'<sheet name="{_xml_text(name)}" sheetId="{sheet_id + k}" {prefix.group(1)}:id="{rid}"/>')
                target = posixpath.relpath(zpath, posixpath.dirname(pkg.workbook_part) or ".")
                new_rels.append(f'<Relationship Id="{rid}" Type="{_XLSX_REL}/worksheet" Target="{target}"/>')
                new_types.append(f'<Override PartName="/{zpath}" '
                                 'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
            i = pkg.workbook_xml.rindex("</sheets>")
            workbook_xml = pkg.workbook_xml[:i] + "".join(new_sheets) + pkg.workbook_xml[i:]
            i = rels_xml.rindex("</Relationships>")
            rels_xml = rels_xml[:i] + "".join(new_rels) + rels_xml[i:]
            i = types_xml.rindex("</Types>")
            types_xml = types_xml[:i] + "".join(new_types) + types_xml[i:]
        patched = {pkg.workbook_part: workbook_xml, pkg.workbook_rels_part: rels_xml, "[Content_Types].xml": types_xml}
        # dates in the added columns or sheets: Excel dates, as the other writers write them (two styles appended)
        need_dates = any(_column_has_dates(add.iloc[:, j]) for j in range(add.shape[1])) \
            or any(_column_has_dates(df.iloc[:, j]) for _n, _z, df in extras for j in range(df.shape[1]))
        styles_xml = None
        quote_style = 0
        date_styles: tuple[int, int] | None = None
        if need_quote or need_dates:
            if pkg.styles_part is None or pkg.styles_part not in pkg.members:
                raise _XlsxUnsupported("no styles part")
            styles_xml = pkg.text(pkg.styles_part)
            sec = re.search(r"<cellXfs\b([^>]*)>(.*?)</cellXfs>", styles_xml, re.S)
            if sec is None:
                raise _XlsxUnsupported("no cellXfs")
            n_xf = len(re.findall(r"<xf\b", sec.group(2)))
            new_xfs = []
            if need_quote:
                quote_style = n_xf + len(new_xfs)
                new_xfs.append('<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" applyAlignment="1"/>')
            fmt_ids: list[int] = []
            if need_dates:
                fmt_ids = _free_numfmt_ids(styles_xml, 2)
                date_styles = (n_xf + len(new_xfs), n_xf + len(new_xfs) + 1)
                new_xfs += [f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' for i in fmt_ids]
            head = re.sub(r'\scount="[0-9]*"', "", sec.group(1)) + f' count="{n_xf + len(new_xfs)}"'
            styles_xml = (styles_xml[: sec.start()] + f"<cellXfs{head}>" + sec.group(2) + "".join(new_xfs)
                          + "</cellXfs>" + styles_xml[sec.end():])
            if need_dates:
                styles_xml = _add_numfmts(styles_xml, {fmt_ids[0]: "yyyy-mm-dd", fmt_ids[1]: "yyyy-mm-dd h:mm:ss"})
        header_cells = {c: _x_inline_cell(f"{_xlsx_col_letter(c - 1)}{h}", t, quote_style) for c, t in header_new.items()}
        min_new = min(positions) if positions else 1 << 30
        max_col = max([len(table.headers), *positions])
        letters = [_xlsx_col_letter(c - 1) for c in positions]
        counts: dict[str, int] = {}
        n = len(rows_at)

        block_cols: list[Any] = []
        add_dates = [_xlsx_column_date_styles(add.iloc[:, j], date_styles) for j in range(add.shape[1])]

        def added_rows(i0: int, i1: int) -> list[str]:
            rows = pc.cast(pa.array(rows_at[i0:i1]), pa.string())
            cells = [_xlsx_column_cells(add.iloc[i0:i1, j], letters[j], rows, counts, None, quote_style=quote_style,
                                        date_styles=add_dates[j])
                     for j in range(add.shape[1])]
            block_cols[:] = cells
            if not cells:
                return [""] * (i1 - i0)
            line = pc.binary_join_element_wise(*cells, "", null_handling="replace", null_replacement="")
            return line.to_pylist()

        def added_cells_of(k: int) -> dict[int, str]:
            out = {}
            for j, cells in enumerate(block_cols):
                one = cells[k].as_py()
                if one is not None:
                    out[positions[j]] = one
            return out

        ref_at = re.compile(r'([A-Z]{1,3})[0-9]+"')
        row_r_re = re.compile(r'(?:^|\s)r="([0-9]+)"')
        spans_re = re.compile(r'\sspans="[^"]*"')
        done_header = False
        i = 0  # next data row to write
        block: list[str] = []
        b0 = 0
        with atomic_path(p) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
                for info in pkg.zf.infolist():
                    info = copy.copy(info)
                    if info.filename == pkg.styles_part and styles_xml is not None:
                        zout.writestr(info, styles_xml.encode("utf-8"), compresslevel=6)
                        continue
                    if patched.get(info.filename) is not None:
                        zout.writestr(info, str(patched[info.filename]).encode("utf-8"), compresslevel=6)
                        continue
                    if info.filename != part and info.file_size > (16 << 20):  # a big part (another sheet): streamed
                        with pkg.zf.open(info.filename) as src, zout.open(info, "w", force_zip64=True) as dst:
                            shutil.copyfileobj(src, dst, 1 << 20)
                        continue
                    if info.filename != part:
                        zout.writestr(info, pkg.zf.read(info.filename), compresslevel=6)
                        continue
                    zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    with zout.open(zi, "w", force_zip64=True) as fh:
                        first = True
                        for piece, _last in pkg.iter_row_chunks(part):
                            out: list[str] = []
                            pos = 0
                            if first:
                                first = False
                                d = re.search(r'<dimension\s+ref="([A-Z]{1,3})?([0-9]+)?(?::([A-Z]{1,3})([0-9]+))?"\s*/>', piece)
                                if d is not None and d.start() < piece.find("<sheetData"):
                                    c0, r0 = d.group(1) or "A", d.group(2) or "1"
                                    c1 = d.group(3) or c0
                                    r1 = int(d.group(4) or r0)
                                    c1 = _xlsx_col_letter(max(_xlsx_col_index(c1), max_col) - 1)
                                    r1 = max(r1, h, int(rows_at[-1]) if n else h)
                                    out.append(piece[: d.start()] + f'<dimension ref="{c0}{r0}:{c1}{r1}"/>')
                                    pos = d.end()
                            for rm in _X_ROW.finditer(piece):
                                attrs = rm.group(1)
                                m = row_r_re.search(attrs)
                                if m is None:
                                    raise _XlsxUnsupported("a row without its number")
                                r = int(m.group(1))
                                if r == h:
                                    inner = _x_merge_row(rm.group(3) or "", header_cells)
                                    done_header = True
                                elif i < n and r == rows_at[i]:
                                    if i >= b0 + len(block):
                                        b0 = i
                                        block = added_rows(i, min(i + chunk_rows, n))
                                    inner = rm.group(3) or ""
                                    nc = inner.count("<c")
                                    ok = nc == 0
                                    if not ok and nc == inner.count('<c r="'):
                                        mm = ref_at.match(inner, inner.rfind('<c r="') + 6)
                                        ok = mm is not None and _xlsx_col_index(mm.group(1)) < min_new
                                    inner = inner + block[i - b0] if ok else _x_merge_row(inner, added_cells_of(i - b0))
                                    i += 1
                                elif i < n and r > rows_at[i]:
                                    raise _XlsxUnsupported("a data row not found in the sheet")
                                else:
                                    continue
                                if "spans=" in attrs:  # an optional hint, out of date now
                                    attrs = spans_re.sub("", attrs)
                                out.append(piece[pos: rm.start()] + f"<row{attrs}>{inner}</row>")
                                pos = rm.end()
                            out.append(piece[pos:])
                            fh.write("".join(out).encode("utf-8"))
                head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_XLSX_NS}" '
                        f'xmlns:r="{_XLSX_REL}"><sheetData>')
                for _name, zpath, df in extras:
                    with zout.open(zpath, "w", force_zip64=True) as fh:
                        _xlsx_sheet_xml(fh, df, 0, len(df), head=head, counts=counts, sst=None, quote_style=quote_style,
                                        date_styles=date_styles)
            if not done_header or i != n:
                raise _XlsxUnsupported("header or data rows not found in the sheet")
    finally:
        pkg.close()
    for key, c in counts.items():
        what, col = key.split(":", 1)
        if what == "long":
            warnings.warn(f"{p}: column {col}: {c:,} cell(s) longer than Excel's {XLSX_MAX_CELL_CHARS:,} characters were cut in the XLSX",
                          DataQualityWarning, stacklevel=3)
    return p


def _write_back_workbook(table: TextTable, add: "pd.DataFrame", p: Path, *, extra_sheets: "Mapping[str, pd.DataFrame] | None",
                         rename_columns: "Mapping[str, str] | None" = None) -> Path:
    import warnings

    from openpyxl import load_workbook

    assert table.source is not None and table.row_numbers is not None
    add = strip_xlsx_illegal(add, f"{p}")
    try:
        with warnings.catch_warnings(record=True) as said:  # the fast path's warnings, said once whichever path writes
            warnings.simplefilter("always")
            return _write_back_workbook_fast(table, add, p, rename_columns=rename_columns, extra_sheets=extra_sheets)
    except (XclzGeoError, OSError):
        raise
    except Exception:  # noqa: BLE001 - anything the fast path does not handle: openpyxl writes it
        said = []
    finally:
        for w in said:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    keep_vba = table.source.suffix.lower() == ".xlsm" and p.suffix.lower() == ".xlsm"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(table.source, keep_vba=keep_vba)
    except Exception as exc:
        raise InputFileError(f"{table.source}: cannot open the workbook again to write it back ({type(exc).__name__})") from None
    ws = wb[table.sheet_name]
    h = table.header_row
    for j, (col, name) in enumerate(zip(table.frame.columns, table.headers)):
        if str(col) in (rename_columns or {}):
            _set_cell(ws, h, j + 1, name)
    positions = _added_column_positions(table.headers, add.columns)
    for col, name in zip(positions, add.columns):
        ws.cell(row=h, column=col).value = None
        _set_cell(ws, h, col, str(name))
    rows = [int(r) for r in table.row_numbers]
    for j, col in enumerate(positions):
        values = add.iloc[:, j].tolist()
        for r, v in zip(rows, values):
            _set_cell(ws, r, col, v)
    used = {n for n in wb.sheetnames}
    for name, df in (extra_sheets or {}).items():
        df = strip_xlsx_illegal(_frame_for_excel(df), f"{p} sheet {name}")
        sh = wb.create_sheet(_unique_sheet(name, used))
        _append_frame(sh, df)
    with atomic_path(p) as tmp:
        wb.save(tmp)
    return p


def _set_cell(ws: Any, row: int, col: int, value: Any) -> None:
    v = xlsx_value(ws, value)
    cell = ws.cell(row=row, column=col)
    if hasattr(v, "data_type") and hasattr(v, "value"):
        cell.value = v.value
        cell.data_type = "s"
        cell.quotePrefix = True
    else:
        cell.value = v


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "TEXT_ENCODINGS", "VECTOR_SUFFIXES", "TABLE_SUFFIXES", "detect_text_encoding", "shapefile_encoding",
    "dxf_text_encoding", "geometry_layers", "read_vector", "read_table", "write_table", "csv_layout",
    "csv_column_names", "iter_csv_batches", "iter_csv_chunks", "XLSX_ILLEGAL_CHARS", "FORMULA_TRIGGERS",
    "HEADER_HINTS", "CSV_DELIMITERS", "TextTable", "find_header_row", "csv_header", "excel_cell_text",
    "read_table_text", "csv_safe_text", "strip_xlsx_illegal", "xlsx_value", "safe_row", "write_xlsx",
    "write_csv_text", "write_table_back"
]
