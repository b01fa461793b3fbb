"""Shared helpers of the CLI subcommands: JSON output, zone loading, console, output paths, one-line messages."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _nan_to_none(o: Any) -> Any:
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _nan_to_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_nan_to_none(v) for v in o]
    return o


def dumps_json(obj: Any) -> str:
    """JSON text with NaN/inf as ``null``, numpy scalars as numbers, Chinese kept readable."""
    return json.dumps(_nan_to_none(obj), ensure_ascii=False, indent=2, default=_default, allow_nan=False)


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(dumps_json(obj) + "\n")


def add_boundaries_option(parser: argparse.ArgumentParser) -> None:
    """``--boundaries FILE`` and ``--boundaries-layer LAYER`` (kept for callers; new code uses
    :func:`xclz_geo.cli.options.add_zone`, which adds ``--spec`` as well)."""
    from xclz_geo.cli.options import add_zone

    add_zone(parser, spec=False)


def load_zone(args: argparse.Namespace, *, warn_schematic: bool = True) -> Any:
    """Load the zone the command should use (bundled, or ``--boundaries``/``--spec``)."""
    from xclz_geo.boundaries.zone import Zone

    zone = Zone.load(
        boundaries=getattr(args, "boundaries", None),
        spec=getattr(args, "spec", None),
        layer=getattr(args, "boundaries_layer", None),
    )
    if warn_schematic:
        zone.warn_if_schematic()
    return zone


class _HiddenBar:
    """What a hidden tqdm bar does: nothing (``update``, ``set_postfix[_str]``, ``close``, context manager)."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_HiddenBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", disable: bool | None = None) -> Any:
    """A tqdm progress bar on stderr, shown only on a terminal unless forced.

    A hidden bar without an iterable is a stand-in with ``update``/``close`` (tqdm's import, ~0.1 s with
    asyncio, is then saved: batches run from scripts and pipes start faster)."""
    if disable is None:
        disable = not sys.stderr.isatty()
    if disable and iterable is None:
        return _HiddenBar()
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr, unit="rows")


# ------------------------------------------------------------------ output paths, checked before the work

#: characters refused anywhere in an output path (control characters: newline, tab, NUL …)
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}

#: longest file name (bytes, UTF-8) accepted for an output, leaving room for the temporary name
MAX_NAME_BYTES = 200

#: option values that are never input files (output options, free text)
_NOT_INPUTS = {"out", "output", "png", "func", "command", "text", "title", "name", "source", "where", "date"}


def _err(path: Any, option: str | None, reason: str) -> Exception:
    from xclz_geo.errors import OutputPathError

    where = f"{option} {path}" if option else f"{path}"
    return OutputPathError(f"{one_line(where)}: {reason}")


def _check_name(p: Path, option: str | None, *, is_file: bool) -> None:
    text = str(p)
    if not text.strip():
        raise _err(repr(text), option, "the output path is empty")
    bad = sorted({c for c in text if c in _CONTROL})
    if bad:
        names = ", ".join({"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL"}.get(c, f"U+{ord(c):04X}")
                          for c in bad)
        raise _err(repr(text), option, f"the path contains {names}; choose a name without control characters")
    name = p.name
    if name in ("", ".", "..") and is_file:
        raise _err(p, option, "give a file name, not a folder")
    if is_file and ";" in name:
        raise _err(p, option, "a ';' in a file name is cut there by GDAL; choose a name without ';'")
    if is_file and p.suffix.lower() == ".gpkg" and p.stem.lower().startswith("gpkg"):
        raise _err(p, option, "GeoPackage reserves names starting with 'gpkg' for its own tables; rename the file "
                   "(e.g. export.gpkg)")
    if len(name.encode("utf-8", errors="replace")) > MAX_NAME_BYTES:
        raise _err(p, option, f"the name is longer than {MAX_NAME_BYTES} bytes; choose a shorter one")


def _nearest_existing(p: Path) -> Path:
    q = p if p.is_absolute() else Path.cwd() / p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _probe_writable(folder: Path, p: Path, option: str | None) -> None:
    import tempfile

    if not folder.is_dir():
        raise _err(p, option, f"{folder} is a file, not a folder")
    if str(folder.resolve()).split(os.sep)[1:2] in (["proc"], ["sys"], ["dev"]):
        raise _err(p, option, f"{folder} is a system folder where files cannot be written")
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".xclz-geo-probe-")
    except OSError as exc:
        raise _err(p, option, f"cannot write in {folder} ({exc.strerror or exc}); choose a folder you can write to") from None
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:  # pragma: no cover
        pass


