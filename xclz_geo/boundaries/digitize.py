"""四至 spec + line network → polygon, with a record of every decision.

:func:`digitize` works in the CGCS2000 3° Gauss-Krüger zone of the network (metres):

1. **Match** every feature name of the spec (and the features its bracketed constraints
   name) against the network (:class:`~xclz_geo.boundaries.network.NetworkIndex`: exact > normalised >
   ref > fuzzy; fuzzy matches are reported and warned about).
2. **Select.** Project only the matched lines. Constraints cut a feature to the section on
   the named side (``外环路(G50高速以北)`` keeps the parts of 外环路 north of the G50). The
   lines of a name are grouped into candidates: connected pieces (within ``cluster_distance_m``,
   default the tolerance, of each other). Where a name has several candidates (the same road
   name in two towns, a stray same-named spur), every combination is scored and the one that
   closes a ring with each side on its compass side and the smallest corner gaps wins; then
   the reference point (if any) and then the longer candidates break ties.
3. **Offset.** ``奇秀路以北一公里处`` becomes the parallel of 奇秀路 1000 m on its north side
   (``shapely.offset_curve``; a plain shift when the road runs along the offset direction),
   extended at both ends by the offset plus the tolerance so the neighbouring sides can meet it.
4. **Order and corners.** The sides are walked clockwise (N, NE, E, SE, S, SW, W, NW); the
   features of a side are ordered to minimise the gaps (compass order breaks ties: a staircase
   east side runs north → south). Each pair of consecutive features meets at a corner: their
   intersection; else an extension of a line end that meets the other feature within the
   tolerance (within offset + tolerance when an offset line is involved); else a straight gap
   closure up to ``tolerance_m``. Anything wider raises
   :class:`~xclz_geo.errors.AssemblyError` naming the corner, the gap in metres and where it is.
5. **Trim, node, polygonize.** Each feature is cut to the shortest path along its lines
   between its two corners (overshoots and side branches fall away; gaps inside one feature
   up to the tolerance are bridged and recorded). The pieces are noded (``shapely.union_all``)
   and polygonized (``shapely.polygonize_full``); the face whose boundary carries the named
   features on their compass sides is chosen (the reference point only breaks ties).

Interpretation of ``西至无量溪河西侧``: the west boundary is the west side (bank) of the
river, so the river lies inside the area. Where the network has both banks (a river drawn
as an area, whose outline becomes lines) or two carriageways, the corners and the path take
the named side; a centreline network has no width, so there the boundary follows the
centreline. The record says which (``side_of_feature.applied``).
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from xclz_geo.geo import crs as _crs
from xclz_geo.errors import AssemblyError, DataQualityWarning, InputDataError, NameNotResolvedError, SizhiParseError
from xclz_geo.boundaries.sizhi import (CLOCKWISE, MAX_OFFSET_M, SIDE_LABELS, SIDE_VECTORS, BoundarySpec, FeatureRef, Side,
                                       format_distance_m, parse_sizhi)

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import LineString, Polygon

    from xclz_geo.boundaries.network import NameMatch, NetworkIndex

#: largest gap/extension the digitizer may close (``tolerance_m``); real ones are metres to a few hundred
MAX_TOLERANCE_M = 10_000.0

#: at most this many cluster combinations are scored (beyond it, far clusters are pruned)
MAX_COMBINATIONS = 1024
_EPS = 1e-6


# ------------------------------------------------------------------ result


@dataclass
class DigitizeResult:
    """The polygon a 四至 describes, in the Gauss-Krüger CRS of the network, plus its record.

    Attributes
    ----------
    polygon
        The polygon in :attr:`crs` (metres).
    crs
        The CGCS2000 3° Gauss-Krüger CRS the work was done in.
    spec
        The parsed 四至.
    record
        JSON-able dict: per side and feature the matched network feature ids and how each
        name matched, corners, gaps closed and their lengths, offsets applied, CRS, areas.
    pieces
        The boundary pieces in :attr:`crs`: one row per trimmed feature path, gap closure and
        extension (``role``: ``feature``, ``gap``, ``extension``), for maps and checks.
    """

    polygon: "Polygon"
    crs: "CRS"
    spec: BoundarySpec
    record: dict[str, Any] = field(default_factory=dict)
    pieces: list[dict[str, Any]] = field(default_factory=list)

    @property
    def area_m2(self) -> float:
        """Planar area in the Gauss-Krüger CRS, m²."""
        return float(self.polygon.area)

    @property
    def area_mu(self) -> float:
        """Area in 亩 (1 亩 = 10000/15 m²)."""
        from xclz_geo.units import m2_to_mu

        return float(m2_to_mu(self.area_m2))

    @property
    def area_km2(self) -> float:
        """Area in km²."""
        return self.area_m2 / 1e6

    def _to_geographic(self, geom: Any) -> Any:
        import shapely

        t = _crs.transformer(self.crs, _crs.CGCS2000_GEOGRAPHIC)
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def polygon_geographic(self) -> "Polygon":
        """The polygon in CGCS2000 lon/lat (EPSG:4490), exterior counter-clockwise (RFC 7946)."""
        import shapely

        return shapely.orient_polygons(self._to_geographic(self.polygon), exterior_cw=False)

    def pieces_frame(self) -> "gpd.GeoDataFrame":
        """:attr:`pieces` as a GeoDataFrame in :attr:`crs`."""
        import geopandas as gpd

        rows = [{k: v for k, v in p.items() if k != "geometry"} for p in self.pieces]
        return gpd.GeoDataFrame(rows, geometry=[p["geometry"] for p in self.pieces], crs=self.crs)

    def to_geojson_dict(self, *, include_lines: bool = True, precision: int = 8) -> dict[str, Any]:
        """RFC 7946 FeatureCollection in lon/lat; the first feature is the polygon.

        The polygon's properties carry ``area_m2``, ``area_km2``, ``area_mu``, the CRS and the
        full resolution ``record``. With ``include_lines`` the trimmed feature paths, gap
        closures and extensions follow as LineString features (``role`` property).
        """
        import shapely

        def geo(g: Any) -> dict[str, Any]:
            g = shapely.set_precision(g, 10.0 ** (-precision)) if precision else g
            return json.loads(shapely.to_geojson(g))

        poly = self.polygon_geographic()
        props = {
            "name": self.record.get("name"),
            "area_m2": round(self.area_m2, 2),
            "area_km2": round(self.area_km2, 6),
            "area_mu": round(self.area_mu, 2),
            "crs": self.record.get("crs"),
            "quality": self.record.get("quality"),
            "sizhi": self.spec.text,
            "record": self.record,
        }
        feats = [{"type": "Feature", "properties": props, "geometry": geo(poly)}]
        if include_lines:
            for p in self.pieces:
                pr = {k: v for k, v in p.items() if k != "geometry"}
                feats.append({"type": "Feature", "properties": pr, "geometry": geo(self._to_geographic(p["geometry"]))})
        return {"type": "FeatureCollection", "features": feats}

    def to_geojson(self, path: str | Path, *, include_lines: bool = True) -> Path:
        """Write :meth:`to_geojson_dict` to ``path`` (UTF-8, written atomically)."""
        from xclz_geo.io import atomic_path

        p = Path(path)
        text = json.dumps(_jsonable(self.to_geojson_dict(include_lines=include_lines)), ensure_ascii=False, indent=1)
        with atomic_path(p) as tmp:  # a unique temporary name, removed on an error or SIGTERM
            tmp.write_text(text, encoding="utf-8")
        return p


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.bool_):
        return bool(o)
    return o


# ------------------------------------------------------------------ line graph


def _key(x: float, y: float) -> tuple[float, float]:
    return (round(x, 3), round(y, 3))


class _Graph:
    """Noded line graph of one feature: shortest paths between points on it, gap bridging."""

    def __init__(self, lines: Sequence["LineString"]) -> None:
        import shapely

        self.nodes: dict[tuple[float, float], int] = {}
        self.xy: list[tuple[float, float]] = []
        self.edges: list[Any] = []  # LineString or None (removed)
        self.ends: list[tuple[int, int]] = []
        self.adj: dict[int, list[int]] = {}
        self.bridges: list[dict[str, Any]] = []
        parts = [ln for ln in lines if ln is not None and not ln.is_empty and ln.length > 0]
        if parts:
            noded = shapely.node(shapely.multilinestrings(parts)) if len(parts) > 1 else parts[0]
            for ln in shapely.get_parts(noded):
                if ln.length > 0:
                    self.add_edge(ln)

    def node(self, x: float, y: float) -> int:
        k = _key(x, y)
        n = self.nodes.get(k)
        if n is None:
            n = self.nodes[k] = len(self.xy)
            self.xy.append((float(x), float(y)))
            self.adj[n] = []
        return n

    def add_edge(self, line: "LineString") -> int:
        c = line.coords
        u = self.node(*c[0][:2])
        v = self.node(*c[-1][:2])
        i = len(self.edges)
        self.edges.append(line)
        self.ends.append((u, v))
        self.adj[u].append(i)
        if v != u:
            self.adj[v].append(i)
        return i

    def remove_edge(self, i: int) -> None:
        u, v = self.ends[i]
        self.adj[u].remove(i)
        if v != u:
            self.adj[v].remove(i)
        self.edges[i] = None

    def live_edges(self) -> list[int]:
        return [i for i, e in enumerate(self.edges) if e is not None]

    def geometry(self) -> Any:
        import shapely

        return shapely.multilinestrings([self.edges[i] for i in self.live_edges()])

    def degree(self, n: int) -> int:
        return sum(2 if self.ends[i][0] == self.ends[i][1] else 1 for i in self.adj[n])

    def dangles(self) -> list[int]:
        return [n for n in range(len(self.xy)) if self.degree(n) == 1]

    def insert_point(self, x: float, y: float) -> int:
        """Node at (x, y), splitting the nearest edge there (a short connector if it lies off the lines)."""
        import shapely
        from shapely.geometry import LineString, Point
        from shapely.ops import substring

        k = _key(x, y)
        if k in self.nodes:
            return self.nodes[k]
        live = self.live_edges()
        if not live:
            return self.node(x, y)
        pt = Point(x, y)
        d = shapely.distance(np.asarray([self.edges[i] for i in live], dtype=object), pt)
        j = int(np.argmin(d))
        i = live[j]
        e = self.edges[i]
        s = e.project(pt)
        u, v = self.ends[i]
        if s <= 1e-3:
            n = u
        elif s >= e.length - 1e-3:
            n = v
        else:
            a = substring(e, 0.0, s)
            b = substring(e, s, e.length)
            q = e.interpolate(s)
            self.remove_edge(i)
            # force the split point's coordinates to be exactly the same node
            n = self.node(q.x, q.y)
            qx, qy = self.xy[n]
            a = LineString(list(a.coords)[:-1] + [(qx, qy)])
            b = LineString([(qx, qy)] + list(b.coords)[1:])
            if a.length > 0:
                self.add_edge(a)
            if b.length > 0:
                self.add_edge(b)
        if d[j] > 1e-3:
            m = self.node(x, y)
            self.add_edge(LineString([self.xy[n], (x, y)]))
            return m
        return n

    def components(self) -> list[int]:
        comp = [-1] * len(self.xy)
        c = 0
        for s in range(len(self.xy)):
            if comp[s] >= 0:
                continue
            stack = [s]
            comp[s] = c
            while stack:
                a = stack.pop()
                for i in self.adj[a]:
                    u, v = self.ends[i]
                    b = v if u == a else u
                    if comp[b] < 0:
                        comp[b] = c
                        stack.append(b)
            c += 1
        return comp

    def bridge(self, a: int, b: int, *, max_gap_m: float, label: str) -> None:
        """Join the components of ``a`` and ``b`` through gaps up to ``max_gap_m`` (recorded)."""
        from shapely.geometry import LineString

        while True:
            comp = self.components()
            if comp[a] == comp[b]:
                return
            ca = comp[a]
            xy = np.asarray(self.xy)
            ina = np.array([c == ca for c in comp])
            # candidate nodes: dangles and all nodes (small graphs)
            A = xy[ina]
            B = xy[~ina]
            ia = np.flatnonzero(ina)
            ib = np.flatnonzero(~ina)
            d = np.hypot(A[:, None, 0] - B[None, :, 0], A[:, None, 1] - B[None, :, 1])
            j = int(np.argmin(d))
            r, s = divmod(j, d.shape[1])
            g = float(d[r, s])
            p, q = ia[r], ib[s]
            if g > max_gap_m:
                mx, my = (xy[p] + xy[q]) / 2
                raise _GapError(label, g, (float(mx), float(my)), (tuple(xy[p]), tuple(xy[q])))
            self.add_edge(LineString([self.xy[p], self.xy[q]]))
            self.bridges.append({"gap_m": round(g, 2), "at": [round(float(xy[p][0]), 2), round(float(xy[p][1]), 2)]})

    def shortest_path(self, a: int, b: int, *, prefer: str | None = None,
                      ) -> tuple[list[tuple[float, float]], list[int]] | None:
        """Coordinates of the shortest path from node ``a`` to ``b`` and the edges used.

        ``prefer`` (a compass code) makes edges lying further that way cheaper (up to half
        price), so that of two parallel routes — the two banks of a river outline, the two
        carriageways of a road — the one on that side is taken. A single route is unaffected.
        """
        if a == b:
            return [self.xy[a]], []
        weight: dict[int, float] = {}
        if prefer in SIDE_VECTORS:
            d = _dir_of(prefer)
            live = self.live_edges()
            mids = {i: self.edges[i].interpolate(0.5, normalized=True) for i in live}
            proj = {i: mids[i].x * d[0] + mids[i].y * d[1] for i in live}
            lo, hi = min(proj.values()), max(proj.values())
            span = hi - lo
            for i in live:
                s = (hi - proj[i]) / span if span > 0 else 0.0
                weight[i] = self.edges[i].length * (0.5 + 0.5 * s)
        dist = {a: 0.0}
        prev: dict[int, tuple[int, int]] = {}
        heap = [(0.0, a)]
        while heap:
            d, n = heapq.heappop(heap)
            if n == b:
                break
            if d > dist.get(n, math.inf):
                continue
            for i in self.adj[n]:
                u, v = self.ends[i]
                m = v if u == n else u
                nd = d + (weight[i] if weight else self.edges[i].length)
                if nd < dist.get(m, math.inf) - 1e-9:
                    dist[m] = nd
                    prev[m] = (n, i)
                    heapq.heappush(heap, (nd, m))
        if b not in dist:
            return None
        seq: list[tuple[int, int, int]] = []
        n = b
        while n != a:
            p, i = prev[n]
            seq.append((p, n, i))
            n = p
        seq.reverse()
        coords: list[tuple[float, float]] = [self.xy[a]]
        used = []
        for p, n, i in seq:
            c = [tuple(xy[:2]) for xy in self.edges[i].coords]
            if self.ends[i][0] != p:
                c.reverse()
            coords.extend(c[1:])
            used.append(i)
        return coords, used


class _GapError(Exception):
    def __init__(self, label: str, gap: float, at: tuple[float, float], ends: Any) -> None:
        self.label, self.gap, self.at, self.ends = label, gap, at, ends
        super().__init__(label)


# ------------------------------------------------------------------ helpers


def _unit(v: tuple[float, float]) -> tuple[float, float]:
    n = math.hypot(*v)
    return (v[0] / n, v[1] / n) if n > 0 else (0.0, 0.0)


def _dir_of(direction: str) -> tuple[float, float]:
    return SIDE_VECTORS[direction]


def _lonlat(t: Any, x: float, y: float) -> list[float]:
    lon, lat = t.transform(x, y)
    return [round(float(lon), 7), round(float(lat), 7)]


def _end_ray(line_coords: list[tuple[float, float]], *, at_start: bool, length: float) -> "LineString":
    """Segment extending a polyline beyond one end along its end direction."""
    from shapely.geometry import LineString

    pts = line_coords if not at_start else line_coords[::-1]
    end = np.asarray(pts[-1], dtype=float)
    # direction from a point ~30 m back along the line
    back = end
    acc = 0.0
    for k in range(len(pts) - 2, -1, -1):
        q = np.asarray(pts[k], dtype=float)
        acc += float(np.hypot(*(back - q))) if k == len(pts) - 2 else float(np.hypot(*(np.asarray(pts[k + 1]) - q)))
        back = q
        if acc >= 30.0:
            break
    v = end - back
    n = float(np.hypot(*v))
    if n == 0:
        return LineString([tuple(end), tuple(end)])
    v = v / n
    return LineString([tuple(end), tuple(end + v * length)])


@dataclass
class _Item:
    """One feature of the ring (a matched, selected, possibly offset geometry)."""

    side: Side
    feature: FeatureRef
    match: "NameMatch"
    clusters: list[Any]  # candidate geometries (MultiLineString, GK), offset lines for offset features
    cluster_rows: list[np.ndarray]
    cluster_offset_info: list[dict[str, Any]]
    base: list[Any] = field(default_factory=list)  # the matched lines of each candidate, before any offset
    chosen: int = 0
    graph: _Graph | None = None
    constraint_info: list[dict[str, Any]] = field(default_factory=list)
    ambiguous: bool = False
    side_route_differs: bool = False

    @property
    def geom(self) -> Any:
        return self.clusters[self.chosen]

    @property
    def label(self) -> str:
        return f"{self.side.label}至 {self.feature.label()}"


def _cluster(geoms: np.ndarray, distance_m: float) -> list[np.ndarray]:
    """Group geometries whose mutual distance is within ``distance_m`` (union-find over an STRtree)."""
    import shapely

    n = len(geoms)
    if n == 0:
        return []
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=distance_m)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a.tolist(), b.tolist()):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
    roots = np.array([find(i) for i in range(n)])
    return [np.flatnonzero(roots == r) for r in dict.fromkeys(roots.tolist())]


def _side_of_line(pt: Any, line: Any, direction: str) -> float:
    """Signed distance-like measure: > 0 when ``pt`` lies in ``direction`` of ``line``."""
    from shapely.ops import nearest_points

    q = nearest_points(line, pt)[0]
    d = _dir_of(direction)
    return (pt.x - q.x) * d[0] + (pt.y - q.y) * d[1]


def _apply_constraint(lines: np.ndarray, cgeom: Any, direction: str) -> np.ndarray:
    """Cut lines at the constraint feature and keep the pieces on ``direction`` of it."""
    import shapely

    cut = shapely.get_parts(shapely.difference(lines, shapely.buffer(cgeom, 0.01)))
    cut = cut[~shapely.is_empty(cut)]
    if len(cut) == 0:
        return cut
    mids = shapely.line_interpolate_point(cut, 0.5, normalized=True)
    keep = np.array([_side_of_line(m, cgeom, direction) > 0 for m in mids], dtype=bool)
    return cut[keep]


def _main_line(lines: Sequence[Any], direction: str, *, tolerance_m: float, label: str) -> "LineString":
    """The through line of a cluster across the offset direction (for offsets)."""
    from shapely.geometry import LineString

    g = _Graph(lines)
    if not g.xy:
        raise AssemblyError(f"{label}: no line to offset")
    t = (_dir_of(direction)[1], -_dir_of(direction)[0])  # along the road, perpendicular to the offset
    cand = g.dangles() or list(range(len(g.xy)))
    proj = [g.xy[n][0] * t[0] + g.xy[n][1] * t[1] for n in cand]
    a = cand[int(np.argmin(proj))]
    b = cand[int(np.argmax(proj))]
    try:
        g.bridge(a, b, max_gap_m=tolerance_m, label=label)
    except _GapError as exc:
        raise AssemblyError(
            f"{label}: the road to offset is broken by a gap of {exc.gap:.1f} m at {exc.at[0]:.1f}, {exc.at[1]:.1f} "
            f"(GK metres); raise the tolerance above {math.ceil(exc.gap)} m or mend the network"
        ) from None
    res = g.shortest_path(a, b)
    if res is None or len(res[0]) < 2:
        raise AssemblyError(f"{label}: cannot find a through line to offset")
    return LineString(res[0])


def _offset_line(main: "LineString", distance_m: float, direction: str, *, extend_m: float) -> tuple[Any, dict[str, Any]]:
    """Parallel of ``main`` at ``distance_m`` on its ``direction`` side, extended at both ends."""
    import shapely
    from shapely import affinity
    from shapely.geometry import LineString

    d = _dir_of(direction)
    c = np.asarray(main.coords)[:, :2]
    u = _unit((c[-1][0] - c[0][0], c[-1][1] - c[0][1]))
    left = (-u[1], u[0])
    cos = left[0] * d[0] + left[1] * d[1]
    info: dict[str, Any] = {"distance_m": distance_m, "direction": direction}
    if abs(cos) < 0.5:
        off = affinity.translate(main, d[0] * distance_m, d[1] * distance_m)
        info["method"] = "shift (the road runs along the offset direction)"
    else:
        off = shapely.offset_curve(main, distance_m if cos > 0 else -distance_m, join_style="mitre", mitre_limit=5.0)
        if off.geom_type != "LineString":
            merged = shapely.line_merge(off)
            parts = shapely.get_parts(merged)
            off = max(parts, key=lambda p: p.length)
            info["note"] = "the offset curve broke into pieces; the longest was kept"
        info["method"] = "parallel offset (shapely.offset_curve)"
        # keep the orientation of main
        oc = np.asarray(off.coords)[:, :2]
        if np.hypot(*(oc[0] - c[0])) > np.hypot(*(oc[-1] - c[0])):
            off = LineString(oc[::-1])
    oc = [tuple(p) for p in np.asarray(off.coords)[:, :2]]
    head = _end_ray(oc, at_start=True, length=extend_m)
    tail = _end_ray(oc, at_start=False, length=extend_m)
    line = LineString([head.coords[1]] + oc + [tail.coords[1]])
    info["extended_each_end_m"] = round(extend_m, 2)
    return line, info


# ------------------------------------------------------------------ main


def digitize(
    spec: BoundarySpec | str,
    network: "gpd.GeoDataFrame | NetworkIndex",
    *,
    reference_point: tuple[float, float] | None = None,
    reference_crs: Any = "EPSG:4490",
    tolerance_m: float = 50.0,
    crs: Any | None = None,
    allow_fuzzy: bool = True,
    cluster_distance_m: float | None = None,
    name: str | None = None,
    quality: str | None = None,
) -> DigitizeResult:
    """Build the polygon a 四至 describes from a line network.

    Parameters
    ----------
    spec
        A :class:`~xclz_geo.boundaries.sizhi.BoundarySpec` or the 四至 text itself.
    network
        Line network in the schema of :func:`~xclz_geo.boundaries.network.load_network` (any CRS), or a
        prebuilt :class:`~xclz_geo.boundaries.network.NetworkIndex` over one (faster for several parts).
    reference_point
        Optional point inside the area, ``(x, y)`` in ``reference_crs`` (default lon/lat
        CGCS2000). It only breaks ties between equally good candidates.
    reference_crs
        CRS of ``reference_point``.
    tolerance_m
        Largest gap or extension closed at a corner or inside a feature, metres (default 50).
    crs
        Metric CRS to work in (default: the CGCS2000 3° Gauss-Krüger zone of the network).
    allow_fuzzy
        Accept fuzzy name matches (reported and warned about) when nothing better exists.
    cluster_distance_m
        Pieces of one name farther apart than this count as different candidates (the same
        name in two towns); default ``tolerance_m`` (pieces that touch or nearly touch).
    name, quality
        Name and quality label carried into the record and the GeoJSON properties.

    Returns
    -------
    DigitizeResult
        Polygon (GK CRS), areas and the resolution record.

    Raises
    ------
    SizhiParseError
        When ``spec`` is a text that cannot be parsed.
    NameNotResolvedError
        When a name matches nothing (the message lists the nearest names in the network).
    AssemblyError
        When the ring does not close (the message names the open corner, the gap in metres and
        its location in GK metres and lon/lat; ``exc.location`` is a lon/lat Point).
    """
    import shapely
    from shapely.geometry import LineString, Point

    from xclz_geo.boundaries.network import NetworkIndex, normalize_network
    from xclz_geo.units import area_triplet

    t0 = time.perf_counter()
    if isinstance(spec, str):
        spec = parse_sizhi(spec)
    if not isinstance(spec, BoundarySpec):
        raise InputDataError(f"spec must be a 四至 text or a BoundarySpec, not {type(spec).__name__}")
    if not (isinstance(tolerance_m, (int, float)) and math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise InputDataError(f"tolerance_m must be a non-negative number of metres, not {tolerance_m!r}")
    if tolerance_m > MAX_TOLERANCE_M:
        raise InputDataError(f"tolerance_m {format_distance_m(tolerance_m)} is beyond {MAX_TOLERANCE_M / 1000:g} km: "
                             "gaps that wide are not gaps between the roads of one boundary; use metres to a few hundred")
    tol = float(tolerance_m)
    cluster_d = float(cluster_distance_m) if cluster_distance_m is not None else max(tol, 0.01)

    # ---------------------------------------------------------------- match
    if isinstance(network, NetworkIndex):
        index = network
    else:
        from xclz_geo.boundaries.network import NETWORK_COLUMNS

        if not all(c in network.columns for c in NETWORK_COLUMNS):
            network = normalize_network(network)
        if network.crs is None:
            raise InputDataError("the network has no CRS; set one (gdf.set_crs('EPSG:4490')) or load it with crs=")
        index = NetworkIndex(network)
    net = index.network
    matches: list[tuple[Side, FeatureRef, "NameMatch"]] = []
    for side, f in spec.features():
        matches.append((side, f, index.match(f, allow_fuzzy=allow_fuzzy, context=f"{side.label}至")))
    constraint_matches: dict[str, "NameMatch | None"] = {}
    for side, f in spec.features():
        for c in f.constraints:
            if c.feature.name in constraint_matches:
                continue
            try:
                constraint_matches[c.feature.name] = index.match(c.feature, allow_fuzzy=allow_fuzzy,
                                                                 context=f"{side.label}至 {f.name} (bracket)")
            except NameNotResolvedError as exc:
                constraint_matches[c.feature.name] = None
                warnings.warn(f"constraint not checked: {exc}", DataQualityWarning, stacklevel=2)
    t_match = time.perf_counter()

    # ---------------------------------------------------------------- project the matched lines
    rows_needed = sorted({int(r) for _, _, m in matches for r in m.rows}
                         | {int(r) for m in constraint_matches.values() if m is not None for r in m.rows})
    geoms_src = np.asarray(net.geometry.values, dtype=object)[rows_needed]
    src_crs = net.crs
    if crs is not None:
        work_crs = _crs.require_metric_crs(crs, purpose="digitize")
    else:
        # the GK zone of the network when it is in one, else the zone of the matched features
        # (not of the whole network, which may span two zones)
        gk = _crs.gk_zone_of_crs(src_crs)
        work_crs = gk.crs if gk is not None and not gk.prefixed else _crs.gk_crs_for(
            shapely.total_bounds(geoms_src), crs=src_crs)
    to_geo = _crs.transformer(work_crs, _crs.CGCS2000_GEOGRAPHIC)
    if _crs.same_crs(src_crs, work_crs):
        geoms_gk = geoms_src
    else:
        tr = _crs.transformer(src_crs, work_crs)
        geoms_gk = shapely.transform(geoms_src, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    gk_of = dict(zip(rows_needed, geoms_gk))
    fids = index.feature_ids

    ref_xy = None
    if reference_point is not None:
        try:
            rx, ry = float(reference_point[0]), float(reference_point[1])
        except (TypeError, ValueError, IndexError):
            raise InputDataError(f"reference_point must be (x, y), not {reference_point!r}") from None
        rt = _crs.transformer(reference_crs, work_crs)
        ref_xy = tuple(float(v) for v in rt.transform(rx, ry))
        if not all(math.isfinite(v) for v in ref_xy):
            raise InputDataError(f"reference_point {reference_point} cannot be transformed from {reference_crs}")

    # ---------------------------------------------------------------- constraints, clusters, offsets
    constraint_geom: dict[str, Any] = {}
    for nm, m in constraint_matches.items():
        if m is not None:
            constraint_geom[nm] = shapely.union_all([gk_of[int(r)] for r in m.rows])

    items: list[_Item] = []
    for side, f, m in matches:
        label = f"{side.label}至 {f.name}"
        rows = np.asarray(m.rows, dtype=np.int64)
        lines = shapely.get_parts(np.asarray([gk_of[int(r)] for r in rows], dtype=object))
        line_rows = np.repeat(rows, [len(shapely.get_parts(gk_of[int(r)])) for r in rows])
        cinfo = []
        for c in f.constraints:
            cg = constraint_geom.get(c.feature.name)
            if cg is None:
                cinfo.append({"text": c.text, "feature": c.feature.name, "direction": c.direction,
                              "status": "not checked: feature not in the network"})
                continue
            before = len(lines)
            # remember which row each piece came from
            kept_lines = []
            kept_rows = []
            for ln, r in zip(lines, line_rows):
                for piece in _apply_constraint(np.asarray([ln], dtype=object), cg, c.direction):
                    kept_lines.append(piece)
                    kept_rows.append(r)
            if not kept_lines:
                raise NameNotResolvedError(
                    f"{label}: no section of {f.name} lies {SIDE_LABELS[c.direction]} of {c.feature.name} "
                    f"as the bracket ({c.text}) requires; check the network or the text"
                )
            lines = np.asarray(kept_lines, dtype=object)
            line_rows = np.asarray(kept_rows, dtype=np.int64)
            cinfo.append({"text": c.text, "feature": c.feature.name, "direction": c.direction,
                          "constraint_feature_ids": [fids[int(r)] for r in constraint_matches[c.feature.name].rows],  # type: ignore[union-attr]
                          "pieces_before": int(before), "pieces_kept": int(len(lines)), "status": "applied"})
        groups = _cluster(lines, cluster_d)
        clusters, crow, coff, base = [], [], [], []
        for g in groups:
            glines = list(lines[g])
            grows = np.unique(line_rows[g])
            if f.has_offset:
                assert f.offset_m is not None and f.offset_direction is not None
                if not f.offset_m <= MAX_OFFSET_M:  # a FeatureRef built by hand, not by the parser
                    raise SizhiParseError(f"{label}: offset {format_distance_m(f.offset_m)} is beyond "
                                          f"{MAX_OFFSET_M / 1000:g} km; a 四至 offset is metres to a few kilometres")
                main = _main_line(glines, f.offset_direction, tolerance_m=tol, label=label)
                off, info = _offset_line(main, f.offset_m, f.offset_direction, extend_m=f.offset_m + tol)
                clusters.append(shapely.multilinestrings([off]))
                coff.append(info)
            else:
                clusters.append(shapely.multilinestrings(glines))
                coff.append({})
            base.append(shapely.multilinestrings(glines))
            crow.append(grows)
        items.append(_Item(side=side, feature=f, match=m, clusters=clusters, cluster_rows=crow,
                           cluster_offset_info=coff, base=base, constraint_info=cinfo))
    if len(items) < 3:
        raise AssemblyError(
            f"a ring needs at least 3 boundary features; this 四至 names {len(items)} "
            f"({', '.join(it.feature.name for it in items)})"
        )

    # ---------------------------------------------------------------- choose clusters
    _choose_clusters(items, ref_xy=ref_xy, tol=tol)

    # ---------------------------------------------------------------- order the ring
    ring = _order_ring(items)

    # ---------------------------------------------------------------- corners
    n = len(ring)
    for it in ring:
        it.graph = _Graph(list(shapely.get_parts(it.geom)))
    centre = _centre(ring)
    corners: list[dict[str, Any]] = []
    connectors: list[tuple[Any, dict[str, Any]]] = []
    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        prev_it, next_it = ring[(i - 1) % n], ring[(i + 2) % n]
        corners.append(_corner(a, b, prev_it, next_it, centre=centre, tol=tol, to_geo=to_geo,
                               connectors=connectors))

    # ---------------------------------------------------------------- trim each feature between its corners
    paths: list[tuple[_Item, Any, list[int]]] = []
    for i, it in enumerate(ring):
        c_in = corners[(i - 1) % n]
        c_out = corners[i]
        assert it.graph is not None
        a = it.graph.insert_point(*c_in["_xy_b"])
        b = it.graph.insert_point(*c_out["_xy_a"])
        try:
            it.graph.bridge(a, b, max_gap_m=tol, label=it.label)
        except _GapError as exc:
            lon, lat = _lonlat(to_geo, *exc.at)
            err = AssemblyError(
                f"ring does not close along {it.label}: the feature is broken by a gap of {exc.gap:.1f} m at "
                f"x={exc.at[0]:.1f}, y={exc.at[1]:.1f} ({_crs.to_crs(work_crs).to_string()}) = lon {lon:.6f}, lat {lat:.6f}; "
                f"raise --tolerance-m above {math.ceil(exc.gap)} or mend the network"
            )
            err.location = Point(lon, lat)  # type: ignore[attr-defined]
            err.location_gk = Point(*exc.at)  # type: ignore[attr-defined]
            err.gap_m = exc.gap  # type: ignore[attr-defined]
            err.corner = it.label  # type: ignore[attr-defined]
            raise err from None
        prefer = it.feature.side_of_feature if it.feature.side_of_feature in SIDE_VECTORS else None
        res = it.graph.shortest_path(a, b)
        if res is None:  # pragma: no cover - bridge() guarantees connectivity
            raise AssemblyError(f"{it.label}: no path between its corners")
        if prefer:
            res_side = it.graph.shortest_path(a, b, prefer=prefer)
            it.side_route_differs = it.side_route_differs or (res_side is not None and res_side[1] != res[1])
            if res_side is not None:
                res = res_side
        coords, used = res
        # end exactly on the corners so that neighbouring paths share their end points
        coords = [tuple(c_in["_xy_b"])] + list(coords[1:-1]) + [tuple(c_out["_xy_a"])] if len(coords) >= 2 else coords
        paths.append((it, LineString(coords) if len(coords) >= 2 else None, used))

    # ---------------------------------------------------------------- node + polygonize
    pieces: list[dict[str, Any]] = []
    lines_for_poly = []
    for it, line, _used in paths:
        if line is not None and line.length > 0:
            lines_for_poly.append(line)
            pieces.append({"role": "feature", "side": it.side.direction, "name": it.feature.name,
                           "feature_ids": [fids[int(r)] for r in it.cluster_rows[it.chosen]],
                           "length_m": round(line.length, 2), "geometry": line})
    for geom, info in connectors:
        lines_for_poly.append(geom)
        pieces.append({"role": info["role"], "side": info.get("side"), "name": info.get("name"),
                       "feature_ids": [], "length_m": round(geom.length, 2), "geometry": geom})
    noded = shapely.union_all(np.asarray(lines_for_poly, dtype=object), grid_size=0.001)
    polys, cuts, dangles, invalid = shapely.polygonize_full(shapely.get_parts(noded))
    faces = list(shapely.get_parts(polys))
    if not faces:
        raise AssemblyError(
            "the boundary pieces do not enclose an area (polygonize found no face); "
            f"{len(shapely.get_parts(dangles))} dangling piece(s). Check the side order and the corners in the record"
        )
    face, face_scores = _pick_face(faces, paths, ref_xy=ref_xy)
    polygon = shapely.make_valid(face) if not face.is_valid else face
    if polygon.geom_type != "Polygon":
        parts = [p for p in shapely.get_parts(polygon) if p.geom_type == "Polygon"]
        polygon = max(parts, key=lambda p: p.area)
    polygon = shapely.orient_polygons(polygon, exterior_cw=False)
    t_assemble = time.perf_counter()

    # ---------------------------------------------------------------- checks and record
    pc = polygon.centroid
    rep = polygon.representative_point()
    sides_rec: list[dict[str, Any]] = []
    warn_msgs: list[str] = []
    for side in spec.sides:
        feats = []
        side_paths = [ln for it, ln, _ in paths if it.side is side and ln is not None]
        compass_ok = None
        if side_paths:
            sc = shapely.union_all(np.asarray(side_paths, dtype=object)).centroid
            d = _dir_of(side.direction)
            compass_ok = bool((sc.x - pc.x) * d[0] + (sc.y - pc.y) * d[1] > 0)
            if not compass_ok:
                warn_msgs.append(f"{side.label}至: the boundary section of this side does not lie on the "
                                 f"{side.label} side of the polygon's centre; check the result")
        for it, ln, used in paths:
            if it.side is not side:
                continue
            f = it.feature
            rows = it.cluster_rows[it.chosen]
            fr: dict[str, Any] = {
                "name": f.name, "text": f.text, "kind": f.kind, "ref": f.ref,
                "match": it.match.to_dict(fids),
                "feature_ids": [fids[int(r)] for r in rows],
                "candidates": len(it.clusters), "chosen_candidate": it.chosen,
                "length_matched_m": round(float(shapely.length(it.clusters[it.chosen])), 2),
                "length_used_m": round(float(ln.length), 2) if ln is not None else 0.0,
                "gaps_closed_inside": list(it.graph.bridges) if it.graph else [],
                "offset": it.cluster_offset_info[it.chosen] or None,
                "side_of_feature": None,
                "constraints": it.constraint_info,
            }
            if f.side_of_feature:
                inside = f.side_of_feature == side.direction
                fr["side_of_feature"] = {
                    "side": f.side_of_feature,
                    "reading": ("boundary on the feature's centre line" if f.side_of_feature == "C" else
                                f"boundary along the {f.side_of_feature} side of {f.name}: the feature lies "
                                f"{'inside' if inside else 'outside'} the area"),
                    "applied": (f"yes: of the parallel routes along {f.name} (banks, carriageways) the "
                                f"{f.side_of_feature} one is used" if it.side_route_differs else
                                "no: the network has one line here (a centre line), so the boundary follows it"),
                }
            fr["ambiguous"] = it.ambiguous
            if it.ambiguous:
                warn_msgs.append(
                    f"{side.label}至 {f.name}: {len(it.clusters)} candidates in the network close the ring equally well; "
                    f"took the one along the side and longest (feature ids {', '.join(fr['feature_ids'][:5])}). "
                    "Check it on a map, or give a reference point inside the area")
            if it.match.level == "fuzzy":
                warn_msgs.append(f"{f.name}: fuzzy match to {', '.join(it.match.matched_names)} "
                                 f"(similarity {it.match.fuzzy_score:.2f})")
            # constraint check on the result
            for ci in fr["constraints"]:
                cg = constraint_geom.get(ci["feature"])
                if cg is not None:
                    ok = _side_of_line(rep, cg, ci["direction"]) > 0
                    ci["polygon_on_required_side"] = bool(ok)
                    if not ok:
                        warn_msgs.append(f"{f.name} ({ci['text']}): the polygon does not lie "
                                         f"{SIDE_LABELS[ci['direction']]} of {ci['feature']}")
            feats.append(fr)
        sides_rec.append({"direction": side.direction, "label": side.label, "not_exhaustive": side.not_exhaustive,
                          "compass_ok": compass_ok, "features": feats})
    area = area_triplet(polygon.area)
    geodesic = _crs.geodesic_area_m2(polygon, crs=work_crs)
    work = _crs.to_crs(work_crs)
    gk = _crs.gk_zone_of_crs(work)
    record: dict[str, Any] = {
        "name": name,
        "quality": quality,
        "text": spec.text,
        "crs": f"EPSG:{work.to_epsg()}" if work.to_epsg() else work.to_string(),
        "crs_label": gk.label() if gk else work.name,
        "network_crs": net.crs.to_string() if net.crs is not None else None,
        "network_features": len(index),
        "tolerance_m": tol,
        "cluster_distance_m": cluster_d,
        "reference_point": list(reference_point) if reference_point is not None else None,
        "reference_point_used": None,
        "ring_order": [it.label for it in ring],
        "sides": sides_rec,
        "corners": [{k: v for k, v in c.items() if not k.startswith("_")} for c in corners],
        "gaps_closed": [c for c in ({k: v for k, v in c.items() if not k.startswith("_")} for c in corners)
                        if c["method"] != "intersection"]
                       + [dict(g, feature=it.label) for it in ring for g in (it.graph.bridges if it.graph else [])],
        "polygonize": {"faces": len(faces), "cut_edges": len(shapely.get_parts(cuts)),
                       "dangles": len(shapely.get_parts(dangles)), "invalid_rings": len(shapely.get_parts(invalid)),
                       "face_scores": face_scores},
        "area_m2": round(area["area_m2"], 2),
        "area_km2": round(area["area_km2"], 6),
        "area_ha": round(area["area_ha"], 4),
        "area_mu": round(area["area_mu"], 2),
        "geodesic_area_m2": round(geodesic, 2),
        "area_note": f"planar area in {work.name}; geodesic area on the CGCS2000 (GRS80) ellipsoid for comparison",
        "warnings": warn_msgs,
        "timings_s": {"match": round(t_match - t0, 4), "assemble": round(t_assemble - t_match, 4)},
    }
    if ref_xy is not None:
        record["reference_point_used"] = {
            "inside_polygon": bool(polygon.covers(Point(ref_xy))),
            "role": "tie-breaker only (cluster choice and face choice)",
        }
    for msg in warn_msgs:
        if not msg.startswith(tuple(f"{it.feature.name}: fuzzy" for it in ring)):
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
    return DigitizeResult(polygon=polygon, crs=work, spec=spec, record=record, pieces=pieces)


# ------------------------------------------------------------------ steps


def _centre(items: Sequence[_Item]) -> tuple[float, float]:
    """Mean of the side centroids (each side weighs the same)."""
    import shapely

    by_side: dict[str, list[Any]] = {}
    for it in items:
        by_side.setdefault(it.side.direction, []).append(it.geom)
    pts = [shapely.union_all(np.asarray(v, dtype=object)).centroid for v in by_side.values()]
    return (float(np.mean([p.x for p in pts])), float(np.mean([p.y for p in pts])))


def _ring_sides(items: Sequence[_Item]) -> list[str]:
    present = {it.side.direction for it in items}
    return [d for d in CLOCKWISE if d in present]


def _choose_clusters(items: list[_Item], *, ref_xy: tuple[float, float] | None, tol: float) -> None:
    """Pick one candidate per feature: compass-consistent ring with the smallest gaps; ref point breaks ties.

    Scored on the matched lines themselves (before offsets): the neighbours of an offset
    edge meet the road it is offset from, not the offset line.
    """
    import shapely

    counts = [len(it.clusters) for it in items]
    if all(c == 1 for c in counts):
        return
    # prune when the product explodes: keep the clusters nearest to the unambiguous features (or ref point)
    anchor = None
    fixed = [it.base[0] for it, c in zip(items, counts) if c == 1]
    if fixed:
        anchor = shapely.union_all(np.asarray(fixed, dtype=object)).centroid
    elif ref_xy is not None:
        from shapely.geometry import Point

        anchor = Point(ref_xy)
    options: list[list[int]] = []
    for it, c in zip(items, counts):
        idx = list(range(c))
        if anchor is not None and c > 6:
            d = shapely.distance(np.asarray(it.base, dtype=object), anchor)
            idx = [int(i) for i in np.argsort(d)[:6]]
        options.append(idx)
    while math.prod(len(o) for o in options) > MAX_COMBINATIONS:
        k = max(range(len(options)), key=lambda i: len(options[i]))
        options[k] = options[k][:-1]
    sides = _ring_sides(items)
    side_items = {d: [i for i, it in enumerate(items) if it.side.direction == d] for d in sides}
    # how much each candidate runs along its side (a north boundary runs east-west): 0 best, 1 worst
    across = [[_across(c, it.side.direction) for c in it.base] for it in items]
    best = None
    runner_up = None
    for combo in itertools.product(*options):
        side_geom = {}
        for d, idxs in side_items.items():
            side_geom[d] = shapely.union_all(np.asarray([items[i].base[combo[i]] for i in idxs], dtype=object))
        cents = {d: g.centroid for d, g in side_geom.items()}
        cx = float(np.mean([p.x for p in cents.values()]))
        cy = float(np.mean([p.y for p in cents.values()]))
        violations = 0
        if len(sides) >= 2:
            for d, p in cents.items():
                v = _dir_of(d)
                if (p.x - cx) * v[0] + (p.y - cy) * v[1] <= 0:
                    violations += 1
        gap = 0.0
        for k in range(len(sides)):
            a, b = side_geom[sides[k]], side_geom[sides[(k + 1) % len(sides)]]
            if len(sides) > 1:
                gap += float(a.distance(b))
        for d, idxs in side_items.items():
            for i in idxs:
                others = [items[j].base[combo[j]] for j in idxs if j != i]
                if others:
                    gap += float(min(shapely.distance(np.asarray(others, dtype=object), items[i].base[combo[i]])))
        ref_d = math.hypot(cx - ref_xy[0], cy - ref_xy[1]) if ref_xy is not None else 0.0
        length = sum(float(items[i].base[c].length) for i, c in enumerate(combo))
        orient = sum(across[i][c] for i, c in enumerate(combo))
        key = (violations, round(gap / max(tol, 1.0)), round(ref_d, 0), round(orient, 1), -round(length, 0), gap)
        if best is None or key < best[0]:
            runner_up = best
            best = (key, combo)
        elif runner_up is None or key < runner_up[0]:
            runner_up = (key, combo)
    assert best is not None
    for it, ci in zip(items, best[1]):
        it.chosen = int(ci)
    # the geometry cannot tell the two best apart (same compass fit, gaps and reference distance)
    if runner_up is not None and runner_up[0][:3] == best[0][:3]:
        for it, a, b in zip(items, best[1], runner_up[1]):
            if a != b:
                it.ambiguous = True


def _across(geom: Any, direction: str) -> float:
    """|cos| between a candidate's main axis and its side's direction (0: runs along the side as it should)."""
    import shapely

    xy = shapely.get_coordinates(geom)
    if len(xy) < 2:
        return 1.0
    xy = xy - xy.mean(axis=0)
    try:
        _, _, vt = np.linalg.svd(xy, full_matrices=False)
    except np.linalg.LinAlgError:  # pragma: no cover
        return 1.0
    u = vt[0]
    d = _dir_of(direction)
    return float(abs(u[0] * d[0] + u[1] * d[1]))


def _order_ring(items: list[_Item]) -> list[_Item]:
    """Sides clockwise; features within a side ordered to minimise gaps (compass order breaks ties)."""
    import shapely

    sides = _ring_sides(items)
    by_side = {d: [it for it in items if it.side.direction == d] for d in sides}
    # initial order: along the clockwise walking direction of each side
    order: dict[str, list[_Item]] = {}
    for d in sides:
        v = _dir_of(d)
        walk = (v[1], -v[0])
        its = by_side[d]
        order[d] = sorted(its, key=lambda it: (it.geom.centroid.x * walk[0] + it.geom.centroid.y * walk[1]))
    dist_cache: dict[tuple[int, int], float] = {}

    def dist(a: _Item, b: _Item) -> float:
        k = (id(a), id(b)) if id(a) < id(b) else (id(b), id(a))
        if k not in dist_cache:
            dist_cache[k] = float(shapely.distance(a.geom, b.geom))
        return dist_cache[k]

    def walk_rank(d: str, perm: Sequence[_Item]) -> int:
        base = order[d]
        # number of inversions relative to the compass order (tie-breaker)
        pos = [base.index(p) for p in perm]
        return sum(1 for i in range(len(pos)) for j in range(i + 1, len(pos)) if pos[i] > pos[j])

    for _ in range(2):
        for k, d in enumerate(sides):
            its = order[d]
            if len(its) < 2 or len(its) > 7:
                continue
            prev_last = order[sides[(k - 1) % len(sides)]][-1] if len(sides) > 1 else None
            next_first = order[sides[(k + 1) % len(sides)]][0] if len(sides) > 1 else None
            best = None
            for perm in itertools.permutations(its):
                g = sum(dist(perm[j], perm[j + 1]) for j in range(len(perm) - 1))
                if prev_last is not None and prev_last not in perm:
                    g += dist(prev_last, perm[0])
                if next_first is not None and next_first not in perm:
                    g += dist(perm[-1], next_first)
                key = (round(g, 1), walk_rank(d, perm))
                if best is None or key < best[0]:
                    best = (key, list(perm))
            assert best is not None
            order[d] = best[1]
    return [it for d in sides for it in order[d]]


def _endpoints(g: _Graph) -> list[int]:
    return g.dangles()


def _ray_from(g: _Graph, node: int, length: float) -> "LineString":
    """Ray extending the graph's line at dangling ``node`` by ``length``."""
    i = g.adj[node][0]
    coords = [tuple(c[:2]) for c in g.edges[i].coords]
    at_start = g.ends[i][0] == node
    return _end_ray(coords, at_start=at_start, length=length)


