"""What one render of a page costs the studio: how often it goes to the database for the settings
and how often it reads model weights folders (model_index.json, safetensors headers). Both are
cached between changes, so one render of Generate or Settings reads the settings at most twice and
each engine's weights at most once.

Counted with wrappers that call through to the real code on a real SQLite file: every SQL
statement that reads the settings table, and every engine's weights_status()."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
READS_SETTINGS = re.compile(r"\bFROM\s+\"?settings\"?(\s|$)", re.IGNORECASE)


class Counts:
    """Settings reads (SQL statements on the settings table) and weights reads per engine id."""

    def __init__(self):
        self.settings = 0
        self.weights: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_statement(self, _conn, _cursor, statement, _params, _context, _many):
        if READS_SETTINGS.search(statement):
            with self._lock:
                self.settings += 1

    def reset(self):
        with self._lock:
            self.settings = 0
            self.weights.clear()


@pytest.fixture()
def counted(data_dir, monkeypatch):
    """The server-wide services on a fresh data folder (built as the lifespan builds them at boot),
    with counting wrappers around the settings table and every engine's weights check."""
    cached_services.clear()
    svc = cached_services()
    counts = Counts()
    event.listen(svc.db, "before_cursor_execute", counts.on_statement)
    for engine in svc.registry.engines():
        real = engine.weights_status

        def counting(real=real, engine_id=engine.info.id):
            with counts._lock:
                counts.weights[engine_id] += 1
            return real()

        monkeypatch.setattr(engine, "weights_status", counting)
    yield svc, counts
    event.remove(svc.db, "before_cursor_execute", counts.on_statement)
    cached_services().close()
    cached_services.clear()


def render(page: str | None, counts: Counts) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    if page is None:
        counts.reset()
        at.run()
    else:
        # AppTest's switch_page runs the page script without the frame around it, so this counts
        # the page's own reads (the frame's one change-marker query is not among them).
        at.run()
        counts.reset()
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def assert_cheap(counts: Counts, page: str) -> None:
    print(f"{page}: {counts.settings} settings reads, weights reads {dict(counts.weights)}")
    assert counts.settings <= 2, f"{page} read the settings {counts.settings} times in one render"
    over = {engine: n for engine, n in counts.weights.items() if n > 1}
    assert not over, f"{page} read these engines' weights more than once: {over}"


def test_one_render_of_generate_reads_settings_twice_at_most_and_weights_once_per_engine(counted):
    _svc, counts = counted
    render(None, counts)  # Generate is the default page
    assert_cheap(counts, "Generate")


def test_one_render_of_settings_reads_settings_twice_at_most_and_weights_once_per_engine(counted):
    _svc, counts = counted
    render("pages/settings.py", counts)
    assert_cheap(counts, "Settings")
