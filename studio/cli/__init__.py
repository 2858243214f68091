"""The studio's command line, run by launch.py once .venv is in place: parse, then run the command.

The package's root and its parser and console import only the standard library: launch.py parses
the command line with them before .venv exists. Each command's module, which imports the studio,
is imported only when that command runs, so serving does not wait for what `run` needs.
"""

from __future__ import annotations

import importlib
import os
import signal
from pathlib import Path

from studio.cli.console import Console
from studio.interrupts import raise_interrupt
from studio.cli.parser import parse_args

# command → (module under studio.cli, its function taking (args, console) and returning the exit status)
COMMANDS = {
    None: ("serve", "serve"),
    "run": ("generate", "run"),
    "submit": ("submit", "submit"),
    "export": ("archive", "export"),
    "import": ("archive", "import_zip"),
    "worker": ("worker", "work"),
    "migrate": ("schema", "migrate_schema"),
    "worker-token": ("worker_tokens", "worker_token"),
    "models": ("models", "list_models"),
    "download": ("models", "download"),
    "set-password": ("password", "set_password"),
    "test": ("testing", "run_tests"),
}

__all__ = ["main", "parse_args"]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.data_dir:
        os.environ["STUDIO_DATA_DIR"] = str(Path(args.data_dir).expanduser().resolve())
    if getattr(args, "no_backup", False):  # read where the migration runs (the server process too)
        os.environ["STUDIO_NO_BACKUP"] = "1"
    # One console for the whole launch: each command opens its log (once) as soon as the studio's
    # folders are known; serving opens it only once the server is on its way.
    console = Console(quiet=args.quiet, debug=args.debug)
    module, function = COMMANDS[args.command]
    # SIGTERM (`kill`, `timeout`, a service manager) ends a command as Ctrl-C does: a run this
    # process is making is marked interrupted and its partial files removed, not left "running"
    # until its lease runs out. Serving and `worker` put their own handlers in place of this one.
    signal.signal(signal.SIGTERM, raise_interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where SIGINT is ignored (`cmd &`)
        signal.signal(signal.SIGINT, raise_interrupt)
    try:
        command = getattr(importlib.import_module(f"studio.cli.{module}"), function)
        return command(args, console)
    except KeyboardInterrupt:  # a run cut short is returned to the queue at the next start
        console.error("Interrupted.")
        return 130
    except Exception as exc:  # the last line of defence: one line for the person, the traceback in the log
        return _failed(console, exc)
    finally:
        console.close()


def _failed(console: Console, exc: Exception) -> int:
    """A command ended by an error nothing nearer handled. A database another program keeps locked
    is said as such (the write it blocked changed nothing); anything else is named, with the log
    that holds its traceback."""
    import traceback

    console.write_log("".join(traceback.format_exception(exc)))
    if _is_lock(exc):
        console.error("Error: the history database is locked by another program (a database browser, a copy in "
                      "progress), so nothing was changed. Close that program, then run the same command again.")
    else:
        where = f" The details are in {console.log_path}." if console.log_path else ""
        console.error(f"Error: unexpected {type(exc).__name__}: {exc}.{where}")
    return 1


def _is_lock(exc: Exception) -> bool:
    """Whether another program's lock on the history ended the command."""
    try:
        from studio.db.engine import DatabaseBusy, is_busy
    except ImportError:  # the environment itself is broken: only the generic line can be said
        return False
    return isinstance(exc, DatabaseBusy) or is_busy(exc)