def _corner(
    a: _Item, b: _Item, prev_it: _Item, next_it: _Item, *, centre: tuple[float, float], tol: float, to_geo: Any,
    connectors: list[tuple[Any, dict[str, Any]]],
) -> dict[str, Any]:
    """Where feature ``a`` hands over to feature ``b``: intersection, extension or gap closure."""
    import shapely
    from shapely.geometry import LineString, Point

    ga, gb = a.geom, b.geom
    rec: dict[str, Any] = {"between": [a.label, b.label],
                           "sides": [a.side.direction, b.side.direction]}
    inter = shapely.intersection(ga, gb)
    pts: list[tuple[float, float]] = []
    if not inter.is_empty:
        for p in shapely.get_parts(inter):
            if p.geom_type == "Point":
                pts.append((p.x, p.y))
                continue
            # a shared section (the two features run together): its ends are the candidates
            ends = [(q.x, q.y) for q in shapely.get_parts(shapely.boundary(p))]
            if not ends:  # a closed shared loop has no boundary
                c = p.representative_point()
                ends = [(c.x, c.y)]
            pts.extend(ends)
    if pts:
        uniq: dict[tuple[float, float], tuple[float, float]] = {}
        for x, y in pts:
            uniq.setdefault(_key(x, y), (x, y))
        pts = list(uniq.values())
        if len(pts) > 1:
            # a bank/carriageway named by side (西侧) decides first; then the corner geometry
            sof = [_dir_of(it.feature.side_of_feature) for it in (a, b) if it.feature.side_of_feature in SIDE_VECTORS]

            def sof_rank(p: tuple[float, float]) -> float:
                return -round(sum(p[0] * d[0] + p[1] * d[1] for d in sof), 0)

            pts.sort(key=lambda p: (sof_rank(p), _corner_score(p, a, b, prev_it, next_it, centre)))
            if sof and len({sof_rank(p) for p in pts}) > 1:
                for it in (a, b):
                    if it.feature.side_of_feature in SIDE_VECTORS:
                        it.side_route_differs = True  # the named bank/carriageway decided the corner
        x, y = pts[0]
        rec.update({"method": "intersection", "gap_m": 0.0, "candidates": len(pts),
                    "point": [round(x, 3), round(y, 3)], "lonlat": _lonlat(to_geo, x, y), "_xy_a": (x, y), "_xy_b": (x, y)})
        return rec
    # no intersection: extension within the allowance, else a straight gap closure within the tolerance
    from shapely.ops import nearest_points

    p_a, p_b = nearest_points(ga, gb)
    gap = float(p_a.distance(p_b))
    allow = tol
    for it in (a, b):
        if it.feature.has_offset:
            allow = max(allow, float(it.feature.offset_m or 0.0) + tol)
    options: list[tuple[float, str, tuple[float, float], list[tuple[_Item, tuple[float, float]]], list[float]]] = []
    ga_graph, gb_graph = a.graph, b.graph
    assert ga_graph is not None and gb_graph is not None
    ends_a = sorted(_endpoints(ga_graph), key=lambda nd: Point(ga_graph.xy[nd]).distance(gb))[:2]
    ends_b = sorted(_endpoints(gb_graph), key=lambda nd: Point(gb_graph.xy[nd]).distance(ga))[:2]
    limit_a = limit_b = allow
    rays_a = [(nd, _ray_from(ga_graph, nd, 3 * allow + tol)) for nd in ends_a]
    rays_b = [(nd, _ray_from(gb_graph, nd, 3 * allow + tol)) for nd in ends_b]

    def first_hit(ray: "LineString", target: Any) -> tuple[float, tuple[float, float]] | None:
        h = shapely.intersection(ray, target)
        if h.is_empty:
            return None
        o = Point(ray.coords[0])
        best = None
        for q in shapely.get_parts(h):
            for c in (q.coords if q.geom_type == "Point" else shapely.get_coordinates(q)):
                d = o.distance(Point(c[:2]))
                if d > 1e-6 and (best is None or d < best[0]):
                    best = (d, (float(c[0]), float(c[1])))
        return best

    for nd, ray in rays_a:
        h = first_hit(ray, gb)
        if h and h[0] <= limit_a:
            options.append((h[0], "extension", h[1], [(a, ga_graph.xy[nd])], [h[0], 0.0]))
    for nd, ray in rays_b:
        h = first_hit(ray, ga)
        if h and h[0] <= limit_b:
            options.append((h[0], "extension", h[1], [(b, gb_graph.xy[nd])], [0.0, h[0]]))
    for nda, ra in rays_a:
        for ndb, rb in rays_b:
            h = shapely.intersection(ra, rb)
            if not h.is_empty and h.geom_type == "Point":
                ea = Point(ra.coords[0]).distance(h)
                eb = Point(rb.coords[0]).distance(h)
                if ea <= limit_a and eb <= limit_b:
                    options.append((ea + eb, "extension", (h.x, h.y), [(a, ga_graph.xy[nda]), (b, gb_graph.xy[ndb])], [ea, eb]))
    if options:
        options.sort(key=lambda o: o[0])
        total, _, (x, y), exts, lens = options[0]
        for it, start in exts:
            seg = LineString([start, (x, y)])
            assert it.graph is not None
            it.graph.add_edge(seg)
            connectors.append((seg, {"role": "extension", "side": it.side.direction, "name": it.feature.name}))
        rec.update({"method": "extension", "gap_m": round(gap, 2), "extension_m": [round(v, 2) for v in lens],
                    "point": [round(x, 3), round(y, 3)], "lonlat": _lonlat(to_geo, x, y),
                    "_xy_a": (x, y), "_xy_b": (x, y)})
        return rec
    if gap <= tol:
        seg = LineString([(p_a.x, p_a.y), (p_b.x, p_b.y)])
        connectors.append((seg, {"role": "gap", "side": a.side.direction, "name": f"{a.feature.name} → {b.feature.name}"}))
        mx, my = (p_a.x + p_b.x) / 2, (p_a.y + p_b.y) / 2
        rec.update({"method": "gap_closed", "gap_m": round(gap, 2), "point": [round(mx, 3), round(my, 3)],
                    "lonlat": _lonlat(to_geo, mx, my), "_xy_a": (p_a.x, p_a.y), "_xy_b": (p_b.x, p_b.y)})
        return rec
    mx, my = (p_a.x + p_b.x) / 2, (p_a.y + p_b.y) / 2
    lon, lat = _lonlat(to_geo, mx, my)
    corner_name = _corner_name(a, b)
    hint = ""
    if a.side.not_exhaustive or b.side.not_exhaustive:
        hint = " The side's list ends with 等, so an unlisted road may close this gap: add it to the text."
    err = AssemblyError(
        f"ring does not close at the {corner_name} corner between {a.label} and {b.label}: gap of {gap:.1f} m "
        f"around x={mx:.1f}, y={my:.1f} (GK metres) = lon {lon:.6f}, lat {lat:.6f}; nothing meets within the "
        f"tolerance of {tol:g} m. Raise --tolerance-m above {math.ceil(gap)}, or add the missing link to the network.{hint}"
    )
    err.location = Point(lon, lat)  # type: ignore[attr-defined]
    err.location_gk = Point(mx, my)  # type: ignore[attr-defined]
    err.gap_m = gap  # type: ignore[attr-defined]
    err.corner = corner_name  # type: ignore[attr-defined]
    err.between = (a.label, b.label)  # type: ignore[attr-defined]
    raise err


