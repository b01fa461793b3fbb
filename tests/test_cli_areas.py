from __future__ import annotations

import json
import subprocess
import sys

import pytest

from xclz_geo import __version__
from xclz_geo.cli.main import main
from xclz_geo.datasets import spec_path


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI in a subprocess, as a user would (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "xclz_geo.cli.main", *args], capture_output=True, text=True, encoding="utf-8")
    return p.returncode, p.stdout, p.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_areas_json_shape(tmp_path, synthetic_boundaries):
    f = tmp_path / "zone.geojson"
    synthetic_boundaries.to_file(f, driver="GeoJSON")
    code, out, err = run_cli("areas", "--json", "--boundaries", str(f))
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"zone", "parts", "checks"}
    assert doc["zone"]["official_km2"] == 59.78
    assert [p["id"] for p in doc["parts"]] == ["xuancheng", "guangde_main", "guangde_west"]
    for p in doc["parts"]:
        assert set(p) >= {"id", "block", "name_zh", "official_km2", "measured_km2", "geodesic_km2", "deviation_pct", "quality", "status"}
        assert p["quality"] == "synthetic" and p["status"] == "pass"
    for c in doc["checks"]:
        assert set(c) >= {"name", "expected", "actual", "ok"}
        assert c["ok"] is True
    assert "synthetic" in err  # one-line warning that the geometry is not official
    assert "Traceback" not in err


