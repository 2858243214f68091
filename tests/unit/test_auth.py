"""The password gate: hashes, session cookies, and the middleware in front of a real ASGI app."""

import asyncio
import math
import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from studio.web import auth
from studio.web.sessions import SessionStore
from studio.web.throttle import LoginThrottle
from tests.aio import run_async

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


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sessions_are_signed_expire_and_are_revoked(password_hash):
    clock = Clock()
    store, other = SessionStore(secret=b"a" * 32, clock=clock), SessionStore(secret=b"b" * 32, clock=clock)
    token = store.issue(password_hash)
    assert store.valid(token, password_hash)
    assert not other.valid(token, password_hash)  # signed with another server's key
    # Tampered inside the signature: its last base64 character may carry only padding bits.
    assert not store.valid(token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:], password_hash)
    assert not store.valid("garbage", password_hash) and not store.valid("", password_hash)
    assert not store.valid("1.\u00e9", password_hash)  # non-ASCII: refused, never an error
    store.revoke(token)
    assert not store.valid(token, password_hash)  # logged out: the same cookie no longer works

    fresh = store.issue(password_hash)
    clock.now += store.lifetime_s + 1
    assert not store.valid(fresh, password_hash)


def test_a_session_ends_with_the_password_that_opened_it(password_hash):
    store = SessionStore()
    token = store.issue(password_hash)
    assert not store.valid(token, auth.hash_password("another long password"))


def test_session_and_throttle_tables_stay_bounded(password_hash):
    store = SessionStore(max_sessions=3)
    tokens = [store.issue(password_hash) for _ in range(5)]
    assert len(store) == 3 and not store.valid(tokens[0], password_hash) and store.valid(tokens[-1], password_hash)
    throttle = LoginThrottle(max_clients=3)
    for n in range(10):
        throttle.begin_attempt(f"10.0.0.{n}")
    assert len(throttle) == 3


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
                Route("/studio/worker/hello", page), Route("/studio/worker/{rest:path}", page, methods=["GET", "PUT"]),
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


def test_the_gate_lets_through_exactly_the_worker_api_which_checks_its_own_token(client):
    assert client.get("/studio/worker/hello").text == "the studio"  # the route itself refuses a bad token
    assert client.put("/studio/worker/run/12/file/video").status_code == 200
    for elsewhere in ("/studio/worker/", "/studio/worker/run/12/secret", "/studio/worker/hello/../../gallery",
                      "/studio/worker/run/12/file/video/extra"):
        assert client.get(elsewhere).status_code == 401, elsewhere


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
    assert f"Max-Age={auth.SESSION_SECONDS}" in cookie

    assert client.get("/gallery").text == "the studio"
    with client.websocket_connect("/_stcore/stream") as ws:
        assert ws.receive_text() == "hello"

    client.get("/_studio/logout")
    assert client.get("/").status_code == 401


def test_forged_cookie_is_refused(client):
    client.cookies.set(auth.COOKIE_NAME, SessionStore(secret=b"someone else's secret").issue("x"))
    assert client.get("/").status_code == 401


def test_login_never_redirects_off_site(client):
    for target in ("https://elsewhere.example/", "//elsewhere.example/x", "javascript:alert(1)", "/\\elsewhere.example",
                   "/\\/elsewhere.example", "http://elsewhere.example", "/\t/elsewhere.example", "elsewhere.example"):
        response = client.post("/_studio/login", data={"password": PASSWORD, "next": target})
        assert response.headers["location"] == "/", target
        form = client.get("/_studio/login", params={"next": target})
        assert 'name="next" value="/"' in form.text, target
    kept = client.post("/_studio/login", data={"password": PASSWORD, "next": "/gallery?run=3"})
    assert kept.headers["location"] == "/gallery?run=3"


