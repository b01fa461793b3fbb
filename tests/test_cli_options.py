"""One set of CLI options (issue 14, item 4): every subcommand × the shared options of ``cli/options.py``.

The table below says which shared option each (sub-)subcommand has; the tests walk it: each option is
there (in the parser and in ``--help``) with the same flags, wording and choices, none is there where the
table says it is not, every old spelling still works with one warning line on stderr, and an existing
output is refused without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json

import pytest

from xclz_geo.cli.main import SUBCOMMANDS, build_parser
from xclz_geo.cli.options import DATUM_CHOICES, HELP, QUALITY_CHOICES

IN, OUT, OVR, DATUM, CRS, XY, Q, ZONE, SPEC, JSON = (
    "--input", "--out", "--overwrite", "--datum", "--crs", "--x/--y", "--quality", "--boundaries", "--spec", "--json")
SHARED = (IN, OUT, OVR, DATUM, CRS, XY, Q, ZONE, SPEC, JSON)

#: (sub-)subcommand → the shared options it has (ZONE = --boundaries and --boundaries-layer)
OPTIONS: dict[str, set[str]] = {
    "areas": {ZONE, SPEC, JSON},
    "digitize": {IN, OUT, OVR, CRS, Q, JSON},
    "boundaries import": {IN, OUT, OVR, DATUM, CRS, Q, SPEC, JSON},
    "boundaries layers": {IN, CRS, SPEC, JSON},
    "locate": {IN, OUT, OVR, DATUM, CRS, XY, ZONE, SPEC, JSON},
    "convert": {IN, OUT, OVR, JSON},
    "map": {IN, OUT, OVR, DATUM, CRS, XY, ZONE, SPEC, JSON},
    "landuse": {IN, OUT, OVR, Q, ZONE, SPEC, JSON},
    "efficiency": {IN, OUT, OVR, DATUM, CRS, XY, ZONE, SPEC, JSON},
    "efficiency template": {OUT, OVR, JSON},
    "efficiency compare": {OUT, OVR, JSON},
    "efficiency history": {JSON},
    "report": {IN, OUT, OVR, DATUM, CRS, XY, ZONE, SPEC, JSON},
    "serve": set(),
    "partition": {IN, OUT, CRS, XY, JSON},  # its part.* folder is never replaced: no --overwrite
}

#: (command, flag) that exist with their own meaning, not the shared one (and why)
OWN = {
    ("serve", "--boundaries"): "the workbench's boundaries become a new boundary version; no layer or spec",
}

#: fixed wording: the help text is exactly HELP[flag] wherever the option appears
FIXED = ("--overwrite", "--x", "--y", "--boundaries", "--boundaries-layer", "--spec", "--json")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand and sub-subcommand parser, by its name as typed (``boundaries import``)."""
    out: dict[str, argparse.ArgumentParser] = {}
    for name, p in _subparsers(build_parser()).items():
        out[name] = p
        for sub, q in _subparsers(p).items():
            out[f"{name} {sub}"] = q
    return out


def _option(p: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in p._actions if flag in a.option_strings and a.help != argparse.SUPPRESS), None)


def _flags(shared: str) -> tuple[str, ...]:
    return {XY: ("--x", "--y"), ZONE: ("--boundaries", "--boundaries-layer")}.get(shared, (shared,))


def test_every_subcommand_has_a_row():
    commands = _commands()
    assert set(SUBCOMMANDS) <= set(commands)
    missing = sorted(c for c, p in commands.items() if c not in OPTIONS and c not in ("boundaries",))
    assert not missing, f"add a row to OPTIONS in tests/test_cli_options.py for {missing} (and use cli/options.py there)"


CASES = [pytest.param(cmd, shared, id=f"{cmd}|{shared}") for cmd in OPTIONS for shared in SHARED]


@pytest.mark.parametrize(("cmd", "shared"), CASES)
def test_shared_option_is_there_with_the_same_wording(cmd, shared):
    p = _commands()[cmd]
    for flag in _flags(shared):
        action = _option(p, flag)
        if (cmd, flag) in OWN:
            continue
        if shared not in OPTIONS[cmd]:
            assert action is None, f"{cmd} has {flag}: add it to its row in OPTIONS"
            continue
        assert action is not None, f"{cmd} lacks {flag}"
        if flag in FIXED:
            assert action.help == HELP[flag]
        if flag == IN:
            assert action.option_strings[:2] == ["--input", "-i"] and action.dest == "input"
            assert action.help.startswith("main input file: ")
        if flag == OUT:
            assert action.option_strings == ["--out", "-o"] and action.help.startswith("output ")
        if flag == DATUM:
            assert tuple(action.choices) == DATUM_CHOICES
            assert action.help.startswith("datum of lon/lat coordinates: wgs84 (GPS), cgcs2000, gcj02")
        if flag == CRS:
            assert action.choices is None and action.help.startswith("CRS of ")
        if flag == Q:
            assert tuple(action.choices) == QUALITY_CHOICES
            assert action.help.startswith("quality label of ")
        if flag == "--overwrite":
            assert isinstance(action, argparse._StoreTrueAction)


