"""A locked or damaged history database: a submission under another program's write lock is retried
for a bounded time and then refused in plain words with nothing written; a file that is not SQLite
gives the studio's own error instead of a raw DatabaseError."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from studio.config import PROJECT_ROOT, Paths
from studio.db.engine import WRITE_RETRY_SECONDS, DatabaseBusy, DatabaseUnusable
from studio.db.models import Run
from studio.jobs.queue import SubmitRequest
from studio.services import build_core, build_services
from tests.integration.conftest import SMALL, make_services, picture

# Another program holding the write lock: takes BEGIN EXCLUSIVE, says so, holds it, then lets go.
HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
conn.close()
"""


def hold_lock(db_path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"  # the lock is held from here on
    return holder


def release(holder: subprocess.Popen) -> None:
    """End the lock holder (this test's own child) early; SQLite drops its lock with the process."""
    if holder.poll() is None:
        holder.terminate()
    holder.wait(30)


def run_count(services) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Run))


@pytest.fixture()
def studio(tmp_path):
    services = make_services(tmp_path)  # its worker is not started: only the submissions matter
    yield services
    services.close()


def submit(services) -> list[int]:
    return services.queue.submit_many([SubmitRequest(engine="motion", params=SMALL, image=picture(),
                                                     image_name="locked.png")])


def test_submission_waits_out_a_short_lock_and_queues_the_run_once(studio):
    db_path = studio.paths.sqlite_path
    holder = hold_lock(db_path, 2.0)
    try:
        started = time.monotonic()
        run_ids = submit(studio)
        waited = time.monotonic() - started
    finally:
        holder.wait(30)
    assert holder.returncode == 0
    assert 1.0 < waited < WRITE_RETRY_SECONDS  # it did wait for the lock, and no longer than needed
    assert len(run_ids) == 1 and run_count(studio) == 1
    assert [r.status for r in studio.history.get_runs(run_ids)] == ["queued"]


def test_submission_under_a_long_lock_is_refused_in_plain_words_with_nothing_written(studio):
    db_path = studio.paths.sqlite_path
    holder = hold_lock(db_path, 40)  # as long as in the report: longer than any wait of the studio's
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as refused:
            submit(studio)
        waited = time.monotonic() - started
    finally:
        release(holder)
    assert WRITE_RETRY_SECONDS - 0.5 < waited < WRITE_RETRY_SECONDS + 3
    assert str(refused.value) == ("The history database is busy (another program is writing to it). "
                                  "Your run was not queued; try again in a moment.")
    assert run_count(studio) == 0  # nothing half-written once the lock is gone
    with studio.db.connect() as conn:  # the attempt's short busy wait did not stay on the pooled connection
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    # The connections went back to the pool with the usual busy wait: the next submission works.
    assert len(submit(studio)) == 1 and run_count(studio) == 1


def test_a_file_of_random_bytes_is_named_as_not_a_database(tmp_path):
    paths = Paths(data_dir=tmp_path / "data", logs_dir=tmp_path / "logs",
                  database_url=f"sqlite:///{tmp_path / 'data' / 'studio.db'}")
    paths.sqlite_path.parent.mkdir(parents=True)
    paths.sqlite_path.write_bytes(bytes(range(256)) * 64)
    for build in (build_core, build_services):
        with pytest.raises(DatabaseUnusable) as unusable:
            build(paths)
        message = str(unusable.value)
        assert f"{paths.sqlite_path} is not a SQLite database" in message
        assert "no backup copy (studio.db.bak-…) exists" in message


def test_launch_check_fails_on_corrupt_pages_with_the_restore_hint(tmp_path, studio_env, free_port):
    from tests.unit.test_preflight import make_damaged_history

    data_dir = tmp_path / "damaged"
    env = {k: v for k, v in studio_env.items() if k != "STUDIO_DATA_DIR"}
    make_damaged_history(Paths.from_env({**env, "STUDIO_DATA_DIR": str(data_dir)}))
    result = subprocess.run([sys.executable, "launch.py", "--check", "--data-dir", str(data_dir), "--port", str(free_port)],
                            env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "database:" in line)
    assert line.startswith("[FAIL] database:") and "is damaged" in line and "no backup copy" in line
    assert "Traceback" not in result.stdout + result.stderr


def test_generate_page_says_busy_keeps_the_form_and_queues_on_the_next_click(data_dir):
    from streamlit.testing.v1 import AppTest

    from studio.ui.runtime import services as cached_services

    cached_services.clear()
    try:
        at = AppTest.from_file(str(PROJECT_ROOT / "frame.py"), default_timeout=60).run()
        assert not at.exception, at.exception
        svc = cached_services()
        svc.worker.stop()  # the queued run stays queued: only the submission is under test
        prompt = next(t for t in at.text_area if t.label == "Prompt")
        at = prompt.input("a slow push-in on a quiet lake").run()
        holder = hold_lock(svc.paths.sqlite_path, 40)
        try:
            at = next(b for b in at.button if b.label == "Generate").click().run(timeout=WRITE_RETRY_SECONDS + 30)
        finally:
            release(holder)
        assert not at.exception, at.exception
        assert any("history database is busy" in w.value and "not queued" in w.value for w in at.warning)
        assert run_count(svc) == 0
        assert next(t for t in at.text_area if t.label == "Prompt").value == "a slow push-in on a quiet lake"
        at = next(b for b in at.button if b.label == "Generate").click().run()  # the lock is gone now
        assert not at.exception, at.exception
        assert not any("busy" in w.value for w in at.warning)
        assert run_count(svc) == 1
        with svc.sessions() as session:
            run = session.scalars(select(Run)).one()
        assert run.status == "queued" and run.params["prompt"] == "a slow push-in on a quiet lake"
    finally:
        cached_services().close()
        cached_services.clear()
