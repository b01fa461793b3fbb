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

from .errors import InputDataError, InputFileError

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

    from . import crs as _crs

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
    return _crs.assign_crs(gdf, crs, source=str(p))


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


# ------------------------------------------------------------------ large XLSX, streamed

#: rows of one Excel sheet, the header included (Excel's limit)
XLSX_MAX_ROWS = 1_048_576
#: characters of one Excel cell (longer text is cut, with a warning)
XLSX_MAX_CELL_CHARS = 32_767
#: text a spreadsheet would take for a formula when typed (stored as text with Excel's quote prefix)
_FORMULA_START = r"^[=+\-@\t\r]"
#: characters XML 1.0 (so XLSX) cannot hold
_XML_ILLEGAL = r"[\x{0}-\x{8}\x{b}\x{c}\x{e}-\x{1f}\x{fffe}\x{ffff}]"

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


def _xlsx_column_cells(col: "pd.Series", letter: str, rows: Any, counts: dict[str, int], sst: "dict[str, int] | None" = None) -> Any:
    """The ``<c>`` elements of one column slice as a pyarrow string array (null for an empty cell).

    Text repeated in the slice (status, class, reason …) goes to the shared-string table ``sst``
    (text → index) and the cell holds its index; other text is written inline."""
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
    elif dtype == object or pd.api.types.is_string_dtype(dtype):
        inferred = pd.api.types.infer_dtype(col, skipna=True)
        kind = {"string": "text", "empty": "empty", "boolean": "bool", "floating": "number", "integer": "number",
                "mixed-integer-float": "number", "decimal": "number"}.get(inferred, "mixed")
    else:
        kind = "mixed"
    if kind == "empty":
        return pa.nulls(len(col), pa.string())
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
    if kind == "mixed":  # numbers as numbers, anything else as its text (geometry → WKT, dates → ISO)
        vals = col.astype(object).tolist()
        isnum = np.array([isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in vals],
                         dtype=bool)
        txt = [None if v is None or n or v is pd.NA or v is pd.NaT
               else (v.wkt if hasattr(v, "wkt") else (v.isoformat() if hasattr(v, "isoformat") else str(v))) for v, n in zip(vals, isnum)]
        if isnum.any():
            f = np.array([float(v) if n else np.nan for v, n in zip(vals, isnum)], dtype=float)
            nums = pc.cast(pa.array(f, mask=~np.isfinite(f)), pa.string())
            num_cells = pc.binary_join_element_wise(start, rows, '"><v>', nums, "</v></c>", "")
            text_cells = _xlsx_column_cells(pd.Series(txt, dtype=object, name=col.name), letter, rows, counts, sst)
            return pc.if_else(pa.array(isnum), num_cells, text_cells)
        arr = pa.array(txt, type=pa.string())
    else:
        arr = pa.array(col.astype(object).where(col.notna(), None).tolist(), type=pa.string()) if dtype == object \
            else pa.array(col, type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
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
                style = pc.if_else(pa.array(formula[pos]), '" s="1" t="s"><v>', '" t="s"><v>')
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
    style = pc.if_else(formula, '" s="1', "") if has_f else ""
    open_t = pc.if_else(spaced, '" t="inlineStr"><is><t xml:space="preserve">', '" t="inlineStr"><is><t>') if has_s \
        else '" t="inlineStr"><is><t>'
    return pc.binary_join_element_wise(start, rows, style, open_t, esc, "</t></is></c>", "")


def write_xlsx_stream(
    sheets: "Mapping[str, pd.DataFrame] | Sequence[tuple[str, pd.DataFrame]]",  # noqa: F821
    path: str | Path,
    *,
    chunk_rows: int = 20_000,
    compresslevel: int = 1,
) -> Path:
    """Write DataFrames to a new workbook fast and in bounded memory — for tables of 10⁵–10⁶ rows.

    Same cell rules as the toolkit's XLSX writer: text is stored as text (inline strings: no cell
    is ever a formula, and text a spreadsheet would take for one — starting with ``= + - @``, tab
    or CR — carries Excel's quote prefix), numbers stay numbers, NaN/inf and None are empty cells,
    booleans are booleans, characters XML cannot hold are removed and text over 32,767 characters
    is cut (each with one warning naming the column and the count). A sheet with more rows than
    Excel allows continues on ``NAME_2``, ``NAME_3`` … (each with the header). The XML is built
    column-wise with pyarrow, ``chunk_rows`` rows at a time, and streamed into the zip; the file
    is written aside and moved into place.
    """
    import itertools
    import warnings
    import zipfile
    from collections.abc import Mapping
    from concurrent.futures import ThreadPoolExecutor

    import geopandas as gpd
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .errors import DataQualityWarning

    p = Path(path)
    items = list(sheets.items()) if isinstance(sheets, Mapping) else list(sheets)
    if not items:
        import pandas as pd

        items = [("data", pd.DataFrame())]
    per_sheet = XLSX_MAX_ROWS - 1
    plan: list[tuple[str, Any, int, int]] = []  # (sheet name, frame, first row, last row)
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
    counts: dict[str, int] = {}
    sst: dict[str, int] = {}
    head = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_XLSX_NS}" xmlns:r="{_XLSX_REL}">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '</sheetView></sheetViews><sheetData>')
    with atomic_path(p) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
            for k, (name, df, r0, r1) in enumerate(plan, start=1):
                cols = list(df.columns)
                letters = [_xlsx_col_letter(j) for j in range(len(cols))]
                with zf.open(f"xl/worksheets/sheet{k}.xml", "w", force_zip64=True) as fh, \
                        ThreadPoolExecutor(max_workers=1) as pool:  # deflate chunk k while chunk k+1 is built
                    pending = None
                    fh.write(head.encode("utf-8"))
                    hdr = "".join(f'<c r="{c}1" t="inlineStr"><is><t xml:space="preserve">{_xml_text(str(h))}</t></is></c>'
                                  for c, h in zip(letters, cols))
                    fh.write(f'<row r="1">{hdr}</row>'.encode("utf-8"))
                    for a in range(r0, r1, chunk_rows):
                        b = min(a + chunk_rows, r1)
                        rows = pc.cast(pa.array(np.arange(a - r0 + 2, b - r0 + 2, dtype=np.int64)), pa.string())
                        cells = [_xlsx_column_cells(df.iloc[a:b, j], letters[j], rows, counts, sst) for j in range(len(cols))]
                        line = pc.binary_join_element_wise('<row r="', rows, '">', *cells, "</row>", "",
                                                           null_handling="replace", null_replacement="")
                        if isinstance(line, pa.ChunkedArray):
                            line = line.combine_chunks()
                        line = line.cast(pa.large_string()) if len(line) else line
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
                        f'<styleSheet xmlns="{_XLSX_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
                        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
                        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1" applyAlignment="1"/></cellXfs>'
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
    inferred = pd.api.types.infer_dtype(col, skipna=True)
    if inferred in ("string", "empty"):
        return pa.array(col.astype(object).where(col.notna(), None).tolist(), type=pa.string())
    vals = col.astype(object).tolist()
    return pa.array([None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))
                     else (v.wkt if hasattr(v, "wkt") else str(v)) for v in vals], type=pa.string())


