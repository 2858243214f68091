"""Password gate for a studio that listens beyond this machine (`launch.py --host`).

Design: `python launch.py set-password` stores a salted scrypt hash in the settings table (or the
STUDIO_PASSWORD environment variable holds the password). launch.py refuses a non-loopback host
without one and hands the hash to the server process in STUDIO_PASSWORD_HASH. When that variable
is set, every HTTP and websocket request needs a session cookie, which a small login form at
LOGIN_PATH sets: HttpOnly, SameSite=Strict, signed with an HMAC key drawn at random when the server
starts (so a restart logs everyone out, and nothing secret is ever written to disk). Loopback binds
get no gate: launch.py does not set the variable for them.

Only the standard library is used for the cryptography, so the gate has nothing to keep updated.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import os
import secrets
import time
from urllib.parse import parse_qs, quote, urlsplit

PASSWORD_HASH_ENV = "STUDIO_PASSWORD_HASH"
PASSWORD_ENV = "STUDIO_PASSWORD"
SETTING_KEY = "server_password_hash"
LOGIN_PATH = "/_studio/login"
LOGOUT_PATH = "/_studio/logout"
COOKIE_NAME = "studio_session"
SESSION_SECONDS = 12 * 3600
# Paths answered without a session: the login form itself and the launcher's readiness probe.
OPEN_PATHS = frozenset({LOGIN_PATH, "/_stcore/health"})
FAILED_LOGIN_DELAY_S = 1.0  # slows guessing; one wrong try costs a second

# scrypt cost: 2**14 x 8 takes ~16 MB and tens of milliseconds: cheap to check, dear to brute-force.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MIN_PASSWORD_LENGTH = 8


# ----- password hashes --------------------------------------------------------------------------

def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A self-describing hash: `scrypt$n$r$p$salt_hex$digest_hex`."""
    if len(password) < _MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must have at least {_MIN_PASSWORD_LENGTH} characters.")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def stored_password_hash(sessions) -> str | None:
    """The hash saved by `launch.py set-password`, if any (sessions: a sessionmaker)."""
    from studio.db import repo
    from studio.db.engine import session_scope

    with session_scope(sessions) as session:
        value = repo.get_setting_value(session, SETTING_KEY)
    return value or None


def save_password_hash(sessions, password_hash: str) -> None:
    from studio.db import repo
    from studio.db.engine import session_scope

    with session_scope(sessions) as session:
        repo.set_setting_value(session, SETTING_KEY, password_hash)


# ----- session cookies --------------------------------------------------------------------------

def make_session_token(secret: bytes, *, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_sign(secret, issued)}"


def session_token_valid(secret: bytes, token: str, *, now: float | None = None) -> bool:
    issued, _, signature = token.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(signature, _sign(secret, issued)):
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= SESSION_SECONDS


def _sign(secret: bytes, value: str) -> str:
    return hmac.new(secret, f"studio-session:{value}".encode(), hashlib.sha256).hexdigest()


# ----- the middleware ---------------------------------------------------------------------------

class PasswordGate:
    """Pure ASGI middleware (HTTP and websocket alike; Starlette's BaseHTTPMiddleware sees no
    websockets). Requests carrying a valid session cookie pass through untouched."""

    def __init__(self, app, *, password_hash: str, secret: bytes | None = None):
        self.app = app
        self.password_hash = password_hash
        self.secret = secret or secrets.token_bytes(32)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path == LOGIN_PATH:
            await self._login(scope, receive, send)
            return
        if scope["type"] == "http" and path == LOGOUT_PATH:
            await _respond(send, 303, b"", [(b"location", LOGIN_PATH.encode()), _cookie_header("", max_age=0)])
            return
        if path in OPEN_PATHS or self._has_session(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope.get("method") == "GET" and _wants_html(scope):
            target = _request_target(scope)
            await _respond(send, 303, b"", [(b"location", f"{LOGIN_PATH}?next={quote(target, safe='')}".encode())])
            return
        await _respond(send, 401, b"Log in first: open the studio's address in a browser.",
                       [(b"content-type", b"text/plain; charset=utf-8")])

    def _has_session(self, scope) -> bool:
        token = _cookies(scope).get(COOKIE_NAME)
        return bool(token) and session_token_valid(self.secret, token)

    async def _login(self, scope, receive, send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        target = _safe_next((query.get("next") or ["/"])[0])
        if scope.get("method") == "POST":
            body = await _read_body(receive, limit=16 * 1024)
            form = parse_qs(body.decode("utf-8", "replace"))
            target = _safe_next((form.get("next") or [target])[0])
            password = (form.get("password") or [""])[0]
            if verify_password(password, self.password_hash):
                token = make_session_token(self.secret)
                await _respond(send, 303, b"", [(b"location", target.encode()),
                                                _cookie_header(token, max_age=SESSION_SECONDS)])
                return
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)
            await _respond(send, 401, _login_page(target, "Wrong password."), _HTML_HEADERS)
            return
        await _respond(send, 200, _login_page(target, ""), _HTML_HEADERS)


def password_middleware(environ: dict[str, str] | None = None) -> list:
    """Starlette middleware list for st.App: the gate when launch.py configured a password hash
    for this server, else nothing."""
    env = os.environ if environ is None else environ
    password_hash = env.get(PASSWORD_HASH_ENV, "").strip()
    if not password_hash:
        return []
    from starlette.middleware import Middleware

    return [Middleware(PasswordGate, password_hash=password_hash)]


# ----- ASGI plumbing ----------------------------------------------------------------------------

_HTML_HEADERS = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive, *, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            break
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _cookies(scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, sep, val = part.strip().partition("=")
                if sep:
                    found.setdefault(key, val)
    return found


def _cookie_header(value: str, *, max_age: int) -> tuple[bytes, bytes]:
    cookie = f"{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return b"set-cookie", cookie.encode()


def _wants_html(scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"accept":
            return b"text/html" in value
    return False


def _request_target(scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return scope.get("path", "/") + (f"?{query}" if query else "")


def _safe_next(target: str) -> str:
    """Only same-site paths: a login link must not be able to send the user elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(target: str, error: str) -> bytes:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Studio — log in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #0e1117; color: #fafafa; display: grid;
       place-items: center; min-height: 100vh; margin: 0; }}
form {{ background: #1c1f26; padding: 2rem; border-radius: 12px; width: 20rem; }}
input, button {{ width: 100%; box-sizing: border-box; padding: .6rem; margin-top: .6rem; border-radius: 6px;
                border: 1px solid #444; font-size: 1rem; }}
button {{ background: #ff6b4a; color: #fff; border: 0; cursor: pointer; }}
.error {{ color: #ff8a80; }}
</style></head>
<body><form method="post" action="{LOGIN_PATH}">
<h1>Studio</h1>
<p>This studio is password protected.</p>{message}
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{html.escape(target, quote=True)}">
<button type="submit">Log in</button>
</form></body></html>""".encode()
