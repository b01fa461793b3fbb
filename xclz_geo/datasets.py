"""Paths of the data bundled with xclz_geo.

The data lives in the repository's top-level ``data/`` folder (the package is installed
in editable mode by ``scripts/demo.sh``/``scripts/test.sh``). Set ``XCLZ_GEO_DATA`` to use
another copy of that folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputFileError


def data_dir() -> Path:
    """The ``data/`` folder (``$XCLZ_GEO_DATA`` or the repository's own)."""
    env = os.environ.get("XCLZ_GEO_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data"


def data_path(*parts: str, must_exist: bool = True) -> Path:
    """Path of a bundled file, e.g. ``data_path("boundaries", "spec.toml")``.

    Raises
    ------
    InputFileError
        When ``must_exist`` and the file is missing (names the path and ``XCLZ_GEO_DATA``).
    """
    p = data_dir().joinpath(*parts)
    if must_exist and not p.exists():
        raise InputFileError(
            f"bundled data file {p} is missing; run from a full checkout or set XCLZ_GEO_DATA to a copy of data/"
        )
    return p


def spec_path() -> Path:
    """The zone specification ``data/boundaries/spec.toml``."""
    return data_path("boundaries", "spec.toml")


def boundaries_path() -> Path:
    """The bundled part polygons ``data/boundaries/zone.geojson``."""
    return data_path("boundaries", "zone.geojson")


def reference_path(name: str) -> Path:
    """A file of ``data/reference/`` (county outlines, OSM G50, anchor points)."""
    return data_path("reference", name)
