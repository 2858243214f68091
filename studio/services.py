"""The composition root: builds every service once from the paths, and nothing else does.

The Streamlit server (app.py's lifespan and every page, through studio.ui.runtime), the headless
worker and the CLI all start here, so they see the same database, engines and storage.
`build_core` is the part without a worker or queue (preflight, `launch.py models`/`download`/
`set-password`); `build_services` adds those on top of it.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths, Settings
from studio.db import migrate
from studio.db.engine import make_engine, make_session_factory, session_scope
from studio import creator_defaults
from studio.engines import levers
from studio.engines.base import EngineInfo, WeightsStatus
from studio.engines.diffusion.lora_library import LoraFile, list_loras
from studio.engines.diffusion.lora_library import check_folders as check_lora_folders
from studio.engines.registry import Registry, build_registry
from studio.engines.runtime import describe_plan
from studio.history import History
from studio.jobs import chains, members
from studio.jobs.chains import ExtensionStart
from studio.jobs.members import WorkerView
from studio.jobs.queue import JobQueue
from studio.jobs.worker import Worker
from studio.storage import Storage
from studio.weights_cache import WeightsCache

if TYPE_CHECKING:
    from studio.jobs.hub import MediaHub


def _check_output_folder(outputs: Path) -> None:
    """Make the output folder and write a file in it, or raise ValueError saying which failed and
    why: the OS's words alone mislead here ("No such file or directory" for /proc/x, which exists
    but is a place no folder can be made; "File exists" for a file typed as the folder)."""
    if outputs.exists() and not outputs.is_dir():
        raise ValueError(f"The output folder {outputs} is a file, not a folder. "
                         "Choose a folder; the settings were not saved.")
    try:
        outputs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"The output folder {outputs} cannot be created there ({exc.strerror or exc}). "
                         "Choose a folder on a disk this machine writes to; the settings were not saved.") from None
    try:
        with tempfile.NamedTemporaryFile(dir=outputs, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ValueError(f"The output folder {outputs} cannot be written ({exc.strerror or exc}). "
                         "Choose another folder; the settings were not saved.") from None


@dataclass
class Services:
    paths: Paths
    db: Engine
    sessions: sessionmaker[Session]
    registry: Registry
    storage: Storage
    history: History
    queue: JobQueue
    worker: Worker
    _weights: WeightsCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._weights = WeightsCache(self.registry)

    def settings(self) -> Settings:
        """The current settings, from the history's cache (loaded once per change)."""
        return self.history.settings()

    def revalidate_settings(self) -> None:
        """Notice settings saved by another process; the UI calls this once per render."""
        self.history.revalidate_settings()

    def weights_status(self, engine_id: str) -> WeightsStatus:
        """The engine's weights status, checked once per model folders setting until rescan_models."""
        return self._weights.status(engine_id, self.settings())

    def form_info(self, engine_id: str) -> EngineInfo:
        """The engine's description with the creator's defaults from Settings in place of its own:
        what the Generate form starts from and what a request that leaves a value out gets."""
        return creator_defaults.applied(self.registry.get(engine_id).info, self.settings())

    def default_engine_id(self) -> str:
        return self._weights.default_engine_id(self.settings())

    def rescan_models(self) -> None:
        """Forget every weights check, so weights installed since are found on the next look."""
        self._weights.clear()

    def apply_settings(self, settings: Settings) -> None:
        """Persist settings; new outputs go to the new folder from the next run on. An output folder
        that cannot be written is refused (ValueError) and nothing is saved; so is a speed or memory
        lever this machine cannot use (InputError, a ValueError, with its reason)."""
        levers.check_settings(settings)
        chosen = settings.output_dir
        if "\x00" in chosen:
            raise ValueError("The output folder holds a character no folder name can (a NUL byte); type it again. "
                             "The settings were not saved.")
        if chosen and not Path(chosen).expanduser().is_absolute():
            raise ValueError(f"The output folder must be a full path, such as /data/videos or ~/videos: {chosen!r} "
                             "would be taken from wherever the studio was started. The settings were not saved.")
        _check_output_folder(settings.outputs_dir(self.paths))
        check_lora_folders(settings.lora_dirs)
        self.history.save_settings(settings)
        self.storage = dataclasses.replace(self.storage, outputs_dir=settings.outputs_dir(self.paths))

    def loras(self) -> list[LoraFile]:
        """The LoRA library: every safetensors file in the LoRA folders, with its size and family."""
        return list_loras(self.settings().lora_dirs)

    def lever_choices(self) -> dict[str, list[str]]:
        """The attention backends and quantizations this machine can use (the Settings page offers those)."""
        return levers.usable_choices()

    def export_runs(self, run_ids: list[int], destination: Path | None = None) -> Path:
        """A zip of these runs (media, inputs, rows), by default in the data folder's exports/."""
        from studio.archive import export_runs

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return export_runs(self.sessions, run_ids, destination or self.paths.data_dir / "exports" / f"runs-{stamp}.zip")

    def import_upload(self, data: bytes, name: str) -> list[int]:
        """Import an uploaded studio export; raises ArchiveError (a ValueError) with the reason."""
        from studio.archive import upload_file_name

        with tempfile.TemporaryDirectory(dir=self.paths.data_dir) as folder:
            path = Path(folder) / upload_file_name(name)
            path.write_bytes(data)
            return self.import_file(path)

    def import_file(self, path: Path) -> list[int]:
        """Import a studio export zip from disk (`launch.py import`, and uploads once saved): the
        archive's checks all happen in import_runs, so both ways in get the same ones."""
        from studio.archive import import_runs

        return import_runs(self.sessions, self.storage, path)

    def gif_of(self, run_id: int) -> Path:
        """The run's GIF, made from its video the first time someone asks and kept beside it (runs
        make one as they finish only with the 'always make a GIF' setting). FileNotFoundError when
        the run has no video."""
        from studio.media.encode import gif_from_video

        run = self.history.get_run(run_id)
        video = Path(run.video_path) if run is not None and run.video_path else None
        if video is None or not video.is_file():
            raise FileNotFoundError(f"Run #{run_id} has no video to make a GIF from.")
        gif = video.with_suffix(".gif")
        if not gif.is_file():
            gif_from_video(video, gif)
        return gif

    def extension_start(self, run_id: int) -> ExtensionStart:
        """Where extending this run starts: its last frame (stored as an input) and its parameters.
        InputError when the run has no video to continue."""
        return chains.extension_start(self.sessions, self.storage, run_id)

    def export_chain(self, run_id: int) -> Path:
        """The extend chain through this run as one MP4 (written atomically); InputError naming a
        link that has not finished."""
        return chains.export_chain(self.sessions, self.settings().outputs_dir(self.paths), run_id)

    def workers(self) -> list[WorkerView]:
        """The workers heard from in the last half minute (this process's own among them)."""
        with session_scope(self.sessions) as session:
            return members.live(session)

    def media_hub(self) -> MediaHub:
        """The server's side of remote workers: their inputs out, their files in (studio.web.worker_api)."""
        from studio.jobs.hub import MediaHub

        return MediaHub(self.sessions, self.paths, self.settings)

    def plan(self, engine_id: str, memory_mode: str | None) -> str:
        """What running this engine would look like here (device, mode, memory), shown before a run."""
        return describe_plan(self.registry.get(engine_id).info, self.settings(), memory_mode)

    def close(self) -> None:
        self.worker.stop()
        self.db.dispose()


