"""What the pages read and edit about past runs: one session per call, detached rows returned.
Pages call this (and JobQueue) instead of touching the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths, Settings
from studio.db import repo
from studio.db.engine import session_scope
from studio.db.models import Run, Sweep


@dataclass(frozen=True)
class QueueEntry:
    run: Run
    position: int  # 0 = running or next


class History:
    def __init__(self, session_factory: sessionmaker[Session], paths: Paths):
        self._sessions = session_factory
        self._paths = paths

    def list_runs(self, query: repo.RunQuery) -> repo.RunPage:
        with session_scope(self._sessions) as session:
            return repo.list_runs(session, query)

    def list_runs_count(self) -> int:
        return self.list_runs(repo.RunQuery(page_size=1)).total

    def get_run(self, run_id: int) -> Run | None:
        with session_scope(self._sessions) as session:
            return repo.get_run(session, run_id)

    def get_runs(self, run_ids: Sequence[int]) -> list[Run]:
        with session_scope(self._sessions) as session:
            return repo.get_runs(session, run_ids)

    def get_sweep(self, sweep_id: int) -> Sweep | None:
        with session_scope(self._sessions) as session:
            return session.get(Sweep, sweep_id)

    def sweep_runs(self, sweep_id: int) -> list[Run]:
        with session_scope(self._sessions) as session:
            return repo.sweep_runs(session, sweep_id)

    def set_sweep_compare_video(self, sweep_id: int, path: str | None) -> None:
        """Record (or with None, forget) the sweep's exported comparison video."""
        with session_scope(self._sessions) as session:
            repo.set_sweep_compare_video(session, sweep_id, path)

    def queue(self) -> list[QueueEntry]:
        with session_scope(self._sessions) as session:
            runs = repo.active_runs(session)
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
            repo.update_run(session, run_id, notes=notes)

    def set_tags(self, run_id: int, tags: Sequence[str]) -> None:
        with session_scope(self._sessions) as session:
            run = repo.get_run(session, run_id)
            if run is not None:
                repo.set_tags(session, run, tags)

    # ----- settings -------------------------------------------------------------------------------

    def settings(self) -> Settings:
        with session_scope(self._sessions) as session:
            return repo.load_settings(session)

    def save_settings(self, settings: Settings) -> None:
        with session_scope(self._sessions) as session:
            repo.save_settings(session, settings)
