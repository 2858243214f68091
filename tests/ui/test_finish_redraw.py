"""The sidebar queue badge is the second timer behind the Generate page's redraw: when a run this
browser session watches has finished since the page was drawn, the badge asks for a full redraw
(so the video appears even if the page's own progress fragment has stopped ticking); while the run
is still active it does not."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import repo
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services


def page_with_badge(run_id: int) -> None:
    """A stand-in for frame.py + Generate: the first full run records the watch the Generate page
    records (this session's runs, none drawn as finished); the frame forgets it on later full runs."""
    import streamlit as st

    from studio.ui.status import forget_watched_runs, queue_badge

    st.session_state["full_runs"] = st.session_state.get("full_runs", 0) + 1
    if st.session_state["full_runs"] == 1:
        st.session_state["watched_runs"] = ((run_id,), frozenset())
    else:
        forget_watched_runs()
    queue_badge()


@pytest.fixture()
def svc(data_dir):
    cached_services.clear()
    services = cached_services()
    yield services
    services.close()
    cached_services.clear()


def add_run(svc, status: str) -> int:
    with session_scope(svc.sessions) as session:
        run = repo.add_run(session, engine="motion", model_id=None, input_image_id=None,
                           params={"width": 64, "height": 64, "frames": 8, "fps": 8, "seed": 1, "prompt": "x"})
        session.flush()
        if status != "queued":
            repo.finish_run(session, run.id, status)
        return run.id


@pytest.mark.parametrize(("status", "full_runs"), [("succeeded", 2), ("failed", 2), ("queued", 1)])
def test_badge_redraws_the_page_once_when_a_watched_run_has_finished(svc, status, full_runs):
    run_id = add_run(svc, status)
    at = AppTest.from_function(page_with_badge, args=(run_id,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["full_runs"] == full_runs
    # Redrawn: the frame forgot the old watch. Not redrawn: the watch stays for the next tick.
    assert ("watched_runs" in at.session_state) == (full_runs == 1)
