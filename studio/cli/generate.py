"""`launch.py run`: generate one video without the UI, in this process, and print its path. The
run is queued and recorded in the history like one from the Generate page."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from studio import sizing
from studio.cli.console import Console
from studio.cli.logfile import start_log
from studio.cli.startup import open_services
from studio.engines.base import InputError
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStatus
from studio.media.images import ImageRejected, load_upload
from studio.services import Services
from studio.storage import DiskFull

# Parameters that have their own flag; an error about any other names its --param.
FLAGS = {"image": "--image", "engine": "--engine", "seed": "--seed", "prompt": "--prompt",
         "memory_mode": "--memory-mode", "negative_prompt": "--negative-prompt"}


def run(args: argparse.Namespace, console: Console) -> int:
    paths = start_log(console, args.command)
    image_path = Path(args.image).expanduser()
    try:
        data = image_path.read_bytes()
    except OSError as exc:
        console.error(f"Error: --image {image_path}: cannot read the file ({exc.strerror or exc}).")
        return 2
    try:
        params = parse_params(args.param)
    except ValueError as exc:
        console.error(f"Error: {exc}")
        return 2
    try:
        image = load_upload(data, image_path.name)
    except ImageRejected as exc:
        console.error(f"Error: --image: {exc.message}")
        return 2
    services = open_services(paths, console)
    if services is None:
        return 1
    try:
        engine = args.engine or services.registry.default_engine_id(services.settings())
        params.update(prompt=args.prompt, negative_prompt=args.negative_prompt)
        if args.seed is not None:
            params["seed"] = args.seed
        if args.memory_mode:
            params["memory_mode"] = args.memory_mode
        try:
            params = prepare(services, engine, params, image.size)
            run_id = services.queue.submit(SubmitRequest(engine=engine, params=params, image=image,
                                                         image_name=image_path.name))
        except NotInstalled as exc:
            console.error(f"Error: {exc}")
            return 2
        except InputError as exc:
            console.error(f"Error: {input_error_text(exc)}")
            return 2
        except DiskFull as exc:  # storing the input: nothing was queued
            console.error(f"Error: {exc}")
            return 1
        console.info(f"Run {run_id} queued on engine {engine}; generating …")
        services.worker.run_until_idle()
        finished = _wait_finished(services, run_id)
        if finished.status != RunStatus.SUCCEEDED:
            console.error(f"Run {run_id} {finished.status}: {finished.error or 'no error recorded'}")
            if finished.log_path:
                console.error(f"Run log: {finished.log_path}")
            return 1
        console.info(f"Run {run_id} succeeded in {_seconds(finished)}; seed {finished.seed}.")
        print(finished.video_path, flush=True)
        return 0
    finally:
        services.close()


class NotInstalled(Exception):
    """The engine's weights are not there: nothing is queued, as on the Generate page."""


def prepare(services: Services, engine: str, params: dict, image_size: tuple[int, int]) -> dict:
    """The parameters to queue for one image: refused before anything is queued when the engine
    cannot run (NotInstalled, with the Generate page's words and install hint), and with the
    output size following the image when --param width/height are not given (studio.sizing)."""
    info = services.registry.get(engine).info  # an unknown engine is an InputError naming --engine
    status = services.weights_status(engine)
    if not status.ready:
        raise NotInstalled(f"{status.detail}\nInstall: {status.hint}" if status.hint else status.detail)
    return sizing.with_default_size(info, params, image_size)


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


def _wait_finished(services, run_id: int):
    """The run's final row. Another worker on the same database may have claimed it; then wait."""
    while True:
        row = services.history.get_run(run_id)
        if row.status not in RunStatus.ACTIVE:
            return row
        services.worker.run_until_idle()
        time.sleep(0.5)


def _seconds(row) -> str:
    if row.started_at and row.finished_at:
        return f"{(row.finished_at - row.started_at).total_seconds():.1f} s"
    return "an unknown time"
