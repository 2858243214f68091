"""Prompt search behaves the same on SQLite and PostgreSQL: every word matches as a prefix, in any
case, with or without its accents, through the full-text index each database has; a word of a
script written without spaces (Han, kana, Hangul, Thai) matches anywhere inside the text."""

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


@pytest.mark.both_dialects
def test_a_chinese_word_matches_inside_a_run_of_characters(services):
    hello = add(services, "你好世界")
    night = add(services, "a harbour at dusk", negative_prompt="模糊的城市夜景")
    assert found(services, "你好") == [hello]  # the start, as before
    assert found(services, "世界") == [hello]
    assert found(services, "好世") == [hello]
    assert found(services, "界") == [hello]
    assert found(services, "夜景") == [night]  # the negative prompt too
    assert found(services, "世界 夜景") == []
    assert found(services, "世间") == []


@pytest.mark.both_dialects
def test_japanese_kana_match_inside_a_word(services):
    tower = add(services, "東京タワーの夜景、スローズーム")
    hiragana = add(services, "ゆっくりとひらがなのうみ")
    assert found(services, "タワー") == [tower]
    assert found(services, "の夜") == [tower]
    assert found(services, "ズーム") == [tower]
    assert found(services, "「夜景」") == [tower]  # quotes and commas are not looked for
    assert found(services, "ひらがな") == [hiragana]
    assert found(services, "うみ") == [hiragana]
    assert found(services, "の") == [tower, hiragana]
    assert found(services, "カタカナ") == []


@pytest.mark.both_dialects
def test_korean_and_thai_match_inside_a_word(services):
    korean = add(services, "서울에서 한국어 배우기")
    thai = add(services, "สวัสดีชาวโลก")
    assert found(services, "국어") == [korean]
    assert found(services, "에서") == [korean]
    assert found(services, "배우") == [korean]
    assert found(services, "ชาวโลก") == [thai]
    assert found(services, "สวัสดี") == [thai]
    assert found(services, "วัสดี") == [thai]
    assert found(services, "국어 ชาวโลก") == []


@pytest.mark.both_dialects
def test_latin_and_cjk_words_together(services):
    both = add(services, "Harbour at dusk, 你好世界")
    latin_only = add(services, "harbour at dawn")
    cjk_only = add(services, "你好世界 city")
    phone = add(services, "買iPhone手机壳")
    assert found(services, "harb 世界") == [both]
    assert found(services, "世界 DUSK") == [both]
    assert found(services, "harbour") == [both, latin_only]
    assert found(services, "世界") == [both, cjk_only]
    assert found(services, "city 好世") == [cjk_only]
    assert found(services, "iphone手机") == [phone]  # inside a run, ASCII case folded
    assert found(services, "IPHONE手机壳") == [phone]
    assert found(services, "100%世界") == []  # the digits are a word of their own; nothing is a wildcard
    assert found(services, "dusk,世界") == [both]


@pytest.mark.both_dialects
def test_latin_words_still_match_only_at_word_beginnings(services):
    harbour = add(services, "a harbour at dusk")
    add(services, "東京tower")
    assert found(services, "harb") == [harbour]
    assert found(services, "HARBOUR") == [harbour]
    assert found(services, "arbour") == []
    assert found(services, "bour") == []
    assert found(services, "tower") == []  # part of the run 東京tower, which no Latin word starts


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("search", ["sun cafe", "sun 世界"])
def test_postgresql_search_can_use_the_prompt_index(services, search):
    """With sequential scans priced out, the plan of the gallery's search reads the GIN index: the
    query's expression is the index's, character for character; a word looked for inside the text
    beside it only filters what the index found. (SQLite's search is an FTS5 table; its plans are
    checked in test_gallery_schema.py.)"""
    add(services, "Sunrise over the bay")
    with session_scope(services.sessions) as session:
        condition = gallery.prompt_matches(session, search)
        statement = select(Run.id).where(condition).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text(f"EXPLAIN {statement}")))
    assert "ix_runs_prompt_search" in plan, plan
