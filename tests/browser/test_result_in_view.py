"""Where the eye is: after Generate, the result plays beside the form without scrolling (at a
1280x800 window), and the latest result is still there after a reload (it comes from the history,
not from the browser session)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.browser.conftest import choose_upload, explained, open_page, screenshot, upload_input_image, wait_idle

IN_VIEW_AND_PLAYING = """() => {
    const v = document.querySelector('video');
    if (!v) return false;
    const r = v.getBoundingClientRect();
    const inView = r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
    return inView && v.readyState >= 2 && !v.paused && v.muted;
}"""

# Text Streamlit cuts short: any visible element set to end in an ellipsis whose text is wider than it.
TRUNCATED = """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
    .filter(el => el.offsetParent !== null && (el.innerText || '').trim() !== '' && getComputedStyle(el).textOverflow === 'ellipsis'
                  && el.scrollWidth > el.clientWidth + 1)
    .map(el => el.innerText)"""


@pytest.fixture()
def laptop(browser):
    """A page in a 1280x800 window, a common laptop screen."""
    with open_page(browser, 1280, 800, 60_000) as opened:
        yield opened


def test_the_result_plays_in_view_after_generate_and_survives_a_reload(studio, laptop):
    page = laptop
    with explained(studio, [page], "result-in-view"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)  # the bundled sample is preselected
        page.get_by_role("spinbutton", name="Frames", exact=True).fill("24")
        page.get_by_role("spinbutton", name="Frames", exact=True).press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Generate").click()
        # No scrolling: the page stays where the click left it, and the video arrives in view.
        page.wait_for_function(IN_VIEW_AND_PLAYING, timeout=120_000)
        screenshot(page, "20-result-in-view")
        cut = page.evaluate(TRUNCATED)
        assert cut == [], f"labels cut short at 1280 px: {cut}"
        run_caption = page.get_by_text("Run #").first.inner_text()

        page.reload()  # a new session: the result comes back from the history, under the input
        page.get_by_role("heading", name="Generate").wait_for()
        page.locator("video").first.wait_for(timeout=60_000)
        caption = page.get_by_text(run_caption.split(" · ")[0]).first
        caption.wait_for()
        screenshot(page, "21-result-after-reload", focus=caption)
        for path, heading in (("/gallery", "Gallery"), ("/gallery?run=1", "Run #1"), ("/settings", "Settings")):
            page.goto(studio.url + path)
            page.get_by_role("heading", name=heading).first.wait_for()
            wait_idle(page)
            cut = page.evaluate(TRUNCATED)
            assert cut == [], f"labels cut short at 1280 px on {path}: {cut}"


def test_a_portrait_upload_s_result_is_brought_into_view_when_it_arrives(studio, laptop, tmp_path):
    """Beside a portrait picture's tall preview the result's video came out with its lower half below
    a 1280x800 window: when the run this page queued finishes, the page scrolls to its video."""
    page = laptop
    picture = tmp_path / "portrait.png"
    Image.new("RGB", (600, 900), (40, 90, 160)).save(picture)
    with explained(studio, [page], "portrait-result-in-view"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        choose_upload(page)
        upload_input_image(page, picture, "portrait.png · 600×900")
        page.get_by_role("spinbutton", name="Frames", exact=True).fill("24")
        page.get_by_role("spinbutton", name="Frames", exact=True).press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Generate").click()  # scrolled to, as a person would
        page.wait_for_function(IN_VIEW_AND_PLAYING, timeout=120_000)
        screenshot(page, "22-portrait-result-in-view")
