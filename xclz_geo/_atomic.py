"""Outputs that appear whole or not at all, as a set, and runs that stop cleanly (used through :mod:`xclz_geo.io`).

Imports only :mod:`xclz_geo.errors` (it sits below ``io`` in the package layers).

* :func:`temp_sibling` — a hidden temporary name beside a target, unique per process and call
  (``.report.12345-9f3a1c2e.tmp.html``), so two runs never share a temporary file.
* :func:`atomic_path` — write to such a name, move it onto the target when the block ends.
* :func:`atomic_output_set` — a command that writes several files (``report``: HTML + XLSX +
  GeoPackage; ``efficiency``: scores.csv + scores.xlsx + summary.json) writes them into a
  temporary folder inside the target folder and moves them in together at the end, holding an
  exclusive lock (``fcntl.flock`` on the folder) while it does. An interrupted run leaves the
  previous set as it was; two runs into one folder each move in a complete set, one after the
  other, so the folder always holds one run's complete set.
* Interruption: the CLI installs :func:`install_signal_handlers`; SIGINT/SIGTERM raise
  :class:`~xclz_geo.errors.Interrupted` in the main thread (``finally`` blocks remove temporary
  files), are held back while a set is being moved in, and a watchdog thread ends the process
  within two seconds if Python code does not get control back (a long C call), after removing
  every temporary file still registered. Long loops call :func:`check_interrupted`.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from xclz_geo.errors import Interrupted, OutputLockedError, OutputPathError

#: prefix of the temporary folder of an output set (inside the target folder)
STAGING_PREFIX = ".xclz-geo-tmp-"

#: temporary files and folders of this process, removed on a hard exit
_TEMPS: set[Path] = set()
_LOCK = threading.Lock()

#: interruption state: the signal asked for (None: none), and how deep we are in a no-interrupt block
_STOP: dict[str, Any] = {"signum": None, "raised": False, "defer": 0}

#: seconds between a signal and the watchdog's hard exit
HARD_EXIT_AFTER_S = 1.5


# ------------------------------------------------------------------ temporary names


def _register(p: Path) -> None:
    with _LOCK:
        _TEMPS.add(p)


def _unregister(p: Path) -> None:
    with _LOCK:
        _TEMPS.discard(p)


def _remove(p: Path) -> None:
    try:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink()
    except OSError:
        pass


def temp_sibling(path: str | Path, *, tag: str = "tmp") -> Path:
    """A hidden temporary name beside ``path``, unique per process and call; the extension is kept last.

    The name is registered, so a hard exit after SIGTERM removes the file if it still exists.

    Examples
    --------
    >>> temp_sibling("out/report.html").name  # doctest: +SKIP
    '.report.4242-9f3a1c2e.tmp.html'
    """
    p = Path(path)
    stem = p.stem[:80]
    tmp = p.with_name(f".{stem}.{os.getpid()}-{secrets.token_hex(4)}.{tag}{p.suffix}")
    _register(tmp)
    return tmp


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends without error.

    The parent folder is created. The temporary name is unique per process and call, so concurrent
    runs never remove each other's files. On an error or an interruption the temporary file is
    removed and ``path`` is left as it was, so a reader never sees a half-written output.

    Examples
    --------
    >>> with atomic_path("out/report.html") as tmp:  # doctest: +SKIP
    ...     tmp.write_text(page, encoding="utf-8")
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(p)
    try:
        yield tmp
        check_interrupted()
        with interrupts_deferred():
            os.replace(tmp, p)
    finally:
        _remove(tmp)
        _unregister(tmp)


# ------------------------------------------------------------------ output sets


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _remove_stale_staging(folder: Path) -> None:
    """Remove temporary folders left in ``folder`` by runs that were killed (SIGKILL, power cut)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for e in entries:
        if not e.name.startswith(STAGING_PREFIX):
            continue
        try:
            pid = int(e.name[len(STAGING_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            _remove(e)


@contextmanager
def folder_lock(folder: str | Path, *, timeout_s: float = 30.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` itself (no lock file is left behind).

    Raises
    ------
    OutputLockedError
        Another process held the lock for longer than ``timeout_s`` (the message names the folder).
    """
    import fcntl

    fd = os.open(str(folder), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise OutputLockedError(
                        f"{folder}: another xclz-geo run is writing its outputs into this folder (lock held for "
                        f"more than {timeout_s:g} s); wait for it to finish or choose another --out"
                    ) from None
                check_interrupted()
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class OutputSet:
    """The files of one run, written into :attr:`stage` and moved into :attr:`folder` together.

    Attributes
    ----------
    folder
        The target folder (created when the set is opened).
    stage
        The temporary folder to write into (inside ``folder``, so moving is a rename).
    members
        File names this run's set consists of. A member the run did not write (e.g. no GeoPackage
        because there were no map layers) is removed from ``folder`` when the set is moved in, so an
        older file of that name is not left beside the new ones.
    """

    def __init__(self, folder: Path, stage: Path, members: tuple[str, ...]) -> None:
        self.folder = folder
        self.stage = stage
        self.members = members
        self.committed: list[Path] = []

    def path(self, name: str) -> Path:
        """Where to write the member ``name`` now (in the temporary folder)."""
        return self.stage / name

    def final(self, path: str | Path | None) -> Path | None:
        """The path a file written into the temporary folder has once the set is moved in."""
        if path is None:
            return None
        return self.folder / Path(path).name

    def commit(self, *, lock_timeout_s: float = 30.0) -> list[Path]:
        """Move every file of :attr:`stage` into :attr:`folder` (under the folder lock, signals held back)."""
        check_interrupted()
        written = sorted(p for p in self.stage.iterdir() if not p.name.startswith("."))
        with folder_lock(self.folder, timeout_s=lock_timeout_s), interrupts_deferred():
            moved = []
            for p in written:
                dst = self.folder / p.name
                os.replace(p, dst)
                moved.append(dst)
            names = {p.name for p in written}
            for name in self.members:
                old = self.folder / name
                if name not in names and old.is_file():
                    old.unlink()
        self.committed = moved
        return moved


@contextmanager
def atomic_output_set(
    folder: str | Path, *, members: Iterable[str] = (), lock_timeout_s: float = 30.0
) -> Iterator[OutputSet]:
    """Write several output files into a temporary folder and move them into ``folder`` together.

    Parameters
    ----------
    folder
        Target folder (created when missing).
    members
        File names of this run's set. Checked before any work: a member that exists as a folder is refused.
    lock_timeout_s
        How long to wait for another run that is moving its set into the same folder.

    Yields
    ------
    OutputSet
        Write to ``s.path("scores.csv")`` (or ``s.stage / …``); after the block, ``s.final(p)`` is where a
        file is. On an error or interruption nothing is moved and the temporary folder is removed.

    Examples
    --------
    >>> with atomic_output_set("out", members=["a.csv", "b.json"]) as s:  # doctest: +SKIP
    ...     df.to_csv(s.path("a.csv")); s.path("b.json").write_text("{}")
    """
    f = Path(folder)
    members = tuple(members)
    for name in members:
        if (f / name).is_dir():
            raise OutputPathError(f"{f / name}: is a folder, but this command writes a file of that name there; "
                                  "move or rename that folder")
    created = not f.exists()
    f.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(f)
    stage = f / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    _register(stage)
    ok = False
    try:
        stage.mkdir()
        out = OutputSet(f, stage, members)
        yield out
        out.commit(lock_timeout_s=lock_timeout_s)
        ok = True
    finally:
        _remove(stage)
        _unregister(stage)
        if not ok and created:  # a failed first run leaves no empty folder behind
            try:
                f.rmdir()
            except OSError:
                pass


# ------------------------------------------------------------------ interruption


def check_interrupted() -> None:
    """Raise :class:`~xclz_geo.errors.Interrupted` when SIGINT/SIGTERM asked the run to stop.

    Cheap (one dictionary look-up): call it between rows or chunks of a long loop (XLSX writing,
    per-row work) so Ctrl-C ends the run within a second instead of after the loop.
    """
    signum = _STOP["signum"]
    if signum is not None and _STOP["defer"] == 0:
        raise Interrupted(signum)


def stop_requested() -> bool:
    """True once SIGINT/SIGTERM asked the run to stop (for loops that prefer to end on their own)."""
    return _STOP["signum"] is not None


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back SIGINT/SIGTERM while the block runs (moving a set in); it is raised when the block ends."""
    _STOP["defer"] += 1
    try:
        yield
    finally:
        _STOP["defer"] -= 1
    if _STOP["defer"] == 0 and _STOP["signum"] is not None and not _STOP["raised"]:
        _STOP["raised"] = True
        raise Interrupted(_STOP["signum"])


def _on_signal(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
    if _STOP["signum"] is None:
        _STOP["signum"] = signum
    if _STOP["defer"] == 0 and not _STOP["raised"]:
        _STOP["raised"] = True
        raise Interrupted(signum)


def remove_temporaries() -> None:
    """Remove every registered temporary file and folder of this process that still exists."""
    with _LOCK:
        temps = list(_TEMPS)
    for p in temps:
        _remove(p)


def _hard_exit(signum: int, message: str) -> None:
    # give a move-in that is under way the time it needs (it is a handful of renames)
    for _ in range(100):
        if _STOP["defer"] == 0:
            break
        time.sleep(0.02)
    remove_temporaries()
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except Exception:  # pragma: no cover - stderr closed
        pass
    os._exit(128 + signum)


def _watch(rsock: Any, stop: threading.Event, message: str) -> None:
    """Watchdog thread: woken by the signal wake-up socket even while the main thread is in C code."""
    import select

    while not stop.is_set():
        try:
            ready, _, _ = select.select([rsock], [], [], 0.5)
        except (OSError, ValueError):
            return
        if not ready:
            continue
        try:
            data = rsock.recv(64)
        except BlockingIOError:
            continue
        except OSError:
            return
        sigs = [b for b in data if b in (signal.SIGINT, signal.SIGTERM)]
        if not sigs:
            continue
        signum = sigs[0]
        if stop.wait(HARD_EXIT_AFTER_S):
            return
        name = signal.Signals(signum).name
        _hard_exit(signum, message.format(name=name, code=128 + signum))


@contextmanager
def install_signal_handlers(*, message: str = "xclz-geo: stopped by {name} (exit {code})") -> Iterator[None]:
    """SIGINT/SIGTERM raise :class:`~xclz_geo.errors.Interrupted` for the block; a watchdog ends the process
    within :data:`HARD_EXIT_AFTER_S` (removing temporary files) when the main thread does not respond.

    Does nothing outside the main thread (e.g. a CLI run from a worker thread of a test).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import socket

    _STOP.update(signum=None, raised=False, defer=0)
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    stop = threading.Event()
    old_fd = None
    watcher = None
    try:
        old_fd = signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        watcher = threading.Thread(target=_watch, args=(rsock, stop, message), name="xclz-geo-signal-watchdog",
                                   daemon=True)
        watcher.start()
    except (ValueError, OSError):  # pragma: no cover - no wake-up fd available: handlers only
        old_fd = None
    for s in old:
        signal.signal(s, _on_signal)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        stop.set()
        if old_fd is not None:
            signal.set_wakeup_fd(old_fd)
        if watcher is not None:
            try:  # wake the watchdog now (a byte that is no signal) instead of waiting out its select timeout
                wsock.send(b"\x00")
            except OSError:  # pragma: no cover - buffer full: it wakes on its timeout
                pass
            watcher.join(timeout=1.0)
        rsock.close()
        wsock.close()
        _STOP.update(signum=None, raised=False, defer=0)


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "STAGING_PREFIX", "HARD_EXIT_AFTER_S", "temp_sibling", "atomic_path", "folder_lock", "OutputSet",
    "atomic_output_set", "check_interrupted", "stop_requested", "interrupts_deferred", "remove_temporaries",
    "install_signal_handlers"
]
