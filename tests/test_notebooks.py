"""The walkthrough notebooks run from top to bottom without a cell error (so they cannot rot).

Each notebook is executed with nbclient on a Python kernel of *this* interpreter
(``sys.executable``, the project's venv): a kernelspec pointing at it is written to a temporary
``JUPYTER_PATH``, so no globally installed kernel is used. The notebooks are committed without
outputs; that is checked too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
KERNEL = "xclz-geo-test-venv"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "xclz_geo test venv",
            "language": "python",
            "env": {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        }),
        encoding="utf-8",
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(root))
    mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
    yield KERNEL
    mp.undo()


def test_three_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_boundaries_and_areas.ipynb", "02_site_checks.ipynb", "03_land_efficiency.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_name, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=180, resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the message holds the failing cell and its traceback
        pytest.fail(f"{path.name}: a cell failed:\n{exc}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert ran and all(c.execution_count for c in ran)
