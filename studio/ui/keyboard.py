"""Ctrl+Enter (Cmd+Enter on a Mac) presses the page's primary button, from anywhere on the page,
the prompt included.

Streamlit's own button shortcut is not used: pressed inside the prompt it clicks before the prompt
has sent its new text, so the run would be queued with the old prompt. Here the focused field is
blurred first (which makes Streamlit send its value) and the button is clicked a moment later, so
the click carries what was typed. The script runs in the page itself (st.iframe's HTML iframe is
same-origin) and installs its listener once per page load.
"""

from __future__ import annotations

import json

import streamlit as st

SETTLE_MS = 250  # time for the blurred field's value to reach the page's widget state

_SCRIPT = """<script>
(() => {{
  const host = window.parent;
  if (host.__studioSubmitKey) {{ host.__studioSubmitKey.label = {label}; return; }}
  host.__studioSubmitKey = {{ label: {label} }};
  host.document.addEventListener('keydown', (event) => {{
    if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey) || event.repeat) return;
    const wanted = host.__studioSubmitKey.label;
    const find = () => [...host.document.querySelectorAll('button')]
        .find(b => b.innerText.trim().endsWith(wanted));
    if (!find()) return;
    event.preventDefault();
    event.stopPropagation();
    const field = host.document.activeElement;
    if (field && field !== host.document.body) field.blur();
    setTimeout(() => {{ const button = find(); if (button && !button.disabled) button.click(); }}, {settle});
  }}, true);
}})();
</script>"""


def submit_shortcut(button_label: str) -> None:
    """Make Ctrl/Cmd+Enter press the button whose label ends with `button_label`."""
    st.iframe(_SCRIPT.format(label=json.dumps(button_label), settle=SETTLE_MS), height=1)
