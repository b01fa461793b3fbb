"""Entry point of ``xclz-geo``.

Each subcommand lives in its own module of :mod:`xclz_geo.cli` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a function
``(args) -> int``. Errors of the toolkit (:class:`~xclz_geo.errors.XclzGeoError`)
become one line on stderr and the error's exit status; anything else is reported as
an internal error in one line (``--debug`` shows the traceback).

Exit status: 0 ok, 1 a check failed / unresolved, 2 anything the user controls (input files, options,
output paths, absurd numbers, a full disk), 3 internal error, 130 SIGINT, 143 SIGTERM. SIGINT/SIGTERM
stop the run within 2 s and remove its temporary files (:mod:`xclz_geo._atomic`). Warnings are one line
each; a repeated warning is printed once and counted at the end.
"""

from __future__ import annotations

import argparse
import errno
import sys
import warnings
from typing import Any, NoReturn, Sequence

#: subcommand modules, in the order they appear in ``--help``
SUBCOMMANDS = [
    "areas",
    "digitize",
    "boundaries",
    "locate",
    "convert",
    "map",
    "landuse",
    "efficiency",
    "report",
    "serve",
    "partition",
]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``xclz-geo map: error: … (see xclz-geo map --help)``), exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        from xclz_geo.cli._common import one_line

        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


