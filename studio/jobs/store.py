"""The queue's statements. The queue is the runs table: a submitted run is a queued row, a worker
claims it with one conditional UPDATE, reports progress and heartbeats on it, and records its
outcome; recovery returns runs held by dead workers. The caller owns the session; nothing here
commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from studio.db.models import Run, utcnow
from studio.db.runs import get_run
from studio.jobs.status import CANCELING, RunStatus

# After this many interrupted attempts a run fails instead of returning to the queue: a job that
# kills its process every time (e.g. the OOM killer) must not crash-loop the studio.
MAX_ATTEMPTS = 3


def claim_next(session: Session, worker_id: str) -> Run | None:
    """Atomically move the oldest queued run to running for this worker. The conditional UPDATE is
    the lock: of two workers racing for the same row only one sees rowcount 1."""
    for _ in range(5):
        run_id = session.scalar(
            select(Run.id).where(Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None)).order_by(Run.id).limit(1)
        )
        if run_id is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.QUEUED).values(
                status=RunStatus.RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now,
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


def finish_run(session: Session, run_id: int, status: RunStatus, **values: Any) -> None:
    session.execute(
        update(Run).where(Run.id == run_id).values(status=status, finished_at=utcnow(), **values)
    )


def request_cancel(session: Session, run_id: int) -> str | None:
    """Queued runs are canceled at once; running ones are flagged for the worker. Returns the new
    state ('canceled' or 'canceling'), or None when the run is already finished."""
    run = session.get(Run, run_id)
    if run is None or run.status not in RunStatus.ACTIVE:
        return None
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.CANCELED
        run.finished_at = utcnow()
        return RunStatus.CANCELED
    run.cancel_requested = True
    return CANCELING


def recover_interrupted(session: Session, *, worker_is_dead: Callable[[str | None], bool],
                        stale_after: timedelta) -> list[int]:
    """Return runs left behind by dead workers (or by a clean shutdown) to the queue.

    A run counts as abandoned when its status is interrupted, or it is running and its worker is
    known dead or has not sent a heartbeat for `stale_after`."""
    cutoff = utcnow() - stale_after
    recovered: list[int] = []
    # Trashed runs stay as they are until restored (only finished or interrupted runs can be trashed).
    candidates = session.scalars(
        select(Run).where(Run.status.in_(RunStatus.RECOVERABLE), Run.deleted_at.is_(None))
    ).all()
    for run in candidates:
        abandoned = (
            run.status == RunStatus.INTERRUPTED
            or worker_is_dead(run.worker_id)
            or (run.heartbeat_at is not None and run.heartbeat_at < cutoff)
        )
        if not abandoned:
            continue
        if run.attempts >= MAX_ATTEMPTS:
            run.status = RunStatus.FAILED
            run.error_kind = "crash"
            run.error = (f"The run was interrupted {run.attempts} times (the studio stopped while it was "
                         "running). It is not retried again automatically; re-run it when ready.")
            run.finished_at = utcnow()
        else:
            run.status = RunStatus.QUEUED
            run.worker_id = None
            run.step = 0
        recovered.append(run.id)
    return recovered


def active_runs(session: Session) -> list[Run]:
    """Queued and running runs, in the order the worker takes them."""
    return list(session.scalars(
        select(Run).where(Run.status.in_(RunStatus.ACTIVE), Run.deleted_at.is_(None)).order_by(Run.id)
    ))


def queue_position(session: Session, run_id: int) -> int:
    """How many queued runs are ahead of this one."""
    return session.scalar(
        select(func.count()).select_from(Run).where(Run.status == RunStatus.QUEUED, Run.id < run_id,
                                                    Run.deleted_at.is_(None))
    ) or 0


def recent_durations(session: Session, engine: str, limit: int = 10) -> list[float]:
    """Seconds of recent successful runs of an engine, for ETA estimates."""
    rows = session.execute(
        select(Run.started_at, Run.finished_at).where(Run.engine == engine, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.id.desc()).limit(limit)
    ).all()
    return [(f - s).total_seconds() for s, f in rows if s and f]
