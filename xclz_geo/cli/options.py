"""One set of CLI options shared by every subcommand (issue 14, item 4).

Each ``add_*`` function registers one shared option with the same flags, wording and choices
wherever it appears; a subcommand calls the ones that apply to it. Old spellings of an option
(``--sites``, ``--enterprises`` as the main input of ``efficiency``, a positional FILE …) keep working
for one release through :class:`Deprecated`, which prints one line on stderr naming the new spelling.

The option table (which command has which option, and the old spellings) is in
``docs/notes/cliopts.md`` and is checked by ``tests/test_cli_options.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = [
    "DATUM_CHOICES",
    "QUALITY_CHOICES",
    "HELP",
    "Deprecated",
    "add_input",
    "add_out",
    "add_overwrite",
    "add_datum",
    "add_crs",
    "add_xy",
    "add_quality",
    "add_zone",
    "add_json",
    "datum_tag",
    "deprecated_alias",
    "deprecated_positional",
    "refuse_existing",
]

#: datum tags (``--datum``): never a CRS; a CRS goes to ``--crs``
DATUM_CHOICES = ("wgs84", "cgcs2000", "gcj02", "bd09")

#: quality labels (``--quality``), the same as :data:`xclz_geo.boundaries.zone.QUALITY_LEVELS`
QUALITY_CHOICES = ("official", "surveyed", "osm", "schematic", "synthetic")

#: the help text of each shared option: one wording everywhere (``{what}`` is filled in per command)
HELP = {
    "--input": "main input file: {what}",
    "--out": "output {what}",
    "--overwrite": "replace existing outputs (without it an existing output file, or a folder that already holds "
    "this command's outputs, is refused with exit 2)",
    "--datum": "datum of lon/lat coordinates: wgs84 (GPS), cgcs2000, gcj02 (Amap/Gaode/Tencent), bd09 (Baidu) "
    "(default {default}); a projected CRS goes to --crs",
    "--crs": "CRS of {what}, e.g. EPSG:4549 (CGCS2000 Gauss-Krüger CM 120E){default}",
    "--x": "column with longitudes / eastings (default: detected: lon, lng, 经度, x …)",
    "--y": "column with latitudes / northings (default: detected: lat, 纬度, y …)",
    "--quality": "quality label of {what}: official, surveyed, osm, schematic, synthetic{default}",
    "--boundaries": "boundaries file in the xclz_geo schema (e.g. an imported official red line); default: the bundled "
    "schematic zone",
    "--boundaries-layer": "layer of a multi-layer boundaries file (GeoPackage)",
    "--spec": "zone spec TOML (default: the bundled data/boundaries/spec.toml)",
    "--json": "print one JSON object on stdout instead of text",
}


def _warn(text: str) -> None:
    sys.stderr.write(f"xclz-geo: warning: {text}\n")


class Deprecated(argparse.Action):
    """An old spelling of an option: stores into ``target`` (the new option's dest) and prints one line on
    stderr saying what to write instead (it still works for this release).

    Give ``target`` and ``new`` (the new spelling, for the message) as keyword arguments of
    ``add_argument``. Giving the old and the new spelling with different values is an error.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, *, target: str, new: str, **kwargs: Any) -> None:
        self.target = target
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        old = option_string or f"{self.metavar or self.dest} as a positional argument"
        given = getattr(namespace, self.target, None)
        if given is not None and given != values:
            parser.error(f"{old} and {self.new} both given ({values} / {given}); give only {self.new}")
        setattr(namespace, self.target, values)
        setattr(namespace, f"_old_{self.target}", (old, values))  # for _Store: the new spelling given later
        _warn(f"{old} is deprecated and will be removed in the next release; write {self.new} instead")


