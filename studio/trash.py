"""The trash, in one place: its SQL, its file moves and the service the history delegates to.

A trashed run keeps its row (deleted_at set) and its media files move into a `.trash` folder beside
them (same folder, so the move is an atomic rename on the same disk, whatever output folder the run
was written to); restore brings both back, and the database records where the files are at each
moment. Queued and running runs are never trashed (cancel them first). Purging deletes the rows, the
files, the logs and the input images no other run uses, for good.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from studio.db.engine import session_scope
from studio.db.models import Image, Run, utcnow
from studio.db.chains import MAX_CHAIN
from studio.db.runs import get_run, get_runs, note_deleted_run_ids, update_run
from studio.jobs.status import RunStatus

log = logging.getLogger(__name__)

TRASH_FOLDER = ".trash"
# An input picture no run names is removed with the trash's emptying once it is this old: a
# submission writes its picture, then its row, within seconds.
UNUSED_INPUT_GRACE_S = 3600.0
_NAMES_PER_QUERY = 500
# Columns holding a run's media paths. The GIF and the sidecar JSON are not recorded: they sit
# beside the video under the same name (see Storage.run_files) and travel with it.
PATH_COLUMNS = ("video_path", "poster_path", "thumb_path")
VIDEO_SIBLINGS = (".gif", ".json")


# ----- files --------------------------------------------------------------------------------------

def trashed_location(path: Path) -> Path:
    return path if path.parent.name == TRASH_FOLDER else path.parent / TRASH_FOLDER / path.name


def restored_location(path: Path) -> Path:
    return path.parent.parent / path.name if path.parent.name == TRASH_FOLDER else path


def media_files(run: Run) -> list[Path]:
    """Every media file of a run as recorded (existing or not): video, GIF, sidecar, poster, thumb."""
    files = []
    if run.video_path:
        video = Path(run.video_path)
        files += [video, *(video.with_suffix(suffix) for suffix in VIDEO_SIBLINGS)]
    files += [Path(p) for p in (run.poster_path, run.thumb_path) if p]
    return files


@dataclass
class FileMoves:
    """Renames done so far, so that a failure half-way can put everything back."""

    done: list[tuple[Path, Path]] = field(default_factory=list)

    def move(self, source: Path, target: Path) -> None:
        if source == target or not source.exists():
            return  # nothing there (a failed run has no video), or moved by an earlier attempt
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        self.done.append((source, target))

    def undo(self) -> None:
        for source, target in reversed(self.done):
            if target.exists():
                os.replace(target, source)
        self.done.clear()


def move_run_files(run: Run, *, to_trash: bool) -> dict[str, str | None]:
    """Move a run's media files into (or out of) the trash; returns the new path columns. On any
    error the files already moved go back before the error propagates."""
    locate = trashed_location if to_trash else restored_location
    moves = FileMoves()
    try:
        for path in media_files(run):
            # Source and target follow from the name alone, whichever place the row recorded: after
            # a crash between a rename and the database update, trash and restore still finish.
            inside, outside = trashed_location(path), restored_location(path)
            moves.move(*((outside, inside) if to_trash else (inside, outside)))
    except OSError:
        moves.undo()
        raise
    return {column: str(locate(Path(value))) if (value := getattr(run, column)) else None for column in PATH_COLUMNS}


def delete_files(paths: Iterable[Path]) -> tuple[int, int]:
    """Delete files (and their copy at the other trash location); returns (count, bytes)."""
    count = size = 0
    for path in paths:
        for candidate in (trashed_location(path), restored_location(path)):
            if candidate.is_file():
                size += candidate.stat().st_size
                candidate.unlink()
                count += 1
    return count, size


# ----- SQL (the caller owns the session; nothing here commits) -------------------------------------

def trash_runs(session: Session, run_ids: Sequence[int]) -> list[int]:
    """Mark runs as trashed; queued and running runs are left alone (cancel them first). The
    condition is in the UPDATE itself, so a run the worker claims meanwhile is never trashed."""
    if not run_ids:
        return []
    return sorted(session.scalars(
        update(Run).where(Run.id.in_(run_ids), Run.deleted_at.is_(None), Run.status.not_in(RunStatus.ACTIVE))
        .values(deleted_at=utcnow()).returning(Run.id)
    ))


def restore_runs(session: Session, run_ids: Sequence[int]) -> list[int]:
    if not run_ids:
        return []
    return sorted(session.scalars(
        update(Run).where(Run.id.in_(run_ids), Run.deleted_at.is_not(None)).values(deleted_at=None).returning(Run.id)
    ))


def trashed_run_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Run.id).where(Run.deleted_at.is_not(None)).order_by(Run.id)))


def trash_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Run).where(Run.deleted_at.is_not(None))) or 0


def unused_input_files(session: Session, inputs_dir: Path, older_than_s: float) -> list[Path]:
    """Stored input pictures no image row names, untouched for `older_than_s`: what a refused
    submission left. Inputs are written before the submission's transaction (so that a row never
    names a missing file), and Storage.save_input touches a picture it reuses, so one that is about
    to be named again is young and stays."""
    if not inputs_dir.is_dir():
        return []
    cutoff = time.time() - older_than_s
    stored = {p.stem: p for p in inputs_dir.glob("??/*.png") if p.is_file() and p.stat().st_mtime < cutoff}
    names = sorted(stored)
    known: set[str] = set()
    for start in range(0, len(names), _NAMES_PER_QUERY):  # a database bounds a statement's parameters
        known.update(session.scalars(select(Image.sha256).where(Image.sha256.in_(names[start:start + _NAMES_PER_QUERY]))))
    return [stored[sha] for sha in names if sha not in known]


def remove_unused_inputs(paths: Iterable[Path], older_than_s: float) -> tuple[int, int]:
    """Delete the pictures `unused_input_files` found, each only if it is still old: one touched
    since (a submission naming it again) stays. A file that cannot be removed (gone already,
    another user's) is skipped; the next emptying tries again. Returns (count, bytes)."""
    count = size = 0
    for path in paths:
        try:
            stat = path.stat()
            if stat.st_mtime >= time.time() - older_than_s:
                continue
            path.unlink()
        except OSError as error:
            log.info("left the unused input %s: %s", path, error)
            continue
        count, size = count + 1, size + stat.st_size
    return count, size


def delete_trashed_runs(session: Session, run_ids: Sequence[int]) -> tuple[list[int], list[Image]]:
    """Delete trashed runs for good (only runs in the trash), then the input images no run uses
    any more. Returns the deleted run ids and image rows; their files are the caller's to remove.
    Children keep existing: their parent_id becomes NULL (ON DELETE SET NULL)."""
    if not run_ids:
        return [], []
    image_ids = set(session.scalars(
        select(Run.input_image_id).where(Run.id.in_(run_ids), Run.input_image_id.is_not(None))
    )) | set(session.scalars(
        select(Run.end_image_id).where(Run.id.in_(run_ids), Run.end_image_id.is_not(None))
    ))
    deleted = sorted(session.scalars(
        delete(Run).where(Run.id.in_(run_ids), Run.deleted_at.is_not(None)).returning(Run.id)
    ))
    note_deleted_run_ids(session, deleted)  # their numbers are never given again
    orphans: list[Image] = []
    if image_ids:
        used = select(Run.id).where((Run.input_image_id == Image.id) | (Run.end_image_id == Image.id)).exists()
        orphans = list(session.scalars(select(Image).where(Image.id.in_(image_ids), ~used)))
        if orphans:
            session.execute(delete(Image).where(Image.id.in_([i.id for i in orphans])))
    return deleted, orphans


# What a run that stays has to do with a run deleted for good (Dependent.link).
CONTINUES = "continues"  # the next link of an extend chain: it starts from the deleted run's last frame
LATER_LINK = "later link"  # further down that chain: the chain it plays in loses its start
RERUN = "re-run"  # a re-run of the deleted run
MADE_FROM = "made from"  # a post run (smooth, upscale, loop) made from the deleted run's video
CHAIN = "chain"  # a post run made from a whole extend chain the deleted run is a link of


@dataclass(frozen=True)
class Dependent:
    """A run that is not being deleted but is linked to one that is: deleting `source_id` leaves
    it (its row and video stay) without that link."""

    run_id: int
    source_id: int
    link: str


def dependents(session: Session, run_ids: Sequence[int]) -> list[Dependent]:
    """The runs outside `run_ids` that continue or were made from one of them, so that a deletion
    for good can say what it breaks before it is confirmed: ON DELETE SET NULL quietly cuts the
    link. Ordered by the deleted run, then the dependent run."""
    doomed = set(run_ids)
    if not doomed:
        return []
    found: dict[tuple[int, int], str] = {}
    # Every later link of a chain through a deleted run, walked one link at a time (oldest first),
    # remembering which deleted run each chain starts from.
    start_of: dict[int, int] = {run_id: run_id for run_id in doomed}
    frontier = set(doomed)
    for _ in range(MAX_CHAIN):
        rows = session.execute(select(Run.id, Run.continues_id).where(Run.continues_id.in_(frontier))).all()
        frontier = {run_id for run_id, _ in rows if run_id not in start_of}
        for run_id, continues_id in rows:
            if run_id in frontier:
                start_of[run_id] = start_of[continues_id]
                if run_id not in doomed:
                    found[(start_of[run_id], run_id)] = CONTINUES if continues_id in doomed else LATER_LINK
        if not frontier:
            break
    # Re-runs and post runs of a deleted run, and post runs of a whole chain one of them is a link
    # of (such a post run's parent is the chain's last link; it names the first in chain_from).
    rows = session.execute(select(Run.id, Run.parent_id, Run.params)
                           .where(Run.parent_id.in_(set(start_of)))).all()
    for run_id, parent_id, params in rows:
        if run_id in doomed:
            continue
        params = params or {}
        first = params.get("chain_from")
        if parent_id in doomed:
            link = CHAIN if first else MADE_FROM if "source_run" in params else RERUN
            found.setdefault((parent_id, run_id), link)
        elif isinstance(first, int) and first in doomed:
            found.setdefault((first, run_id), CHAIN)
    return [Dependent(run_id=run_id, source_id=source_id, link=link)
            for (source_id, run_id), link in sorted(found.items())]


# ----- the service: one session per call ------------------------------------------------------------

@dataclass(frozen=True)
class TrashOutcome:
    moved: list[int]
    refused: dict[int, str]  # run id -> why it stayed (still running, already in the trash)


@dataclass(frozen=True)
class PurgeOutcome:
    runs: int
    files: int
    bytes: int


class Trash:
    def __init__(self, session_factory: sessionmaker[Session], inputs_dir: Path | None = None):
        self._sessions = session_factory
        self._inputs_dir = inputs_dir

    def count(self) -> int:
        with session_scope(self._sessions) as session:
            return trash_count(session)

    def trash(self, run_ids: Sequence[int]) -> TrashOutcome:
        """Move runs to the trash, their media files into a .trash folder beside them. Queued and
        running runs are refused (cancel them first). One transaction per run: a file that cannot
        be moved leaves that run, and its files, as they were."""
        moved = self._move_runs(run_ids, to_trash=True)
        with session_scope(self._sessions) as session:
            stayed = get_runs(session, [i for i in run_ids if i not in moved])
        refused = {}
        for run in stayed:
            refused[run.id] = ("already in the trash" if run.deleted_at is not None
                               else f"it is {run.status}: cancel it first")
        return TrashOutcome(moved=moved, refused=refused)

    def restore(self, run_ids: Sequence[int]) -> list[int]:
        """Bring runs back from the trash, files included."""
        return self._move_runs(run_ids, to_trash=False)

    def _move_runs(self, run_ids: Sequence[int], *, to_trash: bool) -> list[int]:
        """Mark each run trashed (or restored) and move its files, one transaction per run; returns
        the runs that moved. A run the mark does not apply to is skipped."""
        mark = trash_runs if to_trash else restore_runs
        moved: list[int] = []
        for run_id in dict.fromkeys(run_ids):
            with session_scope(self._sessions) as session:
                if not mark(session, [run_id]):
                    continue
                run = get_run(session, run_id)
                update_run(session, run_id, **move_run_files(run, to_trash=to_trash))
            moved.append(run_id)
        return moved

    def purge(self, run_ids: Sequence[int]) -> PurgeOutcome:
        """Delete trashed runs for good: rows, media files, logs, and input images no other run
        uses. Runs not in the trash are left alone."""
        with session_scope(self._sessions) as session:
            runs = [r for r in get_runs(session, run_ids) if r.deleted_at is not None]
            deleted, orphan_images = delete_trashed_runs(session, [r.id for r in runs])
            files = [path for r in runs if r.id in deleted for path in media_files(r)]
            files += [Path(r.log_path) for r in runs if r.id in deleted and r.log_path]
            files += [Path(image.path) for image in orphan_images]
            # Inside the transaction: if a file cannot be deleted the rows stay, and a second
            # attempt finishes the job (missing files are skipped).
            count, size = delete_files(files)
        return PurgeOutcome(runs=len(deleted), files=count, bytes=size)

    def dependents(self, run_ids: Sequence[int] | None = None) -> list[Dependent]:
        """The runs left without a link by purging `run_ids` (None: everything in the trash); see
        `dependents`. Only trashed runs are purged, so only they count."""
        with session_scope(self._sessions) as session:
            trashed = trashed_run_ids(session)
            doomed = trashed if run_ids is None else sorted(set(run_ids) & set(trashed))
            return dependents(session, doomed)

    def empty(self) -> PurgeOutcome:
        """Purge every trashed run, and the input pictures refused submissions left behind."""
        with session_scope(self._sessions) as session:
            run_ids = trashed_run_ids(session)
        purged = self.purge(run_ids)
        if self._inputs_dir is None:
            return purged
        with session_scope(self._sessions) as session:
            unused = unused_input_files(session, self._inputs_dir, UNUSED_INPUT_GRACE_S)
        count, size = remove_unused_inputs(unused, UNUSED_INPUT_GRACE_S)
        return PurgeOutcome(runs=purged.runs, files=purged.files + count, bytes=purged.bytes + size)
