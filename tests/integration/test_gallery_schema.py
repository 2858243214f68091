"""The gallery's schema: migration 0003 (video length, partial indexes) and query plans. Every statement
list_runs and the facet lists actually send (captured from the engine) must be served by indexes."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event, select

from studio.db import gallery, migrate
from studio.db.engine import make_engine, make_session_factory, session_scope
from studio.db.gallery import RunQuery
from studio.db.models import Run
from studio.db.runs import add_run, set_tags

QUERIES = {
    "default page": RunQuery(),
    "deep page": RunQuery(page=40),
    "oldest": RunQuery(sort="oldest"),
    "longest": RunQuery(sort="longest"),
    "trash": RunQuery(in_trash=True),
    "search": RunQuery(text="harbour dusk"),
    "search inside words": RunQuery(text="世界"),
    "search of both kinds": RunQuery(text="harbour 世界"),
    "engine": RunQuery(engines=["motion", "svd"]),
    "status": RunQuery(statuses=["failed"]),
    "favourites": RunQuery(favorites_only=True),
    "tags": RunQuery(tags=["sunset", "keeper"]),
    "resolution": RunQuery(resolutions=[(1280, 720), (512, 512)]),
    "frames": RunQuery(frames=[16, 49]),
    "seed": RunQuery(seed=42),
    "dates": RunQuery(queued_from=datetime(2026, 1, 1), queued_until=datetime(2026, 2, 1)),
    "sweep": RunQuery(sweep_id=3),
    "longest favourites of an engine": RunQuery(sort="longest", favorites_only=True, engines=["svd"]),
    "most motion": RunQuery(sort="most motion"),
    "least flicker": RunQuery(sort="least flicker"),
    "calm and steady": RunQuery(motion_min=0.5, flicker_max=2.0),
}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'studio.db'}")
    migrate.run(engine, "upgrade", "head")
    yield engine
    engine.dispose()


def captured(engine, action) -> list[tuple[str, tuple]]:
    statements: list[tuple[str, tuple]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(make_session_factory(engine)) as session:
            action(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [(s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


def plan(engine, statement: str, parameters) -> list[str]:
    with engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


def table_scans(lines: list[str]) -> list[str]:
    """Plan lines that read a whole table row by row (an index scan or a search is fine)."""
    return [line for line in lines if line.startswith("SCAN ") and " INDEX " not in line
            and "VIRTUAL TABLE" not in line and not line.startswith(("SCAN v", "SCAN r", "SCAN first", "SCAN (subquery", "SCAN anon_"))]


@pytest.mark.parametrize("name", list(QUERIES))
def test_gallery_queries_use_indexes(database, name):
    statements = captured(database, lambda session: gallery.list_runs(session, QUERIES[name]))
    assert len(statements) >= 1  # the page's ids, which are also the count (the rows load only when there are ids)
    for statement, parameters in statements:
        lines = plan(database, statement, parameters)
        assert table_scans(lines) == [], f"{name}: {statement}\n{lines}"


@pytest.mark.parametrize(("name", "index"), [
    ("default page", "ix_runs_live_queued_at"),
    ("oldest", "ix_runs_live_queued_at"),
    ("longest", "ix_runs_live_video_seconds"),
    ("trash", "ix_runs_trashed"),
    ("seed", "ix_runs_seed"),
    ("dates", "ix_runs_live_queued_at"),
    ("search inside words", "ix_runs_live_queued_at"),
    ("most motion", "ix_runs_live_motion_mean"),
    ("least flicker", "ix_runs_live_flicker_mean"),
])
def test_the_sorts_read_their_index_in_order(database, name, index):
    """No temporary sort of the whole history for a page of the default, oldest, longest or trash
    listing: the index hands the rows over in page order."""
    page = captured(database, lambda session: gallery.list_runs(session, QUERIES[name]))[0]
    lines = plan(database, *page)
    assert any(index in line for line in lines), lines
    if name not in ("seed",):
        assert not any("TEMP B-TREE" in line for line in lines), lines


def test_facet_lists_seek_the_index_instead_of_reading_every_run(database):
    statements = captured(database, gallery.gallery_facets)
    assert len(statements) == 4
    for statement, parameters in statements:
        lines = plan(database, statement, parameters)
        assert table_scans(lines) == [], lines
        assert all("COVERING INDEX" in line for line in lines if line.startswith(("SEARCH runs", "SEARCH run_tags"))), lines


def test_partial_index_conditions_match_the_models(database):
    """Alembic's drift check compares index columns but not a partial index's WHERE clause."""
    with database.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '%WHERE%'").all())
    expected = {index.name: str(index.dialect_options["sqlite"]["where"]) for index in Run.__table__.indexes
                if index.dialect_options["sqlite"]["where"] is not None}
    assert expected and set(stored) == set(expected)
    for name, condition in expected.items():
        assert stored[name].endswith("WHERE " + condition), stored[name]


def test_migration_0003_backfills_video_length_and_keeps_prompt_search(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'studio.db'}")
    migrate.run(engine, "upgrade", "0002")
    with engine.begin() as conn:  # a run written by the previous release
        conn.exec_driver_sql(
            "INSERT INTO runs (status, engine, prompt, negative_prompt, frames, fps, params, step, total_steps, queued_at, "
            "favorite, notes, manifest, attempts, cancel_requested) VALUES ('succeeded', 'motion', 'old harbour', '', 49, 16, "
            "'{}', 0, 0, '2026-01-01 00:00:00', 0, '', '{}', 0, 0)")
    migrate.run(engine, "upgrade", "head")
    with session_scope(make_session_factory(engine)) as session:
        assert session.scalar(select(Run.video_seconds)) == pytest.approx(49 / 16)
        assert [r.prompt for r in gallery.list_runs(session, RunQuery(text="harbour")).runs] == ["old harbour"]
    # Down and up again: the full-text triggers survive (no batch rebuild of runs dropped them).
    migrate.run(engine, "downgrade", "0002")
    migrate.run(engine, "upgrade", "head")
    with session_scope(make_session_factory(engine)) as session:
        add_run(session, engine="motion", model_id=None, params={"prompt": "new lighthouse"}, input_image_id=None)
    with session_scope(make_session_factory(engine)) as session:
        assert [r.prompt for r in gallery.list_runs(session, RunQuery(text="lighthouse")).runs] == ["new lighthouse"]
    engine.dispose()


def test_a_page_of_cards_reads_only_what_a_card_shows(tmp_path):
    """The gallery's cards come from list_cards, which selects gallery.CARD_COLUMNS and the tags: not
    the runs' recipes, manifests and per-frame measurements, which a card never shows."""
    engine = make_engine(f"sqlite:///{tmp_path / 'studio.db'}")
    migrate.run(engine, "upgrade", "head")
    with session_scope(make_session_factory(engine)) as session:
        made = [add_run(session, engine="motion", model_id=None, params={"prompt": f"harbour {n}", "frames": 16},
                        input_image_id=None) for n in range(3)]
        set_tags(session, made[1], ["keeper", "b-roll"])
        session.flush()
        made[2].measurements = {"motion": [0.5] * 240}
    try:
        statements = captured(engine, lambda session: gallery.list_cards(session, RunQuery()))
        read = " ".join(statement for statement, _ in statements)
        for heavy in ("params", "manifest", "measurements", "notes"):
            assert f"runs.{heavy}" not in read, read
        with session_scope(make_session_factory(engine)) as session:
            cards = gallery.list_cards(session, RunQuery()).runs
            whole = gallery.list_runs(session, RunQuery()).runs
            assert [c["id"] for c in cards] == [r.id for r in whole] == [3, 2, 1]
            assert [c["tag_names"] for c in cards] == [r.tag_names for r in whole] == [[], ["b-roll", "keeper"], []]
            assert all(c[column.key] == getattr(r, column.key) for c, r in zip(cards, whole, strict=True)
                       for column in gallery.CARD_COLUMNS)
    finally:
        engine.dispose()
