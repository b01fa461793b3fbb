#!/usr/bin/env python
"""Regenerate the bundled schematic zone (data/boundaries/zone.geojson and zone.gpkg).

Each part's 四至 text (data/boundaries/spec.toml) is digitized by xclz_geo.boundaries.digitize over
its block's schematic network (data/boundaries/networks/, settings in build.toml). The
result is *schematic*: see data/boundaries/README.md. Nothing here draws a polygon by hand.

Usage: python scripts/build_boundaries.py [--check] [--out-dir DIR]
  --check     build in memory and compare with the committed files (exit 1 if they differ)
Writes zone.geojson, zone.gpkg and zone_record.json (the digitizer's record of every decision).
  --out-dir   write somewhere else than data/boundaries/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xclz_geo.boundaries.importing import build_schematic_boundaries, write_boundaries  # noqa: E402
from xclz_geo.errors import XclzGeoError  # noqa: E402
from xclz_geo.boundaries.zone import Zone, area_report, read_boundaries  # noqa: E402


def same_boundaries(a, b, *, tol_deg: float = 1e-8) -> list[str]:
    """Differences between two boundaries tables (attributes exactly, vertices within ``tol_deg``)."""
    diffs = []
    if list(a["part_id"]) != list(b["part_id"]):
        return [f"parts differ: {list(a['part_id'])} vs {list(b['part_id'])}"]
    for col in ("block_id", "name_zh", "name_en", "official_area_km2", "quality", "positional_uncertainty_m", "source"):
        if list(a[col]) != list(b[col]):
            diffs.append(f"column {col} differs")
    for pid, ga, gb in zip(a["part_id"], a.geometry, b.geometry):
        if not ga.equals_exact(gb, tol_deg):
            diffs.append(f"geometry of {pid} differs (symmetric difference {ga.symmetric_difference(gb).area:.3g} deg²)")
    return diffs


def record_text(records: dict) -> str:
    """The digitizer's records as stable JSON (run timings dropped)."""
    clean = {pid: {k: v for k, v in rec.items() if k != "timings_s"} for pid, rec in records.items()}
    return json.dumps(clean, ensure_ascii=False, indent=1, sort_keys=False, default=str) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description="Regenerate data/boundaries/zone.geojson and zone.gpkg through the digitizer.")
    ap.add_argument("--check", action="store_true", help="compare a fresh build with the committed files; write nothing")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "data" / "boundaries")
    args = ap.parse_args()
    try:
        gdf, records = build_schematic_boundaries()
    except XclzGeoError as exc:
        print(f"build_boundaries: {exc}", file=sys.stderr)
        return 2
    report = area_report(Zone.from_boundaries(gdf))
    for p in report.parts:
        print(f"{p.id:13s} {p.measured_km2:8.3f} km²  official {p.official_km2:6.2f}  {p.deviation_pct:+.2f}%  {p.quality}")
    if args.check:
        diffs = []
        for name in ("zone.geojson", "zone.gpkg"):
            path = args.out_dir / name
            d = same_boundaries(read_boundaries(path), gdf) if path.exists() else [f"{path} missing"]
            diffs += [f"{name}: {x}" for x in d]
        print("\n".join(diffs) if diffs else "committed zone.geojson and zone.gpkg equal a fresh build")
        rec_path = args.out_dir / "zone_record.json"
        if not rec_path.exists() or rec_path.read_text(encoding="utf-8") != record_text(records):
            # the record documents the build; its format may grow with the digitizer, so only say so
            print("note: zone_record.json differs from the fresh build's record; run without --check to refresh it")
        return 1 if diffs else 0
    for name in ("zone.geojson", "zone.gpkg"):
        write_boundaries(gdf, args.out_dir / name)
        print(f"wrote {args.out_dir / name}")
    (args.out_dir / "zone_record.json").write_text(record_text(records), encoding="utf-8")
    print(f"wrote {args.out_dir / 'zone_record.json'} (how each part was digitized)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
