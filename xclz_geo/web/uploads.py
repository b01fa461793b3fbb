"""Uploaded files: size limit, type by content (magic bytes, not the name), safe zip handling.

Nothing the user sends becomes a path: an upload is stored under a name the server chooses
(``input.xlsx``, ``parcels.gpkg`` …) from the type its *content* shows; the original file
name is kept only as display text (:func:`display_name`). A zip (zipped Shapefile) is
checked before anything is extracted: no absolute or ``..`` member names, no links, at most
:data:`ZIP_MAX_MEMBERS` members, an uncompressed total of at most :data:`ZIP_MAX_TOTAL_BYTES`
and a compression ratio of at most :data:`ZIP_MAX_RATIO` (size bombs); only the Shapefile's
own members are extracted, again under server-chosen names.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Iterable

from xclz_geo.errors import InputFileError

__all__ = [
    "KINDS", "UploadError", "Saved", "ZIP_MAX_MEMBERS", "ZIP_MAX_RATIO", "ZIP_MAX_TOTAL_BYTES", "check_zip",
    "display_name", "save_upload", "sniff",
]

#: what each kind is called on a page, and the suffix the server stores it under
KINDS = {
    "xlsx": ("Excel 工作簿 workbook (.xlsx)", ".xlsx"),
    "csv": ("CSV 文本 text (.csv)", ".csv"),
    "gpkg": ("GeoPackage (.gpkg)", ".gpkg"),
    "shpzip": ("zip 压缩的 Shapefile (.zip)", ".shp"),
    "geojson": ("GeoJSON (.geojson)", ".geojson"),
    "dxf": ("CAD 图形 DXF (.dxf)", ".dxf"),
    "tif": ("GeoTIFF 栅格 raster (.tif)", ".tif"),
}
ZIP_MAX_MEMBERS = 200
ZIP_MAX_TOTAL_BYTES = 2 << 30  # 2 GiB uncompressed
ZIP_MAX_RATIO = 200
_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


class UploadError(InputFileError):
    """An upload is empty, too large, of the wrong type or unsafe; the message says what to do."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Saved:
    """An upload stored by the server."""

    path: Path
    kind: str
    original: str
    size: int


def display_name(name: Any) -> str:
    """The user's file name as display text: last path component, no control characters, ≤ 120 characters."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r"[\x00-\x1f\x7f]", "", text).strip()
    return (text or "upload")[:120]


def sniff(head: bytes, *, zip_names: Iterable[str] = ()) -> str | None:
    """The kind of a file from its first bytes (and a zip's member names), or ``None``."""
    if head.startswith(b"PK\x03\x04"):
        names = [n.lower() for n in zip_names]
        if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.endswith(".shp") for n in names):
            return "shpzip"
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tif"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"AutoCAD Binary DXF"):
        return "dxf"
    if b"\x00" in head:
        return None
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # a character cut at the end of the sample
                text = head[: exc.start].decode(enc, errors="ignore")
                break
    if text is None:
        return None
    stripped = text.lstrip()
    if re.match(r"0\s*\r?\n\s*SECTION", stripped) or re.match(r"999\s*\r?\n", stripped):
        return "dxf"
    if stripped.startswith("{") and '"type"' in stripped[:4096]:
        return "geojson"
    return "csv"


def check_zip(zf: zipfile.ZipFile, *, what: str) -> list[zipfile.ZipInfo]:
    """The members of a zip after the safety checks (raises :class:`UploadError`)."""
    infos = zf.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        raise UploadError(f"{what}: the zip holds {len(infos)} files (at most {ZIP_MAX_MEMBERS}); zip only the Shapefile's files")
    total = 0
    for info in infos:
        name = info.filename
        p = PurePosixPath(name.replace("\\", "/"))
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in p.parts:
            raise UploadError(f"{what}: the zip member {display_name(name)!r} points outside the zip's folder ('..' or an absolute path); "
                              "zip the files again from their own folder")
        mode = (info.external_attr >> 16) & 0o170000
        if mode == stat.S_IFLNK:
            raise UploadError(f"{what}: the zip holds a link ({display_name(name)!r}); zip the files themselves")
        total += info.file_size
        if info.compress_size and info.file_size / max(info.compress_size, 1) > ZIP_MAX_RATIO and info.file_size > (1 << 20):
            raise UploadError(f"{what}: the zip member {display_name(name)!r} expands {info.file_size / info.compress_size:,.0f}-fold "
                              "(a zip bomb?); it is refused")
    if total > ZIP_MAX_TOTAL_BYTES:
        raise UploadError(f"{what}: the zip expands to {total / 2**20:,.0f} MB (at most {ZIP_MAX_TOTAL_BYTES / 2**20:,.0f} MB)")
    return infos


