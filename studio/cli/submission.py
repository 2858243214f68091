"""What `launch.py run` and `launch.py submit` share: reading the images and the generation flags,
checking everything before anything is queued, queuing, and waiting for the runs to finish.

Every refusal is a Refused, already worded for the terminal and naming the flag that caused it,
with the exit status to return: 2 for something the user gave, 1 for the machine (a full disk).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image as PILImage

from studio import sizing
from studio.cli.console import Console
from studio.db.engine import DatabaseBusy
from studio.db.models import Run
from studio.engines.base import InputError
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStatus
from studio.media.images import ImageRejected, load_upload
from studio.services import Services
from studio.storage import DiskFull

# Parameters that have their own flag; an error about any other names its --param.
FLAGS = {"image": "--image", "engine": "--engine", "seed": "--seed", "prompt": "--prompt",
         "memory_mode": "--memory-mode", "negative_prompt": "--negative-prompt", "loras": "--lora",
         "lora_strength": "--lora", "speed": "--speed"}
POLL_S = 0.25


class Refused(Exception):
    """A reason to queue nothing, worded for the terminal; `status` is the exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class NotInstalled(Refused):
    """The engine's weights are not there: nothing is queued, as on the Generate page."""


def read_image(path: Path) -> PILImage.Image:
    """The decoded image at --image PATH, through the same intake as an upload."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"--image {path}: cannot read the file ({exc.strerror or exc}).") from None
    try:
        return load_upload(data, path.name)
    except ImageRejected as exc:
        raise Refused(f"--image {path}: {exc.message}") from None


def request_params(args: argparse.Namespace) -> dict:
    """The engine parameters the flags ask for: each --param NAME=VALUE, then the dedicated flags."""
    try:
        params: dict = parse_params(args.param)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    params.update(prompt=args.prompt, negative_prompt=args.negative_prompt)
    if args.seed is not None:
        params["seed"] = args.seed
    if args.memory_mode:
        params["memory_mode"] = args.memory_mode
    if args.lora:
        params["loras"] = [parse_lora(text) for text in args.lora]
    if args.speed:
        params["speed"] = args.speed
    return params


def parse_lora(text: str) -> dict:
    """--lora PATH_OR_NAME[:STRENGTH] -> a LoRA entry; a path that exists here is made absolute."""
    reference, sep, strength = text.rpartition(":")
    if not sep or not reference or not _is_number(strength):
        reference, strength = text, "1"  # no strength (or a ':' inside the path)
    path = Path(reference).expanduser()
    if path.is_file():
        reference = str(path.resolve())
    return {"name": reference, "strength": float(strength)}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r} is not NAME=VALUE, e.g. --param frames=24.")
        params[name.strip().replace("-", "_")] = value.strip()
    return params


def input_error_text(exc: InputError) -> str:
    """The message for a refused parameter, naming the flag that sets it."""
    flag = FLAGS.get(exc.param)
    where = flag or f"--param {exc.param}"
    text = f"{where}: {exc.message}"
    if exc.suggestion is not None and flag is None:
        text += f" Try --param {exc.param}={exc.suggestion}."
    return text


def prepare(services: Services, engine: str, params: dict, image_size: tuple[int, int]) -> dict:
    """The parameters to queue for one image: refused before anything is queued when the engine
    cannot run (NotInstalled, with the Generate page's words and install hint), and with the
    output size following the image when --param width/height are not given (studio.sizing)."""
    info = services.registry.get(engine).info  # an unknown engine is an InputError naming --engine
    status = services.weights_status(engine)
    if not status.ready:
        raise NotInstalled(f"{status.detail}\nInstall: {status.hint}" if status.hint else status.detail)
    return sizing.with_default_size(info, params, image_size)


def queue_runs(services: Services, engine: str, params: dict, images: list[tuple[PILImage.Image, str]]) -> list[int]:
    """Queue one run per image with the same settings (one seed for all, drawn once if none was
    given, as in a sweep), all or nothing. Each image gets its own default size, so every photo
    keeps its shape; a side given with --param holds for all, the other follows each image. More
    than one image is grouped (its base parameters are the first image's)."""
    try:
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
    except InputError as exc:
        raise Refused(input_error_text(exc)) from None
    except (DiskFull, DatabaseBusy) as exc:  # storing the inputs, or another program's write lock: nothing was queued
        raise Refused(str(exc), status=1) from None


def wait_until_finished(services: Services, run_ids: list[int], console: Console, *, timeout: float,
                        grace: float) -> list[Run] | None:
    """The runs' final rows, in the order given, or None after `timeout` seconds (they stay queued).

    A running server or `launch.py worker` on the same data folder may run them; if none has
    started any of them within `grace` seconds, this process's worker takes the queue's oldest
    runs, as any worker would, until these are done (0: at once)."""
    deadline = time.monotonic() + timeout
    grace_until = time.monotonic() + grace
    working_here = False
    while True:
        rows = [services.history.get_run(run_id) for run_id in run_ids]
        if all(row.status in RunStatus.FINISHED for row in rows):
            return rows
        if time.monotonic() > deadline:
            return None
        if not working_here and time.monotonic() >= grace_until and all(r.status == RunStatus.QUEUED for r in rows):
            working_here = True
            if grace:
                console.note("No other worker has started these runs; running them in this process …")
        # When no queued run is left, the remaining ones are another worker's: only watch.
        if not (working_here and services.worker.run_once()):
            time.sleep(POLL_S)
