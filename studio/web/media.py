"""HTTP routes that serve a run's files by run id, so custom players (the synced comparison) can
point <video> elements at them. Only files recorded for a run are served, never arbitrary paths;
Starlette's FileResponse answers range requests, which video seeking needs."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

KINDS = {"video": ("video_path", "video/mp4"), "poster": ("poster_path", "image/jpeg"),
         "thumb": ("thumb_path", "image/jpeg")}
PREFIX = "/studio/media"


def run_file_url(run_id: int, kind: str = "video") -> str:
    return f"{PREFIX}/run/{run_id}/{kind}"


def sweep_video_url(sweep_id: int) -> str:
    return f"{PREFIX}/sweep/{sweep_id}/compare"


async def _run_file(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        return PlainTextResponse("unknown file kind", status_code=404)
    column, media_type = KINDS[kind]
    run = await run_in_threadpool(_services().history.get_run, request.path_params["run_id"])
    return _file(getattr(run, column, None) if run else None, media_type)


async def _sweep_video(request: Request) -> Response:
    sweep = await run_in_threadpool(_services().history.get_sweep, request.path_params["sweep_id"])
    return _file(sweep.compare_video_path if sweep else None, "video/mp4")


def _file(path: str | None, media_type: str) -> Response:
    if not path or not Path(path).is_file():
        return PlainTextResponse("not found", status_code=404)
    # Files never change once written (a new run gets a new name), so browsers may cache them.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def _services():
    from studio.ui.runtime import services

    return services()


def media_routes() -> list[Route]:
    return [
        Route(PREFIX + "/run/{run_id:int}/{kind}", _run_file, methods=["GET", "HEAD"]),
        Route(PREFIX + "/sweep/{sweep_id:int}/compare", _sweep_video, methods=["GET", "HEAD"]),
    ]
