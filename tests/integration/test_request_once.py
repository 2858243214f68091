"""One run, one validation: the request is checked when it is built (studio.requests.validate) and
the worker runs the stored request as it is. Counted through the real queue, worker and engine."""

from __future__ import annotations

import pytest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.engines.motion import MotionEngine
from studio.jobs.queue import SubmitRequest
from studio.requests import REQUEST_VERSION
from tests.integration.conftest import SMALL, picture

# The queue is the part of the studio that most depends on the database: run it on both.
pytestmark = pytest.mark.both_dialects


@pytest.fixture()
def validations(monkeypatch):
    """Every call of the engine's own check, counted and passed through to the real one."""
    calls: list[dict] = []
    real = MotionEngine.validate

    def counting(self, params):
        calls.append(dict(params))
        return real(self, params)

    monkeypatch.setattr(MotionEngine, "validate", counting)
    return calls


def submit(services, **params) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, **params}, image=picture(),
                                               image_name="test.png"))


def test_a_request_is_validated_exactly_once_between_submit_and_the_engine(services, validations):
    run_id = submit(services, prompt="slow push in")
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    assert len(validations) == 1, validations
    assert isinstance(run.seed, int) and run.params["seed"] == run.seed  # drawn once, in that one check


def test_a_previewed_request_is_queued_without_a_second_check(services, validations):
    preview = services.queue.validate("motion", {**SMALL, "seed": 5})
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 5}, image=picture(),
                                                 validated=preview))
    services.worker.run_until_idle()
    assert services.history.get_run(run_id).status == "succeeded"
    assert len(validations) == 1


def test_a_sweep_validates_each_run_once(services, validations):
    from studio.sweeps import Axis

    run_ids = services.queue.submit_sweep("motion", {**SMALL}, [Axis("guidance", (0.5, 1.0))], image=picture())
    services.worker.run_until_idle()
    assert [r.status for r in services.history.get_runs(run_ids)] == ["succeeded", "succeeded"]
    assert len(validations) == 2


def test_a_row_from_an_older_studio_is_validated_again_before_it_runs(services, validations):
    run_id = submit(services, seed=3)
    with session_scope(services.sessions) as session:  # as stored before requests carried a version
        run_rows.update_run(session, run_id, request_version=None, request_digest=None)
    services.worker.run_until_idle()
    assert services.history.get_run(run_id).status == "succeeded"
    assert len(validations) == 2  # at submit, and again by the worker


def test_the_stored_row_records_its_request_version(services):
    run_id = submit(services)
    with session_scope(services.sessions) as session:
        run = run_rows.get_run(session, run_id)
        assert run.request_version == REQUEST_VERSION and len(run.request_digest) == 64
