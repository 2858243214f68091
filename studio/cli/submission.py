"""What `launch.py run` and `launch.py submit` share: reading the images and the generation flags,
checking everything before anything is queued, queuing, and waiting for the runs to finish.

Every refusal is a Refused, already worded for the terminal and naming the flag that caused it,
with the exit status to return: 2 for something the user gave, 1 for the machine (a full disk).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image as PILImage

from studio import submitting
from studio.cli.console import Console
from studio.db.engine import DatabaseBusy
from studio.engines.base import InputError
from studio.media.images import MAX_FILE_BYTES, ImageRejected, load_upload
from studio.services import Services
from studio.storage import DiskFull
from studio.submitting import EngineNotReady
from studio.views import RunView

# Parameters that have their own flag; an error about any other names its --param.
FLAGS = {"image": "--image", "engine": "--engine", "seed": "--seed", "prompt": "--prompt",
         "memory_mode": "--memory-mode", "negative_prompt": "--negative-prompt", "end_image": "--last-image",
         "extend": "--extend", "loras": "--lora", "lora_strength": "--lora", "speed": "--speed",
         "interpolate": "--interpolate", "upscale": "--upscale", "pingpong": "--pingpong"}


class Refused(Exception):
    """A reason to queue nothing, worded for the terminal; `status` is the exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class NotInstalled(Refused):
    """The engine's weights are not there: nothing is queued, as on the Generate page."""


def read_image(path: Path, flag: str = "--image") -> PILImage.Image:
    """The decoded image at --image PATH (or another flag's), through the same intake as an upload."""
    try:
        if path.exists() and not path.is_file():  # a folder, a device (/dev/zero), a pipe that would block
            raise Refused(f"{flag} {path}: not an image file (a folder, a device or a pipe).")
        with open(path, "rb") as file:  # bounded: a huge or endless file is refused, not read whole
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Refused(f"{flag} {path}: cannot read the file ({exc.strerror or exc}).") from None
    if len(data) > MAX_FILE_BYTES:
        raise Refused(f"{flag} {path}: larger than {MAX_FILE_BYTES // 2**20} MB, the most an image file may be.")
    try:
        return load_upload(data, path.name)
    except ImageRejected as exc:
        raise Refused(f"{flag} {path}: {exc.message}") from None


def read_end_image(args: argparse.Namespace) -> PILImage.Image | None:
    """The --last-image picture, or None without the flag."""
    path = getattr(args, "last_image", None)
    return read_image(Path(path).expanduser(), "--last-image") if path else None


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
    for name in ("interpolate", "upscale", "pingpong"):  # post-processing, after the run
        if getattr(args, name, None):
            params[name] = getattr(args, name)
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
        key = name.strip().replace("-", "_")
        if key in FLAGS:  # one way to give each: the flag's value would silently replace this one
            raise ValueError(f"--param {name.strip()}: {key} has its own flag; use {FLAGS[key]} instead.")
        params[key] = value.strip()
    return params


def input_error_text(exc: InputError) -> str:
    """The message for a refused parameter, naming the flag that sets it."""
    flag = FLAGS.get(exc.param)
    where = flag or f"--param {exc.param}"
    text = f"{where}: {exc.message}"
    if exc.suggestion is not None and flag is None:
        text += f" Try --param {exc.param}={exc.suggestion}."
    return text


def queue_runs(services: Services, engine: str, params: dict, images: list[tuple[PILImage.Image, str]], *,
               end_image: PILImage.Image | None = None, continues_id: int | None = None) -> list[int]:
    """Queue one run per image with the same settings, all or nothing (studio.submitting), with
    each refusal worded for the terminal: an engine whose weights are missing gets the Generate
    page's words and install hint, a bad parameter names its flag."""
    try:
        return submitting.queue_runs(services, engine, params, images, end_image=end_image, continues_id=continues_id)
    except EngineNotReady as exc:
        raise NotInstalled(f"{exc.detail}\nInstall: {exc.hint}" if exc.hint else exc.detail) from None
    except InputError as exc:
        raise Refused(input_error_text(exc)) from None
    except (DiskFull, DatabaseBusy) as exc:  # storing the inputs, or another program's write lock: nothing was queued
        raise Refused(str(exc), status=1) from None


def wait_for_results(services: Services, run_ids: list[int], console: Console, *, timeout: float,
                     grace: float) -> list[RunView] | None:
    """The runs' final rows, in the order given (None after `timeout` seconds; this process runs them
    when no other worker has within `grace`), then on through the post-processing each run asked for (--interpolate,
    --upscale, --pingpong): the last run of each chain, whose video is the result."""
    return submitting.wait_for_results(services, run_ids, timeout=timeout, grace=grace, on_note=console.note)