class _Store(argparse._StoreAction):
    """``store``, refusing a value that disagrees with the one an old spelling gave earlier on the line."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        old = getattr(namespace, f"_old_{self.dest}", None)
        if old is not None and old[1] != values:
            parser.error(f"{old[0]} and {option_string} both given ({old[1]} / {values}); give only {option_string}")
        super().__call__(parser, namespace, values, option_string)


def deprecated_alias(parser: Any, old: str, *, target: str, new: str, metavar: str = "FILE") -> None:
    """Add ``old`` (e.g. ``--sites``) as a hidden, deprecated spelling of the option stored in ``target``."""
    parser.add_argument(old, dest=f"_deprecated_{old.lstrip('-').replace('-', '_')}", action=Deprecated, target=target,
                        new=new, metavar=metavar, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def deprecated_positional(parser: Any, metavar: str, *, target: str, new: str) -> None:
    """An optional positional (the old spelling ``command FILE``) stored in ``target``, with a warning."""
    parser.add_argument(f"_positional_{target}", nargs="?", metavar=metavar, action=Deprecated, target=target,
                        new=new, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_input(parser: Any, what: str, *, required: bool = False, metavar: str = "FILE",
              old: Iterable[str] = (), positional: str | None = None, also: Sequence[str] = ()) -> argparse.Action:
    """``--input/-i FILE``: the command's main input; ``old`` options and a ``positional`` metavar are
    deprecated spellings of it; ``also`` are other names that stay valid (``--enterprises`` where a command
    has several kinds of input, each named)."""
    action = parser.add_argument("--input", "-i", *also, dest="input", action=_Store, metavar=metavar, required=required,
                                 help=HELP["--input"].format(what=what))
    for o in old:
        deprecated_alias(parser, o, target="input", new="--input", metavar=metavar)
    if positional:
        deprecated_positional(parser, positional, target="input", new="--input")
    return action


def add_overwrite(parser: Any) -> argparse.Action:
    """``--overwrite``: replace existing outputs (see :func:`refuse_existing`)."""
    return parser.add_argument("--overwrite", action="store_true", help=HELP["--overwrite"])


def add_out(parser: Any, what: str, *, required: bool = False, metavar: str = "FILE",
            overwrite: bool = True) -> argparse.Action:
    """``--out/-o`` (a file or a folder, as ``what`` says) and ``--overwrite`` (``overwrite=False``: an output
    that is never replaced, e.g. the part.* files of the Dask engine, which must go into a new folder)."""
    action = parser.add_argument("--out", "-o", action=_Store, metavar=metavar, required=required,
                                 help=HELP["--out"].format(what=what))
    if overwrite:
        add_overwrite(parser)
    return action


def datum_tag(text: str) -> str:
    """``Gaode`` → ``gcj02``: a datum name or alias as its tag (unknown text is left for the choices check)."""
    from xclz_geo.errors import DatumError
    from xclz_geo.geo.datums import normalize_datum  # numpy only: the one-site fast path imports no pyproj

    try:
        return normalize_datum(text)
    except DatumError:
        return text


class _LegacyDatumChoices(tuple):
    """The datum tags, also 'containing' any other text: ``map --datum EPSG:4549`` (a CRS) of the old
    spelling passes the choices check and is moved to ``--crs`` by :class:`_LegacyDatum`."""

    def __contains__(self, item: object) -> bool:  # noqa: D105
        return True


class _LegacyDatum(argparse.Action):
    """``--datum``: a tag is stored; a CRS (the old spelling of ``map --datum``) goes to ``--crs`` with a warning."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if values in DATUM_CHOICES:
            setattr(namespace, self.dest, values)
            return
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(values)
        except CRSError:
            parser.error(f"argument --datum: invalid choice: {values!r} (choose from {', '.join(DATUM_CHOICES)}; "
                         "a projected CRS goes to --crs)")
        setattr(namespace, "crs", values)
        setattr(namespace, "_old_crs", ("--datum", values))
        _warn(f"--datum {values} is a CRS, not a datum: write --crs {values} instead (--datum with a CRS is deprecated "
              "and will be removed in the next release)")


def add_datum(parser: Any, *, default: str | None = "wgs84", legacy_crs: bool = False, flag: str = "--datum",
              dest: str | None = None) -> argparse.Action:
    """``--datum {wgs84,cgcs2000,gcj02,bd09}``: a datum tag only (aliases such as ``gaode`` are accepted as their tag).

    ``legacy_crs``: a CRS given to ``--datum`` (an old spelling) is moved to ``--crs`` with a warning.
    """
    kw: dict[str, Any] = {"dest": dest} if dest else {}
    if legacy_crs:
        kw.update(action=_LegacyDatum, choices=_LegacyDatumChoices(DATUM_CHOICES))
    else:
        kw.update(choices=DATUM_CHOICES)
    return parser.add_argument(flag, default=default, type=datum_tag, metavar="{" + ",".join(DATUM_CHOICES) + "}",
                               help=HELP["--datum"].format(default=default or "none"), **kw)


def add_crs(parser: Any, what: str = "projected input", *, default_text: str = "") -> argparse.Action:
    """``--crs CRS``: a coordinate reference system only (never a datum tag)."""
    return parser.add_argument("--crs", action=_Store, metavar="CRS", help=HELP["--crs"].format(what=what, default=default_text))


def add_xy(parser: Any) -> None:
    """``--x COL`` / ``--y COL``: the coordinate columns of a table of points, detected when not given
    (:func:`xclz_geo.geo.locate.detect_xy_columns`)."""
    parser.add_argument("--x", metavar="COL", help=HELP["--x"])
    parser.add_argument("--y", metavar="COL", help=HELP["--y"])


def add_quality(parser: Any, what: str, *, default: str | None = None, old: Iterable[str] = ()) -> argparse.Action:
    """``--quality {official,surveyed,osm,schematic,synthetic}`` (``old`` spellings deprecated)."""
    default_text = f" (default {default})" if default else ""
    action = parser.add_argument("--quality", action=_Store, choices=QUALITY_CHOICES, default=default, metavar="LABEL",
                                 help=HELP["--quality"].format(what=what, default=default_text))
    for o in old:
        parser.add_argument(o, dest=f"_deprecated_{o.lstrip('-').replace('-', '_')}", action=Deprecated, target="quality",
                            new="--quality", choices=QUALITY_CHOICES, metavar="LABEL", default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS)
    return action


def add_zone(parser: Any, *, spec: bool = True) -> None:
    """``--boundaries FILE``, ``--boundaries-layer LAYER`` and ``--spec FILE``: the zone a command uses."""
    parser.add_argument("--boundaries", metavar="FILE", help=HELP["--boundaries"])
    parser.add_argument("--boundaries-layer", metavar="LAYER", help=HELP["--boundaries-layer"])
    if spec:
        parser.add_argument("--spec", metavar="FILE", help=HELP["--spec"])


def add_json(parser: Any) -> argparse.Action:
    """``--json``: one JSON object on stdout for a machine to read."""
    return parser.add_argument("--json", action="store_true", help=HELP["--json"])


def refuse_existing(paths: Iterable[str | Path | None], *, overwrite: bool, option: str | None = "--out") -> None:
    """Refuse (``OutputPathError``, exit 2) when one of ``paths`` exists and ``overwrite`` is false.

    The message names the path and says "add --overwrite".
    """
    if overwrite:
        return
    from xclz_geo.errors import OutputPathError

    for p in paths:
        if p is None:
            continue
        p = Path(p)
        if p.exists() and not p.is_dir():
            where = f"{option} {p}" if option else str(p)
            raise OutputPathError(f"{where}: the file exists; add --overwrite to replace it")
