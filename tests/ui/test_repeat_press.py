"""Generate pressed again with the same settings within a moment (a triple click, a click and
Ctrl+Enter together) queues the run once and says so; a moment later, or with other settings, a
press queues again."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio.ui import repeat_guard
from studio.ui.runtime import services as cached_services


def generate(at: AppTest) -> AppTest:
    at = next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, at.exception
    return at


def queued() -> int:
    return cached_services().history.list_runs_count()


def test_a_repeated_press_queues_once_and_a_later_or_different_one_queues_again(studio, monkeypatch):
    # A rerun of the page can take longer than the real 2 s on a loaded machine: "a moment" is
    # stretched here, so that the second press falls inside it however slow the runner.
    monkeypatch.setattr(repeat_guard, "REPEAT_WINDOW_S", 600.0)
    at = generate(studio)
    assert queued() == 1
    at = generate(at)
    assert queued() == 1, "the same settings pressed again at once were queued twice"
    assert any("was queued a moment ago" in t.value for t in at.toast), [t.value for t in at.toast]
    at = next(t for t in at.text_area if t.label == "Prompt").input("another idea").run()
    generate(at)
    assert queued() == 2  # other settings: queued at once
    monkeypatch.setattr(repeat_guard, "REPEAT_WINDOW_S", 0.0)  # the moment has passed
    generate(at)
    assert queued() == 3
