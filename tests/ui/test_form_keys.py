"""Filling fields from code re-keys only those fields. The size fit runs on a page's first render;
when it re-keyed every widget, a click made meanwhile on another one (Upload instead of Sample, the
engine, the prompt) was lost: its widget was gone by the time the click arrived."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from studio.ui import forms

    before = {name: forms.key(name) for name in ("image_source", "prompt", "motion.width")}
    forms.fill({"motion.width": 640, "motion.height": 480, "motion.preset": "auto"})
    after = {name: forms.key(name) for name in before}
    st.session_state["kept"] = [n for n in before if before[n] == after[n]]
    st.session_state["width_now"] = forms.current("motion.width")
    forms.fill({"prompt": "a new prompt"}, replace=True)
    st.session_state["replaced"] = forms.key("image_source") != after["image_source"]


def test_filling_the_size_keeps_every_other_widget_and_replace_starts_afresh():
    at = AppTest.from_function(_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["kept"] == ["image_source", "prompt"]  # the filled width got a new key
    assert at.session_state["width_now"] == 640
    assert at.session_state["replaced"]  # Edit & re-run starts every field afresh
