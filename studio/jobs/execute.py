"""One claimed run, start to finish: check the stored request, load the input, generate, encode and
write the files and manifest, then record the outcome. The worker loop (studio.jobs.worker) decides
which run and when; this module decides what running it means.

While a run is in progress a heartbeat thread proves the worker alive and renews its lease,
progress is written at most twice a second, and a cancel request or a stopping worker is seen within
one step. Every write names the worker and attempt (studio.jobs.store.Lease); when one matches
nothing the run was taken from this worker (it was paused past its lease, say), so it stops, removes
the files of its attempt and leaves the row to whoever holds it now.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from studio import interrupts
from studio.config import Paths
from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.db.models import Run
from studio.db.settings import load_settings
from studio.engines.base import Cancelled, Engine, InputError, OutOfMemory, StreamingEngine, WeightsMissing
from studio.engines.registry import Registry
from studio.engines.runtime import resolve_runtime
from studio.jobs import chains, followups
from studio.jobs import store as queue_store
from studio.jobs.remote import DeliveryFailed, RemoteMedia, deliver_files, deliver_log
from studio.jobs.stills import Stills
from studio.jobs.status import RunStage, RunStatus
from studio.jobs.store import Lease, LeaseLost
from studio.media.atomic import atomic_write_text
from studio.media.audio import audio_manifest
from studio.post.base import PostEngine
from studio.recipes import MP4_TAG, Recipe
from studio.requests import load_stored
from studio.storage import DiskFull, OutputNotWritable, RunFiles, Storage, attempt_files

log = logging.getLogger("studio.worker")

PROGRESS_INTERVAL_S = 0.5  # at most two progress writes a second: SQLite writes are not free
HEARTBEAT_INTERVAL_S = 10.0  # proves liveness during long steps (a CPU diffusion step can take minutes)
# ... and at least three heartbeats per lease, so one slow database write does not lose it.
HEARTBEATS_PER_LEASE = 3


class Shutdown(Exception):
    """The worker is stopping while a run is in progress; the run is marked interrupted."""


class PipelineSlot:
    """The single loaded pipeline. Engines keep theirs loaded between runs; a run that needs a
    different engine releases the previous one's first, so only one is ever in memory."""

    def __init__(self) -> None:
        self._loaded: Engine | None = None

    def use(self, engine: Engine) -> None:
        if self._loaded is not None and self._loaded is not engine:
            self.release()
        self._loaded = engine

    @property
    def loaded_model(self) -> str | None:
        """The engine whose model weights are in memory now (None: none, or an engine without weights)."""
        engine = self._loaded
        return engine.info.id if engine is not None and engine.info.needs_weights else None

    def release(self) -> None:
        if self._loaded is not None:
            self._loaded.release()
            self._loaded = None


