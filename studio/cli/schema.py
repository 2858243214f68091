"""`launch.py migrate`: bring the database to this version's schema and exit. The server does the
same at start; on a shared database this is the command for the role that owns the schema, so that
workers can run with one that only reads and writes rows. A PostgreSQL database is dumped first
(pg_dump; the backup's path is printed) unless --no-backup is given."""

from __future__ import annotations

import argparse

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.db import migrate
from studio.preflight import check_database


def migrate_schema(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    result = check_database(paths)  # migrates, under the migration lock, as every start does
    console.check(result)
    if result.failed:
        return 1
    console.important(f"{paths.database_label} is at schema {migrate.head_revision()}.")
    return 0
