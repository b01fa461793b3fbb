"""Hostile text in every free-text field of a map and a report: opened in chromium, network cut, nothing runs.

The inputs of :func:`test_html_safe.make_hostile_inputs` carry ``<img onerror>``, ``<script>`` and
attribute-breaking payloads in part names, firm names, quality labels, statuses, remarks, column
names, titles and file names. Each page (the standalone map, the report, and the report's map in
its sandboxed ``<iframe srcdoc>``) is opened, every popup and tooltip is opened, and the test finds:
no payload ran (``window.xclzPwned`` unset, ``document.title`` not ``pwned``), no element was
injected, the payload text is on the page as text, and the console shows no Content-Security-Policy
violation (the pages' own scripts and styles all pass their policy) and no error.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from test_html_safe import P_FILE, P_IMG, P_SCRIPT, make_hostile_inputs

from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason
from xclz_geo.cli.main import main
from xclz_geo.outputs.maps import save_map, zone_map

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # the module's pages take ~40 s to build

_REASON = browser_unavailable_reason()
if _REASON:
    pytest.skip(_REASON, allow_module_level=True)

# the map object of the page (Object.values(window) would touch localStorage, refused in a sandboxed frame)
MAP_JS = "var m = window[Object.keys(window).find(function(k){ return /^map_[0-9a-f]+$/.test(k); })];"

#: opens every popup and tooltip of every layer and every site popup, one after the other
OPEN_ALL_JS = MAP_JS + r"""
var n = 0;
m.eachLayer(function(l) {
  if (l.getPopup && l.getPopup()) { try { l.openPopup(); n++; l.closePopup(); } catch (e) {} }
  if (l.getTooltip && l.getTooltip()) { try { l.openTooltip(); n++; l.closeTooltip(); } catch (e) {} }
});
Object.keys(window).filter(function(k){ return k.indexOf('xclz_sites_') === 0; }).forEach(function(k) {
  var d = window[k];
  for (var i = 0; i < d.s.length; i++) { L.popup().setLatLng(m.getCenter()).setContent(d.popup(i)).openOn(m); n++; }
});
// the canvas point layers of a large report: every point's popup, and the list popup of all of them
Object.keys(window).filter(function(k){ return k.indexOf('xclz_points_') === 0; }).forEach(function(k) {
  var d = window[k], all = [];
  for (var i = 0; i < d.n; i++) { L.popup().setLatLng(m.getCenter()).setContent(d.popup(i)).openOn(m); n++; all.push(i); }
  if (all.length) { L.popup().setLatLng(m.getCenter()).setContent(d.popupMany(all)).openOn(m); n++; }
});
return n;
"""

#: what a payload that ran or became markup leaves behind
DAMAGE_JS = r"""
var injected = document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]').length;
var scripts = Array.prototype.filter.call(document.scripts, function(s){ return s.text.trim().indexOf("document.title='pwned'") === 0; }).length;
return {pwned: window.xclzPwned === undefined ? null : window.xclzPwned, title: document.title, injected: injected, scripts: scripts};
"""


@pytest.fixture(scope="module")
def browser():
    with HeadlessBrowser(width_px=1200, height_px=800) as b:
        yield b


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The standalone map (CLI, hostile sites), the report (CLI) and a library map with hostile statuses."""
    import contextlib
    import io

    from xclz_geo.boundaries.zone import Zone

    d = tmp_path_factory.mktemp("hostile_browser")
    f = make_hostile_inputs(d / "in")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        map_out = d / f"map{P_FILE}.html"
        assert main(["map", "--out", str(map_out), "--boundaries", str(f["boundaries"]), "--input", str(f["sites"]),
                     "--x", "lon", "--y", "lat", "--title", P_SCRIPT]) == 0
        rep_dir = d / f"out{P_FILE}"
        assert main(["report", "--boundaries", str(f["boundaries"]), "--enterprises", str(f["enterprises"]),
                     "--parcels", str(f["parcels"]), "--out", str(rep_dir), "--title", P_SCRIPT]) == 0
    zone = Zone.load(boundaries=f["boundaries"])
    sites = pd.DataFrame({"lon": [118.775, 119.465, 119.37], "lat": [30.915, 30.895, 30.885],
                          "status": [P_IMG, P_SCRIPT, "inside"], P_IMG: [P_SCRIPT, P_IMG, "x"]})
    lib = save_map(zone_map(zone, sites=sites, title=P_IMG + " {map} __LEGEND_HTML__"), d / "library.html")
    report = next(rep_dir.glob("*.html"))
    return {"map": map_out, "report": report, "library": lib, "inputs": f, "dir": d}