def write_csv_stream(df: "pd.DataFrame", path: str | Path, *, chunk_rows: int = 200_000) -> Path:
    """Write a large table as CSV (UTF-8 with BOM, so Excel shows Chinese) fast and in bounded memory.

    The same cells as :func:`write_table`'s CSV — text exactly as it is, numbers in their shortest
    round-trip form (``1e-7``, ``3`` for 3.0), missing values empty, ``True``/``False`` — written by
    pyarrow ``chunk_rows`` rows at a time; every text cell is quoted (a standard CSV reader, Excel
    included, reads it as the same text). Geometry goes out as WKT. Written aside, moved into place.
    """
    import geopandas as gpd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = Path(path)
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        df = df.to_wkt()
    names = [str(c) for c in df.columns]
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as fh:
            fh.write("\ufeff".encode("utf-8"))
            writer = None
            for a in range(0, max(len(df), 1), chunk_rows):
                part = df.iloc[a:a + chunk_rows]
                table = pa.Table.from_arrays([_arrow_column(part.iloc[:, j]) for j in range(part.shape[1])], names=names)
                if writer is None:
                    writer = pacsv.CSVWriter(fh, table.schema, write_options=pacsv.WriteOptions(include_header=True))
                writer.write_table(table)
            if writer is not None:
                writer.close()
    return p
