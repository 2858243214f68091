"""A pg_dump of a PostgreSQL history before a migration changes it, as SQLite files get a copy.

The dump (custom format; `pg_restore -d DB FILE` brings it back) goes into the data folder's
backups/. Without pg_dump the migration is refused, saying how to get it or how to go on without a
backup (--no-backup, for a database backed up some other way)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

# Set by --no-backup (launch.py and `launch.py migrate`): migrate without dumping first.
NO_BACKUP_ENV = "STUDIO_NO_BACKUP"
# Which pg_dump to run, where several are installed (it must be as new as the server).
PG_DUMP_ENV = "STUDIO_PG_DUMP"
DUMP_TIMEOUT_S = 3600.0


class BackupFailed(RuntimeError):
    """No backup could be taken, so the database was not migrated; the message says what to do."""


def find_pg_dump() -> str | None:
    """STUDIO_PG_DUMP when set; else the newest of Debian's versioned folders, else the PATH's."""
    chosen = os.environ.get(PG_DUMP_ENV)
    if chosen is not None:
        return chosen if Path(chosen).is_file() and os.access(chosen, os.X_OK) else None
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=_version, reverse=True)
    return versioned[0] if versioned else shutil.which("pg_dump")


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def before_migrating(engine: Engine, folder: Path, revision: str) -> Path | None:
    """Dump the database into `folder` and return the dump's path; None when backups are off."""
    if os.environ.get(NO_BACKUP_ENV) == "1":
        return None
    pg_dump = find_pg_dump()
    if pg_dump is None:
        raise BackupFailed("pg_dump was not found, so the database cannot be backed up before it is migrated "
                           f"(from schema {revision}); nothing was changed → install the PostgreSQL client tools "
                           "(Debian: postgresql-client, as new as the server) or name one in STUDIO_PG_DUMP, or run "
                           "the same command with --no-backup if the database is backed up another way")
    url = make_url(engine.url)
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in url.database or "studio")
    destination = folder / f"{name}-{datetime.now():%Y%m%d-%H%M%S}-{revision}.dump"
    partial = destination.with_name(f".{destination.name}.partial")
    # The password goes in the environment: a command line is visible to every user of the host.
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        done = subprocess.run([pg_dump, "--format=custom", f"--file={partial}", f"--dbname={target}"], env=env,
                              capture_output=True, text=True, timeout=DUMP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump could not back up the database before migrating it: {exc}; nothing was changed "
                           "→ fix that, or run the same command with --no-backup") from None
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise BackupFailed(f"pg_dump could not back up the database before migrating it: {reason}; nothing was "
                           "changed → fix that (pg_dump must be as new as the server), or run the same command "
                           "with --no-backup")
    os.replace(partial, destination)
    return destination
