"""The worker loop: one thread per server process (or a headless `launch.py worker`) that polls
the queue, claims the oldest queued run and hands it to studio.jobs.execute, which runs it and
records the outcome. The loop also returns runs abandoned by dead workers to the queue, and stops
cleanly: a run in progress is marked interrupted and resumes at the next start.

It owns the single loaded pipeline (a PipelineSlot shared with the executor): engines keep theirs
loaded between jobs, and the previous engine's pipeline is released when a job needs a different one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths
from studio.db.engine import session_scope
from studio.db.models import Run
from studio.engines.registry import Registry
from studio.jobs import store as queue_store
from studio.jobs.execute import Executor, PipelineSlot
from studio.storage import Storage

log = logging.getLogger("studio.worker")

STALE_AFTER = timedelta(seconds=90)  # a worker on another host is presumed dead after this silence
RECOVER_INTERVAL_S = 30.0  # how often an idle worker looks for runs abandoned by dead workers


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_is_dead_locally(worker_id: str | None) -> bool:
    """True when the worker ran on this host and its process no longer exists (or ran in this very
    process before a restart of the worker, which cannot happen while it still runs a job here)."""
    if not worker_id:
        return True
    host, _, rest = worker_id.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet still answers kill(pid, 0); on Linux its state says."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


class Worker:
    def __init__(self, *, session_factory: sessionmaker[Session], registry: Registry, storage: Storage,
                 paths: Paths, poll_interval: float = 1.0, worker_id: str | None = None):
        self._sessions = session_factory
        self._poll_interval = poll_interval
        self.worker_id = worker_id or make_worker_id()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pipeline = PipelineSlot()
        self._executor = Executor(sessions=session_factory, registry=registry, storage=storage, paths=paths,
                                  pipeline=self._pipeline, stop=self._stop, worker_id=self.worker_id)
        self.current_run_id: int | None = None

    # ----- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="studio-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current step: a running job is marked interrupted and goes back to the
        queue at the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pipeline.release()

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def recover(self) -> list[int]:
        with session_scope(self._sessions) as session:
            recovered = queue_store.recover_interrupted(session, worker_is_dead=worker_is_dead_locally,
                                                        stale_after=STALE_AFTER)
        if recovered:
            log.info("returned interrupted runs to the queue: %s", recovered)
        return recovered

    def run_forever(self) -> None:
        last_recovery = time.monotonic()
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                if not worked and time.monotonic() - last_recovery > RECOVER_INTERVAL_S:
                    # Another worker (another process or host) may have died since we started.
                    self.recover()
                    last_recovery = time.monotonic()
            except Exception:  # never let the thread die: log and keep serving the queue
                log.exception("worker loop error")
                worked = False
            if not worked:
                self._wake.wait(self._poll_interval)
                self._wake.clear()

    def run_until_idle(self, timeout: float = 600.0) -> None:
        """Process queued runs in this thread until none is left (CLI `run` and tests)."""
        self._stop.clear()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run_once():
            pass

    # ----- one job ------------------------------------------------------------------------------

    def run_once(self) -> bool:
        with session_scope(self._sessions) as session:
            run = queue_store.claim_next(session, self.worker_id)
        if run is None:
            return False
        self.current_run_id = run.id
        try:
            self._execute(run)
        finally:
            self.current_run_id = None
        return True

    def _execute(self, run: Run) -> None:
        self._executor.execute(run)
