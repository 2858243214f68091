"""The core or all the services for a command, on a database this code can use.

Apart from logfile.py because importing the services takes a second or two: serving imports
logfile.py before it starts the server, and has no use for these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DatabaseError, OperationalError

from studio.cli.console import Console
from studio.config import Paths
from studio.db.engine import DatabaseUnusable, cannot_open
from studio.db.migrate import DatabaseTooNew, MigrationBusy
from studio.services import Core, Services, build_core, build_services

Built = TypeVar("Built")


def open_core(paths: Paths, console: Console) -> Core | None:
    """The studio's core, or None after printing why not."""
    return _open(build_core, paths, console)


def open_services(paths: Paths, console: Console) -> Services | None:
    """All the studio's services (the worker built, not started), or None after printing why not."""
    return _open(build_services, paths, console)


def _open(build: Callable[[Paths], Built], paths: Paths, console: Console) -> Built | None:
    """Build on the database, or None after one line saying why this code cannot use it: a database
    from newer code, or a file SQLite cannot read as a database at all (random bytes, a damaged
    header). An OperationalError (locked, cannot open, a server that refuses the connection) is not
    about the file's contents: it is reported as such, not as a damaged database."""
    try:
        return build(paths)
    except (DatabaseTooNew, DatabaseUnusable, MigrationBusy) as exc:  # their messages name the file and what to do
        console.error(f"Error: {exc}")
    except OperationalError as exc:  # not about the contents: unreachable, not creatable, locked
        detail, hint = cannot_open(paths.database_label, exc)
        console.error(f"Error: {detail}. → {hint[0].upper()}{hint[1:]}.")
    except DatabaseError as exc:  # another database server's refusal of the same kind
        where = paths.database_label
        console.error(f"Error: {where} is not a studio database (or is damaged): {exc.orig or exc}. "
                      "→ Restore a backup copy (studio.db.bak-… beside it) or move the file away to start "
                      "with an empty history.")
    return None