class _Warnings:
    """The CLI's warning printer: one line per warning, each distinct warning once, repeats counted.

    A multi-line warning (geopandas, GDAL) becomes one line. numpy's ``overflow encountered`` /
    ``invalid value encountered`` / ``divide by zero`` cannot say which value it was: they are
    collected and printed once at the end, reworded to name the command's input files, with a count.
    """

    def __init__(self, inputs: Sequence[str] = ()) -> None:
        self.inputs = list(inputs)
        self.seen: dict[str, int] = {}
        self.numeric: dict[str, int] = {}

    def show(self, message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        from xclz_geo.cli._common import one_line

        msg = one_line(message)
        if issubclass(category, RuntimeWarning) and " encountered in " in msg:
            what = msg.split(" encountered", 1)[0]  # "overflow", "invalid value", "divide by zero"
            self.numeric[what] = self.numeric.get(what, 0) + 1
            return
        n = self.seen.get(msg, 0)
        self.seen[msg] = n + 1
        if n == 0:
            sys.stderr.write(f"xclz-geo: warning: {msg}\n")

    def summary(self) -> None:
        from xclz_geo.cli._common import one_line

        for msg, n in self.seen.items():
            if n > 1:
                sys.stderr.write(f"xclz-geo: warning: ({n} times in all) {one_line(msg, max_chars=160)}\n")
        if self.numeric:
            kinds = ", ".join(f"{k} ×{n}" for k, n in self.numeric.items())
            src = ", ".join(self.inputs) if self.inputs else "the inputs"
            sys.stderr.write(
                f"xclz-geo: warning: numeric problems while computing from {one_line(src, max_chars=200)} ({kinds}): "
                "a number there is too large or too small to compute with (e.g. 1e308, or 0 where it divides); "
                "results derived from it are not meaningful — check the numeric columns for typos\n"
            )


#: errno values of an OSError that the user controls (a path, a disk): exit 2, not an internal error
_USER_ERRNO = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT, errno.ENOTDIR,
               errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EXDEV, errno.EBUSY, errno.ETXTBSY, errno.EMFILE,
               errno.EFBIG, errno.ELOOP}


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (importlib.metadata costs start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, default: str = argparse.SUPPRESS,
                 help: str = "show program's version number and exit") -> None:  # noqa: A002
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        from xclz_geo import __version__

        sys.stdout.write(f"xclz-geo {__version__}\n")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argparse parser with every subcommand registered (or only ``only``, for a quick start)."""
    parser = _Parser(
        prog="xclz-geo",
        description="Boundaries and land use of the Xuancheng linkage innovation zone (中国(安徽)自由贸易试验区宣城联动创新区).",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _subcommand_modules(only):
        module.register(sub)
    return parser


def _subcommand_modules(only: str | None = None) -> list:
    """The subcommand modules in the order of :data:`SUBCOMMANDS` (each is thin: it imports the library lazily).

    ``only``: just that subcommand's module (registering every subcommand imports what their
    help texts need, e.g. the basemap list of ``map``: a tenth of a second or more of start-up).
    """
    names = [only] if only in SUBCOMMANDS else SUBCOMMANDS
    return [_subcommand_module(name) for name in names]


def _subcommand_module(name: str):  # noqa: ANN202
    if name == "locate":  # the one-site path: nothing else to import
        from xclz_geo.cli import locate

        return locate
    from xclz_geo.cli import areas, boundaries, convert, digitize, efficiency, landuse, locate, report, serve
    from xclz_geo.cli import map as map_
    from xclz_geo.cli import partition

    modules = {
        "areas": areas, "digitize": digitize, "boundaries": boundaries, "locate": locate, "convert": convert,
        "map": map_, "landuse": landuse, "efficiency": efficiency, "report": report, "serve": serve,
        "partition": partition,
    }
    return modules[name]


def _requested_command(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line (the first word that is not an option), if known."""
    args = list(sys.argv[1:] if argv is None else argv)
    for a in args:
        if a == "--":
            return None
        if a.startswith("-"):
            if a == "--debug":
                continue
            return None  # --help, --version …: the full parser
        return a if a in SUBCOMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``xclz-geo``; returns the exit status.

    0 ok, 1 check failed / unresolved, 2 bad input (files, options, output paths — anything the user
    controls), 3 internal error, 130 stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM. Every error is one
    line on stderr; warnings are one line each, each distinct warning once.
    """
    from xclz_geo._atomic import install_signal_handlers
    from xclz_geo.errors import Interrupted, XclzGeoError
    from xclz_geo.cli._common import input_paths, one_line

    parser = build_parser(_requested_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    debug = bool(getattr(args, "debug", False))
    log = _Warnings([str(p) for p in input_paths(args)])
    old = warnings.showwarning
    try:
        with install_signal_handlers(), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = log.show
            try:
                return int(args.func(args) or 0)
            finally:
                log.summary()
    except XclzGeoError as exc:
        if debug:
            raise
        sys.stderr.write(f"xclz-geo: error: {one_line(exc)}\n")
        return int(getattr(exc, "exit_code", 2))
    except Interrupted as exc:
        sys.stderr.write(f"xclz-geo: {exc} (exit {exc.exit_code}); unfinished outputs were removed, earlier ones left as they were\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("xclz-geo: interrupted (exit 130); unfinished outputs were removed, earlier ones left as they were\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if debug:
            raise
        if exc.errno in _USER_ERRNO:
            where = exc.filename if exc.filename is not None else "a file"
            sys.stderr.write(f"xclz-geo: error: {one_line(where)}: {one_line(exc.strerror or exc)}\n")
            return 2
        sys.stderr.write(f"xclz-geo: internal error: {type(exc).__name__}: {one_line(exc)} "
                         "(please report it; run again with --debug for the traceback)\n")
        return 3
    except Exception as exc:  # last resort: never a raw traceback for a CLI user
        if debug:
            raise
        if type(exc).__module__.split(".")[0] == "pyogrio":  # GDAL refused a file (reads are wrapped: a write)
            sys.stderr.write(f"xclz-geo: error: GDAL could not write or read a file: {one_line(exc)}\n")
            return 2
        sys.stderr.write(
            f"xclz-geo: internal error: {type(exc).__name__}: {one_line(exc)} "
            "(please report it; run again with --debug for the traceback)\n"
        )
        return 3
    finally:
        warnings.showwarning = old


def run() -> None:  # pragma: no cover - console script wrapper
    exit_process(main())


def exit_process(code: int) -> NoReturn:
    """End the ``xclz-geo`` process with ``code``, without tearing the interpreter down.

    Once the command has returned, its files are in place and closed; what remains of a normal exit is
    freeing every object and module one by one (0.3–0.5 s after a report of a few hundred MB). Here the
    output streams are flushed and the ``atexit`` functions run, then the process ends. When another thread
    still runs, or a stream cannot be flushed (a closed pipe), the normal exit is taken instead.
    """
    import atexit
    import os
    import threading

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    try:  # what a C library wrote through its own stdio buffers (os._exit does not flush them)
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library to ask
        pass
    os._exit(code)


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "SUBCOMMANDS", "build_parser", "main", "run", "exit_process"
]


if __name__ == "__main__":  # pragma: no cover
    exit_process(main())
