"""The HTTP JSON API on the studio's own server (described at /api/openapi.json, studio/web/api_schema.py):

    POST /api/runs                 multipart: `image` (+ `end_image`) + `params` (JSON) -> 201 {id, status, url}
    GET  /api/runs/{id}            status, progress and file URLs
    GET  /api/runs?q=…             search, newest first
    POST /api/runs/{id}/cancel     cancel a queued or running run

Runs are queued exactly as the CLI queues them (studio.submitting): checked whole before anything
is queued, recorded in the same history, run by the server's worker. Every error is JSON naming the
parameter and, where there is one, the nearest valid value. The password gate (auth.py) covers
these routes like every other path; a program may instead send a worker token as
'Authorization: Bearer TOKEN', checked here on every request (a revoked token is refused at once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import wraps
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from studio import submitting
from studio.engines.base import InputError
from studio.jobs.queue import DatabaseBusy
from studio.jobs.status import RunStatus
from studio.media.images import ImageRejected, load_upload
from studio.storage import DiskFull
from studio.views import RUN_STATUSES, RunQuery, RunView
from studio.web.api_schema import openapi_document
from studio.web import json_params
from studio.web.auth import bearer_token
from studio.web.bodies import BodyTooLarge, limited
from studio.web.media import parse_id, run_file_url

if TYPE_CHECKING:
    from studio.services import Services

ServicesSource = Callable[[], "Services"]
PREFIX = "/api"
MAX_BODY_BYTES = 200 * 1024 * 1024  # the same bound as an upload on the pages (.streamlit/config.toml)
MAX_PARAMS_BYTES = 64 * 1024
MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 200
log = logging.getLogger("studio.api")


class ApiError(Exception):
    """An answer other than success, with the JSON error body's fields."""

    def __init__(self, status: int, message: str, param: str | None = None, suggestion: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.suggestion = status, message, param, suggestion
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {"message": self.message, "param": self.param}
        if self.suggestion is not None:
            error["suggestion"] = self.suggestion
        return JSONResponse({"error": error}, status_code=self.status, headers=self.headers)


Handler = Callable[[Request], Awaitable[Response]]


def _answers_in_json(handler: Handler, services: ServicesSource) -> Handler:
    """Every outcome is JSON: an ApiError as itself, anything unforeseen as a 500 whose details go
    to the server log, never to the client. A request that brings a token (instead of the session
    the password gate checks) is refused unless it is a live worker token."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            token = bearer_token(request)
            if token is not None and not await run_in_threadpool(lambda: services().media_hub().token_holder(token)):
                raise ApiError(401, "The token is not a live worker token (it may have been revoked).")
            return await handler(request)
        except ApiError as error:
            return error.response()
        except Exception:
            log.exception("the API request %s %s failed", request.method, request.url.path)
            return ApiError(500, "The studio could not answer this request; the server log has the details.").response()

    return wrapped


class _Api:
    def __init__(self, services: ServicesSource):
        self._services_source = services

    def _services(self) -> Services:
        try:
            return self._services_source()
        except Exception:  # the build failed; the pages show the same error, the log has its details
            raise ApiError(503, "The studio's services are not available; the server log says why.") from None

    async def create_run(self, request: Request) -> Response:
        image, image_name, end, params = await _read_submission(request)
        return await run_in_threadpool(self._queue, image, image_name, end, params)

    def _queue(self, data: bytes, image_name: str, end: tuple[bytes, str] | None, params: dict[str, Any]) -> Response:
        services = self._services()
        image = _decoded(data, image_name, "image")
        end_image = _decoded(*end, "end_image") if end is not None else None
        engine = params.pop("engine", None) or services.default_engine_id()
        if not isinstance(engine, str):
            raise ApiError(400, f"`engine` must be an engine id (a string); got {engine!r}.", "engine")
        try:
            json_params.check_types(services.form_info(engine), params)
            [run_id] = submitting.queue_runs(services, engine, params, [(image, image_name)], end_image=end_image)
        except InputError as exc:
            raise ApiError(400, exc.message, exc.param, exc.suggestion) from None
        except DatabaseBusy as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": "5"}) from None
        except DiskFull as exc:
            raise ApiError(507, str(exc)) from None
        return JSONResponse({"id": run_id, "status": RunStatus.QUEUED.value, "url": f"{PREFIX}/runs/{run_id}"},
                            status_code=201)

    async def get_run(self, request: Request) -> Response:
        run_id = _run_id(request)
        run = await run_in_threadpool(lambda: self._services().history.get_run(run_id))
        if run is None:
            raise ApiError(404, f"There is no run {run_id}.", "run_id")
        return JSONResponse(run_json(run))

    async def list_runs(self, request: Request) -> Response:
        query = _run_query(request)
        page = await run_in_threadpool(lambda: self._services().history.list_runs(query))
        # The gallery shows its last page for one past the end; a client reading pages until one is
        # empty must get an empty one there, or it never stops.
        past_the_end = page.page < query.page
        return JSONResponse({"runs": [] if past_the_end else [run_json(run) for run in page.runs],
                             "total": page.total, "more": page.more, "page": query.page if past_the_end else page.page,
                             "pages": page.pages, "page_size": page.page_size})

    async def cancel_run(self, request: Request) -> Response:
        run_id = _run_id(request)

        def cancel() -> Response:
            services = self._services()
            run = services.history.get_run(run_id)
            if run is None:
                raise ApiError(404, f"There is no run {run_id}.", "run_id")
            state = services.queue.cancel(run_id)
            if state is None:
                raise ApiError(409, f"Run {run_id} has already finished ({run.status}); there is nothing to cancel.",
                               "run_id")
            return JSONResponse({"id": run_id, "status": str(state)})

        return await run_in_threadpool(cancel)

    async def openapi(self, _request: Request) -> Response:
        return JSONResponse(openapi_document())


def run_json(run: RunView) -> dict[str, Any]:
    """A run as the API shows it (the Run schema in api_schema.py)."""
    if run.total_steps:
        fraction = min(1.0, run.step / run.total_steps)
    else:
        fraction = 1.0 if run.status == RunStatus.SUCCEEDED else 0.0
    paths = {"video": run.video_path, "poster": run.poster_path, "thumb": run.thumb_path}
    return {
        "id": run.id,
        "url": f"{PREFIX}/runs/{run.id}",
        "status": run.status,
        "engine": run.engine,
        "prompt": run.prompt,
        "seed": run.seed,
        "params": run.params,
        "progress": {"step": run.step, "total_steps": run.total_steps, "fraction": fraction, "stage": run.stage},
        "files": {kind: run_file_url(run.id, kind) if path else None for kind, path in paths.items()},
        "error": run.error,
        "parent_id": run.parent_id,
        "group_id": run.sweep_id,
        "queued_at": _time(run.queued_at),
        "started_at": _time(run.started_at),
        "finished_at": _time(run.finished_at),
        "timings": {"load_seconds": run.load_seconds, "infer_seconds": run.infer_seconds,
                    "encode_seconds": run.encode_seconds},
        "in_trash": run.deleted_at is not None,
    }


def _time(moment: datetime | None) -> str | None:
    # The history keeps naive UTC; the API says so.
    return moment.replace(tzinfo=timezone.utc).isoformat() if moment else None


def _decoded(data: bytes, name: str, field: str):
    try:
        return load_upload(data, name)
    except ImageRejected as exc:
        raise ApiError(400, exc.message, field) from None


async def _read_submission(request: Request) -> tuple[bytes, str, tuple[bytes, str] | None, dict[str, Any]]:
    """The uploaded image (bytes and file name), the end image if one came, and the parameters,
    read with bounds."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "Send multipart/form-data with an `image` file and a `params` JSON field.", "image")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"The upload is larger than {MAX_BODY_BYTES // 2**20} MB.", "image")
    bounded = Request(request.scope, limited(request.receive, MAX_BODY_BYTES))
    try:
        form = await bounded.form(max_files=2, max_fields=4, max_part_size=MAX_PARAMS_BYTES)
    except BodyTooLarge:
        raise ApiError(413, f"The upload is larger than {MAX_BODY_BYTES // 2**20} MB.", "image") from None
    except (MultiPartException, HTTPException) as exc:
        raise ApiError(400, f"The form could not be read ({getattr(exc, 'message', None) or getattr(exc, 'detail', exc)}).") from None
    try:
        for field in ("image", "end_image", "params"):
            if len(form.getlist(field)) > 1:  # which one was meant is not ours to guess
                raise ApiError(400, f"Send one `{field}` field; {len(form.getlist(field))} were sent.", field)
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "Add the input image as a file field named `image`.", "image")
        data = await upload.read()
        name = (upload.filename or "image")[:255]
        end_upload = form.get("end_image")
        if end_upload is not None and not isinstance(end_upload, UploadFile):
            raise ApiError(400, "Add the end image as a file field named `end_image`.", "end_image")
        end = (await end_upload.read(), (end_upload.filename or "end image")[:255]) if end_upload else None
        raw = form.get("params") or "{}"
        if not isinstance(raw, str):
            raise ApiError(400, "`params` must be a JSON object in a text field, not a file.", "params")
    finally:
        await form.close()
    try:
        params = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"`params` is not valid JSON ({exc}).", "params") from None
    except RecursionError:  # e.g. 2000 nested brackets: the parser gives up before the stack does
        raise ApiError(400, "`params` is nested too deeply; it must be one flat JSON object.", "params") from None
    try:  # JSON may spell a lone surrogate ("\ud800"), which no database or reply can hold
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "`params` holds text that is not valid Unicode (a lone surrogate such as \\ud800).",
                       "params") from None
    if not isinstance(params, dict):
        raise ApiError(400, "`params` must be a JSON object, e.g. {\"prompt\": \"a slow push-in\", \"frames\": 48}.",
                       "params")
    return data, name, end, params


