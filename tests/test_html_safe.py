"""User text never becomes markup: the escaping helper, quality labels, stale result columns and the CSP.

:func:`make_hostile_inputs` writes a zone, an enterprise table, a parcel layer and a site table whose
every free-text field reaching a map or report carries a script payload (also used by the browser
test, ``tests/test_html_safe_browser.py``).
"""

from __future__ import annotations

import html
import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_synthetic_boundaries

from xclz_geo.outputs import html_safe as hs
from xclz_geo.cli.main import main
from xclz_geo.datasets import data_path
from xclz_geo.errors import DataQualityWarning
from xclz_geo.geo.locate import rename_stale_result_columns, stale_result_names

#: payloads: an event handler, a script element, an attribute break-out; each sets a flag or the title
P_IMG = "<img src=x onerror=\"document.title='pwned';window.xclzPwned=1\">"
P_SCRIPT = "<script>document.title='pwned';window.xclzPwned=2</script>"
P_ATTR = "\"'><svg onload=\"window.xclzPwned=3\"><b>"
#: a file-name payload (no slash)
P_FILE = "<img src=x onerror=xclzPwned=4>"
PAYLOADS = (P_IMG, P_SCRIPT, P_ATTR)
#: markers of a payload that became markup (never in a page as such)
RAW = ("<img src=x", "<script>document.title", "<svg onload")

ENTERPRISES = data_path("samples", "enterprises_synthetic.csv")
PARCELS = data_path("samples", "landuse_parcels_synthetic.gpkg")


def make_hostile_inputs(d: Path) -> dict[str, Path]:
    """Hostile copies of the inputs in ``d``: boundaries (part names, source), enterprises (firm names,
    数据质量, 备注, a column name), parcels (quality, firm names, class names), sites (names, xclz_status)."""
    import geopandas as gpd

    d.mkdir(parents=True, exist_ok=True)
    b = make_synthetic_boundaries()
    b["name_zh"] = [P_IMG + "宣城", P_SCRIPT + "广德", P_ATTR + "西区"]
    b["name_en"] = [P_SCRIPT, P_ATTR, P_IMG]
    b["source"] = P_IMG
    bnd = d / f"边界{P_FILE}.geojson"
    b.to_file(bnd, driver="GeoJSON")

    ent = pd.read_csv(ENTERPRISES, dtype=str, encoding="utf-8-sig")
    ent.loc[0:2, "企业名称"] = PAYLOADS
    ent["数据质量"] = P_IMG
    ent["备注"] = P_SCRIPT
    ent[P_ATTR] = "x"
    ents = d / f"企业{P_FILE}.csv"
    ent.to_csv(ents, index=False, encoding="utf-8-sig")

    par = gpd.read_file(PARCELS)
    par["quality"] = P_SCRIPT
    par["企业名称"] = P_IMG
    par.loc[par.index[:3], "DLMC"] = PAYLOADS
    pars = d / f"地块{P_FILE}.gpkg"
    par.to_file(pars, driver="GPKG")

    sites = pd.DataFrame({
        "企业名称": [P_IMG, P_SCRIPT, P_ATTR, "海外", "乱码"],
        "lon": ["118.775", "119.465", "119.370", "100.0", "abc"],
        "lat": ["30.915", "30.895", "30.885", "40.0", "def"],
        "xclz_status": [P_IMG, P_SCRIPT, "inside", "inside", "inside"],
        P_IMG: ["a", "b", "c", "d", "e"],
    })
    site_csv = d / f"点位{P_FILE}.csv"
    sites.to_csv(site_csv, index=False, encoding="utf-8-sig")
    return {"boundaries": bnd, "enterprises": ents, "parcels": pars, "sites": site_csv}


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def srcdocs(page: str) -> list[str]:
    """The documents embedded as ``<iframe srcdoc>`` (unescaped, as the browser reads them)."""
    return [html.unescape(s) for s in re.findall(r'srcdoc="([^"]*)"', page)]


def assert_no_markup_from_payloads(page: str) -> None:
    for raw in RAW:
        assert raw not in page, raw


# ------------------------------------------------------------------ the helper


def test_escape_html_escapes_every_special_character():
    assert hs.escape_html(P_ATTR) == "&quot;&#x27;&gt;&lt;svg onload=&quot;window.xclzPwned=3&quot;&gt;&lt;b&gt;"
    assert hs.escape_html(None) == "" and hs.escape_html(3.5) == "3.5" and hs.escape_html("a & b") == "a &amp; b"


def test_js_literal_cannot_end_or_confuse_a_script():
    text = hs.js_literal({"a": "</script><!--<script>", "b": "\u2028"})
    assert "<" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!--<script>", "b": "\u2028"}


