"""Build of the optional compiled lookup kernel (``xclz_geo.geo._lookup``); the metadata is in pyproject.toml.

The extension is plain C against the CPython API (no numpy headers). It is optional: without a C
compiler the install still succeeds and :mod:`xclz_geo.geo.locate` runs its numpy path
(``xclz_geo.geo.locate.KERNEL == "numpy"``).
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup

# floor(ty) * nx + tx must stay two roundings (as in the numpy path): no fused multiply-add
_ARGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

setup(
    ext_modules=[
        Extension("xclz_geo.geo._lookup", sources=["xclz_geo/geo/_lookup.c"], extra_compile_args=_ARGS, optional=True),
    ],
)
