"""``xclz-geo serve``: the 园区地理工作台 workbench, a web app for people who do not use a command line.

    xclz-geo serve                                   # http://127.0.0.1:8765, this computer only
    xclz-geo serve --host 0.0.0.0 --token-file token.txt --data-dir D:/xclz_workbench   # the whole office

It listens on 127.0.0.1 unless told otherwise; another interface needs ``--token-file`` (every
request then carries the token) or an explicit ``--no-auth``. Replacing the boundaries needs the admin
token (``--admin-token-file F`` or ``XCLZ_ADMIN_TOKEN``) whenever a token is set. Jobs, their files and the boundary
versions live under ``--data-dir`` and survive a restart.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="园区地理工作台: the toolkit as a web app on the intranet (map, batch check, 亩均效益, land use, boundaries)",
        description="Start the workbench web server (FastAPI on uvicorn). Pages in Chinese and English, a JSON API "
        "(/openapi.json, /docs), jobs kept in --data-dir. Binds 127.0.0.1 by default; to serve other computers give "
        "--host 0.0.0.0 with --token-file (or --no-auth, which is warned about). Exit 2 for bad options.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--data-dir", default="xclz_workbench", metavar="DIR",
                   help="folder of the job records, results and boundary versions (default ./xclz_workbench)")
    p.add_argument("--boundaries", metavar="FILE", help="boundaries file to use (default: the version in use, or the bundled zone)")
    p.add_argument("--token-file", metavar="F", help="file whose first line is the access token (at least 16 characters)")
    p.add_argument("--admin-token-file", metavar="F",
                   help="file whose first line is the admin token (at least 16 characters, different from the user token): "
                   "only its holder may upload and confirm new boundaries; default: the environment variable XCLZ_ADMIN_TOKEN. "
                   "With --token-file but no admin token, boundaries cannot be replaced through the web")
    p.add_argument("--no-auth", action="store_true", help="serve another interface without a token (everyone on the network gets in)")
    p.add_argument("--max-upload-mb", type=float, default=100, metavar="N", help="largest upload in MB (default 100)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="jobs running at once (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from xclz_geo.errors import InputDataError

    try:
        import uvicorn

        from xclz_geo.web.app import create_app
    except ImportError as exc:
        raise InputDataError(f"the web server needs its extra packages ({exc.name} is missing): pip install 'xclz_geo[web]'") from None
    from xclz_geo.web.auth import read_admin_token, read_token_file

    if not (0 < args.port < 65536):
        raise InputDataError(f"--port {args.port}: give a port between 1 and 65535")
    if args.max_upload_mb <= 0:
        raise InputDataError("--max-upload-mb must be a positive number of megabytes")
    if args.workers < 1:
        raise InputDataError("--workers must be at least 1")
    token = read_token_file(args.token_file) if args.token_file else None
    if token and args.no_auth:
        raise InputDataError("give either --token-file or --no-auth, not both")
    admin_token = read_admin_token(getattr(args, "admin_token_file", None))
    if admin_token and token and admin_token == token:
        raise InputDataError("the admin token must differ from the user token (--admin-token-file, --token-file)")
    if args.host not in LOOPBACK and token is None:
        if not args.no_auth:
            raise InputDataError(
                f"--host {args.host} lets other computers in: give --token-file FILE (everyone then needs the token), "
                "or --no-auth to serve without one"
            )
        sys.stderr.write(f"xclz-geo: warning: serving on {args.host} WITHOUT a token: everyone who can reach this computer "
                         "can use the workbench" + ("" if admin_token else " and replace the boundaries") + "\n")
    if token and not admin_token:
        sys.stderr.write("xclz-geo: note: no admin token (--admin-token-file or XCLZ_ADMIN_TOKEN): boundaries cannot be "
                         "replaced through the web\n")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import warnings

    from xclz_geo.errors import XclzGeoWarning

    warnings.simplefilter("always", XclzGeoWarning)  # each job records the warnings it raised
    app = create_app(data_dir=Path(args.data_dir), boundaries=args.boundaries, token=token, admin_token=admin_token,
                     max_upload_mb=args.max_upload_mb, workers=args.workers)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    sys.stderr.write(f"xclz-geo: workbench on http://{shown}:{args.port}/ (data in {Path(args.data_dir).resolve()}"
                     f"{'; token required' if token else ''}{'; admin token for boundaries' if admin_token else ''}); "
                     "Ctrl-C stops it\n")
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0


#: the public names of this module (``from … import *``, the API reference)
__all__ = [
    "LOOPBACK", "register", "run"
]
