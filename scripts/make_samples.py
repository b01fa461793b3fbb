#!/usr/bin/env python
"""Build the SYNTHETIC land-use samples of ``data/samples/`` (seeded, reproducible).

* ``landuse_parcels_synthetic.gpkg`` — a few hundred 三调-style parcels (图斑) with ``DLBM``/``DLMC``
  and development-zone attributes for TD/T 1029 indicators (供地状态 已建成/已供未建/闲置/未供应,
  建筑面积, 建筑基底面积, 固定资产投资), covering the parts of ``data/boundaries/zone.geojson``
  (or, when that file is missing, the synthetic rectangles of ``tests/conftest.py``). Parcels
  along the part boundaries straddle it, as real 图斑 do. Every row has ``quality = synthetic``.
* ``landcover_synthetic.tif`` — a CLCD-like land-cover raster (values 1–9, 0 = nodata) at
  0.00025° (about 24 m × 28 m) in EPSG:4326, derived from the parcels inside the zone and a
  smooth random pattern outside; GeoTIFF tag ``quality=synthetic``.

Nothing here describes real land: the positions, codes and figures are invented.

Run: ``.venv/bin/python scripts/make_samples.py [--seed 20261126] [--parcels 320]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

#: 三调 DLBM codes and their weights in a development zone (share of parcels)
CODE_MIX = [
    ("0601", "工业用地", 0.46), ("0508", "物流仓储用地", 0.06), ("05H1", "商业服务业设施用地", 0.06),
    ("0701", "城镇住宅用地", 0.06), ("0702", "农村宅基地", 0.03), ("08H1", "机关团体新闻出版用地", 0.015),
    ("08H2", "科教文卫用地", 0.025), ("0809", "公用设施用地", 0.02), ("0810", "公园与绿地", 0.04),
    ("1004", "城镇村道路用地", 0.05), ("1003", "公路用地", 0.01), ("1101", "河流水面", 0.01),
    ("1104", "坑塘水面", 0.02), ("0101", "水田", 0.04), ("0103", "旱地", 0.015), ("0301", "乔木林地", 0.02),
    ("1201", "空闲地", 0.02), ("1202", "设施农用地", 0.01),
]
CONSTRUCTION = {"0601", "0508", "05H1", "0701", "0702", "08H1", "08H2", "0809"}
#: CLCD-like raster class of each DLBM code (1 cropland, 2 forest, 4 grassland, 5 water, 8 impervious)
CLCD_OF = {"0101": 1, "0103": 1, "0301": 2, "0810": 4, "1101": 5, "1104": 5, "1201": 7, "1202": 1}


def load_parts():
    """Part polygons in EPSG:4549 and where they came from."""
    bundled = ROOT / "data" / "boundaries" / "zone.geojson"
    if bundled.exists():
        from xclz_geo.boundaries.zone import Zone

        z = Zone.load()
        parts = z.parts_gk.to_crs("EPSG:4549")
        return parts, f"data/boundaries/zone.geojson ({z.worst_quality})"
    from conftest import make_synthetic_boundaries

    return make_synthetic_boundaries().to_crs("EPSG:4549"), "synthetic rectangles of tests/conftest.py"


def make_parcels(parts, n_total: int, rng: np.random.Generator):
    import geopandas as gpd
    import shapely
    from conftest import random_voronoi_cells

    from xclz_geo import units

    areas = parts.geometry.area.to_numpy()
    counts = np.maximum(8, np.round(areas / areas.sum() * n_total)).astype(int)
    rows, geoms = [], []
    codes = [c for c, _, _ in CODE_MIX]
    names = {c: n for c, n, _ in CODE_MIX}
    weights = np.array([w for _, _, w in CODE_MIX])
    weights = weights / weights.sum()
    serial = 0
    for (_, part), k in zip(parts.iterrows(), counts):
        g = part.geometry
        # parcels cover the part and a 120 m margin, so those along the edge straddle the boundary
        cover = g.buffer(120.0, join_style="mitre")
        cells = random_voronoi_cells(cover, k, rng)
        cells = cells[shapely.area(cells) > 50]
        for cell in cells:
            serial += 1
            code = str(rng.choice(codes, p=weights))
            area = float(cell.area)
            row = {
                "BSM": f"SYN{serial:06d}",
                "TBBH": f"{serial:04d}",
                "DLBM": code,
                "DLMC": names[code],
                "QSXZ": "20" if code in CONSTRUCTION or code.startswith("10") else "30",
                "ZLDWMC": f"{part['name_zh']}（虚构）",
                "TBMJ": round(area, 2),
                "part_hint": part["part_id"],
                "供地状态": "",
                "建筑面积": np.nan,
                "建筑基底面积": np.nan,
                "固定资产投资": np.nan,
                "企业名称": "",
                "quality": "synthetic",
                "备注": "synthetic sample (scripts/make_samples.py); not real land",
            }
            if code in CONSTRUCTION:
                status = str(rng.choice(["已建成", "已供未建", "闲置", "未供应"], p=[0.72, 0.14, 0.04, 0.10]))
                row["供地状态"] = status
                if status == "已建成":
                    far = {"0601": rng.uniform(0.6, 1.6), "0508": rng.uniform(0.5, 1.2), "05H1": rng.uniform(1.2, 3.0),
                           "0701": rng.uniform(1.5, 2.8), "0702": rng.uniform(0.5, 1.0)}.get(code, rng.uniform(0.6, 1.5))
                    cover_ratio = {"0601": rng.uniform(0.35, 0.6), "0508": rng.uniform(0.4, 0.6)}.get(code, rng.uniform(0.2, 0.4))
                    row["建筑面积"] = round(area * far, 1)
                    row["建筑基底面积"] = round(area * cover_ratio, 1)
                if code in ("0601", "0508") and status in ("已建成", "已供未建", "闲置"):
                    per_mu = rng.uniform(150, 600) if status == "已建成" else rng.uniform(10, 120)
                    row["固定资产投资"] = round(units.m2_to_mu(area) * per_mu, 1)  # 万元
                    row["企业名称"] = f"样例企业{serial:04d}（虚构）"
            rows.append(row)
            geoms.append(cell)
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4549")
    # deliberately special rows, for the demo and the tests (see 备注)
    specials = [
        (0, "1104A", "养殖坑塘", "suffix variant of 1104 (养殖坑塘): matched to its base code"),
        (1, "0601K", "工业用地", "K suffix (可调整): matched to 0601"),
        (2, "0699", "未知地类", "deliberately unknown code: reported, never dropped"),
    ]
    for i, code, name, note in specials:
        j = int(rng.integers(0, len(gdf)))
        gdf.loc[j, ["DLBM", "DLMC", "备注"]] = [code, name, f"synthetic sample; {note}"]
    return gdf


def make_raster(path: Path, parcels, parts, rng: np.random.Generator) -> None:
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import Affine

    def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
        # rasterio's from_origin, without affine 3's PendingDeprecationWarning
        return Affine(xsize, 0.0, west, 0.0, -ysize, north)

    geo = parcels.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = parts.to_crs("EPSG:4326").total_bounds
    res = 0.00025
    x0 = np.floor((minx - 0.01) / res) * res
    y1 = np.ceil((maxy + 0.01) / res) * res
    w = int(np.ceil((maxx + 0.01 - x0) / res))
    h = int(np.ceil((y1 - (miny - 0.01)) / res))
    T = from_origin(x0, y1, res, res)
    # background: smooth random field → cropland / forest / water / grassland / impervious
    coarse = rng.random((h // 16 + 2, w // 16 + 2))
    field = np.kron(coarse, np.ones((16, 16)))[:h, :w]
    bg = np.select([field < 0.45, field < 0.72, field < 0.80, field < 0.88], [1, 2, 5, 4], default=8).astype(np.uint8)
    cls = [(g, 8 if code[:4] not in CLCD_OF else CLCD_OF[code[:4]]) for g, code in zip(geo.geometry, geo["DLBM"])]
    built = rasterize(cls, out_shape=(h, w), transform=T, fill=0, dtype="uint8")
    data = np.where(built > 0, built, bg).astype(np.uint8)
    noise = rng.random((h, w)) < 0.06
    data = np.where(noise, rng.integers(1, 10, size=(h, w)).astype(np.uint8), data)
    data[rng.random((h, w)) < 0.001] = 0  # scattered nodata
    prof = dict(driver="GTiff", height=h, width=w, count=1, dtype="uint8", crs="EPSG:4326", transform=T, nodata=0,
                tiled=True, blockxsize=256, blockysize=256, compress="deflate")
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
        dst.update_tags(quality="synthetic", classes="CLCD-like (1 cropland 2 forest 3 shrub 4 grassland 5 water 6 snow/ice 7 barren 8 impervious 9 wetland)",
                        source="scripts/make_samples.py (synthetic; not real land cover)", licence="CC0")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--parcels", type=int, default=320, help="approximate number of parcels (default 320)")
    ap.add_argument("--out-dir", default=str(ROOT / "data" / "samples"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts, where = load_parts()
    parcels = make_parcels(parts, args.parcels, rng)
    gpkg = out / "landuse_parcels_synthetic.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    parcels.to_file(gpkg, layer="landuse_parcels_synthetic", driver="GPKG", engine="pyogrio")
    tif = out / "landcover_synthetic.tif"
    make_raster(tif, parcels, parts, rng)
    print(f"parts from {where}")
    print(f"wrote {gpkg} ({len(parcels)} parcels, EPSG:4549) and {tif} ({tif.stat().st_size / 1e6:.2f} MB, EPSG:4326)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
