"""The workers table's statements: each worker reports itself (which engines it can run, which run
it is on) on its heartbeat, in the database's clock; the UI and the run page read who is live.
The caller owns the session; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from studio.db.models import Worker
from studio.jobs.store import LIVE_WITH_HEARTBEAT_S, db_time

# What a worker that takes runs of any engine lists.
ANY_ENGINE = "*"


def report(session: Session, worker_id: str, *, host: str, engines: Sequence[str], gpu: str | None,
           current_run_id: int | None, vram_bytes: int | None = None, model_loaded: str | None = None) -> None:
    """This worker is alive now, can run these engines, has this GPU and model, and is on this run (or none)."""
    values = dict(host=host, engines=list(engines), gpu=gpu, vram_bytes=vram_bytes, model_loaded=model_loaded,
                  current_run_id=current_run_id, last_seen=db_time(session))
    updated = session.execute(update(Worker).where(Worker.id == worker_id).values(**values)
                              .execution_options(synchronize_session=False)).rowcount
    if not updated:
        session.execute(insert(Worker).values(id=worker_id, started_at=db_time(session), **values))


def forget(session: Session, worker_id: str) -> None:
    """A worker stopping cleanly takes itself off the list."""
    session.execute(delete(Worker).where(Worker.id == worker_id).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class WorkerView:
    """A live worker as the pages show it (no ORM row leaves this module)."""

    id: str
    host: str
    engines: tuple[str, ...]
    current_run_id: int | None
    started_at: datetime
    last_seen: datetime
    gpu: str | None = None
    vram_bytes: int | None = None
    model_loaded: str | None = None

    @property
    def takes_any_engine(self) -> bool:
        return ANY_ENGINE in self.engines

    def can_run(self, engine: str) -> bool:
        return self.takes_any_engine or engine in self.engines


def live(session: Session) -> list[WorkerView]:
    """The workers heard from recently, oldest first."""
    rows = session.scalars(select(Worker).where(Worker.last_seen >= db_time(session, -LIVE_WITH_HEARTBEAT_S))
                           .order_by(Worker.started_at, Worker.id))
    return [WorkerView(id=w.id, host=w.host, engines=tuple(w.engines or ()), current_run_id=w.current_run_id,
                       started_at=w.started_at, last_seen=w.last_seen, gpu=w.gpu, vram_bytes=w.vram_bytes,
                       model_loaded=w.model_loaded) for w in rows]

