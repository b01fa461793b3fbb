"""Shared helpers of the CLI subcommands: JSON output, zone loading, console."""

from __future__ import annotations

import argparse
import json
import math
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
    """``--boundaries FILE`` (and ``--layer``) for every command that uses the zone's polygons."""
    parser.add_argument(
        "--boundaries",
        metavar="FILE",
        help="boundaries file in the xclz_geo schema (e.g. an imported official red line); default: the bundled schematic zone",
    )
    parser.add_argument("--boundaries-layer", metavar="LAYER", help="layer of a multi-layer boundaries file (GeoPackage)")


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


def progress(iterable: Any = None, *, total: int | None = None, desc: str = "", disable: bool | None = None) -> Any:
    """A tqdm progress bar on stderr, shown only on a terminal unless forced."""
    from tqdm.auto import tqdm

    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr, unit="rows")
