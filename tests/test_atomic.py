"""Atomic outputs, output sets, the folder lock and interruption (:mod:`xclz_geo._atomic`)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from xclz_geo import _atomic as atomic
from xclz_geo._atomic import (
    STAGING_PREFIX,
    atomic_output_set,
    atomic_path,
    check_interrupted,
    folder_lock,
    install_signal_handlers,
    interrupts_deferred,
    temp_sibling,
)
from xclz_geo.errors import Interrupted, OutputLockedError, OutputPathError


def test_temp_sibling_is_hidden_unique_and_keeps_the_extension(tmp_path):
    a, b = temp_sibling(tmp_path / "report.gpkg"), temp_sibling(tmp_path / "report.gpkg")
    assert a != b
    for t in (a, b):
        assert t.parent == tmp_path and t.name.startswith(".report.") and t.suffix == ".gpkg"
        assert str(os.getpid()) in t.name


def test_atomic_path_two_writers_of_one_target_do_not_share_a_temp(tmp_path):
    target = tmp_path / "o.txt"
    with atomic_path(target) as t1, atomic_path(target) as t2:
        assert t1 != t2
        t1.write_text("one")
        t2.write_text("two")
    assert target.read_text() == "one"  # the outer block ends last and wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["o.txt"]


def test_output_set_moves_every_file_in_together(tmp_path):
    out = tmp_path / "out"
    with atomic_output_set(out, members=["a.csv", "b.json"]) as s:
        s.path("a.csv").write_text("a1")
        s.path("b.json").write_text("b1")
        assert not (out / "a.csv").exists()  # nothing visible before the end
        assert s.stage.name.startswith(STAGING_PREFIX) and s.stage.parent == out
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.json"]
    assert s.final(s.stage / "a.csv") == out / "a.csv"
    assert s.committed == [out / "a.csv", out / "b.json"]


def test_failed_set_leaves_the_previous_set_and_no_temp(tmp_path):
    out = tmp_path / "out"
    with atomic_output_set(out, members=["a.csv", "b.json"]) as s:
        s.path("a.csv").write_text("a1")
        s.path("b.json").write_text("b1")
    with pytest.raises(RuntimeError):
        with atomic_output_set(out, members=["a.csv", "b.json"]) as s:
            s.path("a.csv").write_text("a2")
            raise RuntimeError("half-way")
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.csv": "a1", "b.json": "b1"}


def test_member_not_written_this_time_is_removed(tmp_path):
    out = tmp_path / "out"
    with atomic_output_set(out, members=["r.html", "r.gpkg"]) as s:
        s.path("r.html").write_text("old")
        s.path("r.gpkg").write_text("old layers")
    (out / "mine.txt").write_text("a file of the user's")
    with atomic_output_set(out, members=["r.html", "r.gpkg"]) as s:
        s.path("r.html").write_text("new")  # no map layers this time: no GeoPackage
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "r.html"]


def test_failed_first_run_leaves_no_empty_folder(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(ValueError):
        with atomic_output_set(out, members=["a"]):
            raise ValueError
    assert not out.exists()


def test_member_that_is_a_folder_is_refused_before_work(tmp_path):
    (tmp_path / "out" / "a.csv").mkdir(parents=True)
    with pytest.raises(OutputPathError, match="a.csv"):
        with atomic_output_set(tmp_path / "out", members=["a.csv"]):
            pytest.fail("the block must not run")


def test_staging_of_a_dead_process_is_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = 2**22 + 12345  # above the default pid_max: no such process
    stale = out / f"{STAGING_PREFIX}{dead}-deadbeef"
    stale.mkdir()
    (stale / "scores.csv").write_text("left by a killed run")
    with atomic_output_set(out, members=["x"]) as s:
        s.path("x").write_text("x")
    assert sorted(p.name for p in out.iterdir()) == ["x"]


def test_folder_lock_times_out_with_the_folder_named(tmp_path):
    with folder_lock(tmp_path):
        t0 = time.monotonic()
        with pytest.raises(OutputLockedError, match=str(tmp_path.name)):
            with folder_lock(tmp_path, timeout_s=0.2):
                pass
        assert time.monotonic() - t0 < 2
    with folder_lock(tmp_path, timeout_s=0.2):  # released
        pass


def test_sigterm_raises_interrupted_with_exit_143_and_the_set_is_discarded(tmp_path):
    out = tmp_path / "out"
    with install_signal_handlers():
        with pytest.raises(Interrupted) as info:
            with atomic_output_set(out, members=["a"]) as s:
                s.path("a").write_text("a")
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(200):  # the handler runs at the next bytecode
                    time.sleep(0.001)
    assert info.value.exit_code == 143 and info.value.signal_name == "SIGTERM"
    assert not out.exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
    assert signal.getsignal(signal.SIGTERM) is not atomic._on_signal  # handlers restored


def test_a_signal_during_the_move_in_is_held_back_until_it_is_done(tmp_path):
    out = tmp_path / "out"
    with install_signal_handlers():
        with pytest.raises(Interrupted):
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(50):
                    time.sleep(0.001)
                (tmp_path / "done").write_text("finished")  # still runs: the signal is held back
        assert (tmp_path / "done").exists()
        check_interrupted_raises = False
        try:
            check_interrupted()
        except Interrupted as exc:  # the stop request stays until the run ends
            check_interrupted_raises = exc.exit_code == 130
        assert check_interrupted_raises
    check_interrupted()  # handlers uninstalled: the request is cleared