_CORNER_NAMES = {
    frozenset({"N", "E"}): "north-east", frozenset({"E", "S"}): "south-east", frozenset({"S", "W"}): "south-west",
    frozenset({"W", "N"}): "north-west",
}


def _corner_name(a: _Item, b: _Item) -> str:
    da, db = a.side.direction, b.side.direction
    if da == db:
        return f"{SIDE_LABELS[da]}-side ({da}) inner"
    return _CORNER_NAMES.get(frozenset({da, db}), f"{da}/{db}")


def _corner_score(p: tuple[float, float], a: _Item, b: _Item, prev_it: _Item, next_it: _Item,
                  centre: tuple[float, float]) -> float:
    """Lower is better: corners between sides lie out towards both sides; inner corners near the chain."""
    import shapely
    from shapely.geometry import Point

    pt = Point(p)
    if a.side.direction != b.side.direction:
        va, vb = _dir_of(a.side.direction), _dir_of(b.side.direction)
        v = (va[0] + vb[0], va[1] + vb[1])
        outward = (p[0] - centre[0]) * v[0] + (p[1] - centre[1]) * v[1]
        return -outward + 0.5 * (float(shapely.distance(prev_it.geom, pt)) + float(shapely.distance(next_it.geom, pt)))
    return float(shapely.distance(prev_it.geom, pt)) + float(shapely.distance(next_it.geom, pt))