def _run_id(request: Request) -> int:
    run_id = parse_id(str(request.path_params["run_id"]))
    if run_id is None:
        raise ApiError(404, "There is no such run.", "run_id")
    return run_id


def _run_query(request: Request) -> RunQuery:
    args = request.query_params
    text = args.get("q", "")
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(400, f"`q` is longer than {MAX_QUERY_CHARS} characters.", "q")
    status = args.get("status")
    if status is not None and status not in RUN_STATUSES:
        raise ApiError(400, f"`status` must be one of {', '.join(RUN_STATUSES)}; got {status!r}.", "status")
    page = _positive(args.get("page"), "page", 1, None)
    page_size = _positive(args.get("page_size"), "page_size", 24, MAX_PAGE_SIZE)
    engine = args.get("engine")
    return RunQuery(text=text, statuses=(status,) if status else (), engines=(engine,) if engine else (),
                    page=page, page_size=page_size)


def _positive(text: str | None, name: str, default: int, maximum: int | None) -> int:
    if text is None:
        return default
    value = parse_id(text)
    if value is None:
        raise ApiError(400, f"`{name}` must be a whole number of at least 1; got {text!r}.", name, default)
    if maximum is not None and value > maximum:
        raise ApiError(400, f"`{name}` must be at most {maximum}; got {value}.", name, maximum)
    return value