@pytest.fixture(scope="module")
def large_report(pages):
    """The hostile report built the way a large one is (paged tables, firms and under-used firms drawn on
    canvas from a data block), by lowering the thresholds to a few firms."""
    import contextlib
    import io

    import xclz_geo.outputs.report as report_mod

    f = pages["inputs"]
    mp = pytest.MonkeyPatch()
    mp.setattr(report_mod, "LARGE_FIRMS", 5)
    mp.setattr(report_mod, "MAP_CANVAS_FIRMS", 5)
    try:
        rep_dir = pages["dir"] / f"large{P_FILE}"
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(["report", "--boundaries", str(f["boundaries"]), "--enterprises", str(f["enterprises"]),
                         "--parcels", str(f["parcels"]), "--out", str(rep_dir), "--title", P_SCRIPT]) == 0
    finally:
        mp.undo()
    return next(rep_dir.glob("*.html"))


def _csp_messages(messages) -> list[str]:
    return [m for _, m in messages if "Content Security Policy" in m or "Content-Security-Policy" in m]


def _check_map_document(b: HeadlessBrowser) -> None:
    """In the current document (page or frame): open everything, then look for damage."""
    d = b.driver
    t0 = time.monotonic()
    while not d.execute_script("return window.xclzMapReady === true;") and time.monotonic() - t0 < 15:
        time.sleep(0.05)
    assert d.execute_script("return window.xclzMapReady === true;"), "the map never rendered"
    opened = d.execute_script(OPEN_ALL_JS)
    assert opened >= 3
    control = d.execute_script("return document.querySelector('.leaflet-control-layers').textContent;")
    legend = d.execute_script("return document.querySelector('.xclz-legend').textContent;")
    title = d.execute_script("return document.querySelector('.xclz-title').textContent;")
    damage = d.execute_script(DAMAGE_JS)
    assert damage == {"pwned": None, "title": damage["title"], "injected": 0, "scripts": 0}, damage
    assert damage["title"] != "pwned"
    return control, legend, title


def test_standalone_map_runs_no_payload(browser, pages):
    report = browser.open(pages["map"], ready_js="return window.xclzMapReady === true;")
    assert report.ready
    control, legend, title = _check_map_document(browser)
    assert P_SCRIPT in title  # the title, as text
    part_names = browser.driver.execute_script(MAP_JS + """
        var out = []; m.eachLayer(function(l){ if (l.getTooltip && l.getTooltip()) out.push(l.getTooltip().getContent()); }); return out;""")
    # a part name in a tooltip is escaped HTML, which the browser shows as the text of the file
    shown = browser.driver.execute_script(
        "return arguments[0].map(function(h){ var d = document.createElement('div'); d.innerHTML = h; return d.textContent; });",
        part_names)
    assert any(P_IMG + "宣城" in t for t in shown), shown
    assert browser.driver.execute_script(DAMAGE_JS)["injected"] == 0
    assert _csp_messages(report.console_messages) == []
    assert report.console_errors == [] and browser.console_errors() == []


def test_library_map_with_hostile_statuses_runs_no_payload(browser, pages):
    report = browser.open(pages["library"], ready_js="return window.xclzMapReady === true;")
    assert report.ready
    control, legend, title = _check_map_document(browser)
    # the statuses are layer names and legend lines: shown as text (lower-cased like every status)
    assert P_IMG.lower() in control and P_SCRIPT.lower() in control
    assert P_IMG.lower() in legend
    assert P_IMG + " {map} __LEGEND_HTML__" in title  # placeholders in user text stay text
    assert _csp_messages(report.console_messages) == []
    assert report.console_errors == [] and browser.console_errors() == []


