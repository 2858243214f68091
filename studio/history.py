"""What the pages read and edit about past runs: one session per call, plain views returned
(studio.views, copied from the rows inside the session). Pages call this (and JobQueue) instead of
touching the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from studio import trash as trash_files
from studio.config import Paths, Settings
from studio.db import repo
from studio.db.engine import session_scope
from studio.db.models import Sweep
from studio.settings_cache import SettingsCache
from studio.views import RunPageView, RunView, SweepView, page_view, run_view, sweep_view


@dataclass(frozen=True)
class QueueEntry:
    run: RunView
    position: int  # 0 = running or next


@dataclass(frozen=True)
class Lineage:
    ancestors: list[RunView]  # the parent chain, root first
    children: list[RunView]  # re-runs of this run, oldest first


@dataclass(frozen=True)
class TrashOutcome:
    moved: list[int]
    refused: dict[int, str]  # run id -> why it stayed (still running, already in the trash)


@dataclass(frozen=True)
class PurgeOutcome:
    runs: int
    files: int
    bytes: int


class History:
    def __init__(self, session_factory: sessionmaker[Session], paths: Paths):
        self._sessions = session_factory
        self._paths = paths
        self._settings = SettingsCache(session_factory)

    def list_runs(self, query: repo.RunQuery) -> RunPageView:
        with session_scope(self._sessions) as session:
            return page_view(repo.list_runs(session, query))

    def list_runs_count(self) -> int:
        return self.list_runs(repo.RunQuery(page_size=1)).total

    def get_run(self, run_id: int) -> RunView | None:
        with session_scope(self._sessions) as session:
            run = repo.get_run(session, run_id)
            return run_view(run) if run is not None else None

    def get_runs(self, run_ids: Sequence[int]) -> list[RunView]:
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in repo.get_runs(session, run_ids)]

    def get_sweep(self, sweep_id: int) -> SweepView | None:
        with session_scope(self._sessions) as session:
            sweep = session.get(Sweep, sweep_id)
            return sweep_view(sweep) if sweep is not None else None

    def sweep_runs(self, sweep_id: int) -> list[RunView]:
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in repo.sweep_runs(session, sweep_id)]

    def set_sweep_compare_video(self, sweep_id: int, path: str | None) -> None:
        """Record (or with None, forget) the sweep's exported comparison video."""
        with session_scope(self._sessions) as session:
            repo.set_sweep_compare_video(session, sweep_id, path)

    def queue(self) -> list[QueueEntry]:
        with session_scope(self._sessions) as session:
            runs = [run_view(r) for r in repo.active_runs(session)]
        waiting = 0
        entries = []
        for run in runs:
            entries.append(QueueEntry(run=run, position=waiting if run.status == "queued" else 0))
            waiting += run.status == "queued"
        return entries

    def engines_used(self) -> list[str]:
        with session_scope(self._sessions) as session:
            return repo.engines_in_history(session)

    def typical_seconds(self, engine: str) -> float | None:
        """Median duration of recent successful runs of this engine, for ETAs."""
        with session_scope(self._sessions) as session:
            durations = sorted(repo.recent_durations(session, engine))
        return durations[len(durations) // 2] if durations else None

    def set_favorite(self, run_id: int, favorite: bool) -> None:
        with session_scope(self._sessions) as session:
            repo.update_run(session, run_id, favorite=favorite)

    def set_notes(self, run_id: int, notes: str) -> None:
        with session_scope(self._sessions) as session:
            repo.set_notes(session, run_id, notes)

    def set_tags(self, run_id: int, tags: Sequence[str]) -> None:
        with session_scope(self._sessions) as session:
            run = repo.get_run(session, run_id)
            if run is not None:
                repo.set_tags(session, run, tags)

    # ----- gallery: facets, lineage, the trash ------------------------------------------------------

    def facets(self) -> repo.GalleryFacets:
        with session_scope(self._sessions) as session:
            return repo.gallery_facets(session)

    def lineage(self, run_id: int) -> Lineage:
        with session_scope(self._sessions) as session:
            return Lineage(ancestors=[run_view(r) for r in repo.ancestors(session, run_id)],
                           children=[run_view(r) for r in repo.children(session, run_id)])

    def trash_count(self) -> int:
        with session_scope(self._sessions) as session:
            return repo.trash_count(session)

    def trash(self, run_ids: Sequence[int]) -> TrashOutcome:
        """Move runs to the trash, their media files into a .trash folder beside them. Queued and
        running runs are refused (cancel them first). One transaction per run: a file that cannot
        be moved leaves that run, and its files, as they were."""
        moved = self._move_runs(run_ids, to_trash=True)
        refused = {}
        for run in self.get_runs([i for i in run_ids if i not in moved]):
            refused[run.id] = ("already in the trash" if run.deleted_at is not None
                               else f"it is {run.status}: cancel it first")
        return TrashOutcome(moved=moved, refused=refused)

    def restore(self, run_ids: Sequence[int]) -> list[int]:
        """Bring runs back from the trash, files included."""
        return self._move_runs(run_ids, to_trash=False)

    def _move_runs(self, run_ids: Sequence[int], *, to_trash: bool) -> list[int]:
        """Mark each run trashed (or restored) and move its files, one transaction per run; returns
        the runs that moved. A run the mark does not apply to is skipped."""
        mark = repo.trash_runs if to_trash else repo.restore_runs
        moved: list[int] = []
        for run_id in dict.fromkeys(run_ids):
            with session_scope(self._sessions) as session:
                if not mark(session, [run_id]):
                    continue
                run = repo.get_run(session, run_id)
                repo.update_run(session, run_id, **trash_files.move_run_files(run, to_trash=to_trash))
            moved.append(run_id)
        return moved

    def purge(self, run_ids: Sequence[int]) -> PurgeOutcome:
        """Delete trashed runs for good: rows, media files, logs, and input images no other run
        uses. Runs not in the trash are left alone."""
        with session_scope(self._sessions) as session:
            runs = [r for r in repo.get_runs(session, run_ids) if r.deleted_at is not None]
            deleted, orphan_images = repo.delete_trashed_runs(session, [r.id for r in runs])
            files = [path for r in runs if r.id in deleted for path in trash_files.media_files(r)]
            files += [Path(r.log_path) for r in runs if r.id in deleted and r.log_path]
            files += [Path(image.path) for image in orphan_images]
            # Inside the transaction: if a file cannot be deleted the rows stay, and a second
            # attempt finishes the job (missing files are skipped).
            count, size = trash_files.delete_files(files)
        return PurgeOutcome(runs=len(deleted), files=count, bytes=size)

    def empty_trash(self) -> PurgeOutcome:
        with session_scope(self._sessions) as session:
            run_ids = repo.trashed_run_ids(session)
        return self.purge(run_ids)

    # ----- settings -------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """Loaded once per change (see studio.settings_cache); a save here counts at once."""
        return self._settings.get()

    def save_settings(self, settings: Settings) -> None:
        self._settings.save(settings)

    def revalidate_settings(self) -> None:
        """Notice a save made by another process (one cheap query)."""
        self._settings.revalidate()
