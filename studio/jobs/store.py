"""The queue's statements. The queue is the runs table: a submitted run is a queued row, a worker
claims it with one conditional UPDATE, reports progress and heartbeats on it, and records its
outcome; recovery returns runs held by dead workers. The caller owns the session; nothing here
commits."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, and_, case, func, literal, or_, select, true, update
from sqlalchemy.orm import Session

from studio.db.models import Run, utcnow
from studio.db.models import Worker as WorkerRow
from studio.db.runs import get_run
from studio.jobs.liveness import machine_identity
from studio.jobs.status import CANCELING, RunStage, RunStatus
from studio.jobs.wakeup import notify_queued

# After this many interrupted attempts a run fails instead of returning to the queue: a job that
# kills its process every time (e.g. the OOM killer) must not crash-loop the studio.
MAX_ATTEMPTS = 3

# How long a claim or a heartbeat holds a run. Long enough that a busy database or a slow step does
# not lose it (heartbeats come every third of it); short enough that a dead worker's run is taken
# again soon. STUDIO_LEASE_SECONDS overrides it (the paused-worker tests use a few seconds).
DEFAULT_LEASE_SECONDS = 90


# How long a queued run waits for a live worker that has its model loaded before another takes it
# (loading a large model costs far more). STUDIO_AFFINITY_GRACE_SECONDS overrides it; 0 turns it off.
DEFAULT_AFFINITY_GRACE_SECONDS = 10
# A worker reports itself every few seconds; one silent this long has no warm model to wait for
# (studio.jobs.members counts live workers by the same window).
LIVE_WITH_HEARTBEAT_S = 30


def affinity_grace_seconds() -> int:
    raw = os.environ.get("STUDIO_AFFINITY_GRACE_SECONDS", "")
    return int(raw) if raw.isdigit() else DEFAULT_AFFINITY_GRACE_SECONDS


def lease_seconds() -> int:
    raw = os.environ.get("STUDIO_LEASE_SECONDS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_LEASE_SECONDS


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one attempt of a run: every write it makes for the run names all three."""

    run_id: int
    worker_id: str
    attempt: int
    seconds: int


class LeaseLost(Exception):
    """A worker's write for a run matched nothing: the run was reclaimed (and maybe taken by another
    attempt) or finished meanwhile. The worker stops, removes its files and leaves the row alone."""

    def __init__(self, lease: Lease, status: str | None, worker_id: str | None, attempt: int | None):
        self.lease, self.status, self.holder, self.holder_attempt = lease, status, worker_id, attempt
        if status is None:
            where = "a deletion of the run"
        elif status == RunStatus.QUEUED:
            where = "the queue (the run was reclaimed and waits for a worker)"
        elif (worker_id, attempt) != (lease.worker_id, lease.attempt):
            where = f"attempt {attempt}"
        else:
            where = f"the run being {status} already"
        super().__init__(f"run {lease.run_id}: lease lost to {where}; stopping and removing this "
                         f"attempt's files (attempt {lease.attempt} on {lease.worker_id})")


# ----- the database's clock ----------------------------------------------------------------------
# Leases are written and compared in the database's clock only: hosts' clocks differ, and a host
# 120 s behind must neither steal a live run nor keep a dead one. Both are stored as naive UTC, the
# same as utcnow() writes.

def db_time(session: Session, seconds: int = 0) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        # Seconds resolution, 'YYYY-MM-DD HH:MM:SS': compares in order with itself and with the
        # microsecond text SQLAlchemy writes for Python datetimes.
        return func.datetime("now", f"{seconds:+d} seconds")
    now = func.timezone("UTC", func.now())
    return now + literal(timedelta(seconds=seconds), Interval()) if seconds else now


def _lease_expired(session: Session) -> ColumnElement[bool]:
    # A running row without a lease comes from before leases (or was written by hand): nobody holds it.
    return or_(Run.lease_until.is_(None), Run.lease_until < db_time(session))


def _held(lease: Lease) -> ColumnElement[bool]:
    return and_(Run.id == lease.run_id, Run.worker_id == lease.worker_id, Run.attempts == lease.attempt,
                Run.status == RunStatus.RUNNING)


