"""Paths of the data bundled with xclz_geo.

The data's source of truth is the repository's top-level ``data/`` folder. The wheel carries
it as the package ``xclz_geo._data`` (``package-dir`` in ``pyproject.toml``), read here through
:mod:`importlib.resources`, so an installed xclz_geo works outside any checkout. In a checkout
(the editable install of ``scripts/demo.sh``/``scripts/test.sh``) the top-level ``data/`` is used.
Set ``XCLZ_GEO_DATA`` to use another copy of that folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from xclz_geo.errors import InputFileError


def data_dir() -> Path:
    """The ``data/`` folder: ``$XCLZ_GEO_DATA``, else the checkout's own ``data/``, else the installed copy.

    Raises
    ------
    InputFileError
        When neither a checkout's ``data/`` nor the installed ``xclz_geo._data`` exists.
    """
    env = os.environ.get("XCLZ_GEO_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / "boundaries" / "spec.toml").is_file():
        return checkout
    return _installed_data_dir()


def _installed_data_dir() -> Path:
    from importlib.resources import files

    # installed from a wheel: a real folder in site-packages (zip imports are not supported)
    root = Path(str(files("xclz_geo").joinpath("_data")))
    if not (root / "boundaries" / "spec.toml").is_file():
        raise InputFileError(
            f"the bundled data is not installed ({root} is missing); reinstall xclz_geo from its wheel, "
            "or set XCLZ_GEO_DATA to a copy of the repository's data/ folder"
        )
    return root


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


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "data_dir", "data_path", "spec_path", "boundaries_path", "reference_path"
]
