"""SIGTERM mid-run and two concurrent runs into one folder (issue 13 R9/R10): real subprocesses.

A stopped ``report``/``efficiency`` exits 143 within 2 s, leaves the previous output set byte-identical and
no temporary file; two ``report`` runs into one folder both succeed and the folder holds one run's complete
set (HTML, XLSX and GeoPackage from the same run).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xclz_geo._atomic import STAGING_PREFIX
from xclz_geo.datasets import data_path

ENTERPRISES = data_path("samples", "enterprises_synthetic.csv")
REPORT = "land_efficiency_report"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xclz_geo.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", env=_env())


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _wait_for_staging(p: subprocess.Popen, folder: Path, *, timeout_s: float = 240.0) -> None:
    """Wait until the run has opened its temporary folder (it is then writing its outputs)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert p.poll() is None, f"the run ended before it was interrupted: {p.communicate()}"
        if folder.is_dir() and any(e.name.startswith(STAGING_PREFIX) for e in folder.iterdir()):
            return
        time.sleep(0.005)
    p.kill()
    pytest.fail("the run never opened its temporary folder")


def _terminate(p: subprocess.Popen) -> tuple[int, float, str]:
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    return p.returncode, time.monotonic() - t0, err


def _assert_stopped_cleanly(code: int, took_s: float, err: str, folder: Path, before: dict[str, str]) -> None:
    assert code == 143, err
    assert took_s < 2.0, f"took {took_s:.2f} s"
    last = err.strip().splitlines()[-1]
    assert last.startswith("xclz-geo: stopped by SIGTERM"), err
    assert "Traceback" not in err
    assert _digests(folder) == before  # the previous set, byte-identical, and nothing else (no temp file)


@pytest.mark.slow
def test_sigterm_mid_efficiency_keeps_the_previous_set(tmp_path):
    # enough rows that writing the set takes a moment
    lines = ENTERPRISES.read_text(encoding="utf-8-sig").splitlines()
    src = tmp_path / "firms.csv"
    src.write_text("\n".join([lines[0]] + lines[1:] * 20) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    first = _cli("efficiency", "--enterprises", str(src), "--no-zone", "--out", str(out))
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    before = _digests(out)
    assert set(before) == {"scores.csv", "scores.xlsx", "summary.json"}

    p = _cli("efficiency", "--enterprises", str(src), "--no-zone", "--method", "zhejiang", "--out", str(out))
    _wait_for_staging(p, out)
    _assert_stopped_cleanly(*_terminate(p), out, before)


@pytest.mark.slow
def test_sigterm_mid_report_keeps_the_previous_set(tmp_path):
    out = tmp_path / "out"
    first = _cli("report", "--out", str(out))
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    before = _digests(out)
    assert set(before) == {f"{REPORT}.html", f"{REPORT}.xlsx", f"{REPORT}.gpkg"}

    p = _cli("report", "--title", "second run", "--out", str(out))
    _wait_for_staging(p, out)
    time.sleep(1.0)  # well into the analyses
    _assert_stopped_cleanly(*_terminate(p), out, before)


@pytest.mark.slow
def test_sigint_before_any_output_exits_130_and_leaves_no_folder(tmp_path):
    out = tmp_path / "new"
    p = _cli("report", "--out", str(out))
    _wait_for_staging(p, out)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("xclz-geo: stopped by SIGINT")
    assert not out.exists()  # the folder this run created is removed with its temporary folder


@pytest.mark.slow
def test_two_reports_into_one_folder_never_mix_sets(tmp_path):
    import openpyxl
    import pyogrio

    out = tmp_path / "out"
    # run A: all bundled samples (parcel layers in the GeoPackage); run B: the enterprises only
    a = _cli("report", "--title", "RUN-A", "--out", str(out))
    b = _cli("report", "--title", "RUN-B", "--enterprises", str(ENTERPRISES), "--out", str(out))
    (_, err_a), (_, err_b) = a.communicate(timeout=900), b.communicate(timeout=900)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert sorted(p.name for p in out.iterdir()) == [f"{REPORT}.gpkg", f"{REPORT}.html", f"{REPORT}.xlsx"]

    html = (out / f"{REPORT}.html").read_text(encoding="utf-8")
    winner = "RUN-A" if "<title>RUN-A" in html else "RUN-B"
    assert f"<title>{winner}" in html
    about = openpyxl.load_workbook(out / f"{REPORT}.xlsx", read_only=True).worksheets[0]
    cells = [str(c) for row in about.iter_rows(values_only=True) for c in row if c is not None]
    assert winner in cells and ({"RUN-A", "RUN-B"} - {winner}).isdisjoint(cells)
    generated = cells[cells.index("generated") + 1]
    assert generated in html  # HTML and XLSX from the same run
    layers = {str(n) for n in pyogrio.list_layers(out / f"{REPORT}.gpkg")[:, 0]}
    solo = _solo_layers(tmp_path)
    assert (layers == solo) == (winner == "RUN-B")


def _solo_layers(tmp_path: Path) -> set[str]:
    """The GeoPackage layers of run B on its own (enterprises only)."""
    import pyogrio

    ref = tmp_path / "ref"
    p = _cli("report", "--enterprises", str(ENTERPRISES), "--out", str(ref))
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    return {str(n) for n in pyogrio.list_layers(ref / f"{REPORT}.gpkg")[:, 0]}
