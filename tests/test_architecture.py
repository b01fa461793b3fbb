"""The package's layout: dependencies point one way, no cycles, no module loaded by name.

The layers, lowest first (a module may import its own layer and the layers below it, never above):
errors → units, datasets → geo → io → boundaries → landuse → efficiency → outputs → scale → web → cli.
The test reads every module's imports from its source (``ast``), so lazy imports inside functions
count as much as the ones at the top.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import xclz_geo

PKG = Path(xclz_geo.__file__).resolve().parent

#: layer of each top-level unit of the package, lowest first
LAYERS: list[set[str]] = [
    {"errors"},
    {"units", "datasets", "fieldnames"},
    {"geo"},
    {"io"},
    {"boundaries"},
    {"landuse"},
    {"efficiency"},
    {"outputs"},
    {"scale"},
    {"web"},
    {"cli"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py")) if "_data" not in p.parts}


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Absolute xclz_geo modules imported by ``name`` (with line numbers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "xclz_geo"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "xclz_geo":
                continue
            # ``from xclz_geo.geo import crs`` imports the submodule xclz_geo.geo.crs
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.append((sub if sub in _MODULES else mod, node.lineno))
    return out


_MODULES = _modules()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer() -> None:
    units = {_unit(m) for m in _MODULES} - {""}
    missing = sorted(u for u in units if u not in LAYER_OF and not u.startswith("_"))
    assert not missing, f"add these to LAYERS in {__file__}: {missing}"


def test_no_upward_import() -> None:
    bad = []
    for name, path in _MODULES.items():
        src = _unit(name)
        if src not in LAYER_OF:
            continue
        for target, line in _imports(name, path):
            dst = _unit(target)
            if dst in LAYER_OF and LAYER_OF[dst] > LAYER_OF[src]:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} ({src}) imports {target} ({dst})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for name, path in _MODULES.items():
        graph[name] = {t for t, _ in _imports(name, path) if t in _MODULES and t != name}
    # a package __init__ importing its own submodules is not a cycle of design
    for name in graph:
        graph[name] = {t for t in graph[name] if not (name == t.rpartition(".")[0] and _MODULES[name].name == "__init__.py")}
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("needle", ["import_module(", "__import__("])
def test_no_module_of_the_package_loaded_by_name(needle: str) -> None:
    """Every dependency is an import statement a reader (and this test) can see.

    Exempt: the top-level lazy API in ``xclz_geo/__init__.py`` (a table of public names, loaded on first
    access so ``import xclz_geo`` stays cheap) and the map's loading of third-party ``xstatic`` packages.
    """
    exempt = {"xclz_geo": "the lazy top-level API", "xclz_geo.outputs.maps": "third-party xstatic packages (ASSETS)"}
    offenders = []
    for name, path in _MODULES.items():
        if name in exempt:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                offenders.append(f"{path.relative_to(PKG.parent)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_subpackage_says_what_it_owns() -> None:
    for init in PKG.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"{init} needs a docstring saying what it owns and may import"


def test_top_level_api_is_lazy_and_resolves() -> None:
    import subprocess

    code = (
        "import sys, xclz_geo; heavy = [m for m in ('geopandas', 'pyproj', 'rasterio', 'folium') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import xclz_geo loaded {out}"
    for name in xclz_geo.__all__:
        assert getattr(xclz_geo, name) is not None, name
