"""Running `launch.py` as a person does, in a subprocess, and reading the history it wrote."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text

from studio.config import PROJECT_ROOT, Paths
from studio.db.engine import make_engine, make_session_factory

LAUNCH = PROJECT_ROOT / "launch.py"


def launch(*args: str | bytes, env: dict[str, str], timeout: float = 180,
           stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python launch.py ARGS` in the project root; bytes arguments reach it exactly as given, as a
    shell passes $'\\xff', and undecodable output is replaced rather than failing the test."""
    return subprocess.run([sys.executable, str(LAUNCH), *args], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, errors="replace", timeout=timeout, input=stdin)


def rows(env: dict[str, str], sql: str) -> list[tuple]:
    """The rows of a query on the history the environment's studio uses."""
    engine = make_engine(Paths.from_env(env).database_url)
    try:
        with make_session_factory(engine)() as session:
            return [tuple(r) for r in session.execute(text(sql))]
    finally:
        engine.dispose()
