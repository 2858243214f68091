"""The gallery's queries: one page of runs for a filter and a sort, and the values offered as
filters. Each condition and order is served by an index (see migrations 0002, 0003 and 0011). The
caller owns the session; nothing here commits."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, column, false, func, literal_column, or_, select, table, text, true
from sqlalchemy.orm import Session, joinedload

from studio.db.models import Run, RunTag
from studio.db.runs import normalize_tag

# Sort orders the gallery offers. "longest" is the length of the video a run makes (frames / fps),
# the promoted video_seconds column; ties fall back to newest first. Each has a matching index.
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "longest": "Longest video first",
         "most motion": "Most motion first", "least flicker": "Least flicker first"}
# The measurement orders list measured runs only (a run made before measuring has no value to place
# it by); each walks its own partial index (migration 0008_creator) with no sort step.
MEASURED_SORTS = {"most motion": Run.motion_mean, "least flicker": Run.flicker_mean}


@dataclass
class RunQuery:
    """What the gallery asks for. Empty fields filter nothing; filters combine with AND."""

    statuses: Sequence[str] = ()
    engines: Sequence[str] = ()
    text: str = ""  # every word must appear in the prompt or negative prompt (see prompt_matches)
    favorites_only: bool = False
    sweep_id: int | None = None
    tags: Sequence[str] = ()  # runs carrying all of these tags
    resolutions: Sequence[tuple[int, int]] = ()  # (width, height) pairs, any of them
    frames: Sequence[int] = ()  # frame counts, any of them
    seed: int | None = None
    queued_from: datetime | None = None  # naive UTC, inclusive
    queued_until: datetime | None = None  # naive UTC, exclusive
    motion_min: float | None = None  # measured runs with at least this mean motion (pixels a frame)
    flicker_max: float | None = None  # measured runs with at most this mean flicker (0-255)
    sort: str = "newest"  # a key of SORTS; the trash is always most recently deleted first
    in_trash: bool = False
    page: int = 1
    page_size: int = 24
    exact_total: bool = False  # count every matching run, not only up to a few pages past this one
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunPage:
    runs: list[Any]  # Run rows (list_runs), or dicts of a card's columns (list_cards)
    total: int
    page: int
    page_size: int
    more: bool = False  # more runs than `total` match: the count stopped (RunQuery.exact_total)
    ids: list[int] = field(default_factory=list)  # the page's runs' ids, in order

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def run_conditions(session: Session, query: RunQuery) -> list[Any]:
    """The WHERE terms of a gallery query. Each one can be served by an index (see migration 0003)."""
    conditions: list[Any] = [Run.deleted_at.is_not(None) if query.in_trash else Run.deleted_at.is_(None)]
    if query.statuses:
        conditions.append(Run.status.in_(query.statuses))
    if query.engines:
        conditions.append(Run.engine.in_(query.engines))
    if query.favorites_only:
        conditions.append(Run.favorite.is_(True))
    if query.sweep_id is not None:
        conditions.append(Run.sweep_id == query.sweep_id)
    if search_words(query.text):
        conditions.append(prompt_matches(session, query.text))
    tags = sorted({normalize_tag(t) for t in query.tags if t.strip()})
    if tags:
        tagged = (select(RunTag.run_id).where(RunTag.tag.in_(tags)).group_by(RunTag.run_id)
                  .having(func.count() == len(tags)))
        conditions.append(Run.id.in_(tagged))
    if query.resolutions:
        conditions.append(or_(*(and_(Run.width == w, Run.height == h) for w, h in query.resolutions)))
    if query.frames:
        conditions.append(Run.frames.in_(query.frames))
    if query.seed is not None:
        conditions.append(Run.seed == query.seed)
    if query.queued_from is not None:
        conditions.append(Run.queued_at >= query.queued_from)
    if query.queued_until is not None:
        conditions.append(Run.queued_at < query.queued_until)
    if query.motion_min is not None:
        conditions.append(Run.motion_mean >= query.motion_min)
    if query.flicker_max is not None:
        conditions.append(Run.flicker_mean <= query.flicker_max)
    if query.sort in MEASURED_SORTS and not query.in_trash:
        conditions.append(MEASURED_SORTS[query.sort].is_not(None))
    return conditions


def run_order(query: RunQuery) -> list[Any]:
    if query.in_trash:
        return [Run.deleted_at.desc(), Run.id.desc()]
    if query.sort == "oldest":
        return [Run.queued_at.asc(), Run.id.asc()]
    if query.sort == "longest":
        return [Run.video_seconds.desc().nulls_last(), Run.queued_at.desc(), Run.id.desc()]
    if query.sort == "most motion":
        return [Run.motion_mean.desc(), Run.queued_at.desc(), Run.id.desc()]
    if query.sort == "least flicker":  # ties (rare for a mean) oldest first, so the index serves it whole
        return [Run.flicker_mean.asc(), Run.queued_at.asc(), Run.id.asc()]
    if query.sort != "newest":
        raise ValueError(f"Unknown sort {query.sort!r}; use one of {', '.join(SORTS)}.")
    return [Run.queued_at.desc(), Run.id.desc()]


# How many pages past the one asked for the gallery looks: beyond that it says "N+ runs". The page
# and the count are then one index walk that stops there, so a page costs about the same in a
# history of a hundred runs or of a hundred thousand (a full count read every matching run's index
# entry, and a search evaluated its full-text match twice, once for each).
PAGES_COUNTED_AHEAD = 4
MAX_OFFSET = 2**62  # far beyond any history; keeps (page + PAGES_COUNTED_AHEAD) * size under 2**63


def list_runs(session: Session, query: RunQuery) -> RunPage:
    """One page of runs, whole (their tags loaded with them)."""
    found = page_ids(session, query)
    if not found.ids:
        return found
    whole = select(Run).where(Run.id.in_(found.ids)).options(joinedload(Run.tags))
    by_id = {r.id: r for r in session.scalars(whole).unique()}
    return replace(found, runs=[by_id[i] for i in found.ids if i in by_id])


# What a gallery card shows of a run (studio.ui.cards.card_for). A page of cards loads these alone:
# building whole rows (the recipe, the manifest and the per-frame measurements, JSON decoded for
# nothing) was about a third of what a page of 24 cards cost above an empty history's page.
CARD_COLUMNS = (Run.id, Run.status, Run.engine, Run.prompt, Run.width, Run.height, Run.frames, Run.video_seconds,
                Run.queued_at, Run.sweep_id, Run.parent_id, Run.continues_id, Run.error, Run.thumb_path,
                Run.video_path, Run.favorite)


def list_cards(session: Session, query: RunQuery) -> RunPage:
    """One page of runs as their cards show them: for each, a dict of CARD_COLUMNS and `tag_names`."""
    found = page_ids(session, query)
    if not found.ids:
        return found
    by_id = {row.id: {**row._asdict(), "tag_names": []} for row in session.execute(
        select(*CARD_COLUMNS).where(Run.id.in_(found.ids)))}
    for run_id, tag in session.execute(select(RunTag.run_id, RunTag.tag).where(RunTag.run_id.in_(found.ids))
                                       .order_by(RunTag.run_id, RunTag.tag)):
        by_id[run_id]["tag_names"].append(tag)
    return replace(found, runs=[by_id[i] for i in found.ids if i in by_id])


def page_ids(session: Session, query: RunQuery) -> RunPage:
    """The ids of one page of runs, in order (`runs` left empty). They come from an index-only
    query, so a deep page costs an index walk, not reading every run before it. The same walk reads
    ids up to PAGES_COUNTED_AHEAD pages past this one, which is the count (exact_total counts them
    all)."""
    conditions = run_conditions(session, query)
    order = run_order(query)
    size = query.page_size
    # A page from a URL can be any number; past the last run it is the last page anyway. Bounded so
    # that offsets and limits stay within the database's 64-bit integers.
    page = min(max(1, query.page), MAX_OFFSET // size)
    if query.exact_total:
        total = session.scalar(select(func.count()).select_from(Run).where(*conditions)) or 0
        page, ahead, more = min(page, max(1, -(-total // size))), None, False
    else:
        cap = (page + PAGES_COUNTED_AHEAD) * size
        ahead = _ids(session, query, conditions, order, offset=(page - 1) * size, limit=cap + 1 - (page - 1) * size)
        if not ahead and page > 1:  # past the last page (a bookmark of a history that shrank): go to it
            counted = select(Run.id).where(*conditions).limit(cap + 1).subquery()
            total = session.scalar(select(func.count()).select_from(counted)) or 0
            page = max(1, -(-total // size))
            ahead = _ids(session, query, conditions, order, offset=(page - 1) * size, limit=cap + 1 - (page - 1) * size)
        total = (page - 1) * size + len(ahead)
        more = total > cap
        total = min(total, cap)
    ids = ahead[:size] if ahead is not None else _ids(session, query, conditions, order, offset=(page - 1) * size, limit=size)
    return RunPage(runs=[], total=total, page=page, page_size=size, more=more, ids=ids)


def _ids(session: Session, query: RunQuery, conditions: list[Any], order: list[Any], *, offset: int,
         limit: int) -> list[int]:
    if query.sort == "newest" and not query.in_trash and session.get_bind().dialect.name == "sqlite":
        found = _newest_matches(session, query, offset=offset, limit=limit)
        if found is not None:
            return found
    return list(session.scalars(select(Run.id).where(*conditions).order_by(*order).limit(limit).offset(offset)))


def _newest_matches(session: Session, query: RunQuery, *, offset: int, limit: int) -> list[int] | None:
    """A newest-first page of a search, read from the full-text index newest run first and only as
    far as the page needs, or None when that cannot give it (no word for the index, or many runs
    whose order of queueing differs from their numbering) and the sort order's index must.

    Why: the general query walks the sort order's index and tests each run against the set of all
    matches, which FTS5 must build whole first; for two common words at 100,000 runs that set alone
    was most of a search's time. Run numbers are given in queueing order, so the highest-numbered
    matches are, in the usual history, the newest. Usual is not always (an imported run keeps its old
    queueing time under a new number; a clock set back), so the answer is checked: if the matches
    read are numbered X and above, and no run numbered below X was queued after the page's oldest
    one, no unread match can be on the page. Otherwise more are read (an import's runs then fall
    behind the page) before giving up. The check walks the queueing index from the page's oldest
    run, about as far as the general query's walk would go."""
    terms = search_terms(query.text)
    if not terms.prefixes:
        return None
    wanted = offset + limit
    index = table("runs_fts", column("rowid"))
    conditions = run_conditions(session, replace(query, text=""))
    conditions += [_contains_anywhere(word, postgres=False) for word in terms.inside]
    matches = (select(Run.id, Run.queued_at).select_from(index).join(Run, Run.id == index.c.rowid)
               .where(text("runs_fts MATCH :q").bindparams(q=fts5_query(terms.prefixes)), *conditions)
               .order_by(index.c.rowid.desc()))
    for read in (wanted, wanted * 4, wanted * 16):
        rows = session.execute(matches.limit(read)).all()
        lowest_id = rows[-1].id if rows else 0
        rows.sort(key=lambda row: (row.queued_at, row.id), reverse=True)
        if len(rows) < read:  # every match was read
            return [row.id for row in rows[offset:wanted]]
        last_on_page = rows[wanted - 1].queued_at
        # "id + 0" keeps the planner on the queueing index, which this walk is short on.
        later = select(Run.id).where(Run.queued_at > last_on_page, Run.id + 0 < lowest_id).limit(1)
        if session.scalar(later) is None:
            return [row.id for row in rows[offset:wanted]]
    return None


