"""On a shared PostgreSQL database the schema belongs to the server (or `launch.py migrate`): a
worker waits for it, refuses clearly when it never comes, and runs with a role that may only read
and write rows. A real throwaway cluster and real `launch.py` processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from studio.config import PROJECT_ROOT
from tests.integration.cli import LAUNCH, launch, rows

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

# A worker's role: rows only, no schema; the settings (the UI password hash among them) read-only;
# the worker tokens and which worker id each token speaks for not at all. README.md gives the same statements.
WORKER_GRANTS = (
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "REVOKE INSERT, UPDATE, DELETE ON settings FROM {role}",
    "REVOKE ALL ON worker_tokens FROM {role}",
    "REVOKE ALL ON worker_bindings FROM {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
)


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
        for grant in WORKER_GRANTS:  # as README.md's "Several GPUs and machines" gives them
            conn.execute(grant.format(role="studio_rows"))
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
        # The worker's role cannot change the UI password (nor any setting), nor see the worker tokens.
        as_worker = worker_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(as_worker, autocommit=True) as conn:
            for statement in ("UPDATE settings SET value = '\"x\"'", "INSERT INTO settings (key, value) VALUES ('k', '1')",
                              "DELETE FROM settings", "SELECT * FROM worker_tokens"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        from studio.db.engine import make_engine, make_session_factory
        from studio.web.passwords import hash_password, save_password_hash

        engine = make_engine(worker_url)
        try:
            with pytest.raises(Exception, match="permission denied for table settings"):
                save_password_hash(make_session_factory(engine), hash_password("a new password"))
        finally:
            engine.dispose()
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP OWNED BY studio_rows")
            conn.execute("DROP ROLE studio_rows")
    assert "Traceback" not in out, out


def test_migrate_dumps_a_postgresql_database_first_or_needs_no_backup_without_pg_dump(pg_env, database_url):
    from studio.db import migrate
    from studio.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        migrate.run(engine, "upgrade", "0007")  # a history from the previous version
        refused = launch("migrate", env={**pg_env, "STUDIO_PG_DUMP": "/nonexistent/pg_dump"}, timeout=120)
        said = refused.stdout + refused.stderr
        assert refused.returncode == 1 and "Traceback" not in said
        assert "pg_dump was not found" in said and "--no-backup" in said, said
        assert migrate.current_revision(engine) == "0007"  # nothing was changed
        dumped = launch("migrate", env=pg_env, timeout=120)
        assert dumped.returncode == 0, dumped.stderr
        [line] = [x for x in (dumped.stdout + dumped.stderr).splitlines() if "backup (pg_dump" in x]
        backup = Path(line.rsplit(": ", 1)[1].strip())
        assert backup.is_file() and backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        assert migrate.current_revision(engine) == migrate.head_revision()
        migrate.run(engine, "downgrade", "0007")
        unbacked = launch("migrate", "--no-backup", env={**pg_env, "STUDIO_PG_DUMP": "/nonexistent/pg_dump"}, timeout=120)
        assert unbacked.returncode == 0 and "backup" not in unbacked.stdout + unbacked.stderr, unbacked.stderr
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
