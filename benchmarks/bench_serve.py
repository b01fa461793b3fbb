"""Benchmark: the web workbench under load, against a server this script starts on 127.0.0.1.

1. **200 concurrent single-site queries** (``GET /api/locate``, GCJ-02, random points around the
   zone): 200 client threads released together by a barrier, one request each — the worst burst;
   and the same 200 queries from 10 clients (20 each), an office's steady use.
2. **10 concurrent 1,200-row uploads** (``POST /api/jobs/locate``, XLSX, BD-09), each followed until
   its job is done, while one more client keeps asking single-site queries (does the page stay
   responsive while jobs run?).

Reports p50/p95/max latency, errors (anything but 2xx) and the server's peak resident memory
(``VmHWM`` of its process) into ``benchmarks/results/serve.json``. Loopback only; every loop is
bounded and the server is stopped at the end. Target: p95 < 100 ms for single-site queries.

Run: ``.venv/bin/python benchmarks/bench_serve.py``
"""

from __future__ import annotations

import http.client
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "serve.json"
HOST = "127.0.0.1"
N_QUERIES = 200
N_UPLOADS = 10
UPLOAD_ROWS = 1200
JOB_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 120.0) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, data, time.perf_counter() - t0
    except OSError:
        return 0, b"", time.perf_counter() - t0
    finally:
        conn.close()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    buf = io.BytesIO()
    for k, v in fields.items():
        buf.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (name, data) in files.items():
        buf.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                  "Content-Type: application/octet-stream\r\n\r\n".encode())
        buf.write(data)
        buf.write(b"\r\n")
    buf.write(f"--{boundary}--\r\n".encode())
    return buf.getvalue(), f"multipart/form-data; boundary={boundary}"


