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


# The browser tests: each drives Chromium against a studio server of its own.
BROWSER_TESTS = "tests/browser"


def run_tests(args: argparse.Namespace, console: Console) -> int:
    start_log(console, args.command)
    _ensure_chromium(console)
    _ensure_postgresql(console)
    if args.pytest_args:
        # Paths among the extra arguments replace the default `tests` (e.g. `test tests/unit -x`).
        names_paths = any(not a.startswith("-") and (PROJECT_ROOT / a.split("::")[0]).exists() for a in args.pytest_args)
        return _pytest(console, [*([] if names_paths else ["tests"]), *args.pytest_args])
    # Every part runs; the exit status is the first failing part's (pytest's own codes), else 0.
    statuses = [_pytest(console, part) for part in whole_suite(os.cpu_count() or 1)]
    return next((status for status in statuses if status != 0), 0)


def whole_suite(cpus: int) -> list[list[str]]:
    """The whole suite as the pytest runs that make it up. With two cores or more, everything but the
    browser tests runs on two processes (pytest-xdist; a file's tests stay together, in order), then
    the browser tests alone, one at a time: most tests spend their time waiting (on a server, a
    worker, a lock), so two at a time took 10 rather than 17 minutes, but a browser test with
    another test's processes beside it lost typed input and failed to load the page's scripts."""
    if cpus < 2:
        return [["tests"]]
    return [["tests", "--ignore", BROWSER_TESTS, "-n", "2", "--dist", "loadfile"], [BROWSER_TESTS]]


def _pytest(console: Console, args: list[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-q", *args]
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
