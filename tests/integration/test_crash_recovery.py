"""SIGKILL the studio in the middle of a job, launch it again: the job comes back and completes,
no half-written file is left, and SQLite's integrity check passes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from studio.config import Paths
from studio.jobs.queue import SubmitRequest
from studio.services import build_services

ROOT = Path(__file__).resolve().parents[2]


def launch(data_dir: Path, port: int, log: Path, database_url: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    if database_url and not database_url.startswith("sqlite"):
        env["STUDIO_DATABASE_URL"] = database_url
    process = subprocess.Popen([sys.executable, str(ROOT / "launch.py"), "--no-browser", "--port", str(port),
                                "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the studio did not start")


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def wait_for(predicate, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.mark.both_dialects
def test_sigkill_mid_job_then_relaunch_completes_the_job(tmp_path, free_port, database_url, backend):
    data_dir = tmp_path / "data"
    log = tmp_path / "launch.log"
    server = launch(data_dir, free_port, log, database_url)
    # Queue through the same history the UI uses; the server's worker picks it up.
    client = build_services(Paths(data_dir=data_dir, logs_dir=data_dir / "logs", database_url=database_url))
    try:
        image = Image.new("RGB", (640, 360), (40, 90, 160))
        run_id = client.queue.submit(SubmitRequest(engine="motion", image=image, image_name="crash.png",
                                                   params={"width": 1280, "height": 720, "frames": 240}))
        wait_for(lambda: (r := client.history.get_run(run_id)).status == "running" and r.step > 5)

        # SIGKILL the server and its launcher at once, as a power cut or the OOM killer would.
        server_pids = children(server.pid)
        assert server_pids, "launch.py should run the server as a child process"
        for pid in [server.pid, *server_pids]:
            os.kill(pid, signal.SIGKILL)
        server.wait(10)
        killed = client.history.get_run(run_id)
        assert killed.status == "running" and killed.step < 240  # left behind mid-job

        server = launch(data_dir, free_port, log, database_url)
        done = wait_for(lambda: (r := client.history.get_run(run_id)).status in ("succeeded", "failed") and r)
        assert done.status == "succeeded", done.error
        assert done.attempts == 2 and Path(done.video_path).exists()
        assert not list(data_dir.rglob("*.partial*")), "a half-written file was left behind"
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    if backend == "sqlite":  # PostgreSQL's own crash recovery (WAL replay) is not the studio's to check
        with sqlite3.connect(data_dir / "studio.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_killing_only_the_launcher_leaves_no_orphan_server(tmp_path, free_port):
    data_dir = tmp_path / "data"
    launcher = launch(data_dir, free_port, tmp_path / "launch.log")
    server_pids = children(launcher.pid)
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait(10)

    def gone(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        return state == "Z"  # exited, waiting to be reaped by init

    wait_for(lambda: all(gone(pid) for pid in server_pids), timeout=60)