@pytest.mark.parametrize("cmd", list(OPTIONS))
def test_help_lists_the_shared_options(cmd, run_cli):
    res = run_cli(*cmd.split(), "--help")
    assert res.returncode == 0, res.stderr
    text = res.stdout
    for shared in OPTIONS[cmd]:
        for flag in _flags(shared):
            assert flag in text, f"`{cmd} --help` does not list {flag}"
    if DATUM in OPTIONS[cmd]:
        assert "{wgs84,cgcs2000,gcj02,bd09}" in text
    if Q in OPTIONS[cmd]:
        assert "official, surveyed, osm, schematic, synthetic" in " ".join(text.split())


def test_datum_takes_tags_only(run_cli):
    res = run_cli("locate", "119.4", "30.9", "--datum", "EPSG:4549")
    assert res.returncode == 2 and "invalid choice" in res.stderr and "Traceback" not in res.stderr
    # an alias is its tag
    ns = build_parser().parse_args(["locate", "119.4", "30.9", "--datum", "Gaode"])
    assert ns.datum == "gcj02"


#: old spelling → (argv, {dest: value}, the new spelling the warning names)
OLD = {
    "digitize --text-file": (["digitize", "--text-file", "t.txt", "--network", "n.osm", "--out", "o.geojson"],
                             {"input": "t.txt"}, "--input"),
    "boundaries import FILE": (["boundaries", "import", "red.dxf", "--part", "x"], {"input": "red.dxf"}, "--input"),
    "boundaries layers FILE": (["boundaries", "layers", "red.dxf"], {"input": "red.dxf"}, "--input"),
    "convert IN OUT": (["convert", "a.geojson", "b.gpkg", "--from", "wgs84", "--to", "gcj02"],
                       {"input": "a.geojson", "out": "b.gpkg"}, "--input"),
    "map --sites": (["map", "--sites", "s.csv", "--out", "m.html"], {"input": "s.csv"}, "--input"),
    "map --datum CRS": (["map", "--sites", "s.csv", "--datum", "EPSG:4549", "--out", "m.html"],
                        {"crs": "EPSG:4549", "datum": "wgs84"}, "--crs EPSG:4549"),
    "landuse --data-quality": (["landuse", "--parcels", "p.gpkg", "--data-quality", "official"],
                               {"quality": "official", "parcels": "p.gpkg"}, "--quality"),
}


@pytest.mark.parametrize("case", list(OLD))
def test_old_spelling_still_works_with_one_warning(case, capsys):
    argv, expected, new = OLD[case]
    capsys.readouterr()
    ns = build_parser().parse_args(argv)
    for dest, value in expected.items():
        assert getattr(ns, dest) == value
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if ln.startswith("xclz-geo: warning:")]
    assert warnings and all("deprecated" in w for w in warnings), err
    assert any(f"write {new} instead" in w or f"--crs {expected.get('crs')}" in w for w in warnings), err


def test_old_and_new_spelling_together_must_agree(run_cli):
    res = run_cli("map", "--sites", "a.csv", "--input", "b.csv", "--out", "m.html")
    assert res.returncode == 2 and "give only --input" in res.stderr


def test_enterprises_is_kept_beside_input_without_a_warning(capsys):
    for cmd in (["efficiency", "--out", "o"], ["report", "--out", "o"]):
        ns = build_parser().parse_args([*cmd, "--enterprises", "firms.csv"])
        assert ns.input == "firms.csv"
    assert "warning" not in capsys.readouterr().err


def test_convert_positional_spelling_runs_end_to_end(tmp_path, run_cli):
    src = tmp_path / "part.geojson"
    src.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":'
                   '{"type":"Point","coordinates":[118.75,30.9]}}]}', encoding="utf-8")
    old = run_cli("convert", src, tmp_path / "old.geojson", "--from", "wgs84", "--to", "gcj02", "--json")
    new = run_cli("convert", "-i", src, "-o", tmp_path / "new.geojson", "--from", "wgs84", "--to", "gcj02", "--json")
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert "IN as a positional argument is deprecated" in old.stderr and "warning" not in new.stderr
    def features(name: str) -> list:
        return json.loads((tmp_path / name).read_text(encoding="utf-8"))["features"]

    assert features("old.geojson") == features("new.geojson")
    assert features("new.geojson")[0]["geometry"]["coordinates"] != [118.75, 30.9]  # shifted to GCJ-02
    assert json.loads(new.stdout)["features"] == 1


