"""A search's newest-first page is read from the full-text index, newest match first, only as far as
the page needs (studio.db.gallery._newest_matches). Its pages must be exactly those of the general
query even where run numbers and queueing times disagree (imported runs, a clock set back), and its
work must not grow with the number of runs that match."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from studio.db import gallery, migrate
from studio.db.engine import make_engine, session_scope
from studio.db.models import Run
from studio.views import RunQuery
from tests.integration.test_gallery import add

T0 = datetime(2026, 3, 1, 12, 0, 0)
WORDS = ("harbour", "harvest", "dusk", "dawn", "city", "東京")


def expected_pages(runs: dict[int, tuple[str, datetime, bool]], words: list[str], size: int) -> list[list[int]]:
    """The pages a search must show, worked out here: live runs whose prompt has a word starting
    with each search word (or, for 東京, holding it), newest queued first, then highest number."""
    def matches(prompt: str) -> bool:
        tokens = prompt.split()
        return all(any(t.startswith(w) if w.isascii() else w in t for t in tokens) for w in words)
    found = sorted((rid for rid, (prompt, _, trashed) in runs.items() if not trashed and matches(prompt)),
                   key=lambda rid: (runs[rid][1], rid), reverse=True)
    return [found[i:i + size] for i in range(0, len(found), size)] or [[]]


@pytest.mark.both_dialects
@pytest.mark.parametrize("seed", range(6))
def test_every_search_page_is_exact_when_numbers_and_queue_times_disagree(services, seed):
    rng = random.Random(seed)
    runs: dict[int, tuple[str, datetime, bool]] = {}
    for n in range(70):
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 4)))
        queued = T0 + timedelta(minutes=n)
        if rng.random() < 0.15:  # imported: a new number, an old time
            queued -= timedelta(days=rng.randrange(1, 30))
        elif rng.random() < 0.05:  # queued while the clock was ahead
            queued += timedelta(days=rng.randrange(1, 30))
        run_id = add(services, prompt=prompt, queued_at=queued)
        runs[run_id] = (prompt, queued, False)
    trashed = rng.sample(sorted(runs), 5)
    with session_scope(services.sessions) as session:
        session.execute(update(Run).where(Run.id.in_(trashed)).values(deleted_at=T0))
    runs |= {rid: (runs[rid][0], runs[rid][1], True) for rid in trashed}

    for search in ("harbour", "har", "h dusk", "dusk", "city har", "東京", "東京 d", "zebra"):
        for size in (1, 3, 7):
            pages = expected_pages(runs, search.split(), size)
            for page, expected in enumerate(pages, start=1):
                shown = services.history.list_runs(RunQuery(text=search, page=page, page_size=size))
                assert [r.id for r in shown.runs] == expected, (seed, search, size, page)


def add_runs(engine, count: int) -> None:
    """`count` runs in queueing order, every one matching the search below."""
    rows = [{"id": n, "status": "succeeded", "engine": "motion", "prompt": f"harbour at dusk, take {n}", "negative_prompt": "",
             "seed": n, "steps": 1, "guidance": 1.0, "frames": 16, "fps": 8, "width": 64, "height": 64, "params": {},
             "queued_at": T0 + timedelta(minutes=n)} for n in range(1, count + 1)]
    with engine.begin() as conn:
        conn.execute(insert(Run), rows)


def search_page_steps(engine) -> int:
    """SQLite virtual machine instructions spent on a search's first page (counted in tens)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw.set_progress_handler(count, 10)
        try:
            with Session(bind=conn) as session:
                page = gallery.list_runs(session, RunQuery(text="harbour dusk"))
        finally:
            raw.set_progress_handler(None, 0)
    assert len(page.runs) == 24 and page.more
    return steps[0]


def test_a_search_page_costs_the_same_however_many_runs_match(tmp_path):
    """Measured in SQLite's own instructions (which do not vary with the machine's load): with every
    run matching, a page at 4,000 runs is no dearer than at 400. Reading the full set of matches
    first, as the search did, made it about ten times dearer."""
    steps = {}
    for count in (400, 4000):
        engine = make_engine(f"sqlite:///{tmp_path / f'{count}.db'}")
        migrate.run(engine, "upgrade", "head")
        add_runs(engine, count)
        steps[count] = search_page_steps(engine)
        engine.dispose()
    assert steps[4000] <= 1.2 * steps[400], steps
