"""Entry point of ``xclz-geo``.

Each subcommand lives in its own module of :mod:`xclz_geo.cli` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a function
``(args) -> int``. Errors of the toolkit (:class:`~xclz_geo.errors.XclzGeoError`)
become one line on stderr and the error's exit status; anything else is reported as
an internal error in one line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Sequence

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
    "partition",
]


def _showwarning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    sys.stderr.write(f"xclz-geo: warning: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every subcommand registered."""
    from xclz_geo import __version__

    parser = argparse.ArgumentParser(
        prog="xclz-geo",
        description="Boundaries and land use of the Xuancheng linkage innovation zone (中国(安徽)自由贸易试验区宣城联动创新区).",
    )
    parser.add_argument("--version", action="version", version=f"xclz-geo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _subcommand_modules():
        module.register(sub)
    return parser


def _subcommand_modules() -> list:
    """The subcommand modules in the order of :data:`SUBCOMMANDS` (each is thin: it imports the library lazily)."""
    from xclz_geo.cli import areas, boundaries, convert, digitize, efficiency, landuse, locate, report
    from xclz_geo.cli import map as map_
    from xclz_geo.cli import partition

    modules = {
        "areas": areas, "digitize": digitize, "boundaries": boundaries, "locate": locate, "convert": convert,
        "map": map_, "landuse": landuse, "efficiency": efficiency, "report": report,
        "partition": partition,
    }
    return [modules[name] for name in SUBCOMMANDS]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``xclz-geo``; returns the exit status (0 ok, 1 check failed/unresolved, 2 bad input, 3 internal error)."""
    from xclz_geo.errors import XclzGeoError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    debug = bool(getattr(args, "debug", False))
    old = warnings.showwarning
    warnings.showwarning = _showwarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _showwarning
            return int(args.func(args) or 0)
    except XclzGeoError as exc:
        if debug:
            raise
        sys.stderr.write(f"xclz-geo: error: {exc}\n")
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        sys.stderr.write("xclz-geo: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: never a raw traceback for a CLI user
        if debug:
            raise
        sys.stderr.write(
            f"xclz-geo: internal error: {type(exc).__name__}: {exc} "
            "(please report it; run again with --debug for the traceback)\n"
        )
        return 3
    finally:
        warnings.showwarning = old


def run() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
