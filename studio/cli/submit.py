"""`launch.py submit`: queue one run per image with the same settings, print the run ids and, with
--wait, their MP4 paths once they have finished.

Everything is checked before anything is queued, as on the Generate page: every image goes through
the upload intake and the settings through studio.requests.validate, and one bad image or
parameter queues nothing. Several images are queued as one group (a sweep without axes), so the
gallery and Compare show them together.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image as PILImage

from studio.cli.console import Console
from studio.cli.generate import NotInstalled, input_error_text, parse_params, prepare
from studio.cli.logfile import start_log
from studio.cli.startup import open_services
from studio.engines.base import InputError
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStatus
from studio.media.images import ImageRejected, load_upload
from studio.services import Services
from studio.storage import DiskFull

# What --folder picks up: the suffixes of the formats the intake decodes. Anything else in the
# folder (notes, sidecars) is skipped rather than failing the whole batch.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# How long --wait lets another worker (the server, `launch.py worker`) start the runs before this
# process runs the queue itself: that worker polls about once a second. (--wait's help and the
# README say 5 seconds.)
OTHER_WORKER_GRACE_S = 5.0
POLL_S = 0.25


class Refused(Exception):
    """A reason to queue nothing, already worded for the terminal; exit status 2."""


def submit(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    try:
        files = image_files(args.image, args.folder)
        images = [_decode(path) for path in files]
        params = _params(args)
    except Refused as exc:
        console.error(f"Error: {exc}")
        return 2
    services = open_services(paths, console)
    if services is None:
        return 1
    try:
        engine = args.engine or services.registry.default_engine_id(services.settings())
        try:
            run_ids = queue_batch(services, engine, params, list(zip(images, [f.name for f in files], strict=True)))
        except NotInstalled as exc:
            console.error(f"Error: {exc}")
            return 2
        except InputError as exc:
            console.error(f"Error: {input_error_text(exc)}")
            return 2
        except DiskFull as exc:
            console.error(f"Error: {exc}")
            return 1
        console.note(f"Queued {len(run_ids)} run{'s' if len(run_ids) != 1 else ''} on engine {engine}.")
        for run_id in run_ids:
            print(run_id, flush=True)
        if not args.wait:
            return 0
        return wait_for(services, run_ids, console, timeout=args.timeout)
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
            raise Refused(f"--folder {directory}: no image files in it ({', '.join(sorted(IMAGE_SUFFIXES))}).")
        files += found
    if not files:
        raise Refused("Give at least one --image or a --folder of images.")
    return files


def queue_batch(services: Services, engine: str, params: dict, images: list[tuple[PILImage.Image, str]]) -> list[int]:
    """Queue one run per image with the same settings (one seed for all, drawn once if none was
    given, as in a sweep), all or nothing. Each image gets its own default size, so every photo
    keeps its shape; a side given with --param holds for all, the other follows each image. More
    than one image is grouped (its base parameters are the first image's)."""
    first = prepare(services, engine, params, images[0][0].size)
    request = services.queue.validate(engine, first)
    requests = []
    for image, name in images:
        sized = prepare(services, engine, {**params, "seed": request.seed}, image.size)
        requests.append(SubmitRequest(engine=engine, params=sized, image=image, image_name=name,
                                      validated=services.queue.validate(engine, sized)))
    if len(requests) == 1:
        return services.queue.submit_many(requests)
    group = {"name": f"batch of {len(requests)} images", "base_params": {"engine": engine, **request.stored_params()},
             "axes": []}  # no axis: the images are what differs, and Compare lays the runs out as a grid
    return services.queue.submit_many(requests, sweep=group)


def wait_for(services: Services, run_ids: list[int], console: Console, *, timeout: float) -> int:
    """Wait until every run has finished; print each MP4's path (in the order queued) and each
    failure on stderr. If no other worker has started any of them within the grace period, this
    process's worker runs the queue until they are done."""
    deadline = time.monotonic() + timeout
    grace_until = time.monotonic() + OTHER_WORKER_GRACE_S
    working_here = False
    while True:
        rows = [services.history.get_run(run_id) for run_id in run_ids]
        if all(row.status in RunStatus.FINISHED for row in rows):
            break
        if time.monotonic() > deadline:
            console.error(f"Gave up waiting after {timeout:.0f} s; the unfinished runs stay queued.")
            return 1
        if not working_here and time.monotonic() > grace_until and all(r.status == RunStatus.QUEUED for r in rows):
            working_here = True
            console.note("No other worker has started these runs; running them in this process …")
        # This process takes the oldest queued run, as any worker would; when none is left, the
        # remaining runs are another worker's and it only watches.
        if not (working_here and services.worker.run_once()):
            time.sleep(POLL_S)
    failed = 0
    for row in rows:
        if row.status == RunStatus.SUCCEEDED and row.video_path:
            print(row.video_path, flush=True)
        else:
            failed += 1
            console.error(f"Run {row.id} {row.status}: {row.error or 'no error recorded'}")
    return 1 if failed else 0


def _decode(path: Path) -> PILImage.Image:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"--image {path}: cannot read the file ({exc.strerror or exc}).") from None
    try:
        return load_upload(data, path.name)
    except ImageRejected as exc:
        raise Refused(f"--image {path}: {exc.message}") from None


def _params(args: argparse.Namespace) -> dict:
    try:
        params: dict = parse_params(args.param)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    params.update(prompt=args.prompt, negative_prompt=args.negative_prompt)
    if args.seed is not None:
        params["seed"] = args.seed
    if args.memory_mode:
        params["memory_mode"] = args.memory_mode
    return params
