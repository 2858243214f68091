"""The password gate: hashes, session cookies, and the middleware in front of a real ASGI app."""

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from studio.web import auth

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def password_hash():
    return auth.hash_password(PASSWORD)


def test_hash_verifies_only_the_right_password(password_hash):
    assert password_hash.startswith("scrypt$")
    assert auth.verify_password(PASSWORD, password_hash)
    assert not auth.verify_password("correct horse battery ", password_hash)
    assert not auth.verify_password(PASSWORD, "scrypt$1$2$3$zz$yy")
    assert not auth.verify_password(PASSWORD, "")
    # Salted: the same password never hashes the same way twice.
    assert auth.hash_password(PASSWORD) != password_hash


def test_short_passwords_are_refused():
    with pytest.raises(ValueError, match="at least 8"):
        auth.hash_password("short")


def test_session_tokens_are_signed_and_expire():
    secret, other = b"a" * 32, b"b" * 32
    token = auth.make_session_token(secret, now=1_000_000)
    assert auth.session_token_valid(secret, token, now=1_000_010)
    assert not auth.session_token_valid(other, token, now=1_000_010)
    assert not auth.session_token_valid(secret, token, now=1_000_000 + auth.SESSION_SECONDS + 1)
    issued, signature = token.split(".")
    assert not auth.session_token_valid(secret, f"{int(issued) + 1}.{signature}", now=1_000_010)
    assert not auth.session_token_valid(secret, "garbage", now=1_000_010)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("studio.example", False),
])
def test_loopback_hosts(host, loopback):
    assert auth.is_loopback(host) is loopback


def test_middleware_only_when_a_hash_is_configured(password_hash):
    assert auth.password_middleware({}) == []
    assert auth.password_middleware({auth.PASSWORD_HASH_ENV: ""}) == []
    (middleware,) = auth.password_middleware({auth.PASSWORD_HASH_ENV: password_hash})
    assert middleware.cls is auth.PasswordGate


@pytest.fixture()
def client(password_hash, monkeypatch):
    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)

    async def page(_request):
        return PlainTextResponse("the studio")

    async def health(_request):
        return PlainTextResponse("ok")

    async def stream(websocket):
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = Starlette(
        routes=[Route("/", page), Route("/gallery", page), Route("/_stcore/health", health),
                WebSocketRoute("/_stcore/stream", stream)],
        middleware=auth.password_middleware({auth.PASSWORD_HASH_ENV: password_hash}),
    )
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def test_gate_refuses_requests_without_a_session(client):
    page = client.get("/gallery?run=3", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/_studio/login?next=%2Fgallery%3Frun%3D3"
    api = client.get("/")
    assert api.status_code == 401
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/_stcore/stream") as ws:
            ws.receive_text()
    # The launcher's readiness probe needs no login.
    assert client.get("/_stcore/health").text == "ok"


def test_login_form_then_everything_passes(client):
    form = client.get("/_studio/login?next=/gallery")
    assert form.status_code == 200 and 'type="password"' in form.text and 'value="/gallery"' in form.text
    wrong = client.post("/_studio/login", data={"password": "nope nope nope", "next": "/gallery"})
    assert wrong.status_code == 401 and "Wrong password" in wrong.text
    assert "set-cookie" not in wrong.headers

    right = client.post("/_studio/login", data={"password": PASSWORD, "next": "/gallery"})
    assert right.status_code == 303 and right.headers["location"] == "/gallery"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie

    assert client.get("/gallery").text == "the studio"
    with client.websocket_connect("/_stcore/stream") as ws:
        assert ws.receive_text() == "hello"

    client.get("/_studio/logout")
    assert client.get("/").status_code == 401


def test_forged_cookie_is_refused(client):
    client.cookies.set(auth.COOKIE_NAME, auth.make_session_token(b"someone else's secret" * 2))
    assert client.get("/").status_code == 401


def test_login_never_redirects_off_site(client):
    for target in ("https://elsewhere.example/", "//elsewhere.example/x", "javascript:alert(1)"):
        response = client.post("/_studio/login", data={"password": PASSWORD, "next": target})
        assert response.headers["location"] == "/"
