"""`launch.py run`: generate one video without the UI, in this process, and print its path. The
run is queued and recorded in the history like one from the Generate page."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services
from studio.cli.submission import (
    Refused,
    input_error_text,
    queue_runs,
    read_end_image,
    read_image,
    request_params,
    wait_for_results,
)
from studio.engines.base import InputError
from studio.jobs.status import RunStatus
from studio.requests import known_keys
from studio.sizing import run_framing_notes


def run(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    image_path = Path(args.image).expanduser() if args.image else None
    try:
        image = read_image(image_path) if image_path else None
        end_image = read_end_image(args)
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
            if args.extend is not None:
                engine, params, image, name = _extension(services, args, params)
            else:
                name = image_path.name
            [run_id] = queue_runs(services, engine, params, [(image, name)], end_image=end_image,
                                  continues_id=args.extend)
        except Refused as exc:
            console.error(f"Error: {exc}")
            return exc.status
        console.info(f"Run {run_id} queued on engine {engine}; generating …")
        for note in _framing_notes(services.history.get_run(run_id), image, end_image):
            console.note(f"Note: {note}")
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


def _extension(services, args: argparse.Namespace, given: dict) -> tuple[str, dict, object, str]:
    """--extend RUN_ID: the source's last frame and parameters (studio.jobs.chains), with the flags
    given on this command line on top (an empty --prompt keeps the source's prompt)."""
    try:
        start = services.extension_start(args.extend)
        engine = args.engine or start.engine
        known = known_keys(services.registry.get(engine))
    except InputError as exc:
        raise Refused(input_error_text(exc)) from None
    overrides = {k: v for k, v in given.items() if not (k in ("prompt", "negative_prompt") and not v)}
    # Only the source's own values are fitted to the engine (another engine's are left out); the
    # flags given here are checked as a plain `run` checks them, so a wrong one is refused, not dropped.
    params = {**{k: v for k, v in start.params.items() if k in known}, **overrides}
    return engine, params, start.image, f"last frame of run #{args.extend}"


def _framing_notes(run, image, end_image) -> list[str]:
    """What the Generate page says under the size: a share of the picture (or the end image)
    cropped away, or a small picture blown up (studio.sizing.framing_notes)."""
    if not (run and run.width and run.height):
        return []
    return run_framing_notes((run.width, run.height), str(run.params.get("fit", "crop")),
                             image.size if image is not None else None, end_image.size if end_image is not None else None)


def _seconds(row) -> str:
    if row.started_at and row.finished_at:
        return f"{(row.finished_at - row.started_at).total_seconds():.1f} s"
    return "an unknown time"
