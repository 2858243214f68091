"""Keyframes in the browser: a framing move set with boxes (their preview drawn on the picture),
extended twice from the run page, the whole chain exported and played as one video there, then
smoothed as one run whose page plays the smoothed chain."""

from __future__ import annotations

import json
import sqlite3
import time

from tests.browser.conftest import explained, wait_idle

VIDEO_PLAYING = """(el) => el.readyState >= 2 && el.duration > 0"""
FRAMES = 12


def set_number(page, label: str, value) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def wait_for_run(studio, run_id: int, timeout: float = 120.0) -> tuple:
    """The run's row once it has succeeded; fails with its error as soon as it fails."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        with sqlite3.connect(studio.data_dir / "studio.db") as db:
            row = db.execute("SELECT status, error, continues_id, params FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row and row[0] == "succeeded":
            return row
        assert not row or row[0] not in ("failed", "canceled"), f"run {run_id} ended {row[0]}: {row[1]}"
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not succeed within {timeout:.0f} s; last seen: {row}")


def extend(page, studio, source: int) -> None:
    page.goto(f"{studio.url}/gallery?run={source}")
    page.get_by_role("heading", name=f"Run #{source}").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Extend", exact=True).click()
    page.get_by_role("heading", name="Generate").wait_for()
    page.get_by_text(f"Extending #{source}").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Generate", exact=True).click()


def test_a_framed_run_extended_twice_plays_as_one_chain(studio, page, shots):
    with explained(studio, [page], "keyframes"):
        # 1. A framing move: the end box set on the picture, both boxes previewed on it.
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)
        set_number(page, "Frames", FRAMES)
        page.get_by_role("combobox", name="Camera move").click()
        page.get_by_role("option", name="framing").click()
        wait_idle(page)
        set_number(page, "End box left", 0.55)
        set_number(page, "End box top", 0.1)
        set_number(page, "End box width", 0.4)
        preview = page.get_by_text("Start box (green) and end box (orange)")
        preview.wait_for()
        shots(page, "30-framing-boxes", focus=preview)
        page.get_by_role("button", name="Generate", exact=True).click()
        first = wait_for_run(studio, 1)
        params = json.loads(first[3])
        assert (params["motion"], params["end_x"], params["end_y"], params["end_width"]) == ("framing", 0.55, 0.1, 0.4)

        # 2. Extended twice from the run pages: each link continues the one before.
        extend(page, studio, 1)
        second = wait_for_run(studio, 2)
        extend(page, studio, 2)
        third = wait_for_run(studio, 3)
        assert (second[2], third[2]) == (1, 2)
        assert json.loads(second[3])["start_width"] == 1.0  # a continuation starts from its whole first frame

        # 3. The last link's page shows the chain; exported, it plays as one video.
        page.goto(f"{studio.url}/gallery?run=3")
        page.get_by_text("Chain of 3 runs (this is link 3)").wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Export the whole chain").click()
        page.get_by_role("button", name="Chain MP4").wait_for(timeout=60_000)
        # The chain's video sits in the chain box, above the run's own clip: the one as long as all three.
        seconds = (3 * FRAMES - 2) / 24
        page.wait_for_function(f"() => [...document.querySelectorAll('video')].some(v => ({VIDEO_PLAYING})(v)"
                               f" && Math.abs(v.duration - {seconds}) < 0.05)", timeout=30_000)
        chain = page.locator("video").first
        assert abs(chain.evaluate("v => v.duration") - seconds) < 0.05
        assert chain.evaluate("v => v.videoWidth") > 0
        page.get_by_role("heading", name="Run #3").hover()  # no button tooltip over the chain's links
        page.wait_for_timeout(500)
        shots(page, "31-chain-playing", focus=chain)

        # 4. The whole chain smoothed x2: a new run, its page opens and plays the smoothed chain,
        #    twice the frames and frame rate, as long as the chain.
        page.get_by_role("button", name="Smooth the whole chain x2").click()
        page.get_by_role("heading", name="Run #4").wait_for(timeout=30_000)
        smoothed = wait_for_run(studio, 4)
        params = json.loads(smoothed[3])
        joined = 3 * FRAMES - 2
        assert (params["source_run"], params["chain_from"], params["frames"], params["fps"]) == (3, 1, 2 * joined - 1, 48)
        page.reload()
        page.get_by_role("heading", name="Run #4").wait_for()
        seconds = (2 * joined - 1) / 48
        page.wait_for_function(f"() => [...document.querySelectorAll('video')].some(v => ({VIDEO_PLAYING})(v)"
                               f" && Math.abs(v.duration - {seconds}) < 0.05)", timeout=60_000)
        page.get_by_text("Compare with its source, #3").wait_for()
        shots(page, "32-chain-smoothed", focus=page.locator("video").first)
