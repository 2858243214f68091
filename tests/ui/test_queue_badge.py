"""The sidebar's queue badge and a running run's progress panel (AppTest): both reread the database
on the same timer, so the badge never shows a step the panel beside it has long passed."""

from __future__ import annotations

import os
import socket
import pytest
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services
from studio.ui.status import POLL_SECONDS
from tests.ui.conftest import FRAME


@pytest.fixture()
def running(data_dir):
    """A run rendering step 1 of 120, held by this process."""
    cached_services.clear()
    svc = cached_services()
    with session_scope(svc.sessions) as session:
        run = run_rows.add_run(session, engine="motion", model_id=None, input_image_id=None,
                               params={"width": 64, "height": 64, "frames": 120, "fps": 8, "seed": 1, "prompt": "x"})
        run.status, run.stage, run.step, run.total_steps = "running", "rendering", 1, 120
        run_id = run.id
        session.flush()
        run_rows.update_run(session, run_id, worker_id=f"{socket.gethostname()}:{os.getpid()}:ui-test")
    yield run_id
    cached_services().close()
    cached_services.clear()


def test_the_queue_badge_polls_with_the_run_panel(running, monkeypatch):
    intervals = []
    enqueue = ScriptRunContext.enqueue

    def recording(self, msg):
        if msg.WhichOneof("type") == "auto_rerun":
            intervals.append(msg.auto_rerun.interval)
        return enqueue(self, msg)

    monkeypatch.setattr(ScriptRunContext, "enqueue", recording)
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["run"] = str(running)
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    assert any(f"Run #{running} · rendering step 1/120" in p.proto.text for p in at.main.get("progress"))
    # The badge and the panel each ask to be redrawn on a timer, and on the same one.
    assert len(intervals) >= 2 and set(intervals) == {POLL_SECONDS}, intervals
