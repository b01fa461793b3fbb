"""The package installs from its wheel and works outside the repository.

The wheel is built from this checkout, installed (without dependencies) into a new virtualenv in a
temporary folder; the dependencies come from the test environment's site-packages through a path
entry (not a site dir, so this checkout's editable install is *not* active there). The commands then
run from another folder with no ``XCLZ_GEO_DATA`` and no ``PYTHONPATH``: they must find the bundled
data inside the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_subpackage_and_data_folder() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(conf["tool"]["setuptools"]["packages"])
    code = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "xclz_geo").rglob("__init__.py")
    }
    data = {"xclz_geo._data"} | {
        "xclz_geo._data." + ".".join(d.relative_to(ROOT / "data").parts)
        for d in (ROOT / "data").rglob("*")
        if d.is_dir() and "__pycache__" not in d.parts
    }
    # folders of package data inside the code (no __init__.py): listed too, or setuptools warns
    # that it will stop shipping them
    assets = {
        ".".join(d.relative_to(ROOT).parts)
        for d in (ROOT / "xclz_geo").rglob("*")
        if d.is_dir() and "__pycache__" not in d.parts and not (d / "__init__.py").exists()
        and any(f.is_file() for f in d.iterdir())
    }
    data |= assets
    assert code - listed == set(), "add to [tool.setuptools] packages"
    assert data - listed == set(), "add the data folders to [tool.setuptools] packages"
    assert listed - code - data == set(), "packages listed that do not exist"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    import shutil

    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy of the sources, so the checkout gets no build/ or egg-info
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    # no extension built in the checkout (setup.py build_ext --inplace): the wheel's build compiles its own
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd")
    shutil.copytree(ROOT / "xclz_geo", src / "xclz_geo", ignore=skip)
    shutil.copytree(ROOT / "data", src / "data", ignore=skip)
    wheels = tmp / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("xclz_geo-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    vpy = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # the test environment's packages as a plain path entry (its .pth files, incl. the editable install, stay inactive)
    (purelib / "zz_test_env_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(purelib), str(wheel)],
                          capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr[-2000:]
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XCLZ_GEO_DATA")}
    env["MPLBACKEND"] = "Agg"
    return {"python": vpy, "purelib": purelib, "cwd": work, "env": env, "wheel": wheel}


def _run(inst: dict[str, object], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(inst["python"]), "-m", "xclz_geo.cli.main", *args], cwd=inst["cwd"], env=inst["env"],
                          capture_output=True, text=True, encoding="utf-8")


@pytest.mark.slow
def test_wheel_carries_the_data(installed: dict[str, object]) -> None:
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    for needed in ("xclz_geo/_data/boundaries/spec.toml", "xclz_geo/_data/boundaries/zone.geojson",
                   "xclz_geo/_data/methods/anhui.toml", "xclz_geo/_data/samples/enterprises_synthetic.csv",
                   "xclz_geo/_data/reference/README.md", "xclz_geo/py.typed"):
        assert needed in names, needed


@pytest.mark.slow
def test_installed_package_is_the_wheel_not_the_checkout(installed: dict[str, object]) -> None:
    out = subprocess.run([str(installed["python"]), "-c", "import xclz_geo, xclz_geo.datasets as d; print(xclz_geo.__file__); print(d.data_dir())"],
                         cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True, check=True).stdout.split("\n")
    assert Path(out[0]).is_relative_to(installed["purelib"]), out
    assert Path(out[1]) == Path(installed["purelib"]) / "xclz_geo" / "_data", out


@pytest.mark.slow
def test_commands_run_outside_the_repository(installed: dict[str, object]) -> None:
    areas = _run(installed, "areas", "--json")
    assert areas.returncode == 0, areas.stderr
    doc = json.loads(areas.stdout)
    assert abs(doc["zone"]["official_km2"] - 59.78) < 1e-9
    assert "site-packages" in doc["zone"]["boundaries"] or "_data" in doc["zone"]["boundaries"]

    loc = _run(installed, "locate", "119.4681", "30.8931", "--datum", "gcj02", "--json")
    assert loc.returncode in (0, 1), loc.stderr
    assert json.loads(loc.stdout)["status"] in ("inside", "outside", "uncertain")

    cwd = Path(installed["cwd"])
    m = _run(installed, "map", "--out", str(cwd / "zone.html"))
    assert m.returncode == 0, m.stderr
    html = (cwd / "zone.html").read_text(encoding="utf-8")
    assert "leaflet" in html.lower() and "宣城经开区" in html

    rep = _run(installed, "report", "--out", str(cwd / "report"))
    assert rep.returncode == 0, rep.stderr
    assert sorted(p.suffix for p in (cwd / "report").iterdir() if p.is_file()) == [".gpkg", ".html", ".xlsx"]


@pytest.mark.slow
def test_installed_package_uses_the_compiled_kernel_when_the_wheel_has_it(installed: dict[str, object]) -> None:
    import shutil
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    compiled = [n for n in names if n.startswith("xclz_geo/geo/_lookup") and n.endswith((".so", ".pyd"))]
    if shutil.which("cc") or shutil.which("gcc") or shutil.which("clang"):
        assert compiled, "a C compiler is present but the wheel has no compiled lookup kernel (setup.py, _lookup.c)"
    # the kernel itself imports nothing (plain C API): importing it keeps the cold path cheap
    code = ("import sys\ntry:\n    import xclz_geo.geo._lookup\nexcept ImportError:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'pandas', 'geopandas', 'pyproj', 'rasterio') if m in sys.modules))\n"
            "from xclz_geo.geo import locate\nprint(locate.KERNEL)")
    out = subprocess.run([str(installed["python"]), "-c", code], cwd=installed["cwd"], env=installed["env"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]", out
    assert out[1] == ("c" if compiled else "numpy"), out
    forced = subprocess.run([str(installed["python"]), "-c", "from xclz_geo.geo import locate; print(locate.KERNEL)"],
                            cwd=installed["cwd"], env={**installed["env"], "XCLZ_GEO_KERNEL": "numpy"},
                            capture_output=True, text=True, check=True).stdout.strip()
    assert forced == "numpy"
