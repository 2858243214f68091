"""The Python API: `from studio import generate_video, submit`.

    from studio import generate_video
    run = generate_video("photo.jpg", "a slow push-in", engine="motion", frames=48)
    print(run.id, run.video_path, run.seed, run.timings)

Runs made here go into the same history as the UI's and the CLI's (the data folder of
STUDIO_DATA_DIR, or `data_dir=`), checked by the same `validate()` before anything is queued, so a
bad parameter raises InputError naming it and queues nothing. `generate_video` blocks until the run
has finished, running it in this process unless a server or worker on the same history takes it
first; `submit` only queues and returns the run ids.

Each call opens the studio and closes it again; a script making many videos can hold one `Studio`
open instead (`with Studio() as studio: studio.generate_video(...)`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from PIL import Image as PILImage

from studio import submitting
from studio.config import Paths
from studio.engines.base import InputError
from studio.jobs.status import RunStatus
from studio.media.images import ImageRejected, load_upload
from studio.services import Services, build_services
from studio.views import RunView

ImageInput = Union[str, Path, bytes, PILImage.Image]
DEFAULT_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class FinishedRun:
    """A run that has ended, as `generate_video` returns it."""

    id: int
    status: str
    engine: str
    video_path: Path | None
    seed: int | None
    timings: Mapping[str, float | None]  # load, infer and encode seconds, and the total
    error: str | None

    @classmethod
    def from_view(cls, run: RunView) -> FinishedRun:
        total = (run.finished_at - run.started_at).total_seconds() if run.started_at and run.finished_at else None
        return cls(id=run.id, status=run.status, engine=run.engine,
                   video_path=Path(run.video_path) if run.video_path else None, seed=run.seed,
                   timings={"load_seconds": run.load_seconds, "infer_seconds": run.infer_seconds,
                            "encode_seconds": run.encode_seconds, "total_seconds": total},
                   error=run.error)


class RunFailed(RuntimeError):
    """`generate_video`'s run ended without a video (failed or canceled); `run` says how."""

    def __init__(self, run: FinishedRun):
        super().__init__(f"Run {run.id} {run.status}: {run.error or 'no error recorded'}")
        self.run = run


class Studio:
    """The studio's history and worker, opened once for several calls."""

    def __init__(self, data_dir: str | Path | None = None):
        paths = Paths.from_env()
        if data_dir is not None:
            folder = Path(data_dir).expanduser().resolve()
            paths = Paths.from_env({**os.environ, "STUDIO_DATA_DIR": str(folder)})
        self._services: Services = build_services(paths)

    def __enter__(self) -> Studio:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._services.close()

    def submit(self, images: ImageInput | Sequence[ImageInput], prompt: str = "", engine: str | None = None, *,
               last_image: ImageInput | None = None, **params: Any) -> list[int]:
        """Queue one run per image with the same settings (several images form one group) and
        return their ids at once; `last_image` pins the end frame where the engine can. Everything
        is checked first: nothing is queued on an error."""
        batch = list(images) if isinstance(images, (list, tuple)) else [images]
        decoded = [_decode(image) for image in batch]
        end = _decode(last_image)[0] if last_image is not None else None
        engine_id = engine or self._services.default_engine_id()
        return submitting.queue_runs(self._services, engine_id, {**params, "prompt": prompt}, decoded, end_image=end)

    def generate_video(self, image: ImageInput, prompt: str = "", engine: str | None = None, *,
                       last_image: ImageInput | None = None, timeout: float = DEFAULT_TIMEOUT_S,
                       **params: Any) -> FinishedRun:
        """Make one video and return the finished run; RunFailed when it ends without one,
        TimeoutError after `timeout` seconds (the run stays queued)."""
        [run_id] = self.submit(image, prompt, engine, last_image=last_image, **params)
        rows = submitting.wait_for(self._services, [run_id], timeout=timeout, grace=0)
        if rows is None:
            raise TimeoutError(f"Run {run_id} had not finished after {timeout:.0f} s; it stays queued.")
        finished = FinishedRun.from_view(rows[0])
        if finished.status != RunStatus.SUCCEEDED:
            raise RunFailed(finished)
        return finished


def generate_video(image: ImageInput, prompt: str = "", engine: str | None = None, *,
                   last_image: ImageInput | None = None, data_dir: str | Path | None = None,
                   timeout: float = DEFAULT_TIMEOUT_S, **params: Any) -> FinishedRun:
    """Make one video from `image` (a path, bytes or a PIL image) and `prompt`; blocks until done.
    `engine` defaults to the studio's default engine; `last_image` pins the end frame where the
    engine can; other keyword arguments are its parameters (frames=48, seed=7, …)."""
    with Studio(data_dir) as studio:
        return studio.generate_video(image, prompt, engine, last_image=last_image, timeout=timeout, **params)


def submit(images: ImageInput | Sequence[ImageInput], prompt: str = "", engine: str | None = None, *,
           last_image: ImageInput | None = None, data_dir: str | Path | None = None, **params: Any) -> list[int]:
    """Queue one run per image and return the run ids without waiting; a server or
    `launch.py worker` on the same history runs them."""
    with Studio(data_dir) as studio:
        return studio.submit(images, prompt, engine, last_image=last_image, **params)


def _decode(image: ImageInput) -> tuple[PILImage.Image, str]:
    """An image through the same intake as an upload (orientation, colour, size limit), and its name."""
    if isinstance(image, PILImage.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data, name = buffer.getvalue(), "image.png"
    elif isinstance(image, bytes):
        data, name = image, "image"
    else:
        path = Path(image).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError("image", f"Cannot read the image {path} ({exc.strerror or exc}).") from None
        name = path.name
    try:
        return load_upload(data, name), name
    except ImageRejected as exc:
        raise InputError("image", exc.message) from None
