"""Serve only this machine's names: the guard against DNS rebinding.

A page on another site can point its own name at 127.0.0.1 and then read whatever the studio
answers, since to the browser that is still its own site. The Host header gives it away: it
carries the other site's name. So every HTTP and websocket request whose Host is not one of the
studio's names (hostnames.py) is refused with 400, before the password gate or any page sees it.
Starlette's TrustedHostMiddleware does the same by name only; the studio also needs "any loopback
address" and "any address" (a wildcard bind), and a plain 403 where a server cannot answer a
websocket handshake with a response.
"""

from __future__ import annotations

import os

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from studio.web.hostnames import ALLOWED_HOSTS_ENV, HostNames, split_names


class HostCheck:
    """Pure ASGI middleware: requests for an unknown Host get 400 "Unknown host"."""

    def __init__(self, app, *, allowed: HostNames):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or self.allowed.allows(Headers(scope=scope).get("host")):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
            # Closing before accepting makes such a server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await PlainTextResponse("Unknown host", status_code=400)(scope, receive, send)


def host_middleware(environ: dict[str, str] | None = None) -> list[Middleware]:
    """Starlette middleware list for st.App: the Host check, with the names launch.py handed over."""
    env = os.environ if environ is None else environ
    return [Middleware(HostCheck, allowed=HostNames(split_names(env.get(ALLOWED_HOSTS_ENV, ""))))]