def search_words(search: str) -> list[str]:
    """The words of a search box's text that can match a prompt. Control characters (NUL among
    them, which SQLite reads as the end of the query) count as spaces; a word with no letter or digit
    is dropped, since the full-text index holds no token it could match and it would empty every
    search it is part of. Quotes and other punctuation inside a word are kept and matched literally."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in search)
    return [w for w in cleaned.split() if any(c.isalnum() for c in w)]


def fts5_query(words: Sequence[str]) -> str:
    """An FTS5 MATCH expression in which every word is a quoted string (so quotes, operators such
    as AND/NEAR and column filters are literal text) followed by * (prefix match)."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Han, kana, Bopomofo and
# Hangul (whose spaces fall between phrases: "한국어" holds the word "국어"). Both full-text indexes
# take a run of such letters as one word ("你好世界", "東京タワーの夜"), and FTS5's unicode61 even
# cuts Thai at its vowel marks, so a word of them matches only from the start of that run, if at
# all. Half-open [start, end) code point ranges, sorted.
UNSPACED_RANGES = (
    (0x0E00, 0x0F00),    # Thai, Lao
    (0x1000, 0x10A0),    # Myanmar
    (0x1100, 0x1200),    # Hangul Jamo
    (0x1780, 0x1800),    # Khmer
    (0x19E0, 0x1A00),    # Khmer symbols
    (0x2E80, 0x2FE0),    # CJK and Kangxi radicals
    (0x3005, 0x3008),    # 々 〆 〇
    (0x3021, 0x302A),    # Hangzhou numerals
    (0x3031, 0x3036),    # kana repeat marks
    (0x3038, 0x303D),    # 〸〹〺 〻 〼
    (0x3041, 0x3190),    # Hiragana, Katakana (ー included), Bopomofo, Hangul compatibility Jamo
    (0x31A0, 0x31C0),    # Bopomofo extended
    (0x31F0, 0x3200),    # Katakana phonetic extensions
    (0x3400, 0x4DC0),    # CJK extension A
    (0x4E00, 0xA000),    # CJK unified ideographs
    (0xA960, 0xA980),    # Hangul Jamo extended A
    (0xA9E0, 0xAA00),    # Myanmar extended B
    (0xAA60, 0xAA80),    # Myanmar extended A
    (0xAC00, 0xD800),    # Hangul syllables, Jamo extended B
    (0xF900, 0xFB00),    # CJK compatibility ideographs
    (0xFF66, 0xFFDD),    # halfwidth Katakana and Hangul
    (0x16FE0, 0x17000),  # ideographic symbols (Tangut and Nushu marks)
    (0x1AFF0, 0x1B170),  # kana extended and supplement
    (0x20000, 0x3FFFE),  # CJK extensions B to I, compatibility supplement
)
_UNSPACED_STARTS = [start for start, _ in UNSPACED_RANGES]


