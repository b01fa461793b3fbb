"""Jobs of the web workbench: a SQLite record per job and a bounded pool of worker threads.

Each job has its own folder ``DATA_DIR/jobs/<id>/`` (``<id>``: 32 random hex digits, never
anything the user sent) with ``input/`` (the uploaded files under names the server chose) and
``out/`` (the results). The record — kind, state, progress, the inputs' original names (as
text, for display), parameters, boundary version, result files, error — lives in
``DATA_DIR/jobs.sqlite3``; records and files survive a restart of the server. A job that was
running when the server stopped is marked ``failed`` (its input is kept); queued jobs are run
again.

The pool is a :class:`~concurrent.futures.ThreadPoolExecutor` of ``workers`` threads with at
most :data:`MAX_QUEUED` jobs waiting; a job function receives a :class:`JobContext` to report
progress. A job that raises is marked failed with a one-line reason (a toolkit error's own
message; anything else "internal error", the traceback only in the server log).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["JOB_STATES", "MAX_QUEUED", "Job", "JobContext", "JobStore", "JobQueueFull", "capture_warnings", "json_dumps", "new_id", "valid_id"]

log = logging.getLogger("xclz_geo.web")

#: states a job goes through
JOB_STATES = ("queued", "running", "done", "failed")
#: jobs that may wait for a worker at once (more are refused with a clear message)
MAX_QUEUED = 64

_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_SINK = threading.local()
_ORIGINAL_SHOWWARNING: Any = None


def _showwarning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    sink = getattr(_SINK, "messages", None)
    if sink is not None:
        text = " ".join(str(message).split())
        if text not in sink:
            sink.append(text)
        return
    _ORIGINAL_SHOWWARNING(message, category, filename, lineno, file, line)


def capture_warnings() -> None:
    """Route warnings raised in a job's thread into that job's record (other threads unchanged)."""
    global _ORIGINAL_SHOWWARNING
    import warnings

    if warnings.showwarning is not _showwarning:
        _ORIGINAL_SHOWWARNING = warnings.showwarning
        warnings.showwarning = _showwarning

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    inputs TEXT NOT NULL DEFAULT '[]',
    params TEXT NOT NULL DEFAULT '{}',
    boundary_version TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, created);
"""


def new_id() -> str:
    """A random id (128 bits, hex): names jobs, their folders and staged uploads."""
    return secrets.token_hex(16)


def valid_id(value: str) -> bool:
    """Whether ``value`` has the shape of an id from :func:`new_id` (so it is safe in a path)."""
    return bool(_ID_RE.match(value or ""))


class JobQueueFull(RuntimeError):
    """Too many jobs are waiting; the user is asked to try again later."""


@dataclass
class Job:
    """One job's record."""

    id: str
    kind: str
    owner: str
    state: str
    progress: float
    message: str
    error: str | None
    inputs: list[str]
    params: dict[str, Any]
    boundary_version: str | None
    files: list[str]
    summary: dict[str, Any]
    created: float
    started: float | None
    finished: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (what ``GET /api/jobs/{id}`` returns, without the owner)."""
        return {
            "job_id": self.id, "kind": self.kind, "state": self.state, "progress": round(self.progress, 3),
            "message": self.message, "error": self.error, "inputs": self.inputs, "params": self.params,
            "boundary_version": self.boundary_version, "files": self.files, "created": self.created,
            "started": self.started, "finished": self.finished,
        }


@dataclass
class JobContext:
    """What a job function gets: its folders and a progress callback."""

    job_id: str
    dir: Path
    store: "JobStore"
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dir(self) -> Path:
        return self.dir / "input"

    @property
    def out_dir(self) -> Path:
        return self.dir / "out"

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0–1) and a short message shown on the job's page."""
        self.store._update(self.job_id, progress=max(0.0, min(1.0, float(fraction))), message=message[:200])


#: a job function: does the work, writes files into ``ctx.out_dir``, returns a JSON-able summary
JobFunc = Callable[[JobContext], dict[str, Any]]


