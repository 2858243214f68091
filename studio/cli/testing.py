"""`launch.py test`: run the test suite (launch.py installed requirements-dev.txt first), with
Debian's Chromium installed for the browser tests and Debian's PostgreSQL for the tests that run on
both databases, when this machine allows it (root with apt-get). Where it does not, those tests skip
and say so; the suite starts its own throwaway PostgreSQL cluster (tests/pg.py), never the system's."""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.config import PROJECT_ROOT


def run_tests(args: argparse.Namespace, console: Console) -> int:
    start_log(console, args.command)
    _ensure_chromium(console)
    _ensure_postgresql(console)
    # Paths among the extra arguments replace the default `tests` (e.g. `test tests/unit -x`).
    names_paths = any(not a.startswith("-") and (PROJECT_ROOT / a.split("::")[0]).exists() for a in args.pytest_args)
    command = [sys.executable, "-m", "pytest", *([] if names_paths else ["tests"]), "-q", *args.pytest_args]
    console.info(f"Running: {' '.join(command[1:])}")
    return subprocess.call(command, cwd=PROJECT_ROOT)


def _ensure_chromium(console: Console) -> None:
    """Browser tests drive the system's Chromium; install the distribution's package when missing."""
    if Path("/usr/bin/chromium").exists():
        return
    _apt_install(console, "chromium", "Chromium", "browser tests", missing="/usr/bin/chromium")


def _ensure_postgresql(console: Console) -> None:
    """The both-database tests start a cluster from the server binaries (initdb, pg_ctl); install
    Debian's `postgresql` when they are missing. Only the binaries are used: the package's own
    cluster is left as the package configures it."""
    if glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb"):
        return
    _apt_install(console, "postgresql", "PostgreSQL", "PostgreSQL halves of the database tests",
                 missing="initdb")


def _apt_install(console: Console, package: str, name: str, tests: str, *, missing: str) -> None:
    can_install = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_install:
        console.important(f"{name} is not installed ({missing}) and installing it needs root and apt-get; "
                          f"the {tests} will be skipped.")
        return
    console.info(f"Installing {name} for the {tests} (apt-get install {package}) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    ok = (subprocess.call(["apt-get", "update"], env=env) == 0
          and subprocess.call(["apt-get", "install", "-y", package], env=env) == 0)
    if not ok:
        console.important(f"Installing {name} failed; the {tests} will be skipped.")
