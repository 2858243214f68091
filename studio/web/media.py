"""HTTP routes that serve a run's files by run id, so custom players (the synced comparison) can
point <video> elements at them. Only files recorded for a run are served, never arbitrary paths;
Starlette's FileResponse answers range requests, which video seeking needs.

The routes are given where to find the services (the app entry passes what its lifespan put in the
app's state), so the HTTP layer knows nothing of Streamlit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:  # only the type: building the routes must not import the studio's services
    from studio.services import Services

ServicesSource = Callable[[], "Services"]

KINDS = {"video": ("video_path", "video/mp4"), "poster": ("poster_path", "image/jpeg"),
         "thumb": ("thumb_path", "image/jpeg")}
PREFIX = "/studio/media"
# Row ids are SQLite INTEGERs (signed 64-bit). A longer number in a URL names no run; passing it on
# would make the database driver raise OverflowError instead of answering "not found".
MAX_ID = 2**63 - 1


def parse_id(text: object) -> int | None:
    """A row id from outside text (a URL path or query parameter): ASCII digits only (str.isdigit
    also accepts '²' and other digits int() refuses), 1..MAX_ID; anything else is None."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 0 < text <= MAX_ID else None
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def run_file_url(run_id: int, kind: str = "video") -> str:
    return f"{PREFIX}/run/{run_id}/{kind}"


def sweep_video_url(sweep_id: int) -> str:
    return f"{PREFIX}/sweep/{sweep_id}/compare"


class _MediaFiles:
    def __init__(self, services: ServicesSource):
        self._services = services

    async def run_file(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            return PlainTextResponse("unknown file kind", status_code=404)
        column, media_type = KINDS[kind]
        run_id = parse_id(request.path_params["run_id"])
        if run_id is None:
            return PlainTextResponse("not found", status_code=404)
        # In the thread pool: the lookup reads the database, and the services may still be booting.
        run = await run_in_threadpool(lambda: self._services().history.get_run(run_id))
        return _file(getattr(run, column, None) if run else None, media_type)

    async def sweep_video(self, request: Request) -> Response:
        sweep_id = parse_id(request.path_params["sweep_id"])
        if sweep_id is None:
            return PlainTextResponse("not found", status_code=404)
        sweep = await run_in_threadpool(lambda: self._services().history.get_sweep(sweep_id))
        return _file(sweep.compare_video_path if sweep else None, "video/mp4")


def _file(path: str | None, media_type: str) -> Response:
    if not path or not Path(path).is_file():
        return PlainTextResponse("not found", status_code=404)
    # Files never change once written (a new run gets a new name), so browsers may cache them.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def media_routes(services: ServicesSource) -> list[Route]:
    """The routes, reading runs through `services()` (called per request, from a worker thread)."""
    files = _MediaFiles(services)
    return [
        Route(PREFIX + "/run/{run_id:int}/{kind}", files.run_file, methods=["GET", "HEAD"]),
        Route(PREFIX + "/sweep/{sweep_id:int}/compare", files.sweep_video, methods=["GET", "HEAD"]),
    ]
