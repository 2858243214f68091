"""The Host check against DNS rebinding: the names served, and the middleware in front of a real
ASGI app (pages, a media route and the websocket alike)."""

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from studio.web.hostnames import HostNames, launcher_allowed_hosts, split_names
from studio.web.hosts import host_middleware

LOOPBACK_ONLY = HostNames()


@pytest.mark.parametrize("header", ["localhost", "localhost:8501", "127.0.0.1:8501", "127.0.0.1", "[::1]:8501",
                                    "[::1]", "LOCALHOST:8501", "localhost.:8501", "127.0.0.2:8501"])
def test_loopback_names_are_always_served(header):
    assert LOOPBACK_ONLY.allows(header)


@pytest.mark.parametrize("header", ["evil.example", "evil.example:8501", "localhost.evil.example", "192.168.1.20:8501",
                                    "0.0.0.0:8501", "", None, "::1", "[::1", "[::1]8501", "[evil]:8501", "localhost:80:80", "localhost:x",
                                    "127.0.0.1.nip.io:8501"])
def test_other_names_are_refused_on_loopback(header):
    assert not LOOPBACK_ONLY.allows(header)


def test_beyond_loopback_the_bound_address_and_configured_names_are_served():
    names = HostNames(split_names(launcher_allowed_hosts("192.168.1.20", "studio.lan, *.home.example")))
    for header in ("192.168.1.20:8501", "studio.lan:8501", "STUDIO.LAN", "tv.home.example", "localhost:8501"):
        assert names.allows(header), header
    for header in ("192.168.1.21:8501", "evil.example", "home.example.evil.example"):
        assert not names.allows(header), header
    # A wildcard bind answers on every address, so any address (never a name) is served.
    wildcard = HostNames(split_names(launcher_allowed_hosts("0.0.0.0", "")))
    assert wildcard.allows("10.1.2.3:8501") and wildcard.allows("[fe80::1]:8501") and not wildcard.allows("evil.example")
    assert launcher_allowed_hosts("::", "a.example,a.example") == "[::],a.example"
    assert launcher_allowed_hosts("fe80::1", " Studio.LAN.:8501 ,, bad:name:x") == "[fe80::1],studio.lan"


@pytest.fixture()
def app():
    async def page(_request):
        return PlainTextResponse("the studio")

    async def stream(websocket):
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    return Starlette(routes=[Route("/", page), Route("/studio/media/run/{run_id:int}/{kind}", page),
                             Route("/_stcore/health", page), WebSocketRoute("/_stcore/stream", stream)],
                     middleware=host_middleware({}))


@pytest.mark.parametrize("path", ["/", "/studio/media/run/1/video", "/_stcore/health"])
def test_a_foreign_host_gets_400_on_every_route(app, path):
    with TestClient(app, base_url="http://evil.example:8501") as client:
        response = client.get(path)
    assert response.status_code == 400 and response.text == "Unknown host"


def test_a_foreign_host_cannot_open_the_websocket(app):
    with TestClient(app, base_url="http://evil.example:8501") as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("ws://evil.example:8501/_stcore/stream") as ws:
                ws.receive_text()
    assert refused.value.status_code == 400  # the handshake is answered, and refused


@pytest.mark.parametrize("base", ["http://localhost:8501", "http://127.0.0.1:8501", "http://[::1]:8501"])
def test_loopback_names_reach_pages_media_and_the_websocket(app, base):
    with TestClient(app, base_url=base) as client:
        assert client.get("/").text == "the studio"
        assert client.get("/studio/media/run/1/video").status_code == 200
        with client.websocket_connect(base.replace("http", "ws", 1) + "/_stcore/stream") as ws:
            assert ws.receive_text() == "hello"


def test_configured_names_reach_the_app():
    async def page(_request):
        return PlainTextResponse("the studio")

    app = Starlette(routes=[Route("/", page)], middleware=host_middleware({"STUDIO_ALLOWED_HOSTS": "studio.lan"}))
    with TestClient(app, base_url="http://studio.lan:8501") as client:
        assert client.get("/").status_code == 200
