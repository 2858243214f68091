"""Post-processing on the real pages (AppTest, a temporary history, the camera-motion engine): the
Generate form's "After generating" choices are queued with the run and come back with Edit &
re-run; a finished run's page makes a smoothed child run with one click."""

from __future__ import annotations

import time

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services
from tests.ui.conftest import FRAME, widget_key

SMALL = {"width": 64, "height": 64, "frames": 6, "fps": 8}


def finished(svc, run_id: int, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = svc.history.get_run(run_id)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {svc.history.get_run(run_id).status} after {timeout} s")


def test_after_generating_is_queued_with_the_run_and_edit_brings_it_back(studio):
    svc = cached_services()
    at = studio.selectbox(key=widget_key(studio.selectbox, "interpolate")).set_value(4).run()
    at = at.checkbox(key=widget_key(at.checkbox, "pingpong")).check().run()
    assert not at.exception, at.exception
    at = next(b for b in at.button if b.label == "Generate").click().run()
    run_id = svc.history.recent_run_ids(1)[0]
    params = svc.history.get_run(run_id).params
    assert (params["interpolate"], params["pingpong"]) == (4, True) and "upscale" not in params

    plain = svc.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=Image.new("RGB", (64, 64))))
    at.query_params["edit"] = str(plain)
    at = at.run()
    assert at.selectbox(key=widget_key(at.selectbox, "interpolate")).value == 1, "a run without them clears them"
    at.query_params["edit"] = str(run_id)
    at = at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key=widget_key(at.selectbox, "interpolate")).value == 4
    assert at.checkbox(key=widget_key(at.checkbox, "pingpong")).value is True


def test_smooth_this_run_makes_a_linked_child(studio):
    svc = cached_services()
    run_id = svc.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=Image.new("RGB", (64, 64), (9, 90, 200))))
    assert finished(svc, run_id).status == "succeeded"
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["run"] = str(run_id)
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    at = next(b for b in at.button if b.label == "Smooth x2").click().run()
    [child] = svc.history.lineage(run_id).children
    child = finished(svc, child.id)
    assert (child.engine, child.status, child.parent_id, child.frames, child.fps) == ("smooth", "succeeded", run_id, 11, 16)
    page = AppTest.from_file(FRAME, default_timeout=60)
    page.query_params["run"] = str(child.id)
    page.run()
    page.switch_page("pages/gallery.py").run()
    assert not page.exception, page.exception
    [edit] = [b for b in page.button if b.label == "Edit & re-run"]  # shown on the post run's page, disabled
    assert edit.disabled
    links = [link.proto.label for link in page.get("page_link")]
    assert f"Compare with its source, #{run_id}" in links

    # Its source deleted for good: no link to a comparison that cannot show it.
    svc.history.trash([run_id])
    svc.history.purge([run_id])
    page = AppTest.from_file(FRAME, default_timeout=60)
    page.query_params["run"] = str(child.id)
    page.run()
    page.switch_page("pages/gallery.py").run()
    assert not page.exception, page.exception
    assert not [link for link in page.get("page_link") if "Compare with its source" in link.proto.label]