# ------------------------------------------------------------------ --overwrite


def _existing(tmp_path, name: str) -> tuple[str, bytes]:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"an earlier output\n")
    return str(p), p.read_bytes()


#: command → (argv builder for an existing output path, the file name that exists, the --out value)
def _overwrite_case(cmd: str, tmp_path) -> tuple[list[str], str, str]:
    from xclz_geo.datasets import data_path

    firms = str(data_path("samples", "enterprises_synthetic.csv"))
    sites = tmp_path / "sites.csv"
    sites.write_text("name,lon,lat\nA,118.76,30.95\n", encoding="utf-8")
    part = tmp_path / "part.geojson"
    part.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":'
                    '{"type":"Polygon","coordinates":[[[118.7,30.9],[118.8,30.9],[118.8,31.0],[118.7,31.0],[118.7,30.9]]]}}]}',
                    encoding="utf-8")
    return {
        "locate": (["locate", "-i", str(sites)], "o.csv", "o.csv"),
        "convert": (["convert", "-i", str(part), "--from", "wgs84", "--to", "gcj02"], "o.geojson", "o.geojson"),
        "map": (["map"], "m.html", "m.html"),
        "landuse": (["landuse", "-i", str(data_path("samples", "landuse_parcels_synthetic.gpkg"))], "o.xlsx", "o.xlsx"),
        "digitize": (["digitize", "--text", "东至经四路,南至外环路,西至祥花线,北至318国道", "--network", str(part)],
                     "d.geojson", "d.geojson"),
        "efficiency template": (["efficiency", "template"], "t.xlsx", "t.xlsx"),
        "efficiency": (["efficiency", "-i", firms, "--no-zone"], "e/scores.csv", "e"),
        "report": (["report"], "r/land_efficiency_report.xlsx", "r"),
        "boundaries import": (["boundaries", "import", "-i", str(part), "--part", "xuancheng", "--only"],
                              "b.geojson", "b.geojson"),
    }[cmd]


@pytest.mark.parametrize("cmd", ["locate", "convert", "map", "landuse", "digitize", "efficiency template", "efficiency",
                                 "report", "boundaries import"])
def test_an_existing_output_is_refused_without_overwrite(cmd, tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, existing, out = _overwrite_case(cmd, tmp_path)
    path, before = _existing(tmp_path, existing)
    res = run_cli(*argv, "--out", str(tmp_path / out))
    assert res.returncode == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("xclz-geo: error:")]
    assert len(errors) == 1 and path in errors[0] and "add --overwrite" in errors[0], res.stderr
    assert (tmp_path / existing).read_bytes() == before


def test_overwrite_replaces_the_file(tmp_path, run_cli):
    path, before = _existing(tmp_path, "t.xlsx")
    res = run_cli("efficiency", "template", "-o", path, "--overwrite")
    assert res.returncode == 0, res.stderr
    from pathlib import Path

    assert Path(path).read_bytes() != before and Path(path).read_bytes()[:2] == b"PK"


def test_a_new_output_needs_no_overwrite(tmp_path, run_cli):
    res = run_cli("efficiency", "template", "-o", tmp_path / "new.xlsx")
    assert res.returncode == 0 and (tmp_path / "new.xlsx").exists()


def test_efficiency_x_y_name_the_coordinate_columns(tmp_path, run_cli):
    import pandas as pd

    from xclz_geo.datasets import data_path

    src = pd.read_csv(data_path("samples", "enterprises_synthetic.csv"), encoding="utf-8-sig", dtype=str)
    src = src.rename(columns={"经度": "E坐标", "纬度": "N坐标"})
    f = tmp_path / "firms.csv"
    src.to_csv(f, index=False, encoding="utf-8-sig")
    res = run_cli("efficiency", "-i", f, "--x", "E坐标", "--y", "N坐标", "--no-zone", "-o", tmp_path / "o", "--json")
    assert res.returncode == 0, res.stderr
    mapped = json.loads(res.stdout)["input"]["mapped_by_field_option"]
    assert mapped == {"lon": "E坐标", "lat": "N坐标"}
