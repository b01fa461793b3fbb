"""The web workbench in a real browser: Debian chromium + chromedriver, every other origin cut off.

A uvicorn server runs the app on 127.0.0.1 (a free port) in a thread; chromium reaches only that
server (no host name resolves, every other address goes to a dead proxy). Skipped with the reason
when chromium, chromedriver or selenium are absent.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from xclz_geo.outputs.browser import CHROMIUM_FLAGS, browser_unavailable_reason, find_browser  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("always::xclz_geo.errors.XclzGeoWarning")]

_REASON = browser_unavailable_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

XSS = "<img src=x onerror=alert(1)>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_chromium(width: int = 1280, height: int = 900):
    """Chromium that reaches 127.0.0.1 only: no name resolves, every other address goes to a dead proxy."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = find_browser()
    profile = tempfile.mkdtemp(prefix="xclz-web-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = paths.chromium
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    opts.add_argument("--proxy-server=127.0.0.1:9")
    opts.add_argument("--proxy-bypass-list=127.0.0.1")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=paths.chromedriver, log_output=os.devnull), options=opts)
    driver.set_page_load_timeout(60)
    driver.xclz_profile = profile
    return driver


def wait_for(driver, js: str, timeout_s: float = 60.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            v = driver.execute_script(js)
        except Exception:
            v = None
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {js}")


def severe_logs(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def foreign_requests(driver, origin: str) -> list[str]:
    names = driver.execute_script("return performance.getEntriesByType('resource').map(function(e){return e.name;});")
    return [n for n in names if not n.startswith(origin) and not n.startswith("data:")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from xclz_geo.web.app import create_app

    app = create_app(data_dir=tmp_path_factory.mktemp("browser_workbench"), workers=2)
    with ServerThread(app, free_port()) as s:
        yield s


@pytest.fixture(scope="module")
def driver():
    d = start_chromium()
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(d.xclz_profile, ignore_errors=True)


def test_click_on_the_map_and_read_the_answer(server, driver):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from xclz_geo.geo.locate import locate
    from xclz_geo.boundaries.zone import Zone

    driver.get(server.url + "/")
    wait_for(driver, "return document.getElementById('map').dataset.ready === '1';")
    zone = Zone.load()
    target = zone.parts.set_index("part_id").loc["xuancheng", "geometry"].representative_point()
    pt = driver.execute_script(
        "var m = document.getElementById('map').xclzMap; var p = m.latLngToContainerPoint([arguments[0], arguments[1]]);"
        "return [p.x, p.y, m.getSize().x, m.getSize().y];", target.y, target.x)
    el = driver.find_element(By.ID, "map")
    ActionChains(driver).move_to_element_with_offset(el, int(pt[0] - pt[2] / 2), int(pt[1] - pt[3] / 2)).click().perform()
    wait_for(driver, "return document.getElementById('answer') !== null;")
    answer = driver.find_element(By.ID, "answer")
    q = driver.find_element(By.ID, "q").get_attribute("value")
    lon, lat = (float(v) for v in q.split(","))
    assert abs(lon - target.x) < 0.01 and abs(lat - target.y) < 0.01
    ref = locate((lon, lat), zone, datum="wgs84").iloc[0]
    assert answer.get_attribute("data-status") == ref["status"]
    assert ref["part_id"] == "xuancheng" and "xuancheng" in answer.text
    assert "边界版本" in answer.text and "Boundary version" in answer.text
    # the point is drawn, and the link reproduces the query
    assert wait_for(driver, "return document.getElementById('map').dataset.point;") == ref["status"]
    overlays = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-overlays").text
    assert "园区 parts" in overlays and "县区界" in overlays
    link = driver.find_element(By.ID, "permalink").get_attribute("href")
    driver.get(link)
    wait_for(driver, "return document.getElementById('answer') !== null;")
    assert driver.find_element(By.ID, "answer").get_attribute("data-status") == ref["status"]
    assert not severe_logs(driver)
    assert not foreign_requests(driver, server.url)


def _download(driver, url: str) -> bytes:
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    req = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - loopback test server
        return r.read()


def test_batch_upload_bd09_workbook_and_compare_the_download(server, driver, tmp_path):
    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    from test_web import firms_workbook

    data, rows = firms_workbook(n=40, datum="bd09")
    src = tmp_path / "企业名单.xlsx"
    src.write_bytes(data)
    driver.get(server.url + "/batch")
    driver.find_element(By.ID, "file").send_keys(str(src))
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, "return document.getElementById('run-form') !== null;")
    assert driver.find_element(By.ID, "xcol").get_attribute("value") == "经度"
    assert driver.find_element(By.ID, "ycol").get_attribute("value") == "纬度"
    driver.find_element(By.CSS_SELECTOR, "input[name=datum][value=bd09]").click()
    driver.find_element(By.ID, "run").click()
    wait_for(driver, "var j = document.getElementById('job'); return j && j.dataset.state === 'done';", timeout_s=180)
    counts = {e.get_attribute("data-status"): int(e.text) for e in driver.find_elements(By.CSS_SELECTOR, "#counts td")}
    assert sum(counts.values()) == len(rows) - 1 and counts["invalid"] == 1
    table_text = driver.find_element(By.ID, "rows").text
    assert XSS in table_text  # the firm's name is shown as text
    assert not driver.find_elements(By.CSS_SELECTOR, "#rows img")
    overlays = wait_for(driver, "var c = document.querySelector('.leaflet-control-layers-overlays');"
                                "return c && c.textContent.indexOf('sites') >= 0 && c.textContent;")
    assert f"sites ({len(rows) - 2})" in overlays  # every valid row is drawn
    assert driver.find_elements(By.CSS_SELECTOR, "#map .marker-cluster, #map path.leaflet-interactive")
    href = driver.find_element(By.CSS_SELECTOR, "a.download[href$='result.xlsx']").get_attribute("href")
    got = load_workbook(io.BytesIO(_download(driver, href)))
    out = [list(r) for r in got.worksheets[0].iter_rows(values_only=True)]
    assert len(out) == len(rows) and "xclz_status" in out[0]
    from xclz_geo.cli.main import main

    cli_out = tmp_path / "cli.xlsx"
    assert main(["locate", "--input", str(src), "--datum", "bd09", "--out", str(cli_out)]) == 0
    assert [list(r) for r in load_workbook(cli_out).worksheets[0].iter_rows(values_only=True)] == out
    assert not severe_logs(driver)
    assert not foreign_requests(driver, server.url)
    changed = [i + 1 for i, (a, b) in enumerate(zip(rows, out)) if list(b[: len(a)]) != list(a)]
    assert not changed, f"rows {changed[:5]} changed"
    assert got.sheetnames[0] == "企业名单"


def test_efficiency_report_page_shows_hostile_names_as_text(server, driver, tmp_path):
    import pandas as pd
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    from xclz_geo.outputs.report import sample_inputs

    ent = pd.read_csv(sample_inputs()["enterprises"], dtype=str, encoding="utf-8-sig")
    name_col = next(c for c in ent.columns if "名称" in c)
    ent.loc[0, name_col] = XSS
    path = tmp_path / "企业数据.csv"
    ent.to_csv(path, index=False, encoding="utf-8-sig")
    driver.get(server.url + "/efficiency")
    assert "亩均效益评价" in driver.page_source
    driver.find_element(By.ID, "enterprises").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, "var j = document.getElementById('job'); return j && j.dataset.state === 'done';", timeout_s=300)
    frame = driver.find_element(By.ID, "report")
    driver.switch_to.frame(frame)
    try:
        wait_for(driver, "return document.readyState === 'complete' && document.body.innerText.length > 1000;")
        body = driver.execute_script("return document.body.innerText;")
        assert "亩均" in body
        assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length;") == 0
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
    finally:
        driver.switch_to.default_content()
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.download")]
    assert any(h.endswith("report.xlsx") for h in links) and any(h.endswith("report.gpkg") for h in links)
    assert not foreign_requests(driver, server.url)
