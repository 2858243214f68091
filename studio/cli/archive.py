"""`launch.py export RUN_ID… [--out ZIP]` and `launch.py import ZIP`: move runs between studios
from the terminal, through the same services (and so the same archive checks) as the gallery."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.archive import ArchiveError, why_not_exported
from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services


def export(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    if args.out is not None and not args.out.strip():
        console.error("Error: --out is empty; give the zip's file name, e.g. --out runs.zip (or leave --out out "
                      "for the data folder's exports/).")
        return 2
    destination = Path(args.out).expanduser().resolve() if args.out else None
    if destination is not None and destination.is_dir():
        console.error(f"Error: --out {destination} is a folder; give the zip's file name, e.g. {destination / 'runs.zip'}.")
        return 2
    # The OS would only say "File exists" or "Not a directory" for a file standing where a folder must be.
    blocking = next((p for p in destination.parents if p.exists() and not p.is_dir()), None) if destination else None
    if blocking is not None:
        console.error(f"Error: --out {destination}: {blocking} is a file, not a folder; choose a folder for the zip.")
        return 2
    services = open_services(paths, console)
    if services is None:
        return 1
    try:
        # Say which runs the export leaves out, and why (studio.archive.why_not_exported).
        found = {run.id: run for run in services.history.get_runs(args.run_ids)}
        for run_id in dict.fromkeys(args.run_ids):
            run = found.get(run_id)
            why = why_not_exported(run)
            if why is not None:
                console.error(f"Run {run_id} is left out: {why}.")
        try:
            zip_path = services.export_runs(list(args.run_ids), destination)
        except ArchiveError as exc:
            console.error(f"Error: {exc}")
            return 1
        except OSError as exc:  # DiskFull included: the zip is written through a temporary name, never half
            where = destination or paths.data_dir / "exports"
            console.error(f"Error: could not write the export to {where}: {exc.strerror or exc}.")
            return 1
        print(zip_path, flush=True)
        return 0
    finally:
        services.close()


def import_zip(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    zip_path = Path(args.zip).expanduser()
    if not zip_path.is_file():
        console.error(f"Error: {zip_path}: no such file.")
        return 2
    services = open_services(paths, console)
    if services is None:
        return 1
    try:
        try:
            run_ids = services.import_file(zip_path)
        except ArchiveError as exc:  # the zip was refused as a whole: nothing was added
            console.error(f"Error: {exc}")
            return 1
        except OSError as exc:  # DiskFull, or the zip unreadable: import_runs removed what it had copied
            console.error(f"Error: could not import {zip_path.name}: {exc.strerror or exc}.")
            return 1
        console.note(f"Imported {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} from {zip_path.name}.")
        for run_id in run_ids:
            print(run_id, flush=True)
        return 0
    finally:
        services.close()
