"""The settings, read from the database once per change instead of at every use.

Pages, engines (model folders) and the plan caption ask for the settings many times per render.
This cache holds the last loaded Settings. Saving through it replaces the value at once, so
everything in this process (the pages and the worker thread share one cache through Services)
sees a save immediately. A change made by another process (the headless worker, the CLI) is
noticed by `revalidate()`, one cheap query of the settings table's change marker (row count and
latest updated_at), which the UI calls once per render.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from studio.config import Settings
from studio.db import settings as settings_rows
from studio.db.engine import session_scope
from studio.db.models import Setting

Marker = tuple[int, datetime | None]


class SettingsCache:
    def __init__(self, session_factory: sessionmaker[Session]):
        self._sessions = session_factory
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._marker: Marker | None = None

    def get(self) -> Settings:
        with self._lock:
            if self._settings is None:
                with session_scope(self._sessions) as session:
                    self._marker = _marker(session)
                    self._settings = settings_rows.load_settings(session)
            # A copy each time: callers edit the Settings they get (the Settings page, tests) and
            # must not change the cached one before saving.
            return self._settings.model_copy(deep=True)

    def save(self, settings: Settings) -> None:
        with self._lock:
            with session_scope(self._sessions) as session:
                settings_rows.save_settings(session, settings)
            # Loaded again on next use rather than kept as passed: what is stored is what counts
            # (unknown keys dropped, values as the database returns them).
            self._settings = None

    def revalidate(self) -> None:
        """Drop the cached settings if the stored ones changed since they were loaded (a save from
        another process)."""
        with self._lock:
            if self._settings is None:
                return
            with session_scope(self._sessions) as session:
                if _marker(session) != self._marker:
                    self._settings = None


def _marker(session: Session) -> Marker:
    count, latest = session.execute(select(func.count(), func.max(Setting.updated_at))).one()
    return count, latest
