"""`launch.py run`: generate one video without the UI, in this process, and print its path. The
run is queued and recorded in the history like one from the Generate page."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services
from studio.cli.submission import Refused, queue_runs, read_image, request_params, wait_for_results
from studio.jobs.status import RunStatus


def run(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    image_path = Path(args.image).expanduser()
    try:
        image = read_image(image_path)
        params = request_params(args)
    except Refused as exc:
        console.error(f"Error: {exc}")
        return exc.status
    services = open_services(paths, console)
    if services is None:
        return 1
    try:
        engine = args.engine or services.registry.default_engine_id(services.settings())
        try:
            [run_id] = queue_runs(services, engine, params, [(image, image_path.name)])
        except Refused as exc:
            console.error(f"Error: {exc}")
            return exc.status
        console.info(f"Run {run_id} queued on engine {engine}; generating …")
        # This process runs it at once; should another worker on the same database claim it first,
        # this one watches it finish there.
        rows = wait_for_results(services, [run_id], console, timeout=args.timeout, grace=0)
        if rows is None:
            console.error(f"Gave up waiting after {args.timeout:.0f} s; run {run_id} stays queued.")
            return 1
        [finished] = rows
        if finished.status != RunStatus.SUCCEEDED:
            console.error(f"Run {finished.id} {finished.status}: {finished.error or 'no error recorded'}")
            if finished.log_path:
                console.error(f"Run log: {finished.log_path}")
            return 1
        console.info(f"Run {finished.id} succeeded in {_seconds(finished)}; seed {finished.seed}.")
        print(finished.video_path, flush=True)
        return 0
    finally:
        services.close()


def _seconds(row) -> str:
    if row.started_at and row.finished_at:
        return f"{(row.finished_at - row.started_at).total_seconds():.1f} s"
    return "an unknown time"