def _fenced_update(session: Session, lease: Lease, **values: Any) -> None:
    """Write for the lease's attempt only, or raise LeaseLost and write nothing."""
    matched = session.execute(
        update(Run).where(_held(lease)).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if matched != 1:
        raise _lost(session, lease)


def _lost(session: Session, lease: Lease) -> LeaseLost:
    row = session.execute(select(Run.status, Run.worker_id, Run.attempts).where(Run.id == lease.run_id)).first()
    return LeaseLost(lease, *(row if row is not None else (None, None, None)))


# ----- a worker's writes -------------------------------------------------------------------------

def claim_next(session: Session, worker_id: str, seconds: int | None = None,
               engines: Sequence[str] | None = None, loaded: str | None = None) -> Run | None:
    """Atomically move the oldest queued run to running for this worker, with a lease. The
    conditional UPDATE is the lock: of two workers racing for the same row only one sees rowcount 1.

    On PostgreSQL the pick is FOR UPDATE SKIP LOCKED: a worker passes over a row another worker is
    claiming in an open transaction and takes the next one, instead of waiting on that lock and
    then finding the row gone. (SQLite has one writer at a time and no row locks; SQLAlchemy leaves
    the clause out there.)"""
    seconds = seconds or lease_seconds()
    # A worker takes only runs of the engines it can run (None: any); the others wait for a worker
    # that can, rather than failing here for want of weights.
    runnable = Run.engine.in_(list(engines)) if engines is not None else true()
    # Affinity: a worker takes runs of the model it has loaded first (no reload), and leaves a run
    # whose model another live, idle worker has loaded to that worker for AFFINITY_GRACE_S after it
    # was queued; after that, whoever is free takes it. A warm worker busy with a run is not waited
    # for: it would rarely be free within the grace, and the run would only start that much later.
    warm_elsewhere = select(WorkerRow.model_loaded).where(
        WorkerRow.id != worker_id, WorkerRow.model_loaded.is_not(None), WorkerRow.current_run_id.is_(None),
        WorkerRow.last_seen >= db_time(session, -LIVE_WITH_HEARTBEAT_S))
    waits_for_warm = and_(Run.engine.in_(warm_elsewhere), Run.queued_at > db_time(session, -affinity_grace_seconds()))
    if loaded is not None:
        waits_for_warm = and_(Run.engine != loaded, waits_for_warm)
    order = (case((Run.engine == loaded, 0), else_=1), Run.id) if loaded is not None else (Run.id,)
    for _ in range(5):
        run_id = session.scalar(
            select(Run.id).where(Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None), runnable, ~waits_for_warm)
            .order_by(*order).limit(1).with_for_update(skip_locked=True)
        )
        if run_id is None:
            return None
        claimed = session.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.QUEUED).values(
                status=RunStatus.RUNNING, worker_id=worker_id, worker_boot=machine_identity(), started_at=utcnow(),
                heartbeat_at=db_time(session), lease_until=db_time(session, seconds),
                attempts=Run.attempts + 1, step=0, error=None, error_kind=None,
            ).execution_options(synchronize_session=False)
        ).rowcount
        if claimed == 1:
            session.flush()
            return get_run(session, run_id)
    return None


def lease_of(run: Run, seconds: int | None = None) -> Lease:
    """The lease a claim just took (run is what claim_next returned)."""
    assert run.worker_id is not None
    return Lease(run.id, run.worker_id, run.attempts, seconds or lease_seconds())


def heartbeat(session: Session, lease: Lease) -> None:
    """Prove the worker alive and extend its lease; LeaseLost when it no longer holds the run."""
    _fenced_update(session, lease, heartbeat_at=db_time(session), lease_until=db_time(session, lease.seconds))


def record_progress(session: Session, lease: Lease, step: int, total: int, stage: RunStage | None = None) -> bool:
    """Store progress (a heartbeat too), and the stage the run has entered, if any; returns whether
    a cancel has been requested meanwhile."""
    entered = {"stage": stage, "stage_started_at": utcnow()} if stage is not None else {}
    _fenced_update(session, lease, step=step, total_steps=total, heartbeat_at=db_time(session),
                   lease_until=db_time(session, lease.seconds), **entered)
    return cancel_requested(session, lease)


def enter_stage(session: Session, lease: Lease, stage: RunStage) -> None:
    _fenced_update(session, lease, stage=stage, stage_started_at=utcnow())


def cancel_requested(session: Session, lease: Lease) -> bool:
    """Whether a cancel was asked for; LeaseLost when the run is no longer this attempt's."""
    flag = session.scalar(select(Run.cancel_requested).where(_held(lease)))
    if flag is None:
        raise _lost(session, lease)
    return bool(flag)


