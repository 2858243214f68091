"""What the AppTest tests share: the real app (frame.py and its pages) on a fresh data folder, with
the server-wide services built for it and stopped afterwards, and how to find a form widget."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def studio(data_dir):
    """The app after its first run, on a fresh data folder."""
    cached_services.clear()
    at = AppTest.from_file(FRAME, default_timeout=60).run()
    assert not at.exception, at.exception
    yield at
    cached_services().close()
    cached_services.clear()


def widget_key(widgets, name: str) -> str:
    """The full key of the widget whose form key is `name` (the form adds "@<generation>")."""
    return next(w.key for w in widgets if w.key and w.key.startswith(f"{name}@"))
