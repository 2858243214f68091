"""What the pages read and edit about past runs: one session per call, plain views returned
(studio.views, copied from the rows inside the session). Pages call this (and JobQueue) instead of
touching the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths, Settings
from studio.db import gallery
from studio.db import runs as run_rows
from studio.db.chains import chain_of
from studio.db.images import image_by_sha256
from studio.db.engine import session_scope
from studio.db.gallery import GalleryFacets, RunQuery
from studio.db.models import Sweep
from studio.jobs import store as queue_store
from studio.jobs.status import RunStatus
from studio.settings_cache import SettingsCache
from studio.trash import Dependent, PurgeOutcome, Trash, TrashOutcome
from studio.views import (
    ImageView,
    RunCardView,
    RunPageView,
    RunView,
    StageTimes,
    SweepView,
    card_page_view,
    image_view,
    page_view,
    run_view,
    sweep_view,
)

# TrashOutcome, PurgeOutcome and Dependent are part of History's interface (trash, purge, purge_dependents);
# they live with the trash.
__all__ = ["Dependent", "History", "Lineage", "PurgeOutcome", "QueueEntry", "TrashOutcome"]


@dataclass(frozen=True)
class QueueEntry:
    run: RunView
    position: int  # 0 = running or next


@dataclass(frozen=True)
class Lineage:
    ancestors: list[RunView]  # the parent chain, root first
    children: list[RunView]  # re-runs of this run, oldest first


class History:
    def __init__(self, session_factory: sessionmaker[Session], paths: Paths):
        self._sessions = session_factory
        self._paths = paths
        self._trash = Trash(session_factory, paths.inputs_dir)
        self._settings = SettingsCache(session_factory)

    def list_runs(self, query: RunQuery) -> RunPageView:
        with session_scope(self._sessions) as session:
            return page_view(gallery.list_runs(session, query))

    def list_cards(self, query: RunQuery) -> RunPageView[RunCardView]:
        """The gallery's page: each run as its card shows it (not whole, see gallery.CARD_COLUMNS)."""
        with session_scope(self._sessions) as session:
            return card_page_view(gallery.list_cards(session, query))

    def recent_run_ids(self, limit: int) -> list[int]:
        """The newest runs' ids, oldest first (as a session lists the runs it queued)."""
        with session_scope(self._sessions) as session:
            return list(reversed(gallery.page_ids(session, RunQuery(page_size=limit)).ids))

    def searchable_words(self, text: str) -> list[str]:
        """The words of a search the gallery can look for (studio.db.gallery.search_words): none
        in a search of punctuation or emoji alone, which then filters nothing."""
        return gallery.search_words(text)

    def list_runs_count(self) -> int:
        with session_scope(self._sessions) as session:
            return gallery.page_ids(session, RunQuery(page_size=1, exact_total=True)).total

    def get_run(self, run_id: int) -> RunView | None:
        with session_scope(self._sessions) as session:
            run = run_rows.get_run(session, run_id)
            return run_view(run) if run is not None else None

    def get_runs(self, run_ids: Sequence[int]) -> list[RunView]:
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in run_rows.get_runs(session, run_ids)]

    def get_sweep(self, sweep_id: int) -> SweepView | None:
        with session_scope(self._sessions) as session:
            sweep = session.get(Sweep, sweep_id)
            return sweep_view(sweep) if sweep is not None else None

    def sweep_runs(self, sweep_id: int) -> list[RunView]:
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in run_rows.sweep_runs(session, sweep_id)]

    def trashed_sweep_runs(self, sweep_id: int) -> list[RunView]:
        """A sweep's runs in the trash (sweep_runs leaves them out), oldest first."""
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in run_rows.trashed_sweep_runs(session, sweep_id)]

    def set_sweep_compare_video(self, sweep_id: int, path: str | None) -> None:
        """Record (or with None, forget) the sweep's exported comparison video."""
        with session_scope(self._sessions) as session:
            run_rows.set_sweep_compare_video(session, sweep_id, path)

    def queue(self) -> list[QueueEntry]:
        with session_scope(self._sessions) as session:
            runs = [run_view(r) for r in queue_store.active_runs(session)]
        waiting = 0
        entries = []
        for run in runs:
            entries.append(QueueEntry(run=run, position=waiting if run.status == RunStatus.QUEUED else 0))
            waiting += run.status == RunStatus.QUEUED
        return entries

    def engines_used(self) -> list[str]:
        with session_scope(self._sessions) as session:
            return gallery.engines_in_history(session)

    def typical_seconds(self, engine: str) -> float | None:
        """Median duration of recent successful runs of this engine, for ETAs."""
        with session_scope(self._sessions) as session:
            durations = sorted(queue_store.recent_durations(session, engine))
        return durations[len(durations) // 2] if durations else None

    def typical_stage_seconds(self, engine: str) -> StageTimes:
        """Median load and encode seconds of recent successful runs of this engine, for the ETA of
        those stages (rendering has its own pace once it starts)."""
        with session_scope(self._sessions) as session:
            rows = queue_store.recent_stage_seconds(session, engine)
        return StageTimes(load=_median([load for load, _ in rows]), encode=_median([encode for _, encode in rows]))

    def set_favorite(self, run_id: int, favorite: bool) -> None:
        with session_scope(self._sessions) as session:
            run_rows.update_run(session, run_id, favorite=favorite)

    def set_notes(self, run_id: int, notes: str) -> None:
        with session_scope(self._sessions) as session:
            run_rows.set_notes(session, run_id, notes)

    def set_tags(self, run_id: int, tags: Sequence[str]) -> None:
        with session_scope(self._sessions) as session:
            run = run_rows.get_run(session, run_id)
            if run is not None:
                run_rows.set_tags(session, run, tags)

    def measure(self, run_ids: Sequence[int]) -> list[int]:
        """Measure finished runs made before runs were measured as they finish (or whose frames could
        not be): decode each MP4 and store its measurements. Returns the ids measured; a run without
        a video is skipped."""
        from PIL import Image

        from studio.media.images import fit_image
        from studio.media.measure import measure_video

        measured = []
        for run in self.get_runs(run_ids):
            if run.measurements is not None or not run.video_path or not Path(run.video_path).is_file():
                continue
            reference = None
            if run.input_image is not None and Path(run.input_image.path).is_file() and run.width and run.height:
                with Image.open(run.input_image.path) as source:
                    reference = fit_image(source.convert("RGB"), run.width, run.height, run.params.get("fit", "crop"))
            columns = measure_video(run.video_path, reference).columns()
            with session_scope(self._sessions) as session:
                run_rows.update_run(session, run.id, **columns)
            measured.append(run.id)
        return measured

    # ----- gallery: facets, lineage, the trash ------------------------------------------------------

    def facets(self) -> GalleryFacets:
        with session_scope(self._sessions) as session:
            return gallery.gallery_facets(session)

    def lineage(self, run_id: int) -> Lineage:
        with session_scope(self._sessions) as session:
            return Lineage(ancestors=[run_view(r) for r in run_rows.ancestors(session, run_id)],
                           children=[run_view(r) for r in run_rows.children(session, run_id)])

    def image_by_sha256(self, sha256: str) -> ImageView | None:
        """A stored image by its digest (an end image named in a restored recipe), if this history has it."""
        with session_scope(self._sessions) as session:
            row = image_by_sha256(session, sha256)
            return image_view(row) if row is not None else None

    def chain(self, run_id: int) -> list[RunView]:
        """The extend chain through this run, first link first ([run] alone when it has no links)."""
        with session_scope(self._sessions) as session:
            return [run_view(r) for r in chain_of(session, run_id)]

    # The trash's logic lives in studio.trash; these keep the names the pages call.

    def trash_count(self) -> int:
        return self._trash.count()

    def trash(self, run_ids: Sequence[int]) -> TrashOutcome:
        """Move runs to the trash (queued and running runs are refused); see studio.trash."""
        return self._trash.trash(run_ids)

    def restore(self, run_ids: Sequence[int]) -> list[int]:
        """Bring runs back from the trash, files included."""
        return self._trash.restore(run_ids)

    def purge(self, run_ids: Sequence[int]) -> PurgeOutcome:
        """Delete trashed runs for good, with their files and unused input images."""
        return self._trash.purge(run_ids)

    def purge_dependents(self, run_ids: Sequence[int] | None = None) -> list[Dependent]:
        """The runs that continue or were made from the trashed runs `run_ids` (None: the whole
        trash) and would lose that link if they were deleted for good."""
        return self._trash.dependents(run_ids)

    def empty_trash(self) -> PurgeOutcome:
        return self._trash.empty()

    # ----- settings -------------------------------------------------------------------------------

    def settings(self) -> Settings:
        """Loaded once per change (see studio.settings_cache); a save here counts at once."""
        return self._settings.get()

    def save_settings(self, settings: Settings) -> None:
        self._settings.save(settings)

    def revalidate_settings(self) -> None:
        """Notice a save made by another process (one cheap query)."""
        self._settings.revalidate()


def _median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None