@dataclass
class Executor:
    """Runs one claimed run on behalf of a worker, whose pipeline slot and stop event it shares."""

    sessions: sessionmaker[Session]
    registry: Registry
    storage: Storage
    paths: Paths
    pipeline: PipelineSlot
    stop: threading.Event
    worker_id: str
    lease_seconds: int = dataclasses.field(default_factory=queue_store.lease_seconds)
    # A worker with no folder shared with the server: inputs come from it and files go to it.
    remote: RemoteMedia | None = None

    def execute(self, run: Run) -> None:
        """Run it and record how it ended; whatever the engine does, this returns."""
        lease = queue_store.lease_of(run, self.lease_seconds)
        written: list[RunFiles] = []  # this attempt's files, removed if the lease is lost
        scratch: list[Path] = []  # files the attempt reads from and nobody keeps (a joined chain)
        log_path = self.storage.run_log(run.id)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = _thread_file_handler(log_path)
        logging.getLogger().addHandler(handler)
        heartbeat = _Heartbeat(self.sessions, lease, min(HEARTBEAT_INTERVAL_S, lease.seconds / HEARTBEATS_PER_LEASE))
        heartbeat.start()
        child: followups.Child | None = None
        stopped_here = False
        try:
            with session_scope(self.sessions) as session:
                queue_store.update_held(session, lease, log_path=str(log_path))
            log.info("run %s: attempt %s on worker %s", run.id, run.attempts, self.worker_id)
            with interrupts.deferred():  # a Ctrl-C stops the run at its next step, cleanly
                outcome = self._generate_and_encode(run, lease, heartbeat, written, scratch)
            heartbeat.check()
            if self.remote is not None:  # succeeded only once the server has every file
                outcome = {**outcome, **deliver_files(self.remote, lease, written[-1])}
            status, values = RunStatus.SUCCEEDED, outcome
            child = self._planned_child(run)
        except LeaseLost as lost:
            self._abandon(lost, written, handler)
            return
        except (Shutdown, KeyboardInterrupt) as stop:
            # KeyboardInterrupt: Ctrl-C or SIGTERM in a command running the job on its own thread
            # (`run`, `submit --wait`): recorded like a stopping studio's, then passed on.
            stopped_here = isinstance(stop, KeyboardInterrupt)
            status, values = RunStatus.INTERRUPTED, {"error": "Interrupted: the studio stopped while this run was in progress. It will resume at the next start."}
        except Cancelled:
            status, values = RunStatus.CANCELED, {"error": None}
        except InputError as exc:
            status, values = RunStatus.FAILED, {"error": exc.message, "error_kind": "input"}
        except OutOfMemory as exc:
            self.pipeline.release()
            status, values = RunStatus.FAILED, {"error": f"Out of memory. {exc.advice}", "error_kind": "oom", "retry_mode": exc.retry_mode}
        except WeightsMissing as exc:
            status, values = RunStatus.FAILED, {"error": f"{exc} {exc.hint}".strip(), "error_kind": "weights"}
        except DiskFull as exc:
            status, values = RunStatus.FAILED, {"error": str(exc), "error_kind": "disk"}
        except OutputNotWritable as exc:  # a PermissionError naming the output folder
            status, values = RunStatus.FAILED, {"error": str(exc), "error_kind": "permissions"}
        except DeliveryFailed as exc:
            status, values = RunStatus.FAILED, {"error": f"{str(exc)[0].upper()}{str(exc)[1:]}.", "error_kind": "delivery"}
        except Exception as exc:  # the studio stays up whatever an engine does
            log.error("run %s crashed:\n%s", run.id, traceback.format_exc())
            status, values = RunStatus.FAILED, {"error": f"Unexpected error: {exc}. Full details are in the run's log: {log_path}", "error_kind": "crash"}
        finally:
            heartbeat.stop()
            for path in scratch:
                path.unlink(missing_ok=True)
        if status != RunStatus.SUCCEEDED:
            log.info("run %s ended %s: %s", run.id, status, values.get("error"))
        # 6. Finish: record the outcome (the result columns, or why there are none), for this
        #    attempt only: a refused finish means another attempt owns the row and its files.
        try:
            if self.remote is not None:
                values = {**values, **deliver_log(self.remote, lease, log_path)}
            with session_scope(self.sessions) as session:
                queue_store.finish_run(session, lease, status, **values)
                if status == RunStatus.SUCCEEDED and child is not None:  # the post-processing it asked for
                    log.info("run %s: queued %s run %s", run.id, child.request.engine, followups.add_child(session, child))
        except LeaseLost as lost:
            self._abandon(lost, written, handler)
            return
        if self.remote is not None:  # the server keeps the files now; this host needs no copy
            for files in written:
                files.remove()
        logging.getLogger().removeHandler(handler)
        handler.close()
        if stopped_here:
            raise KeyboardInterrupt
        interrupts.check()  # asked for after the run's last step: the run is done, the command stops

    def _planned_child(self, run: Run) -> followups.Child | None:
        try:
            return followups.planned_child(self.registry, run, run.params)
        except InputError as exc:  # checked when queued; a row edited since loses only its follow-up
            log.warning("run %s: post-processing not queued: %s", run.id, exc.message)
            return None

    def _abandon(self, lost: LeaseLost, written: list[RunFiles], handler: logging.Handler) -> None:
        """The run is not ours any more: remove what this attempt wrote and leave the row alone."""
        try:
            log.warning("%s", lost)
            for files in written:
                files.remove()
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()

    def _generate_and_encode(self, run: Run, lease: Lease, heartbeat: _Heartbeat, written: list[RunFiles],
                             scratch: list[Path]) -> dict[str, Any]:
        # 1. The stored request: taken as it is when this studio version stored it unchanged; a row
        #    from an older version or edited since it was queued is validated again.
        request = load_stored(self.registry, engine=run.engine, model_id=run.model_id, params=run.params,
                              version=run.request_version, stored_digest=run.request_digest)
        params = request.stored_params()
        engine = self.registry.get(run.engine)
        with session_scope(self.sessions) as session:
            settings = load_settings(session)
            row = run_rows.get_run(session, run.id)
            image_row, end_row = row.input_image, row.end_image
            # A post-processing tool makes its frames from its source run's video (None otherwise).
            post_sources = _source_videos(session, engine, params)
        if image_row is None:
            raise InputError("image", "This run's input image is missing from the history.")
        # 2. Load the input exactly at the requested size.
        from PIL import Image

        from studio.media.images import fit_image

        # A remote worker's copy of the input, fetched from the server (fenced like any write).
        image_path = self.remote.fetch_input(lease) if self.remote is not None else image_row.path
        try:
            with Image.open(image_path) as source:
                image = fit_image(source.convert("RGB"), params["width"], params["height"], params.get("fit", "crop"))
        except FileNotFoundError:
            raise InputError("image", f"The input image file is missing: {image_row.path}.") from None
        # The end image (a keyframe), fitted the same way; passed only when the run has one, so an
        # engine without keyframes never sees the argument (validate() refused such runs).
        keyframes: dict[str, Any] = {}
        if end_row is not None:
            end_path = self.remote.fetch_input(lease, "end") if self.remote is not None else end_row.path
            keyframes["end_image"] = _fitted_end_image(end_path, params)
        # A remote worker writes into its own data folder first: the output folder setting is the server's.
        outputs_dir = self.paths.default_outputs_dir if self.remote is not None else settings.outputs_dir(self.paths)
        storage = dataclasses.replace(self.storage, outputs_dir=outputs_dir)
        storage.ensure_free_space(outputs_dir)
        if lease.attempt > 1:  # an earlier attempt died mid-encode: its temporaries are nobody's now
            storage.remove_partials_of_run(run.id)
        post_source = None
        if post_sources is not None:  # an extend chain is joined into one video first, read, then deleted
            videos, source_fps = post_sources
            if len(videos) == 1:
                post_source = videos[0]
            else:
                post_source = chains.join_for_post(videos, source_fps, outputs_dir, run.id)
                scratch.append(post_source)
        # 3. One pipeline at a time: free the previous engine's before loading another (the
        #    post-processing tools load none, so a warm pipeline stays for the next generation).
        if post_source is None:
            self.pipeline.use(engine)
        runtime = resolve_runtime(engine.info, settings, request.runtime.memory_mode)
        log.info("run %s: engine=%s runtime=%s params=%s", run.id, run.engine, runtime, json.dumps(params, sort_keys=True))
        with session_scope(self.sessions) as session:
            queue_store.update_held(session, lease, memory_mode=runtime.memory_mode)
        # 4. Generate and encode, reporting progress and watching for a cancel, a stopping worker or a
        #    lost lease. An engine that streams (camera motion) renders straight into the encoder, so
        #    the two overlap; the others hand over all their frames at the end. Files are written
        #    under temporary names, then renamed, all or nothing.
        from studio.media.encode import gif_from_video, write_mp4

        streaming = isinstance(engine, StreamingEngine) or post_source is not None  # post tools stream too
        progress = _Progress(self.sessions, lease, self.stop, heartbeat, streaming=streaming)
        started = time.perf_counter()
        if post_source is not None:
            frames = engine.iter_post_frames(post_source, request, on_step=progress.on_step, cancelled=progress.cancelled)
            load_seconds, infer_seconds, engine_manifest = 0.0, None, engine.manifest(params)
            audio = engine.sound(post_source, params)  # smooth and upscale keep the source's sound
            frames_done_at = None
        elif streaming:
            frames: Any = engine.iter_frames(image, request, on_step=progress.on_step, cancelled=progress.cancelled,
                                             **keyframes)
            load_seconds, infer_seconds, engine_manifest = 0.0, None, engine.manifest(params)
            audio = None
            frames_done_at: float | None = None  # known once the encoder has taken the last frame
        else:
            progress.enter(RunStage.LOADING)  # the first step ends it (a model already loaded: at once)
            result = engine.generate(image, request, runtime, on_step=progress.on_step, cancelled=progress.cancelled,
                                     **keyframes)
            if not settings.keep_model_warm:  # Settings: give the memory back after every run
                self.pipeline.release()
            progress.enter(RunStage.ENCODING)
            progress.stop_if_cancelled()
            frames, engine_manifest, audio = result.frames, result.manifest, result.audio
            if audio is not None:
                audio = audio.fitted(params["frames"] / params["fps"])
            load_seconds, infer_seconds = result.load_seconds, result.infer_seconds
            frames_done_at = time.perf_counter()
        # The naming is the storage's: the server's hub names a remote attempt's uploads alike.
        files = attempt_files(storage.run_files(run.id, run.started_at or run.queued_at), lease.attempt)
        written.append(files)
        manifest = {**engine_manifest, "runtime": dataclasses.asdict(runtime), **audio_manifest(audio)}
        recipe = Recipe(engine=run.engine, params=params, model_id=run.model_id, run_id=run.id, manifest=manifest)
        # Measured on their way to the encoder (motion, flicker, sharpness, fidelity to the input):
        # a few per cent of a run, and no second decode of the MP4.
        from studio.media.measure import FrameMeter

        meter = FrameMeter(reference=image)
        with files.all_or_nothing():
            # A cancel during the encode (seconds for a long video) is honoured too: the block
            # removes what was written, so a cancelled run never shows a video.
            with Stills(files.poster, files.thumb) as stills:  # written from the first frame meanwhile
                timed = _TimedFrames(meter.watch(frames), on_first=stills.start)
                write_mp4(timed, params["fps"], files.video,
                          metadata={MP4_TAG: json.dumps(recipe.to_json(), sort_keys=True, default=str)}, audio=audio)
            encoded_at = time.perf_counter()
            progress.enter(RunStage.SAVING)
            progress.stop_if_cancelled()
            stills.check()
            if settings.always_gif:  # else made from the MP4 when first asked for (Services.gif_of)
                gif_from_video(files.video, files.gif)
            progress.stop_if_cancelled()
            atomic_write_text(files.sidecar, recipe.dumps())
        measured = _measured(run.id, meter)  # the last of the measuring (SSIM against the input)
        # Encode: what came after the last frame was made (the run's fixed cost, measuring's last
        # step included); when streaming, infer is until then.
        frames_done_at = frames_done_at or timed.last_at or started
        if infer_seconds is None:
            infer_seconds = frames_done_at - started
        encode_seconds = time.perf_counter() - frames_done_at
        # After the last frame, the encoder first finishes the frames it still holds (x264 looks
        # ahead some frames, and encodes slower than a fast engine renders); only the rest is the
        # run's own fixed cost.
        log.info("run %s: load %.2fs infer %.2fs encode %.2fs (encoder finishing %.3fs, then files %.3fs) -> %s",
                 run.id, load_seconds, infer_seconds, encode_seconds, max(0.0, encoded_at - frames_done_at),
                 time.perf_counter() - encoded_at, files.video)
        return {
            "video_path": str(files.video), "poster_path": str(files.poster), "thumb_path": str(files.thumb),
            "load_seconds": load_seconds, "infer_seconds": infer_seconds,
            "encode_seconds": encode_seconds, "manifest": manifest, "error": None, "error_kind": None,
            "peak_vram_bytes": manifest.get("peak_vram_bytes"), "seed": params.get("seed"),
            **measured,
        }


