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