def check_output_file(
    path: str | Path, *, option: str | None = "--out", suffixes: Any = None, inputs: Any = ()
) -> Path:
    """Check an output file before any work: exit 2 (``OutputPathError``) with the path and the reason.

    Refused: an empty name, control characters (line breaks …), ``;`` in the file name, a GeoPackage name
    starting with ``gpkg``, an existing folder or device, a folder that is a file or cannot be written
    (read-only, ``/proc``), an extension not in ``suffixes``, and a path that is one of ``inputs``.
    """
    p = Path(path)
    _check_name(p, option, is_file=True)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise _err(p, option, f"unsupported output format {p.suffix or '(no extension)'}; use {', '.join(sorted(suffixes))}")
    if p.exists() or p.is_symlink():
        if p.is_dir():
            raise _err(p, option, "is an existing folder; give a file name (e.g. a name inside it)")
        if not p.is_file():
            raise _err(p, option, "exists and is not a regular file (a device or pipe); choose a file name")
    _probe_writable(_nearest_existing(p.parent), p, option)
    check_not_input([p], inputs, option=option)
    return p


def check_output_folder(
    path: str | Path, *, option: str | None = "--out", members: Any = (), inputs: Any = ()
) -> Path:
    """Check an output folder before any work (see :func:`check_output_file`); ``members`` are the files the
    command writes into it (an existing folder of such a name, or an input of that path, is refused)."""
    p = Path(path)
    _check_name(p, option, is_file=False)
    if p.exists() and not p.is_dir():
        raise _err(p, option, "is a file; --out must be a folder (it is created when missing)")
    for m in members:
        if (p / m).is_dir():
            raise _err(p / m, option, "is a folder, but this command writes a file of that name; move or rename it")
    _probe_writable(_nearest_existing(p), p, option)
    check_not_input([p / m for m in members], inputs, option=option)
    return p


def input_paths(args: argparse.Namespace) -> list[Path]:
    """Every option value of ``args`` that names an existing file (the command's inputs)."""
    out: list[Path] = []
    for key, v in vars(args).items():
        if key in _NOT_INPUTS or not isinstance(v, (str, Path)) or not str(v) or "\0" in str(v):
            continue
        try:
            p = Path(v)
            if p.is_file():
                out.append(p)
        except (OSError, ValueError):
            continue
    return out


def check_not_input(outputs: Any, inputs: Any, *, option: str | None = "--out") -> None:
    """Refuse (exit 2, naming both) when an output path is one of the inputs: a command never overwrites its input."""
    ins = [Path(i) for i in (inputs or ()) if i is not None]
    for o in outputs:
        o = Path(o)
        if not o.exists():
            continue
        for i in ins:
            try:
                same = i.exists() and os.path.samefile(o, i)
            except OSError:
                same = False
            if same:
                raise _err(o, option, f"would overwrite the input {i}; write the outputs to another folder or name")


# ------------------------------------------------------------------ one-line messages

_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z_.])[-+]?[0-9]{20,}(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?![0-9A-Za-z_])"
                          r"|(?<![0-9A-Za-z_.])[0-9]+\.[0-9]{20,}")


def short_number(value: Any) -> str:
    """A number for a message: ``9.99e+22`` instead of its 23 digits; plain below 10¹⁵."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        text = str(value)
        return text if len(text) <= 24 else f"{text[:8]}…({len(text)} digits)"
    if f != f:
        return "NaN"
    if abs(f) == float("inf"):
        raw = str(value).strip()
        s = raw.lstrip("+-")
        whole = s.split(".")[0]
        if not whole.isdigit():
            return str(f)
        return f"{'-' if raw.startswith('-') else ''}{whole[0]}.{whole[1:3] or '0'}e+{len(whole) - 1}"
    if f != 0 and (abs(f) >= 1e15 or abs(f) < 1e-6):
        return f"{f:.3g}"
    return f"{f:g}"


def one_line(message: Any, *, max_chars: int = 600) -> str:
    """A message as one line: line breaks and runs of spaces become one space, numbers of 20+ digits are
    shortened (``9.99e+22``), and very long text is cut with ``…``."""
    text = " ".join(str(message).split())
    text = _LONG_NUMBER.sub(lambda m: short_number(m.group(0)), text)
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text



def coordinate_frame(args: argparse.Namespace) -> Any:
    """Check ``--datum``/``--crs`` as ``locate`` does (:func:`xclz_geo.geo.grid.make_frame`) and note the outcome.

    Sets ``args.projected_crs`` to ``--crs`` when it is not WGS84/CGCS2000 lon/lat (the table's coordinate
    columns are then converted to WGS84 by the reader) and ``args.datum`` to ``wgs84`` in that case;
    ``args.projected_crs`` is ``None`` otherwise. Returns the frame.

    Raises
    ------
    DatumError
        An unknown CRS, or GCJ-02/BD-09 with a projected CRS.
    """
    from xclz_geo.geo.grid import make_frame

    crs = getattr(args, "crs", None)
    frame = make_frame(datum=getattr(args, "datum", None) or "wgs84", crs=crs)
    args.projected_crs = crs if frame.crs is not None else None
    if frame.crs is not None:
        args.datum = "wgs84"
    return frame

#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "coordinate_frame",
    "dumps_json", "print_json", "add_boundaries_option", "load_zone", "progress", "MAX_NAME_BYTES",
    "check_output_file", "check_output_folder", "input_paths", "check_not_input", "short_number", "one_line"
]