def test_report_and_its_map_frame_run_no_payload(browser, pages):
    b = browser
    report = b.open(pages["report"])
    d = b.driver
    damage = d.execute_script(DAMAGE_JS)
    assert damage["pwned"] is None and damage["injected"] == 0 and damage["scripts"] == 0 and damage["title"] == P_SCRIPT
    text = d.execute_script("return document.body.textContent;")
    for s in (P_IMG, P_FILE):  # firm names and quality labels in the tables; file names in the inputs table
        assert s in text, s
    # the map frame: bring it into view (a frame out of view does not paint), then check inside it
    d.execute_script("document.querySelector('iframe.map').scrollIntoView();")
    d.switch_to.frame(d.find_element("css selector", "iframe.map"))
    try:
        control, legend, _ = _check_map_document(b)
        # the quality label is in the layer names, as text
        assert P_SCRIPT in control and P_IMG in control
    finally:
        d.switch_to.default_content()
    messages = report.console_messages + [(e.get("level"), e.get("message", "")) for e in d.get_log("browser")]
    assert _csp_messages(messages) == []
    assert [m for lvl, m in messages if lvl == "SEVERE"] == []


def test_large_report_points_and_paged_tables_run_no_payload(browser, large_report):
    """Firm names, statuses and quality labels in the canvas layers' popups (built on click) and in the
    paged tables (built by script) stay text."""
    b = browser
    report = b.open(large_report, ready_js="return window.xclzPagedReady === true;")
    assert report.ready
    d = b.driver
    assert d.execute_script("return document.querySelectorAll('table.paged').length;") >= 2  # firms and under-used land
    d.execute_script("document.getElementById('enterprise_scores').xclzPaged.filter('onerror');")
    t0 = time.monotonic()
    while P_IMG not in d.execute_script("return document.getElementById('enterprise_scores').tBodies[0].textContent;"):
        assert time.monotonic() - t0 < 10, "the filtered page never showed the payload name as text"
        time.sleep(0.1)
    damage = d.execute_script(DAMAGE_JS)
    assert damage["pwned"] is None and damage["injected"] == 0 and damage["scripts"] == 0
    d.execute_script("document.querySelector('iframe.map').scrollIntoView();")
    d.switch_to.frame(d.find_element("css selector", "iframe.map"))
    try:
        blocks = d.execute_script("return Object.keys(window).filter(function(k){ return k.indexOf('xclz_points_') === 0; }).length;")
        assert blocks == 2  # firms, under-used firms
        _check_map_document(b)
        shown = d.execute_script("""var out = []; Object.keys(window).filter(function(k){ return k.indexOf('xclz_points_') === 0; })
            .forEach(function(k){ var dd = window[k]; for (var i = 0; i < dd.n; i++) out.push(dd.popup(i).textContent); }); return out.join('\\n');""")
        assert P_IMG in shown  # the firm name and the quality label, as text
    finally:
        d.switch_to.default_content()
    messages = report.console_messages + [(e.get("level"), e.get("message", "")) for e in d.get_log("browser")]
    assert _csp_messages(messages) == []
    assert [m for lvl, m in messages if lvl == "SEVERE"] == []


def test_csp_blocks_a_script_that_got_in_anyway(browser, pages, tmp_path):
    """The policy is really enforced: a script added to a finished page does not run, and says so."""
    page = Path(pages["map"]).read_text(encoding="utf-8")
    bad = tmp_path / "tampered.html"
    bad.write_text(page.replace("</body>", "<script>window.xclzPwned = 9;</script></body>", 1), encoding="utf-8")
    report = browser.open(bad, ready_js="return window.xclzMapReady === true;")
    assert report.ready  # the map's own scripts still run
    assert browser.driver.execute_script("return window.xclzPwned === undefined;")
    assert len(_csp_messages(report.console_messages)) == 1


@pytest.mark.parametrize("basemap", ["osm", "tianditu", "gaode"])
def test_tile_basemaps_have_no_csp_violation(browser, tmp_path, basemap, synthetic_zone):
    """Tiles fail offline (network cut) but never because of the policy."""
    html = save_map(zone_map(synthetic_zone, basemap=basemap, tianditu_key="abcdef0123456789"), tmp_path / f"{basemap}.html")
    report = browser.open(html, ready_js="return window.xclzMapReady === true;")
    assert report.ready
    time.sleep(0.5)
    n_tiles = browser.driver.execute_script("return document.querySelectorAll('img.leaflet-tile').length;")
    assert n_tiles > 0
    assert _csp_messages(report.console_messages + [(e.get("level"), e.get("message", "")) for e in browser.driver.get_log("browser")]) == []
