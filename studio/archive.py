"""Move runs between studios: export selected runs as one zip (their media, inputs and a JSON of
their rows) and import such a zip into another studio's history.

Inside the zip: runs.json, media/<run>-<kind>.<ext>, inputs/<sha256>.png. Columns are copied by
name, so a zip from an older or newer studio imports whatever both know. A zip is untrusted input:
studio.archive_reader checks its members and bounds every read, studio.archive_schema every row.
Each row records its media files' sha256, checked as they are copied in; every video must also be an
MP4 this studio reads, as an older export records no digests.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from studio.archive_reader import MAX_INPUT_BYTES, MAX_MANIFEST_BYTES, ArchiveError, CheckedZip, inside, upload_file_name
from studio.archive_schema import FORMAT, VERSION, Envelope, ExportedRow, InputRef, RowFiles, describe
from studio.db.engine import session_scope, waited_session
from studio.db.images import get_or_add_image
from studio.db.models import Run, utcnow
from studio.db.runs import get_runs, next_run_id, set_tags
from studio.jobs.status import RunStatus
from studio.media.atomic import atomic_path
from studio.media.digest import file_sha256
from studio.media.encode import EncodeError, probe_video
from studio.media.images import ImageRejected, load_upload
from studio.storage import Storage, touch_input

__all__ = ["FORMAT", "VERSION", "ArchiveError", "export_runs", "import_runs", "upload_file_name", "why_not_exported"]

MEDIA_COLUMNS = {"video_path": "mp4", "poster_path": "poster.jpg", "thumb_path": "thumb.jpg"}
# A post run's parameters that name the run (and the extend chain's first run) it was made from.
SOURCE_PARAMS = ("source_run", "chain_from")
# Rows carry history, not queue state or local bookkeeping: those make no sense in another studio.
SKIPPED_COLUMNS = {"id", "input_image_id", "end_image_id", "continues_id", "parent_id", "sweep_id", "log_path", "worker_id", "heartbeat_at",
                   "lease_until", "worker_boot", "stage", "stage_started_at",
                   "cancel_requested", "deleted_at", "request_version", "request_digest", *MEDIA_COLUMNS}
Model = TypeVar("Model", bound=BaseModel)
# ffmpeg reads each imported video's packets without decoding them: about 16 ms for a short clip
# (its start-up), 100 ms for 120 frames at 1280 px. Probes run beside the copying, a few at a time, so
# 40 runs of 72 MB import in 14.4 s instead of 12.3 s; 200 tiny test clips in 3.5 s instead of 1.0 s.
# A few, not one per core: an import runs beside the server and the worker.
PROBE_WORKERS = min(4, os.cpu_count() or 1)
MAX_MP4_BOXES = 1_000
log = logging.getLogger(__name__)
VIDEO_NOT_EXPORTED = ("Imported without its video: the file was gone from disk when the run was exported. "
                      "Re-run it to make the video again.")


def why_not_exported(run: Any) -> str | None:
    """Why an export leaves this run (a Run row, a RunView, or None for an id with no run) out, in
    words; None if it takes it.
    Queued, running and interrupted runs are left out because an import accepts only finished ones
    (nothing imported is ever run); a succeeded run whose video is gone from disk because its row
    alone would import as a run with nothing to play (an import keeps such a row as failed)."""
    if run is None:
        return "it does not exist"
    if run.status not in RunStatus.FINISHED:
        return f"it is {run.status}, not finished"
    if run.status == RunStatus.SUCCEEDED and not (run.video_path and Path(run.video_path).is_file()):
        return f"its video is gone from disk ({run.video_path or 'no path recorded'})"
    return None


def export_runs(sessions: sessionmaker[Session], run_ids: Sequence[int], destination: Path) -> Path:
    """Write the runs with their files to a zip, leaving out those `why_not_exported` names.
    An existing file is never replaced: `destination` may be anything a user typed, the history's
    own database or a run's video included."""
    if destination.exists() or destination.is_symlink():
        raise ArchiveError(f"{destination} already exists; give the export a new file name "
                           "(an export never replaces a file).")
    run_ids = list(dict.fromkeys(run_ids))  # a run named twice is exported once (an import refuses doubles)
    with session_scope(sessions) as session:
        runs = [r for r in get_runs(session, run_ids) if why_not_exported(r) is None]
    if not runs:
        raise ArchiveError("Nothing to export: choose finished runs whose videos are still on disk.")
    rows = []
    with atomic_path(destination) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        # Videos and JPEGs are compressed already: storing them is as small and much faster.
        for run in runs:
            row = {c.name: _jsonable(getattr(run, c.name)) for c in Run.__table__.columns if c.name not in SKIPPED_COLUMNS}
            row.update(export_id=run.id, parent_export_id=run.parent_id, continues_export_id=run.continues_id,
                       tags=run.tag_names, media={}, media_sha256={})
            gif = Path(run.video_path).with_suffix(".gif") if run.video_path else None
            files = {column: (getattr(run, column), f"media/run-{run.id:06d}.{suffix}")
                     for column, suffix in MEDIA_COLUMNS.items()}
            for column, (path, member) in {**files, "gif": (gif, f"media/run-{run.id:06d}.gif")}.items():
                if path and Path(path).is_file():
                    # The digest lets an import tell a file changed after the export from the one written.
                    row["media_sha256"][column] = file_sha256(path)
                    archive.write(path, member)
                    row["media"][column] = member
            for key, picture in (("input", run.input_image), ("end_input", run.end_image)):
                if picture and Path(picture.path).is_file():
                    member = f"inputs/{picture.sha256}.png"
                    if member not in archive.namelist():
                        archive.write(picture.path, member)
                    row[key] = {"member": member, "sha256": picture.sha256, "width": picture.width,
                                "height": picture.height, "original_name": picture.original_name}
            rows.append(row)
        manifest = {"format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat(), "runs": rows}
        archive.writestr("runs.json", json.dumps(manifest, indent=2, sort_keys=True))
    return destination


def import_runs(sessions: sessionmaker[Session], storage: Storage, zip_path: Path) -> list[int]:
    """Add the zip's runs to this history as new runs (new ids, files copied into this studio's
    folders). Lineage inside the zip is kept (a zip whose links loop is refused); links to runs
    outside it are dropped. The zip is checked whole before anything is written, and any failure
    leaves no row and no file behind."""
    rows, archive = _open(zip_path)
    with archive:
        # 1. Copy files first: if the disk fills up, no row points at a missing file.
        storage.ensure_free_space(storage.outputs_dir, archive.total_bytes + storage.min_free_bytes)
        copied: list[Path] = []
        try:
            # A person waits on an import: another program's lock is waited on for a bounded time.
            with waited_session(sessions) as session, _VideoChecks(archive.name) as videos:
                new_ids: dict[int, int] = {}
                for row in rows:
                    image_id = _import_input(session, storage, archive, row.input, copied)
                    end_id = _import_input(session, storage, archive, row.end_input, copied)
                    run = Run(**row.column_values(), id=next_run_id(session), input_image_id=image_id,
                              end_image_id=end_id)
                    if run.status == RunStatus.SUCCEEDED and row.media.video_path is None:
                        # Its video was gone when it was exported (an older studio wrote such rows):
                        # kept for its settings, as a run with nothing to play it would not be.
                        run.status, run.error = RunStatus.FAILED.value, VIDEO_NOT_EXPORTED
                    run.manifest = {**(run.manifest or {}), "imported_from_run": row.export_id}
                    session.add(run)
                    session.flush()
                    set_tags(session, run, row.tags)
                    new_ids[row.export_id] = run.id
                    files = storage.run_files(run.id, run.started_at or run.queued_at or datetime.now())
                    targets = {"video_path": files.video, "poster_path": files.poster, "thumb_path": files.thumb, "gif": files.gif}
                    digests = row.media_sha256.model_dump()
                    for column, member in row.media.model_dump(exclude_none=True).items():
                        _extract(archive, member, inside(targets[column], storage.outputs_dir), copied, digests[column])
                        if column == "video_path":
                            videos.add(member, targets[column])
                        if column != "gif":
                            setattr(run, column, str(targets[column]))
                for row in rows:
                    imported = session.get(Run, new_ids[row.export_id])
                    if row.parent_export_id in new_ids:
                        imported.parent_id = new_ids[row.parent_export_id]
                    if row.continues_export_id in new_ids:  # an extend chain's link, kept when its source came too
                        imported.continues_id = new_ids[row.continues_export_id]
                    imported.params = _renumbered_sources(imported.params, new_ids)
                videos.check()
        except BaseException:
            for path in copied:  # all or nothing: a failed import leaves no stray files
                path.unlink(missing_ok=True)
            raise
    return list(new_ids.values())


def _renumbered_sources(params: dict[str, Any], new_ids: dict[int, int]) -> dict[str, Any]:
    """A post-processing run's source (and the chain it joined) under their ids in this history;
    one that did not come in the zip is dropped, since its number names another run here (the run
    then shows no source, and a re-run is refused as having none)."""
    sources = {key: params[key] for key in SOURCE_PARAMS if params.get(key)}
    if not sources:
        return params
    kept = {key: new_ids[value] for key, value in sources.items() if _run_number(value) and value in new_ids}
    return {**{k: v for k, v in params.items() if k not in sources}, **kept}


def _run_number(value: Any) -> bool:
    # JSON true would equal run 1 and 2.0 run 2 as dict keys: only an integer names a run.
    return isinstance(value, int) and not isinstance(value, bool)


def _links(row: ExportedRow) -> list[tuple[str, Any]]:
    """Every run the row says it came from, by field: its parent, the run it continues, and a post
    run's source and chain start; a value that is not a run number is no link, as the renumbering
    drops it."""
    links: list[tuple[str, Any]] = [("parent_export_id", row.parent_export_id),
                                    ("continues_export_id", row.continues_export_id)]
    links += [(f"params.{key}", row.params.get(key)) for key in SOURCE_PARAMS]
    return [(field, value) for field, value in links if _run_number(value)]


def _check_lineage(rows: list[ExportedRow], name: str) -> None:
    """Refuse links within the zip that loop: a run that is its own parent, two runs continuing each
    other, a post run made from itself. Imported as they are, every page that walks a run's lineage
    (the chain, the re-runs, "made from") would go round the loop. A link to a run outside the zip
    is no loop: the import drops it."""
    index_of = {row.export_id: index for index, row in enumerate(rows, start=1)}
    links = {row.export_id: [(field, to) for field, to in _links(row) if to in index_of] for row in rows}
    # Depth first from each row, without recursion (10,000 rows in one line would exhaust the
    # stack): a link to a run still on the path closes a loop.
    done: set[int] = set()
    for row in rows:
        if row.export_id in done:
            continue
        path, stack = {row.export_id}, [(row.export_id, iter(links[row.export_id]))]
        while stack:
            run, pending = stack[-1]
            field, to = next(pending, (None, None))
            if field is None:
                stack.pop()
                path.discard(run)
                done.add(run)
            elif to == run:
                raise ArchiveError(f"Not a studio export: {name}, run {index_of[run]}: {field} names the run itself; "
                                   "a run cannot descend from itself.")
            elif to in path:
                raise ArchiveError(f"Not a studio export: {name}, run {index_of[run]}: {field} names run "
                                   f"{index_of[to]}, which descends from run {index_of[run]}; a run cannot descend "
                                   "from itself.")
            elif to not in done:
                path.add(to)
                stack.append((to, iter(links[to])))


def _open(zip_path: Path) -> tuple[list[ExportedRow], CheckedZip]:
    """The zip's validated rows and the open, checked zip, or ArchiveError saying what is wrong."""
    archive = CheckedZip.open(zip_path)
    name, infos = archive.name, archive.members
    try:
        manifest = infos.get("runs.json")
        if manifest is None:
            raise ArchiveError(f"Not a studio export: {name} has no runs.json inside.")
        if manifest.file_size > MAX_MANIFEST_BYTES:
            raise ArchiveError(f"Not a studio export: the runs.json in {name} is larger than "
                               f"{MAX_MANIFEST_BYTES // 1024**2} MB.")
        rows = _parse_manifest(archive.read("runs.json"), name)
        for index, raw in enumerate(rows, start=1):
            missing = [m for m in _validated(RowFiles, raw, index, name).members() if m not in infos]
            if missing:
                raise ArchiveError(f"Not a studio export: {name} is incomplete: {missing[0]} is missing.")
        validated = [_validated(ExportedRow, raw, index, name) for index, raw in enumerate(rows, start=1)]
        seen: set[int] = set()
        for index, row in enumerate(validated, start=1):
            if row.export_id in seen:
                raise ArchiveError(f"Not a studio export: {name}, run {index}: export_id {row.export_id} appears twice.")
            seen.add(row.export_id)
        _check_lineage(validated, name)
    except BaseException:
        archive.close()
        raise
    return validated, archive


def _parse_manifest(data: bytes, name: str) -> list[Any]:
    try:
        manifest = json.loads(data)
    except RecursionError:
        raise ArchiveError(f"Not a studio export: the runs.json in {name} is nested too deeply.") from None
    except ValueError:  # not JSON, not UTF-8, or a number too long to convert
        raise ArchiveError(f"Not a studio export: {name} has a damaged runs.json (not JSON).") from None
    if not isinstance(manifest, dict):
        raise ArchiveError(f"Not a studio export: the runs.json in {name} is not a JSON object.")
    if isinstance(manifest.get("version"), int) and manifest["version"] > VERSION and manifest.get("format") == FORMAT:
        raise ArchiveError(f"Not a studio export this studio can read: {name} was written by a newer studio; "
                           "update this one to import it.")
    return _validated(Envelope, manifest, None, name).runs


def _validated(model: type[Model], raw: Any, index: int | None, name: str) -> Model:
    where = f"{name}, run {index}" if index is not None else name
    if index is not None and not isinstance(raw, dict):
        raise ArchiveError(f"Not a studio export: {where} is not a JSON object.")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ArchiveError(f"Not a studio export: {describe(error, where)}.") from None


def _import_input(session: Session, storage: Storage, archive: CheckedZip, info: InputRef | None,
                  copied: list[Path]) -> int | None:
    if info is None:
        return None
    # Named from the validated hash only, never from a string in the zip.
    target = inside(storage.inputs_dir / info.sha256[:2] / f"{info.sha256}.png", storage.inputs_dir)
    width, height = info.width, info.height
    if target.exists():
        touch_input(target)  # named again: the trash's sweep of unused pictures leaves it be
    else:
        width, height = _store_input(storage, archive, info, target)
        copied.append(target)
    return get_or_add_image(session, sha256=info.sha256, path=str(target), width=width,
                            height=height, size_bytes=target.stat().st_size,
                            original_name=info.original_name).id


def _store_input(storage: Storage, archive: CheckedZip, info: InputRef, target: Path) -> tuple[int, int]:
    """Decode the zip's picture as an upload is decoded (a bomb or a broken file is refused), store
    it the way this studio stores inputs, in a scratch folder inside inputs/, and move it into place
    only when the hash this studio computes is the one the row claims: a zip cannot put other
    pixels under a known picture's name. Returns the picture's size as decoded."""
    if archive.members[info.member].file_size > MAX_INPUT_BYTES:
        raise ArchiveError(f"Not a studio export: {archive.name} holds an input picture too large to be one ({info.member}).")
    try:
        image = load_upload(archive.read(info.member), info.member)
    except ImageRejected as rejected:
        raise ArchiveError(f"Not a studio export: {archive.name}: {rejected.message}") from None
    storage.inputs_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".import-", dir=storage.inputs_dir))
    try:
        sha, stored = dataclasses.replace(storage, inputs_dir=scratch).save_input(image)
        if sha != info.sha256:
            raise ArchiveError(f"Not a studio export: {archive.name}: {info.member} does not hold the picture its "
                               "name says (the zip was altered).")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stored, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return image.size