def workbook(rows: int, seed: int) -> bytes:
    """A 1,200-row firms list: 18-digit codes, leading-zero parcel numbers, BD-09 lon/lat."""
    from openpyxl import Workbook

    from xclz_geo.geo.crs import convert_datum

    rng = np.random.default_rng(seed)
    lon, lat = convert_datum(rng.uniform(118.7, 119.5, rows), rng.uniform(30.8, 31.0, rows), from_datum="wgs84", to_datum="bd09")
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名单"
    ws.append(["统一社会信用代码", "企业名称", "地块编号", "经度", "纬度"])
    for i in range(rows):
        ws.append([f"913418{seed:02d}{i:010d}", f"测试企业{i}", f"{i:05d}", round(float(lon[i]), 6), round(float(lat[i]), 6)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def stats(lat_s: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in lat_s)
    if not ms:
        return {}
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
            "max_ms": round(ms[-1], 1), "mean_ms": round(statistics.fmean(ms), 1)}


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (load-independent cost)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queries(port: int, n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(118.7, 119.5, n)
    lat = rng.uniform(30.8, 31.0, n)
    return [f"/api/locate?x={a:.6f}&y={b:.6f}&datum=gcj02" for a, b in zip(lon, lat)]


def burst(port: int, paths: list[str]) -> tuple[list[float], int]:
    """Every path from its own thread, all released at once."""
    barrier = threading.Barrier(len(paths))
    out: list[tuple[int, float]] = [(0, 0.0)] * len(paths)

    def one(i: int) -> None:
        barrier.wait(timeout=60)
        code, _, dt = request(port, "GET", paths[i])
        out[i] = (code, dt)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return [dt for _, dt in out], sum(1 for c, _ in out if not 200 <= c < 300)


def steady(port: int, paths: list[str], clients: int) -> tuple[list[float], int]:
    """The paths spread over ``clients`` threads, each asking one after another."""
    def run(chunk: list[str]) -> list[tuple[int, float]]:
        return [(c, dt) for c, _, dt in (request(port, "GET", p) for p in chunk)]

    chunks = [paths[i::clients] for i in range(clients)]
    with ThreadPoolExecutor(clients) as ex:
        res = [r for part in ex.map(run, chunks) for r in part]
    return [dt for _, dt in res], sum(1 for c, _ in res if not 200 <= c < 300)


def main() -> int:
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="xclz-bench-serve-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    server = subprocess.Popen([sys.executable, "-m", "xclz_geo.cli.main", "serve", "--host", HOST, "--port", str(port),
                               "--data-dir", str(data_dir), "--workers", "2"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                                "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}}
    try:
        deadline = time.time() + 120
        while request(port, "GET", "/api/health", timeout=2)[0] != 200:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        result["server_rss_after_start_mb"] = rss_mb(server.pid)
        # warm-up: the lookup grid of each datum is built once
        for p in queries(port, 10, 0):
            request(port, "GET", p)

        c0 = cpu_s(server.pid)
        lat_b, err_b = burst(port, queries(port, N_QUERIES, 1))
        c1 = cpu_s(server.pid)
        lat_s, err_s = steady(port, queries(port, N_QUERIES, 2), clients=10)
        c2 = cpu_s(server.pid)
        result["server_cpu_ms_per_query"] = {"burst": round((c1 - c0) / N_QUERIES * 1000, 2),
                                             "steady": round((c2 - c1) / N_QUERIES * 1000, 2),
                                             "note": "server process CPU time / queries: independent of other load on the machine"}
        result["single_site_burst_200"] = {**stats(lat_b), "errors": err_b,
                                           "how": "200 client threads released together, one GET /api/locate each"}
        result["single_site_steady_10_clients"] = {**stats(lat_s), "errors": err_s,
                                                   "how": "200 GET /api/locate from 10 client threads, 20 each in sequence"}

        # 10 concurrent 1,200-row uploads, with one client asking single-site queries meanwhile
        books = [workbook(UPLOAD_ROWS, seed) for seed in range(N_UPLOADS)]
        stop = threading.Event()
        during: list[float] = []
        during_err = [0]

        def prober() -> None:
            paths = queries(port, 2000, 3)
            i = 0
            while not stop.is_set() and i < len(paths):
                code, _, dt = request(port, "GET", paths[i])
                during.append(dt)
                during_err[0] += 0 if code == 200 else 1
                i += 1
                time.sleep(0.05)

        probe = threading.Thread(target=prober)
        probe.start()

        def upload(i: int) -> dict:
            body, ctype = multipart({"datum": "bd09"}, {"file": (f"firms_{i}.xlsx", books[i])})
            t0 = time.perf_counter()
            code, data, dt = request(port, "POST", "/api/jobs/locate", body=body, headers={"Content-Type": ctype})
            if code != 202:
                return {"upload_status": code, "upload_s": dt, "state": "not started"}
            jid = json.loads(data)["job_id"]
            end = time.time() + JOB_TIMEOUT_S
            state = "queued"
            while time.time() < end:
                c, d, _ = request(port, "GET", f"/api/jobs/{jid}")
                state = json.loads(d)["state"] if c == 200 else "error"
                if state in ("done", "failed", "error"):
                    break
                time.sleep(0.25)
            err = json.loads(d).get("error") if state == "failed" else None
            return {"upload_status": code, "upload_s": dt, "state": state, "done_s": time.perf_counter() - t0, "error": err}

        t0 = time.perf_counter()
        with ThreadPoolExecutor(N_UPLOADS) as ex:
            ups = list(ex.map(upload, range(N_UPLOADS)))
        wall = time.perf_counter() - t0
        stop.set()
        probe.join(timeout=30)
        result["uploads_10x1200_rows"] = {
            "upload_latency": stats([u["upload_s"] for u in ups]),
            "job_done_latency": stats([u["done_s"] for u in ups if "done_s" in u]),
            "wall_s": round(wall, 2),
            "errors": sum(1 for u in ups if u["upload_status"] != 202 or u["state"] != "done"),
            "states": [u["state"] for u in ups],
            "failures": [u["error"] for u in ups if u.get("error")],
            "how": "10 client threads each POST a 1,200-row BD-09 XLSX to /api/jobs/locate and poll until done "
                   "(each job writes result.csv, result.xlsx, result.gpkg); server --workers 2",
        }
        result["single_site_during_uploads"] = {**stats(during), "errors": during_err[0],
                                                "how": "one client, a GET /api/locate every 50 ms while the uploads run"}
        result["server_peak_rss_mb"] = peak_rss_mb(server.pid)
        result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    burst_p95 = result.get("single_site_burst_200", {}).get("p95_ms")
    steady_p95 = result.get("single_site_steady_10_clients", {}).get("p95_ms")
    result["target"] = {"p95_ms_below": 100, "steady_met": steady_p95 is not None and steady_p95 < 100,
                        "burst_met": burst_p95 is not None and burst_p95 < 100}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    errors = sum(result.get(k, {}).get("errors", 0) for k in ("single_site_burst_200", "single_site_steady_10_clients",
                                                              "uploads_10x1200_rows", "single_site_during_uploads"))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