def _extract_shapefile(zip_path: Path, dest_stem: Path, *, what: str) -> Path:
    """Extract the one Shapefile of a zip as ``dest_stem.shp`` (+ .shx .dbf .prj .cpg)."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise UploadError(f"{what}: the zip is damaged; zip the files again") from None
    with zf:
        infos = check_zip(zf, what=what)
        shps = [i for i in infos if i.filename.lower().endswith(".shp") and not i.is_dir()
                and not PurePosixPath(i.filename).name.startswith("._")]
        if not shps:
            raise UploadError(f"{what}: the zip holds no .shp file; zip the .shp, .shx, .dbf and .prj of one layer")
        if len(shps) > 1:
            names = ", ".join(display_name(i.filename) for i in shps[:10])
            raise UploadError(f"{what}: the zip holds {len(shps)} Shapefiles ({names}); zip one layer per upload")
        stem = shps[0].filename[:-4]
        by_name = {i.filename: i for i in infos}
        found = []
        for ext in _SHP_PARTS:
            info = by_name.get(stem + ext) or by_name.get(stem + ext.upper())
            if info is None:
                continue
            target = dest_stem.with_suffix(ext)
            with zf.open(info) as src, open(target, "wb") as dst:
                _copy_limited(src, dst, limit=info.file_size, what=what)
            found.append(ext)
        missing = [e for e in (".shx", ".dbf") if e not in found]
        if missing:
            raise UploadError(f"{what}: the zip lacks the Shapefile's {' and '.join(missing)}; zip every file of the layer")
    return dest_stem.with_suffix(".shp")


def _copy_limited(src: BinaryIO, dst: BinaryIO, *, limit: int, what: str) -> None:
    n = 0
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            return
        n += len(chunk)
        if n > limit:  # the member is larger than its header says
            raise UploadError(f"{what}: a zip member is larger than declared; the zip is refused")
        dst.write(chunk)


async def save_upload(upload: Any, dest_dir: Path, stem: str, *, kinds: Iterable[str], max_bytes: int,
                      field_label: str) -> Saved:
    """Stream an upload (Starlette ``UploadFile``) into ``dest_dir/stem.<suffix>`` after checking it.

    Parameters
    ----------
    upload
        The uploaded file.
    dest_dir, stem
        Where to store it; ``stem`` is the server's name (e.g. ``"input"``).
    kinds
        Accepted kinds (keys of :data:`KINDS`).
    max_bytes
        Size limit.
    field_label
        How the page calls this field (in messages).

    Raises
    ------
    UploadError
        Missing, empty, too large, wrong type or unsafe zip; the message names the file and says what to do.
    """
    kinds = list(kinds)
    if upload is None or not getattr(upload, "filename", None):
        raise UploadError(f"{field_label}: no file was chosen; choose a file and send the form again")
    original = display_name(upload.filename)
    what = f"{field_label} {original!r}"
    dest_dir.mkdir(parents=True, exist_ok=True)
    raw = dest_dir / f".{stem}.upload"
    size = 0
    try:
        with open(raw, "wb") as f:
            while True:
                chunk = await upload.read(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(f"{what}: larger than the limit of {max_bytes / 2**20:,.0f} MB; split the file or ask "
                                      "the administrator to raise --max-upload-mb", status_code=413)
                f.write(chunk)
        if size == 0:
            raise UploadError(f"{what}: the file is empty (0 bytes); choose the saved file again")
        with open(raw, "rb") as f:
            head = f.read(65536)
        zip_names: list[str] = []
        if head.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(raw) as zf:
                    zip_names = [i.filename for i in check_zip(zf, what=what)]
            except zipfile.BadZipFile:
                raise UploadError(f"{what}: the file looks like a zip but is damaged; save it again") from None
        kind = sniff(head, zip_names=zip_names)
        accepted = ", ".join(KINDS[k][0] for k in kinds)
        if kind == "xls" and "xlsx" in kinds:
            raise UploadError(f"{what}: an old Excel 97–2003 .xls file; open it in Excel and save it as .xlsx (Excel 工作簿)", status_code=415)
        if kind not in kinds:
            shown = {"zip": "a zip without a Shapefile", None: "binary data of an unknown type"}.get(kind, KINDS.get(kind, (kind,))[0])
            raise UploadError(f"{what}: the content is {shown}, not one of: {accepted}. Choose such a file "
                              "(the type is read from the file's content, not its name)", status_code=415)
        if kind == "shpzip":
            path = _extract_shapefile(raw, dest_dir / stem, what=what)
            raw.unlink()
        else:
            path = dest_dir / f"{stem}{KINDS[kind][1]}"
            raw.replace(path)
        return Saved(path=path, kind=kind, original=original, size=size)
    finally:
        if raw.exists():
            raw.unlink()
