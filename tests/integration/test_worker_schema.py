"""On a shared PostgreSQL database the schema belongs to the server (or `launch.py migrate`): a
worker waits for it, refuses clearly when it never comes, and runs with a role that may only read
and write rows. A real throwaway cluster and real `launch.py` processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psycopg
import pytest

from studio.config import PROJECT_ROOT
from tests.integration.cli import LAUNCH, launch, rows

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture()
def pg_env(studio_env, database_url) -> dict[str, str]:
    """A studio's environment on this test's own PostgreSQL database."""
    return {**studio_env, "STUDIO_DATABASE_URL": database_url}


def tables(url: str) -> list[str]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


def test_a_worker_on_an_empty_shared_database_waits_then_refuses_without_touching_it(pg_env, database_url):
    started = time.monotonic()
    result = launch("worker", "--schema-wait", "2", env=pg_env, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Waiting for the server (or `launch.py migrate`)" in result.stderr
    assert "is at schema none (empty); this version of the studio needs" in result.stderr
    assert "Traceback" not in result.stderr and time.monotonic() - started < 30
    assert tables(database_url) == []  # the worker created nothing


def test_a_waiting_worker_starts_once_migrate_has_run(pg_env):
    worker = subprocess.Popen([sys.executable, str(LAUNCH), "worker", "--schema-wait", "120"], env=pg_env,
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.stdout.read()
        migrated = launch("migrate", env=pg_env, timeout=120)
        assert migrated.returncode == 0 and "is at schema" in migrated.stderr + migrated.stdout, migrated.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not rows(pg_env, "SELECT id FROM workers"):
            time.sleep(0.5)
        assert rows(pg_env, "SELECT id FROM workers"), "the worker never reported itself"
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, out
    assert "Traceback" not in out


def test_a_worker_runs_with_a_role_that_cannot_change_the_schema(pg_env, database_url, tmp_path):
    from PIL import Image

    assert launch("migrate", env=pg_env, timeout=120).returncode == 0
    admin = database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS studio_rows")
        conn.execute("CREATE ROLE studio_rows LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO studio_rows")
        conn.execute("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO studio_rows")
    photo = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (30, 90, 160)).save(photo)
    queued = launch("submit", "--image", str(photo), "--param", "frames=2", env=pg_env, timeout=120)
    assert queued.returncode == 0, queued.stderr
    worker_url = database_url.replace("postgres@", "studio_rows@")
    env = {**pg_env, "STUDIO_DATABASE_URL": worker_url}
    worker = subprocess.Popen([sys.executable, str(LAUNCH), "worker"], env=env, cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and rows(pg_env, "SELECT status FROM runs") != [("succeeded",)]:
            time.sleep(0.5)
        assert rows(pg_env, "SELECT status FROM runs") == [("succeeded",)]
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP OWNED BY studio_rows")
            conn.execute("DROP ROLE studio_rows")
    assert "Traceback" not in out, out