def _fitted_end_image(path: str, params: dict[str, Any]) -> Any:
    from PIL import Image

    from studio.media.images import fit_image

    try:
        with Image.open(path) as source:
            return fit_image(source.convert("RGB"), params["width"], params["height"], params.get("fit", "crop"))
    except FileNotFoundError:
        raise InputError("end_image", f"The end image file is missing: {path}.") from None


class _Progress:
    """Step callback and cancel check for one run: throttled DB writes, cancel seen within a step."""

    def __init__(self, sessions: sessionmaker[Session], lease: Lease, stop: threading.Event, heartbeat: _Heartbeat,
                 *, streaming: bool = False):
        self._sessions = sessions
        self._lease = lease
        self._stop = stop
        self._heartbeat = heartbeat
        self._streaming = streaming
        self._last_write = 0.0
        self._pending: tuple[int, int] | None = None
        self._stage: RunStage | None = None
        self._entered: RunStage | None = None  # a stage entered since the last write
        self._cancel = False
        self._last_cancel_check = 0.0

    def on_step(self, step: int, total: int) -> None:
        self._heartbeat.check()
        self._pending = (step, total)
        if self._stage in (None, RunStage.LOADING):
            self._switch(RunStage.RENDERING)
        if self._streaming and step >= total:
            self._switch(RunStage.ENCODING)  # every frame drawn: what remains is the encoder's
        now = time.monotonic()
        if self._entered or now - self._last_write >= PROGRESS_INTERVAL_S or step >= total:
            self.flush()

    def enter(self, stage: RunStage) -> None:
        """The run moves on to `stage`: written at once, with any step not written yet."""
        self._switch(stage)
        if self._pending is None:
            with session_scope(self._sessions) as session:
                queue_store.enter_stage(session, self._lease, stage)
            self._entered = None
        else:
            self.flush()

    def _switch(self, stage: RunStage) -> None:
        if stage != self._stage:
            self._stage = self._entered = stage

    def flush(self) -> None:
        if self._pending is None:
            return
        step, total = self._pending
        with session_scope(self._sessions) as session:
            self._cancel = queue_store.record_progress(session, self._lease, step, total, self._entered) or self._cancel
        self._last_write = self._last_cancel_check = time.monotonic()
        self._pending = None
        self._entered = None

    def cancelled(self, *, force: bool = False) -> bool:
        if self._stop.is_set():
            raise Shutdown
        interrupts.check()  # a Ctrl-C or SIGTERM asked for during the run (studio.interrupts)
        self._heartbeat.check()
        now = time.monotonic()
        if not self._cancel and (force or now - self._last_cancel_check >= PROGRESS_INTERVAL_S):
            with session_scope(self._sessions) as session:
                self._cancel = queue_store.cancel_requested(session, self._lease)
            self._last_cancel_check = now
        return self._cancel

    def stop_if_cancelled(self) -> None:
        """Between the steps after generation, where no engine asks: raise what a step would."""
        if self.cancelled(force=True):
            raise Cancelled


