"""The documentation: the MkDocs site builds offline and strictly, and the Chinese manual's commands run.

The manual cannot drift from the tool:

- every ``xclz-geo …`` line in a fenced ``bash`` block of the manuals (``docs/zh``, ``docs/en``) and of
  README.md must parse with today's command line (an option renamed or removed fails here);
- the blocks of the Chinese manual marked ``<!-- run -->`` (or ``<!-- run exit=1 -->``) are run in
  process, in a temporary folder holding the input files the chapter names (made here from the bundled
  data: a CSV of sites in BD-09, a DXF red line built with ezdxf, copies of the synthetic samples …),
  and must end with the exit status the chapter states and write the ``--out`` file they name;
- a ``text`` block marked ``<!-- output -->`` after a run block is output the tool prints: each of its
  lines without an ellipsis (…) must appear in what the block's commands printed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xclz_geo.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ZH = DOCS / "zh"

#: one chapter per task of the Chinese manual (issue 14)
TASK_CHAPTERS = {
    "locate.md": "核查选址",
    "batch.md": "批量核查企业名单",
    "import.md": "导入红线",
    "areas.md": "面积核对",
    "digitize.md": "四至数字化",
    "efficiency.md": "亩均效益评价",
    "landuse.md": "土地利用构成",
    "map.md": "离线地图",
}
#: chapters whose commands take more than a few seconds (full reports, parcels overlays)
SLOW_CHAPTERS = {"report.md", "efficiency.md"}

_FENCE = re.compile(r"^```(\w*)\s*$")
_RUN = re.compile(r"^<!--\s*run(?:\s+exit=(\d))?\s*-->\s*$")
_OUTPUT = re.compile(r"^<!--\s*output\s*-->\s*$")


@dataclass
class Block:
    lang: str
    lines: list[str]
    run: bool = False
    exit_code: int = 0
    output: bool = False
    line_no: int = 0

    def commands(self) -> list[str]:
        """The ``xclz-geo`` command lines of the block (continuations joined, env assignments kept)."""
        joined: list[str] = []
        buf = ""
        for line in self.lines:
            if line.rstrip().endswith("\\"):
                buf += line.rstrip()[:-1] + " "
                continue
            joined.append(buf + line)
            buf = ""
        if buf:
            joined.append(buf)
        return [c.strip() for c in joined if re.match(r"^([A-Z_]+=\S*\s+)*xclz-geo(\s|$)", c.strip())]


@dataclass
class Chapter:
    path: Path
    blocks: list[Block] = field(default_factory=list)


def parse_markdown(path: Path) -> Chapter:
    """Fenced blocks of a Markdown file with the ``<!-- run -->`` / ``<!-- output -->`` mark before each."""
    chapter = Chapter(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    mark: tuple[str, int] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m_run, m_out, m_fence = _RUN.match(line), _OUTPUT.match(line), _FENCE.match(line)
        if m_run:
            mark = ("run", int(m_run.group(1) or 0))
        elif m_out:
            mark = ("output", 0)
        elif m_fence:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            block = Block(m_fence.group(1), lines[i + 1 : j], line_no=i + 1)
            if mark and mark[0] == "run":
                block.run, block.exit_code = True, mark[1]
            elif mark and mark[0] == "output":
                block.output = True
            chapter.blocks.append(block)
            mark = None
            i = j
        elif line.strip():
            mark = None  # a mark applies to the block right after it
        i += 1
    return chapter


def argv_of(command: str) -> list[str]:
    """``XCLZ_X=… xclz-geo a b  # comment`` → ``["a", "b"]``."""
    words = shlex.split(command, comments=True)
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words.pop(0)
    assert words and words[0] == "xclz-geo", command
    return words[1:]


def _markdown_files() -> list[Path]:
    return sorted(ZH.glob("*.md")) + sorted((DOCS / "en").glob("*.md")) + [ROOT / "README.md"]


def _all_commands() -> list[tuple[str, str]]:
    out = []
    for path in _markdown_files():
        for block in parse_markdown(path).blocks:
            if block.lang == "bash":
                out += [(f"{path.relative_to(ROOT)}:{block.line_no}", c) for c in block.commands()]
    return out


# --------------------------------------------------------------------------------------------------
# the manual's structure


def test_chinese_manual_has_a_chapter_per_task_with_commands_that_run() -> None:
    for name, title in TASK_CHAPTERS.items():
        path = ZH / name
        assert path.exists(), f"the Chinese manual needs the chapter {title} ({path})"
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f"# {title}"), f"{path}: the chapter should start with '# {title}'"
        runs = [b for b in parse_markdown(path).blocks if b.run]
        assert runs and all(b.commands() for b in runs), f"{path}: needs a <!-- run --> bash block with xclz-geo commands"


