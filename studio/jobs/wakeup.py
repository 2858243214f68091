"""Waking idle workers the moment a run is queued. On PostgreSQL, queueing a run (and returning one
to the queue) sends NOTIFY on one channel inside the same transaction, so it is delivered only when
the run is there to be claimed; each worker LISTENs on a connection of its own and wakes at once.
The worker's poll stays as the fallback (a notification lost with a dropped connection), and is the
only way on SQLite, which has no notifications."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger("studio.worker")

CHANNEL = "studio_queue"
RECONNECT_DELAY_S = 2.0  # after a lost connection; the poll covers the gap meanwhile


def notify_queued(session: Session) -> None:
    """Tell listening workers that a run is queued, when this transaction commits (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, "")))


class QueueListener:
    """A thread that calls `wake` whenever a run is queued; nothing on SQLite."""

    def __init__(self, engine: Engine, wake: Callable[[], None], stop: threading.Event):
        self._engine, self._wake, self._stop = engine, wake, stop
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while a LISTEN is in place (tests wait on it)

    @property
    def supported(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def start(self) -> None:
        if not self.supported or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._listen_forever, name="studio-listen", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _listen_forever(self) -> None:
        import psycopg

        # The URL as libpq reads it (the password included, which SQLAlchemy's rendering hides).
        conninfo = make_url(self._engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake()  # anything queued while no one listened is taken now
                    while not self._stop.is_set():
                        # A bounded wait, so that a stopping worker is seen within a second.
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except Exception:  # a dropped connection: the poll covers for it until it is back
                self.listening.clear()
                log.warning("listening for queued runs failed; polling until it works again", exc_info=True)
                self._stop.wait(RECONNECT_DELAY_S)
