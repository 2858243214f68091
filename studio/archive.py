"""Move runs between studios: export selected runs as one zip (their media, inputs and a JSON of
their rows) and import such a zip into another studio's history.

Inside the zip: runs.json, media/<run>-<kind>.<ext>, inputs/<sha256>.png. Columns are copied by
name, so a zip from an older or newer studio imports whatever both know.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.orm import Session, sessionmaker

from studio.db.engine import session_scope
from studio.db.images import get_or_add_image
from studio.db.models import Run, utcnow
from studio.db.runs import get_runs, set_tags
from studio.jobs.status import RunStatus
from studio.media.atomic import atomic_path
from studio.storage import Storage

FORMAT = "video-studio-export"
VERSION = 1
MEDIA_COLUMNS = {"video_path": "mp4", "poster_path": "poster.jpg", "thumb_path": "thumb.jpg"}
# Rows carry history, not queue state or local bookkeeping: those make no sense in another studio.
SKIPPED_COLUMNS = {"id", "input_image_id", "parent_id", "sweep_id", "log_path", "worker_id", "heartbeat_at",
                   "cancel_requested", "deleted_at", *MEDIA_COLUMNS}
MAX_MEMBER_BYTES = 4 * 1024**3  # refuse absurd members instead of filling the disk


class ArchiveError(ValueError):
    """The zip cannot be imported; the message says why. Nothing was changed."""


def export_runs(sessions: sessionmaker[Session], run_ids: Sequence[int], destination: Path) -> Path:
    """Write the runs (finished ones; queued and running are skipped) with their files to a zip."""
    with session_scope(sessions) as session:
        runs = [r for r in get_runs(session, run_ids) if r.status not in RunStatus.ACTIVE]
    if not runs:
        raise ArchiveError("Nothing to export: choose finished runs.")
    rows = []
    with atomic_path(destination) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        # Videos and JPEGs are compressed already: storing them is as small and much faster.
        for run in runs:
            row = {c.name: _jsonable(getattr(run, c.name)) for c in Run.__table__.columns if c.name not in SKIPPED_COLUMNS}
            row.update(export_id=run.id, parent_export_id=run.parent_id, tags=run.tag_names, media={})
            for column, suffix in MEDIA_COLUMNS.items():
                path = getattr(run, column)
                if path and Path(path).is_file():
                    member = f"media/run-{run.id:06d}.{suffix}"
                    archive.write(path, member)
                    row["media"][column] = member
            gif = Path(run.video_path).with_suffix(".gif") if run.video_path else None
            if gif and gif.is_file():
                archive.write(gif, row["media"].setdefault("gif", f"media/run-{run.id:06d}.gif"))
            if run.input_image and Path(run.input_image.path).is_file():
                member = f"inputs/{run.input_image.sha256}.png"
                if member not in archive.namelist():
                    archive.write(run.input_image.path, member)
                row["input"] = {"member": member, "sha256": run.input_image.sha256, "width": run.input_image.width,
                                "height": run.input_image.height, "original_name": run.input_image.original_name}
            rows.append(row)
        manifest = {"format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat(), "runs": rows}
        archive.writestr("runs.json", json.dumps(manifest, indent=2, sort_keys=True))
    return destination


def import_runs(sessions: sessionmaker[Session], storage: Storage, zip_path: Path) -> list[int]:
    """Add the zip's runs to this history as new runs (new ids, files copied into this studio's
    folders). Lineage inside the zip is kept; links to runs outside it are dropped."""
    manifest, archive = _open(zip_path)
    with archive:
        rows = manifest["runs"]
        known_columns = {c.name for c in Run.__table__.columns} - SKIPPED_COLUMNS
        # 1. Copy files first: if the disk fills up, no row points at a missing file.
        storage.ensure_free_space(storage.outputs_dir, sum(i.file_size for i in archive.infolist()) + storage.min_free_bytes)
        copied: list[Path] = []
        try:
            with session_scope(sessions) as session:
                new_ids: dict[int, int] = {}
                for row in rows:
                    image_id = _import_input(session, storage, archive, row.get("input"), copied)
                    values = {k: _from_json(k, v) for k, v in row.items() if k in known_columns}
                    run = Run(**values, input_image_id=image_id)
                    run.manifest = {**(run.manifest or {}), "imported_from_run": row.get("export_id")}
                    session.add(run)
                    session.flush()
                    set_tags(session, run, row.get("tags", []))
                    new_ids[row["export_id"]] = run.id
                    files = storage.run_files(run.id, run.started_at or run.queued_at or datetime.now())
                    targets = {"video_path": files.video, "poster_path": files.poster, "thumb_path": files.thumb, "gif": files.gif}
                    for column, member in row.get("media", {}).items():
                        if column in targets:
                            _extract(archive, member, targets[column], copied)
                            if column != "gif":
                                setattr(run, column, str(targets[column]))
                for row in rows:
                    if row.get("parent_export_id") in new_ids:
                        session.get(Run, new_ids[row["export_id"]]).parent_id = new_ids[row["parent_export_id"]]
        except BaseException:
            for path in copied:  # all or nothing: a failed import leaves no stray files
                path.unlink(missing_ok=True)
            raise
    return list(new_ids.values())


def _open(zip_path: Path) -> tuple[dict[str, Any], zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise ArchiveError(f"{zip_path.name} is not a zip file.") from None
    try:
        for info in archive.infolist():
            member = PurePosixPath(info.filename)
            if member.is_absolute() or ".." in member.parts:
                raise ArchiveError(f"{zip_path.name} contains an unsafe path ({info.filename}); refusing it.")
            if info.file_size > MAX_MEMBER_BYTES:
                raise ArchiveError(f"{zip_path.name} contains a file too large to be a studio video ({info.filename}).")
        try:
            manifest = json.loads(archive.read("runs.json"))
        except KeyError:
            raise ArchiveError(f"{zip_path.name} is not a studio export (no runs.json inside).") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ArchiveError(f"{zip_path.name} has a damaged runs.json.") from None
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("runs"), list):
            raise ArchiveError(f"{zip_path.name} is not a studio export.")
        if manifest.get("version", 0) > VERSION:
            raise ArchiveError(f"{zip_path.name} was written by a newer studio; update this one to import it.")
        names = set(archive.namelist())
        for row in manifest["runs"]:
            members = list(row.get("media", {}).values()) + ([row["input"]["member"]] if row.get("input") else [])
            missing = [m for m in members if m not in names]
            if missing:
                raise ArchiveError(f"{zip_path.name} is incomplete: {missing[0]} is missing.")
    except BaseException:
        archive.close()
        raise
    return manifest, archive


def _import_input(session: Session, storage: Storage, archive: zipfile.ZipFile, info: dict[str, Any] | None,
                  copied: list[Path]) -> int | None:
    if not info:
        return None
    target = storage.inputs_dir / info["sha256"][:2] / f"{info['sha256']}.png"
    if not target.exists():
        _extract(archive, info["member"], target, copied)
    return get_or_add_image(session, sha256=info["sha256"], path=str(target), width=info["width"],
                            height=info["height"], size_bytes=target.stat().st_size,
                            original_name=info.get("original_name", "")).id


def _extract(archive: zipfile.ZipFile, member: str, target: Path, copied: list[Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(member) as source, atomic_path(target) as tmp, open(tmp, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    copied.append(target)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _from_json(column: str, value: Any) -> Any:
    if value is not None and isinstance(Run.__table__.columns[column].type, DateTime):
        return datetime.fromisoformat(value)
    return value
