"""A worker with no folder shared with the server: it fetches its run's input from the server and
sends every file back over HTTP (the real worker API routes, served by uvicorn on loopback), each
checksummed and fenced by the run's lease; the run succeeds only once the server has them. Worker
tokens: made once, kept hashed, refused at once when revoked."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from studio.config import Paths
from studio.db.engine import session_scope
from studio.jobs import tokens
from studio.jobs.queue import SubmitRequest
from studio.jobs.remote import DeliveryFailed, RemoteMedia
from studio.jobs.store import Lease, LeaseLost, claim_next, lease_of
from studio.jobs.wire import ATTEMPT_HEADER, SHA256_HEADER, WORKER_HEADER, file_url, input_url
from studio.jobs.worker import Worker
from studio.services import build_services
from studio.web.worker_api import worker_routes
from tests.integration.cli import launch, rows
from tests.integration.conftest import SMALL, picture


@pytest.fixture()
def hub_url(services, free_port):
    """The worker API of `services` (the server) on a loopback port, in a thread."""
    app = Starlette(routes=worker_routes(services.media_hub))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the worker API server did not start in 10 s"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{free_port}"
    server.should_exit = True
    thread.join(10)


def new_token(services, name="gpu-2") -> str:
    with session_scope(services.sessions) as session:
        return tokens.create(session, name)


def remote_worker(services, tmp_path, url, token) -> Worker:
    """A worker on 'another host': its own data folder, only the database in common."""
    paths = Paths(data_dir=tmp_path / "worker-data", logs_dir=tmp_path / "worker-logs",
                  database_url=services.paths.database_url)
    built = build_services(paths, migrate_db=False, poll_interval=0.05)
    remote = RemoteMedia(server=url, token=token, cache_dir=paths.data_dir / "fetched-inputs")
    remote.check(built.worker.worker_id)  # its hello, as `launch.py worker --server` says it
    built.worker.use_server(remote)
    return built


def hello(url, token, worker_id) -> str:
    """A worker's hello under this id (binding the id to the token)."""
    return RemoteMedia(server=url, token=token, cache_dir=Path("/nonexistent")).check(worker_id)


def submit(services) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params=dict(SMALL), image=picture(), image_name="p.png"))


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def request(url, method, target, *, headers, body=b""):
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_remote_worker_sends_every_file_to_the_server_before_the_run_succeeds(services, hub_url, tmp_path):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params=dict(SMALL), image=picture(), image_name="p.png",
                                                 end_image=picture((30, 200, 90))))  # and an end image
    worker_side = remote_worker(services, tmp_path, hub_url, new_token(services))
    try:
        assert worker_side.worker.run_once() is True
    finally:
        worker_side.close()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    server_outputs = services.settings().outputs_dir(services.paths)
    for column in ("video_path", "poster_path", "thumb_path"):  # the server's files, where it chose
        assert Path(getattr(run, column)).is_relative_to(server_outputs) and Path(getattr(run, column)).is_file()
    assert Path(run.video_path).with_suffix(".json").is_file()  # the sidecar too
    assert Path(run.log_path).is_relative_to(services.paths.run_logs_dir) and "attempt 1" in Path(run.log_path).read_text()
    # The worker keeps no copy of the results; only the input it fetched (checked by its sha256).
    assert not [p for p in (tmp_path / "worker-data" / "outputs").rglob("*") if p.is_file()]
    fetched = sorted(p.name for p in (tmp_path / "worker-data" / "fetched-inputs").rglob("*.png"))
    assert fetched == sorted(f"{sha(image.path)}.png" for image in (run.input_image, run.end_image))
    # Export and trash work on the server as for any run: the files are there.
    with zipfile.ZipFile(services.export_runs([run_id], tmp_path / "runs.zip")) as archive:
        assert f"media/run-{run_id:06d}.mp4" in archive.namelist(), archive.namelist()
    services.history.trash([run_id])
    assert not Path(run.video_path).exists() and Path(services.history.get_run(run_id).video_path).is_file()


