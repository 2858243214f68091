"""`launch.py set-password`: the password a studio served beyond this machine (--host) requires,
stored as a salted hash in the settings table (`--clear` removes it)."""

from __future__ import annotations

import argparse
import getpass
import sys

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_core
from studio.web import auth


def set_password(args: argparse.Namespace, console: Console) -> int:
    core = open_core(start_log(console, args.command), console)
    if core is None:
        return 1
    try:
        if args.clear:
            auth.save_password_hash(core.sessions, "")
            console.important("Password removed: the studio can be served on this machine only.")
            return 0
        password = _read_new_password()
        if password is None:
            console.error("The two passwords differ; nothing was changed.")
            return 2
        try:
            password_hash = auth.hash_password(password)
        except ValueError as exc:
            console.error(f"Error: {exc}")
            return 2
        auth.save_password_hash(core.sessions, password_hash)
    finally:
        core.close()
    console.important("Password set. Serve beyond this machine with e.g. `python launch.py --host 0.0.0.0`.")
    return 0


def _read_new_password() -> str | None:
    if not sys.stdin.isatty():  # scripted: the first line of standard input
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    return first if getpass.getpass("Repeat it: ") == first else None