class _Heartbeat:
    """Renews the lease while the engine works; a refused renewal is kept for the engine thread,
    which raises it at its next step (check())."""

    def __init__(self, sessions: sessionmaker[Session], lease: Lease, interval: float):
        self._sessions, self._lease, self._interval = sessions, lease, interval
        self._done = threading.Event()
        self._lost: LeaseLost | None = None
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{lease.run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)

    def check(self) -> None:
        if self._lost is not None:
            raise self._lost

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            try:
                with session_scope(self._sessions) as session:
                    queue_store.heartbeat(session, self._lease)
            except LeaseLost as lost:
                self._lost = lost
                return
            except Exception:  # a busy database must not kill the heartbeat
                log.warning("heartbeat for run %s failed", self._lease.run_id, exc_info=True)


class _TimedFrames:
    """The frames on their way to the encoder: hands the first on (for the poster) and notes when the
    last one was handed over (for the timings), whether they come from an array or a stream."""

    def __init__(self, frames: Any, on_first: Callable[[Any], None]):
        self._frames = frames
        self._on_first = on_first
        self.last_at: float | None = None

    def __iter__(self) -> Iterator[Any]:
        for index, frame in enumerate(self._frames):
            if index == 0:
                self._on_first(frame)
            yield frame
        self.last_at = time.perf_counter()


def _source_videos(session: Session, engine: Engine, params: dict[str, Any]) -> tuple[list[Path], int] | None:
    """A post-processing run's source videos and frame rate (None for any other engine)."""
    return chains.post_source(session, params) if isinstance(engine, PostEngine) else None


def _measured(run_id: int, meter: Any) -> dict[str, Any]:
    """The measurement columns of a finished run; none (the run shows 'not measured' and offers to
    measure it) when its frames could not be measured."""
    measured = meter.result()
    if measured is None:
        log.warning("run %s: its frames could not be measured: %s", run_id, meter.failure)
        return {}
    log.info("run %s: measured in %.3fs: motion %.3f flicker %.3f", run_id, measured.seconds,
             measured.motion_mean, measured.flicker_mean)
    return measured.columns()


def _thread_file_handler(path: Path) -> logging.Handler:
    """A handler writing this thread's log records (ours and the libraries') to the run's log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    thread_id = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread_id)
    handler.setLevel(logging.INFO)
    return handler
