"""Regenerate the screenshots of the manual (docs/img/*.png) from the bundled data.

Every picture shows the bundled SCHEMATIC zone and the SYNTHETIC samples (data/samples/), as the
pictures themselves say. Needs Debian chromium + chromium-driver (as ``xclz-geo map --png``).
The PNGs are reduced to a 96-colour palette so the whole set stays a few hundred KB.

Usage: python scripts/docs_images.py [OUT_DIR]   (default docs/img)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

from xclz_geo.cli.main import main as cli
from xclz_geo.datasets import data_path
from xclz_geo.outputs.browser import HeadlessBrowser

ROOT = Path(__file__).resolve().parents[1]


def shrink(png: Path, *, width_px: int = 960, colours: int = 96) -> None:
    """Scale ``png`` to ``width_px`` wide and store it as a palette PNG."""
    im = Image.open(png).convert("RGB")
    if im.width > width_px:
        im = im.resize((width_px, round(im.height * width_px / im.width)), Image.LANCZOS)
    im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def shoot(html: Path, png: Path, *, anchor: str | None = None, width_px: int = 1100, height_px: int = 760) -> None:
    """Screenshot ``html`` (scrolled to the element ``#anchor`` when given)."""
    with HeadlessBrowser(width_px=width_px, height_px=height_px) as b:
        b.open(html)
        if anchor:
            b.driver.execute_script(f"document.getElementById({anchor!r}).scrollIntoView(true);")
        import time

        time.sleep(1.0)
        b.screenshot(png)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    samples = data_path("samples")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        date = ["--date", "2026-12-01"]
        assert cli(["map", "--out", str(t / "zone.html"), "--png", str(out / "map_zone.png"), *date]) == 0
        assert cli(["map", "--out", str(t / "sites.html"), "--sites", str(samples / "enterprises_synthetic.xlsx"),
                    "--x", "经度", "--y", "纬度", "--title", "宣城联动创新区 企业分布（合成样例）",
                    "--png", str(out / "map_sites.png"), *date]) == 0
        assert cli(["report", "--out", str(t / "report")]) == 0
        html = t / "report" / "land_efficiency_report.html"
        shoot(html, out / "report_top.png")
        shoot(html, out / "report_efficiency.png", anchor="sec-efficiency")
    for png in sorted(out.glob("*.png")):
        shrink(png)
        print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: {png.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
