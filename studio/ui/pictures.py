"""A picture on a page (an input, an end image) at most MAX_SHOWN_HEIGHT tall, with its caption."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio.ui.format import shown_width


def picture(image: Any, caption: str, size: tuple[int | None, int | None]) -> None:
    """`image` (a PIL image or a path) with `caption` (already safe for Markdown). A tall picture is
    shown narrower, and its caption under it in the column's width: in the picture's own width a
    caption would wrap a word a line."""
    width = shown_width(*size)
    if isinstance(width, int):
        st.image(image, width=width)
        st.caption(caption)
    else:
        st.image(image, caption=caption, width=width)
