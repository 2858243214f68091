"""Ctrl+Enter queues the run from the prompt, with the text just typed (never the prompt as it was
before the keypress), and from anywhere else on the Generate page."""

from __future__ import annotations

import sqlite3
import time

from studio.ui.repeat_guard import REPEAT_WINDOW_S
from tests.browser.conftest import explained, screenshot, wait_idle


def prompts(studio) -> list[str]:
    with sqlite3.connect(studio.data_dir / "studio.db") as db:
        return [row[0] for row in db.execute("SELECT prompt FROM runs ORDER BY id")]


def wait_for_runs(studio, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = prompts(studio)
        if len(seen) >= count:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"expected {count} runs, the history has {prompts(studio)}")


def test_ctrl_enter_queues_with_the_text_just_typed(studio, page):
    with explained(studio, [page], "keyboard-submit"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)  # the bundled sample is preselected
        before = len(prompts(studio))  # the server has made the history by now
        prompt = page.get_by_role("textbox", name="Prompt")
        prompt.click()
        prompt.press_sequentially("typed just now, then Ctrl+Enter", delay=5)
        prompt.press("Control+Enter")  # no blur, no pause: the shortcut must commit the text first
        seen = wait_for_runs(studio, before + 1)
        assert seen[before] == "typed just now, then Ctrl+Enter", seen
        wait_idle(page)
        screenshot(page, "30-queued-with-ctrl-enter")

        page.get_by_role("heading", name="Generate").click()  # focus off any field
        time.sleep(REPEAT_WINDOW_S)  # the same settings again at once would be one press (studio.ui.repeat_guard)
        page.keyboard.press("Control+Enter")
        seen = wait_for_runs(studio, before + 2)
        assert seen[before + 1] == "typed just now, then Ctrl+Enter"
