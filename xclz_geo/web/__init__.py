"""园区地理工作台 — the toolkit as an intranet web app (``xclz-geo serve``).

Owns the web layer only: :mod:`.app` (pages, JSON API, security headers), :mod:`.jobs`
(SQLite job records, worker pool), :mod:`.auth` (access token), :mod:`.uploads` (size, type
by content, safe zips), :mod:`.service` (boundary versions, the single-site check),
:mod:`.tasks` (what each job runs), :mod:`.coords` (typed coordinates). It calls the library
(locate, io, efficiency, landuse, report, boundaries, zone) and the CLI's table path, never the
other way round. Needs the ``web`` extra: ``pip install 'xclz_geo[web]'``.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):  # lazy: importing the package does not import FastAPI
    if name == "create_app":
        from xclz_geo.web.app import create_app

        return create_app
    raise AttributeError(f"module 'xclz_geo.web' has no attribute {name!r}")
