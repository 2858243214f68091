"""`launch.py migrate`: bring the database to this version's schema and exit. The server does the
same at start; on a shared database this is the command for the role that owns the schema, so that
workers can run with one that only reads and writes rows."""

from __future__ import annotations

import argparse

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_core
from studio.db import migrate


def migrate_schema(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    core = open_core(paths, console)  # migrates, under the migration lock, as every start does
    if core is None:
        return 1
    core.close()
    console.important(f"{paths.database_label} is at schema {migrate.head_revision()}.")
    return 0