def _extract(archive: CheckedZip, member: str, target: Path, copied: list[Path], sha256: str | None) -> None:
    if target.exists():  # never replace a file this import did not write: a failure would delete it
        raise ArchiveError(f"Cannot import {member}: {target} already exists. Nothing was imported.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        written = archive.copy(member, out)
        if sha256 is not None and written != sha256:
            raise ArchiveError(f"Not a studio export: {archive.name}: {member} is not the file that was exported "
                               "(the zip was altered or damaged).")
    copied.append(target)


class _VideoChecks:
    """Each imported video is checked to be an MP4 this studio can read, in the background while the
    next run's files are copied: a row says "succeeded" for any file, and a page would offer a web
    page or a truncated file as the run's video. `check` waits for all and refuses the zip at the
    first bad one; leaving the block waits for probes still running, so no file is removed under them."""

    def __init__(self, zip_name: str) -> None:
        self.zip_name = zip_name
        self.pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS, thread_name_prefix="import-probe")
        self.pending: list[tuple[str, Future[str | None]]] = []

    def __enter__(self) -> _VideoChecks:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, member: str, path: Path) -> None:
        self.pending.append((member, self.pool.submit(_video_problem, path)))

    def check(self) -> None:
        for member, probe in self.pending:
            if (problem := probe.result()) is not None:
                raise ArchiveError(f"Not a studio export: {self.zip_name}: {member} {problem}.")


