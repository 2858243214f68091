"""Queueing runs from outside the Generate page, as every front end does it: the command line, the
Python API (studio.automation) and the HTTP API (studio.web.api).

`queue_runs` checks everything before anything is queued (all or nothing, as the page does): the
engine can run here (its weights are installed), each image gets the output size that keeps its
shape unless a side was given, and every request passes `validate()`. `wait_for` follows runs to
their end, running them in this process when no other worker has started them.

Errors stay typed (InputError naming the parameter, DiskFull, DatabaseBusy): each front end words
them its own way (a flag for the CLI, JSON for HTTP, the exception itself for Python callers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage

from studio import creator_defaults, sizing
from studio.engines.base import InputError
from studio.engines.keyframes import END_IMAGE
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStatus
from studio.storage import image_digest
from studio.views import RunView

if TYPE_CHECKING:
    from studio.services import Services

POLL_S = 0.25


class EngineNotReady(InputError):
    """The engine's weights are not installed here: nothing is queued. `hint` says how to get them."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__("engine", f"{message} Install: {hint}" if hint else message)
        self.detail = message
        self.hint = hint


def prepare(services: Services, engine: str, params: dict[str, Any], image_size: tuple[int, int]) -> dict[str, Any]:
    """The parameters to queue for one image: refused before anything is queued when the engine
    cannot run, with the creator's defaults (Settings) for what the request leaves out, and with the
    output size following the image when no width/height is given."""
    info = services.form_info(engine)  # an unknown engine is an InputError naming the known ones
    status = services.weights_status(engine)
    if not status.ready:
        raise EngineNotReady(status.detail, status.hint)
    return sizing.with_default_size(info, creator_defaults.fill(info, services.settings(), params), image_size)


def queue_runs(services: Services, engine: str, params: dict[str, Any],
               images: Sequence[tuple[PILImage.Image, str]], *, end_image: PILImage.Image | None = None,
               continues_id: int | None = None) -> list[int]:
    """Queue one run per image with the same settings (one seed for all, drawn once if none was
    given, as in a sweep), all or nothing. Each image gets its own default size, so every photo
    keeps its shape; a side given explicitly holds for all, the other follows each image. More than
    one image is grouped (its base parameters are the first image's)."""
    if not images:
        raise InputError("image", "Give at least one input image.")
    if end_image is not None:  # named by its digest, so the engine's check sees it (studio.engines.keyframes)
        params = {**params, END_IMAGE: image_digest(end_image)}
    first = prepare(services, engine, params, images[0][0].size)
    request = services.queue.validate(engine, first)
    requests = []
    for image, name in images:
        sized = prepare(services, engine, {**params, "seed": request.seed}, image.size)
        requests.append(SubmitRequest(engine=engine, params=sized, image=image, image_name=name,
                                      validated=services.queue.validate(engine, sized),
                                      end_image=end_image, continues_id=continues_id))
    if len(requests) == 1:
        return services.queue.submit_many(requests)
    group = {"name": f"batch of {len(requests)} images", "base_params": {"engine": engine, **request.stored_params()},
             "axes": []}  # no axis: the images are what differs, and Compare lays the runs out as a grid
    return services.queue.submit_many(requests, sweep=group)


def wait_for(services: Services, run_ids: Sequence[int], *, timeout: float, grace: float,
             on_note: Callable[[str], None] = lambda _text: None) -> list[RunView] | None:
    """The runs' final rows, in the order given, or None after `timeout` seconds (they stay queued).

    A running server or `launch.py worker` on the same data folder may run them; if none has
    started any of them within `grace` seconds, this process's worker takes the queue's oldest
    runs, as any worker would, until these are done (0: at once)."""
    deadline = time.monotonic() + timeout
    grace_until = time.monotonic() + grace
    working_here = False
    while True:
        rows = [services.history.get_run(run_id) for run_id in run_ids]
        if all(row is not None and row.status in RunStatus.FINISHED for row in rows):
            return rows
        if time.monotonic() > deadline:
            return None
        if not working_here and time.monotonic() >= grace_until and all(
                row is not None and row.status == RunStatus.QUEUED for row in rows):
            working_here = True
            if grace:
                on_note("No other worker has started these runs; running them in this process …")
        # When no queued run is left, the remaining ones are another worker's: only watch.
        if not (working_here and services.worker.run_once()):
            time.sleep(POLL_S)