def is_unspaced(char: str) -> bool:
    """Whether a character belongs to a script written without spaces between words."""
    code = ord(char)
    i = bisect_right(_UNSPACED_STARTS, code) - 1
    return i >= 0 and code < UNSPACED_RANGES[i][1]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SearchTerms:
    """A search's words as the two kinds of condition that find them: `prefixes` are matched by the
    full-text index at the beginning of a word (accents and case ignored); `inside` are found
    anywhere in the text, as written except for ASCII case, which is folded (to lower case here, in
    the column by the query)."""

    prefixes: list[str]
    inside: list[str]


def search_terms(search: str) -> SearchTerms:
    """A word without a letter of a script written without spaces is a prefix, as it always was. A
    word with one is cut at its punctuation and symbols (as both indexes cut the text: "「東京」",
    "東京、" and "push-in東京" look for 東京), and each piece holding such a letter is looked for
    inside the text; the other pieces are prefixes. Letters, digits and marks (Thai vowel signs)
    stay in their piece."""
    prefixes: list[str] = []
    inside: list[str] = []
    for word in search_words(search):
        if not any(map(is_unspaced, word)):
            prefixes.append(word)
            continue
        kept = "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in word)
        for piece in kept.split():
            if any(map(is_unspaced, piece)):
                inside.append(piece.translate(_ASCII_LOWER))
            elif any(c.isalnum() for c in piece):
                prefixes.append(piece)
    return SearchTerms(prefixes=prefixes, inside=list(dict.fromkeys(inside)))


