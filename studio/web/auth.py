"""Password gate for a studio that listens beyond this machine (`launch.py --host`).

Design: `python launch.py set-password` stores a salted scrypt hash in the settings table (or the
STUDIO_PASSWORD environment variable holds the password). launch.py refuses a non-loopback host
without one and hands the hash to the server process in STUDIO_PASSWORD_HASH. When that variable
is set, every HTTP and websocket request needs a session cookie, which a small login form at
LOGIN_PATH sets: HttpOnly, SameSite=Strict, naming a session kept on the server (sessions.py), so
logging out ends it. Wrong passwords are throttled per client (throttle.py), and scrypt runs in a
worker thread so that a burst of logins never holds up the pages. Loopback binds get no gate:
launch.py does not set the variable for them.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote, urlsplit

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from studio.web.bodies import BodyTooLarge, limited
from studio.web.login_page import login_page
# The password names are the gate's too: its callers and the launcher's commands read them here.
from studio.web.passwords import (  # noqa: F401
    MIN_PASSWORD_LENGTH, PASSWORD_ENV, PASSWORD_HASH_ENV, SETTING_KEY, hash_password, is_loopback,
    save_password_hash, stored_password_hash, verify_password,
)
from studio.web.sessions import SESSION_SECONDS, SessionStore  # noqa: F401 (SESSION_SECONDS: read here)
from studio.web.throttle import LoginThrottle
from studio.jobs.wire import is_worker_api_path

API_PREFIX = "/api/"
API_LOGIN_NEEDED = ("This studio needs a password: send a worker token (python launch.py worker-token create NAME) "
                    "as 'Authorization: Bearer TOKEN', or log in with a browser first.")
LOGIN_PATH = "/_studio/login"
LOGOUT_PATH = "/_studio/logout"
COOKIE_NAME = "studio_session"
# Paths answered without a session: the login form itself and the launcher's readiness probe.
OPEN_PATHS = frozenset({LOGIN_PATH, "/_stcore/health"})
FAILED_LOGIN_DELAY_S = 1.0  # on top of the throttle: even the free tries cost a second each
MAX_FORM_BYTES = 16 * 1024  # a password and a path; anything bigger is not a login
MAX_PARALLEL_HASHES = 2  # scrypt takes ~16 MB and a core; a login flood queues instead


def safe_next(target: str) -> str:
    """Only a path on this studio: a login link must not be able to send the user elsewhere.
    Browsers read a backslash as a slash and drop tabs and newlines, so `/\\host` and `/\\t/host`
    would leave the origin; anything but a plain absolute path becomes "/"."""
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


# ----- the middleware ---------------------------------------------------------------------------

class PasswordGate:
    """Pure ASGI middleware (HTTP and websocket alike; Starlette's BaseHTTPMiddleware sees no
    websockets). Requests carrying a live session cookie pass through untouched."""

    def __init__(self, app, *, password_hash: str, sessions: SessionStore | None = None,
                 throttle: LoginThrottle | None = None):
        self.app = app
        self.password_hash = password_hash
        # `is None`, not `or`: both define __len__, so an empty one would read as missing.
        self.sessions = SessionStore() if sessions is None else sessions
        self.throttle = LoginThrottle() if throttle is None else throttle
        self._hashing: asyncio.Semaphore | None = None  # made on first use, inside the server's loop

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path == LOGIN_PATH:
            response = await self._login(Request(scope, limited(receive, MAX_FORM_BYTES)))
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and path == LOGOUT_PATH:
            self.sessions.revoke(HTTPConnection(scope).cookies.get(COOKIE_NAME))
            response = RedirectResponse(LOGIN_PATH, status_code=303)
            response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
            await response(scope, receive, send)
            return
        # The worker API checks a worker token itself on every request (studio.web.worker_api), and
        # so does the JSON API for a request that brings one instead of a session (studio.web.api).
        if (path in OPEN_PATHS or is_worker_api_path(path) or self._has_session(scope)
                or (path.startswith(API_PREFIX) and bearer_token(HTTPConnection(scope)) is not None)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope)
        if path.startswith(API_PREFIX):  # a program: the API's own error shape, no login page
            await JSONResponse({"error": {"message": API_LOGIN_NEEDED, "param": None}}, status_code=401)(
                scope, receive, send)
            return
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            await RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)(scope, receive, send)
            return
        await PlainTextResponse("Log in first: open the studio's address in a browser.", status_code=401)(
            scope, receive, send)

    def _has_session(self, scope) -> bool:
        return self.sessions.valid(HTTPConnection(scope).cookies.get(COOKIE_NAME), self.password_hash)

    async def _login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next", "/"))
        if request.method != "POST":
            return _page(target, "", 200)
        client = request.client.host if request.client else ""
        wait = self.throttle.begin_attempt(client)
        if wait:
            return _page(target, f"Too many wrong passwords. Try again in {wait} s.", 429,
                         {"retry-after": str(wait)})
        try:
            form = await request.form(max_files=0, max_fields=8)
        except (BodyTooLarge, MultiPartException, HTTPException):  # too big or malformed: not a login
            self.throttle.failed(client)
            return PlainTextResponse("Not a login form.", status_code=400)
        target = safe_next(_text(form.get("next")) or target)
        if await self._verify(_text(form.get("password"))):
            self.throttle.succeeded(client)
            response = RedirectResponse(target, status_code=303)
            # SameSite=Strict: no other site can make the browser send the cookie along.
            response.set_cookie(COOKIE_NAME, self.sessions.issue(self.password_hash),
                                max_age=self.sessions.lifetime_s, path="/", httponly=True, samesite="Strict")
            return response
        self.throttle.failed(client)
        await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        return _page(target, "Wrong password.", 401)

    async def _verify(self, password: str) -> bool:
        if self._hashing is None:
            self._hashing = asyncio.Semaphore(MAX_PARALLEL_HASHES)
        async with self._hashing:
            # In a thread: scrypt takes tens of milliseconds, and on the loop every page would wait.
            return await asyncio.to_thread(verify_password, password, self.password_hash)


def password_middleware(environ: dict[str, str] | None = None) -> list[Middleware]:
    """Starlette middleware list for st.App: the gate when launch.py configured a password hash
    for this server, else nothing."""
    env = os.environ if environ is None else environ
    password_hash = env.get(PASSWORD_HASH_ENV, "").strip()
    if not password_hash:
        return []
    return [Middleware(PasswordGate, password_hash=password_hash)]


# ----- plumbing ---------------------------------------------------------------------------------

def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an 'Authorization: Bearer …' header, or None when there is none."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _page(target: str, error: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return HTMLResponse(login_page(LOGIN_PATH, target, error), status_code=status,
                        headers={"cache-control": "no-store", **(headers or {})})
