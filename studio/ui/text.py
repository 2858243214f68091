"""User text shown as text.

Streamlit renders every string it is given (st.markdown, st.write, captions, alerts, toasts, widget
labels, help tooltips, image captions, progress texts) as Markdown with its own extensions: images
the browser fetches (`![](http://host/x)`), headings, colours (`:red[...]`), icons
(`:material/...:`), emoji shortcodes, LaTeX (`$...$`). Prompts, tags, notes, file names, paths,
URL parameters and error messages that quote them belong to the user (or to an imported zip) and
must show exactly as typed. Streamlit has no escape function, so this is the one place that
decides how.

CommonMark shows any backslash-escaped ASCII punctuation literally. Only the characters that can
start markup where they stand are escaped, so ordinary sentences ("between 0.1 and 3; 5 is not.")
keep their text unchanged:
- anywhere: \\ ` * [ ] < > ~ $ & | and _ unless inside a word (emphasis, code, links and images, HTML,
  strikethrough, math, entities, tables; my_file.png stays as it is);
- a colon followed by a non-space: it would open a colour or other directive, an icon, an emoji
  shortcode or an autolink (`http://`); and both colons of anything shaped like `:shortcode:`,
  since Streamlit looks for emoji shortcodes in the raw text before Markdown unescapes it;
- the slash of `:material/`, which Streamlit rewrites in the raw text into an icon;
- at the start of a line: heading, quote, list and rule markers (# > + - * = and `1.` / `1)`).

Text holding a bidirectional control (a right-to-left override, say, pasted with a prompt) is
isolated: it flips the user's own text as typed, but not the words the studio shows after it.
"""

from __future__ import annotations

import html
import re

# Each pattern finds, in the text as typed, characters that would start markup where they stand
# (the group "c"); every one found gets a backslash. Deciding on the raw text, in one place, keeps a
# backslash the user typed from cancelling an escape added here.
_MARKUP = [re.compile(pattern, re.MULTILINE) for pattern in (
    r"(?P<c>[\\`*\[\]<>~$&|])",
    r"(?P<c>(?<![^\W_])_)|(?P<c2>_)(?![^\W_])",  # "_" inside a word (my_file.png) is no markup
    r"(?P<c>:)(?=\S)",
    r"(?=:[\w+-]+(?P<c>:))",  # the closing colon of a :shortcode:, found at every start (overlapping)
    r":[A-Za-z]+(?P<c>/)",
    r"^[ \t]*(?P<c>[#+\-=>*])",
    r"^[ \t]*\d+(?P<c>[.)])",
)]


# Characters that change the direction of the text after them: the embeddings and overrides
# (U+202A-U+202E), the isolates (U+2066-U+2069) and the marks (LRM, RLM, ALM).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def isolated(text: str) -> str:
    """`text` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE when it holds a bidirectional
    control: the closing PDI ends every embedding and override opened inside (Unicode's bidi
    algorithm, rule X6a), so an unclosed U+202E cannot reverse the " · 2.0 s" that follows a prompt.
    Other text is returned unchanged (nothing invisible added to what a user copies)."""
    return f"\u2068{text}\u2069" if _BIDI_CONTROLS.search(text) else text


def plain(text: object) -> str:
    """`text` escaped so that Streamlit's Markdown shows it character for character.

    Line breaks stay line breaks (a hard break instead of Markdown joining the lines), so a
    multi-line prompt or note keeps its shape."""
    text = isolated(str(text))
    marked = {match.start(group) for pattern in _MARKUP for match in pattern.finditer(text)
              for group in ("c", "c2") if group in pattern.groupindex and match.start(group) >= 0}
    escaped = "".join("\\" + char if index in marked else char for index, char in enumerate(text))
    lines = escaped.splitlines()
    return "  \n".join(lines) if len(lines) > 1 else escaped


def text_block(text: object, *, muted: bool = False) -> str:
    """HTML for `text` shown exactly as typed, line breaks kept, for st.html. Escaping stops Markdown
    but not GitHub-style link detection, which Streamlit runs on the text Markdown leaves: a prompt's
    `http://…`, `www.…` or `name@host` became a link there (measured on the run page). st.html does
    no such thing, and html.escape makes the text inert."""
    style = "white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 1rem 0;" + (" opacity: 0.7;" if muted else "")
    return f'<div class="user-text" style="{style}">{html.escape(isolated(str(text)))}</div>'
