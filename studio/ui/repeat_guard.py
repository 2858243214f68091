"""A press that repeats the last one: the same settings queued again within a moment are taken as
one request (a triple click, a click and Ctrl+Enter together queued the run twice). A copy is still
one press away once the moment has passed."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import streamlit as st

# Longer than a double or triple click, or a click and a key press together; shorter than choosing
# to queue the same thing again.
REPEAT_WINDOW_S = 2.0
_KEY = "last_queued"


def fingerprint(*parts: Any) -> str:
    """What makes two presses the same request (the form's values, the pictures)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def just_queued(print_: str) -> int | None:
    """The run this session queued with the same request a moment ago, if any."""
    last = st.session_state.get(_KEY)
    if last and last[0] == print_ and time.monotonic() - last[1] < REPEAT_WINDOW_S:
        return int(last[2])
    return None


def note_queued(print_: str, run_id: int) -> None:
    st.session_state[_KEY] = (print_, time.monotonic(), run_id)
