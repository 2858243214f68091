"""Workers as members of the queue, on both databases: each lists what it can run, takes only runs
of those engines, and is shown while it is alive."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from studio.db.engine import session_scope
from studio.db.models import Worker as WorkerRow
from studio.jobs import store as queue_store
from studio.jobs.store import db_time
from studio.jobs.queue import SubmitRequest
from studio.jobs.worker import Worker
from tests.integration.cli import launch
from tests.integration.conftest import SMALL, picture

pytestmark = pytest.mark.both_dialects


def submit(services) -> int:
    return services.queue.submit(SubmitRequest(engine="motion", params=dict(SMALL), image=picture(), image_name="p.png"))


def worker_for(services, engines) -> Worker:
    return Worker(session_factory=services.sessions, registry=services.registry, storage=services.storage,
                  paths=services.paths, poll_interval=0.05, engines=engines)


def test_a_worker_takes_only_runs_of_the_engines_it_lists(services):
    run_id = submit(services)
    diffusion_only = worker_for(services, ["tiny-wan"])
    assert diffusion_only.run_once() is False  # the motion run is not its to take
    assert services.history.get_run(run_id).status == "queued"
    motion = worker_for(services, ["motion"])
    assert motion.run_once() is True
    assert services.history.get_run(run_id).status == "succeeded"


def test_live_workers_are_listed_with_their_engines_until_they_stop(services):
    restricted = worker_for(services, ["tiny-wan", "tiny-ltx"])
    restricted.report()
    services.worker.report()
    listed = {w.id: w for w in services.workers()}
    assert listed[restricted.worker_id].engines == ("tiny-wan", "tiny-ltx")
    assert listed[restricted.worker_id].can_run("tiny-ltx") and not listed[restricted.worker_id].can_run("motion")
    assert listed[services.worker.worker_id].takes_any_engine
    restricted.stop()
    assert restricted.worker_id not in {w.id for w in services.workers()}


def test_a_worker_not_heard_from_for_a_while_is_not_live(services):
    quiet = worker_for(services, ["motion"])
    quiet.report()
    with session_scope(services.sessions) as session:  # its last report, long ago
        session.execute(update(WorkerRow).where(WorkerRow.id == quiet.worker_id)
                        .values(last_seen=db_time(session, -queue_store.LIVE_WITH_HEARTBEAT_S - 5)))
    assert quiet.worker_id not in {w.id for w in services.workers()}


def test_worker_engines_flag_refuses_an_engine_it_does_not_know(studio_env):
    result = launch("worker", "--engines", "motion,warp-drive", env=studio_env, timeout=60)
    assert result.returncode == 2
    assert "Error: --engines: no engine 'warp-drive'; the engines are: motion" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_run_waits_briefly_for_the_worker_that_has_its_model_loaded(services):
    from studio.jobs.store import affinity_grace_seconds, claim_next
    from studio.db.models import Run

    warm, cold = worker_for(services, None), worker_for(services, None)
    warm._pipeline.use(services.registry.get("tiny-wan22-ti2v"))  # its model is in memory (nothing loads here)
    warm.report()
    cold.report()
    listed = {w.id: w for w in services.workers()}
    assert listed[warm.worker_id].model_loaded == "tiny-wan22-ti2v" and listed[cold.worker_id].model_loaded is None
    motion_run = submit(services)
    wan_run = services.queue.submit(SubmitRequest(engine="tiny-wan22-ti2v", params={"width": 64, "height": 64},
                                                  image=picture(), image_name="p.png"))
    with session_scope(services.sessions) as session:
        # The cold worker leaves the run of the warm worker's model alone and takes the older other one...
        assert claim_next(session, cold.worker_id).id == motion_run
        assert claim_next(session, cold.worker_id) is None
    with session_scope(services.sessions) as session:  # ... which the warm one takes, ahead of older runs
        assert claim_next(session, warm.worker_id, loaded="tiny-wan22-ti2v").id == wan_run
    with session_scope(services.sessions) as session:  # queued again, past the grace: anyone takes it
        session.execute(update(Run).where(Run.id == wan_run).values(
            status="queued", worker_id=None, queued_at=db_time(session, -affinity_grace_seconds() - 5)))
    with session_scope(services.sessions) as session:
        assert claim_next(session, cold.worker_id).id == wan_run
    # A warm worker busy with a run is not waited for: a new run of its model starts at once elsewhere.
    warm.current_run_id = motion_run
    warm.report()
    busy_wan_run = services.queue.submit(SubmitRequest(engine="tiny-wan22-ti2v", params={"width": 64, "height": 64},
                                                       image=picture(), image_name="p.png"))
    with session_scope(services.sessions) as session:
        assert claim_next(session, cold.worker_id).id == busy_wan_run
