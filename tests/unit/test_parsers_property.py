"""Property-based tests of the parsers of outside input: whatever an upload, a recipe file or a
gallery URL holds, the parser answers or raises the studio's own error for it (ImageRejected,
NotARecipe), never another exception. The gallery's search runs against a real SQLite history.
(The command line's --param and the import manifest have theirs in tests/integration:
test_cli_params.py and test_archive_import_safety.py.)"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.config import Paths
from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.db.gallery import is_unspaced, search_terms, search_words
from studio.media.images import ImageRejected, load_upload
from studio.recipes import FORMAT, NotARecipe, form_values, from_json_text, read_recipe
from studio.services import build_services
from studio.ui.gallery import GalleryView, parse_resolution
from studio.views import RunQuery
from studio.web.media import MAX_ID, parse_id

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text as a URL or a file can hold it: any character (NUL and other controls included), plus the
# characters that mean something to SQLite's full-text syntax.
TEXT = st.one_of(st.text(max_size=30), st.text(alphabet='"*^:()-+ \x00\t\nANDORNEAR', max_size=20))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 8), (200, 120, 40)).save(out, fmt)
    return out.getvalue()


SEEDS = [image_bytes(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")]
# A negative prompt in scripts written without spaces (one run of characters each), for the gallery
# search's properties: any piece of it finds it.
UNSPACED_PROMPT = "東京タワーの夜景 你好世界 서울에서한국어 สวัสดีชาวโลก"


# ----- image intake --------------------------------------------------------------------------------

@PROPERTY
@given(data=st.binary(max_size=2048), name=TEXT)
def test_any_bytes_are_an_image_or_a_rejection(data, name):
    try:
        image = load_upload(data, name)
    except ImageRejected as exc:
        assert exc.message
    else:
        assert image.mode == "RGB" and image.width > 0


@PROPERTY
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 400), flips=st.lists(st.tuples(st.integers(0, 400),
                                                                                    st.integers(0, 255)), max_size=6))
def test_damaged_real_images_are_an_image_or_a_rejection(seed, cut, flips):
    data = bytearray(seed[:max(cut, 1)] if cut < len(seed) else seed)
    for where, value in flips:
        data[where % len(data)] = value
    try:
        load_upload(bytes(data), "damaged")
    except ImageRejected:
        pass


# ----- recipe restore ------------------------------------------------------------------------------

@PROPERTY
@given(data=st.binary(max_size=512))
def test_any_bytes_as_a_recipe_file_are_a_recipe_or_refused(data):
    try:
        read_recipe(data, "x.json")
    except NotARecipe as exc:
        assert "x.json" in str(exc)


@PROPERTY
@given(fields=st.dictionaries(st.sampled_from(["version", "engine", "params", "model_id", "studio_run", "manifest",
                                               "other"]), JSON, max_size=7), depth=st.integers(0, 40))
def test_any_json_with_the_recipe_format_is_a_recipe_or_refused(fields, depth):
    document = {"format": FORMAT, **fields}
    for _ in range(depth):
        document = {"format": FORMAT, "params": {"nested": document}, "engine": "motion"}
    try:
        recipe = from_json_text(json.dumps(document))
    except NotARecipe:
        return
    assert isinstance(recipe.engine, str) and isinstance(recipe.params, dict) and isinstance(recipe.manifest, dict)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    built = build_services(Paths(data_dir=root / "data", logs_dir=root / "logs",
                                 database_url=f"sqlite:///{root / 'data' / 'studio.db'}"), poll_interval=0.05)
    with session_scope(built.sessions) as session:
        for prompt, negative in (("a slow push-in on the harbour at dusk", ""), ('neon "city" street', "blurry"),
                                 ("夕暮れ", UNSPACED_PROMPT)):
            params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": prompt,
                      "negative_prompt": negative}
            run = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None)
            run.status = "succeeded"
    yield built
    built.close()


@PROPERTY
@given(params=st.dictionaries(st.text(max_size=12) | st.sampled_from(["prompt", "seed", "frames", "fps", "width",
                                                                      "motion", "memory_mode"]), JSON, max_size=8))
def test_restored_values_always_fit_the_form(studio, params):
    info = studio.registry.get("motion").info
    kept, dropped = form_values(info, params)
    kinds = {s.name: s for s in info.params}
    for name, value in kept.items():
        if name in kinds and kinds[name].kind in ("int", "float"):
            assert isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**63
    assert set(dropped).isdisjoint(kept)


# ----- gallery query parameters --------------------------------------------------------------------

@PROPERTY
@given(search=TEXT)
def test_any_search_text_lists_runs(studio, search):
    studio.history.list_runs(RunQuery(text=search))


@PROPERTY
@given(before=st.text(alphabet='"\x00*^ ', max_size=4), after=st.text(alphabet='"\x00*^ ', max_size=4),
       length=st.integers(1, 7))
def test_a_prefix_of_a_prompt_word_still_matches_whatever_surrounds_it(studio, before, after, length):
    found = studio.history.list_runs(RunQuery(text=before + "harbour"[:length] + after)).runs
    assert [r.prompt for r in found] == ["a slow push-in on the harbour at dusk"]


@PROPERTY
@given(run=st.sampled_from(UNSPACED_PROMPT.split()), start=st.integers(0, 11), length=st.integers(1, 12),
       before=st.text(alphabet='"\x00*^ 「」、。%_', max_size=4), after=st.text(alphabet='"\x00*^ 「」、。%_', max_size=4))
def test_any_piece_of_a_word_without_spaces_finds_its_prompt(studio, run, start, length, before, after):
    piece = run[start:start + length]
    assume(any(c.isalnum() for c in piece))  # not a Thai vowel sign alone
    found = studio.history.list_runs(RunQuery(text=before + piece + after)).runs
    assert [r.negative_prompt for r in found] == [UNSPACED_PROMPT]


@PROPERTY
@given(search=TEXT | st.text(alphabet="ab AB-東京の夜ー한국어สวัสดี\"*「」1%", max_size=20))
def test_search_words_are_prefixes_or_looked_for_inside(search):
    terms = search_terms(search)
    assert not any(is_unspaced(c) for word in terms.prefixes for c in word)
    for word in terms.inside:
        assert any(map(is_unspaced, word)) and not any("A" <= c <= "Z" for c in word) and " " not in word
    assert bool(terms.prefixes or terms.inside) == bool(search_words(search))


@PROPERTY
@given(text=TEXT, resolutions=st.lists(TEXT, max_size=3), page=TEXT | st.integers(),
       seed=st.none() | st.integers(), frames=st.lists(st.integers(), max_size=3), sort=TEXT)
def test_any_gallery_url_values_make_a_query_that_lists_runs(studio, text, resolutions, page, seed, frames, sort):
    view = GalleryView(text=text, resolutions=resolutions, seed=seed, frames=frames, sort=sort,
                       page=parse_id(str(page)) or 1)
    studio.history.list_runs(view.to_query())


@PROPERTY
@given(raw=TEXT | st.integers().map(str))
def test_ids_from_urls_are_in_range_or_none(raw):
    value = parse_id(raw)
    assert value is None or 0 < value <= MAX_ID
    resolution = parse_resolution(raw)
    assert resolution is None or all(0 < n <= MAX_ID for n in resolution)
