"""Screenshots of every page of the web workbench for the manual: docs/img/web_*.png.

Starts the app on 127.0.0.1 (a temporary data folder), runs one job of each kind on the bundled
synthetic samples and a BD-09 firms list, opens each page in headless chromium (no other origin
reachable) and saves a small palette PNG per page.

Run: ``.venv/bin/python scripts/web_screenshots.py`` (needs chromium + chromedriver).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_web import firms_workbook  # noqa: E402
from test_web_browser import ServerThread, free_port, start_chromium, wait_for  # noqa: E402

OUT = ROOT / "docs" / "img"
WIDTH, HEIGHT = 1200, 800


def shot(driver, name: str) -> Path:
    from PIL import Image

    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f".{name}.raw.png"
    driver.save_screenshot(str(raw))
    img = Image.open(raw).convert("RGB").quantize(colors=128)
    path = OUT / f"web_{name}.png"
    img.save(path, optimize=True)
    raw.unlink()
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")
    return path


def main() -> int:
    from selenium.webdriver.common.by import By

    from xclz_geo.outputs.report import sample_inputs
    from xclz_geo.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="xclz-web-shots-"))
    app = create_app(data_dir=tmp / "workbench")
    samples = sample_inputs()
    with ServerThread(app, free_port()) as server:
        d = start_chromium(WIDTH, HEIGHT)
        try:
            done = "var j = document.getElementById('job'); return j && j.dataset.state === 'done';"
            d.get(server.url + "/?q=119.4681,30.8931&datum=gcj02")
            wait_for(d, "return document.getElementById('map').dataset.point;")
            time.sleep(0.5)
            shot(d, "map")

            data, _ = firms_workbook(n=60, datum="bd09")
            src = tmp / "企业名单.xlsx"
            src.write_bytes(data)
            d.get(server.url + "/batch")
            d.find_element(By.ID, "file").send_keys(str(src))
            d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait_for(d, "return document.getElementById('run-form') !== null;")
            d.find_element(By.CSS_SELECTOR, "input[name=datum][value=bd09]").click()
            shot(d, "batch_preview")
            d.find_element(By.ID, "run").click()
            wait_for(d, done, timeout_s=300)
            wait_for(d, "var c = document.querySelector('.leaflet-control-layers-overlays'); return c && c.textContent.indexOf('sites') >= 0;")
            time.sleep(0.5)
            shot(d, "batch_result")

            d.get(server.url + "/efficiency")
            shot(d, "efficiency_form")
            d.find_element(By.ID, "enterprises").send_keys(str(samples["enterprises"]))
            d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait_for(d, done, timeout_s=600)
            d.execute_script("document.getElementById('report').scrollIntoView();")
            time.sleep(2)
            shot(d, "efficiency_report")

            d.get(server.url + "/landuse")
            d.find_element(By.CSS_SELECTOR, "input[name=file]").send_keys(str(samples["parcels"]))
            d.find_element(By.CSS_SELECTOR, "select[name=level] option[value='1']").click()
            d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait_for(d, done, timeout_s=600)
            d.execute_script("document.querySelector('h3').scrollIntoView();")
            shot(d, "landuse")

            d.get(server.url + "/boundaries")
            wait_for(d, "return document.getElementById('map').dataset.ready === '1';")
            shot(d, "boundaries")

            d.get(server.url + "/jobs")
            shot(d, "jobs")
            d.get(server.url + "/docs")
            shot(d, "api")
        finally:
            d.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
