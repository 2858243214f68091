"""The gallery counts matching runs only a few pages past the one shown ("N+ runs"), in the same
index walk as the page, so a page costs about the same however large the history; a search counts
the same way, and a page past the end still lands on the last page."""

from __future__ import annotations

import pytest

from studio.db.gallery import PAGES_COUNTED_AHEAD
from studio.views import RunQuery
from tests.integration.test_gallery import add

pytestmark = pytest.mark.both_dialects


def test_the_count_stops_a_few_pages_ahead_and_grows_with_the_page(services):
    made = [add(services, prompt="harbour at dusk" if n % 2 else "city") for n in range(30)]
    first = services.history.list_runs(RunQuery(page_size=2))
    cap = (1 + PAGES_COUNTED_AHEAD) * 2
    assert (first.total, first.more, first.pages) == (cap, True, 1 + PAGES_COUNTED_AHEAD)
    assert [r.id for r in first.runs] == sorted(made, reverse=True)[:2]
    deeper = services.history.list_runs(RunQuery(page=5, page_size=2))
    assert (deeper.total, deeper.more, deeper.page) == ((5 + PAGES_COUNTED_AHEAD) * 2, True, 5)
    near_end = services.history.list_runs(RunQuery(page=12, page_size=2))
    assert (near_end.total, near_end.more, near_end.pages) == (30, False, 15)

    search = services.history.list_runs(RunQuery(text="harb", page_size=2))
    assert (search.total, search.more) == (cap, True)
    assert all(r.prompt == "harbour at dusk" for r in search.runs)
    every = services.history.list_runs(RunQuery(text="harb", page_size=2, page=99))
    assert (every.page, every.total, every.more) == (8, 15, False)  # past the end: the last page
    assert services.history.list_runs_count() == 30  # the settings page's figure is exact


def test_a_page_number_past_any_history_is_the_last_page_not_an_overflow(services):
    made = [add(services, prompt="harbour") for _ in range(3)]
    for page in (2**40, 384_307_168_202_282_322, 2**80):  # from a hand-edited URL
        last = services.history.list_runs(RunQuery(page=page, page_size=2))
        assert (last.page, [r.id for r in last.runs]) == (2, [min(made)]), page