def prompt_matches(session: Session, search: str):
    """Full-text condition: every word of `search` appears in the prompt or negative prompt. A word
    of Latin (or any spaced script) matches the beginning of a word, through the index migration
    0002 built for the database in use; a word holding a letter of a script written without spaces
    matches anywhere (SearchTerms). The caller only asks when search_words(search) is not empty.

    Why a substring test rather than a new index: a word of those scripts is often one or two
    characters ("世界"), below the three a trigram index (FTS5 trigram, pg_trgm) can look up, and
    splitting the text into characters or bigrams at index time would put a function of the
    studio's own into SQLite's triggers (so that any other client writing a run would fail) and
    change both dialects' indexes. The substring test needs no migration and is the same on both
    dialects. It reads the prompts of the rows walked, and the page's walk in the sort order's index
    stops after a few pages of matches (PAGES_COUNTED_AHEAD), so a common word costs about what a
    page does; only a word that matches few runs reads every prompt (some 30 ms for 100,000 runs on
    SQLite). Latin words keep the index and its speed; beside one, the substring test only reads
    the rows the index let through."""
    terms = search_terms(search)
    postgres = session.get_bind().dialect.name == "postgresql"
    conditions = []
    if terms.prefixes:
        prefixes = _postgres_prompt_matches if postgres else _sqlite_prompt_matches
        conditions.append(prefixes(terms.prefixes))
    conditions += [_contains_anywhere(word, postgres=postgres) for word in terms.inside]
    return and_(*conditions) if conditions else true()


def _contains_anywhere(word: str, *, postgres: bool):
    return or_(_contains(Run.prompt, word, postgres=postgres), _contains(Run.negative_prompt, word, postgres=postgres))