def test_every_chapter_is_in_the_nav_of_both_guides() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for name in [*TASK_CHAPTERS, "index.md", "report.md", "reference.md"]:
        for lang in ("zh", "en"):
            assert (DOCS / lang / name).exists(), f"docs/{lang}/{name} is missing"
            assert f"{lang}/{name}" in nav, f"docs/{lang}/{name} is not in the nav of mkdocs.yml"


def test_parse_markdown_reads_marks_and_continuations(tmp_path: Path) -> None:
    md = tmp_path / "x.md"
    md.write_text(
        "text\n<!-- run exit=1 -->\n```bash\nxclz-geo locate 1 2 \\\n    --json  # one site\n```\n"
        "<!-- output -->\n```text\nhello\n```\n\n```bash\nXCLZ_K=… xclz-geo map --out a.html\nls\n```\n",
        encoding="utf-8",
    )
    blocks = parse_markdown(md).blocks
    assert [(b.lang, b.run, b.exit_code, b.output) for b in blocks] == [
        ("bash", True, 1, False), ("text", False, 0, True), ("bash", False, 0, False)
    ]
    assert [argv_of(c) for c in blocks[0].commands()] == [["locate", "1", "2", "--json"]]
    assert [argv_of(c) for c in blocks[2].commands()] == [["map", "--out", "a.html"]]


_COMMANDS = _all_commands()


@pytest.mark.parametrize(("where", "command"), _COMMANDS, ids=[w for w, _ in _COMMANDS])
def test_documented_command_parses(where: str, command: str) -> None:
    """Every command shown in the manuals and the README parses with today's options."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv_of(command))
    except SystemExit as exc:  # argparse: unknown option, missing argument …
        if exc.code == 0:  # --help / --version
            return
        pytest.fail(f"{where}: `{command}` does not parse (exit {exc.code})")
    assert getattr(args, "command", None), f"{where}: `{command}` names no subcommand"


# --------------------------------------------------------------------------------------------------
# inputs the chapters name, made from the bundled data


def _sites_csv(path: Path) -> None:
    """A small table of sites with 百度 BD-09 coordinates: two near the parts, one far outside, one blank."""
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.datasets import boundaries_path
    from xclz_geo.geo.crs import wgs84_to_bd09

    zone = gpd.read_file(boundaries_path()).set_index("part_id")
    rows = []
    for name, pt in [
        ("示例项目甲", zone.geometry["guangde_main"].representative_point()),
        ("示例项目乙", zone.geometry["xuancheng"].representative_point()),
    ]:
        lon, lat = wgs84_to_bd09(pt.x, pt.y)
        rows.append((name, round(float(lon), 6), round(float(lat), 6)))
    rows += [("示例项目丙", 118.911371, 31.304034), ("坐标缺失", "", "")]
    pd.DataFrame(rows, columns=["项目名称", "经度", "纬度"]).to_csv(path, index=False, encoding="utf-8-sig")


def _two_datum_csv(path: Path) -> None:
    """The sites of the zone's two parts in 百度 BD-09 and 高德 GCJ-02 columns side by side (two x candidates)."""
    import geopandas as gpd
    import pandas as pd

    from xclz_geo.datasets import boundaries_path
    from xclz_geo.geo.crs import wgs84_to_bd09, wgs84_to_gcj02

    zone = gpd.read_file(boundaries_path()).set_index("part_id")
    rows = []
    for name, pt in [
        ("示例项目甲", zone.geometry["guangde_main"].representative_point()),
        ("示例项目乙", zone.geometry["xuancheng"].representative_point()),
    ]:
        bx, by = wgs84_to_bd09(pt.x, pt.y)
        gx, gy = wgs84_to_gcj02(pt.x, pt.y)
        rows.append((name, *(round(float(v), 6) for v in (bx, by, gx, gy))))
    pd.DataFrame(rows, columns=["项目名称", "经度_BD09", "纬度_BD09", "经度_GCJ02", "纬度_GCJ02"]).to_csv(
        path, index=False, encoding="utf-8-sig")


