"""A Ctrl-C or SIGTERM whose KeyboardInterrupt Python lost (it fired inside a finaliser, which
prints and drops it) still stops a run made on the main thread: the run's next progress check
raises it again, the run is recorded interrupted with no files, and the interrupt goes on up."""

from __future__ import annotations

import pytest

from studio import interrupts
from studio.jobs.queue import SubmitRequest
from tests.integration.conftest import SMALL, picture


@pytest.fixture()
def asked_to_stop():
    interrupts.requested.set()  # what the signal handler leaves behind when its exception is lost
    yield
    interrupts.requested.clear()


def test_a_lost_interrupt_still_stops_the_run_at_its_next_step(services, asked_to_stop):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "frames": 24}, image=picture()))
    with pytest.raises(KeyboardInterrupt):
        services.worker.run_once()  # as `launch.py run` does, on this (the main) thread
    run = services.history.get_run(run_id)
    assert run.status == "interrupted" and run.video_path is None, (run.status, run.error)
    outputs = services.paths.data_dir / "outputs"
    assert not outputs.exists() or not [p for p in outputs.rglob("*") if p.is_file()]