def _video_problem(path: Path) -> str | None:
    """What is wrong with a video file, in words, or None when this studio can read it. Changed
    bytes inside the picture data pass (only decoding every frame would find them): the recorded
    digest is what catches those."""
    if (problem := _box_problem(path)) is not None:
        return problem
    try:
        info = probe_video(path)
    except EncodeError as error:
        log.info("%s: %s", path.name, error)  # ffmpeg's words go to the log; the person is told what the file is
        return "is not a video this studio can read (damaged or not an MP4)"
    if info.frames < 1 or not (info.width and info.height):
        return "holds no video frames"
    return None


def _box_problem(path: Path) -> str | None:
    """An MP4 is a run of boxes, each starting with its size, the first its file type; the last must
    end where the file ends. ffmpeg copies the packets of a cut-off file up to the cut without a
    word, so this few-byte walk is what finds one."""
    size = path.stat().st_size
    at = 0
    with open(path, "rb") as file:
        if file.read(8)[4:] != b"ftyp":
            return "is not an MP4 video"
        for _ in range(MAX_MP4_BOXES):  # the studio's MP4s have four; the probe judges any longer run
            if at == size:
                return None
            file.seek(at)
            header = file.read(16)
            box = int.from_bytes(header[:4], "big")
            if box == 1:  # a 64-bit size follows the type
                box = int.from_bytes(header[8:16], "big")
            elif box == 0:  # the last box, to the end of the file
                box = size - at
            if len(header) < 8 or box < 8 or at + box > size:
                return "is cut short or damaged"
            at += box
    return None


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
