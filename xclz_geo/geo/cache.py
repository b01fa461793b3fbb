"""The on-disk cache of derived zone data (one site's answer without reading the boundaries again).

Where: ``$XCLZ_GEO_CACHE`` when set (``off``, ``0``, ``no`` or ``false`` switch the cache off),
else ``$XDG_CACHE_HOME/xclz_geo``, else ``~/.cache/xclz_geo``. Each entry is a folder named by a
SHA-256 key (the input files' content, the code version, the entry's kind); it holds
``meta.json`` and ``.npy`` arrays, loaded with ``numpy.load(mmap_mode="r")``.

Writers build an entry in a private temporary folder and move it into place with one
``os.rename`` (atomic on one file system): a reader sees a whole entry or none, and of two
concurrent writers one wins and the other's copy is discarded. An entry that cannot be read
(corrupt, truncated, from another format version) is ignored, removed and rebuilt. Deleting the
folder is always safe (see docs/notes/speed.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

T = TypeVar("T")

#: bump when the layout of an entry changes (old entries are then never read)
FORMAT_VERSION = 1
_OFF = {"off", "0", "no", "false", "none", "disable", "disabled"}


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when the cache is switched off (``XCLZ_GEO_CACHE=off``)."""
    env = os.environ.get("XCLZ_GEO_CACHE")
    if env is not None and env.strip():
        if env.strip().lower() in _OFF:
            return None
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and xdg.strip() else Path.home() / ".cache"
    return base / "xclz_geo"


def file_digest(path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's content (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk_bytes)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def code_version() -> str:
    """Version of the code that computes cached data: the package version, the format version and
    a digest of the sources whose results are cached (a change in them invalidates every entry)."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for rel in ("site.py", "tm.py", "datums.py", "locate.py", "grid.py", "batchzone.py", "../boundaries/zone.py"):
        p = here / rel
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(rel.encode())
    return h.hexdigest()[:16]


def entry_key(kind: str, *parts: str) -> str:
    """Cache key of an entry: ``kind`` and the given strings (digests, options) with the code version."""
    h = hashlib.sha256(kind.encode())
    h.update(code_version().encode())
    for p in parts:
        h.update(b"\0" + str(p).encode())
    return f"{kind}-{h.hexdigest()[:32]}"


def load_entry(key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """``(meta, arrays)`` of a cached entry (arrays memory-mapped), or ``None`` when absent or unreadable.

    An unreadable entry is removed so that the next writer can replace it.
    """
    root = cache_dir()
    if root is None:
        return None
    d = root / key
    if not d.is_dir():
        return None
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("key") != key:
            raise ValueError("format")
        arrays = {name: np.load(d / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in meta.get("arrays", [])}
        return meta, arrays
    except (OSError, ValueError, KeyError, TypeError):
        discard_entry(key)
        return None


def discard_entry(key: str) -> None:
    """Remove a cached entry (renamed away first, so a concurrent reader never sees half of it)."""
    root = cache_dir()
    if root is None:
        return
    d = root / key
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".trash-{key}-", dir=root))
        os.rename(d, trash / "x")
        shutil.rmtree(trash, ignore_errors=True)
    except OSError:
        pass


def store_entry(key: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bool:
    """Write an entry atomically; ``False`` when the cache is off or the folder is not writable.

    Never raises for cache trouble: the cache only saves time.
    """
    root = cache_dir()
    if root is None:
        return False
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=root))
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
        full = dict(meta, format=FORMAT_VERSION, key=key, arrays=sorted(arrays))
        (tmp / "meta.json").write_text(json.dumps(full, ensure_ascii=False), encoding="utf-8")
        try:
            os.rename(tmp, root / key)  # atomic; fails when another writer was first
        except OSError:
            if not (root / key).is_dir():
                raise
            return True  # another process wrote the same entry
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def clear_cache() -> int:
    """Remove every entry of the cache folder; returns the number removed."""
    root = cache_dir()
    if root is None or not root.is_dir():
        return 0
    n = 0
    for d in root.iterdir():
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            n += 1
    return n


__all__ = ["FORMAT_VERSION", "cache_dir", "clear_cache", "code_version", "discard_entry", "entry_key", "file_digest",
           "load_entry", "load_valid", "store_entry"]


def load_valid(key: str, build: Callable[[dict[str, Any], dict[str, np.ndarray]], T],
               errors: type[BaseException] | tuple[type[BaseException], ...] = Exception) -> T | None:
    """``build(meta, arrays)`` of a cached entry, or ``None`` when the entry is absent or damaged.

    ``build`` checks the entry as it reads it and raises one of ``errors`` for a damaged one, which is
    then removed (so the next writer replaces it) instead of failing the caller: the cache only saves time.
    """
    got = load_entry(key)
    if got is None:
        return None
    try:
        return build(*got)
    except errors:
        discard_entry(key)
        return None


def pack_wkb(wkb: list[bytes | None]) -> dict[str, np.ndarray]:
    """Arrays storing a list of WKB blobs (``None`` kept) in one cache entry: see :func:`unpack_wkb`."""
    blobs = [w or b"" for w in wkb]
    offsets = np.cumsum([0] + [len(w) for w in blobs]).astype(np.int64)
    present = np.array([w is not None for w in wkb], dtype=bool)
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    return {"wkb": data, "wkb_offsets": offsets, "wkb_present": present}


def unpack_wkb(arrays: dict[str, np.ndarray], n: int) -> list[bytes | None]:
    """The ``n`` WKB blobs stored by :func:`pack_wkb`; ``ValueError`` when the arrays do not fit."""
    data, off, present = arrays["wkb"], arrays["wkb_offsets"], arrays["wkb_present"]
    if off.shape[0] != n + 1 or present.shape[0] != n or int(off[-1]) != data.shape[0]:
        raise ValueError("wkb")
    return [bytes(data[int(off[i]):int(off[i + 1])]) if present[i] else None for i in range(n)]
