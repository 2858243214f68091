"""Checks run before the studio serves (and by `python launch.py --check`): each says what it found
and, when something is wrong, what to do about it.

Every check returns a CheckResult and never raises: a check that crashes becomes a FAIL naming the
error, so one broken check cannot hide the others. Only the GPU check imports torch, and it runs in
a thread while the others run, because importing torch takes a few seconds.

launch.py starts the server as soon as its port is known to be free and runs the other checks
while it starts (stopping it again on a FAIL); `--check` runs them all, migrating the database.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # kept out of the import: launch.py checks the port before anything heavy loads
    from studio.config import Paths

Status = Literal["OK", "WARN", "FAIL"]

MIN_PYTHON = (3, 11)
# Import names of the packages the studio cannot start without (requirements.txt installs them).
REQUIRED_MODULES = (
    "streamlit", "starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic", "PIL", "numpy",
    "imageio_ffmpeg", "torch", "diffusers", "transformers", "accelerate", "safetensors", "huggingface_hub",
)
DISK_WARN_BYTES = 5 * 1024**3  # a few videos of a large model fill this quickly
REINSTALL_HINT = "run `python launch.py` again: it reinstalls missing requirements into .venv (or delete .venv to start afresh)"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def line(self) -> str:
        """One printed line: `[OK]   name: detail`, with ` → hint` when there is one to follow."""
        text = f"{'[' + self.status + ']':<6} {self.name}: {self.detail}"
        return f"{text} → {self.hint}" if self.hint and self.status != "OK" else text


def has_failures(results: list[CheckResult]) -> bool:
    return any(r.failed for r in results)


def run_checks(paths: Paths, *, host: str = "127.0.0.1", port: int | None = 8501,
               on_result: Callable[[CheckResult], None] | None = None, migrate_db: bool = True,
               gpu: bool = True) -> list[CheckResult]:
    """All checks, in a fixed order; `on_result` sees each as soon as it is known.

    `port=None` skips the port check (the caller checked it, or does not serve). `migrate_db=False`
    only reads the database's revision: for a server already starting, which migrates it itself.
    `gpu=False` leaves out the GPU check (the caller runs check_gpu on its own)."""
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflight-gpu") as pool:
        gpu_future = pool.submit(guarded, "gpu", check_gpu) if gpu else None
        for result in _ordered_checks(paths, host, port, migrate_db):
            record(result)
        if gpu_future is not None:
            record(gpu_future.result())
    return results


def _ordered_checks(paths: Paths, host: str, port: int | None, migrate_db: bool) -> Iterator[CheckResult]:
    yield guarded("python", check_python)
    packages = guarded("packages", check_packages)
    yield packages
    if packages.failed:
        return  # the rest import those packages
    yield guarded("folders", lambda: check_folders(paths, _outputs_dir(paths)))
    if port is not None:
        yield guarded("port", lambda: check_port(host, port))
    database = guarded("database", lambda: check_database(paths, migrate_db=migrate_db))
    yield database
    yield guarded("ffmpeg", check_ffmpeg)
    yield guarded("disk", lambda: check_disk(_outputs_dir(paths)))
    if not database.failed:  # the engines read their settings from the database
        yield from guarded_many("engines", lambda: check_engines(paths))


def guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; an exception becomes a FAIL naming it."""
    try:
        return check()
    except Exception as exc:  # a crashing check is a finding, not a crash of the launcher
        return CheckResult(name, "FAIL", f"the check itself failed: {type(exc).__name__}: {exc}",
                           "run `python launch.py --check --debug` and see the log for details")


