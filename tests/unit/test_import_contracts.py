"""The layering in .importlinter is checked on every test run, so a page that reaches for the
database, a UI module that imports torch or an HTTP route that needs Streamlit fails CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    # A child process: import-linter builds its graph from the files on disk, and the repository
    # root must be importable (pages/ is a folder of scripts, not an installed package).
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
         "--config", str(config), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contracts_hold():
    result = _lint(ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_is_reported(tmp_path):
    """The contracts bite: a page that imports the database fails them."""
    page = ROOT / "pages" / "_contract_probe.py"
    page.write_text("from studio.db import engine  # noqa: F401\n")
    try:
        result = _lint(ROOT / ".importlinter")
    finally:
        page.unlink()
    assert result.returncode != 0
    assert "pages._contract_probe -> studio.db.engine" in result.stdout
