"""A worker's side of the media hub (studio.jobs.hub): with `launch.py worker --server URL --token`,
the worker shares the database with the server but no folder. It fetches its run's input over
HTTP and sends every file the run made back, each with its sha256, before the run is recorded as
succeeded; the server's paths are what the row records.

Standard library HTTP only: bodies are streamed from and to disk, never held whole in memory."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from studio.jobs.store import Lease, LeaseLost
from studio.media.atomic import atomic_path
from studio.storage import RunFiles
from studio.media.digest import file_sha256
from studio.jobs.wire import ATTEMPT_HEADER, SHA256_HEADER, SHA256_PATTERN, WORKER_HEADER, file_url, hello_url, input_url

log = logging.getLogger("studio.worker")

TOKEN_ENV = "STUDIO_WORKER_TOKEN"
ATTEMPTS = 4  # a file whose checksum did not match, or a dropped connection, is sent again this often
RETRY_DELAY_S = 0.5  # doubled after each failed try
TIMEOUT_S = 60.0  # per socket operation: a server that stops answering is given up on
CHUNK = 1024 * 1024


class DeliveryFailed(RuntimeError):
    """The server could not be reached, or refused the worker for a reason other than the lease
    (a revoked token, a file over its size limit); the message says which."""


@dataclass(frozen=True)
class RemoteMedia:
    server: str  # the server's base URL, e.g. http://studio-host:8501
    token: str
    cache_dir: Path  # where fetched inputs are kept, by the sha256 of their bytes

    # ----- probing ---------------------------------------------------------------------------------

    def check(self, worker_id: str | None = None) -> str:
        """The token's name as the server knows it; DeliveryFailed saying why not. Naming the
        worker binds its id to this token: from then on no other token may act for it."""
        status, body = self._request("GET", hello_url(), headers={WORKER_HEADER: worker_id} if worker_id else {})
        if status != 200:
            raise DeliveryFailed(self._refusal_text(status, body))
        return str(json.loads(body).get("token", ""))

    # ----- the input -------------------------------------------------------------------------------

    def fetch_input(self, lease: Lease, role: str = "input") -> Path:
        """The run's input image (role "end": its end image), fetched from the server (or found in
        the cache by its sha256)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._fetch_once(lease, role)
            except (OSError, http.client.HTTPException, _Retry) as error:
                if attempt == ATTEMPTS:
                    raise DeliveryFailed(f"could not fetch run {lease.run_id}'s {role} image from {self.server}: "
                                         f"{error}") from None
                log.warning("fetching run %s's %s image failed (%s); trying again", lease.run_id, role, error)
                time.sleep(RETRY_DELAY_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _fetch_once(self, lease: Lease, role: str) -> Path:
        with self._connection() as conn:
            conn.request("GET", input_url(lease.run_id, role), headers=self._headers(lease))
            response = conn.getresponse()
            if response.status != 200:
                self._raise_for(lease, response.status, response.read())
            expected = response.getheader(SHA256_HEADER, "")
            if not SHA256_PATTERN.fullmatch(expected):  # it names a file here: never a path of the server's making
                raise _Retry(f"the server sent no usable sha256 for the input ({expected[:80]!r})")
            cached = self.cache_dir / expected[:2] / f"{expected}.png"
            if cached.is_file():
                return cached  # the same bytes came before (a re-run, a sweep): no need to read them again
            digest = hashlib.sha256()
            with atomic_path(cached) as tmp, open(tmp, "wb") as out:
                for block in iter(lambda: response.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
                if digest.hexdigest() != expected:
                    raise _Retry(f"the input's sha256 is {digest.hexdigest()}, the server said {expected}")
            return cached

    # ----- the results -----------------------------------------------------------------------------

    def send(self, lease: Lease, kind: str, path: Path) -> str:
        """Send one file; returns where the server keeps it. LeaseLost when this attempt no longer
        holds the run (the file is then not kept), DeliveryFailed when it cannot be delivered."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._send_once(lease, kind, path)
            except (OSError, http.client.HTTPException, _Retry) as error:
                if attempt == ATTEMPTS:
                    raise DeliveryFailed(f"could not send run {lease.run_id}'s {kind} to {self.server}: {error}") from None
                log.warning("sending run %s's %s failed (%s); trying again", lease.run_id, kind, error)
                time.sleep(RETRY_DELAY_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _send_once(self, lease: Lease, kind: str, path: Path) -> str:
        # Hashed on each try: a log may have grown since the last one.
        size, digest = path.stat().st_size, file_sha256(path)
        headers = {**self._headers(lease), SHA256_HEADER: digest, "Content-Length": str(size),
                   "Content-Type": "application/octet-stream"}
        with self._connection() as conn, open(path, "rb") as body:
            conn.request("PUT", file_url(lease.run_id, kind), body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        if response.status != 201:
            self._raise_for(lease, response.status, data)
        return str(json.loads(data)["path"])

    # ----- plumbing --------------------------------------------------------------------------------

    def _headers(self, lease: Lease) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", WORKER_HEADER: lease.worker_id,
                ATTEMPT_HEADER: str(lease.attempt)}

    def _raise_for(self, lease: Lease, status: int, body: bytes):
        if status == 409:  # the server's fence: another attempt holds the run, or none does
            detail = _json(body)
            raise LeaseLost(lease, detail.get("status"), detail.get("worker"), detail.get("attempt"))
        if status == 422 or status >= 500:  # a damaged transfer or a server in trouble: try again
            raise _Retry(self._refusal_text(status, body))
        raise DeliveryFailed(self._refusal_text(status, body))

    def _refusal_text(self, status: int, body: bytes) -> str:
        reason = _json(body).get("error") or body[:200].decode("utf-8", "replace") or "no reason given"
        if status == 401:
            return (f"the server {self.server} refused the worker token ({reason}); make a new one with "
                    "`python launch.py worker-token create NAME` on the server")
        return f"the server {self.server} answered {status}: {reason}"

    def _request(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            with self._connection() as conn:
                conn.request(method, target, headers={"Authorization": f"Bearer {self.token}", **headers})
                response = conn.getresponse()
                return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryFailed(f"cannot reach the server {self.server}: {error}") from None

    @contextmanager
    def _connection(self) -> Iterator[http.client.HTTPConnection]:
        parts = urllib.parse.urlsplit(self.server)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=TIMEOUT_S)
        try:
            yield conn
        finally:
            conn.close()


class _Retry(Exception):
    """A try that may succeed when made again (a checksum mismatch, a server error)."""


def server_url(text: str) -> str:
    """--server's value as a base URL: http(s)://host[:port], no path; ValueError saying why not."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not a server address; give it as http://HOST:PORT (e.g. http://studio-host:8501)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{text!r} has a path; give the server's address only, as http://HOST:PORT")
    return f"{parts.scheme}://{parts.netloc}"


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def token_from_environment() -> str:
    return os.environ.get(TOKEN_ENV, "").strip()


# ----- what a run sends ----------------------------------------------------------------------------

# The row's column for each kind of file (the sidecar and a GIF are found beside the video).
_COLUMNS = {"video": "video_path", "poster": "poster_path", "thumb": "thumb_path"}


def deliver_files(remote: RemoteMedia, lease: Lease, files: RunFiles) -> dict[str, str]:
    """Send every file the run made; the row's columns set to where the server keeps them."""
    columns: dict[str, str] = {}
    for kind in (f.name for f in fields(files)):
        path = Path(getattr(files, kind))
        if path.is_file():
            stored = remote.send(lease, kind, path)
            if kind in _COLUMNS:
                columns[_COLUMNS[kind]] = stored
    return columns


def deliver_log(remote: RemoteMedia, lease: Lease, log_path: Path) -> dict[str, str]:
    """Send the run's log (whatever the outcome) so that its page shows it; the log_path column
    set to the server's copy. A log that cannot be delivered stays on this host, named in the row."""
    if not log_path.is_file():
        return {}
    try:
        return {"log_path": remote.send(lease, "log", log_path)}
    except DeliveryFailed as failed:
        log.warning("run %s: the log stays on this host: %s", lease.run_id, failed)
        return {}
