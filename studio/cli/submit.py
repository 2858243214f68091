"""`launch.py submit`: queue one run per image with the same settings, print the run ids and, with
--wait, their MP4 paths once they have finished.

Everything is checked before anything is queued, as on the Generate page: every image goes through
the upload intake and the settings through studio.requests.validate, and one bad image or
parameter queues nothing. Several images are queued as one group (a sweep without axes), so the
gallery and Compare show them together.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services
from studio.cli.submission import Refused, queue_runs, read_end_image, read_image, request_params, wait_for_results
from studio.jobs.status import RunStatus
from studio.media.images import picture_extensions, picture_formats_text

# What --folder picks up: the suffixes of the formats the intake decodes (the pages' uploaders take
# the same list). Anything else in the folder (notes, sidecars) is skipped rather than failing the
# whole batch.
IMAGE_SUFFIXES = {f".{ending}" for ending in picture_extensions()}
# How long --wait lets another worker (the server, `launch.py worker`) start the runs before this
# process runs the queue itself: that worker polls about once a second. (--wait's help and the
# README say 5 seconds.)
OTHER_WORKER_GRACE_S = 5.0


def submit(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    try:
        files = image_files(args.image, args.folder)
        images = [(read_image(path), path.name) for path in files]
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
            run_ids = queue_runs(services, engine, params, images, end_image=end_image)
        except Refused as exc:
            console.error(f"Error: {exc}")
            return exc.status
        console.note(f"Queued {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} on engine {engine}.")
        for run_id in run_ids:
            print(run_id, flush=True)
        if not args.wait:
            return 0
        rows = wait_for_results(services, run_ids, console, timeout=args.timeout, grace=OTHER_WORKER_GRACE_S)
        if rows is None:
            console.error(f"Gave up waiting after {args.timeout:.0f} s; the unfinished runs stay queued.")
            return 1
        failed = 0
        for row in rows:
            if row.status == RunStatus.SUCCEEDED and row.video_path:
                print(row.video_path, flush=True)
            else:
                failed += 1
                console.error(f"Run {row.id} {row.status}: {row.error or 'no error recorded'}")
        return 1 if failed else 0
    finally:
        services.close()


def image_files(images: list[str], folder: str | None) -> list[Path]:
    """The --image files in the order given, then --folder's image files by name."""
    files = [Path(image).expanduser() for image in images]
    if folder is not None:
        directory = Path(folder).expanduser()
        if not directory.is_dir():
            raise Refused(f"--folder {directory}: not a folder.")
        found = sorted(p for p in directory.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise Refused(f"--folder {directory}: no image files in it ({picture_formats_text()}).")
        files += found
    if not files:
        raise Refused("Give at least one --image or a --folder of images.")
    return files