class JobStore:
    """The SQLite record of jobs, their folders and the worker pool.

    Parameters
    ----------
    data_dir
        Folder of ``jobs.sqlite3`` and ``jobs/``.
    workers
        Worker threads (jobs running at once).
    """

    def __init__(self, data_dir: str | Path, *, workers: int = 2) -> None:
        self.data_dir = Path(data_dir)
        self.jobs_dir = self.data_dir / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "jobs.sqlite3"
        self._lock = threading.Lock()
        self._funcs: dict[str, JobFunc] = {}
        self._waiting = 0
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        self.pool = ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="xclz-job")
        self._recover()

    # -- database ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    def _update(self, job_id: str, **values: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        args = [json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for v in values.values()]
        with self._lock, self._connect() as con:
            con.execute(f"UPDATE jobs SET {cols} WHERE id = ?", [*args, job_id])

    @staticmethod
    def _row(r: sqlite3.Row) -> Job:
        return Job(
            id=r["id"], kind=r["kind"], owner=r["owner"], state=r["state"], progress=float(r["progress"]),
            message=r["message"], error=r["error"], inputs=json.loads(r["inputs"]), params=json.loads(r["params"]),
            boundary_version=r["boundary_version"], files=json.loads(r["files"]), summary=json.loads(r["summary"]),
            created=r["created"], started=r["started"], finished=r["finished"],
        )

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None`` (also for a malformed id)."""
        if not valid_id(job_id):
            return None
        with self._connect() as con:
            r = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._row(r) if r is not None else None

    def list(self, *, owner: str | None = None, limit: int = 200) -> list[Job]:
        """Jobs, newest first (only ``owner``'s when given)."""
        with self._connect() as con:
            if owner is None:
                rows = con.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = con.execute("SELECT * FROM jobs WHERE owner = ? ORDER BY created DESC LIMIT ?", (owner, limit)).fetchall()
        return [self._row(r) for r in rows]

    def job_dir(self, job_id: str) -> Path:
        """The folder of a job (``job_id`` must be valid)."""
        if not valid_id(job_id):
            raise ValueError("not a job id")
        return self.jobs_dir / job_id

    def file_path(self, job: Job, name: str) -> Path | None:
        """The path of result file ``name`` of ``job`` — only for a name the job recorded."""
        if name not in job.files:
            return None
        p = self.job_dir(job.id) / "out" / name
        return p if p.is_file() else None

    # -- creating and running ------------------------------------------------------
    def register(self, kind: str, func: JobFunc) -> None:
        """The function that runs jobs of ``kind``."""
        self._funcs[kind] = func

    def prepare(self) -> JobContext:
        """A new job folder (``input/`` and ``out/``) whose id is not yet recorded."""
        jid = new_id()
        d = self.jobs_dir / jid
        (d / "input").mkdir(parents=True)
        (d / "out").mkdir()
        return JobContext(job_id=jid, dir=d, store=self)

    def discard(self, ctx: JobContext) -> None:
        """Remove a prepared folder whose job was never submitted (bad upload)."""
        shutil.rmtree(ctx.dir, ignore_errors=True)

    def submit(self, ctx: JobContext, *, kind: str, owner: str, inputs: list[str], params: dict[str, Any],
               boundary_version: str | None) -> Job:
        """Record the job as queued and hand it to the pool.

        Raises
        ------
        JobQueueFull
            When :data:`MAX_QUEUED` jobs are already waiting.
        """
        if kind not in self._funcs:
            raise ValueError(f"unknown job kind {kind!r}")
        with self._lock:
            if self._waiting >= MAX_QUEUED:
                raise JobQueueFull(f"{self._waiting} jobs are waiting; try again in a few minutes")
            self._waiting += 1
        ctx.params = dict(params)
        with self._lock, self._connect() as con:
            con.execute(
                "INSERT INTO jobs (id, kind, owner, state, inputs, params, boundary_version, created) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
                (ctx.job_id, kind, owner, json.dumps(inputs, ensure_ascii=False), json.dumps(params, ensure_ascii=False),
                 boundary_version, time.time()),
            )
        log.info("job %s %s queued", ctx.job_id, kind)
        self.pool.submit(self._run, ctx, kind)
        return self.get(ctx.job_id)  # type: ignore[return-value]

    def _run(self, ctx: JobContext, kind: str) -> None:
        from xclz_geo.errors import XclzGeoError

        with self._lock:
            self._waiting -= 1
        t0 = time.time()
        self._update(ctx.job_id, state="running", started=t0, progress=0.0)
        _SINK.messages = []
        capture_warnings()  # again: a test harness or another library may have replaced warnings.showwarning
        try:
            summary = dict(self._funcs[kind](ctx) or {})
            summary["warnings"] = [_one_line(m, ctx) for m in _SINK.messages]
            files = sorted(p.name for p in ctx.out_dir.iterdir() if p.is_file() and not p.name.startswith("."))
            self._update(ctx.job_id, state="done", progress=1.0, message="", files=files,
                         summary=json.loads(_dumps(summary)), finished=time.time())
            log.info("job %s %s done in %.2f s (%d files)", ctx.job_id, kind, time.time() - t0, len(files))
        except XclzGeoError as exc:
            msg = _one_line(str(exc), ctx)
            self._update(ctx.job_id, state="failed", error=msg, finished=time.time())
            log.info("job %s %s failed in %.2f s: %s", ctx.job_id, kind, time.time() - t0, type(exc).__name__)
        except MemoryError:
            self._update(ctx.job_id, state="failed", error="the server ran out of memory for this file; split it into smaller files",
                         finished=time.time())
            log.error("job %s %s failed: out of memory", ctx.job_id, kind)
        except Exception as exc:  # noqa: BLE001 - a job never takes the server down
            self._update(ctx.job_id, state="failed", finished=time.time(),
                         error=f"internal error ({type(exc).__name__}); the input is kept — please report job {ctx.job_id}")
            log.exception("job %s %s failed with an internal error", ctx.job_id, kind)
        finally:
            _SINK.messages = None

    def _recover(self) -> None:
        """After a restart: running jobs are marked failed, queued jobs run again."""
        with self._connect() as con:
            rows = con.execute("SELECT id, kind, state, params FROM jobs WHERE state IN ('queued', 'running')").fetchall()
        for r in rows:
            if r["state"] == "running" or r["kind"] not in self._funcs:
                self._update(r["id"], state="failed", finished=time.time(),
                             error="the server stopped while the job was running; the input is kept — submit it again")
        self._pending = [(r["id"], r["kind"], json.loads(r["params"])) for r in rows if r["state"] == "queued"]

    def resume_queued(self) -> int:
        """Run the jobs that were queued when the server stopped (call after :meth:`register`)."""
        n = 0
        for jid, kind, params in getattr(self, "_pending", []):
            if kind in self._funcs and self.jobs_dir.joinpath(jid).is_dir():
                with self._lock:
                    self._waiting += 1
                self.pool.submit(self._run, JobContext(job_id=jid, dir=self.jobs_dir / jid, store=self, params=params), kind)
                n += 1
            else:
                self._update(jid, state="failed", finished=time.time(), error="the job could not be resumed after a restart")
        self._pending = []
        return n

    def close(self, *, wait: bool = True) -> None:
        """Stop the pool (waiting for running jobs when ``wait``)."""
        self.pool.shutdown(wait=wait, cancel_futures=not wait)


def _one_line(msg: str, ctx: JobContext) -> str:
    """A message without the server's folders (the user sees their own file names, not our paths)."""
    text = " ".join(msg.split())
    for d in (str(ctx.input_dir) + "/", str(ctx.out_dir) + "/", str(ctx.dir) + "/"):
        text = text.replace(d, "")
    for server_name, original in (ctx.params.get("names") or {}).items():
        text = text.replace(server_name, original)
    return text[:600]


def json_dumps(obj: Any) -> str:
    """JSON text of a job summary: NaN/inf as ``null``, numpy scalars as numbers, Chinese readable
    (one pass through the package's :func:`xclz_geo._results.jsonable`, not an encode-decode-encode round trip)."""
    from xclz_geo._results import jsonable

    return json.dumps(jsonable(obj), ensure_ascii=False, allow_nan=False)


def _dumps(obj: Any) -> str:
    return json_dumps(obj)
