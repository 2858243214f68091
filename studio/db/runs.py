"""Run rows (and the sweeps that group them): creation, lookup, edits, lineage. The caller owns the
session; nothing here commits. The queue's statements (claim, progress, cancel, recovery, ETAs) live
in studio.jobs.store, the gallery's in studio.db.gallery and the trash's in studio.trash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from studio.db.models import IdWatermark, Run, RunTag, Sweep, utcnow

# Columns promoted out of params because the gallery filters and sorts on them.
PROMOTED = ("seed", "steps", "guidance", "frames", "fps", "width", "height")
MAX_LINEAGE_DEPTH = 200  # parents are always older runs, so no cycles; the cap is a guard only


def next_run_id(session: Session) -> int | None:
    """The id a new run gets: on SQLite one more than the largest id there is or ever was (the
    watermark keeps the numbers of runs deleted for good); None on PostgreSQL, whose sequence
    never gives a number twice. Inside the inserting transaction: SQLite has one writer at a time."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    largest = session.scalar(select(func.max(Run.id))) or 0
    deleted = session.scalar(select(IdWatermark.high).where(IdWatermark.name == "runs")) or 0
    return max(largest, deleted) + 1


def note_deleted_run_ids(session: Session, run_ids: Iterable[int]) -> None:
    """Raise the runs' watermark to the largest of these ids, deleted for good (SQLite only)."""
    highest = max(run_ids, default=None)
    if highest is None or session.get_bind().dialect.name != "sqlite":
        return
    upsert = sqlite_insert(IdWatermark).values(name="runs", high=highest)
    session.execute(upsert.on_conflict_do_update(index_elements=[IdWatermark.name],
                                                 set_={"high": func.max(IdWatermark.high, upsert.excluded.high)}))


def add_run(session: Session, *, engine: str, model_id: str | None, params: dict[str, Any],
            input_image_id: int | None, parent_id: int | None = None, sweep_id: int | None = None,
            request_version: int | None = None, request_digest: str | None = None,
            end_image_id: int | None = None, continues_id: int | None = None) -> Run:
    # No status given: the model's default (RunStatus.QUEUED) is the one place a new run's status is set.
    run = Run(
        id=next_run_id(session),
        engine=engine,
        model_id=model_id,
        prompt=params.get("prompt", ""),
        negative_prompt=params.get("negative_prompt", ""),
        params=dict(params),
        input_image_id=input_image_id,
        end_image_id=end_image_id,
        continues_id=continues_id,
        parent_id=parent_id,
        sweep_id=sweep_id,
        memory_mode=params.get("memory_mode"),
        request_version=request_version,
        request_digest=request_digest,
        queued_at=utcnow(),
        **{name: params.get(name) for name in PROMOTED},
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> Run | None:
    return session.scalar(
        select(Run).where(Run.id == run_id).options(selectinload(Run.tags), selectinload(Run.input_image),
                                                    selectinload(Run.end_image))
    )


def get_runs(session: Session, run_ids: Sequence[int]) -> list[Run]:
    rows = session.scalars(
        select(Run).where(Run.id.in_(run_ids)).options(selectinload(Run.tags), selectinload(Run.input_image),
                                                       selectinload(Run.end_image))
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in run_ids if i in by_id]


def update_run(session: Session, run_id: int, **values: Any) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(**values))


# ----- sweeps -------------------------------------------------------------------------------------

def add_sweep(session: Session, *, name: str, base_params: dict[str, Any], axes: list[Any]) -> Sweep:
    sweep = Sweep(name=name, base_params=base_params, axes=axes)
    session.add(sweep)
    session.flush()
    return sweep


def sweep_runs(session: Session, sweep_id: int) -> list[Run]:
    """A sweep's runs not in the trash, in the order they were queued."""
    return list(session.scalars(
        select(Run).where(Run.sweep_id == sweep_id, Run.deleted_at.is_(None)).order_by(Run.id)
        .options(selectinload(Run.tags), selectinload(Run.input_image))
    ))


def trashed_sweep_runs(session: Session, sweep_id: int) -> list[Run]:
    """A sweep's runs in the trash, in the order they were queued."""
    return list(session.scalars(
        select(Run).where(Run.sweep_id == sweep_id, Run.deleted_at.is_not(None)).order_by(Run.id)
    ))


def set_sweep_compare_video(session: Session, sweep_id: int, path: str | None) -> None:
    session.execute(update(Sweep).where(Sweep.id == sweep_id).values(compare_video_path=path))


# ----- tags and notes -----------------------------------------------------------------------------

MAX_TAG_CHARS = 64  # the column's width
MAX_NOTES_CHARS = 10_000  # a page shows them whole; an export carries them (studio.archive_schema)


def normalize_tag(tag: str) -> str:
    return tag.strip().lower()[:MAX_TAG_CHARS]


def set_tags(session: Session, run: Run, tags: Iterable[str]) -> None:
    wanted = sorted({normalize_tag(t) for t in tags if t.strip()})
    run.tags = [RunTag(run_id=run.id, tag=t) for t in wanted]


def set_notes(session: Session, run_id: int, notes: str) -> None:
    if len(notes) > MAX_NOTES_CHARS:  # the run page's box stops there; this is for every other caller
        raise ValueError(f"Notes are limited to {MAX_NOTES_CHARS:,} characters; these have {len(notes):,}.")
    session.execute(update(Run).where(Run.id == run_id).values(notes=notes))


# ----- lineage ------------------------------------------------------------------------------------

def ancestors(session: Session, run_id: int) -> list[Run]:
    """The parent chain of a run, root first, without the run itself (trashed parents included)."""
    chain = select(Run.id, Run.parent_id, literal(0).label("depth")).where(Run.id == run_id).cte("chain", recursive=True)
    chain = chain.union_all(
        select(Run.id, Run.parent_id, chain.c.depth + 1).join(chain, Run.id == chain.c.parent_id)
        .where(chain.c.depth < MAX_LINEAGE_DEPTH)
    )
    ids = [i for i in session.scalars(select(chain.c.id).order_by(chain.c.depth.desc())) if i != run_id]
    return get_runs(session, ids)


def children(session: Session, run_id: int) -> list[Run]:
    """Runs made as re-runs of this one, oldest first (trashed ones included)."""
    return list(session.scalars(select(Run).where(Run.parent_id == run_id).order_by(Run.id)))
