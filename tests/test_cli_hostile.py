"""Every command against hostile output paths, names and numbers: exit 2 with one line, never 3 (issue 13).

The table is run in-process (``main(argv)`` with captured stdout/stderr); the interrupt and race tests of
:mod:`tests.test_cli_interrupt` run real subprocesses. Tests run as root, where ``chmod`` does not stop a
write, so "unwritable" is a path under ``/proc`` and a path through an existing file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xclz_geo.cli.main import SUBCOMMANDS
from xclz_geo.datasets import data_path

FIX = Path(__file__).parent / "fixtures"
OSM_TEXT = "东至经四路,南至外环路,西至祥花线,北至318国道(宣杭铁路以南)"
ENTERPRISES = data_path("samples", "enterprises_synthetic.csv")
PARCELS = data_path("samples", "landuse_parcels_synthetic.gpkg")
REPORT = "land_efficiency_report"


@pytest.fixture
def ws(tmp_path):
    """A work folder with small inputs, an ordinary file and a folder named like an output file."""
    (tmp_path / "sites.csv").write_text("name,lon,lat\nA,118.76,30.95\n", encoding="utf-8")
    (tmp_path / "part.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":'
        '{"type":"Polygon","coordinates":[[[118.7,30.9],[118.8,30.9],[118.8,31.0],[118.7,31.0],[118.7,30.9]]]}}]}',
        encoding="utf-8",
    )
    (tmp_path / "afile").write_text("an ordinary file\n", encoding="utf-8")
    return tmp_path


# command → (argv builder for an output path, output extension, kind of output)
def _argv(cmd: str, ws: Path, out: str) -> list[str]:
    return {
        "digitize": ["digitize", "--text", OSM_TEXT, "--network", str(FIX / "digitize_grid.osm"), "--out", out],
        "boundaries": ["boundaries", "import", "--input", str(ws / "part.geojson"), "--part", "xuancheng", "--out", out],
        "locate": ["locate", "--input", str(ws / "sites.csv"), "--out", out],
        "convert": ["convert", "--input", str(ws / "part.geojson"), "--out", out, "--from", "wgs84", "--to", "gcj02"],
        "map": ["map", "--out", out],
        "map --png": ["map", "--out", str(ws / "ok.html"), "--png", out],
        "landuse": ["landuse", "--parcels", str(PARCELS), "--out", out],
        "efficiency template": ["efficiency", "template", "--out", out],
        "efficiency": ["efficiency", "--enterprises", str(ENTERPRISES), "--no-zone", "--out", out],
        "report": ["report", "--out", out],
        "partition": ["partition", "--input", str(ws / "sites.csv"), "--out", out],
    }[cmd]


FILE_OUTPUTS = {"digitize": ".geojson", "boundaries": ".geojson", "locate": ".csv", "convert": ".geojson",
                "map": ".html", "map --png": ".png", "landuse": ".xlsx", "efficiency template": ".xlsx"}
FOLDER_OUTPUTS = {"efficiency": "scores.csv", "report": f"{REPORT}.html", "partition": "part.00000.parquet"}

#: hostile output paths for a file output: (case id, path builder, words the one error line must contain)
FILE_CASES = [
    ("proc", lambda ws, ext: f"/proc/xclz-geo-test/out{ext}", ["/proc"]),
    ("through-a-file", lambda ws, ext: str(ws / "afile" / f"out{ext}"), ["afile", "not a folder"]),
    ("folder-as-file", lambda ws, ext: str(_mkdir(ws / f"adir{ext}")), ["adir", "folder"]),
    ("newline", lambda ws, ext: str(ws / f"a\nb{ext}"), ["line break"]),
    ("control-char", lambda ws, ext: str(ws / f"a\x07b{ext}"), ["U+0007"]),
    ("semicolon", lambda ws, ext: str(ws / f"a;b{ext}"), ["a;b", "';'"]),
    ("gpkg-reserved", lambda ws, ext: str(ws / "gpkg_export.gpkg"), ["gpkg_export.gpkg"]),
    ("empty", lambda ws, ext: "", []),
    ("device", lambda ws, ext: "/dev/null", ["/dev/null"]),
    ("too-long", lambda ws, ext: str(ws / ("长" * 80 + ext)), ["longer than"]),
]

FOLDER_CASES = [
    ("proc", lambda ws, member: "/proc/xclz-geo-test/out", ["/proc"]),
    ("file-as-folder", lambda ws, member: str(ws / "afile"), ["afile", "a folder"]),
    ("through-a-file", lambda ws, member: str(ws / "afile" / "sub"), ["afile", "not a folder"]),
    ("member-is-a-folder", lambda ws, member: str(_mkdir(ws / "o" / member).parent), ["{member}", "folder"]),
    ("newline", lambda ws, member: str(ws / "o\nut"), ["line break"]),
]


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def assert_one_error_line(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xclz-geo: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_the_table_covers_every_subcommand():
    # areas writes nothing; serve is a server keeping its jobs under --data-dir (no output path to check)
    covered = {c.split()[0] for c in list(FILE_OUTPUTS) + list(FOLDER_OUTPUTS)} | {"areas", "serve"}
    assert covered == set(SUBCOMMANDS)


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
@pytest.mark.parametrize("cmd", list(FILE_OUTPUTS))
def test_file_output_refused_before_any_work(cmd, case, ws, run_cli):
    _, build, needles = case
    out = build(ws, FILE_OUTPUTS[cmd])
    before = sorted(p.name for p in ws.iterdir())
    code, stdout, err = run_cli(_argv(cmd, ws, out))
    assert_one_error_line(code, err, *needles)
    assert stdout == ""
    # nothing written anywhere in the work folder (a folder made by the test case is kept)
    assert sorted(p.name for p in ws.iterdir()) == before
    assert not any(p.name.startswith(".") for p in ws.rglob("*"))


@pytest.mark.parametrize("case", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
@pytest.mark.parametrize("cmd", list(FOLDER_OUTPUTS))
def test_folder_output_refused_before_any_work(cmd, case, ws, run_cli):
    _, build, needles = case
    member = FOLDER_OUTPUTS[cmd]
    out = build(ws, member)
    code, stdout, err = run_cli(_argv(cmd, ws, out))
    assert_one_error_line(code, err, *(n.format(member=member) for n in needles))
    assert (ws / "afile").read_text(encoding="utf-8") == "an ordinary file\n"
    assert not any(p.name.startswith(".xclz-geo") for p in ws.rglob("*"))


def test_efficiency_never_overwrites_its_input(ws, run_cli):
    d = _mkdir(ws / "d")
    src = d / "scores.csv"
    src.write_bytes(ENTERPRISES.read_bytes())
    code, _, err = run_cli(["efficiency", "--enterprises", str(src), "--no-zone", "--out", str(d)])
    line = assert_one_error_line(code, err, "overwrite")
    assert line.count("scores.csv") == 2  # the output and the input are both named
    assert src.read_bytes() == ENTERPRISES.read_bytes()
    assert sorted(p.name for p in d.iterdir()) == ["scores.csv"]


def test_report_never_overwrites_its_input(ws, run_cli):
    d = _mkdir(ws / "r")
    src = d / f"{REPORT}.gpkg"  # parcels taken from an earlier report's GeoPackage
    src.write_bytes(PARCELS.read_bytes())
    code, _, err = run_cli(["report", "--parcels", str(src), "--out", str(d)])
    line = assert_one_error_line(code, err, "overwrite")
    assert line.count(f"{REPORT}.gpkg") == 2
    assert src.read_bytes() == PARCELS.read_bytes()


@pytest.mark.parametrize("cmd", ["locate", "convert", "map"])
def test_a_file_command_never_overwrites_its_input(cmd, ws, run_cli):
    src = {"locate": ws / "sites.csv", "convert": ws / "part.geojson", "map": ws / "sites.html"}[cmd]
    if cmd == "map":  # the site table given as the map's own output name
        src.write_text("name,lon,lat\nA,118.76,30.95\n", encoding="utf-8")
        argv = ["map", "--input", str(src), "--x", "lon", "--y", "lat", "--out", str(src)]
    else:
        argv = _argv(cmd, ws, str(src))
    before = src.read_bytes()
    code, _, err = run_cli(argv)
    assert_one_error_line(code, err, src.name)
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "distance",
    ["99999999999999999999999公里", "1000000000000000000000000公里", "9" * 600 + "米", "100.5公里", "二百公里"],
)
def test_absurd_offset_is_the_parsers_error_in_one_short_line(distance, ws, run_cli):
    text = f"东至经四路以东{distance},南至外环路,西至祥花线,北至318国道"
    code, _, err = run_cli(["digitize", "--text", text, "--network", str(FIX / "digitize_grid.osm"),
                            "--out", str(ws / "d.geojson")])
    line = assert_one_error_line(code, err, "beyond 100 km", "东至")
    assert len(line) < 300
    assert "9" * 20 not in line and "0" * 20 not in line
    assert not (ws / "d.geojson").exists()


def test_an_offset_of_100_km_is_still_accepted_by_the_parser():
    from xclz_geo.boundaries.sizhi import parse_sizhi

    spec = parse_sizhi("东至经四路以东100公里,南至外环路,西至祥花线,北至318国道")
    offsets = [f.offset_m for s in spec.sides for f in s.features if f.offset_m]
    assert offsets == [100_000.0]


def test_argparse_errors_are_one_line(run_cli):
    code, _, err = run_cli(["map", "--basemap", "nowhere", "--out", "x.html"])
    assert code == 2
    assert len(err.splitlines()) == 1 and "--basemap" in err and "--help" in err


# ------------------------------------------------------------------ inputs owned by other helpers


def _boundaries(ws: Path, name: str, kind: str) -> Path:
    import geopandas as gpd
    import shapely

    from xclz_geo.datasets import boundaries_path

    gdf = gpd.read_file(boundaries_path())
    if kind == "bowtie":
        g = shapely.Polygon([(118.70, 30.90), (118.80, 31.00), (118.80, 30.90), (118.70, 31.00)])
        gdf.loc[0, "geometry"] = g
    elif kind == "lat95":
        gdf.loc[0, "geometry"] = shapely.Polygon([(118.7, 94.9), (118.8, 94.9), (118.8, 95.0), (118.7, 95.0)])
    elif kind == "dup":
        gdf["name_zh"] = gdf["name_zh"].iloc[0]
    p = ws / name
    gdf.to_file(p, driver="GeoJSON")
    if kind == "badcrs":
        text = p.read_text(encoding="utf-8")
        import json

        d = json.loads(text)
        d["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}
        p.write_text(json.dumps(d), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "cmd,kind",
    [
        ("map", "bowtie"),  # boundaries loading: importq's (issue 13 R3/R8)
        ("map", "lat95"),
        ("report", "dup"),
        ("areas", "badcrs"),
    ],
)
def test_hostile_boundaries_exit_2_in_one_line(cmd, kind, ws, run_cli):
    b = _boundaries(ws, f"{kind}.geojson", kind)
    argv = {"map": ["map", "--boundaries", str(b), "--out", str(ws / "m.html")],
            "report": ["report", "--boundaries", str(b), "--enterprises", str(ENTERPRISES), "--out", str(ws / "r")],
            "areas": ["areas", "--boundaries", str(b)]}[cmd]
    code, _, err = run_cli(argv)
    # an unknown CRS is refused (never read as EPSG:4326); the others are refused or repaired with a warning
    assert code in ((2,) if kind == "badcrs" else (0, 1, 2)), err
    assert "internal error" not in err and "Traceback" not in err
    assert sum(ln.startswith("xclz-geo: error:") for ln in err.splitlines()) <= 1


@pytest.mark.parametrize(
    "cmd",
    ["efficiency", pytest.param("report", marks=pytest.mark.slow)],
)
def test_ragged_rows_never_an_internal_error(cmd, ws, run_cli):
    lines = ENTERPRISES.read_text(encoding="utf-8-sig").splitlines()
    (ws / "ragged.csv").write_text("\n".join([lines[0]] + [ln + "," for ln in lines[1:6]]) + "\n", encoding="utf-8")
    argv = {"efficiency": ["efficiency", "--enterprises", str(ws / "ragged.csv"), "--no-zone", "--out", str(ws / "o")],
            "report": ["report", "--enterprises", str(ws / "ragged.csv"), "--out", str(ws / "o")]}[cmd]
    code, _, err = run_cli(argv)
    assert code in (0, 1, 2) and "internal error" not in err, err


def test_nul_cell_to_xlsx_never_an_internal_error(ws, run_cli):
    (ws / "nul.csv").write_text("name,lon,lat\nA\x00B,118.76,30.95\n", encoding="utf-8")
    code, _, err = run_cli(["locate", "--input", str(ws / "nul.csv"), "--out", str(ws / "o.xlsx")])
    assert code in (0, 1, 2) and "internal error" not in err, err


# ------------------------------------------------------------------ one-line messages and warnings


def test_one_line_shortens_absurd_numbers_but_keeps_codes():
    from xclz_geo.cli._common import one_line

    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("以东" + "9" * 23 + "公里") == "以东1e+23公里"
    assert one_line("x " + "1" * 600 + " y") == "x 1.11e+599 y"
    assert one_line("信用代码 913418007556287463") == "信用代码 913418007556287463"  # 18 digits: kept
    assert len(one_line("字" * 5000)) == 600


def test_a_fine_output_path_passes_and_creates_nothing(tmp_path):
    from xclz_geo.cli._common import check_output_file, check_output_folder

    assert check_output_file(tmp_path / "new" / "sub" / "m.html", suffixes={".html"}) == tmp_path / "new" / "sub" / "m.html"
    assert check_output_folder(tmp_path / "out", members=["a.csv"]) == tmp_path / "out"
    assert list(tmp_path.iterdir()) == []


def test_warnings_are_one_line_each_and_grouped(capsys):
    from xclz_geo.cli.main import _Warnings

    w = _Warnings(["firms.csv"])
    for _ in range(3):
        w.show("first line\n  second line of a geopandas warning", UserWarning, "x.py", 1)
    w.show("overflow encountered in multiply", RuntimeWarning, "numpy.py", 1)
    w.show("invalid value encountered in divide", RuntimeWarning, "numpy.py", 1)
    w.summary()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "xclz-geo: warning: first line second line of a geopandas warning"
    assert lines[1].startswith("xclz-geo: warning: (3 times in all) first line")
    assert "firms.csv" in lines[2] and "overflow ×1" in lines[2] and "invalid value ×1" in lines[2]
    assert len(lines) == 3