def _red_line_dxf(path: Path) -> None:
    """The 西区 outline as a closed polyline on layer 红线 (GK metres, no CRS: as CAD files come), plus a road."""
    import ezdxf
    import geopandas as gpd

    from xclz_geo.datasets import boundaries_path

    zone = gpd.read_file(boundaries_path())
    west = zone[zone.part_id == "guangde_west"].to_crs(4549).geometry.iloc[0]
    if west.geom_type == "MultiPolygon":
        west = max(west.geoms, key=lambda g: g.area)
    doc = ezdxf.new()
    doc.layers.add("红线")
    doc.layers.add("道路")
    msp = doc.modelspace()
    msp.add_lwpolyline(list(west.exterior.coords)[:-1], close=True, dxfattribs={"layer": "红线"})
    c = west.centroid
    msp.add_lwpolyline([(c.x - 5000, c.y), (c.x + 5000, c.y)], dxfattribs={"layer": "道路"})
    doc.saveas(path)


def _plan_paragraph(path: Path) -> None:
    from xclz_geo.datasets import data_path

    text = data_path("reference", "seed_xuancheng_linkage_zone_plan_2022.txt").read_text(encoding="utf-8")
    paragraph = next(line for line in text.splitlines() if "实施范围为" in line and "西区东至" in line)
    path.write_text(paragraph + "\n", encoding="utf-8")


def _copy_sample(*parts: str):
    def make(path: Path) -> None:
        from xclz_geo.datasets import data_path

        shutil.copyfile(data_path(*parts), path)

    return make


def _red_line_geojson(path: Path) -> None:
    dxf = path.with_name("西区红线.dxf")
    if not dxf.exists():
        _red_line_dxf(dxf)
    code = main(["boundaries", "import", "--input", str(dxf), "--part", "guangde_west", "--select", "Layer=红线",
                 "--base", "bundled", "--out", str(path)])
    assert code == 0 and path.exists()


#: file name as the chapters write it → how the test makes it
INPUTS = {
    "选址.csv": _sites_csv,
    "两套坐标.csv": _two_datum_csv,
    "西区红线.dxf": _red_line_dxf,
    "红线.geojson": _red_line_geojson,
    "实施范围.txt": _plan_paragraph,
    "广德路网.geojson": _copy_sample("boundaries", "networks", "guangde.geojson"),
    "企业名单.xlsx": _copy_sample("samples", "enterprises_synthetic.xlsx"),
    "企业名单.csv": _copy_sample("samples", "enterprises_synthetic.csv"),
    "地块.gpkg": _copy_sample("samples", "landuse_parcels_synthetic.gpkg"),
    "土地覆盖.tif": _copy_sample("samples", "landcover_synthetic.tif"),
}


def _inputs_named(commands: list[list[str]]) -> list[str]:
    """Input files a chapter's commands read (named in an argument, and written by none of them)."""
    needed: list[str] = []
    outs = {argv[i + 1] for argv in commands for i, a in enumerate(argv[:-1]) if a in ("--out", "-o")}
    for argv in commands:
        for a in argv:
            if a in INPUTS and a not in outs and a not in needed:
                needed.append(a)
    return needed


def _chapter_params():
    params = []
    for path in sorted(ZH.glob("*.md")):
        if not any(b.run for b in parse_markdown(path).blocks):
            continue
        marks = [pytest.mark.slow] if path.name in SLOW_CHAPTERS else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


@pytest.mark.parametrize("path", _chapter_params())
def test_manual_commands_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The chapter's runnable commands end with the status it states and write what they say."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("XCLZ_TIANDITU_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    blocks = parse_markdown(path).blocks
    runs = [b for b in blocks if b.run]
    for name in _inputs_named([argv_of(c) for b in runs for c in b.commands()]):
        if not (tmp_path / name).exists():
            INPUTS[name](tmp_path / name)
    capsys.readouterr()
    printed = ""
    for k, block in enumerate(blocks):
        if block.output:
            expected = [ln for ln in block.lines if ln.strip() and "…" not in ln]
            said = " ".join(printed.split())
            missing = [ln for ln in expected if " ".join(ln.split()) not in said]
            assert not missing, f"{path.name}:{block.line_no}: the tool no longer prints {missing}\n--- it printed:\n{printed}"
            continue
        if not block.run:
            continue
        printed = ""
        for command in block.commands():
            argv = argv_of(command)
            try:
                code = main(argv)
            except SystemExit as exc:  # --version / --help end through argparse
                code = int(exc.code or 0)
            out, err = capsys.readouterr()
            printed += out + err
            assert code == block.exit_code, (
                f"{path.name}:{block.line_no}: `{command}` exited {code}, the manual says {block.exit_code}\n{out}\n{err}"
            )
            assert "Traceback" not in err
            if "--out" in argv and code in (0, 1):
                target = tmp_path / argv[argv.index("--out") + 1]
                assert target.exists(), f"{path.name}: `{command}` did not write {target.name}"


def _python_blocks() -> list:
    params = []
    for path in _markdown_files():
        for block in parse_markdown(path).blocks:
            if block.run and block.lang == "python":
                params.append(pytest.param(path, block, id=f"{path.relative_to(ROOT)}:{block.line_no}"))
    return params


