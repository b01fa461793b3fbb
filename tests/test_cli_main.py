"""The ``xclz-geo`` process exit (:func:`xclz_geo.cli.main.exit_process`): real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _py(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_exit_process_keeps_code_output_and_atexit():
    r = _py("import atexit, sys\n"
            "from xclz_geo.cli.main import exit_process\n"
            "atexit.register(lambda: print('atexit ran'))\n"
            "sys.stdout.write('unflushed line\\n'); sys.stderr.write('to stderr')\n"
            "exit_process(3)\n"
            "print('never')")
    assert r.returncode == 3
    assert r.stdout == "unflushed line\natexit ran\n" and r.stderr == "to stderr"


def test_exit_process_flushes_what_c_code_buffered():
    # text a C library wrote through stdio (fully buffered into a pipe) is not lost by the fast exit
    r = _py("import ctypes, sys\n"
            "from xclz_geo.cli.main import exit_process\n"
            "sys.stdout.write('python\\n'); sys.stdout.flush()\n"
            "ctypes.CDLL(None).printf(b'from C\\n')\n"
            "exit_process(0)")
    assert r.returncode == 0 and r.stdout == "python\nfrom C\n"


def test_exit_process_waits_for_a_running_thread():
    # another thread still working: the normal exit, which waits for it
    r = _py("import threading, time\n"
            "from xclz_geo.cli.main import exit_process\n"
            "t = threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True)))\n"
            "t.start()\n"
            "exit_process(0)")
    assert r.returncode == 0 and r.stdout == "thread done\n"


def test_cli_exit_status_and_output_through_the_module():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "xclz_geo.cli.main", "locate", "119.46", "30.89", "--boundaries",
                        str(ROOT / "no_such_zone.geojson")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("xclz-geo: error:") and "no_such_zone.geojson" in r.stderr
    r = subprocess.run([sys.executable, "-m", "xclz_geo.cli.main", "locate", "999", "999"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stdout.startswith("invalid:") and "Traceback" not in r.stderr
