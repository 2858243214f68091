"""Extend chains: runs linked by `continues_id`, each starting from the last frame of the one before.
The caller owns the session; nothing here commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from studio.db.models import Run

MAX_CHAIN = 200  # a guard only: a link always continues an older run, so there are no cycles


def chain_of(session: Session, run_id: int) -> list[Run]:
    """The chain through this run, first link first: the runs it continues back to the one that
    started the chain, the run, then onwards through the newest continuation of each link that is
    not in the trash (a re-made link replaces the one it re-makes). [] when the run does not exist."""
    run = _load(session, run_id)
    if run is None:
        return []
    before: list[Run] = []
    link = run
    while link.continues_id is not None and len(before) < MAX_CHAIN:
        link = _load(session, link.continues_id)
        if link is None:
            break
        before.append(link)
    after: list[Run] = []
    link = run
    while len(after) < MAX_CHAIN:
        link = session.scalar(
            select(Run).where(Run.continues_id == link.id, Run.deleted_at.is_(None)).order_by(Run.id.desc()).limit(1)
            .options(selectinload(Run.tags), selectinload(Run.input_image), selectinload(Run.end_image))
        )
        if link is None:
            break
        after.append(link)
    return [*reversed(before), run, *after]


def _load(session: Session, run_id: int) -> Run | None:
    return session.scalar(select(Run).where(Run.id == run_id).options(
        selectinload(Run.tags), selectinload(Run.input_image), selectinload(Run.end_image)))


def links_between(session: Session, first_id: int, last_id: int) -> list[Run]:
    """The links from `first_id` to `last_id`, first first, found by walking back from the last
    along `continues_id` (fixed when a run is queued, so the same pair always names the same
    videos, whatever was re-made since). [] when the last does not continue back to the first."""
    links: list[Run] = []
    link = _load(session, last_id)
    while link is not None and len(links) <= MAX_CHAIN:
        links.append(link)
        if link.id == first_id:
            return list(reversed(links))
        link = _load(session, link.continues_id) if link.continues_id is not None else None
    return []
