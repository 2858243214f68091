"""How `run` and `submit --wait` wait for their runs (studio.submitting.wait_for),
on a real history with the real camera-motion engine."""

from __future__ import annotations

import time

from studio.cli.console import Console
from studio.cli.submission import queue_runs
from studio.db.engine import session_scope
from studio.jobs import store as queue_store
from studio.submitting import wait_for
from tests.integration.conftest import SMALL, picture


def test_waiting_runs_the_queue_here_when_no_other_worker_does(services):
    [run_id] = queue_runs(services, "motion", dict(SMALL), [(picture(), "photo.png")])
    [row] = wait_for(services, [run_id], timeout=60, grace=0, on_note=Console(quiet=True).note)
    assert row.id == run_id and row.status == "succeeded" and row.video_path


def test_waiting_on_a_run_another_worker_holds_gives_up_after_the_timeout(services):
    """Another host's worker claimed the run and went quiet: the wait ends, the run stays its."""
    [run_id] = queue_runs(services, "motion", dict(SMALL), [(picture(), "photo.png")])
    with session_scope(services.sessions) as session:
        claimed = queue_store.claim_next(session, "other-host:4242:feedface", 3600)
        assert claimed.id == run_id
    started = time.monotonic()
    assert wait_for(services, [run_id], timeout=1.0, grace=0, on_note=Console(quiet=True).note) is None
    assert time.monotonic() - started < 10
    row = services.history.get_run(run_id)
    assert row.status == "running"
