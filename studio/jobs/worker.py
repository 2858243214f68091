"""The worker loop: one thread per server process (or a headless `launch.py worker`) that polls
the queue, claims the oldest queued run and hands it to studio.jobs.execute, which runs it and
records the outcome. A reclaim timer on its own thread returns runs whose lease expired or whose
worker died to the queue, busy or not. The loop stops cleanly: a run in progress is marked
interrupted and resumes at the next start.

It owns the single loaded pipeline (a PipelineSlot shared with the executor): engines keep theirs
loaded between jobs, and the previous engine's pipeline is released when a job needs a different one.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths
from studio.db.engine import session_scope
from studio.db.models import Run
from studio.engines.registry import Registry
from studio.engines.runtime import gpu_identity
from studio.jobs import members
from studio.jobs import store as queue_store
from studio.jobs.execute import Executor, PipelineSlot
from studio.jobs.liveness import make_worker_id, worker_is_dead_locally
from studio.jobs.remote import RemoteMedia
from studio.jobs.wakeup import QueueListener
from studio.storage import Storage

log = logging.getLogger("studio.worker")

# How often the reclaim timer looks for runs whose lease expired or whose worker died. It runs on
# its own thread, so a run orphaned by another worker is requeued even while this one is busy.
RECOVER_INTERVAL_S = 5.0

__all__ = ["RECOVER_INTERVAL_S", "Worker", "make_worker_id", "worker_is_dead_locally"]


class Worker:
    def __init__(self, *, session_factory: sessionmaker[Session], registry: Registry, storage: Storage,
                 paths: Paths, poll_interval: float = 1.0, worker_id: str | None = None,
                 engines: Sequence[str] | None = None):
        self._sessions = session_factory
        # The engines this worker takes runs of (None: any; a run whose weights are missing then
        # fails with the install hint). `launch.py worker --engines` sets it on a host that can run
        # only some, so that the others' runs wait for a worker that can.
        self.engines = list(engines) if engines is not None else None
        self._poll_interval = poll_interval
        self.worker_id = worker_id or make_worker_id()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reclaimer: threading.Thread | None = None
        self._pipeline = PipelineSlot()
        self._executor = Executor(sessions=session_factory, registry=registry, storage=storage, paths=paths,
                                  pipeline=self._pipeline, stop=self._stop, worker_id=self.worker_id)
        self.current_run_id: int | None = None
        self._registry = registry
        self._gpu: tuple[str, int] | None = None  # (name, VRAM bytes), read once the worker runs
        # On PostgreSQL a queued run wakes this worker at once (LISTEN/NOTIFY); the poll is the fallback.
        self._listener = QueueListener(session_factory.kw["bind"], self.wake, self._stop)
        self._reported = False  # whether the workers table has an entry of ours to remove at stop

    # ----- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.report()
        self.recover()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name="studio-worker", daemon=True)
        self._thread.start()
        self._reclaimer = threading.Thread(target=self._reclaim_forever, name="studio-reclaim", daemon=True)
        self._reclaimer.start()
        self._listener.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the current step: a running job is marked interrupted and goes back to the
        queue at the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._reclaimer is not None:
            self._reclaimer.join(5)
        self._listener.join(5)
        self._pipeline.release()
        if not self._reported:  # a process that never worked (a CLI command) has no entry to remove
            return
        try:
            with session_scope(self._sessions) as session:
                members.forget(session, self.worker_id)
            self._reported = False
        except Exception:  # a database gone at shutdown: the entry simply stops being live
            log.warning("could not remove worker %s from the workers list", self.worker_id, exc_info=True)

    def report(self) -> None:
        """Say in the workers table that this worker is alive, what it can run and what it runs."""
        with session_scope(self._sessions) as session:
            members.report(session, self.worker_id, host=socket.gethostname(),
                           engines=self.engines if self.engines is not None else [members.ANY_ENGINE],
                           gpu=self._gpu[0] if self._gpu else None, vram_bytes=self._gpu[1] if self._gpu else None,
                           model_loaded=self._pipeline.loaded_model, current_run_id=self.current_run_id)
        self._reported = True

    def _report_quietly(self) -> None:
        if not self._reported:  # a CLI command's worker keeps out of the workers list
            return
        try:
            self.report()
        except Exception:  # the heartbeat reports again in a few seconds
            log.warning("could not report worker %s", self.worker_id, exc_info=True)

    def use_server(self, remote: RemoteMedia) -> None:
        """Work without a folder shared with the server: inputs are fetched from it and every file
        a run makes is sent to it (studio.jobs.remote)."""
        self._executor.remote = remote

    def wake(self) -> None:
        self._wake.set()

    @property
    def listening(self) -> threading.Event:
        """Set while this worker hears of queued runs at once (PostgreSQL); never set on SQLite."""
        return self._listener.listening

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def recover(self) -> list[int]:
        with session_scope(self._sessions) as session:
            recovered = queue_store.recover_interrupted(session, worker_is_dead=worker_is_dead_locally,
                                                        running_here=self.current_run_id)
        if recovered:
            log.info("returned interrupted runs to the queue: %s", recovered)
            self._wake.set()
        return recovered

    def _reclaim_forever(self) -> None:
        # On this thread, not at start: finding the GPU imports torch, which takes seconds.
        if self._may_use_gpu():
            try:
                self._gpu = gpu_identity()
            except Exception:  # a broken CUDA setup: the list shows no GPU, the runs say why
                log.warning("could not read this host's GPU", exc_info=True)
        # Module-level interval read each time, so that tests can shorten it.
        while not self._stop.wait(RECOVER_INTERVAL_S):
            try:
                self.report()
                self.recover()
            except Exception:  # a busy database must not end reclaiming: try again next time
                log.warning("reclaiming abandoned runs failed", exc_info=True)

    def _may_use_gpu(self) -> bool:
        """Whether any engine this worker takes has model weights (only those use a GPU)."""
        ids = self.engines if self.engines is not None else [info.id for info in self._registry.infos(include_developer=True)]
        return any(self._registry.get(i).info.needs_weights for i in ids if i in self._registry)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
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
            run = queue_store.claim_next(session, self.worker_id, self._executor.lease_seconds, self.engines,
                                         loaded=self._pipeline.loaded_model)
        if run is None:
            return False
        self.current_run_id = run.id
        self._report_quietly()  # the Workers list shows the run at once, not at the next heartbeat
        try:
            self._execute(run)
        finally:
            self.current_run_id = None
            self._report_quietly()  # ... and the model now loaded, which the next claims prefer
        return True

    def _execute(self, run: Run) -> None:
        self._executor.execute(run)
