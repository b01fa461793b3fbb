"""The web workbench (xclz_geo.web) through its HTTP interface: every endpoint, bad uploads, tokens, restarts.

Runs the FastAPI app in-process with Starlette's TestClient; jobs run on the app's own worker
threads. Fixture tables are built in the tests (BD-09 firms with 18-digit codes and leading zeros).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from xclz_geo.web.app import CSP, REPORT_CSP, create_app  # noqa: E402

# the jobs record the toolkit's warnings (schematic boundaries) on their page instead of raising them
pytestmark = pytest.mark.filterwarnings("always::xclz_geo.errors.XclzGeoWarning")

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token-for-tests-0123456789"
XSS = "<img src=x onerror=alert(1)>"


def wait_job(client: TestClient, job_id: str, *, timeout_s: float = 180.0) -> dict:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        j = client.get(f"/api/jobs/{job_id}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def firms_workbook(n: int = 12, *, datum: str = "bd09", seed: int = 7) -> tuple[bytes, list[list]]:
    """An XLSX like a 商务局 list: 18-digit codes, leading-zero parcel numbers, BD-09 lon/lat, dates, 2 sheets."""
    from openpyxl import Workbook

    from xclz_geo.geo.crs import convert_datum

    rng = np.random.default_rng(seed)
    lon = rng.uniform(119.40, 119.50, n)
    lat = rng.uniform(30.86, 30.92, n)
    if datum != "wgs84":
        lon, lat = convert_datum(lon, lat, from_datum="wgs84", to_datum=datum)
    wb = Workbook()
    ws = wb.active
    ws.title = "企业名单"
    header = ["统一社会信用代码", "企业名称", "地块编号", "经度", "纬度", "登记日期", "电话"]
    ws.append(header)
    rows = [header]
    for i in range(n):
        row = [f"91341822{i:010d}", XSS if i == 3 else f"宣城测试企业{i}号", f"{i:04d}", round(float(lon[i]), 6),
               round(float(lat[i]), 6), dt.datetime(2020, 1, 1 + i % 28), f"0563{i:07d}"]
        ws.append(row)
        rows.append(row)
    ws.append(["913418220000009999", "坐标缺失企业", "0099", None, "abc", dt.datetime(2021, 5, 6), "05630000000"])
    rows.append(list(ws.iter_rows(min_row=ws.max_row, values_only=True))[0])
    wb.create_sheet("说明").append(["这张表是测试数据"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), rows


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("workbench")


@pytest.fixture(scope="module")
def client(app_dir):
    with TestClient(create_app(data_dir=app_dir, workers=2)) as c:
        yield c


# ---------------------------------------------------------------------- single site


def test_api_locate_matches_the_library_in_every_datum(client):
    from xclz_geo.geo.locate import locate
    from xclz_geo.boundaries.zone import Zone

    zone = Zone.load()
    for x, y, datum in [(119.4681, 30.8931, "gcj02"), (119.47, 30.90, "bd09"), (118.9, 30.95, "wgs84"), (119.1, 31.5, "wgs84")]:
        r = client.get("/api/locate", params={"x": x, "y": y, "datum": datum})
        assert r.status_code == 200
        got = r.json()
        assert set(got) >= {"status", "part_id", "block_id", "distance_m", "quality", "boundary_version"}
        ref = locate(zone, (x, y), datum=datum).iloc[0]
        assert got["status"] == ref["status"]
        assert got["part_id"] == ref["part_id"]
        assert got["distance_m"] == pytest.approx(ref["distance_m"], abs=0.01)
        assert got["boundary_version"].startswith("v1-")
        if got["part_id"]:
            assert got["quality"] == zone.parts.set_index("part_id").loc[got["part_id"], "quality"]


def test_api_locate_reads_typed_and_dms_coordinates(client):
    base = client.get("/api/locate", params={"x": "119.4681", "y": "30.8931", "datum": "gcj02"}).json()
    for q in ["119.4681,30.8931", "119.4681 30.8931", "119.4681，30.8931", "30.8931, 119.4681"]:
        got = client.get("/api/locate", params={"q": q, "datum": "gcj02"}).json()
        assert (got["status"], got["part_id"], got["distance_m"]) == (base["status"], base["part_id"], base["distance_m"])
    dms = client.get("/api/locate", params={"q": "119°28'05.16\"E 30°53'35.16\"N", "datum": "gcj02"}).json()
    assert dms["input"]["x"] == pytest.approx(119.4681, abs=1e-6) and dms["input"]["y"] == pytest.approx(30.8931, abs=1e-6)
    assert dms["distance_m"] == pytest.approx(base["distance_m"], abs=0.5)


def test_api_locate_bad_input_is_a_clear_400_or_invalid(client):
    r = client.get("/api/locate", params={"q": "东经 abc", "datum": "gcj02"})
    assert r.status_code == 400 and "error" in r.json() and "119.4681" in r.json()["error"]
    r = client.get("/api/locate", params={"x": "119", "y": "30", "datum": "mars"})
    assert r.status_code == 400 and "gcj02" in r.json()["error"]
    r = client.get("/api/locate", params={"datum": "wgs84"})
    assert r.status_code == 400
    r = client.get("/api/locate", params={"x": "200", "y": "30.9", "datum": "wgs84"})
    assert r.status_code == 200 and r.json()["status"] == "invalid" and "longitude" in r.json()["note"]
    r = client.get("/api/locate", params={"x": "2.35", "y": "48.85", "datum": "gcj02"})  # Paris has no GCJ-02
    assert r.json()["status"] == "invalid" and "China" in r.json()["note"]


def test_map_page_shows_the_answer_a_link_and_escapes_the_query(client):
    r = client.get("/", params={"q": "119.4681,30.8931", "datum": "gcj02"})
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == CSP
    html = r.text
    assert 'id="answer"' in html and 'data-status="uncertain"' in html
    assert "边界附近" in html and "uncertain" in html and "guangde_main" in html
    assert 'href="/?q=119.4681%2C30.8931&amp;datum=gcj02"' in html
    assert html.index("地图 / 选址核查") < html.index("Map &amp; site check")  # Chinese first, English second
    bad = client.get("/", params={"q": "<script>alert(1)</script>", "datum": "gcj02"})
    assert bad.status_code == 400
    assert "<script>alert(1)" not in bad.text and "&lt;script&gt;alert(1)" in bad.text


def test_every_page_is_offline_and_bilingual(client):
    import re

    for path, zh, en in [("/", "选址核查", "site check"), ("/batch", "批量核查", "Batch check"),
                         ("/efficiency", "亩均效益评价", "efficiency"), ("/landuse", "土地利用", "Land use"),
                         ("/boundaries", "边界", "Boundaries"), ("/jobs", "任务", "Jobs"), ("/docs", "JSON API", "offline")]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert zh in r.text and en in r.text, path
        assert r.headers["content-security-policy"] == CSP
        srcs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert srcs and all(s.startswith(("/", "#")) for s in srcs), (path, [s for s in srcs if not s.startswith("/")])
    for asset in ["/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                  "/static/vendor/markercluster/leaflet.markercluster.js", "/static/app.js", "/static/app.css"]:
        assert client.get(asset).status_code == 200, asset


def test_openapi_and_the_offline_docs_page(client):
    spec = client.get("/openapi.json").json()
    for p in ["/api/locate", "/api/jobs/locate", "/api/jobs/{job_id}", "/api/jobs/{job_id}/files/{name}",
              "/api/jobs/efficiency", "/api/jobs/landuse", "/api/boundaries"]:
        assert p in spec["paths"], p
    docs = client.get("/docs").text
    assert "/api/jobs/locate" in docs and "cdn" not in docs.lower() and "swagger" not in docs.lower()


def test_context_layers_are_the_maps_counties_and_g50(client):
    gj = client.get("/api/context.geojson").json()
    kinds = [f["properties"]["kind"] for f in gj["features"]]
    names = {f["properties"]["name"] for f in gj["features"] if f["properties"]["kind"] == "county"}
    assert names == {"宣州区", "广德市"} and kinds.count("g50") >= 1
    assert all("OpenStreetMap" in f["properties"]["attribution"] for f in gj["features"] if f["properties"]["kind"] == "g50")


def test_zone_geojson_has_every_part_with_its_quality(client):
    gj = client.get("/api/boundaries/current.geojson").json()
    props = {f["properties"]["part_id"]: f["properties"] for f in gj["features"]}
    assert set(props) == {"xuancheng", "guangde_main", "guangde_west"}
    assert all(p["quality"] == "schematic" and p["dashed"] for p in props.values())


# ---------------------------------------------------------------------- batch


def test_batch_pages_preview_run_and_annotated_workbook_keeps_every_cell(client, tmp_path):
    from openpyxl import load_workbook

    data, rows = firms_workbook()
    r = client.post("/batch", files={"file": ("企业名单.xlsx", data)}, follow_redirects=False)
    assert r.status_code == 303
    preview = client.get(r.headers["location"])
    assert preview.status_code == 200
    assert '<th class="xy">经度</th>' in preview.text and '<th class="xy">纬度</th>' in preview.text
    assert "913418220000000001" in preview.text and ">0001<" in preview.text
    assert XSS not in preview.text and "&lt;img src=x onerror=alert(1)&gt;" in preview.text
    assert "说明" in preview.text  # the second sheet is offered
    sid = r.headers["location"].rsplit("/", 1)[-1]
    r = client.post(f"/batch/{sid}/run", data={"datum": "bd09", "sheet": "企业名单", "x": "经度", "y": "纬度"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job_id = r.headers["location"].rsplit("/", 1)[-1]
    j = wait_job(client, job_id)
    assert j["state"] == "done", j["error"]
    assert {"result.xlsx", "result.csv", "result.gpkg"} <= set(j["files"])
    assert j["params"]["datum"] == "bd09" and j["boundary_version"].startswith("v")
    s = j["summary"]
    assert s["rows"] == len(rows) - 1 and sum(s["counts"].values()) == s["rows"] and s["counts"]["invalid"] == 1
    assert any("schematic" in w for w in s["warnings"])
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and 'id="counts"' in page.text and XSS not in page.text

    got = load_workbook(io.BytesIO(client.get(f"/api/jobs/{job_id}/files/result.xlsx").content))
    ws = got.worksheets[0]
    out = [list(r) for r in ws.iter_rows(values_only=True)]
    assert len(out) == len(rows)
    assert list(out[0][len(rows[0]):])[:3] == ["xclz_status", "xclz_zone", "xclz_block"]

    # the same statuses as the library on the same rows
    from xclz_geo.geo.locate import locate
    from xclz_geo.boundaries.zone import Zone

    ref = locate(Zone.load(), [(r[3], r[4]) for r in rows[1:-1]], datum="bd09")
    status_col = out[0].index("xclz_status")
    assert [r[status_col] for r in out[1:-1]] == list(ref["status"].astype(str))

    rows_api = client.get(f"/api/jobs/{job_id}/rows", params={"page": 1}).json()
    assert rows_api["rows_total"] == len(rows) - 1 and rows_api["rows"][0][0] == "913418220000000000"

    # the web writes what `xclz-geo locate` writes for the same file, cell by cell
    from xclz_geo.cli.main import main

    src, cli_out = tmp_path / "firms.xlsx", tmp_path / "firms_located.xlsx"
    src.write_bytes(data)
    assert main(["locate", "--input", str(src), "--datum", "bd09", "--sheet", "企业名单", "--out", str(cli_out)]) == 0
    assert [list(r) for r in load_workbook(cli_out).worksheets[0].iter_rows(values_only=True)] == out
    # … and every input cell comes back unchanged (text stays text: 18-digit codes, leading zeros)
    changed = [i + 1 for i, (a, b) in enumerate(zip(rows, out)) if list(b[: len(a)]) != list(a)]
    assert not changed, f"rows {changed[:5]} changed"
    assert got.sheetnames == ["企业名单", "说明", "xclz_about"]  # the user's sheets in order, then ours
    about = dict(got["xclz_about"].iter_rows(min_row=2, values_only=True))
    assert about["boundary version 边界版本"] == j["boundary_version"] and about["datum 坐标系"] == "bd09"


def test_api_jobs_locate_csv_with_named_columns_and_downloads(client):
    csv = "编号,名称,X坐标,Y坐标\n0001,甲,119.4681,30.8931\n0002,乙,118.0,30.0\n".encode("gb18030")
    r = client.post("/api/jobs/locate", files={"file": ("sites.csv", csv, "text/csv")},
                    data={"datum": "gcj02", "x": "X坐标", "y": "Y坐标"})
    assert r.status_code == 202
    j = wait_job(client, r.json()["job_id"])
    assert j["state"] == "done", j["error"]
    import csv

    text = client.get(f"/api/jobs/{j['job_id']}/files/result.csv").content.decode("utf-8-sig")
    got = list(csv.reader(io.StringIO(text)))
    assert got[0][:5] == ["编号", "名称", "X坐标", "Y坐标", "xclz_status"]
    assert got[1][:5] == ["0001", "甲", "119.4681", "30.8931", "uncertain"] and got[2][:5] == ["0002", "乙", "118.0", "30.0", "outside"]
    gpkg = client.get(f"/api/jobs/{j['job_id']}/files/result.gpkg")
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    for bad in ["../jobs.sqlite3", "..%2F..%2Fjobs.sqlite3", "input.csv", "boundaries.gpkg", "nothing.xlsx"]:
        assert client.get(f"/api/jobs/{j['job_id']}/files/{bad}").status_code == 404, bad


def test_job_that_fails_says_why_and_keeps_its_input(client, app_dir):
    csv = "name,a,b\nx,1,2\n".encode()
    r = client.post("/api/jobs/locate", files={"file": ("noxy.csv", csv)}, data={"datum": "wgs84"})
    j = wait_job(client, r.json()["job_id"])
    assert j["state"] == "failed"
    assert "noxy.csv" in j["error"] and "经度" in j["error"] and str(app_dir) not in j["error"]
    assert (app_dir / "jobs" / j["job_id"] / "input" / "input.csv").read_bytes() == csv
    page = client.get(f"/jobs/{j['job_id']}").text
    assert "任务失败" in page and "noxy.csv" in page


def test_unknown_and_malformed_job_ids_are_404(client):
    for jid in ["0" * 32, "nope", "../../etc", "A" * 32]:
        r = client.get(f"/api/jobs/{jid}")
        assert r.status_code == 404 and "not found" in r.text.lower()
    assert client.get("/jobs/" + "f" * 32).status_code == 404
    assert "未找到" in client.get("/jobs/" + "f" * 32).text


# ---------------------------------------------------------------------- bad uploads


def test_bad_uploads_get_clear_messages(client):
    cases = [
        ({"file": ("empty.xlsx", b"")}, 400, "empty"),
        ({"file": ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(200))}, 415, "not one of"),
        ({"file": ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))}, 415, "save it as .xlsx"),
        ({"file": ("x.csv", b"PK\x03\x04garbage")}, 400, "damaged"),
    ]
    for files, code, words in cases:
        r = client.post("/api/jobs/locate", files=files, data={"datum": "wgs84"})
        assert r.status_code == code, (files["file"][0], r.text)
        assert words in r.json()["error"] and files["file"][0] in r.json()["error"]
    r = client.post("/api/jobs/locate", data={"datum": "wgs84"})
    assert r.status_code == 400 and "no file" in r.json()["error"]
    page = client.post("/batch", files={"file": ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(200))})
    assert page.status_code == 415 and "photo.xlsx" in page.text and "Traceback" not in page.text


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_uploads_are_checked_for_traversal_bombs_and_content(client, app_dir):
    trav = _zip({"../../evil.shp": b"x" * 100, "../../evil.dbf": b"x", "../../evil.shx": b"x"})
    r = client.post("/api/jobs/landuse", files={"file": ("parcels.zip", trav)})
    assert r.status_code == 400 and "outside the zip" in r.json()["error"]
    assert not (app_dir.parent / "evil.shp").exists() and not list(app_dir.rglob("evil*"))
    bomb = _zip({"big.shp": b"\0" * (64 << 20), "big.dbf": b"x", "big.shx": b"x"})
    assert len(bomb) < 200_000
    r = client.post("/api/jobs/landuse", files={"file": ("bomb.zip", bomb)})
    assert r.status_code == 400 and "zip bomb" in r.json()["error"]
    r = client.post("/api/jobs/landuse", files={"file": ("two.zip", _zip({"a.shp": b"1", "b.shp": b"2"}))})
    assert r.status_code == 400 and "2 Shapefiles" in r.json()["error"]
    r = client.post("/api/jobs/landuse", files={"file": ("noshp.zip", _zip({"readme.txt": b"hi"}))})
    assert r.status_code == 415 and "zip without a Shapefile" in r.json()["error"]


def test_upload_size_limit(tmp_path):
    with TestClient(create_app(data_dir=tmp_path, max_upload_mb=0.01)) as c:
        big = b"lon,lat\n" + b"119.4,30.9\n" * 2000
        r = c.post("/api/jobs/locate", files={"file": ("big.csv", big)}, data={"datum": "wgs84"})
        assert r.status_code == 413 and "limit" in r.json()["error"] and "big.csv" in r.json()["error"]
        assert not list((tmp_path / "jobs").iterdir()) and not [p for p in (tmp_path / "staged").rglob("*") if p.is_file()]


# ---------------------------------------------------------------------- efficiency and land use


def test_efficiency_job_report_escapes_firm_names_and_the_template(client, app_dir):
    import pandas as pd

    from xclz_geo.outputs.report import sample_inputs

    ent = pd.read_csv(sample_inputs()["enterprises"], dtype=str, encoding="utf-8-sig")
    name_col = next(c for c in ent.columns if "名称" in c)
    ent.loc[0, name_col] = XSS
    buf = ent.to_csv(index=False).encode("utf-8-sig")
    r = client.post("/api/jobs/efficiency", files={"enterprises": ("企业.csv", buf)}, data={"method": "anhui"})
    assert r.status_code == 202
    j = wait_job(client, r.json()["job_id"], timeout_s=300)
    assert j["state"] == "done", j["error"]
    assert {"report.html", "report.xlsx", "report.gpkg"} <= set(j["files"])
    page = client.get(f"/jobs/{j['job_id']}")
    assert 'id="report"' in page.text and 'sandbox="allow-scripts allow-popups"' in page.text
    rep = client.get(f"/jobs/{j['job_id']}/files/report.html")
    assert rep.headers["content-security-policy"] == REPORT_CSP
    assert XSS not in rep.text and "&lt;img src=x onerror=alert(1)&gt;" in rep.text
    assert "企业.csv" in rep.text and str(app_dir) not in rep.text  # inputs named as uploaded, no server folders
    ev = next(s for s in j["summary"]["sections"] if s["id"] == "efficiency")
    assert ev["status"] == "ok"
    tpl = client.get("/efficiency/template.xlsx")
    assert tpl.status_code == 200 and tpl.content[:4] == b"PK\x03\x04"
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(tpl.content))
    assert "企业数据" in wb.sheetnames
    bad = client.post("/api/jobs/efficiency", files={"enterprises": ("e.csv", buf)}, data={"method": "mars"})
    assert bad.status_code == 400 and "anhui" in bad.json()["error"]


def test_landuse_job_parcels_shares_add_up_per_part(client):
    from xclz_geo.outputs.report import sample_inputs

    par = Path(sample_inputs()["parcels"])
    r = client.post("/api/jobs/landuse", files={"file": (par.name, par.read_bytes())}, data={"level": "1"})
    j = wait_job(client, r.json()["job_id"], timeout_s=300)
    assert j["state"] == "done", j["error"]
    assert {"result.csv", "result.xlsx"} <= set(j["files"])
    parts = j["summary"]["parts"]
    assert {p["part_id"] for p in parts} == {"xuancheng", "guangde_main", "guangde_west"}
    for p in parts:
        if p["classes"] and p["gap_m2"] is not None:
            covered = sum(c["area_m2"] for c in p["classes"])
            assert covered + p["gap_m2"] == pytest.approx(p["area_m2"] + p["overlap_m2"], rel=1e-6)
    assert j["summary"]["indicators"] or j["summary"]["notes"]
    page = client.get(f"/jobs/{j['job_id']}").text
    assert "亩" in page and "landuse" in page


def test_landuse_job_raster(client):
    from xclz_geo.outputs.report import sample_inputs

    ras = Path(sample_inputs()["raster"])
    r = client.post("/api/jobs/landuse", files={"file": ("cover.tif", ras.read_bytes())})
    j = wait_job(client, r.json()["job_id"], timeout_s=300)
    assert j["state"] == "done", j["error"]
    assert j["params"]["source"] == "raster" and len(j["summary"]["parts"]) == 3


# ---------------------------------------------------------------------- sessions, tokens, logs


def test_sessions_see_only_their_own_jobs(client, app_dir):
    other = TestClient(client.app)
    mine = {j["job_id"] for j in client.get("/api/jobs").json()["jobs"]}
    assert mine
    theirs = other.get("/api/jobs").json()["jobs"]
    assert not theirs
    assert "还没有任务" in other.get("/jobs").text


def test_token_required_everywhere(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="xclz_geo.web")
    with TestClient(create_app(data_dir=tmp_path, token=TOKEN)) as c:
        assert c.get("/api/locate", params={"x": 119.4, "y": 30.9}).status_code == 401
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/api/jobs/" + "0" * 32).status_code == 401
        assert c.post("/api/jobs/locate", files={"file": ("a.csv", b"lon,lat\n1,2\n")}).status_code == 401
        assert c.get("/api/locate", params={"x": 119.4, "y": 30.9}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/api/locate", params={"x": 119.4, "y": 30.9}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        r = c.get("/batch", params={"a": "1"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fbatch%3Fa%3D1"
        assert c.get("/login").status_code == 200 and c.get("/static/app.css").status_code == 200
        bad = c.post("/login", data={"token": "nope", "next": "/batch"}, follow_redirects=False)
        assert bad.status_code == 401 and "wrong token" in bad.text
        good = c.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/"
        assert TOKEN not in good.headers["set-cookie"]
        assert c.get("/batch").status_code == 200  # the cookie now lets the browser in
        assert c.post("/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"}).status_code == 403
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /api/locate 401" in text and "GET /api/locate 200" in text
    assert TOKEN not in text and "wrong" not in text


def test_one_log_line_per_request_without_contents(client, caplog):
    caplog.set_level(logging.INFO, logger="xclz_geo.web")
    csv = "secret_firm,lon,lat\n机密企业,119.4681,30.8931\n".encode()
    r = client.post("/api/jobs/locate", files={"file": ("c.csv", csv)}, data={"datum": "gcj02"})
    wait_job(client, r.json()["job_id"])
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "xclz_geo.web"]
    assert sum(1 for ln in lines if ln.startswith("POST /api/jobs/locate 202")) == 1
    assert any(ln.startswith(f"job {r.json()['job_id']} locate done") for ln in lines)
    assert not any("机密企业" in ln or "secret_firm" in ln for ln in lines)


# ---------------------------------------------------------------------- boundaries


def _redline_dxf(path: Path) -> float:
    """A DXF with the red line of guangde_main (a GK box, zone-prefixed) on 红线 and a bigger outline on 地形."""
    import ezdxf
    import pyproj
    import shapely

    from xclz_geo.boundaries.zone import Zone

    zone = Zone.load()
    part = zone.parts.set_index("part_id").loc["guangde_main", "geometry"]
    tr = pyproj.Transformer.from_crs(4490, 4528, always_xy=True)
    gk = shapely.transform(part, lambda x, y: tr.transform(x, y), interleaved=False)
    c = gk.centroid
    half = 2000.0
    ring = [(c.x - half, c.y - half), (c.x + half, c.y - half), (c.x + half, c.y + half), (c.x - half, c.y + half)]
    doc = ezdxf.new()
    doc.layers.add("红线")
    doc.layers.add("地形")
    msp = doc.modelspace()
    msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": "红线"})
    big = [(x * 1.0 + (x - c.x), y * 1.0 + (y - c.y)) for x, y in ring]
    msp.add_lwpolyline(big, close=True, dxfattribs={"layer": "地形"})
    doc.saveas(path)
    return (2 * half) ** 2 / 1e6


def test_boundary_upload_preview_confirm_versions(tmp_path):
    dxf = tmp_path / "红线.dxf"
    area = _redline_dxf(dxf)
    with TestClient(create_app(data_dir=tmp_path / "wb")) as c:
        v1 = c.get("/api/boundaries").json()["current"]
        # two CAD layers with closed outlines and no selection: refused, naming both, nothing staged
        r = c.post("/boundaries", files={"file": ("红线.dxf", dxf.read_bytes())}, data={"part_id": "guangde_main"})
        assert r.status_code == 400 and "红线" in r.text and "地形" in r.text and "Traceback" not in r.text
        assert not [p for p in (tmp_path / "wb" / "staged").iterdir()]
        r = c.post("/boundaries", files={"file": ("红线.dxf", dxf.read_bytes())},
                   data={"part_id": "guangde_main", "select": "Layer=红线", "quality": "official"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        page = c.get(r.headers["location"]).text
        assert "红线 (1)" in page and "地形 (1)" in page  # the CAD layers found are listed
        assert f"{area:,.3f} km²" in page
        assert c.get("/api/boundaries").json()["current"] == v1  # nothing changes before confirming
        sid = r.headers["location"].rsplit("/", 1)[-1]
        gj = c.get(f"/api/boundaries/staged/{sid}.geojson").json()
        assert {f["properties"]["part_id"]: f["properties"]["quality"] for f in gj["features"]}["guangde_main"] == "official"
        r = c.post(f"/boundaries/staged/{sid}/confirm", follow_redirects=False)
        assert r.status_code == 303
        info = c.get("/api/boundaries").json()
        assert info["current"] != v1 and info["current"].startswith("v2-")
        assert [v["version"] for v in info["versions"]] == [info["current"], v1]
        main = next(p for p in info["parts"] if p["part_id"] == "guangde_main")
        assert main["quality"] == "official" and main["measured_km2"] == pytest.approx(area, rel=1e-3)
        loc = c.get("/api/locate", params={"x": 119.4681, "y": 30.8931, "datum": "gcj02"}).json()
        assert loc["boundary_version"] == info["current"]
        assert c.post(f"/boundaries/staged/{sid}/confirm").status_code == 404  # used up
        bad = c.post("/api/boundaries/preview", files={"file": ("x.dxf", dxf.read_bytes())}, data={"part_id": "nowhere"})
        assert bad.status_code == 400 and "part" in bad.json()["error"]
    # a restart keeps the confirmed version in use
    with TestClient(create_app(data_dir=tmp_path / "wb")) as c:
        assert c.get("/api/boundaries").json()["current"] == info["current"]


# ---------------------------------------------------------------------- restart


def test_restart_lists_finished_jobs_with_their_files(tmp_path):
    csv = "lon,lat\n119.4681,30.8931\n".encode()
    with TestClient(create_app(data_dir=tmp_path)) as c:
        r = c.post("/api/jobs/locate", files={"file": ("a.csv", csv)}, data={"datum": "gcj02"})
        done = wait_job(c, r.json()["job_id"])
        sid = c.cookies.get("xclz_sid")
        stuck = c.app.state.store.prepare()
        # a job recorded as running when the server stops:
        with c.app.state.store._connect() as con:
            con.execute("INSERT INTO jobs (id, kind, owner, state, created) VALUES (?, 'locate', ?, 'running', ?)",
                        (stuck.job_id, sid, time.time()))
    assert done["state"] == "done"
    with TestClient(create_app(data_dir=tmp_path), cookies={"xclz_sid": sid}) as c2:
        jobs = {j["job_id"]: j for j in c2.get("/api/jobs").json()["jobs"]}
        assert jobs[done["job_id"]]["state"] == "done" and jobs[done["job_id"]]["files"] == done["files"]
        got = c2.get(f"/api/jobs/{done['job_id']}/files/result.csv").content.decode("utf-8-sig")
        assert got.splitlines()[1].replace('"', "").startswith("119.4681,30.8931,uncertain,xclz,guangde,guangde_main")
        assert jobs[stuck.job_id]["state"] == "failed" and "stopped" in jobs[stuck.job_id]["error"]
        assert "result.xlsx" in c2.get("/jobs").text


# ---------------------------------------------------------------------- serve command


def test_serve_refuses_other_interfaces_without_a_token(tmp_path, capsys):
    from xclz_geo.cli.main import main

    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    assert "--token-file" in capsys.readouterr().err
    short = tmp_path / "t.txt"
    short.write_text("abc\n")
    assert main(["serve", "--host", "0.0.0.0", "--token-file", str(short), "--data-dir", str(tmp_path)]) == 2
    assert "at least 16" in capsys.readouterr().err
    assert main(["serve", "--port", "0", "--data-dir", str(tmp_path)]) == 2
    assert main(["serve", "--max-upload-mb", "-1", "--data-dir", str(tmp_path)]) == 2


def test_uploads_sniff_types_by_content():
    from xclz_geo.web.uploads import sniff

    assert sniff(b"PK\x03\x04", zip_names=["[Content_Types].xml", "xl/workbook.xml"]) == "xlsx"
    assert sniff(b"PK\x03\x04", zip_names=["a/roads.shp", "a/roads.dbf"]) == "shpzip"
    assert sniff(b"SQLite format 3\x00" + bytes(80)) == "gpkg"
    assert sniff(b"II*\x00" + bytes(10)) == "tif"
    assert sniff("  0\nSECTION\n  2\nHEADER\n".encode()) == "dxf"
    assert sniff('{"type": "FeatureCollection"}'.encode()) == "geojson"
    assert sniff("名称,经度,纬度\n甲,1,2\n".encode("gb18030")) == "csv"
    assert sniff(b"\x00\x01\x02binary") is None


def test_preview_finds_the_header_below_a_title_row(client):
    csv = "宣城联动创新区 企业名单（2026年）,,\n名称,经度,纬度\n甲,119.4681,30.8931\n乙,119.47,30.90\n".encode("utf-8-sig")
    r = client.post("/api/preview", files={"file": ("名单.csv", csv)})
    assert r.status_code == 200, r.text
    pv = r.json()
    assert pv["header_row"] == 2 and pv["columns"] == ["名称", "经度", "纬度"] and pv["rows_total"] == 2
    assert pv["detected"] == {"x": "经度", "y": "纬度"} and pv["rows"][0] == ["甲", "119.4681", "30.8931"]
    j = wait_job(client, client.post("/api/jobs/locate", data={"upload_id": pv["upload_id"], "datum": "gcj02"}).json()["job_id"])
    assert j["state"] == "done" and j["summary"]["rows"] == 2
    other = TestClient(client.app)  # another browser session cannot use this upload
    assert other.post("/api/jobs/locate", data={"upload_id": pv["upload_id"], "datum": "gcj02"}).status_code == 404