def test_an_oversized_or_odd_login_body_is_refused_plainly(client):
    assert client.post(auth.LOGIN_PATH, content=b"password=" + b"x" * (auth.MAX_FORM_BYTES + 1),
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    multipart = client.post(auth.LOGIN_PATH, files={"password": ("p.txt", b"correct horse battery")})
    assert multipart.status_code == 400
    assert client.post(auth.LOGIN_PATH, content=b"\xff\xfe", headers={"content-type": "text/plain"}).status_code == 401


def test_logout_revokes_the_session_for_good(client):
    login = client.post("/_studio/login", data={"password": PASSWORD, "next": "/"})
    token = login.cookies[auth.COOKIE_NAME]
    assert client.get("/").status_code == 200
    client.get("/_studio/logout")
    client.cookies.set(auth.COOKIE_NAME, token)  # the old cookie, copied before logging out
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"accept": "text/html"}).headers["location"].startswith(auth.LOGIN_PATH)


def test_a_non_ascii_cookie_gets_a_normal_answer(client):
    for raw in (b"studio_session=1.\xe9", "studio_session=\u00e9.\u00e9; other=\u00fc".encode(), b"\xff\xfe=\x80"):
        assert client.get("/", headers={"cookie": raw}).status_code == 401


def test_brute_force_is_refused_with_429_until_the_wait_ends(password_hash, monkeypatch):
    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)
    clock = Clock()
    throttle = LoginThrottle(free_failures=5, first_wait_s=2.0, clock=clock)

    async def page(_request):
        return PlainTextResponse("the studio")

    app = Starlette(routes=[Route("/", page)],
                    middleware=[Middleware(auth.PasswordGate, password_hash=password_hash, throttle=throttle)])
    with TestClient(app, follow_redirects=False) as client:
        for _ in range(5):
            assert client.post(auth.LOGIN_PATH, data={"password": "wrong password"}).status_code == 401
        refused = client.post(auth.LOGIN_PATH, data={"password": PASSWORD})  # even the right one, for now
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 2
        assert "set-cookie" not in refused.headers

        clock.now += 2.5
        assert client.post(auth.LOGIN_PATH, data={"password": "wrong again"}).status_code == 401
        doubled = client.post(auth.LOGIN_PATH, data={"password": PASSWORD})
        assert doubled.status_code == 429 and int(doubled.headers["retry-after"]) == 4
        clock.now += 4.5
        accepted = client.post(auth.LOGIN_PATH, data={"password": PASSWORD})
        assert accepted.status_code == 303 and auth.COOKIE_NAME in accepted.headers["set-cookie"]
        # A success clears the count: the next mistake is a free one again.
        assert client.post(auth.LOGIN_PATH, data={"password": "one slip"}).status_code == 401


def test_password_checks_run_off_the_event_loop(password_hash, monkeypatch):
    """A burst of logins (from many addresses, so the throttle lets them all through) must not
    hold up the loop that serves every other request."""
    monkeypatch.setattr(auth, "FAILED_LOGIN_DELAY_S", 0.0)
    started = time.perf_counter()
    auth.verify_password("wrong password", password_hash)
    one_check = time.perf_counter() - started
    count = min(60, max(8, math.ceil(1.0 / one_check) + 1))  # on the loop, these would block it >= 1 s

    async def page(_request):
        return PlainTextResponse("the studio")

    gate = auth.PasswordGate(Starlette(routes=[Route("/", page)]), password_hash=password_hash)

    async def login(n: int) -> int:
        body = b"password=wrong+password"
        scope = {"type": "http", "method": "POST", "path": auth.LOGIN_PATH, "raw_path": auth.LOGIN_PATH.encode(),
                 "query_string": b"", "headers": [(b"content-type", b"application/x-www-form-urlencoded"),
                                                  (b"content-length", str(len(body)).encode())],
                 "client": (f"10.0.{n // 250}.{n % 250}", 40000), "server": ("127.0.0.1", 8501),
                 "scheme": "http", "http_version": "1.1", "root_path": ""}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent = []

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await gate(scope, receive, send)
        return sent[0]["status"]

    async def flood() -> tuple[list[int], float]:
        longest, done = 0.0, asyncio.Event()

        async def ticker():
            nonlocal longest
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                longest, last = max(longest, now - last), now

        ticking = asyncio.create_task(ticker())
        statuses = await asyncio.gather(*(login(n) for n in range(count)))
        done.set()
        await ticking
        return statuses, longest

    statuses, longest = run_async(flood())
    assert statuses == [401] * count
    assert longest < 0.6, f"the loop stalled {longest:.2f} s during {count} logins"
