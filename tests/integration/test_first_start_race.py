"""Several processes starting at once on an empty database (a server and workers brought up
together): one migrates, the others wait for it, and every one of them starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from studio.config import PROJECT_ROOT
from tests.integration.cli import LAUNCH, rows

pytestmark = pytest.mark.both_dialects


def test_processes_started_together_on_an_empty_database_all_start(data_dir, studio_env):
    processes = [subprocess.Popen([sys.executable, str(LAUNCH), "models"], env=studio_env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(8)]
    outputs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                process.kill()
        outputs.append((process.returncode, out))
    report = "\n\n".join(f"--- exit {code} ---\n{out}" for code, out in outputs)
    assert [code for code, _ in outputs] == [0] * 8, report
    assert "Traceback" not in report, report
    assert len(rows(studio_env, "SELECT version_num FROM alembic_version")) == 1
