"""Prompt search behaves the same on SQLite and PostgreSQL: every word matches as a prefix, in any
case, with or without its accents, through the full-text index each database has."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from studio.db import gallery
from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.db.gallery import RunQuery
from studio.db.models import Run


def add(services, prompt: str, negative_prompt: str = "") -> int:
    with session_scope(services.sessions) as session:
        run = run_rows.add_run(session, engine="motion", model_id=None, input_image_id=None,
                               params={"prompt": prompt, "negative_prompt": negative_prompt})
        run.status = "succeeded"
        session.flush()
        return run.id


def found(services, search: str) -> list[int]:
    return sorted(r.id for r in services.history.list_runs(RunQuery(text=search, page_size=100)).runs)


@pytest.mark.both_dialects
def test_a_word_finds_prompts_that_start_with_it(services):
    sunrise = add(services, "Sunrise over the bay")
    add(services, "a moonlit harbour")
    assert found(services, "sun") == [sunrise]
    assert found(services, "SUNR bay") == [sunrise]
    assert found(services, "sun moon") == []


@pytest.mark.both_dialects
def test_accents_are_ignored_on_both_sides(services):
    cafe = add(services, "Café terrace at night")
    creme = add(services, "forest", negative_prompt="crème brûlée")
    assert found(services, "cafe") == [cafe]
    assert found(services, "CAFÉ terr") == [cafe]
    assert found(services, "creme brulee") == [creme]
    assert found(services, "brû") == [creme]


@pytest.mark.both_dialects
def test_punctuation_in_a_search_is_taken_as_text(services):
    push = add(services, "A slow push-in on the harbour's edge")
    assert found(services, "push-in") == [push]
    assert found(services, "harbour's") == [push]
    # Punctuation alone names no word to look for: like an empty search box, it filters nothing.
    assert found(services, "'&|!:*()") == [push]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_search_can_use_the_prompt_index(services):
    """With sequential scans priced out, the plan of the gallery's search reads the GIN index: the
    query's expression is the index's, character for character. (SQLite's search is an FTS5
    table; its plans are checked in test_gallery_schema.py.)"""
    add(services, "Sunrise over the bay")
    with session_scope(services.sessions) as session:
        condition = gallery.prompt_matches(session, "sun cafe")
        statement = select(Run.id).where(condition).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text(f"EXPLAIN {statement}")))
    assert "ix_runs_prompt_search" in plan, plan
