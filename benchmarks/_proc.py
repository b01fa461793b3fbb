"""Whole-process measurements shared by the benchmarks that time commands (``bench_cold``, ``bench_tables``).

A command is run by a fresh measuring parent, so ``getrusage(RUSAGE_CHILDREN)`` gives that command's
own peak RSS and CPU time, and the benchmark's own memory never counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_MEASURE = r"""
import json, resource, subprocess, sys, time
cmd = json.loads(sys.argv[1]); env = json.loads(sys.argv[2])
t0 = time.perf_counter()
p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
secs = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "seconds": secs, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                  "peak_rss_mb": ru.ru_maxrss / 1024,
                  "stdout_tail": p.stdout.decode("utf-8", "replace")[-400:],
                  "stderr_tail": p.stderr.decode("utf-8", "replace")[-400:]}))
"""


def measure(cmd: list[str], env: dict[str, str]) -> dict:
    """One whole-process run of ``cmd``: ``rc``, wall ``seconds``, ``cpu_seconds``, ``peak_rss_mb`` and output tails."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(cmd), json.dumps(env)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compiled_bytecode(env: dict[str, str], tmp: Path, package: Path) -> str:
    """Make ``env`` time compiled bytecode, as an installed wheel has it, and compile ``package`` once.

    This machine sets ``PYTHONDONTWRITEBYTECODE``: without this every run would compile the package's
    sources again and count that as start-up. Returns the sentence the results record.
    """
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env, capture_output=True)
    return "compiled once into a temporary PYTHONPYCACHEPREFIX before timing, as installed"
