"""The worker API: how a worker on another host, with no folder shared with the server, gets a
run's input and sends back the run's files (studio.jobs.hub decides everything about the files).

Authenticated by a worker token only (`launch.py worker-token create NAME`), never by the UI's
session cookie, so the password gate lets these paths through and each route checks the token
itself on every request (a revoked token is refused at once). Each request also names the worker
and the attempt: a worker id is bound to the token it said hello with (403 for any other token, and
for an id that never said hello), and the hub refuses the request unless that attempt still holds
the run's lease (409). A file is size-bounded (413) and checksummed (422 on a mismatch; the worker
sends it again)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from studio.jobs.wire import ATTEMPT_HEADER, IMAGE_ROLES, PREFIX, SHA256_HEADER, SHA256_PATTERN, WORKER_HEADER, hello_url
from studio.web.media import parse_id

if TYPE_CHECKING:  # only the types: building the routes must not import the studio's services
    from studio.jobs.hub import MediaHub
    from studio.jobs.store import Lease

_WORKER_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, as make_worker_id writes them

TOKEN_NEEDED = "a live worker token is needed (python launch.py worker-token create NAME on the server)"
# One answer whether the id is another token's, the server's own worker's or nobody's: which it is
# is no business of the asker's.
NOT_YOURS = ("this token does not speak for that worker id: a worker says hello with its token when it starts "
             "(launch.py worker --server URL), and only that token may act for it")

HubSource = Callable[[], "MediaHub"]


def _refusal(code: int, reason: str, **extra) -> JSONResponse:
    return JSONResponse({"error": reason, **extra}, status_code=code, headers={"cache-control": "no-store"})


class _WorkerApi:
    def __init__(self, hub: HubSource):
        self._hub = hub

    async def _token_holder(self, request: Request) -> tuple[MediaHub, str | None]:
        """The hub, and the name of the live token the request carries (None: no such token). The
        database is asked every time, so that a revoked token is refused at once."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        hub = await run_in_threadpool(self._hub)
        if scheme.lower() != "bearer":
            return hub, None
        return hub, await run_in_threadpool(hub.token_holder, token.strip())

    async def _authorise(self, request: Request) -> tuple[MediaHub, Lease] | Response:
        """The hub and the lease the request names, or the response refusing it."""
        hub, name = await self._token_holder(request)
        if not name:
            return _refusal(401, TOKEN_NEEDED)
        run_id = parse_id(request.path_params.get("run_id"))
        worker_id = request.headers.get(WORKER_HEADER, "")
        attempt = parse_id(request.headers.get(ATTEMPT_HEADER, ""))
        if run_id is None or attempt is None or not _WORKER_ID.match(worker_id):
            return _refusal(400, f"name the run, the worker ({WORKER_HEADER}) and the attempt ({ATTEMPT_HEADER})")
        if not await run_in_threadpool(hub.may_act_for, worker_id, name):
            return _refusal(403, NOT_YOURS)
        from studio.jobs.store import Lease

        return hub, Lease(run_id, worker_id, attempt, 0)

    async def hello(self, request: Request) -> Response:
        """A worker's first call: is the server there, and is its token live? A worker that names
        itself is bound to the token from now on (it says hello before its id is shown anywhere);
        the worker routes then take only that token for it."""
        hub, name = await self._token_holder(request)
        if not name:
            return _refusal(401, TOKEN_NEEDED)
        worker_id = request.headers.get(WORKER_HEADER)
        if worker_id is not None:
            if not _WORKER_ID.match(worker_id):
                return _refusal(400, f"{WORKER_HEADER} must be a worker id (printable ASCII, at most 128 characters)")
            if not await run_in_threadpool(hub.hello, worker_id, name):
                return _refusal(403, NOT_YOURS)
        return JSONResponse({"token": name}, headers={"cache-control": "no-store"})

    async def run_input(self, request: Request) -> Response:
        authorised = await self._authorise(request)
        if isinstance(authorised, Response):
            return authorised
        hub, lease = authorised
        role = request.path_params["role"]
        if role not in IMAGE_ROLES:
            return _refusal(404, f"no image {role!r}; the images are {', '.join(IMAGE_ROLES)}")
        from studio.media.digest import file_sha256
        from studio.jobs.store import LeaseLost

        try:
            path = await run_in_threadpool(hub.input_of, lease, role)
        except LeaseLost as lost:
            return _lost(lost)
        except FileNotFoundError as missing:
            return _refusal(404, str(missing))
        digest = await run_in_threadpool(file_sha256, path)
        return FileResponse(path, media_type="application/octet-stream",
                            headers={SHA256_HEADER: digest, "cache-control": "no-store"})

    async def run_file(self, request: Request) -> Response:
        from studio.jobs.hub import FILE_KINDS, ChecksumMismatch, TooLarge
        from studio.jobs.store import LeaseLost
        from studio.storage import DiskFull

        authorised = await self._authorise(request)
        if isinstance(authorised, Response):
            return authorised
        hub, lease = authorised
        kind = request.path_params["kind"]
        if kind not in FILE_KINDS:
            return _refusal(404, f"no file kind {kind!r}; the kinds are {', '.join(FILE_KINDS)}")
        expected = request.headers.get(SHA256_HEADER, "").lower()
        length = request.headers.get("content-length", "")
        if not SHA256_PATTERN.fullmatch(expected) or not (length.isascii() and length.isdigit()):
            return _refusal(400, f"send the file's sha256 ({SHA256_HEADER}) and its Content-Length")
        try:
            upload = await run_in_threadpool(hub.start_upload, lease, kind, int(length))
        except LeaseLost as lost:
            return _lost(lost)
        except TooLarge as large:
            return _refusal(413, str(large))
        except DiskFull as full:  # 507 Insufficient Storage: the worker's run fails saying so
            return _refusal(507, str(full))
        try:
            async for chunk in request.stream():
                if chunk:
                    await run_in_threadpool(upload.write, chunk)
            if upload.size != int(length):
                raise ChecksumMismatch(f"{upload.size} bytes arrived of the {length} announced")
            path = await run_in_threadpool(upload.commit, expected)
        except BaseException as error:
            await run_in_threadpool(upload.abort)
            if isinstance(error, LeaseLost):
                return _lost(error)
            if isinstance(error, TooLarge):
                return _refusal(413, str(error))
            if isinstance(error, ChecksumMismatch):
                return _refusal(422, f"checksum mismatch: {error}; send the file again")
            raise
        return JSONResponse({"path": str(path), "bytes": upload.size}, status_code=201)


def _lost(lost) -> JSONResponse:
    """409: this attempt does not hold the run; the run's status and attempt now, so the worker can
    say so. Never the holding worker's id: it is bound to its own token (a 403 for any other), and
    where each worker is stays its own business."""
    return _refusal(409, str(lost), status=lost.status, attempt=lost.holder_attempt)


def worker_routes(hub: HubSource) -> list[Route]:
    """The routes, reaching the hub through `hub()` (called per request, from a worker thread)."""
    api = _WorkerApi(hub)
    return [
        Route(hello_url(), api.hello, methods=["GET"]),
        Route(PREFIX + "/run/{run_id:int}/{role}", api.run_input, methods=["GET"]),
        Route(PREFIX + "/run/{run_id:int}/file/{kind}", api.run_file, methods=["PUT"]),
    ]