def guarded_many(name: str, check: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    try:
        return check()
    except Exception as exc:
        return [CheckResult(name, "FAIL", f"the check itself failed: {type(exc).__name__}: {exc}",
                            "run `python launch.py models` for details")]


# ----- the checks -------------------------------------------------------------------------------

def check_python(version: tuple[int, ...] | None = None) -> CheckResult:
    version = tuple(version or sys.version_info[:3])
    text = ".".join(str(v) for v in version)
    if version[:2] < MIN_PYTHON:
        return CheckResult("python", "FAIL", f"Python {text} is too old",
                           f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer and run launch.py with it")
    return CheckResult("python", "OK", f"Python {text}")


def check_packages(modules: tuple[str, ...] = REQUIRED_MODULES) -> CheckResult:
    # find_spec locates a package without importing it: torch alone would take seconds.
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        return CheckResult("packages", "FAIL", f"missing: {', '.join(missing)}", REINSTALL_HINT)
    return CheckResult("packages", "OK", f"{len(modules)} required packages present")


def check_gpu() -> CheckResult:
    if importlib.util.find_spec("torch") is None:
        return CheckResult("gpu", "FAIL", "torch is not installed", REINSTALL_HINT)
    import torch

    if not torch.cuda.is_available():
        from studio.engines.runtime import NO_GPU  # the plan caption's words; kept lazy like torch

        return CheckResult("gpu", "WARN", f"{NO_GPU}: diffusion models would run on the CPU (minutes per step)",
                           "the built-in camera-motion engine works without one; for diffusion models use a machine "
                           "with an NVIDIA GPU and a CUDA build of torch")
    index = torch.cuda.current_device()
    name = torch.cuda.get_device_name(index)
    free, total = torch.cuda.mem_get_info(index)
    detail = f"{name}, {free / 1024**3:.1f} GB of {total / 1024**3:.1f} GB VRAM free (torch {torch.__version__})"
    if free < 4 * 1024**3:
        return CheckResult("gpu", "WARN", detail,
                           "little VRAM is free: close other GPU programs, or pick the 'lowest' memory mode in Settings")
    return CheckResult("gpu", "OK", detail)


def check_ffmpeg() -> CheckResult:
    import imageio_ffmpeg

    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        return CheckResult("ffmpeg", "FAIL", f"no ffmpeg binary: {exc}", REINSTALL_HINT)
    try:
        completed = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult("ffmpeg", "FAIL", f"{exe} does not run: {exc}", REINSTALL_HINT)
    if completed.returncode != 0:
        return CheckResult("ffmpeg", "FAIL", f"{exe} -version exited {completed.returncode}", REINSTALL_HINT)
    first_line = (completed.stdout.splitlines() or ["ffmpeg"])[0]
    version = first_line.split(" Copyright")[0]
    return CheckResult("ffmpeg", "OK", version)


def check_disk(folder: Path, *, minimum: int | None = None, warn_below: int = DISK_WARN_BYTES) -> CheckResult:
    if minimum is None:
        from studio.storage import Storage

        minimum = Storage.min_free_bytes
    existing = _nearest_existing(folder)
    free = shutil.disk_usage(existing).free
    detail = f"{_gb(free)} free for outputs in {folder}"
    if free < minimum:
        return CheckResult("disk", "FAIL", detail,
                           f"the studio needs at least {_gb(minimum)} free to write a run: free some space or "
                           "choose another output folder in Settings (or --data-dir)")
    if free < warn_below:
        return CheckResult("disk", "WARN", detail, "videos and model weights need several GB: free some space soon")
    return CheckResult("disk", "OK", detail)


def check_folders(paths: Paths, outputs_dir: Path) -> CheckResult:
    folders = [("data", paths.data_dir), ("outputs", outputs_dir), ("logs", paths.logs_dir)]
    if paths.sqlite_path is not None:
        folders.append(("database", paths.sqlite_path.parent))
    problems = []
    for label, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
                pass
        except OSError as exc:
            problems.append(f"{label} folder {folder} is not writable ({exc.strerror or exc})")
    if problems:
        return CheckResult("folders", "FAIL", "; ".join(problems),
                           "fix the folder's permissions, or use --data-dir to put the studio's data elsewhere")
    return CheckResult("folders", "OK", f"data {paths.data_dir}, outputs {outputs_dir}, logs {paths.logs_dir} are writable")


def check_port(host: str, port: int) -> CheckResult:
    if port_is_free(host, port):
        return CheckResult("port", "OK", f"{host}:{port} is free")
    suggestion = find_free_port(host)
    return CheckResult("port", "FAIL", f"port {port} on {host} is already in use (another studio or program)",
                       f"choose another with --port {suggestion}, or stop the program using port {port}")


def check_database(paths: Paths, *, migrate_db: bool = True) -> CheckResult:
    """Migrate the database to the code's schema (a copy of an existing SQLite file is kept), or
    with migrate_db=False only say what the server will do; FAIL when it is newer than the code."""
    from studio.db import migrate
    from sqlalchemy.exc import OperationalError

    from studio.db.engine import DatabaseUnusable, cannot_open, make_engine

    where = paths.database_label
    if not migrate_db and paths.sqlite_path is not None and not paths.sqlite_path.exists():
        return CheckResult("database", "OK", f"{where} is new: the server creates it at schema {migrate.head_revision()}")
    engine = make_engine(paths.database_url)
    try:
        if migrate_db:
            outcome = migrate.upgrade(engine, paths.sqlite_path, backup_dir=paths.backups_dir)  # checks the file's integrity first
        else:
            if paths.sqlite_path is not None:
                migrate.verify_integrity(engine, paths.sqlite_path)
            before = migrate.check_not_newer(engine)
            outcome = migrate.MigrationOutcome(before=before, after=migrate.head_revision(), backup=None)
    except migrate.DatabaseTooNew as exc:
        return CheckResult("database", "FAIL", str(exc),
                           "update the studio to the newer version, or use --data-dir with another folder")
    except migrate.BackupFailed as exc:  # no pg_dump, or it failed: nothing was migrated
        detail, _, hint = str(exc).partition(" → ")
        return CheckResult("database", "FAIL", detail, hint)
    except migrate.MigrationBusy as exc:
        return CheckResult("database", "FAIL", str(exc), "wait for it to finish, or stop it, then run the same command again")
    except DatabaseUnusable as exc:  # not SQLite, or damaged pages: serving it would fail page by page
        return CheckResult("database", "FAIL", exc.detail, exc.hint)
    except OperationalError as exc:  # the server refuses the connection, the file cannot be created, a lock
        return CheckResult("database", "FAIL", *cannot_open(where, exc))
    finally:
        engine.dispose()
    if not migrate_db and outcome.changed and outcome.before is not None and paths.sqlite_path is None:
        from studio.db import pg_backup

        if os.environ.get(pg_backup.NO_BACKUP_ENV) != "1" and pg_backup.find_pg_dump() is None:
            return CheckResult("database", "FAIL", f"{where} is at schema {outcome.before} and needs migrating to "
                               f"{outcome.after}, but pg_dump was not found to back it up first",
                               "install the PostgreSQL client tools (Debian: postgresql-client), or start with "
                               "--no-backup if the database is backed up another way")
    if not migrate_db and outcome.changed:
        return CheckResult("database", "OK", f"{where} is at schema {outcome.before or 'none'}: the server migrates "
                           f"it to {outcome.after}, keeping a copy of the old file beside it")
    if outcome.before is None:
        return CheckResult("database", "OK", f"created {where} at schema {outcome.after}")
    if outcome.changed:
        if outcome.backup and paths.sqlite_path is None:
            backup = f"; backup (pg_dump, restore with pg_restore): {outcome.backup}"
        else:
            backup = f"; backup of the old file: {outcome.backup}" if outcome.backup else ""
        return CheckResult("database", "OK", f"migrated {where} from {outcome.before} to {outcome.after}{backup}")
    return CheckResult("database", "OK", f"{where} at schema {outcome.after} (current)")


def check_engines(paths: Paths) -> list[CheckResult]:
    """One line per engine the user can pick: ready, or what is missing and the command to fix it."""
    from studio.services import build_core

    settings = _saved_settings(paths)
    # Fixed settings and no migration: the server may be creating or migrating the database now.
    core = build_core(paths, migrate_db=False, settings=settings)
    try:
        engines = core.registry.engines(include_developer=settings.developer_mode)
        return [engine_result(e.info, e.weights_status()) for e in engines]
    finally:
        core.close()


def engine_result(info, status) -> CheckResult:
    """The preflight line for one engine (EngineInfo, WeightsStatus)."""
    name = f"engine {info.id}"
    if status.ready:
        where = f" ({status.location})" if status.location else ""
        return CheckResult(name, "OK", f"{info.label}: ready{where}")
    if status.state == "missing":
        size = f" (about {info.weights_gb:g} GB)" if info.weights_gb else ""
        from studio.engines.diffusion.weights import install_command

        return CheckResult(name, "WARN", f"{info.label}: weights not installed{size}",
                           install_command(info.model_id) if info.model_id else status.hint)
    return CheckResult(name, "WARN", f"{info.label}: unusable: {status.detail}", status.hint)


# ----- small helpers shared with launch.py ------------------------------------------------------

def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as the server sets it: a port in TIME_WAIT is usable, one being listened on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _saved_settings(paths: Paths):
    """The Settings page's values; the defaults while the database is new or not yet migrated
    (launch.py checks while the server creates or migrates it)."""
    from sqlalchemy.exc import SQLAlchemyError

    from studio.config import Settings
    from studio.db.engine import make_engine, make_session_factory
    from studio.history import History

    if paths.sqlite_path is not None and not paths.sqlite_path.exists():
        return Settings()
    db = make_engine(paths.database_url)
    try:
        return History(make_session_factory(db), paths).settings()
    except SQLAlchemyError:
        return Settings()
    finally:
        db.dispose()


def _outputs_dir(paths: Paths) -> Path:
    """Where outputs go: the Settings page's choice when the database has one, else the default."""
    if paths.sqlite_path is not None and not paths.sqlite_path.exists():
        return paths.default_outputs_dir
    try:
        from studio.db import settings as settings_rows
        from studio.db.engine import make_engine, make_session_factory, session_scope

        db = make_engine(paths.database_url)
        try:
            with session_scope(make_session_factory(db)) as session:
                output_dir = settings_rows.get_setting_value(session, "output_dir", "")
        finally:
            db.dispose()
    except Exception:  # no settings table yet (an unmigrated database): the default applies
        return paths.default_outputs_dir
    return Path(output_dir).expanduser().resolve() if output_dir else paths.default_outputs_dir


def _nearest_existing(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path(os.sep)


def _gb(n: int) -> str:
    return f"{n / 1024**3:.1f} GB"
