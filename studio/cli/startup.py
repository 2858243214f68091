"""The core or all the services for a command, on a database this code can use.

Apart from logfile.py because importing the services takes a second or two: serving imports
logfile.py before it starts the server, and has no use for these.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError

from studio.cli.console import Console
from studio.config import Paths
from studio.db.engine import DatabaseUnusable, cannot_open
from studio.db import migrate
from studio.db.migrate import BackupFailed, DatabaseTooNew, MigrationBusy
from studio.services import Core, Services, build_core, build_services

Built = TypeVar("Built")
SCHEMA_POLL_S = 2.0


def open_core(paths: Paths, console: Console) -> Core | None:
    """The studio's core, or None after printing why not."""
    return _open(build_core, paths, console)


def open_services(paths: Paths, console: Console, *, migrate_db: bool = True) -> Services | None:
    """All the studio's services (the worker built, not started), or None after printing why not."""
    return _open(lambda p: build_services(p, migrate_db=migrate_db), paths, console)


def wait_for_schema(paths: Paths, console: Console, *, timeout: float) -> bool:
    """For a process that does not migrate (a worker on a shared database): True once the database
    is at this code's schema. While it is behind, say so once and wait for the server or
    `launch.py migrate` to bring it there; False (after saying why) when it is newer, or still
    behind after `timeout` seconds."""
    from studio.db.engine import make_engine

    engine = make_engine(paths.database_url)
    deadline = time.monotonic() + timeout
    said = False
    try:
        while True:
            current = migrate.check_not_newer(engine)  # DatabaseTooNew when written by newer code
            head = migrate.head_revision()
            if current == head:
                return True
            if time.monotonic() > deadline:
                console.error(f"Error: {paths.database_label} is at schema {current or 'none (empty)'}; this "
                              f"version of the studio needs {head}. → Start the studio server, or run "
                              "`python launch.py migrate` with a role that may change the schema, then start "
                              "the worker again.")
                return False
            if not said:
                console.note(f"Waiting for the server (or `launch.py migrate`) to bring {paths.database_label} from "
                             f"schema {current or 'none'} to {head} …")
                said = True
            time.sleep(SCHEMA_POLL_S)
    except (DatabaseTooNew, OperationalError) as exc:
        if isinstance(exc, DatabaseTooNew):
            console.error(f"Error: {exc}")
        else:
            _say_cannot_open(console, paths, exc)
        return False
    finally:
        engine.dispose()


def _open(build: Callable[[Paths], Built], paths: Paths, console: Console) -> Built | None:
    """Build on the database, or None after one line saying why this code cannot use it: a database
    from newer code, or a file SQLite cannot read as a database at all (random bytes, a damaged
    header). An OperationalError (locked, cannot open, a server that refuses the connection) is not
    about the file's contents: it is reported as such, not as a damaged database."""
    try:
        return build(paths)
    except (DatabaseTooNew, DatabaseUnusable, MigrationBusy, BackupFailed) as exc:  # their messages say what to do
        console.error(f"Error: {exc}")
    except OperationalError as exc:  # not about the contents: unreachable, not creatable, locked
        _say_cannot_open(console, paths, exc)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError) as exc:  # a URL no installed driver takes
        console.error(f"Error: STUDIO_DATABASE_URL ({paths.database_label}) is not a database the studio can use "
                      f"({str(exc).splitlines()[0]}). → Unset it to use the SQLite file in the data folder, or give "
                      "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE.")
    except (FileExistsError, NotADirectoryError) as exc:  # the data folder, or a folder in it, is a file
        console.error(f"Error: {exc.filename} is a file where the studio needs a folder. → Move it away, or give "
                      "--data-dir (STUDIO_DATA_DIR) a folder.")
    except OSError as exc:  # e.g. a read-only data folder
        console.error(f"Error: cannot use the data folder {paths.data_dir}: {exc.strerror or exc}"
                      f"{f' ({exc.filename})' if exc.filename else ''}. → Give --data-dir a folder this user may write.")
    except DatabaseError as exc:  # another refusal: not a database, or a server that refuses a statement
        where = paths.database_label
        if paths.sqlite_path is None:  # e.g. a role without the right to create tables
            reason = (str(exc.orig or exc).strip().splitlines() or ["no reason given"])[0]
            console.error(f"Error: {where} refused the studio: {reason}. → Check the role's rights (a worker "
                          "needs none beyond reading and writing rows; the server, or `launch.py migrate`, "
                          "changes the schema).")
            return None
        console.error(f"Error: {where} is not a studio database (or is damaged): {exc.orig or exc}. "
                      "→ Restore a backup copy (studio.db.bak-… beside it) or move the file away to start "
                      "with an empty history.")
    return None


def _say_cannot_open(console: Console, paths: Paths, exc: OperationalError) -> None:
    detail, hint = cannot_open(paths.database_label, exc)
    console.error(f"Error: {detail}. → {hint[0].upper()}{hint[1:]}.")
