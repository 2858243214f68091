"""Bring a database to the code's schema: Alembic upgrade to head, with a copy of an existing SQLite
file taken first, and a clear refusal when the database was written by newer code.

Processes started together on one database (a server and its workers) migrate one at a time: each
takes the migration lock (a PostgreSQL advisory lock; a lock file beside a SQLite file), then reads
the schema's revision, so the first migrates and the others find it done."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

from filelock import FileLock
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError, OperationalError

from studio.config import PROJECT_ROOT
from studio.db.damage import BACKUP_INFIX, DatabaseUnusable, restore_hint, unusable
from studio.db import pg_backup
from studio.db.pg_backup import BackupFailed as BackupFailed  # re-exported: callers catch it from here
from studio.db.engine import is_busy

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration's revision (a unit test checks it against Alembic's scripts). Known here so
# that the common start, a database already at it, reads one row and never imports Alembic or
# parses the migration scripts (measured: about 0.1 s of every `launch.py run`).
HEAD_REVISION = "0011_search_prefixes"

# Objects that migrations create by hand and the ORM does not map: the full-text index (SQLite's
# FTS5 table and its shadow tables; PostgreSQL's GIN expression index over a tsvector, which the
# models cannot declare for one dialect only). Autogenerate and the drift test must not see them as
# strays, or `alembic check` would ask to drop the search index.
UNMAPPED_TABLE_PREFIXES = ("runs_fts",)
UNMAPPED_INDEXES = ("ix_runs_prompt_search",)
# The advisory lock's key on PostgreSQL: any constant the studio alone uses ("studio" in ASCII).
MIGRATION_LOCK_KEY = 0x73747564696F
# How long a process waits for another's migration before saying so: a large history's migration
# can take a while, but a process that waits forever looks hung.
MIGRATION_WAIT_S = 600.0


class MigrationBusy(RuntimeError):
    """Another process held the migration lock for longer than MIGRATION_WAIT_S."""


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    if type_ == "index" and name in UNMAPPED_INDEXES:
        return False
    return not (type_ == "table" and name and name.startswith(UNMAPPED_TABLE_PREFIXES))


class DatabaseTooNew(RuntimeError):
    """The database carries a revision this code does not know: it was migrated by newer code."""


@dataclass(frozen=True)
class MigrationOutcome:
    before: str | None
    after: str
    backup: Path | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def at_head(engine: Engine) -> bool:
    """Whether the database is at this code's schema, read from Alembic's version table directly
    (no Alembic import); False when there is no such table yet, or any doubt."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DatabaseError:  # no version table (a new database), or one this query cannot read
        return False
    return versions == [HEAD_REVISION]


def check_not_newer(engine: Engine) -> str | None:
    current = current_revision(engine)
    if current is not None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        try:
            script.get_revision(current)
        except Exception:
            raise DatabaseTooNew(
                f"The database is at schema revision {current}, which this version of the studio does "
                "not know: it was used by a newer version. Update the studio (git pull) or point "
                "STUDIO_DATA_DIR at another folder."
            ) from None
    return current


def upgrade(engine: Engine, sqlite_path: Path | None = None, *, backup_dir: Path | None = None) -> MigrationOutcome:
    """Migrate to head. An existing SQLite file is copied aside first (studio.db.bak-<time>-<rev>);
    a PostgreSQL database with a schema is dumped into `backup_dir` first (studio.db.pg_backup),
    unless backups are turned off (--no-backup)."""
    if sqlite_path is not None and sqlite_path.exists():
        verify_integrity(engine, sqlite_path)  # migrating, or serving, a damaged file only spreads the damage
    if at_head(engine):  # the common start: nothing to do, no lock to take
        return MigrationOutcome(before=HEAD_REVISION, after=HEAD_REVISION, backup=None)
    head = head_revision()
    if check_not_newer(engine) == head:  # the same, found through Alembic (DatabaseTooNew if newer)
        return MigrationOutcome(before=head, after=head, backup=None)
    with migration_lock(engine, sqlite_path):
        before = check_not_newer(engine)  # again: another process may have migrated while this one waited
        backup = None
        if before != head and before is not None and sqlite_path is not None and sqlite_path.exists():
            backup = sqlite_path.with_name(f"{sqlite_path.name}{BACKUP_INFIX}{datetime.now():%Y%m%d-%H%M%S}-{before}")
            _copy_sqlite(engine, backup)
        elif before != head and before is not None and sqlite_path is None and backup_dir is not None:
            backup = pg_backup.before_migrating(engine, backup_dir, before)
        if before != head:
            run(engine, "upgrade", "head")
    return MigrationOutcome(before=before, after=head, backup=backup)


@contextmanager
def migration_lock(engine: Engine, sqlite_path: Path | None) -> Iterator[None]:
    """Held by one process at a time per database; MigrationBusy after MIGRATION_WAIT_S."""
    if sqlite_path is not None:
        lock = FileLock(sqlite_path.with_name(f"{sqlite_path.name}.migrate-lock"))
        try:
            lock.acquire(timeout=MIGRATION_WAIT_S)
        except TimeoutError:
            raise MigrationBusy(f"Another studio process has been migrating {sqlite_path} for over "
                                f"{MIGRATION_WAIT_S:.0f} s.") from None
        try:
            yield
        finally:
            lock.release()
        return
    with engine.connect() as conn:
        conn.execute(text(f"SET LOCAL lock_timeout = '{int(MIGRATION_WAIT_S * 1000)}ms'"))  # this wait only
        try:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        except OperationalError:
            raise MigrationBusy(f"Another studio process has been migrating the database for over "
                                f"{MIGRATION_WAIT_S:.0f} s.") from None
        conn.commit()  # the advisory lock is the session's, not the transaction's
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


def run(engine: Engine, action: str, target: str) -> None:
    """Run an Alembic upgrade/downgrade on this engine's connection (used by tests and the CLI)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, target)


def _copy_sqlite(engine: Engine, destination: Path) -> None:
    # SQLite's online backup API copies a consistent snapshot even with WAL pages not yet merged.
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(destination)
        try:
            raw.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        raw.close()


def verify_integrity(engine: Engine, sqlite_path: Path) -> None:
    """SQLite's quick_check over the whole file: every page of every table and index is read, so
    damage anywhere is found now rather than by whichever page a user opens first. Raises
    DatabaseUnusable; a lock held by another program is not damage and passes."""
    try:
        with engine.connect() as conn:
            findings = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except DatabaseError as exc:
        problem = unusable(sqlite_path, exc.orig)
        if problem is not None:
            raise problem from None
        if isinstance(exc, OperationalError) and is_busy(exc):
            return  # another program is writing the file right now: that is no damage
        raise
    if findings != ["ok"]:
        shown = "; ".join(" ".join(f.split()) for f in findings[:3])
        more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
        raise DatabaseUnusable(f"{sqlite_path} is damaged: SQLite's integrity check found {shown}{more}",
                               restore_hint(sqlite_path))