@pytest.mark.parametrize(("path", "block"), _python_blocks())
def test_documented_python_runs(path: Path, block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Python examples marked ``<!-- run -->`` run as shown (on the bundled data)."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    exec(compile("\n".join(block.lines), f"{path.name}:{block.line_no}", "exec"), namespace)
    assert capsys.readouterr().out.strip(), f"{path.name}:{block.line_no}: the example printed nothing"


# --------------------------------------------------------------------------------------------------
# the site


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """``mkdocs build --strict`` into a temporary folder, with every network request bound to fail."""
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        # any attempt to reach the network fails at once instead of passing unnoticed
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,  # snippets resolve from the root
    )
    return site, proc


@pytest.mark.slow
def test_mkdocs_build_strict_offline(built_site) -> None:
    """``mkdocs build --strict`` passes with no network, and the site links no remote asset."""
    site, proc = built_site
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    pages = list(site.rglob("*.html"))
    for name in TASK_CHAPTERS:
        assert (site / "zh" / name.replace(".md", ".html")).exists(), name
    api = (site / "api" / "geo.html").read_text(encoding="utf-8")
    assert api.count("locate_xy") > 1, "API reference not generated"
    assert ":func:<code>" not in api and ":mod:<code>" not in api, "Sphinx roles shown raw on the API pages"
    remote = re.compile(
        r"<(?:script|img|iframe|source)\b[^>]*\bsrc=[\"']?(?:https?:)?//|<link\b[^>]*\bhref=[\"']?(?:https?:)?//|@import\s+url\([\"']?(?:https?:)?//",
        re.IGNORECASE,
    )
    bad = [f"{p.relative_to(site)}: {m.group(0)}" for p in pages for m in remote.finditer(p.read_text(encoding="utf-8"))]
    assert not bad, "remote assets in the built site:\n" + "\n".join(bad[:20])
    css = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.css"))
    assert "fonts.googleapis" not in css and "fonts.gstatic" not in css


def test_api_reference_covers_every_module() -> None:
    """The generated API pages (scripts/mkdocs_hooks.py) hold every public module of the package."""
    import importlib.util

    import xclz_geo

    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    text = "\n".join(hooks.api_pages().values()) + "\n"
    pkg = Path(xclz_geo.__file__).resolve().parent
    missing = []
    for py in sorted(pkg.rglob("*.py")):
        rel = py.relative_to(pkg.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if any(p.startswith("_") for p in parts) or parts[:2] == ("xclz_geo", "cli") or len(parts) == 1:
            continue  # private modules, the bundled data, the command line (in the manuals), the package itself
        if f"::: {'.'.join(parts)}\n" not in text:
            missing.append(".".join(parts))
    assert not missing, f"not in the generated API reference: {missing}"
    assert "api/geo.md" in hooks.api_pages() and "api/core.md" in hooks.api_pages()


def test_images_are_small_and_referenced() -> None:
    images = sorted((DOCS / "img").glob("*.png"))
    assert images, "docs/img holds the manual's screenshots (scripts/docs_images.py)"
    assert sum(p.stat().st_size for p in images) < 700_000, "keep the screenshots a few hundred KB in all (13 pages: the manual and the workbench)"
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md"))
    unused = [p.name for p in images if p.name not in text]
    assert not unused, f"screenshots no page shows: {unused}"


def test_readme_is_short_and_points_to_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 11_000, "README.md should stay about 10 KB; move detail into docs/"
    for needle in ("scripts/demo.sh", "scripts/test.sh", 'scripts/test.sh -m "not slow"', "pip install xclz_geo-", "schematic", "synthetic", "docs/zh/index.md"):
        assert needle in readme, needle
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)", readme):
        assert (ROOT / link).exists(), f"README.md links to a missing file: {link}"


@pytest.mark.slow
@pytest.mark.browser
def test_site_opens_offline_without_errors(built_site) -> None:
    """Opened from the folder with the network cut off, the pages load nothing remote and log no error."""
    from xclz_geo.outputs.browser import HeadlessBrowser, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    site, proc = built_site
    assert proc.returncode == 0, proc.stderr
    with HeadlessBrowser(width_px=1100, height_px=800, offline=True) as b:
        for page in ("index.html", "zh/locate.html", "zh/map.html", "api/geo.html"):
            report = b.open(site / page)
            assert report.ready, page
            assert not report.console_errors, f"{page}: {report.console_errors}"
            fonts = b.driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file:'))"
            )
            assert not fonts, f"{page} requested {fonts}"
