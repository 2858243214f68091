"""Database engine and session scope. The caller owns the session: repository functions take one.

A write the user waits on (queueing a run) goes through write_transaction: retried whole while another
program holds SQLite's write lock, for a bounded time, then refused as DatabaseBusy; one that cannot
be run twice (an import) uses waited_session, the same bound without the retry. A file SQLite
cannot read at all fails on connect as DatabaseUnusable (studio.db.damage)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

# DatabaseUnusable is re-exported: callers catch both of the database's own errors from here.
from studio.db.damage import DatabaseUnusable as DatabaseUnusable
from studio.db.damage import unusable

T = TypeVar("T")

# How long the busy handler waits for another writer's lock on an ordinary connection (the worker's
# progress writes, pages): long, because those have no user waiting on a button.
BUSY_TIMEOUT_MS = 30_000
# A write the user waits for (Generate) gives up after this long in all and says so.
WRITE_RETRY_SECONDS = 10.0
# Each attempt's own busy wait: short, so that a stale read snapshot (which SQLite reports as busy at
# once, without waiting) is retried as a whole transaction well inside the bound.
ATTEMPT_BUSY_MS = 2_000


class DatabaseBusy(RuntimeError):
    """Another program held the database's write lock for longer than a user-facing write waits."""

    def __init__(self) -> None:
        super().__init__("The history database is busy (another program is writing to it). "
                         "Your run was not queued; try again in a moment.")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: the worker thread and script threads share the pool; SQLite's own
        # locking (WAL + busy_timeout) serialises writers.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, Path(path)))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record, path: Path) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets pages read while the worker writes progress; NORMAL sync is crash-safe under WAL.
        # The first statement is where SQLite first reads the file: a file that is not a database
        # fails here, and every caller (server, worker, CLI) gets the same plain error for it.
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        problem = unusable(path, exc)
        if problem is None:
            raise
        cursor.close()
        dbapi_connection.close()
        raise problem from None
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # SQLite's default page cache is 2 MB; a history of 10,000 runs is about 7 MB, and a prompt
    # search reads rows scattered over all of it. A cap of 32 MB per connection keeps the whole
    # history of a busy studio cached (it only grows to the size of the file).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def dialect_insert(session: Session):
    """The INSERT construct of the session's database, for ON CONFLICT clauses (both dialects
    spell them alike; SQLAlchemy's generic insert has none)."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit off: pages render rows after the session that loaded them has closed.
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session], **session_options) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = factory(**session_options)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def cannot_open(label: str, exc: OperationalError) -> tuple[str, str]:
    """What to tell a person when the database could not be opened at all (the connection refused,
    the file not creatable, the lock held): what happened, naming the database, and what to do."""
    reason = (str(exc.orig or exc).strip().splitlines() or ["no reason given"])[0]
    if is_busy(exc):
        return (f"{label} is locked by another program",
                "close the program holding it (a database browser, a copy in progress), then run the same command again")
    if isinstance(exc.orig, sqlite3.Error):
        return (f"cannot open {label}: {reason}",
                "check that its folder exists and is writable, or use --data-dir with another folder")
    return (f"cannot connect to {label}: {reason}",
            "start the database server, or correct STUDIO_DATABASE_URL")


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy": another connection holds the lock."""
    return isinstance(exc, OperationalError) and any(
        word in str(exc.orig).lower() for word in ("database is locked", "database is busy", "database table is locked"))


def write_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], *,
                      within: float = WRITE_RETRY_SECONDS) -> T:
    """Run `work` in one transaction, retrying the whole of it while another writer holds the lock,
    for at most `within` seconds; then raise DatabaseBusy. Each attempt commits fully or rolls back,
    so `work` must only touch the session (it may run more than once)."""
    deadline = time.monotonic() + within
    pause = 0.05
    while True:
        remaining = deadline - time.monotonic()
        try:
            return _attempt(factory, work, busy_ms=max(1, int(min(ATTEMPT_BUSY_MS, remaining * 1000))))
        except OperationalError as exc:
            if not is_busy(exc):
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DatabaseBusy()
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.5)


def _attempt(factory: sessionmaker[Session], work: Callable[[Session], T], *, busy_ms: int) -> T:
    with waited_session(factory, busy_ms=busy_ms) as session:
        return work(session)


@contextmanager
def waited_session(factory: sessionmaker[Session], *, busy_ms: int = int(WRITE_RETRY_SECONDS * 1000)) -> Iterator[Session]:
    """session_scope for a write a person waits on that cannot simply be run again (an import,
    which copies files as it goes): on SQLite, another program's write lock is waited on for
    `busy_ms` (a user-facing bound, as write_transaction's) instead of ordinary connections' 30 s,
    then the OperationalError "database is locked" is raised."""
    engine = factory.kw["bind"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        # The short wait is this session's alone: the pooled connection gets the usual one back.
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
            # End the transaction SQLAlchemy opened for the pragma, so that the session begins (and
            # commits) its own instead of joining this one and leaving it uncommitted.
            connection.commit()
        try:
            with session_scope(factory, bind=connection) as session:
                yield session
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
