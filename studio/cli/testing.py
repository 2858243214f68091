"""`launch.py test`: run the test suite (launch.py installed requirements-dev.txt first), with
Debian's Chromium installed for the browser tests when this machine allows it."""

from __future__ import annotations

import argparse
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
    # Paths among the extra arguments replace the default `tests` (e.g. `test tests/unit -x`).
    names_paths = any(not a.startswith("-") and (PROJECT_ROOT / a.split("::")[0]).exists() for a in args.pytest_args)
    command = [sys.executable, "-m", "pytest", *([] if names_paths else ["tests"]), "-q", *args.pytest_args]
    console.info(f"Running: {' '.join(command[1:])}")
    return subprocess.call(command, cwd=PROJECT_ROOT)


def _ensure_chromium(console: Console) -> None:
    """Browser tests drive the system's Chromium; install the distribution's package when missing."""
    if Path("/usr/bin/chromium").exists():
        return
    can_install = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_install:
        console.info("Chromium is not installed (/usr/bin/chromium); browser tests will be skipped.")
        return
    console.info("Installing Chromium for the browser tests (apt-get) …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    ok = (subprocess.call(["apt-get", "update"], env=env) == 0
          and subprocess.call(["apt-get", "install", "-y", "chromium"], env=env) == 0)
    if not ok:
        console.important("Installing Chromium failed; browser tests will be skipped.")
