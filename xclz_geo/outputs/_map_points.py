"""Many points on a :func:`xclz_geo.outputs.maps.zone_map`: one compact data block, drawn on canvas.

A report of tens of thousands of firms cannot carry a marker object, a style and a popup of HTML
per firm (issue 13 R11: a 10⁵-firm report was 62 MB and took 17 s to show its map). Here:

* the points go into the page once, as column arrays in one ``<script type="application/json">``
  block (:func:`xclz_geo.outputs.html_safe.json_script`; read with ``textContent``, so no value is
  ever parsed as HTML): positions rounded to 5 decimals (about 1 m), a layer code per point,
  the popup columns — numbers as numbers, repeated text (class, status, part …) as a small
  dictionary and codes, other text joined by tabs;
* each layer (one per class, say) is a single ``<canvas>`` that draws the points in view and,
  below :data:`PLAIN_ZOOM`, gathers the points falling in one :data:`CELL_PX`-pixel square of the
  screen into one circle with their count (clicking it zooms in; at the same spot, lists them);
* a popup is built only when a point is clicked, with ``textContent`` (never ``innerHTML``);
* above ``max_points`` points the data block holds one entry per ~10 m square and class, with its
  count, instead of one per point (no popup per point then); the returned :class:`PointsDrawn`
  says so, and the caller states it on the page.

Every inline script here is constant text plus JSON literals, so the page's hash-based
Content-Security-Policy (:func:`xclz_geo.outputs.html_safe.add_csp`) allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import folium
    import geopandas as gpd

#: below this zoom the points of one screen square are drawn as one circle with their count
PLAIN_ZOOM = 17
#: side of the screen square, pixels
CELL_PX = 44
#: decimals of the positions in the data block (5: about 1 m)
DECIMALS = 5
#: above this many points the block holds counts per ~10 m square and layer instead (decimals of that grid)
GRID_DECIMALS = 4
#: text columns with at most this many distinct values (and fewer than half the rows) are stored as codes
DICT_MAX = 5000

_DATA_JS = r"""
var __VAR__ = (function(map){
  var d = JSON.parse(document.getElementById(__ID__).textContent), n = d.lat.length, c, k;
  d.n = n; d.layers = [];
  for (c = 0; c < d.cols.length; c++) if (d.kind[c] === 'text') d.data[c] = n ? d.data[c].split('\t') : [];
  var mx = new Float64Array(n), my = new Float64Array(n), rad = Math.PI / 180;
  for (k = 0; k < n; k++) {
    var s = Math.sin(Math.max(-85, Math.min(85, d.lat[k])) * rad);
    mx[k] = (d.lon[k] + 180) / 360; my[k] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  }
  d.mx = mx; d.my = my;
  if (!map.getPane('xclzPoints')) { var p = map.createPane('xclzPoints'); p.style.zIndex = 450; p.style.pointerEvents = 'none'; }
  function text(c, k) {
    var v = d.data[c][k], kd = d.kind[c];
    if (kd === 'dict') return v < 0 ? '' : d.dict[c][v];
    if (kd === 'num') return v === null ? '' : v.toLocaleString('en-US', {maximumFractionDigits: 2});
    return v;
  }
  function el(tag, cls, txt) { var e = document.createElement(tag); if (cls) e.className = cls; if (txt !== undefined) e.textContent = txt; return e; }
  function row(t, a, b) { var tr = el('tr'); tr.appendChild(el('th', '', a)); tr.appendChild(el('td', '', b)); t.appendChild(tr); }
  d.popup = function(k) {
    var box = el('div', 'xclz-popup'), t = el('table'), w = d.w ? d.w[k] : 1;
    if (d.w) {
      box.appendChild(el('b', '', d.title + ': ' + w.toLocaleString('en-US') + ' ' + d.unit));
      row(t, d.layerTitle, d.names[d.c[k]]);
      row(t, 'lat, lon', d.lat[k].toFixed(4) + ', ' + d.lon[k].toFixed(4));
    } else {
      box.appendChild(el('b', '', d.title + (d.titleCol >= 0 ? ': ' + text(d.titleCol, k) : '')));
      for (var c = 0; c < d.cols.length; c++) { if (c === d.titleCol) continue; var v = text(c, k); if (v !== '') row(t, d.cols[c], v); }
    }
    for (var e = 0; e < d.extra.length; e++) if (d.extra[e][1]) row(t, d.extra[e][0], d.extra[e][1]);
    box.appendChild(t);
    if (d.note) box.appendChild(el('div', 'xclz-note', d.note));
    return box;
  };
  d.popupMany = function(ks) {
    var box = el('div', 'xclz-popup'), t = el('table'), total = 0, i;
    for (i = 0; i < ks.length; i++) total += d.w ? d.w[ks[i]] : 1;
    box.appendChild(el('b', '', d.title + ': ' + total.toLocaleString('en-US') + ' ' + d.unit + ' here'));
    for (i = 0; i < Math.min(ks.length, 12); i++) {
      var k2 = ks[i];
      row(t, d.names[d.c[k2]], d.w ? d.w[k2].toLocaleString('en-US') + ' ' + d.unit : (d.titleCol >= 0 ? text(d.titleCol, k2) : ''));
    }
    box.appendChild(t);
    if (ks.length > 12) box.appendChild(el('div', 'xclz-note', '… ' + (ks.length - 12).toLocaleString('en-US') + ' more: ' + d.more));
    return box;
  };
  function hitAt(cp) {  // the nearest point or circle under a container point, over every shown layer
    var lp = map.containerPointToLayerPoint(cp), best = null;
    for (var i = 0; i < d.layers.length; i++) {
      var l = d.layers[i];
      if (!map.hasLayer(l)) continue;
      var h = l.hit(lp);
      if (h && (!best || h.dist < best.dist)) best = h;
    }
    return best;
  }
  function mine(ev) {  // a plain click or move on the map itself (not a control, a popup, a drag or the measuring tool)
    var t = ev.target;
    if (t && t.closest && t.closest('.leaflet-control-container, .leaflet-popup')) return false;
    if (map.dragging && map.dragging.moved()) return false;
    return map.getContainer().style.cursor !== 'crosshair';
  }
  function open(best) {
    var it = best.item, ks = it.ks;
    if (ks.length > 1 && map.getZoom() < d.plainZoom) {
      var b = L.latLngBounds([]);
      for (var j = 0; j < ks.length; j++) b.extend([d.lat[ks[j]], d.lon[ks[j]]]);
      if (b.getNorthEast().distanceTo(b.getSouthWest()) > 2) { map.closePopup(); map.fitBounds(b.pad(0.2), {maxZoom: d.plainZoom}); return; }
    }
    var at = ks.length > 1 ? best.layer.latLngOf(it) : L.latLng(d.lat[ks[0]], d.lon[ks[0]]);
    L.popup({maxWidth: 460}).setLatLng(at).setContent(ks.length > 1 ? d.popupMany(ks) : d.popup(ks[0])).openOn(map);
  }
  // points are drawn on a canvas that lets the mouse through (the zone's polygons below keep their popups);
  // a click on a point is taken before Leaflet sees it (capture phase), so no polygon popup opens instead
  var box = map.getContainer();
  box.addEventListener('click', function(ev) {
    if (!mine(ev)) return;
    var best = hitAt(map.mouseEventToContainerPoint(ev));
    if (!best) return;
    ev.stopPropagation(); ev.preventDefault();
    open(best);
  }, true);
  var moving = false;
  box.addEventListener('mousemove', function(ev) {
    if (moving) return;
    moving = true;
    requestAnimationFrame(function() {
      moving = false;
      if (!mine(ev)) return;
      var over = hitAt(map.mouseEventToContainerPoint(ev)) !== null;
      if (over !== !!d.over) { d.over = over; box.style.cursor = over ? 'pointer' : ''; }
    });
  });
  d.open = open; d.hitAt = hitAt;
  return d;
})({map});
if (!L.XclzPoints) L.XclzPoints = L.Layer.extend({
  initialize: function(d, code, style) { this._d = d; this._code = code; this._s = style; this._items = []; this._tl = L.point(0, 0); },
  onAdd: function(map) {
    this._map = map;
    this._canvas = L.DomUtil.create('canvas', 'xclz-points leaflet-zoom-hide', map.getPane('xclzPoints'));
    this._canvas.style.position = 'absolute';
    map.on('moveend resize', this._draw, this);
    if (this._d.layers.indexOf(this) < 0) this._d.layers.push(this);
    this._draw();
  },
  onRemove: function(map) { map.off('moveend resize', this._draw, this); L.DomUtil.remove(this._canvas); this._items = []; },
  latLngOf: function(it) { return this._map.layerPointToLatLng(L.point(this._tl.x + it.x, this._tl.y + it.y)); },
  hit: function(lp) {
    var x = lp.x - this._tl.x, y = lp.y - this._tl.y, best = null;
    for (var i = 0; i < this._items.length; i++) {
      var it = this._items[i], dx = it.x - x, dy = it.y - y, dd = Math.sqrt(dx * dx + dy * dy);
      if (dd <= it.r + 3 && (!best || dd < best.dist)) best = {dist: dd, item: it, layer: this};
    }
    return best;
  },
  _draw: function() {
    var map = this._map, d = this._d, s = this._s, cv = this._canvas, size = map.getSize(), dpr = window.devicePixelRatio || 1;
    var tl = map.containerPointToLayerPoint([0, 0]), po = map.getPixelOrigin(), z = map.getZoom();
    this._tl = tl;
    L.DomUtil.setPosition(cv, tl);
    cv.width = Math.round(size.x * dpr); cv.height = Math.round(size.y * dpr);
    cv.style.width = size.x + 'px'; cv.style.height = size.y + 'px';
    var ctx = cv.getContext('2d'); ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    var scale = 256 * Math.pow(2, z), ox = po.x + tl.x, oy = po.y + tl.y, W = size.x, H = size.y, pad = 24;
    var cell = z < d.plainZoom ? d.cellPx : 2, bins = new Map(), items = [], want = this._code;
    var bx0 = Math.floor((ox - pad) / cell), by0 = Math.floor((oy - pad) / cell);
    for (var k = 0; k < d.n; k++) {
      if (d.c[k] !== want) continue;
      var x = d.mx[k] * scale - ox, y = d.my[k] * scale - oy;
      if (x < -pad || y < -pad || x > W + pad || y > H + pad) continue;
      // squares fixed to the world (panning keeps the circles), numbered from the one at the canvas corner
      var key = (Math.floor((x + ox) / cell) - bx0) * 1048576 + (Math.floor((y + oy) / cell) - by0), b = bins.get(key);
      if (b === undefined) { b = {sx: 0, sy: 0, n: 0, ks: []}; bins.set(key, b); items.push(b); }
      b.sx += x; b.sy += y; b.n += d.w ? d.w[k] : 1; b.ks.push(k);
    }
    ctx.font = 'bold 11px sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      it.x = it.sx / it.ks.length; it.y = it.sy / it.ks.length;
      it.r = it.n === 1 ? s.radius : (it.n < 10 ? 9 : (it.n < 100 ? 11 : (it.n < 1000 ? 13 : (it.n < 10000 ? 15 : 17))));
      ctx.beginPath(); ctx.arc(it.x, it.y, it.r, 0, 2 * Math.PI);
      ctx.fillStyle = s.fill; ctx.globalAlpha = it.n === 1 ? s.opacity : 0.85; ctx.fill(); ctx.globalAlpha = 1;
      ctx.lineWidth = it.n === 1 ? s.weight : 2; ctx.strokeStyle = it.n === 1 ? s.stroke : 'rgba(255,255,255,0.9)'; ctx.stroke();
      if (it.n > 1) {
        ctx.fillStyle = '#fff';
        ctx.fillText(it.n >= 100000 ? Math.round(it.n / 1000) + 'k' : String(it.n), it.x, it.y + 0.5);
      }
    }
    this._items = items;
  }
});
"""

_LAYER_JS = "new L.XclzPoints(__VAR__, __CODE__, __STYLE__)"


@dataclass(frozen=True)
class PointsDrawn:
    """What :func:`add_point_layers` put on the map.

    Attributes
    ----------
    points
        Rows with a position (every one is counted on the map).
    entries
        Entries in the data block: ``points``, or the number of ~10 m squares when aggregated.
    aggregated
        ``True`` when the block holds counts per square (no popup per point).
    layers
        Names of the layers added (as listed in the layer control).
    """

    points: int
    entries: int
    aggregated: bool
    layers: tuple[str, ...]


def _encode_column(values: Any) -> tuple[str, Any, list[str] | None]:
    """(kind, data, dictionary) of one popup column: ``num`` (numbers, null), ``dict`` (codes into a
    list of distinct texts, -1 for none) or ``text`` (one string, the values joined by tabs)."""
    import numpy as np
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        out = np.round(x, 4).astype(object)
        out[~np.isfinite(x)] = None
        return "num", out.tolist(), None
    obj = s.astype(object)
    missing = obj.isna().to_numpy() | obj.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    codes, uniq = pd.factorize(obj.where(~missing, None))
    if len(uniq) <= DICT_MAX and len(uniq) * 2 < max(len(s), 2):
        return "dict", codes.tolist(), [str(u)[:300] for u in uniq]
    txt = obj.where(~missing, "").astype(str).str.slice(0, 300)
    txt = txt.str.replace("\t", " ", regex=False)  # the separator; the table and the XLSX keep the exact text
    return "text", "\t".join(txt.tolist()), None


def add_point_layers(
    m: "folium.Map",
    points: "gpd.GeoDataFrame",
    *,
    codes: Sequence[int] | Any,
    layers: Sequence[tuple[str, str]],
    popup_columns: Sequence[str],
    title: str,
    title_column: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
    unit: str = "points",
    layer_title: str = "layer",
    more: str = "see the table",
    note: str = "",
    style: dict[str, Any] | None = None,
    max_points: int = 200_000,
    show: bool = True,
) -> PointsDrawn:
    """Draw ``points`` on a :func:`~xclz_geo.outputs.maps.zone_map` as canvas layers from one data block.

    Parameters
    ----------
    m
        A map made by :func:`xclz_geo.outputs.maps.zone_map`.
    points
        Point rows (any CRS; shown in the map's datum). Rows without a point are not drawn.
    codes
        Layer of each row (index into ``layers``; -1: not drawn).
    layers
        ``(name, colour)`` of each layer, in the order of ``codes``; a layer with no point is left out.
    popup_columns
        Columns shown in a point's popup (those present), as text.
    title, title_column
        Popup heading: ``title: <title_column value>``.
    extra
        ``(label, text)`` rows added to every popup (quality label, caveat).
    unit, layer_title, more, note
        Words of the popups: what a count counts ("firms"), the layer's row label, where the rest of a
        long list is ("filter the table by …"), a grey note under every popup.
    style
        ``fill`` (default: the layer colour), ``stroke``, ``weight``, ``opacity``, ``radius`` of a single point.
    max_points
        Above this many points the block holds counts per ~10 m square and layer (no popup per point).
    show
        Show the layers when the map opens.

    Returns
    -------
    PointsDrawn
        What was drawn, for the caller to state on the page.
    """
    import numpy as np
    import pandas as pd

    from xclz_geo.outputs import maps
    from xclz_geo.outputs.html_safe import css_colour, js_literal, json_script

    E = maps._elements()
    info, _ = maps._map_state(m, "point layers")
    import geopandas as gpd

    shown = maps._to_display(gpd.GeoDataFrame(geometry=points.geometry), datum=info.get("datum", "wgs84"))  # positions only: no copy of the columns
    geom = shown.geometry
    code = np.asarray(codes, dtype=np.int64)
    ok = (geom.notna() & ~geom.is_empty & (geom.geom_type == "Point")).to_numpy() & (code >= 0)
    idx = np.flatnonzero(ok)
    lat = geom.y.to_numpy()[idx] if len(idx) else np.empty(0)
    lon = geom.x.to_numpy()[idx] if len(idx) else np.empty(0)
    code = code[idx]
    names = [str(n) for n, _ in layers]
    payload: dict[str, Any] = {"title": title, "unit": unit, "layerTitle": layer_title, "more": more, "note": note,
                               "names": names, "extra": [[str(a), str(b)] for a, b in extra], "plainZoom": PLAIN_ZOOM,
                               "cellPx": CELL_PX, "titleCol": -1}
    aggregated = len(idx) > max_points
    if aggregated:
        g = pd.DataFrame({"lat": np.round(lat, GRID_DECIMALS), "lon": np.round(lon, GRID_DECIMALS), "c": code})
        g = g.groupby(["c", "lat", "lon"], sort=True).size().reset_index(name="w")
        payload.update(lat=g["lat"].tolist(), lon=g["lon"].tolist(), c=g["c"].astype(int).tolist(), w=g["w"].astype(int).tolist(),
                       cols=[], kind=[], data=[], dict=[])
        counts = g.groupby("c")["w"].sum()
        entries = len(g)
    else:
        cols = [c for c in popup_columns if c in points.columns]
        kinds, data, dicts = [], [], []
        for c in cols:
            kd, vals, dic = _encode_column(points[c].to_numpy()[idx] if len(idx) else [])
            kinds.append(kd)
            data.append(vals)
            dicts.append(dic)
        if title_column in points.columns:
            kd, vals, dic = _encode_column(points[title_column].to_numpy()[idx] if len(idx) else [])
            cols.append(title_column)
            kinds.append(kd)
            data.append(vals)
            dicts.append(dic)
            payload["titleCol"] = len(cols) - 1
        payload.update(lat=np.round(lat, DECIMALS).tolist(), lon=np.round(lon, DECIMALS).tolist(), c=code.tolist(),
                       cols=cols, kind=kinds, data=data, dict=dicts)
        counts = pd.Series(code).value_counts()
        entries = len(idx)
    serial = getattr(m, "_xclz_points_serial", 0) + 1
    m._xclz_points_serial = serial
    var = f"xclz_points_{m.get_name().rsplit('_', 1)[-1]}_{serial}"
    block_id = var.replace("_", "-")
    m.add_child(_data_block(json_script(payload, element_id=block_id)))
    maps._add_before_controls(m, E["Script"](_DATA_JS.replace("__VAR__", var).replace("__ID__", js_literal(block_id)),
                                             css=".xclz-note{color:#6b7280;font-size:11px;margin-top:3px}", name="XclzPoints"))
    st = dict(style or {})
    added = []
    for k, (name, colour) in enumerate(layers):
        if int(counts.get(k, 0)) == 0:
            continue
        s = {"fill": css_colour(st.get("fill") or colour), "stroke": css_colour(st.get("stroke", "#222")),
             "weight": float(st.get("weight", 0.8)), "opacity": float(st.get("opacity", 0.9)), "radius": float(st.get("radius", 4.5))}
        js = _LAYER_JS.replace("__VAR__", var).replace("__CODE__", str(k)).replace("__STYLE__", js_literal(s))
        maps._add_before_controls(m, E["JsLayer"](js, name=name, show=show))
        added.append(name)
    return PointsDrawn(points=len(idx), entries=entries, aggregated=aggregated, layers=tuple(added))


def _data_block(html_text: str) -> Any:
    """A folium element writing ``html_text`` (a :func:`~xclz_geo.outputs.html_safe.json_script` block) into the page body.

    The text is a value of the template, not part of it, and the element's output goes into the page as it is
    (:class:`RawMacro <xclz_geo.outputs.maps._elements>`): nothing in the data is read as a template."""
    from folium.template import Template

    from xclz_geo.outputs import maps

    class DataBlock(maps._elements()["RawMacro"]):  # type: ignore[misc]
        _template = Template("{% macro html(this, kwargs) %}{{ this.block }}{% endmacro %}")

        def __init__(self, block: str) -> None:
            super().__init__()
            self._name = "XclzData"
            self.block = block

    return DataBlock(html_text)


__all__ = ["PLAIN_ZOOM", "CELL_PX", "PointsDrawn", "add_point_layers"]