def held_run(session: Session, lease: Lease) -> Run:
    """The run, when this attempt still holds it; LeaseLost when not (the server fences a remote
    worker's fetches and uploads with it, as every other worker write is fenced)."""
    run = session.scalar(select(Run).where(_held(lease)))
    if run is None:
        raise _lost(session, lease)
    return run


def update_held(session: Session, lease: Lease, **values: Any) -> None:
    """Any other column a worker sets while it runs (the log path, the memory mode)."""
    _fenced_update(session, lease, **values)


def finish_run(session: Session, lease: Lease, status: RunStatus, **values: Any) -> None:
    """Record the outcome, and with it the files (video_path etc.), only for the holding attempt."""
    _fenced_update(session, lease, status=status, finished_at=utcnow(), lease_until=None, stage=None,
                   stage_started_at=None, **values)


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


# ----- reclaiming ----------------------------------------------------------------------------------

def recover_interrupted(session: Session, *, worker_is_dead: Callable[[str | None, str | None], bool],
                        running_here: int | None = None) -> list[int]:
    """Return runs left behind to the queue (or fail them after MAX_ATTEMPTS).

    A run is abandoned when it is interrupted (a clean shutdown), or it is running and its lease
    has expired in the database's clock, or its worker is known dead by pid (same boot and pid
    namespace only: see studio.jobs.liveness). Each is taken back with a conditional UPDATE on the
    state it was seen in, so a heartbeat that renews the lease meanwhile wins. `running_here` is the
    run the reclaiming worker itself is executing: however late its heartbeat, it is not abandoned."""
    expired = _lease_expired(session)
    # Trashed runs stay as they are until restored (only finished or interrupted runs can be trashed).
    candidates = session.execute(
        select(Run.id, Run.status, Run.worker_id, Run.worker_boot, Run.attempts, expired.label("expired"))
        .where(Run.status.in_(RunStatus.RECOVERABLE), Run.deleted_at.is_(None)).order_by(Run.id)
    ).all()
    recovered: list[int] = []
    for run_id, status, worker_id, worker_boot, attempts, is_expired in candidates:
        if run_id == running_here:
            continue
        dead = status == RunStatus.RUNNING and worker_is_dead(worker_id, worker_boot)
        if not (status == RunStatus.INTERRUPTED or is_expired or dead):
            continue
        as_seen = and_(Run.id == run_id, Run.status == status, Run.attempts == attempts,
                       Run.worker_id.is_(None) if worker_id is None else Run.worker_id == worker_id)
        if status == RunStatus.RUNNING and not dead:
            as_seen = and_(as_seen, expired)
        if attempts >= MAX_ATTEMPTS:
            values: dict[str, Any] = dict(
                status=RunStatus.FAILED, error_kind="crash", finished_at=utcnow(), lease_until=None, stage=None,
                error=(f"The run was interrupted {attempts} times (the studio stopped while it was "
                       "running). It is not retried again automatically; re-run it when ready."))
        else:
            values = dict(status=RunStatus.QUEUED, worker_id=None, step=0, lease_until=None, stage=None,
                          stage_started_at=None)
        taken = session.execute(
            update(Run).where(as_seen).values(**values).execution_options(synchronize_session=False)
        ).rowcount
        if taken == 1:
            recovered.append(run_id)
    if recovered:
        notify_queued(session)  # a run back in the queue wakes idle workers too
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


def recent_stage_seconds(session: Session, engine: str, limit: int = 10) -> list[tuple[float | None, float | None]]:
    """(load, encode) seconds of recent successful runs of an engine, for the per-stage ETAs."""
    rows = session.execute(
        select(Run.load_seconds, Run.encode_seconds).where(Run.engine == engine, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.id.desc()).limit(limit)
    ).all()
    return [(load, encode) for load, encode in rows]


def recent_durations(session: Session, engine: str, limit: int = 10) -> list[float]:
    """Seconds of recent successful runs of an engine, for ETA estimates."""
    rows = session.execute(
        select(Run.started_at, Run.finished_at).where(Run.engine == engine, Run.status == RunStatus.SUCCEEDED)
        .order_by(Run.id.desc()).limit(limit)
    ).all()
    return [(f - s).total_seconds() for s, f in rows if s and f]