@pytest.mark.parametrize("value, ok", [("#1a9641", True), ("#abc", True), ("red", True), ("rgb(1, 2, 3)", True),
                                       ("red;background:url(http://x)", False), ("\"><script>", False), (None, False)])
def test_css_colour_lets_only_colours_through(value, ok):
    assert (hs.css_colour(value) == str(value).strip()) is ok
    if not ok:
        assert hs.css_colour(value) == "#9e9e9e"


def test_unknown_quality_label_warned_once_with_file_and_column():
    assert hs.unknown_quality_labels(["official", None, float("nan"), " synthetic ", ""]) == []
    with pytest.warns(DataQualityWarning) as rec:
        bad = hs.check_quality_labels(["official", P_IMG, "官方"], where="firms.csv: column '数据质量'")
    assert bad == sorted([P_IMG, "官方"])
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "firms.csv: column '数据质量'" in msg and "official, surveyed, osm, schematic, synthetic" in msg
    assert "\n" not in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hs.check_quality_labels(["official", "osm"], where="x") == []


def test_known_qualities_are_the_zone_vocabulary():
    from xclz_geo.boundaries.zone import QUALITY_LEVELS

    assert hs.KNOWN_QUALITIES == tuple(QUALITY_LEVELS)


def test_tile_origins_expand_subdomains():
    assert hs.tile_origins("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=K", "012") == [
        "https://t0.tianditu.gov.cn", "https://t1.tianditu.gov.cn", "https://t2.tianditu.gov.cn"]
    assert hs.tile_origins("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "") == ["https://tile.openstreetmap.org"]
    assert hs.tile_origins("tiles/{z}/{x}/{y}.png") == []


def test_add_csp_hashes_inline_code_and_merges_srcdoc_pages():
    inner = hs.add_csp("<html><head><meta charset='utf-8'><style>b{}</style></head><body><script>var a=1;</script></body></html>",
                       img_origins=["https://tile.example.org"])
    pol = hs.read_csp(inner)
    assert pol["default-src"] == ["'none'"] and pol["connect-src"] == ["'none'"]
    assert pol["script-src"] == [hs.sha256_source("var a=1;")]
    assert pol["style-src"] == [hs.sha256_source("b{}")]
    assert pol["img-src"] == ["data:", "blob:", "https://tile.example.org"]
    outer = hs.add_csp(f'<html><head></head><body><style>i{{}}</style><iframe srcdoc="{hs.escape_html(inner)}"></iframe></body></html>')
    pol2 = hs.read_csp(outer)
    assert set(pol2["script-src"]) == {hs.sha256_source("var a=1;")}
    assert set(pol2["style-src"]) == {hs.sha256_source("i{}"), hs.sha256_source("b{}")}
    assert "https://tile.example.org" in pol2["img-src"]
    # CR LF is hashed as the browser's parser sees it (LF)
    assert hs.sha256_source("a\r\nb") == hs.sha256_source("a\nb")
    # a second call replaces the policy instead of adding one
    assert hs.add_csp(inner).count("Content-Security-Policy") == 1


# ------------------------------------------------------------------ stale result columns


def test_stale_result_columns_are_renamed_never_trusted():
    df = pd.DataFrame({"lon": [1], "xclz_status": ["inside"], "xclz_status_input": ["x"], "xclz_part": ["p"], "name": ["n"]})
    assert stale_result_names(df.columns) == {"xclz_status": "xclz_status_input2", "xclz_part": "xclz_part_input"}
    with pytest.warns(DataQualityWarning, match=r"sites\.csv: column\(s\) from an earlier run .*xclz_status → xclz_status_input2"):
        out, renamed = rename_stale_result_columns(df, source="sites.csv")
    assert list(out.columns) == ["lon", "xclz_status_input2", "xclz_status_input", "xclz_part_input", "name"]
    assert out["xclz_status_input2"].tolist() == ["inside"] and len(renamed) == 2
    clean = pd.DataFrame({"lon": [1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same, none = rename_stale_result_columns(clean)
    assert same is clean and none == {}


def test_stale_result_columns_of_an_arrow_batch():
    import pyarrow as pa

    batch = pa.record_batch([pa.array(["1"]), pa.array(["inside"])], names=["lon", "xclz_status"])
    with pytest.warns(DataQualityWarning):
        out, _ = rename_stale_result_columns(batch, source="b.csv")
    assert out.schema.names == ["lon", "xclz_status_input"]


def test_map_sites_recomputes_status_and_escapes_everything(tmp_path, capsys):
    f = make_hostile_inputs(tmp_path / "in")
    out = tmp_path / f"map{P_FILE}.html"
    code, so, err = run_cli(capsys, "map", "--out", out, "--boundaries", f["boundaries"], "--sites", f["sites"],
                            "--x", "lon", "--y", "lat", "--title", P_SCRIPT, "--json")
    assert code == 0, err
    # the stale status was renamed and recomputed: 100.0,40.0 is outside, abc,def invalid, none is a payload
    status = json.loads(so)["site_status"]
    assert status == {"inside": 3, "outside": 1, "invalid": 1}
    warn = [ln for ln in err.splitlines() if "earlier run" in ln]
    assert len(warn) == 1 and "xclz_status → xclz_status_input" in warn[0] and "点位" in warn[0]
    page = out.read_text(encoding="utf-8")
    assert_no_markup_from_payloads(page)
    assert hs.escape_html(P_SCRIPT) in page  # the title, as text
    assert hs.escape_html(P_IMG + "宣城") in page  # a part name (popup, tooltip)
    pol = hs.read_csp(page)
    assert pol is not None and hs.external_origins(pol) == []


def test_stale_status_in_zone_map_layer_names_is_escaped(synthetic_zone):
    from xclz_geo.outputs.maps import render_html, zone_map

    sites = pd.DataFrame({"lon": [118.775, 119.465], "lat": [30.915, 30.895], "status": [P_IMG, P_SCRIPT]})
    page = render_html(zone_map(synthetic_zone, sites=sites))
    assert_no_markup_from_payloads(page)
    # the layer control's names: escaped, then JSON (folium writes & as \u0026)
    control = re.search(r"_layers = \{(.*?)\};", page, re.S).group(1)
    names = [json.loads(f'"{k}"') for k in re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*xclz_layer', control)]
    # (status values are compared in lower case)
    assert "Sites 点位: " + hs.escape_html(P_IMG.lower()) + " (1)" in names
    assert "Sites 点位: " + hs.escape_html(P_SCRIPT.lower()) + " (1)" in names


def test_placeholders_in_user_text_are_never_filled(synthetic_zone):
    """A title or firm name reading like a template placeholder stays text (one-pass filling)."""
    from xclz_geo.outputs.maps import render_html, zone_map

    sites = pd.DataFrame({"lon": [118.775], "lat": [30.915], "xclz_status": ["inside"], "企业名称": ["{map} __DATA__ __VAR__"]})
    page = render_html(zone_map(synthetic_zone, sites=sites, title="{map} __LEGEND_HTML__ __TITLE_HTML__"))
    assert "{map} __LEGEND_HTML__ __TITLE_HTML__" in page
    assert "{map} __DATA__ __VAR__" in page
    assert "d.innerHTML = __LEGEND_HTML__" not in page and "t.innerHTML = __TITLE_HTML__" not in page
    assert page.count("d.innerHTML = \"\\u003ch4>图例 Legend") == 1


def test_locate_on_its_own_output_keeps_the_old_columns_renamed(tmp_path, capsys, boundaries_file):
    src = tmp_path / "sites.csv"
    pd.DataFrame({"lon": [118.775, 100.0], "lat": [30.915, 40.0], "xclz_status": ["outside", "inside"]}).to_csv(src, index=False)
    for ext in ("csv", "xlsx"):
        dst = tmp_path / f"out.{ext}"
        code, _, err = run_cli(capsys, "locate", "--input", src, "--out", dst, "--boundaries", boundaries_file)
        assert code == 0, err
        assert "xclz_status → xclz_status_input" in err
        back = pd.read_csv(dst) if ext == "csv" else pd.read_excel(dst)
        assert back["xclz_status_input"].tolist() == ["outside", "inside"]
        assert back["xclz_status"].tolist() == ["inside", "outside"]


# ------------------------------------------------------------------ the report


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """The report CLI on the hostile inputs: (paths, exit status, stdout, stderr, page)."""
    import contextlib
    import io

    d = tmp_path_factory.mktemp("hostile")
    f = make_hostile_inputs(d / "in")
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["report", "--boundaries", str(f["boundaries"]), "--enterprises", str(f["enterprises"]),
                     "--parcels", str(f["parcels"]), "--out", str(d / f"out{P_FILE}"), "--title", P_SCRIPT])
    html_files = sorted((d / f"out{P_FILE}").glob("*.html"))
    page = html_files[0].read_text(encoding="utf-8") if html_files else ""
    return f, code, out.getvalue(), err.getvalue(), page, html_files


def test_report_escapes_every_payload_and_warns_about_unknown_quality(hostile_report):
    f, code, out, err, page, files = hostile_report
    assert code == 0, err
    assert "Traceback" not in err
    qwarn = [ln for ln in err.splitlines() if "not among official" in ln]
    # one line per file and column: the enterprises' 数据质量 and the parcels' quality
    assert len(qwarn) == 2, err
    assert any("企业" in ln and "数据质量" in ln for ln in qwarn) and any("地块" in ln and "'quality'" in ln for ln in qwarn)
    assert_no_markup_from_payloads(page)
    docs = srcdocs(page)
    assert len(docs) == 1
    assert_no_markup_from_payloads(docs[0])
    esc = hs.escape_html
    # as text in the report: title, firm names, the quality label, file names
    for s in (P_SCRIPT, P_IMG, P_ATTR, P_FILE):
        assert esc(s) in page, s
    # in the map: part names (popups), the quality label (layer names, escaped then JSON-encoded by folium)
    assert esc(P_IMG + "宣城") in docs[0]
    assert "\\u0026lt;script\\u0026gt;document.title=" in docs[0]


def test_report_and_its_map_carry_a_csp_without_external_origins(hostile_report):
    *_, page, files = hostile_report
    for doc in (page, *srcdocs(page)):
        pol = hs.read_csp(doc)
        assert pol is not None
        assert pol["default-src"] == ["'none'"] and pol["connect-src"] == ["'none'"]
        assert hs.external_origins(pol) == []
        scripts, styles = hs.inline_hashes(doc)
        assert set(scripts) <= set(pol["script-src"]) and set(styles) <= set(pol["style-src"])
        assert "'unsafe-inline'" not in pol["script-src"] and "'unsafe-eval'" not in pol["script-src"]
    # the report's policy also allows the embedded map's code (an srcdoc frame inherits it)
    inner = hs.inline_hashes(srcdocs(page)[0])
    pol = hs.read_csp(page)
    assert set(inner[0]) <= set(pol["script-src"]) and set(inner[1]) <= set(pol["style-src"])


@pytest.mark.parametrize("basemap, origins", [
    ("none", []),
    ("osm", ["https://tile.openstreetmap.org"]),
    ("tianditu", [f"https://t{i}.tianditu.gov.cn" for i in range(8)]),
    ("gaode", [f"https://webrd0{i}.is.autonavi.com" for i in range(1, 5)]),
])
def test_map_csp_allows_only_the_chosen_tile_server(synthetic_zone, basemap, origins):
    from xclz_geo.outputs.maps import render_html, zone_map

    page = render_html(zone_map(synthetic_zone, basemap=basemap, tianditu_key="abcdef0123456789"))
    pol = hs.read_csp(page)
    assert hs.external_origins(pol) == origins
    assert pol["img-src"][:2] == ["data:", "blob:"]


def test_cdn_map_csp_allows_exactly_the_linked_files(synthetic_zone):
    from xclz_geo.outputs.maps import LEAFLET_CSS_CDN, LEAFLET_JS_CDN, render_html, zone_map

    pol = hs.read_csp(render_html(zone_map(synthetic_zone), inline=False))
    assert LEAFLET_JS_CDN in pol["script-src"] and LEAFLET_CSS_CDN in pol["style-src"]
    assert set(hs.external_origins(pol)) == {LEAFLET_JS_CDN, LEAFLET_CSS_CDN, "https://cdn.jsdelivr.net"}


# ------------------------------------------------------------------ the Tianditu key


def test_tianditu_key_written_into_output_is_announced(tmp_path, capsys, boundaries_file, monkeypatch):
    key = "abcdef0123456789abcdef0123456789"
    monkeypatch.setenv("XCLZ_TIANDITU_KEY", key)
    out = tmp_path / "m.html"
    code, so, err = run_cli(capsys, "map", "--out", out, "--boundaries", boundaries_file, "--basemap", "tianditu")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "Tianditu key" in ln]
    assert len(lines) == 1 and str(out) in lines[0] and "XCLZ_TIANDITU_KEY" in lines[0]
    assert key not in err and key not in so and key in out.read_text(encoding="utf-8")
    code, so, err = run_cli(capsys, "map", "--out", out, "--boundaries", boundaries_file, "--basemap", "osm")
    assert code == 0 and "Tianditu" not in err


def test_tianditu_key_announced_by_report(tmp_path, capsys, boundaries_file, monkeypatch):
    key = "abcdef0123456789abcdef0123456789"
    monkeypatch.setenv("XCLZ_TIANDITU_KEY", key)
    code, so, err = run_cli(capsys, "report", "--boundaries", boundaries_file, "--out", tmp_path / "r", "--basemap", "tianditu",
                            "--no-samples")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "Tianditu key" in ln]
    assert len(lines) == 1 and "written into" in lines[0] and str(tmp_path / "r") in lines[0]
    assert key not in err and key not in so


@pytest.mark.parametrize("command", ["map", "report"])
def test_help_says_the_key_is_written_into_the_output(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "XCLZ_TIANDITU_KEY" in text and "written into" in text