def _pick_face(faces: list[Any], paths: list[tuple[_Item, Any, list[int]]],
               *, ref_xy: tuple[float, float] | None) -> tuple[Any, list[dict[str, Any]]]:
    """The face whose boundary carries the named features on their compass sides."""
    import shapely
    from shapely.geometry import Point

    if len(faces) == 1:
        return faces[0], [{"area_m2": round(faces[0].area, 2), "score": 1.0}]
    scores = []
    for f in faces:
        bnd = f.boundary
        c = f.centroid
        s = 0.0
        total = 0.0
        for it, ln, _ in paths:
            if ln is None:
                continue
            total += ln.length
            shared = shapely.intersection(ln, shapely.buffer(bnd, 0.5))
            if shared.is_empty:
                continue
            sc = shared.centroid
            d = _dir_of(it.side.direction)
            if (sc.x - c.x) * d[0] + (sc.y - c.y) * d[1] > 0:
                s += shared.length
        score = s / total if total > 0 else 0.0
        contains_ref = bool(ref_xy is not None and f.covers(Point(ref_xy)))
        scores.append((round(score, 3), contains_ref, f.area))
    order = sorted(range(len(faces)), key=lambda i: (-scores[i][0], not scores[i][1], -scores[i][2]))
    recs = [{"area_m2": round(faces[i].area, 2), "score": scores[i][0], "contains_reference_point": scores[i][1]}
            for i in order]
    return faces[order[0]], recs


__all__ = ["DigitizeResult", "digitize"]