def test_areas_json_nulls_without_geometry(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_path().read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run_cli("areas", "--json", "--spec", str(spec))
    assert code == 0
    doc = json.loads(out)
    assert all(p["measured_km2"] is None and p["status"] == "no geometry" for p in doc["parts"])
    assert all(p["quality"] is None for p in doc["parts"])


def test_areas_table(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_path().read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = run_cli("areas", "--spec", str(spec))
    assert code == 0
    for text in ("宣城经开区", "Guangde EDZ west area", "29.80", "44,700", "no geometry", "OK"):
        assert text in out


def test_inconsistent_spec_exits_1_and_names_the_check(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_path().read_text(encoding="utf-8").replace("official_area_km2 = 3.77", "official_area_km2 = 3.57"), encoding="utf-8")
    code, out, err = run_cli("areas", "--spec", str(spec))
    assert code == 1
    assert "FAIL" in out and "guangde_main + guangde_west" in out
    code, out, _ = run_cli("areas", "--json", "--spec", str(spec))
    assert code == 1 and json.loads(out)["ok"] is False


@pytest.mark.parametrize(
    "content,match",
    [
        ("[zone\n", "not valid TOML"),
        ("[zone]\nid='z'\nname_zh='z'\nname_en='z'\n", "missing field 'official_area_km2'"),
    ],
)
def test_malformed_spec_exits_2_one_line(tmp_path, content, match):
    spec = tmp_path / "spec.toml"
    spec.write_text(content, encoding="utf-8")
    code, out, err = run_cli("areas", "--spec", str(spec))
    assert code == 2
    assert err.startswith("xclz-geo: error: ") and match in err and str(spec) in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_files_exit_2(tmp_path):
    code, _, err = run_cli("areas", "--spec", str(tmp_path / "nope.toml"))
    assert code == 2 and "cannot read spec file" in err
    code, _, err = run_cli("areas", "--boundaries", str(tmp_path / "nope.geojson"))
    assert code == 2 and "not found" in err and "Traceback" not in err


def test_boundaries_in_wrong_schema_exit_2(tmp_path, synthetic_boundaries):
    f = tmp_path / "bad.geojson"
    synthetic_boundaries.drop(columns=["part_id"]).to_file(f, driver="GeoJSON")
    code, _, err = run_cli("areas", "--boundaries", str(f))
    assert code == 2 and "part_id" in err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "areas" in capsys.readouterr().err


def test_areas_table_gives_km2_hectares_and_mu(tmp_path, synthetic_boundaries):
    f = tmp_path / "zone.geojson"
    synthetic_boundaries.to_file(f, driver="GeoJSON")
    code, out, _ = run_cli("areas", "--boundaries", str(f))
    assert code == 0
    for head in ("official km²", "official 公顷", "official 亩", "measured km²", "measured 公顷", "measured 亩",
                 "dev. km²", "dev. 亩"):
        assert head in out
    row = next(line for line in out.splitlines() if "xuancheng" in line and "宣城经开区" in line)
    assert "2,980" in row and "44,700" in row  # 29.80 km² = 2,980 公顷 = 44,700 亩
    code, out, _ = run_cli("areas", "--json", "--boundaries", str(f))
    p = json.loads(out)["parts"][0]
    assert p["official_ha"] == pytest.approx(2980.0)
    assert p["measured_ha"] == pytest.approx(p["measured_km2"] * 100)
    assert p["measured_mu"] == pytest.approx(p["measured_km2"] * 1500)
    assert p["deviation_ha"] == pytest.approx(p["deviation_km2"] * 100)


def test_areas_mixed_zone_notes_and_json(tmp_path):
    from conftest import make_mixed_quality_boundaries

    f = tmp_path / "zone.geojson"
    make_mixed_quality_boundaries().to_file(f, driver="GeoJSON")
    code, out, err = run_cli("areas", "--boundaries", str(f))
    assert code == 1  # the official part is +34.6 % off
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert any(n.startswith("note: 宣城经开区, 广德经开区西区 (schematic): the geometry reproduces the official areas by construction")
               for n in notes)
    assert any(n.startswith("note: 广德经开区主园区 (official): the measured area is +34.6 %") for n in notes)
    assert not any("主园区" in n and "by construction" in n for n in notes)
    assert "广德经开区主园区: official; 宣城经开区, 广德经开区西区: schematic" in err  # the warning names the parts
    code, out, _ = run_cli("areas", "--json", "--boundaries", str(f))
    doc = json.loads(out)
    assert doc["quality_by_part"] == {"xuancheng": "schematic", "guangde_main": "official", "guangde_west": "schematic"}
    assert {p["id"]: p["quality"] for p in doc["parts"]}["guangde_main"] == "official"


def _broken(kind, b, tmp_path):
    from shapely.geometry import Polygon, box

    b = b.copy()
    f = tmp_path / f"{kind}.geojson"
    if kind == "bowtie":
        x0, y0, x1, y1 = b.geometry.iloc[2].bounds
        b.loc[2, "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    elif kind == "lat95":
        b.loc[2, "geometry"] = box(119.3, 94.9, 119.4, 95.0)
    elif kind == "dupnames":
        b["name_zh"] = "园区"
    b.to_file(f, driver="GeoJSON")
    if kind in ("epsg999999", "gibberish"):
        doc = json.loads(b.to_json())
        doc["crs"] = {"type": "name", "properties": {"name": "EPSG::999999" if kind == "epsg999999" else "blah blah"}}
        f.write_text(json.dumps(doc), encoding="utf-8")
    return f


@pytest.mark.parametrize("kind, words", [
    ("bowtie", "part 'guangde_west' (广德经开区西区) is not a valid polygon"),
    ("lat95", "part 'guangde_west' (广德经开区西区): latitude"),
    ("dupnames", "duplicate name_zh: '园区'"),
    ("epsg999999", "declares the CRS EPSG::999999"),
    ("gibberish", "declares the CRS blah blah"),
])
@pytest.mark.parametrize("command", [["areas"], ["map", "--out", "{tmp}/m.html"], ["report", "--out", "{tmp}/rep"],
                                     ["locate", "119.37", "30.885"]])
def test_broken_boundaries_exit_2_with_one_line_naming_the_part(tmp_path, synthetic_boundaries, kind, words, command, capsys):
    f = _broken(kind, synthetic_boundaries, tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code = main([*args, "--boundaries", str(f)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("xclz-geo: error: ") and words in lines[0]
    assert str(f) in lines[0]
