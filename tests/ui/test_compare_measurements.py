"""The real Compare page (frame.py → pages/compare.py) in AppTest, on a temporary history whose runs
the real worker made: a chart per measurement with a line per measured run, the means in the table,
and a run made before measuring shown as 'not measured' until Measure is pressed; a run still
being made is said to be, until it has finished."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.jobs import store as queue_store
from studio.jobs.queue import SubmitRequest
from studio.ui.measurements import MEASURES, NOT_MEASURED
from studio.ui.runtime import services as cached_services
from tests.integration.conftest import SMALL, picture

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def three_runs(data_dir):
    cached_services.clear()
    svc = cached_services()
    ids = [svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "motion": motion, "seed": 1},
                                          image=picture()))
           for motion in ("zoom_in", "pan_left", "drift")]
    svc.worker.run_until_idle()
    for _ in range(200):  # the app's own worker thread may hold the last run a moment longer
        runs = svc.history.get_runs(ids)
        if all(r.status == "succeeded" for r in runs):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"runs did not finish: {[(r.id, r.status, r.error) for r in runs]}")
    with session_scope(svc.sessions) as session:  # the last one as if made before runs were measured
        run_rows.update_run(session, ids[-1], measurements=None, motion_mean=None, flicker_mean=None)
    yield svc, ids
    cached_services().close()
    cached_services.clear()


def test_compare_charts_the_measured_runs_and_measures_the_one_made_before(three_runs):
    svc, ids = three_runs
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["runs"] = ",".join(map(str, ids))
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception

    captions = " ".join(c.value for c in at.caption)
    assert f"#{ids[-1]} is {NOT_MEASURED}" in captions
    table = " ".join(h.proto.body for h in at.get("html"))
    assert NOT_MEASURED in table and "motion (mean, px/frame)" in table
    assert len(at.get("vega_lite_chart")) == len(MEASURES)

    at.button(key="measure-selection").click().run()
    assert not at.exception, at.exception
    assert svc.history.get_run(ids[-1]).measurements is not None
    assert f"is {NOT_MEASURED}" not in " ".join(c.value for c in at.caption)
    assert NOT_MEASURED not in " ".join(h.proto.body for h in at.get("html"))
    assert len(at.get("vega_lite_chart")) == len(MEASURES)


def test_a_runs_page_shows_its_measurements_or_measures_it(three_runs):
    svc, ids = three_runs
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["run"] = str(ids[-1])
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    assert "Not measured." in [c.value for c in at.caption]
    parameters = list(at.dataframe[0].value["parameter"])  # labels, as the form names them
    assert "Motion amount" in parameters and "guidance" not in parameters and "Easing" in parameters, parameters
    at.button(key=f"measure-run-{ids[-1]}").click().run()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "Motion (mean, px/frame)" in labels and "First frame vs input (SSIM)" in labels
    assert "Not measured." not in [c.value for c in at.caption]


def test_compare_says_a_run_is_still_being_made_and_shows_it_once_finished(three_runs):
    """A compared run that another worker is still making: the page says so and keeps looking (a
    fragment that polls; AppTest does not run its timer, so the redraw is a rerun here)."""
    svc, ids = three_runs
    # The app's own worker thread would take the new run at its next poll (it did, on a CI runner,
    # before the claim below); stopped, it leaves the run to the other host for certain.
    svc.worker.stop()
    making = svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 2}, image=picture()))
    with session_scope(svc.sessions) as session:  # held by another host, as it would be mid-run
        claimed = queue_store.claim_next(session, "other-host:4242:feedface", 3600, loaded="motion")
    assert claimed is not None and claimed.id == making
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["runs"] = f"{ids[0]},{making}"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    still = "Some of these runs are still being made"
    assert any(still in c.value for c in at.caption), [c.value for c in at.caption]

    finished = svc.history.get_run(ids[0])
    with session_scope(svc.sessions) as session:  # the other host finishes it, with the same files
        run_rows.update_run(session, making, status="succeeded", video_path=finished.video_path,
                            poster_path=finished.poster_path, thumb_path=finished.thumb_path)
    at.run()
    assert not at.exception, at.exception
    assert not any(still in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_run_named_twice_in_the_address_is_compared_once_and_a_cut_is_said(three_runs):
    """?runs=1,1,1,1 played run #1 four times side by side (and got round 'pick at least two')."""
    svc, ids = three_runs
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["runs"] = ",".join(map(str, [ids[0]] * 4))
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="compare_pick").value == [ids[0]]
    assert any("Pick at least two runs" in i.value for i in at.info)
    many = AppTest.from_file(FRAME, default_timeout=60)
    many.query_params["runs"] = ",".join(map(str, [*ids, 99997, 99998, ids[1]]))
    many.run()
    many.switch_page("pages/compare.py").run()
    assert many.multiselect(key="compare_pick").value == [*ids, 99997]
    assert any("#99998 left out" in c.value for c in many.caption), [c.value for c in many.caption]
