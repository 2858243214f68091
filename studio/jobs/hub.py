"""The server as the media hub: a worker on another host with no shared folder fetches its run's
input from the server and sends every file the run made back to it (studio.web.worker_api is the
HTTP side; studio.jobs.remote the worker's). The server alone decides where each file goes, from
the run's row and the kind of file; nothing of a path comes from the worker.

Every fetch and upload is fenced like the worker's other writes: the worker id and attempt must
still hold the run's lease, checked before the first byte is taken and again before the file is
renamed into place. A file arrives with its sha256; one whose bytes do not match is refused (the
worker sends it again) and never appears."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from studio.config import Paths, Settings
from studio.db.engine import session_scope
from studio.jobs import store as queue_store
from studio.jobs import tokens
from studio.jobs.store import Lease
from studio.media.atomic import partial_path
from studio.storage import RunFiles, Storage, attempt_files, run_stem_prefix

_MB = 1024 * 1024
# What a run sends back, and the most each may weigh: a video of minutes at a high bitrate fits,
# and nothing else needs more than a few megabytes. A bigger upload is refused before it is stored.
FILE_KINDS: dict[str, int] = {
    "video": 16 * 1024 * _MB, "gif": 1024 * _MB, "poster": 64 * _MB, "thumb": 16 * _MB,
    "sidecar": 16 * _MB, "log": 256 * _MB,
}


class ChecksumMismatch(ValueError):
    """The bytes that arrived are not the ones the worker hashed: nothing was kept."""


class TooLarge(ValueError):
    """More bytes than the kind allows: nothing was kept."""


class Upload:
    """One incoming file: written under a temporary name beside its destination while its sha256
    is computed, renamed into place by commit() only when the digest matches and the lease holds."""

    def __init__(self, hub: MediaHub, lease: Lease, destination: Path, limit: int):
        self._hub, self._lease, self.destination, self._limit = hub, lease, destination, limit
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = partial_path(destination)
        self._handle = open(self._tmp, "wb")
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._limit:
            raise TooLarge(f"over {self._limit} bytes")
        self._digest.update(chunk)
        self._handle.write(chunk)

    def commit(self, expected_sha256: str) -> Path:
        self._handle.flush()
        os.fsync(self._handle.fileno())  # durable before the rename, as atomic_path does
        self._handle.close()
        if self._digest.hexdigest() != expected_sha256:
            raise ChecksumMismatch(f"sha256 of what arrived is {self._digest.hexdigest()}, not {expected_sha256}")
        with session_scope(self._hub.sessions) as session:  # the upload may have outlived the lease
            queue_store.held_run(session, self._lease)
        os.replace(self._tmp, self.destination)
        return self.destination

    def abort(self) -> None:
        self._handle.close()
        self._tmp.unlink(missing_ok=True)


@dataclass
class MediaHub:
    sessions: sessionmaker[Session]
    paths: Paths
    settings: Callable[[], Settings]

    def token_holder(self, token: str) -> str | None:
        """The name of the live worker token presented, or None (refused)."""
        with session_scope(self.sessions) as session:
            return tokens.holder(session, token)

    def hello(self, worker_id: str, token_name: str) -> bool:
        """A worker's hello: binds its id to this token (studio.jobs.tokens.bind); whether it may."""
        with session_scope(self.sessions) as session:
            return tokens.bind(session, worker_id, token_name)

    def may_act_for(self, worker_id: str, token_name: str) -> bool:
        """Whether a request with this token may act for this worker: only the token the worker
        said hello with may (a read: the hello did the writing)."""
        with session_scope(self.sessions) as session:
            return tokens.bound_to(session, worker_id) == token_name

    def input_of(self, lease: Lease, role: str = "input") -> Path:
        """The run's input (or end) image file, for the attempt holding it; LeaseLost when it does
        not, FileNotFoundError when the run has none or the file is gone."""
        with session_scope(self.sessions) as session:
            run = queue_store.held_run(session, lease)
            image = run.end_image if role == "end" else run.input_image
            path = Path(image.path) if image is not None else None
        if path is None or not path.is_file():
            raise FileNotFoundError(f"run {lease.run_id} has no {role} image file on the server")
        return path

    def start_upload(self, lease: Lease, kind: str, declared_size: int | None) -> Upload:
        """Where this attempt's file of this kind goes, ready to take its bytes; LeaseLost when the
        attempt does not hold the run, TooLarge when the declared size is over the kind's limit."""
        limit = FILE_KINDS[kind]
        if declared_size is not None and declared_size > limit:
            raise TooLarge(f"{declared_size} bytes declared; a {kind} may have at most {limit}")
        with session_scope(self.sessions) as session:
            run = queue_store.held_run(session, lease)
            started = run.started_at or run.queued_at
        storage = self._storage()
        if kind == "log":
            destination = storage.run_log(lease.run_id)
        else:
            files = attempt_files(storage.run_files(lease.run_id, started), lease.attempt)
            destination = getattr(files, kind)
            if lease.attempt > 1:
                self._remove_earlier_attempts(lease.run_id, files)
        # As a local run checks before it writes: DiskFull names the folder, and nothing is taken.
        storage.ensure_free_space(destination.parent, (declared_size or 0) + storage.min_free_bytes)
        return Upload(self, lease, destination, limit)

    def _storage(self) -> Storage:
        return Storage(inputs_dir=self.paths.inputs_dir, outputs_dir=self.settings().outputs_dir(self.paths),
                       run_logs_dir=self.paths.run_logs_dir)

    @staticmethod
    def _remove_earlier_attempts(run_id: int, current: RunFiles) -> None:
        """Files an earlier attempt of this run sent before it lost its lease are nobody's: the run
        keeps one set of files, the holding attempt's."""
        keep = {Path(p).name for p in (current.video, current.gif, current.poster, current.thumb, current.sidecar)}
        run_prefix = run_stem_prefix(run_id)
        for old in current.video.parent.parent.glob(f"*/{run_prefix}*"):
            if old.name not in keep and old.is_file():
                old.unlink(missing_ok=True)
