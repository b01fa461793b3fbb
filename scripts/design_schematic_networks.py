#!/usr/bin/env python
"""Design the *schematic* line networks of data/boundaries/networks/ (one file per block).

No coordinates of the local roads, rivers and railways named in the plan's 四至 are
available (see data/boundaries/README.md). This script lays them out by hand, in
EPSG:4549 metres, so that the 四至 texts describe the intended areas:

* each side's features in the plan's order (clockwise: the east side north → south,
  the south side east → west), on the right compass side, chained as a staircase where a
  side lists several roads; convex corners are road crossings with overshoots, concave
  corners are junctions;
* 宣城经开区: its north edge is a line 1 km north of 奇秀路 (no road on it); the block is
  placed south-east of the city centre, south of the real G50 and west of the 水阳江 —
  an inference from place names (致学路 near the 合工大 campus in the south of the city),
  not a finding;
* 广德 主园区: around the one real pin inside it (太极大道780号), 无量溪河 a curving river on
  its west side, 芜杭铁路 on the north; 西区: west of the main park along the real G50,
  外环路 a parallel 550 m north of the G50, 318国道 north of it and 宣杭铁路 north of that;
* the G50 uses real OpenStreetMap vertices (the eastbound carriageway of the bridge ways
  in data/reference/, ODbL), joined by straight lines between bridges.

The size of each part is solved so that the face the lines enclose has the part's
official area (29.8, 26.21, 3.77 km²): a scale about the part's anchor for 宣城经开区
and the 主园区, the position of 318国道 for the 西区 (its south edge is tied to the real
G50). Run it again after changing the layout; then run scripts/build_boundaries.py.

Usage: python scripts/design_schematic_networks.py [--check]
  --check   compare with the committed files instead of writing them (exit 1 if they differ)
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import LineString, Point
from shapely.ops import substring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xclz_geo.geo import crs as _crs
from xclz_geo.boundaries.importing import county_outline, round_coordinates  # noqa: E402
from xclz_geo.datasets import reference_path  # noqa: E402
from xclz_geo.io import read_table, read_vector, write_table  # noqa: E402
from xclz_geo.boundaries.zone import load_spec  # noqa: E402

GK = "EPSG:4549"
OUT_DIR = ROOT / "data" / "boundaries" / "networks"
OVERSHOOT_M = 300.0
SCHEMATIC = "schematic"
NO_DATA = "No coordinates of this feature were found (data/reference/README.md); "
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 (bridge ways via GitHub jinfei-lab/amap-highway-picker)"
DESIGN_SOURCE = "hand layout by scripts/design_schematic_networks.py from the plan's 四至 (宣政秘〔2022〕14号)"


# ------------------------------------------------------------------ helpers


def ext(line: LineString, start_m: float = 0.0, end_m: float = 0.0) -> LineString:
    """Extend a line straight beyond its first/last vertex (overshoot past a crossing)."""
    c = [np.asarray(p, dtype=float) for p in line.coords]
    if start_m:
        d = c[0] - c[1]
        c.insert(0, c[0] + d / np.hypot(*d) * start_m)
    if end_m:
        d = c[-1] - c[-2]
        c.append(c[-1] + d / np.hypot(*d) * end_m)
    return LineString([tuple(p) for p in c])


def face_containing(lines: list[LineString], point: Point) -> Any:
    """The face of the noded lines that contains ``point`` (the intended part polygon)."""
    faces = list(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))).geoms)
    hits = [f for f in faces if f.contains(point)]
    if len(hits) != 1:
        raise RuntimeError(f"design error: {len(hits)} faces contain the anchor {point.wkt}")
    return hits[0]


def solve(area_m2: float, build: Callable[[float], Any], lo: float, hi: float) -> float:
    """Bisection on a monotonic parameter so that ``build(t).area`` equals ``area_m2``."""
    a_lo, a_hi = build(lo).area - area_m2, build(hi).area - area_m2
    if a_lo * a_hi > 0:
        raise RuntimeError(f"design error: area not bracketed ({a_lo:+.0f}, {a_hi:+.0f} m²)")
    for _ in range(80):
        mid = (lo + hi) / 2
        a_mid = build(mid).area - area_m2
        if abs(a_mid) < 1.0:
            return mid
        if (a_mid < 0) == (a_lo < 0):
            lo, a_lo = mid, a_mid
        else:
            hi = mid
    return (lo + hi) / 2


def scaled(line: LineString, k: float, origin: tuple[float, float]) -> LineString:
    return shapely.affinity.scale(line, xfact=k, yfact=k, origin=Point(origin))


def feature(name: str, geom: LineString, *, kind: str, evidence: str, ref: str = "", parts: str = "",
            role: str = "", source: str = DESIGN_SOURCE, **tags: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "ref": ref,
        "quality": SCHEMATIC,
        "evidence": evidence,
        "parts": parts,
        "role": role,
        "source": source,
        "highway": tags.get("highway", ""),
        "waterway": tags.get("waterway", ""),
        "railway": tags.get("railway", ""),
        "geometry": geom,
    }


def g50_line_gk(xmin: float, xmax: float) -> LineString:
    """The G50 through 广德 from real OSM vertices: eastbound bridge ways, joined in order of easting."""
    gdf = read_vector(reference_path("osm_motorway_g50_xuancheng_guangde.geojson"))
    g50 = gdf[(gdf["ref"] == "G50") & (gdf["layer"] == "osm_motorway_bridge")].to_crs(GK)
    pts: list[tuple[float, float]] = []
    for geom in g50.geometry:
        c = list(geom.coords)
        if c[-1][0] > c[0][0] and xmin <= c[0][0] <= xmax:  # eastbound carriageway only
            pts.extend(c)
    pts = sorted(set(pts))
    return LineString(pts)


def anchor_gk(name_fragment: str) -> tuple[float, float]:
    df = read_table(reference_path("anchor_points_xuancheng_guangde.csv"))
    row = df[df["name"].str.contains(name_fragment, regex=False)].iloc[0]
    x, y = _crs.transformer("EPSG:4490", GK).transform(float(row["lon_wgs84"]), float(row["lat_wgs84"]))
    return float(x), float(y)


# ------------------------------------------------------------------ 宣城经开区


def xuancheng(area_km2: float) -> tuple[list[dict[str, Any]], Any, dict[str, Any]]:
    anchor = (385000.0, 3419900.0)
    # corner points of the intended ring before scaling (EPSG:4549 m); clockwise from the NW corner
    nw, ne = (382200.0, 3422300.0), (387700.0, 3422500.0)
    e1 = 387700.0
    a_y, e2, b_y, e3 = 3420700.0, 387000.0, 3419000.0, 387500.0
    s1, w1, s2, w2, s3 = 3417900.0, 385900.0, 3417300.0, 384100.0, 3417800.0
    west = 382200.0
    o = OVERSHOOT_M

    def lines(k: float) -> dict[str, LineString]:
        sc = lambda g: scaled(g, k, anchor)  # noqa: E731
        north = sc(LineString([nw, ne]))
        nx, ny = np.subtract(north.coords[1], north.coords[0])
        nrm = np.array([-ny, nx]) / math.hypot(nx, ny)  # left normal = north
        qixiu = shapely.affinity.translate(north, *(-1000.0 * nrm))
        # the river-side avenue bends gently with the 水阳江 east of it
        shy = sc(LineString([(e1, ne[1]), (e1 + 120, (ne[1] + a_y) / 2), (e1, a_y)]))
        return {
            "north_edge": ext(north, 2 * o, 2 * o),
            "奇秀路": ext(qixiu, 2 * o, 2 * o),
            "水阳江西大道": ext(shy, 2 * o, o),
            "创业路": ext(sc(LineString([(e1, a_y), (e2, a_y)])), o, 0),
            "鸿越大道": sc(LineString([(e2, a_y), (e2, b_y)])),
            "景德路": ext(sc(LineString([(e2, b_y), (e3, b_y)])), 0, o),
            "文景路": ext(sc(LineString([(e3, b_y), (e3, s1)])), o, o),
            "致学路": ext(sc(LineString([(e3, s1), (w1, s1)])), o, 0),
            "三棵树路": ext(sc(LineString([(w1, s1), (w1, s2)])), 0, o),
            "宝城路": ext(sc(LineString([(w1, s2), (w2, s2)])), o, o),
            "奉公大道": ext(sc(LineString([(w2, s2), (w2, s3)])), o, 0),
            "关庙路": ext(sc(LineString([(w2, s3), (west, s3)])), 0, o),
            "长桥路": ext(sc(LineString([(west, s3), (west, nw[1])])), o, 2 * o),
        }

    def face(k: float) -> Any:
        ls = lines(k)
        return face_containing([g for n, g in ls.items() if n != "奇秀路"], Point(anchor))

    k = solve(area_km2 * 1e6, face, 0.5, 2.0)
    ls = lines(k)
    ev_common = NO_DATA + "placed south-east of the city centre (GeoNames/DataV anchors), south of the real G50 ring " \
        "and west of the 水阳江: an inference from place names, not a finding. "
    order = {
        "水阳江西大道": ("east", 1, "road", "N-S avenue on the west bank of the 水阳江; the east side's first (northern) road"),
        "创业路": ("east", 2, "road", "E-W jog of the east-side staircase, 2nd listed"),
        "鸿越大道": ("east", 3, "road", "N-S, the east side's 3rd road, stepped west of 水阳江西大道"),
        "景德路": ("east", 4, "road", "E-W jog back east, 4th road of the east side"),
        "文景路": ("south", 1, "road", "N-S stretch at the south-east corner, 1st road of the south side"),
        "致学路": ("south", 2, "road", "E-W, the south edge's eastern stretch (the name suggests the 合工大 campus south of the city)"),
        "三棵树路": ("south", 3, "road", "N-S jog of the south-side staircase"),
        "宝城路": ("south", 4, "road", "E-W, the southernmost stretch"),
        "奉公大道": ("south", 5, "road", "N-S jog back north"),
        "关庙路": ("south", 6, "road", "E-W, the south edge's western stretch, meeting 长桥路"),
        "长桥路": ("west", 1, "road", "N-S, the whole west side (an invoice places a firm on 长桥路 in the zone)"),
        "奇秀路": ("north", 1, "road", "E-W inside the block: the north edge is the line 1 km north of it (奇秀路以北一公里处), on which no road runs"),
    }
    feats = [
        feature(name, ls[name], kind=kind, parts="xuancheng", role=f"{side} side, feature {i} of the 四至",
                evidence=ev_common + note, highway="secondary" if kind == "road" else "")
        for name, (side, i, kind, note) in order.items()
    ]
    info = {"scale": k, "anchor": anchor}
    return feats, face(k), info


# ------------------------------------------------------------------ 广德经开区


def guangde(main_km2: float, west_km2: float) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    pin = anchor_gk("太极大道780号")
    o = OVERSHOOT_M
    g50 = g50_line_gk(415000.0, 460000.0)

    # -- main park, scaled about the 太极大道780号 pin
    def main_lines(k: float) -> dict[str, LineString]:
        sc = lambda g: scaled(g, k, pin)  # noqa: E731
        rail = sc(LineString([(443600, 3423050), (445500, 3423250), (447500, 3423400), (449500, 3423450), (451600, 3423350)]))
        minsheng = sc(LineString([(450450, 3423750), (450550, 3418550)]))
        j = (447900.0, 3418450.0)
        guangzao = ext(sc(LineString([(450550, 3419000), j])), o, 0)
        nanshan = ext(sc(LineString([j, (446600, 3418000), (445000, 3417900)])), 0, 400)
        t = np.linspace(0.0, 1.0, 60)
        ys = 3423900 - t * (3423900 - 3417400)
        xs = 445250 + 220 * np.sin(t * 3.2 * math.pi) + 120 * np.sin(t * 7.1 * math.pi + 0.6) - 150 * t
        river = sc(LineString(np.column_stack([xs, ys])))
        return {"芜杭铁路": rail, "民生路": minsheng, "光藻路": guangzao, "南山路": nanshan, "无量溪河": river}

    def main_face(k: float) -> Any:
        return face_containing(list(main_lines(k).values()), Point(pin))

    k_main = solve(main_km2 * 1e6, main_face, 0.6, 1.6)
    ml = main_lines(k_main)

    # -- west area: the south edge is tied to the real G50; solve the position of 318国道
    def south_of(line: LineString, x: float) -> float:
        """y of the line where it crosses the meridian-parallel x (EPSG:4549)."""
        hit = line.intersection(LineString([(x, 3.0e6), (x, 3.9e6)]))
        return float(min(p.y for p in shapely.get_parts(hit)))

    waihuan_full = g50.offset_curve(550.0)  # left of the eastbound G50 = north
    cut = lambda x: waihuan_full.project(Point(x, south_of(waihuan_full, x)))  # noqa: E731
    waihuan = substring(waihuan_full, cut(438300.0), cut(442000.0))
    x_e, x_w = 441100.0, 439300.0

    def west_lines(n_y: float) -> dict[str, LineString]:
        g318 = LineString([(438700, n_y + 40), (440200, n_y), (441700, n_y - 60)])
        xh = LineString([(437200, n_y + 520), (440200, n_y + 450), (443400, n_y + 380)])
        jingsi = LineString([(x_e, n_y + o), (x_e - 40, south_of(waihuan, x_e) - 250)])
        xianghua = LineString([(x_w + 150, n_y + o), (x_w - 100, south_of(waihuan, x_w) - 250)])
        return {"318国道": g318, "宣杭铁路": xh, "经四路": jingsi, "祥花线": xianghua, "外环路": waihuan}

    west_anchor = Point((x_e + x_w) / 2, south_of(waihuan, (x_e + x_w) / 2) + 300)

    def west_face(n_y: float) -> Any:
        ls = west_lines(n_y)
        return face_containing([g for n, g in ls.items() if n != "宣杭铁路"], west_anchor)

    n_y = solve(west_km2 * 1e6, west_face, 3419900.0, 3423000.0)
    wl = west_lines(n_y)

    ev = NO_DATA
    feats = [
        feature("民生路", ml["民生路"], kind="road", parts="guangde_main", role="east side",
                evidence=ev + "N-S east of the 太极大道780号 pin (the one real point inside the main park)", highway="secondary"),
        feature("光藻路", ml["光藻路"], kind="road", parts="guangde_main", role="south side, feature 1 (east)",
                evidence=ev + "south of the pin and north of the real G50", highway="secondary"),
        feature("南山路", ml["南山路"], kind="road", parts="guangde_main", role="south side, feature 2 (west)",
                evidence=ev + "continues the south edge west to 无量溪河, north of the real G50", highway="secondary"),
        feature("无量溪河", ml["无量溪河"], kind="water", parts="guangde_main", role="west side (西侧)",
                evidence=ev + "a curving river; the main park lies east of it (西至无量溪河西侧)", waterway="river"),
        feature("芜杭铁路", ml["芜杭铁路"], kind="rail", parts="guangde_main", role="north side",
                evidence=ev + "a smooth railway curve north of the pin", railway="rail"),
        feature("经四路", wl["经四路"], kind="road", parts="guangde_west", role="east side",
                evidence=ev + "N-S, the west area's east edge, west of the town and of the main park", highway="tertiary"),
        feature("外环路", wl["外环路"], kind="road", parts="guangde_west", role="south side (G50高速以北)",
                evidence=ev + "drawn as a parallel 550 m north of the real G50 (外环路(G50高速以北))", highway="primary"),
        feature("祥花线", wl["祥花线"], kind="road", parts="guangde_west", role="west side",
                evidence=ev + "a county road (线) running N-S, the west area's west edge", highway="tertiary"),
        feature("318国道", wl["318国道"], kind="road", ref="G318", parts="guangde_west", role="north side (宣杭铁路以南)",
                evidence=ev + "E-W north of the west area, south of 宣杭铁路 (318国道(宣杭铁路以南)); its position is solved "
                "so the west area has its official 3.77 km²", highway="trunk"),
        feature("宣杭铁路", wl["宣杭铁路"], kind="rail", parts="guangde_west", role="constraint of the north side",
                evidence=ev + "E-W railway about 450 m north of 318国道", railway="rail"),
        feature("沪渝高速", g50, kind="road", ref="G50", parts="guangde_main guangde_west",
                role="link: 主园区经G50沪渝高速往西至西区; constraint of 外环路",
                evidence="Real vertices: the eastbound carriageway of the OpenStreetMap G50 bridge ways in "
                "data/reference/osm_motorway_g50_xuancheng_guangde.geojson, joined by straight lines between bridges "
                "(up to 16 km apart, so between bridges the line is schematic).",
                source=OSM_ATTRIBUTION, highway="motorway"),
    ]
    info = {"scale_main": k_main, "pin": pin, "n_318": n_y}
    return feats, {"guangde_main": main_face(k_main), "guangde_west": west_face(n_y)}, info


# ------------------------------------------------------------------ checks and output


def check_design(faces: dict[str, Any], g50_gk: LineString) -> list[str]:
    """Design checks: area, county, pin, clearance from the real G50. Returns failures."""
    spec = load_spec()
    to_geo = _crs.transformer(GK, "EPSG:4490")
    fails = []
    for pid, face in faces.items():
        part = spec.part(pid)
        dev = (face.area / 1e6 - part.official_area_km2) / part.official_area_km2 * 100
        if abs(dev) > 0.1:
            fails.append(f"{pid}: area {face.area / 1e6:.3f} km² deviates {dev:+.2f}%")
        geo = shapely.transform(face, lambda xy: np.column_stack(to_geo.transform(xy[:, 0], xy[:, 1])))
        county = county_outline(spec.block(part.block_id).county_adcode)
        if not county.contains(geo):
            fails.append(f"{pid}: not inside its county {spec.block(part.block_id).county_name_zh}")
        print(f"{pid}: {face.area / 1e6:.4f} km² (official {part.official_area_km2}), "
              f"{face.distance(g50_gk):.0f} m from the G50 line")
    pin = Point(anchor_gk("太极大道780号"))
    if not faces["guangde_main"].contains(pin):
        fails.append("guangde_main does not contain the 太极大道780号 pin")
    else:
        print(f"guangde_main contains the pin, {faces['guangde_main'].exterior.distance(pin):.0f} m from its edge")
    return fails


def to_frame(block: str, feats: list[dict[str, Any]]) -> Any:
    import geopandas as gpd

    rows = [{"id": f"{block}/{i + 1:02d}", **f} for i, f in enumerate(feats)]
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK).to_crs("EPSG:4490")
    return round_coordinates(gdf)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = ap.parse_args()
    spec = load_spec()
    xfeats, xface, xinfo = xuancheng(spec.part("xuancheng").official_area_km2)
    gfeats, gfaces, ginfo = guangde(spec.part("guangde_main").official_area_km2, spec.part("guangde_west").official_area_km2)
    print(f"宣城经开区 scale {xinfo['scale']:.4f}; 主园区 scale {ginfo['scale_main']:.4f}; 318国道 at y={ginfo['n_318']:.0f}")
    g50_all = g50_line_gk(370000.0, 460000.0)
    fails = check_design({"xuancheng": xface, **gfaces}, g50_all)
    if fails:
        print("design check failed:\n  " + "\n  ".join(fails), file=sys.stderr)
        return 1
    frames = {"xuancheng": to_frame("xuancheng", xfeats), "guangde": to_frame("guangde", gfeats)}
    status = 0
    for block, gdf in frames.items():
        path = OUT_DIR / f"{block}.geojson"
        if args.check:
            old = read_vector(path)
            same = len(old) == len(gdf) and all(
                a.equals_exact(b, 1e-8) for a, b in zip(old.geometry, gdf.geometry)
            ) and list(old["name"]) == list(gdf["name"])
            print(f"{path.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS'}")
            status |= 0 if same else 1
        else:
            write_table(gdf, path, keep_crs=True)
            print(f"wrote {path.relative_to(ROOT)} ({len(gdf)} features)")
    return status


if __name__ == "__main__":
    sys.exit(main())
