"""Repository functions: every SQL statement the studio runs lives here. The caller owns the session
(and so the transaction); nothing here commits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    column,
    delete,
    func,
    literal,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, selectinload

from studio.config import Settings
from studio.db.models import ACTIVE_STATUSES, Image, Run, RunTag, Setting, Sweep, utcnow

# Columns promoted out of params because the gallery filters and sorts on them.
PROMOTED = ("seed", "steps", "guidance", "frames", "fps", "width", "height")
# After this many interrupted attempts a run fails instead of returning to the queue: a job that
# kills its process every time (e.g. the OOM killer) must not crash-loop the studio.
MAX_ATTEMPTS = 3


# ----- settings ---------------------------------------------------------------------------------

def load_settings(session: Session) -> Settings:
    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    known = {k: v for k, v in stored.items() if k in Settings.model_fields}
    return Settings.model_validate(known)


def save_settings(session: Session, settings: Settings) -> None:
    for key, value in settings.model_dump(mode="json").items():
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        elif row.value != value:
            row.value = value


def get_setting_value(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def set_setting_value(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


# ----- images -----------------------------------------------------------------------------------

def get_or_add_image(session: Session, *, sha256: str, path: str, width: int, height: int,
                     size_bytes: int, original_name: str) -> Image:
    """The one row for this picture. Insert-if-absent in one statement: two tabs submitting the same
    new picture at once both get that row (a look-then-insert would fail the second submission on
    the unique sha256 and lose its run)."""
    insert_into = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert_into(Image).values(sha256=sha256, path=path, width=width, height=height, size_bytes=size_bytes,
                                              original_name=original_name[:255], created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=[Image.sha256]))
    return session.scalars(select(Image).where(Image.sha256 == sha256)).one()


# ----- runs: creation and lookup ------------------------------------------------------------------

def add_run(session: Session, *, engine: str, model_id: str | None, params: dict[str, Any],
            input_image_id: int | None, parent_id: int | None = None, sweep_id: int | None = None) -> Run:
    run = Run(
        status="queued",
        engine=engine,
        model_id=model_id,
        prompt=params.get("prompt", ""),
        negative_prompt=params.get("negative_prompt", ""),
        params=dict(params),
        input_image_id=input_image_id,
        parent_id=parent_id,
        sweep_id=sweep_id,
        memory_mode=params.get("memory_mode"),
        queued_at=utcnow(),
        **{name: params.get(name) for name in PROMOTED},
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> Run | None:
    return session.scalar(
        select(Run).where(Run.id == run_id).options(selectinload(Run.tags), selectinload(Run.input_image))
    )


def get_runs(session: Session, run_ids: Sequence[int]) -> list[Run]:
    rows = session.scalars(
        select(Run).where(Run.id.in_(run_ids)).options(selectinload(Run.tags), selectinload(Run.input_image))
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[i] for i in run_ids if i in by_id]


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


def set_sweep_compare_video(session: Session, sweep_id: int, path: str | None) -> None:
    session.execute(update(Sweep).where(Sweep.id == sweep_id).values(compare_video_path=path))


# ----- runs: the gallery --------------------------------------------------------------------------

# Sort orders the gallery offers. "longest" is the length of the video a run makes (frames / fps),
# the promoted video_seconds column; ties fall back to newest first. Each has a matching index.
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "longest": "Longest video first"}


@dataclass
class RunQuery:
    """What the gallery asks for. Empty fields filter nothing; filters combine with AND."""

    statuses: Sequence[str] = ()
    engines: Sequence[str] = ()
    text: str = ""  # every word must appear in the prompt or negative prompt (prefix match)
    favorites_only: bool = False
    sweep_id: int | None = None
    tags: Sequence[str] = ()  # runs carrying all of these tags
    resolutions: Sequence[tuple[int, int]] = ()  # (width, height) pairs, any of them
    frames: Sequence[int] = ()  # frame counts, any of them
    seed: int | None = None
    queued_from: datetime | None = None  # naive UTC, inclusive
    queued_until: datetime | None = None  # naive UTC, exclusive
    sort: str = "newest"  # a key of SORTS; the trash is always most recently deleted first
    in_trash: bool = False
    page: int = 1
    page_size: int = 24
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunPage:
    runs: list[Run]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def normalize_tag(tag: str) -> str:
    return tag.strip().lower()[:64]


def run_conditions(session: Session, query: RunQuery) -> list[Any]:
    """The WHERE terms of a gallery query. Each one can be served by an index (see migration 0003)."""
    conditions: list[Any] = [Run.deleted_at.is_not(None) if query.in_trash else Run.deleted_at.is_(None)]
    if query.statuses:
        conditions.append(Run.status.in_(query.statuses))
    if query.engines:
        conditions.append(Run.engine.in_(query.engines))
    if query.favorites_only:
        conditions.append(Run.favorite.is_(True))
    if query.sweep_id is not None:
        conditions.append(Run.sweep_id == query.sweep_id)
    if query.text.strip():
        conditions.append(prompt_matches(session, query.text))
    tags = sorted({normalize_tag(t) for t in query.tags if t.strip()})
    if tags:
        tagged = (select(RunTag.run_id).where(RunTag.tag.in_(tags)).group_by(RunTag.run_id)
                  .having(func.count() == len(tags)))
        conditions.append(Run.id.in_(tagged))
    if query.resolutions:
        conditions.append(or_(*(and_(Run.width == w, Run.height == h) for w, h in query.resolutions)))
    if query.frames:
        conditions.append(Run.frames.in_(query.frames))
    if query.seed is not None:
        conditions.append(Run.seed == query.seed)
    if query.queued_from is not None:
        conditions.append(Run.queued_at >= query.queued_from)
    if query.queued_until is not None:
        conditions.append(Run.queued_at < query.queued_until)
    return conditions


def run_order(query: RunQuery) -> list[Any]:
    if query.in_trash:
        return [Run.deleted_at.desc(), Run.id.desc()]
    if query.sort == "oldest":
        return [Run.queued_at.asc(), Run.id.asc()]
    if query.sort == "longest":
        return [Run.video_seconds.desc().nulls_last(), Run.queued_at.desc(), Run.id.desc()]
    if query.sort != "newest":
        raise ValueError(f"Unknown sort {query.sort!r}; use one of {', '.join(SORTS)}.")
    return [Run.queued_at.desc(), Run.id.desc()]


def list_runs(session: Session, query: RunQuery) -> RunPage:
    """One page of runs. The page's ids come from an index-only query; only those rows are loaded,
    so a deep page costs an index walk, not reading every run before it."""
    conditions = run_conditions(session, query)
    order = run_order(query)
    total = session.scalar(select(func.count()).select_from(Run).where(*conditions)) or 0
    page = max(1, min(query.page, max(1, -(-total // query.page_size))))
    ids = list(session.scalars(
        select(Run.id).where(*conditions).order_by(*order).limit(query.page_size).offset((page - 1) * query.page_size)
    ))
    rows = session.scalars(select(Run).where(Run.id.in_(ids)).options(joinedload(Run.tags))).unique().all() if ids else []
    by_id = {r.id: r for r in rows}
    return RunPage(runs=[by_id[i] for i in ids if i in by_id], total=total, page=page, page_size=query.page_size)


def prompt_matches(session: Session, search: str):
    """Full-text condition: every word of `text` (as a prefix) appears in the prompt or negative
    prompt. Uses the index migration 0002 built for the database in use."""
    words = [w for w in search.split() if w.strip('"')]
    if session.get_bind().dialect.name == "postgresql":
        vector = func.to_tsvector("simple", func.coalesce(Run.prompt, "") + " " + func.coalesce(Run.negative_prompt, ""))
        return vector.op("@@")(func.plainto_tsquery("simple", " ".join(words)))
    # FTS5 query syntax: each word quoted (so punctuation is literal) and starred (prefix match).
    fts_query = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return Run.id.in_(select(column("rowid")).select_from(table("runs_fts")).where(text("runs_fts MATCH :q").bindparams(q=fts_query)))


def active_runs(session: Session) -> list[Run]:
    """Queued and running runs, in the order the worker takes them."""
    return list(session.scalars(
        select(Run).where(Run.status.in_(("queued", "running")), Run.deleted_at.is_(None)).order_by(Run.id)
    ))


@dataclass(frozen=True)
class GalleryFacets:
    """The values present in the history, offered as filter options (trashed runs included)."""

    engines: list[str]
    tags: list[str]
    resolutions: list[tuple[int, int]]
    frames: list[int]


def distinct_values(session: Session, table_name: str, column_name: str) -> list[Any]:
    """Distinct non-null values of an indexed column, ascending, in one index seek per value (a
    recursive 'next value after' query) rather than a walk over every row as DISTINCT would do."""
    sql = text(f"""
        WITH RECURSIVE v(x) AS (
            SELECT min({column_name}) FROM {table_name}
            UNION ALL
            SELECT (SELECT min({column_name}) FROM {table_name} WHERE {column_name} > v.x) FROM v WHERE v.x IS NOT NULL
        )
        SELECT x FROM v WHERE x IS NOT NULL""")
    return list(session.scalars(sql))


def distinct_resolutions(session: Session) -> list[tuple[int, int]]:
    """Distinct (width, height) pairs, by the same seek-per-value walk over ix_runs_width_height:
    the next pair is the next height at the same width, else the first height at the next width."""
    sql = text("""
        WITH RECURSIVE r(w, h) AS (
            SELECT w0, (SELECT min(height) FROM runs WHERE width = w0) FROM (SELECT min(width) AS w0 FROM runs) AS first
            UNION ALL
            SELECT CASE WHEN EXISTS (SELECT 1 FROM runs WHERE width = r.w AND height > r.h) THEN r.w
                        ELSE (SELECT min(width) FROM runs WHERE width > r.w) END,
                   coalesce((SELECT min(height) FROM runs WHERE width = r.w AND height > r.h),
                            (SELECT min(height) FROM runs WHERE width = (SELECT min(width) FROM runs WHERE width > r.w)))
            FROM r WHERE r.w IS NOT NULL
        )
        SELECT w, h FROM r WHERE w IS NOT NULL AND h IS NOT NULL""")
    return [(int(w), int(h)) for w, h in session.execute(sql)]


def gallery_facets(session: Session) -> GalleryFacets:
    return GalleryFacets(
        engines=distinct_values(session, "runs", "engine"),
        tags=distinct_values(session, "run_tags", "tag"),
        resolutions=distinct_resolutions(session),
        frames=[int(f) for f in distinct_values(session, "runs", "frames")],
    )


def engines_in_history(session: Session) -> list[str]:
    return distinct_values(session, "runs", "engine")


def set_tags(session: Session, run: Run, tags: Iterable[str]) -> None:
    wanted = sorted({normalize_tag(t) for t in tags if t.strip()})
    run.tags = [RunTag(run_id=run.id, tag=t) for t in wanted]


def set_notes(session: Session, run_id: int, notes: str) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(notes=notes))


# ----- runs: lineage and the trash ----------------------------------------------------------------

MAX_LINEAGE_DEPTH = 200  # parents are always older runs, so no cycles; the cap is a guard only


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


def trash_runs(session: Session, run_ids: Sequence[int]) -> list[int]:
    """Mark runs as trashed; queued and running runs are left alone (cancel them first). The
    condition is in the UPDATE itself, so a run the worker claims meanwhile is never trashed."""
    if not run_ids:
        return []
    return sorted(session.scalars(
        update(Run).where(Run.id.in_(run_ids), Run.deleted_at.is_(None), Run.status.not_in(ACTIVE_STATUSES))
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


def delete_trashed_runs(session: Session, run_ids: Sequence[int]) -> tuple[list[int], list[Image]]:
    """Delete trashed runs for good (only runs in the trash), then the input images no run uses
    any more. Returns the deleted run ids and image rows; their files are the caller's to remove.
    Children keep existing: their parent_id becomes NULL (ON DELETE SET NULL)."""
    if not run_ids:
        return [], []
    image_ids = set(session.scalars(
        select(Run.input_image_id).where(Run.id.in_(run_ids), Run.input_image_id.is_not(None))
    ))
    deleted = sorted(session.scalars(
        delete(Run).where(Run.id.in_(run_ids), Run.deleted_at.is_not(None)).returning(Run.id)
    ))
    orphans: list[Image] = []
    if image_ids:
        used = select(Run.id).where(Run.input_image_id == Image.id).exists()
        orphans = list(session.scalars(select(Image).where(Image.id.in_(image_ids), ~used)))
        if orphans:
            session.execute(delete(Image).where(Image.id.in_([i.id for i in orphans])))
    return deleted, orphans


# ----- runs: the queue --------------------------------------------------------------------------

def claim_next(session: Session, worker_id: str) -> Run | None:
    """Atomically move the oldest queued run to running for this worker. The conditional UPDATE is
    the lock: of two workers racing for the same row only one sees rowcount 1."""
    for _ in range(5):
        run_id = session.scalar(
            select(Run.id).where(Run.status == "queued", Run.deleted_at.is_(None)).order_by(Run.id).limit(1)
        )
        if run_id is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(Run).where(Run.id == run_id, Run.status == "queued").values(
                status="running", worker_id=worker_id, started_at=now, heartbeat_at=now,
                attempts=Run.attempts + 1, step=0, error=None, error_kind=None,
            )
        ).rowcount
        if claimed == 1:
            session.flush()
            return get_run(session, run_id)
    return None


def record_progress(session: Session, run_id: int, step: int, total: int) -> bool:
    """Store progress and heartbeat; returns whether a cancel has been requested meanwhile."""
    session.execute(
        update(Run).where(Run.id == run_id).values(step=step, total_steps=total, heartbeat_at=utcnow())
    )
    return bool(session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def heartbeat(session: Session, run_id: int) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utcnow()))


def cancel_requested(session: Session, run_id: int) -> bool:
    return bool(session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))


def update_run(session: Session, run_id: int, **values: Any) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(**values))


def finish_run(session: Session, run_id: int, status: str, **values: Any) -> None:
    session.execute(
        update(Run).where(Run.id == run_id).values(status=status, finished_at=utcnow(), **values)
    )


def request_cancel(session: Session, run_id: int) -> str | None:
    """Queued runs are canceled at once; running ones are flagged for the worker. Returns the new
    state, or None when the run is already finished."""
    run = session.get(Run, run_id)
    if run is None or run.status not in ("queued", "running"):
        return None
    if run.status == "queued":
        run.status = "canceled"
        run.finished_at = utcnow()
        return "canceled"
    run.cancel_requested = True
    return "canceling"


def recover_interrupted(session: Session, *, worker_is_dead: Callable[[str | None], bool],
                        stale_after: timedelta) -> list[int]:
    """Return runs left behind by dead workers (or by a clean shutdown) to the queue.

    A run counts as abandoned when its status is interrupted, or it is running and its worker is
    known dead or has not sent a heartbeat for `stale_after`."""
    cutoff = utcnow() - stale_after
    recovered: list[int] = []
    # Trashed runs stay as they are until restored (only finished or interrupted runs can be trashed).
    candidates = session.scalars(
        select(Run).where(Run.status.in_(("running", "interrupted")), Run.deleted_at.is_(None))
    ).all()
    for run in candidates:
        abandoned = (
            run.status == "interrupted"
            or worker_is_dead(run.worker_id)
            or (run.heartbeat_at is not None and run.heartbeat_at < cutoff)
        )
        if not abandoned:
            continue
        if run.attempts >= MAX_ATTEMPTS:
            run.status = "failed"
            run.error_kind = "crash"
            run.error = (f"The run was interrupted {run.attempts} times (the studio stopped while it was "
                         "running). It is not retried again automatically; re-run it when ready.")
            run.finished_at = utcnow()
        else:
            run.status = "queued"
            run.worker_id = None
            run.step = 0
        recovered.append(run.id)
    return recovered


def queue_position(session: Session, run_id: int) -> int:
    """How many queued runs are ahead of this one."""
    return session.scalar(
        select(func.count()).select_from(Run).where(Run.status == "queued", Run.id < run_id, Run.deleted_at.is_(None))
    ) or 0


def recent_durations(session: Session, engine: str, limit: int = 10) -> list[float]:
    """Seconds of recent successful runs of an engine, for ETA estimates."""
    rows = session.execute(
        select(Run.started_at, Run.finished_at).where(Run.engine == engine, Run.status == "succeeded")
        .order_by(Run.id.desc()).limit(limit)
    ).all()
    return [(f - s).total_seconds() for s, f in rows if s and f]

