"""Worker tokens: what a worker on another host shows the server (studio.web.worker_api) to fetch a
run's input and send back its files. A token is printed once when made and stored only as its
sha256; every request looks it up again, so a revoked token is refused at once. Tokens are not the
UI password and cannot open a page. The caller owns the session; nothing here commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from studio.db.engine import dialect_insert
from studio.db.models import Run, Worker, WorkerBinding, WorkerToken, utcnow

# A prefix makes a token recognisable in a config file or a leaked log line.
TOKEN_PREFIX = "stw_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_TOKEN_LENGTH = 128  # longer text is not one of ours: refused before hashing


class TokenError(ValueError):
    """A name that cannot be used (taken, malformed, unknown); the message says which and why."""


@dataclass(frozen=True)
class TokenView:
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, name: str) -> str:
    """A new token under this name; returns the token itself (shown once, never stored)."""
    if not NAME_PATTERN.match(name):
        raise TokenError(f"the name {name!r} cannot be used: 1-64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit (e.g. gpu-host-2)")
    existing = session.scalar(select(WorkerToken).where(WorkerToken.name == name))
    if existing is not None and existing.revoked_at is None:
        raise TokenError(f"a token named {name!r} exists already; revoke it first or choose another name")
    if existing is not None:  # revoked: the name is free again; the new token replaces the old row
        session.delete(existing)
        _unbind(session, name)  # the new token speaks for none of the old one's workers
        session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(WorkerToken(name=name, token_sha256=_digest(token), created_at=utcnow()))
    session.flush()
    return token


def revoke(session: Session, name: str) -> None:
    """Refuse this token from now on (its row stays, so the list says when it was revoked)."""
    row = session.scalar(select(WorkerToken).where(WorkerToken.name == name))
    if row is None:
        known = ", ".join(session.scalars(select(WorkerToken.name).order_by(WorkerToken.name))) or "none yet"
        raise TokenError(f"no token named {name!r}; the tokens are: {known}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    _unbind(session, name)


def listing(session: Session) -> list[TokenView]:
    rows = session.scalars(select(WorkerToken).order_by(WorkerToken.created_at, WorkerToken.id))
    return [TokenView(r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def holder(session: Session, token: str) -> str | None:
    """The name of the live token `token` is, noting its use; None for anything else (unknown,
    revoked, malformed)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(WorkerToken).where(WorkerToken.token_sha256 == _digest(token),
                                                   WorkerToken.revoked_at.is_(None)))
    if row is None:
        return None
    # At most once a minute: a busy worker must not turn every chunk of a file into a write.
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        session.execute(update(WorkerToken).where(WorkerToken.id == row.id).values(last_used_at=now)
                        .execution_options(synchronize_session=False))
    return row.name


def bind(session: Session, worker_id: str, name: str) -> bool:
    """At a worker's hello: bind `worker_id` to the token named `name`, or find it bound already;
    whether this token may act for it. An id already at work (in the workers list or on a run) that
    is bound to no token is refused: it is a worker on the server's own folder, which never says
    hello, or an id another host learnt. Insert-if-absent in one statement, so two hellos naming
    one id at once agree on one token."""
    bound = bound_to(session, worker_id)
    if bound is not None:
        return bound == name
    at_work = session.scalar(select(Worker.id).where(Worker.id == worker_id)) is not None or session.scalar(
        select(Run.id).where(Run.worker_id == worker_id).limit(1)) is not None
    if at_work:
        return False
    insert_into = dialect_insert(session)
    session.execute(insert_into(WorkerBinding).values(worker_id=worker_id, token_name=name, bound_at=utcnow())
                    .on_conflict_do_nothing(index_elements=[WorkerBinding.worker_id]))
    return bound_to(session, worker_id) == name


def bound_to(session: Session, worker_id: str) -> str | None:
    """The name of the token `worker_id` said hello with; None if it never did."""
    return session.scalar(select(WorkerBinding.token_name).where(WorkerBinding.worker_id == worker_id))


def _unbind(session: Session, name: str) -> None:
    """Forget which workers a token spoke for (it is revoked, or its name goes to a new token)."""
    session.execute(delete(WorkerBinding).where(WorkerBinding.token_name == name))
