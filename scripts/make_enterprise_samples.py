#!/usr/bin/env python3
"""Write the SYNTHETIC enterprise sample ``data/samples/enterprises_synthetic.csv`` (and ``.xlsx``).

Every firm, name, credit code, figure and coordinate is invented by a seeded random generator;
nothing describes a real enterprise. Coordinates (WGS84) are drawn in and around the zone parts of
``data/boundaries/zone.geojson`` when it exists, else around the synthetic rectangles of
``tests/conftest.py``. A few rows are deliberately bad, to show every status of the evaluation.

Run: ``python scripts/make_enterprise_samples.py [--seed 8] [--n 150] [--out data/samples]``
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

#: GB/T 4754-2017 codes drawn for the firms (manufacturing typical of the two zones)
INDUSTRIES = [
    ("3670", "汽车零部件及配件制造"), ("3311", "金属结构制造"), ("3484", "机械零部件加工"),
    ("3824", "电力电子元器件制造"), ("3976", "光电子器件制造"), ("2927", "日用塑料制品制造"),
    ("2669", "其他专用化学产品制造"), ("2710", "化学药品原料药制造"), ("3032", "建筑用石加工"),
    ("1391", "食用菌加工"), ("2110", "木质家具制造"), ("1713", "棉印染精加工"),
    ("3130", "钢压延加工"), ("3251", "铜压延加工"), ("3560", "电子和电工机械专用设备制造"),
]


def _boundaries():
    import geopandas as gpd

    z = ROOT / "data" / "boundaries" / "zone.geojson"
    if z.exists():
        return gpd.read_file(z), f"{z.relative_to(ROOT)}"
    spec = importlib.util.spec_from_file_location("_xclz_conftest", ROOT / "tests" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod.make_synthetic_boundaries(), "synthetic rectangles of tests/conftest.py"


def _points(parts, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n WGS84 points: ~85% inside a part (rejection sampling), the rest within ~3 km outside."""
    import shapely

    g = parts.to_crs("EPSG:4549")
    geoms = [x for x in g.geometry if x is not None and not x.is_empty]
    areas = np.array([x.area for x in geoms])
    xs, ys = np.empty(n), np.empty(n)
    for i in range(n):
        poly = geoms[rng.choice(len(geoms), p=areas / areas.sum())]
        minx, miny, maxx, maxy = poly.bounds
        inside = rng.random() < 0.85
        while True:
            pad = 0 if inside else 3000
            x, y = rng.uniform(minx - pad, maxx + pad), rng.uniform(miny - pad, maxy + pad)
            hit = shapely.contains_xy(poly, x, y)
            if hit == inside:
                break
        xs[i], ys[i] = x, y
    import pyproj

    t = pyproj.Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(xs, ys)
    return np.round(lon, 6), np.round(lat, 6)


def _credit_code(rng: np.random.Generator, i: int) -> str:
    # 18 characters shaped like a 统一社会信用代码 but deliberately invalid (prefix "SYN"); not a real code
    return f"SYN3418{i:04d}{''.join(rng.choice(list('0123456789ABCDEFGH'), 7))}"


def make(n: int = 150, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts, _ = _boundaries()
    lon, lat = _points(parts, n, rng)
    rows = []
    for i in range(n):
        above = rng.random() < 0.7
        code, iname = INDUSTRIES[rng.integers(len(INDUSTRIES))]
        land = float(np.round(rng.lognormal(math.log(60 if above else 12), 0.7), 1))
        if not above:
            land = max(land, 2.0)
        revenue = float(np.round(land * rng.lognormal(math.log(300 if above else 120), 0.6), 1))
        if above:
            revenue = max(revenue, 2000.0 + rng.uniform(0, 500))
        else:
            revenue = min(revenue, 1990.0)
        tax = float(np.round(revenue * rng.uniform(0.01, 0.06), 2))
        va = float(np.round(revenue * rng.uniform(0.15, 0.35), 1))
        staff = int(max(5, land * rng.uniform(0.8, 4.0)))
        rows.append({
            "统一社会信用代码": _credit_code(rng, i + 1),
            "企业名称": f"合成示例企业{i + 1:03d}（虚构）",
            "是否规上": "是" if above else "否",
            "行业代码": code,
            "行业名称": iname,
            "用地面积(亩)": land,
            "实缴税金(万元)": tax,
            "营业收入(万元)": round(revenue, 1),
            "工业增加值(万元)": va,
            "技改投资(万元)": float(np.round(revenue * rng.uniform(0, 0.08), 1)),
            "综合能耗(吨标煤)": float(np.round(revenue * rng.uniform(0.02, 0.3), 1)),
            "主要污染物排放当量(吨)": float(np.round(revenue * rng.uniform(0.0005, 0.004), 3)),
            "研发经费(万元)": float(np.round(revenue * rng.uniform(0.0, 0.05), 1)) if above else None,
            "年平均职工人数": staff,
            "用电量(万千瓦时)": float(np.round(revenue * rng.uniform(0.05, 0.4), 1)),
            "经度": float(lon[i]) if rng.random() < 0.9 else None,
            "纬度": float(lat[i]),
            "数据质量": "synthetic",
            "备注": "合成数据，仅供演示（synthetic）",
        })
    df = pd.DataFrame(rows)
    df.loc[df["经度"].isna(), "纬度"] = None
    # deliberately bad or special rows, each explained in 备注
    bad = [
        (0, {"用地面积(亩)": 0.0}, "合成：用地面积为 0（租赁厂房）→ not_evaluated"),
        (1, {"实缴税金(万元)": None, "是否规上": "是", "用地面积(亩)": 42.0, "营业收入(万元)": 9800.0}, "合成：实缴税金缺失 → invalid"),
        (2, {"工业增加值(万元)": -320.0, "实缴税金(万元)": 0.0}, "合成：亏损企业（增加值为负、未缴税）→ evaluated"),
        (3, {"是否规上": "否", "用地面积(亩)": 3.2, "营业收入(万元)": 800.0}, "合成：规下且用地不足 5 亩 → not_evaluated"),
        (4, {"实缴税金(万元)": "约120"}, "合成：数值列中写了文字 → invalid"),
        (5, {"行业代码": "4411", "行业名称": "火力发电"}, "合成：公用事业（供电）→ not_evaluated"),
        (6, {"实缴税金(万元)": -15.5}, "合成：净退税（税金为负）→ evaluated"),
        (7, {"综合能耗(吨标煤)": None, "主要污染物排放当量(吨)": None}, "合成：能耗和排放缺失 → 按平均得分计"),
        (8, {"用地面积(亩)": None}, "合成：用地面积缺失 → not_evaluated"),
    ]
    df = df.astype({c: object for c in df.columns})
    for i, changes, note in bad:
        for k, v in changes.items():
            df.at[i, k] = v
        df.at[i, "备注"] = note
    # a duplicated credit code (rows 9 and 10 share one)
    df.at[10, "统一社会信用代码"] = df.at[9, "统一社会信用代码"]
    df.at[9, "备注"] = df.at[10, "备注"] = "合成：统一社会信用代码重复 → invalid"
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--out", default=str(ROOT / "data" / "samples"))
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    df = make(a.n, a.seed)
    df.to_csv(out / "enterprises_synthetic.csv", index=False, encoding="utf-8-sig")
    df.to_excel(out / "enterprises_synthetic.xlsx", index=False, sheet_name="企业数据（合成）")
    _, src = _boundaries()
    print(f"wrote {len(df)} synthetic firms to {out}/enterprises_synthetic.csv/.xlsx (coordinates around {src})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
