"""Two workers claiming at the same moment on PostgreSQL (a real throwaway cluster): the second
takes the next queued run instead of waiting on the row the first is claiming."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from studio.jobs import store as queue_store
from studio.jobs.queue import SubmitRequest
from tests.integration.conftest import SMALL, picture


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_claim_passes_over_the_row_another_worker_is_claiming(services):
    first, second = (services.queue.submit(SubmitRequest(engine="motion", params=dict(SMALL), image=picture(),
                                                         image_name="p.png")) for _ in range(2))
    one, other = services.sessions(), services.sessions()
    try:
        claimed_by_one = queue_store.claim_next(one, "host-a:1:aaaa", 60)  # its transaction stays open
        assert claimed_by_one.id == first
        # Without SKIP LOCKED the other worker would wait on the first row's lock; bound that wait.
        other.execute(text("SET LOCAL lock_timeout = '3s'"))
        claimed_by_other = queue_store.claim_next(other, "host-b:2:bbbb", 60)
        assert claimed_by_other is not None and claimed_by_other.id == second
        one.commit()
        other.commit()
    finally:
        one.close()
        other.close()
    rows = {run.id: run for run in services.history.get_runs([first, second])}
    assert rows[first].status == rows[second].status == "running"
