"""The login gate and the Host check on the real studio server (app.py under Streamlit), reached
over real sockets, and launch.py's answer to a short STUDIO_PASSWORD."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studio.config import PROJECT_ROOT
from studio.web import auth
from tests.integration.server import serving

PASSWORD = "correct horse battery"


def gated_server(data_dir: Path):
    """The studio server behind a password, on a free loopback port; yields the port."""
    return serving(data_dir, extra_env={auth.PASSWORD_HASH_ENV: auth.hash_password(PASSWORD)})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with gated_server(tmp_path_factory.mktemp("gate")) as port:
        yield port


def raw_status(port: int, request: bytes) -> int:
    """The status code the server answers a hand-written request with (any Host, any bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def get(port: int, path: str, host: str, extra: bytes = b"") -> int:
    return raw_status(port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra
                      + b"Connection: close\r\n\r\n")


WEBSOCKET = (b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n")


def test_a_foreign_host_is_refused_and_loopback_names_are_served(server):
    for path in ("/", "/studio/media/run/1/video", "/_stcore/health", auth.LOGIN_PATH):
        assert get(server, path, "rebound.example") == 400, path
        assert get(server, path, f"rebound.example:{server}") == 400, path
    assert get(server, "/_stcore/stream", f"rebound.example:{server}", WEBSOCKET) == 400
    for host in (f"localhost:{server}", f"127.0.0.1:{server}"):
        assert get(server, "/_stcore/health", host) == 200
        assert get(server, auth.LOGIN_PATH, host) == 200
        assert get(server, "/", host) == 401  # the password gate, behind the Host check


def test_a_non_ascii_cookie_gets_a_normal_answer(server):
    for cookie in (b"studio_session=1.\xe9", "studio_session=é.é; x=ü".encode()):
        assert get(server, "/", f"127.0.0.1:{server}", b"Cookie: " + cookie + b"\r\n") == 401


def login(port: int, password: str) -> tuple[int, str]:
    body = urllib.parse.urlencode({"password": password, "next": "/"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{auth.LOGIN_PATH}", data=body)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as answer:
        return answer.code, (answer.headers["set-cookie"] or "").split(";")[0]


def test_a_login_flood_does_not_hold_up_the_pages(server):
    def health_time() -> float:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server}/_stcore/health", timeout=30):
            return time.monotonic() - started

    with ThreadPoolExecutor(16) as pool:
        flood = [pool.submit(login, server, f"wrong guess {n}") for n in range(64)]
        waits, deadline = [], time.monotonic() + 60
        while not all(future.done() for future in flood) and time.monotonic() < deadline:
            waits.append(health_time())  # one page request after another, for as long as the flood lasts
        statuses = [future.result()[0] for future in flood]
    # The five free tries each wait FAILED_LOGIN_DELAY_S (1 s) and check a scrypt hash. Done on the
    # event loop, that holds the pages up for about five seconds in all; done off it, the pages wait
    # only for a busy machine's scheduling (a shared two-core runner has once taken a second).
    held_up = sum(waits)
    assert held_up < 2.5, (f"{len(waits)} page requests during the flood waited {held_up:.2f} s in all; "
                           f"the longest: {sorted(waits)[-5:]}")
    assert statuses.count(429) >= 64 - 16, statuses  # a few free tries, then the throttle answers


def test_logout_revokes_the_session(tmp_path):
    """Its own server, so the flood's throttle does not lock this login out."""
    with gated_server(tmp_path) as port:
        status, cookie = login(port, PASSWORD)
        assert status == 303 and cookie.startswith(auth.COOKIE_NAME)
        with_cookie = b"Cookie: " + cookie.encode() + b"\r\n"
        assert get(port, "/", f"127.0.0.1:{port}", with_cookie) == 200
        assert get(port, auth.LOGOUT_PATH, f"127.0.0.1:{port}", with_cookie) == 303
        assert get(port, "/", f"127.0.0.1:{port}", with_cookie) == 401  # the copied cookie is dead


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_short_studio_password_is_refused_with_a_message(studio_env, free_port):
    env = {**studio_env, auth.PASSWORD_ENV: "abc"}
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "launch.py"), "--no-browser", "--host", "0.0.0.0",
                             "--port", str(free_port)], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "STUDIO_PASSWORD" in result.stderr and "at least 8" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "Studio ready" not in result.stdout


def test_beyond_loopback_the_launcher_hands_over_the_names_to_serve(studio_env, free_port):
    """launch.py --host 0.0.0.0: its readiness probe (on loopback) passes the Host check, the
    configured name and addresses are served, other names are not."""
    env = {**studio_env, auth.PASSWORD_ENV: PASSWORD, "STUDIO_ALLOWED_HOSTS": "studio.lan"}
    launcher = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "launch.py"), "--no-browser", "--host", "0.0.0.0",
                                 "--port", str(free_port)], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 120
        while not any("Studio ready" in line for line in seen):
            line = launcher.stdout.readline()
            assert line and time.monotonic() < deadline, "\n".join(seen)
            seen.append(line.rstrip())
        assert any("studio.lan" in line and "STUDIO_ALLOWED_HOSTS" in line for line in seen), seen
        assert get(free_port, auth.LOGIN_PATH, f"studio.lan:{free_port}") == 200
        assert get(free_port, auth.LOGIN_PATH, f"10.20.30.40:{free_port}") == 200  # an address, not a name
        assert get(free_port, auth.LOGIN_PATH, f"rebound.example:{free_port}") == 400
    finally:
        launcher.terminate()
        launcher.wait(60)
