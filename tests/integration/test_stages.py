"""A running run says what it is doing (loading model · rendering · encoding · saving) so each stage
gets its own ETA: the worker records the stage and when it began, and clears it at the end."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from studio.db.engine import session_scope
from studio.jobs import store as queue_store
from studio.jobs.execute import _Heartbeat, _Progress
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStage, RunStatus
from studio.ui.status import stage_text
from studio.views import StageTimes
from tests.integration.conftest import SMALL, picture

@pytest.mark.both_dialects
def test_progress_records_each_stage_with_its_start_and_the_finish_clears_it(services):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=picture()))
    with session_scope(services.sessions) as session:
        lease = queue_store.lease_of(queue_store.claim_next(session, "test-worker"))
    progress = _Progress(services.sessions, lease, threading.Event(), _Heartbeat(services.sessions, lease, 30))

    def stage() -> tuple[str | None, datetime | None, int]:
        run = services.history.get_run(run_id)
        return run.stage, run.stage_started_at, run.step

    progress.enter(RunStage.LOADING)
    loading = stage()
    assert loading[0] == "loading" and loading[1] is not None
    progress.on_step(1, 4)  # the first step ends the loading
    assert stage()[0] == "rendering" and stage()[2] == 1 and stage()[1] >= loading[1]
    progress.on_step(2, 4)
    progress.flush()
    assert stage()[:1] == ("rendering",) and stage()[2] == 2
    progress.enter(RunStage.ENCODING)
    assert stage()[0] == "encoding"
    progress.enter(RunStage.SAVING)
    assert stage()[0] == "saving"
    with session_scope(services.sessions) as session:
        queue_store.finish_run(session, lease, RunStatus.SUCCEEDED)
    assert stage()[:2] == (None, None)


@pytest.mark.both_dialects
def test_a_real_run_ends_with_no_stage(services):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=picture()))
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded" and run.stage is None and run.stage_started_at is None


def test_each_stage_has_its_own_eta(services):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=picture()))
    base = services.history.get_run(run_id)
    now = datetime(2026, 1, 1, 12, 0, 0)
    usual = StageTimes(load=20.0, encode=2.0)

    def at(stage, step=0, total=0, since_s=0.0):
        started = now - timedelta(seconds=since_s)
        return stage_text(base.__class__(**{**base.__dict__, "stage": stage, "stage_started_at": started,
                                            "started_at": started, "step": step, "total_steps": total}), usual, now)

    assert at("loading", since_s=5) == "loading model · about 15.0 s left"
    assert at("loading", since_s=25) == "loading model · taking longer than the usual 20.0 s"
    assert at("rendering", step=12, total=48, since_s=6) == "rendering step 12/48 · about 18.0 s left"
    assert at("encoding", since_s=0.5) == "encoding · about 1.5 s left"
    assert at("saving") == "saving"
    assert stage_text(base, StageTimes(load=None, encode=None), now).startswith("rendering")  # no stage recorded