def _contains(text_column, word: str, *, postgres: bool):
    """`word` (ASCII lower case) occurs in `text_column` with its ASCII letters folded, identically on
    both dialects (SQLite's lower() folds ASCII only; PostgreSQL's would fold more, by locale). The
    word is a bound value: no character of it means anything to the query, unlike a LIKE pattern's %
    and _. A word without ASCII letters skips the folding of every prompt read."""
    folds = any("a" <= c <= "z" for c in word)
    if postgres:
        folded = func.translate(text_column, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
        return func.strpos(folded if folds else text_column, word) > 0
    return func.instr(func.lower(text_column) if folds else text_column, word) > 0


def _sqlite_prompt_matches(words: list[str]):
    # "id + 0": matched as a set, not looked up by id, so the page walks the sort order's index and
    # stops at a page of matches instead of fetching and sorting every match of a common word.
    return (Run.id + 0).in_(select(column("rowid")).select_from(table("runs_fts")).where(
        text("runs_fts MATCH :q").bindparams(q=fts5_query(words))))


def _postgres_prompt_matches(words: list[str]):
    """PostgreSQL's equivalent of the FTS5 query: every word's tokens as prefixes (`'sun':*`), over
    unaccented text on both sides, so "sun" finds "sunrise" and "cafe" finds "Café". The vector is
    the expression of migration 0006's GIN index, written identically so that the index serves it.
    Tokens are runs of word characters only, so nothing of tsquery's syntax reaches the query."""
    tokens = [token for word in words for token in re.findall(r"\w+", word)]
    if not tokens:
        return false()  # a search of punctuation alone names no word to find
    # Literals, not bound parameters: a generic plan only matches the index's expression verbatim.
    empty, space = literal_column("''"), literal_column("' '")
    text_of_run = func.coalesce(Run.prompt, empty).op("||")(space).op("||")(func.coalesce(Run.negative_prompt, empty))
    vector = func.to_tsvector(literal_column("'simple'::regconfig"), func.studio_unaccent(text_of_run))
    tsquery = " & ".join(f"'{token}':*" for token in tokens)
    return vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), func.studio_unaccent(tsquery)))


@dataclass(frozen=True)
class GalleryFacets:
    """The values present in the history, offered as filter options (trashed runs included)."""

    engines: list[str]
    tags: list[str]
    resolutions: list[tuple[int, int]]
    frames: list[int]


def distinct_values(session: Session, table_name: str, column_name: str) -> list[Any]:
    """Distinct non-null values of an indexed column, ascending, in one index seek per value (a
    recursive 'next value after' query) rather than a walk over every row as DISTINCT would do."""
    sql = text(f"""
        WITH RECURSIVE v(x) AS (
            SELECT min({column_name}) FROM {table_name}
            UNION ALL
            SELECT (SELECT min({column_name}) FROM {table_name} WHERE {column_name} > v.x) FROM v WHERE v.x IS NOT NULL
        )
        SELECT x FROM v WHERE x IS NOT NULL""")
    return list(session.scalars(sql))


def distinct_resolutions(session: Session) -> list[tuple[int, int]]:
    """Distinct (width, height) pairs, by the same seek-per-value walk over ix_runs_width_height:
    the next pair is the next height at the same width, else the first height at the next width."""
    sql = text("""
        WITH RECURSIVE r(w, h) AS (
            SELECT w0, (SELECT min(height) FROM runs WHERE width = w0) FROM (SELECT min(width) AS w0 FROM runs) AS first
            UNION ALL
            SELECT CASE WHEN EXISTS (SELECT 1 FROM runs WHERE width = r.w AND height > r.h) THEN r.w
                        ELSE (SELECT min(width) FROM runs WHERE width > r.w) END,
                   coalesce((SELECT min(height) FROM runs WHERE width = r.w AND height > r.h),
                            (SELECT min(height) FROM runs WHERE width = (SELECT min(width) FROM runs WHERE width > r.w)))
            FROM r WHERE r.w IS NOT NULL
        )
        SELECT w, h FROM r WHERE w IS NOT NULL AND h IS NOT NULL""")
    return [(int(w), int(h)) for w, h in session.execute(sql)]


def gallery_facets(session: Session) -> GalleryFacets:
    return GalleryFacets(
        engines=distinct_values(session, "runs", "engine"),
        tags=distinct_values(session, "run_tags", "tag"),
        resolutions=distinct_resolutions(session),
        frames=[int(f) for f in distinct_values(session, "runs", "frames")],
    )


def engines_in_history(session: Session) -> list[str]:
    return distinct_values(session, "runs", "engine")
