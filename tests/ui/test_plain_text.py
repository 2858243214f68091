"""User text (prompts, tags, notes, error messages, URL parameters) reaches the browser as text:
the real Gallery detail page, in AppTest on a real temporary history, hands Streamlit's Markdown
only escaped bodies, so no image is fetched and no heading, colour, icon or formula is drawn."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services
from studio.ui.text import isolated, plain, text_block

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
HOSTILE = ["![x](http://127.0.0.1:9/x)", "# Heading", ":red[red]", "$x^2$", "<img src=x>"]
PROMPT = "\n".join(HOSTILE)
# What must never reach a Markdown body unescaped: image/link syntax, a heading line, a colour
# directive, an icon, inline math, raw HTML.
MARKUP = [re.compile(r"(?<!\\)!?(?<!\\)\[x(?<!\\)\]\("), re.compile(r"(?m)^ {0,3}# Heading"), re.compile(r"(?<!\\):red(?<!\\)\[red"),
          re.compile(r"(?<!\\)\$x\^2(?<!\\)\$"), re.compile(r"(?<!\\)<img"), re.compile(r"(?<!\\):material/x")]


@pytest.fixture()
def hostile_runs(data_dir):
    """A failed run whose prompt, negative prompt, tags, notes and error all hold Markdown, and a
    re-run of it (so the parent's prompt also shows as the lineage link's tooltip)."""
    cached_services.clear()
    svc = cached_services()
    with session_scope(svc.sessions) as session:
        params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": PROMPT,
                  "negative_prompt": " ".join(HOSTILE)}
        parent = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None)
        parent.status = "failed"
        parent.error = "could not read " + " ".join(HOSTILE) + " :material/x:"
        session.flush()
        child = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None,
                                 parent_id=parent.id)
        child.status = "failed"
        child.error = parent.error
        session.flush()
        ids = parent.id, child.id
    svc.history.set_tags(ids[0], HOSTILE)
    svc.history.set_notes(ids[0], PROMPT)
    yield ids
    cached_services().close()
    cached_services.clear()


def open_page(page: str, query_params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params.update(query_params)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def markdown_bodies(at: AppTest) -> list[str]:
    """Every string the page gives Streamlit to render as Markdown: texts, captions, alerts,
    titles, and the tooltips (help) and labels of every element."""
    bodies = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                                   "subheader", "toast") for e in getattr(at, kind)]
    for node in at.main:
        proto = getattr(node, "proto", None)
        for name in ("help", "label", "caption"):
            value = getattr(proto, name, None)
            if isinstance(value, str) and value:
                bodies.append(value)
    return bodies


def assert_no_markup(bodies: list[str]) -> None:
    for body in bodies:
        for pattern in MARKUP:
            assert not pattern.search(body), f"{pattern.pattern!r} renders in {body!r}"


def test_the_detail_page_shows_prompt_error_and_lineage_as_text(hostile_runs):
    parent, child = hostile_runs
    at = open_page("pages/gallery.py", {"run": str(parent)})
    bodies = markdown_bodies(at)
    # The prompt and the negative prompt as HTML-escaped text, not Markdown (whose link detection
    # would make a URL in them a link): the tags as text, nothing else.
    blocks = [h.proto.body for h in at.get("html")]
    assert text_block(PROMPT) in blocks and text_block("Negative: " + " ".join(HOSTILE), muted=True) in blocks
    assert not any(re.search(r"<(?!/?div\b)", block) for block in blocks if "user-text" in block), blocks
    assert any(plain("could not read " + " ".join(HOSTILE)) in e.value for e in at.error)
    assert_no_markup(bodies)

    at = open_page("pages/gallery.py", {"run": str(child)})  # its parent's prompt is a link's tooltip
    assert_no_markup(markdown_bodies(at))


def test_a_url_parameter_is_quoted_as_text():
    at = open_page("pages/gallery.py", {"run": "![x](http://127.0.0.1:9/x)"})
    assert "There is no run" in at.error[0].value
    assert_no_markup(markdown_bodies(at))
    at = open_page("pages/compare.py", {"sweep": "$x^2$ :red[red]"})
    assert "is not a sweep number" in at.error[0].value
    assert_no_markup(markdown_bodies(at))


@pytest.mark.parametrize("text", HOSTILE + [
    PROMPT, ":material/movie: and :smile:", "1. first\n- second\n> quote\n===", "**bold** _em_ `code` ~~gone~~",
    "a | b\n--|--\n1 | 2", "&lt;b&gt; &amp;", "http://127.0.0.1:9/x www.example.com", "back\\slash \\# still",
    "between 0.1 and 3; 5 is not. Nearest valid value: 3.", "my_file_name.png", "a\\:red[x] :a:b: __init__",
])
def test_plain_text_renders_as_exactly_that_text(text):
    rendered = MarkdownIt("commonmark").render(plain(text))
    assert not re.search(r"<(?!/?p>|br />)", rendered), rendered  # no element but paragraphs and breaks
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered.replace("<br />\n", "\n"))).strip()
    assert shown == text.strip()


def test_ordinary_sentences_are_left_as_they_are():
    sentence = "Motion amount must be between 0.1 and 3; 5 is not. Nearest valid value: 3."
    assert plain(sentence) == sentence
    assert plain("sunrise_hills.png · 960×540") == "sunrise_hills.png · 960×540"


@pytest.mark.parametrize("text", [":red[red]", ":material/movie:", ":smile: and :thumbs_up:", "a\\:red[x] :a:b:",
                                  "http://127.0.0.1:9/x", ":streamlit:"])
def test_no_directive_icon_or_shortcode_survives(text):
    """What Streamlit itself looks for in the raw body, before Markdown: emoji shortcodes (its own
    pattern), ":material/" icons, and a colon opening a directive or an autolink."""
    body = plain(text)
    assert not re.search(r":(?!material\/|streamlit:)[\w+-][\w_+-]*:", body), body
    assert ":material/" not in body and ":streamlit:" not in body
    assert not re.search(r"(?<!\\)(?:\\\\)*:(?=\S)", body.replace("\\\\", "")), body


@pytest.mark.parametrize("text", ["sunset \u202eover the hills", "\u2067rtl isolate left open", "mark\u200f here"])
def test_a_direction_control_in_user_text_cannot_reverse_what_follows_it(text):
    """A right-to-left override pasted with a prompt flips the prompt as typed, but the text is
    isolated (FSI ... PDI), so the studio's own words after it (" · 2.0 s") keep their direction."""
    for shown in (plain(text), html.unescape(re.sub(r"<[^>]+>", "", text_block(text)))):
        assert shown.startswith("\u2068") and shown.endswith("\u2069"), ascii(shown)
        assert shown[1:-1] == text
    assert isolated("plain words, no controls") == "plain words, no controls"
