"""The core or all the services for a command, on a database this code can use.

Apart from logfile.py because importing the services takes a second or two: serving imports
logfile.py before it starts the server, and has no use for these.
"""

from __future__ import annotations

from studio.cli.console import Console
from studio.config import Paths
from studio.db.migrate import DatabaseTooNew
from studio.services import Core, Services, build_core, build_services


def open_core(paths: Paths, console: Console) -> Core | None:
    """The studio's core, or None after printing why not (a database from newer code)."""
    try:
        return build_core(paths)
    except DatabaseTooNew as exc:
        console.error(f"Error: {exc}")
        return None


def open_services(paths: Paths, console: Console) -> Services | None:
    """All the studio's services (the worker built, not started), or None after printing why not."""
    try:
        return build_services(paths)
    except DatabaseTooNew as exc:
        console.error(f"Error: {exc}")
        return None