def test_uploads_are_refused_unless_the_attempt_holds_the_lease_the_bytes_match_and_the_token_lives(
        services, hub_url):
    token = new_token(services)
    run_id = submit(services)
    hello(hub_url, token, "hostB:1:abcd1234")
    hello(hub_url, token, "hostC:9:ffff0000")  # another worker of the same token
    with session_scope(services.sessions) as session:
        lease = lease_of(claim_next(session, "hostB:1:abcd1234"))
    body = b"not really a poster"
    good = {"Authorization": f"Bearer {token}", WORKER_HEADER: lease.worker_id, ATTEMPT_HEADER: "1",
            SHA256_HEADER: hashlib.sha256(body).hexdigest()}
    put = lambda headers, data=body, kind="poster": request(hub_url, "PUT", file_url(run_id, kind), headers=headers, body=data)  # noqa: E731
    # Another attempt, another worker: refused, with the attempt that holds the run but not the
    # worker that holds it (which, with the attempt, is all a request names).
    assert put({**good, ATTEMPT_HEADER: "2"})[0] == 409
    status, answer = put({**good, WORKER_HEADER: "hostC:9:ffff0000"})
    assert status == 409 and json.loads(answer)["attempt"] == 1 and lease.worker_id not in answer.decode()
    # Bytes that do not match their sha256: refused, nothing kept.
    assert put(good, data=b"not really a poster!")[0] in (400, 422)
    assert put({**good, SHA256_HEADER: "0" * 64})[0] == 422
    # Over the kind's size limit: refused before a byte is stored.
    assert put({**good, "Content-Length": str(17 * 1024 * 1024)}, kind="thumb")[0] == 413
    # Only the kinds the server knows; never a path.
    assert put(good, kind="..%2F..%2Fetc")[0] == 404
    # A server disk without room for it: refused in words before a byte is stored, as a local run is.
    real_usage = shutil.disk_usage
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr("studio.storage.shutil.disk_usage", lambda folder: real_usage(folder)._replace(free=10_000))
        status, answer = put(good)
    assert status == 507 and "MB free" in json.loads(answer)["error"]
    outputs = services.settings().outputs_dir(services.paths)
    assert not [p for p in outputs.rglob("*") if p.is_file()]
    # The holder's upload is kept where the server chose.
    status, answer = put(good)
    assert status == 201 and Path(json.loads(answer)["path"]).read_bytes() == body
    assert Path(json.loads(answer)["path"]).is_relative_to(outputs)
    # A revoked token is refused at once, for files and inputs alike; so is no token or another.
    with session_scope(services.sessions) as session:
        tokens.revoke(session, "gpu-2")
    assert put(good)[0] == 401
    assert request(hub_url, "GET", input_url(run_id), headers=good)[0] == 401
    assert put({**good, "Authorization": "Bearer stw_guessed"})[0] == 401
    assert put({k: v for k, v in good.items() if k != "Authorization"})[0] == 401


def test_a_worker_that_lost_its_lease_cannot_fetch_or_send(services, hub_url, tmp_path):
    token = new_token(services)
    run_id = submit(services)
    hello(hub_url, token, "hostB:1:abcd1234")
    with session_scope(services.sessions) as session:
        claim_next(session, "hostB:1:abcd1234")
    late = Lease(run_id, "hostB:1:abcd1234", 2, 30)  # an attempt the row does not hold
    remote = RemoteMedia(server=hub_url, token=token, cache_dir=tmp_path / "cache")
    with pytest.raises(LeaseLost):
        remote.fetch_input(late)
    small = tmp_path / "poster.jpg"
    small.write_bytes(b"jpeg")
    with pytest.raises(LeaseLost):
        remote.send(late, "poster", small)
    with pytest.raises(DeliveryFailed, match="refused the worker token"):
        RemoteMedia(server=hub_url, token="stw_wrong", cache_dir=tmp_path / "cache").check()


def test_a_worker_id_is_bound_to_the_token_it_said_hello_with(services, hub_url, tmp_path):
    """Another live token that learns a worker's id and attempt (a run's log, the workers list)
    cannot fetch that worker's inputs or send files in its place, nor act for the server's own
    worker, which never says hello: 403, nothing stored, nothing bound."""
    own, other = new_token(services, "gpu-2"), new_token(services, "gpu-3")
    worker_id = "hostB:1:abcd1234"
    assert hello(hub_url, own, worker_id) == "gpu-2"
    assert hello(hub_url, own, worker_id) == "gpu-2"  # a hello again (a reconnect) is fine
    with pytest.raises(DeliveryFailed, match="does not speak for that worker id"):
        hello(hub_url, other, worker_id)
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        lease = lease_of(claim_next(session, worker_id))
    body = b"a poster in its place"
    as_other = {"Authorization": f"Bearer {other}", WORKER_HEADER: worker_id, ATTEMPT_HEADER: "1",
                SHA256_HEADER: hashlib.sha256(body).hexdigest()}
    status, answer = request(hub_url, "GET", input_url(run_id), headers=as_other)
    assert status == 403 and b"gpu-2" not in answer, answer
    assert request(hub_url, "PUT", file_url(run_id, "poster"), headers=as_other, body=body)[0] == 403
    outputs = services.settings().outputs_dir(services.paths)
    assert not [p for p in outputs.rglob("*") if p.is_file()]
    assert RemoteMedia(server=hub_url, token=own, cache_dir=tmp_path / "a").fetch_input(lease).is_file()

    # The server's own worker (on the server's folder: it never says hello) holds the next run.
    local = services.worker.worker_id
    services.worker.report()
    local_run = submit(services)
    with session_scope(services.sessions) as session:
        local_lease = lease_of(claim_next(session, local))
    as_local = {**as_other, WORKER_HEADER: local, ATTEMPT_HEADER: str(local_lease.attempt)}
    assert request(hub_url, "GET", input_url(local_run), headers=as_local)[0] == 403
    assert request(hub_url, "PUT", file_url(local_run, "log"), headers=as_local, body=body)[0] == 403
    with pytest.raises(DeliveryFailed, match="does not speak for that worker id"):
        hello(hub_url, other, local)  # an id already at work cannot be claimed by a hello either
    assert not [p for p in outputs.rglob("*") if p.is_file()]
    # A revoked token's workers are unbound: its name, made again, speaks for none of them.
    with session_scope(services.sessions) as session:
        tokens.revoke(session, "gpu-2")
    renewed = new_token(services, "gpu-2")
    assert request(hub_url, "GET", input_url(run_id), headers={**as_other, "Authorization": f"Bearer {renewed}"})[0] == 403


