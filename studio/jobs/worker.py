"""The worker: one thread per server process (or a headless `launch.py worker`) that takes queued
runs from the database, runs them on the engine, encodes the frames and records the outcome.

It owns the single loaded pipeline: engines keep theirs loaded between jobs, and the worker
releases the previous engine's pipeline when a job needs a different one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths
from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.db.models import Run
from studio.db.settings import load_settings
from studio.engines.base import Cancelled, Engine, InputError, OutOfMemory, RuntimeOptions, WeightsMissing
from studio.engines.registry import Registry
from studio.jobs import store as queue_store
from studio.jobs.queue import validate_request
from studio.jobs.status import RunStatus
from studio.media.atomic import atomic_write_text
from studio.recipes import MP4_TAG, Recipe
from studio.storage import DiskFull, Storage

log = logging.getLogger("studio.worker")

PROGRESS_INTERVAL_S = 0.5  # at most two progress writes a second: SQLite writes are not free
HEARTBEAT_INTERVAL_S = 10.0  # proves liveness during long steps (a CPU diffusion step can take minutes)
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


class _Shutdown(Exception):
    """The worker is stopping while a run is in progress; the run is marked interrupted."""


class Worker:
    def __init__(self, *, session_factory: sessionmaker[Session], registry: Registry, storage: Storage,
                 paths: Paths, poll_interval: float = 1.0, worker_id: str | None = None):
        self._sessions = session_factory
        self._registry = registry
        self._storage = storage
        self._paths = paths
        self._poll_interval = poll_interval
        self.worker_id = worker_id or make_worker_id()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loaded: Engine | None = None
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
        if self._loaded is not None:
            self._loaded.release()
            self._loaded = None

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
        log_path = self._storage.run_log(run.id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = _thread_file_handler(log_path)
        logging.getLogger().addHandler(handler)
        heartbeat = _Heartbeat(self._sessions, run.id, HEARTBEAT_INTERVAL_S)
        heartbeat.start()
        try:
            with session_scope(self._sessions) as session:
                run_rows.update_run(session, run.id, log_path=str(log_path))
            log.info("run %s: attempt %s on worker %s", run.id, run.attempts, self.worker_id)
            outcome = self._generate_and_encode(run)
            status, values = RunStatus.SUCCEEDED, outcome
        except _Shutdown:
            status, values = RunStatus.INTERRUPTED, {"error": "Interrupted: the studio stopped while this run was in progress. It will resume at the next start."}
        except Cancelled:
            status, values = RunStatus.CANCELED, {"error": None}
        except InputError as exc:
            status, values = RunStatus.FAILED, {"error": exc.message, "error_kind": "input"}
        except OutOfMemory as exc:
            self._release_loaded()
            status, values = RunStatus.FAILED, {"error": f"Out of memory. {exc.advice}", "error_kind": "oom", "retry_mode": exc.retry_mode}
        except WeightsMissing as exc:
            status, values = RunStatus.FAILED, {"error": f"{exc} {exc.hint}".strip(), "error_kind": "weights"}
        except DiskFull as exc:
            status, values = RunStatus.FAILED, {"error": str(exc), "error_kind": "disk"}
        except Exception as exc:  # the studio stays up whatever an engine does
            log.error("run %s crashed:\n%s", run.id, traceback.format_exc())
            status, values = RunStatus.FAILED, {"error": f"Unexpected error: {exc}. Full details are in the run's log: {log_path}", "error_kind": "crash"}
        finally:
            heartbeat.stop()
        if status != RunStatus.SUCCEEDED:
            log.info("run %s ended %s: %s", run.id, status, values.get("error"))
        try:
            with session_scope(self._sessions) as session:
                queue_store.finish_run(session, run.id, status, **values)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()

    def _generate_and_encode(self, run: Run) -> dict[str, Any]:
        # 1. Re-validate: the CLI, an old database or a second worker must not run an invalid request.
        validated = validate_request(self._registry, run.engine, run.params)
        params = validated.params
        engine = self._registry.get(run.engine)
        with session_scope(self._sessions) as session:
            settings = load_settings(session)
            image_row = run_rows.get_run(session, run.id).input_image
        if image_row is None:
            raise InputError("image", "This run's input image is missing from the history.")
        # 2. Prepare the input exactly at the requested size.
        from PIL import Image

        from studio.media.images import fit_image

        try:
            with Image.open(image_row.path) as source:
                image = fit_image(source.convert("RGB"), params["width"], params["height"], params.get("fit", "crop"))
        except FileNotFoundError:
            raise InputError("image", f"The input image file is missing: {image_row.path}.") from None
        outputs_dir = settings.outputs_dir(self._paths)
        storage = dataclasses.replace(self._storage, outputs_dir=outputs_dir)
        storage.ensure_free_space(outputs_dir)
        # 3. One pipeline at a time: free the previous engine's before loading another.
        if self._loaded is not None and self._loaded is not engine:
            self._release_loaded()
        self._loaded = engine
        runtime = _resolve_runtime(engine, settings, params.get("memory_mode"))
        log.info("run %s: engine=%s runtime=%s params=%s", run.id, run.engine, runtime, json.dumps(params, sort_keys=True))
        with session_scope(self._sessions) as session:
            run_rows.update_run(session, run.id, memory_mode=runtime.memory_mode)
        progress = _Progress(self._sessions, run.id, self._stop)
        result = engine.generate(image, params, runtime, on_step=progress.on_step, cancelled=progress.cancelled)
        if self._stop.is_set():
            raise _Shutdown
        progress.flush()
        # 4. Encode: temp names then rename, inside the media functions.
        from studio.media.encode import write_gif, write_mp4
        from studio.media.thumbs import write_poster, write_thumbnail

        started = time.perf_counter()
        files = storage.run_files(run.id, run.started_at or run.queued_at)
        manifest = {**result.manifest, "runtime": dataclasses.asdict(runtime)}
        recipe = Recipe(engine=run.engine, params=params, model_id=run.model_id, run_id=run.id, manifest=manifest)
        write_mp4(result.frames, params["fps"], files.video, metadata={MP4_TAG: json.dumps(recipe.to_json(), sort_keys=True, default=str)})
        write_poster(result.frames[0], files.poster)
        write_thumbnail(result.frames[0], files.thumb)
        write_gif(result.frames, params["fps"], files.gif)
        atomic_write_text(files.sidecar, recipe.dumps())
        encode_seconds = time.perf_counter() - started
        log.info("run %s: load %.2fs infer %.2fs encode %.2fs -> %s", run.id, result.load_seconds,
                 result.infer_seconds, encode_seconds, files.video)
        return {
            "video_path": str(files.video), "poster_path": str(files.poster), "thumb_path": str(files.thumb),
            "load_seconds": result.load_seconds, "infer_seconds": result.infer_seconds,
            "encode_seconds": encode_seconds, "manifest": manifest, "error": None, "error_kind": None,
            "peak_vram_bytes": manifest.get("peak_vram_bytes"), "seed": params.get("seed"),
        }

    def _release_loaded(self) -> None:
        if self._loaded is not None:
            self._loaded.release()
            self._loaded = None


def _resolve_runtime(engine: Engine, settings: Any, requested_mode: str | None) -> RuntimeOptions:
    if not engine.info.needs_weights:
        return RuntimeOptions(device="cpu", dtype="uint8", memory_mode="cpu")
    from studio.engines.runtime import resolve_runtime

    return resolve_runtime(engine.info, settings, requested_mode)


class _Progress:
    """Step callback and cancel check for one run: throttled DB writes, cancel seen within a step."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int, stop: threading.Event):
        self._sessions = sessions
        self._run_id = run_id
        self._stop = stop
        self._last_write = 0.0
        self._pending: tuple[int, int] | None = None
        self._cancel = False
        self._last_cancel_check = 0.0

    def on_step(self, step: int, total: int) -> None:
        self._pending = (step, total)
        now = time.monotonic()
        if now - self._last_write >= PROGRESS_INTERVAL_S or step >= total:
            self.flush()

    def flush(self) -> None:
        if self._pending is None:
            return
        step, total = self._pending
        with session_scope(self._sessions) as session:
            self._cancel = queue_store.record_progress(session, self._run_id, step, total) or self._cancel
        self._last_write = self._last_cancel_check = time.monotonic()
        self._pending = None

    def cancelled(self) -> bool:
        if self._stop.is_set():
            raise _Shutdown
        now = time.monotonic()
        if not self._cancel and now - self._last_cancel_check >= PROGRESS_INTERVAL_S:
            with session_scope(self._sessions) as session:
                self._cancel = queue_store.cancel_requested(session, self._run_id)
            self._last_cancel_check = now
        return self._cancel


class _Heartbeat:
    def __init__(self, sessions: sessionmaker[Session], run_id: int, interval: float):
        self._sessions, self._run_id, self._interval = sessions, run_id, interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            try:
                with session_scope(self._sessions) as session:
                    queue_store.heartbeat(session, self._run_id)
            except Exception:  # a busy database must not kill the heartbeat
                log.warning("heartbeat for run %s failed", self._run_id, exc_info=True)


def _thread_file_handler(path: Path) -> logging.Handler:
    """A handler writing this thread's log records (ours and the libraries') to the run's log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    thread_id = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread_id)
    handler.setLevel(logging.INFO)
    return handler