@dataclass
class Core:
    """The database, history, engines and storage: what reading or changing the studio's state
    needs when no job will run in this process."""

    paths: Paths
    db: Engine
    sessions: sessionmaker[Session]
    history: History
    registry: Registry
    storage: Storage

    def close(self) -> None:
        self.db.dispose()


def build_core(paths: Paths, *, migrate_db: bool = True, settings: Settings | None = None) -> Core:
    """The studio's core, with the database at the code's schema unless `migrate_db=False`.

    `settings` fixes the settings the engines and storage see instead of reading them from the
    database: for preflight, which checks while the server is still creating or migrating it and
    must not touch the file meanwhile."""
    db = make_engine(paths.database_url)
    if migrate_db:
        migrate.upgrade(db, paths.sqlite_path, backup_dir=paths.backups_dir)
    sessions = make_session_factory(db)
    history = History(sessions, paths)
    current = settings if settings is not None else history.settings()
    storage = Storage(inputs_dir=paths.inputs_dir, outputs_dir=current.outputs_dir(paths),
                      run_logs_dir=paths.run_logs_dir)
    # Engines read the settings when they are asked (a Settings page change applies at once).
    registry = build_registry(settings if settings is not None else history.settings, paths)
    return Core(paths=paths, db=db, sessions=sessions, history=history, registry=registry, storage=storage)


def build_services(paths: Paths, *, migrate_db: bool = True, poll_interval: float = 1.0,
                   engines: Sequence[str] | None = None) -> Services:
    """Everything the studio needs, with the database at the code's schema. The worker is built
    but not started: the caller decides whether this process runs jobs (and, with `engines`, runs
    of which engines only)."""
    logging.getLogger("studio").setLevel(logging.INFO)
    core = build_core(paths, migrate_db=migrate_db)
    # Temporaries of encodes killed mid-write (the server and the headless worker both start here).
    core.storage.remove_stale_partials()
    worker = Worker(session_factory=core.sessions, registry=core.registry, storage=core.storage, paths=paths,
                    poll_interval=poll_interval, engines=engines)
    queue = JobQueue(core.sessions, core.registry, core.storage, on_submit=worker.wake)
    return Services(paths=paths, db=core.db, sessions=core.sessions, registry=core.registry, storage=core.storage,
                    history=core.history, queue=queue, worker=worker)