def test_worker_token_commands_print_a_token_once_and_keep_only_its_hash(studio_env):
    made = launch("worker-token", "create", "gpu-host-2", env=studio_env, timeout=60)
    assert made.returncode == 0, made.stderr
    [token] = [line for line in made.stdout.splitlines() if line.startswith("stw_")]
    assert len(token) > 40
    stored = rows(studio_env, "SELECT name, token_sha256 FROM worker_tokens")
    assert stored == [("gpu-host-2", hashlib.sha256(token.encode()).hexdigest())]
    again = launch("worker-token", "create", "gpu-host-2", env=studio_env, timeout=60)
    assert again.returncode == 2 and "exists already" in again.stderr and "Traceback" not in again.stderr
    revoked = launch("worker-token", "revoke", "gpu-host-2", env=studio_env, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    listed = launch("worker-token", "list", env=studio_env, timeout=60)
    assert listed.stdout.startswith("gpu-host-2\trevoked ") and token not in listed.stdout + listed.stderr
    # Revoked, the name is free again (as the refusal above says): a new token replaces the old.
    renewed = launch("worker-token", "create", "gpu-host-2", env=studio_env, timeout=60)
    assert renewed.returncode == 0, renewed.stderr
    [new] = [line for line in renewed.stdout.splitlines() if line.startswith("stw_")]
    assert rows(studio_env, "SELECT name, token_sha256, revoked_at FROM worker_tokens") == [
        ("gpu-host-2", hashlib.sha256(new.encode()).hexdigest(), None)]


def test_a_file_damaged_on_the_way_is_refused_and_sent_again(services, hub_url, tmp_path):
    """A proxy between worker and server flips one byte of the first upload: the server refuses it
    (its sha256 differs) and keeps nothing, and the worker's second try is kept."""
    token = new_token(services)
    submit(services)
    hello(hub_url, token, "hostB:1:abcd1234")
    with session_scope(services.sessions) as session:
        lease = lease_of(claim_next(session, "hostB:1:abcd1234"))
    upstream_port = int(hub_url.rsplit(":", 1)[1])
    listener = socket.create_server(("127.0.0.1", 0))
    damaged = []

    def relay_one(client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", upstream_port), timeout=10) as server:
            request = b""
            while b"\r\n\r\n" not in request:
                request += client.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(body) < length:
                body += client.recv(65536)
            if not damaged:  # the first upload only
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
                damaged.append(True)
            server.sendall(head + b"\r\n\r\n" + body)
            while chunk := server.recv(65536):
                client.sendall(chunk)

    def serve() -> None:
        for _ in range(4):  # bounded: the test makes two connections
            try:
                client, _ = listener.accept()
            except OSError:
                return
            relay_one(client)

    threading.Thread(target=serve, daemon=True).start()
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(b"a poster's bytes" * 100)
    try:
        via_proxy = RemoteMedia(server=f"http://127.0.0.1:{listener.getsockname()[1]}", token=token,
                                cache_dir=tmp_path / "cache")
        stored = Path(via_proxy.send(lease, "poster", poster))
    finally:
        listener.close()
    assert damaged and stored.read_bytes() == poster.read_bytes()
    outputs = services.settings().outputs_dir(services.paths)
    assert [p for p in outputs.rglob("*") if p.is_file()] == [stored]  # nothing of the damaged try


def test_an_input_sha256_that_is_not_one_never_becomes_a_path(services, tmp_path, monkeypatch):
    """A server (or something posing as one) answering an input with a checksum header like
    '../../x' gets a refusal in words: the header names the cached file, so it must be a sha256."""
    import http.server

    import studio.jobs.remote as remote_module

    monkeypatch.setattr(remote_module, "RETRY_DELAY_S", 0.0)
    submit(services)
    with session_scope(services.sessions) as session:
        lease = lease_of(claim_next(session, "hostB:1:abcd1234"))

    class Crafted(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header(SHA256_HEADER, "../../../escaped")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"bytes")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Crafted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tmp_path / "host"
    try:
        media = RemoteMedia(server=f"http://127.0.0.1:{server.server_port}", token="stw_any", cache_dir=work / "a" / "b" / "cache")
        with pytest.raises(DeliveryFailed, match="no usable sha256"):
            media.fetch_input(lease)
    finally:
        server.shutdown()
        server.server_close()
    assert not [p for p in tmp_path.rglob("*") if "escaped" in p.name], "nothing was written under the crafted name"
