"""Leases and fencing: a worker holds a running run by a lease in the database's clock, every write it
makes names its worker id and attempt, and a worker that lost its lease (paused, suspended, cut off)
stops, removes its files and leaves the row to the attempt that holds it now."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from studio.config import Paths
from studio.db.engine import session_scope
from studio.db.models import utcnow
from studio.jobs import store as queue_store
from studio.jobs.queue import SubmitRequest
from studio.services import build_services
from tests.integration.conftest import SMALL, picture

ROOT = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
# Big enough that a camera-motion run takes seconds, so a worker can be paused in the middle: its
# progress is written twice a second (execute.PROGRESS_INTERVAL_S), and at 640x360 a fast machine
# drew all 240 frames in 0.55 s, between two polls of the test.
SLOW = {"width": 1280, "height": 720, "frames": 240, "fps": 24}
LONG = {"width": 1920, "height": 1080, "frames": 240, "fps": 24}  # the largest motion run: seconds even when streamed


def submit(services, **params) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, **params}, image=picture(),
                                               image_name="lease.png"))


def wait_for(predicate, timeout: float, what: str, report=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not reached in {timeout:.0f} s\n{report()}")


def row(services, run_id: int) -> dict:
    with session_scope(services.sessions) as session:
        return dict(session.execute(text("SELECT * FROM runs WHERE id = :id"), {"id": run_id}).mappings().one())


# ----- (b) a stale attempt's writes change nothing ------------------------------------------------

def test_writes_for_a_stale_worker_or_attempt_change_nothing(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        first = queue_store.lease_of(queue_store.claim_next(session, f"{HOST}:{os.getpid()}:first"))
    # The first worker's lease runs out (paused past it); the run is reclaimed and taken again.
    with session_scope(services.sessions) as session:
        session.execute(text("UPDATE runs SET lease_until = datetime('now', '-1 seconds') WHERE id = :id"), {"id": run_id})
    assert services.worker.recover() == [run_id]
    with session_scope(services.sessions) as session:
        second = queue_store.lease_of(queue_store.claim_next(session, f"{HOST}:{os.getpid()}:second"))
    assert (second.attempt, first.attempt) == (2, 1)
    before = row(services, run_id)

    stale_writes = {
        "progress": lambda s: queue_store.record_progress(s, first, 5, 6),
        "heartbeat": lambda s: queue_store.heartbeat(s, first),
        "cancel check": lambda s: queue_store.cancel_requested(s, first),
        "file registration": lambda s: queue_store.update_held(s, first, video_path="/elsewhere/first.mp4"),
        "finish": lambda s: queue_store.finish_run(s, first, "succeeded", video_path="/elsewhere/first.mp4"),
        "another worker, same attempt": lambda s: queue_store.heartbeat(
            s, queue_store.Lease(run_id, f"{HOST}:{os.getpid()}:first", 2, 90)),
    }
    for name, write in stale_writes.items():
        with pytest.raises(queue_store.LeaseLost) as lost, session_scope(services.sessions) as session:
            write(session)
        assert f"run {run_id}: lease lost to attempt 2" in str(lost.value), name
        assert row(services, run_id) == before, f"a stale {name} changed the row"

    # The holder's own writes go through.
    with session_scope(services.sessions) as session:
        assert queue_store.record_progress(session, second, 3, 6) is False
    assert row(services, run_id)["step"] == 3


def test_a_worker_that_loses_its_lease_while_encoding_removes_its_files_and_leaves_the_row(services, monkeypatch):
    run_id = submit(services)
    from studio.jobs import execute

    write_sidecar = execute.atomic_write_text

    def write_then_lose_the_run(path, text_):
        # The last file of the attempt is written; meanwhile the worker's lease ran out and another
        # worker took the run (as if this one had been paused for longer than its lease).
        write_sidecar(path, text_)
        with session_scope(services.sessions) as session:
            session.execute(text("UPDATE runs SET lease_until = datetime('now', '-1 seconds') WHERE id = :id"), {"id": run_id})
        with session_scope(services.sessions) as session:  # another worker's reclaim timer
            assert queue_store.recover_interrupted(session, worker_is_dead=lambda *_: False) == [run_id]
        with session_scope(services.sessions) as session:
            queue_store.claim_next(session, f"otherhost:{os.getpid()}:second")

    monkeypatch.setattr(execute, "atomic_write_text", write_then_lose_the_run)
    services.worker.run_until_idle()
    taken = row(services, run_id)
    assert (taken["status"], taken["attempts"], taken["worker_id"]) == ("running", 2, f"otherhost:{os.getpid()}:second")
    assert taken["video_path"] is None and taken["finished_at"] is None
    outputs = services.paths.data_dir / "outputs"
    assert [p for p in outputs.rglob("*") if p.is_file()] == [], "the first attempt's files were left behind"
    assert f"run {run_id}: lease lost to attempt 2" in Path(taken["log_path"]).read_text()


# ----- (c) expiry is in the database's clock -------------------------------------------------------

def test_a_host_clock_120_s_behind_or_ahead_cannot_steal_a_live_run(services, monkeypatch):
    run_id = submit(services)
    real = utcnow
    # The holder's host clock is two minutes behind when it claims and sends its heartbeats.
    monkeypatch.setattr("studio.jobs.store.utcnow", lambda: real() - timedelta(seconds=120))
    with session_scope(services.sessions) as session:
        # Another host with our pid number: neither the old code nor the new can call it dead by pid.
        holder = queue_store.claim_next(session, f"otherhost:{os.getpid()}:holder")
        assert holder is not None
    monkeypatch.setattr("studio.jobs.store.utcnow", real)
    assert services.worker.recover() == [], "a live run was reclaimed because the holder's clock is behind"
    # And a reclaiming host whose clock is two minutes ahead does not see it expired either.
    monkeypatch.setattr("studio.jobs.store.utcnow", lambda: real() + timedelta(seconds=120))
    assert services.worker.recover() == [], "a live run was reclaimed because our clock is ahead"
    assert row(services, run_id)["status"] == "running"


def test_an_expired_lease_is_reclaimed_whatever_the_reclaiming_host_clock_says(services, monkeypatch):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        queue_store.claim_next(session, f"otherhost:{os.getpid()}:holder", seconds=1)
    time.sleep(2.2)  # the database's clock passes the lease (SQLite keeps whole seconds)
    monkeypatch.setattr("studio.jobs.store.utcnow", lambda: utcnow() - timedelta(hours=1))
    assert services.worker.recover() == [run_id]


def test_a_host_with_the_same_hostname_does_not_take_a_live_run_as_dead(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        # Same hostname (a container with host networking), a pid that does not exist here.
        queue_store.claim_next(session, f"{HOST}:999999:container")
        session.execute(text("UPDATE runs SET worker_boot = 'another-boot/4026531836' WHERE id = :id"), {"id": run_id})
    assert services.worker.recover() == [], "a pid was trusted from another boot or pid namespace"
    assert row(services, run_id)["status"] == "running"


# ----- (d) reclaiming runs while the only worker is busy -------------------------------------------

def test_reclaim_runs_while_the_only_worker_is_busy_with_a_long_job(services, monkeypatch):
    # A reclaim interval well inside the long run (ten seconds or more), so that it is seen to run
    # while the worker is busy.
    monkeypatch.setattr("studio.jobs.worker.RECOVER_INTERVAL_S", 1.0)
    long_run = services.queue.submit(SubmitRequest(engine="motion", params=LONG, image=picture(), image_name="long.png"))
    services.worker.start()
    wait_for(lambda: row(services, long_run)["step"] > 0, 60, "the long run started")
    # A worker that is alive by pid (this process) but stopped renewing: only its lease can expire.
    orphan = submit(services)
    monkeypatch.setenv("STUDIO_LEASE_SECONDS", "1")
    with session_scope(services.sessions) as session:
        claimed = queue_store.claim_next(session, f"{HOST}:{os.getpid()}:paused")
    assert claimed is not None and claimed.id == orphan
    started = time.monotonic()
    wait_for(lambda: row(services, orphan)["status"] == "queued", 8, "the expired run was requeued",
             lambda: f"orphan {row(services, orphan)}\nlong {row(services, long_run)}")
    assert row(services, long_run)["status"] == "running", "the worker was not busy the whole time"
    assert time.monotonic() - started < 8


# ----- (a) SIGSTOP a worker past its lease, another takes the run, SIGCONT the first ---------------

def start_worker(data_dir: Path, out: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", STUDIO_LEASE_SECONDS="3")
    return subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "worker", "--data-dir", str(data_dir)],
                            cwd=ROOT, env=env, stdout=out.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def submit_with_cli(data_dir: Path, tmp_path: Path) -> int:
    """Queue the slow run as a user would from another shell: `launch.py submit` (queue only)."""
    image = tmp_path / "pause.png"
    picture().save(image)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    params = [arg for name, value in SLOW.items() for arg in ("--param", f"{name}={value}")]
    done = subprocess.run([sys.executable, str(ROOT / "launch.py"), "submit", "--data-dir", str(data_dir),
                           "--image", str(image), "--prompt", "a pause", "--engine", "motion", *params],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return int(done.stdout.split()[0])


def worker_log(data_dir: Path, process: subprocess.Popen, out: Path) -> str:
    logs = sorted((data_dir / "logs").glob(f"worker-*-{process.pid}.log"))
    return "".join(p.read_text(errors="replace") for p in logs) + out.read_text(errors="replace")


def end(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGCONT)
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)


def test_a_worker_paused_past_its_lease_loses_the_run_and_its_files(tmp_path):
    data_dir = tmp_path / "data"
    client = build_services(Paths(data_dir=data_dir, logs_dir=data_dir / "logs",
                                  database_url=f"sqlite:///{data_dir / 'studio.db'}"))
    first_out, second_out = tmp_path / "first.out", tmp_path / "second.out"
    first = start_worker(data_dir, first_out)
    second = None

    def report() -> str:
        logs = worker_log(data_dir, first, first_out)
        if second is not None:
            logs += "\n--- second worker ---\n" + worker_log(data_dir, second, second_out)
        return f"row: {row(client, run_id)}\n--- first worker ---\n{logs}"

    try:
        run_id = submit_with_cli(data_dir, tmp_path)
        wait_for(lambda: (r := row(client, run_id))["status"] == "running" and f":{first.pid}:" in r["worker_id"]
                 and r["step"] >= 1, 120, "the first worker is mid-run", report)
        os.kill(first.pid, signal.SIGSTOP)  # paused (a debugger, a suspended laptop, a stalled VM)
        # Paused mid-run: drawing frames, or (on a fast machine, where 240 frames take a
        # second or two) encoding them; either way the run is still the first worker's.
        paused_at = row(client, run_id)
        assert paused_at["status"] == "running" and f":{first.pid}:" in paused_at["worker_id"], report()

        second = start_worker(data_dir, second_out)
        done = wait_for(lambda: (r := row(client, run_id))["status"] in ("succeeded", "failed") and r, 120,
                        "the second worker took the run and finished it", report)
        assert done["status"] == "succeeded", report()
        os.kill(first.pid, signal.SIGCONT)
        wait_for(lambda: f"run {run_id}: lease lost to attempt 2" in worker_log(data_dir, first, first_out), 30,
                 "the first worker noticed it lost the lease", report)

        outputs = data_dir / "outputs"
        def files() -> list[str]:
            return sorted(p.name for p in outputs.rglob("*") if p.is_file())
        # Let the first worker finish whatever it would still do with this run.
        time.sleep(2)
        final = row(client, run_id)
        assert final["attempts"] == 2 and f":{second.pid}:" in final["worker_id"], report()
        assert final["video_path"] and "-a2" in Path(final["video_path"]).name and Path(final["video_path"]).exists()
        stem = Path(final["video_path"]).stem
        assert files() == sorted(f"{stem}{suffix}" for suffix in (".mp4", ".poster.jpg", ".thumb.jpg", ".json")), \
            f"expected one set of files, found {files()}"
        assert final["step"] == final["total_steps"] == SLOW["frames"]
        assert first.poll() is None, "the first worker should keep serving the queue after losing a run"
    finally:
        end(first)
        if second is not None:
            end(second)
        client.close()
