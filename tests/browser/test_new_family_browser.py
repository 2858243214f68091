"""A new diffusion family through the studio's worker in the browser: the tiny LTX-2 (developer
mode), picked on Generate, which says the model makes sound; its video plays and keeps its sound
track."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from studio.media.encode import probe_video
from tests.browser.conftest import explained, screenshot, wait_idle
from tests.integration.conftest import make_services

PLAYING = "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && v.duration > 0; }"


def test_the_tiny_ltx2_makes_a_video_with_sound_through_the_worker(studio, page):
    with explained(studio, [page], "new-family"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)  # the server has made its history by now
        services = make_services(studio.data_dir.parent)  # the same data folder as the server's
        try:
            services.apply_settings(services.settings().model_copy(update={"developer_mode": True}))
        finally:
            services.close()
        page.reload()
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)
        page.get_by_role("combobox", name="Engine").click()
        page.keyboard.type("Tiny LTX-2")  # the list is long: narrow it as a user would
        page.get_by_role("option", name="Tiny LTX-2 (test)").click()
        wait_idle(page)
        page.get_by_text("This model makes sound too").wait_for()
        page.get_by_role("textbox", name="Prompt", exact=True).fill("a cat walks slowly")
        wait_idle(page)
        page.get_by_role("button", name="Generate").click()
        page.wait_for_function(PLAYING, timeout=180_000)
        screenshot(page, "32-tiny-ltx2-with-sound", focus=page.locator("video").first)
        with sqlite3.connect(studio.data_dir / "studio.db") as db:
            engine, status, video = db.execute("SELECT engine, status, video_path FROM runs ORDER BY id DESC").fetchone()
        assert (engine, status) == ("tiny-ltx2", "succeeded")
        assert probe_video(Path(video)).audio_codec == "aac"