def api_routes(services: ServicesSource) -> list[Route]:
    """The API's routes, reading the studio through `services()` (called per request)."""
    api = _Api(services)
    routes = [("/runs", api.create_run, "POST"), ("/runs", api.list_runs, "GET"), ("/runs/{run_id}", api.get_run, "GET"),
              ("/runs/{run_id}/cancel", api.cancel_run, "POST"), ("/openapi.json", api.openapi, "GET")]
    answered = [Route(PREFIX + path, _answers_in_json(handler, services), methods=[method])
                for path, handler, method in routes]
    # Last: any other path under the API's prefix (or another method) is answered in JSON as well,
    # not with the pages' HTML and a 200 (the pages' catch-all) or Starlette's plain-text 405.
    elsewhere = _answers_in_json(_no_such_endpoint(answered), services)
    return [*answered, *(Route(path, elsewhere, methods=list(_ALL_METHODS)) for path in (PREFIX, PREFIX + "/{rest:path}"))]


_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _no_such_endpoint(routes: list[Route]) -> Handler:
    async def answer(request: Request) -> Response:
        allowed = sorted({method for route in routes if route.matches(request.scope)[0] == Match.PARTIAL
                          for method in route.methods or ()})
        if allowed:
            raise ApiError(405, f"{request.url.path} takes {', '.join(allowed)}, not {request.method}.",
                           headers={"Allow": ", ".join(allowed)})
        path = request.url.path
        if path.endswith("/") and path.rstrip("/") != PREFIX:
            raise ApiError(404, f"There is no {path} in the API; did you mean {path.rstrip('/')} (no slash at the end)?")
        raise ApiError(404, f"There is no {path} in the API; {PREFIX}/openapi.json lists what there is.")

    return answer
