"""Nothing leaves the machine: during a whole session (Generate with a sample picture, the run's
video, the Gallery and the run's page, Compare, Settings) every request the page makes goes to
the studio's own origin. Requests anywhere else are recorded and aborted, so the test never
reaches the network; the test fails and lists them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.browser.conftest import explained, wait_idle

# A prompt that, rendered as Markdown, would make the browser fetch a picture from elsewhere.
PROMPT = "![pixel](http://outside.invalid/pixel.png) a slow push-in :red[red] $x^2$"
# Not network requests: inline data and objects the page made itself.
LOCAL_SCHEMES = {"data", "blob", "about"}


def settle(page) -> None:
    """Let the page finish what it loads lazily (favicon, fonts, thumbnails)."""
    wait_idle(page)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1_000)


def test_a_full_session_makes_no_request_outside_the_studio(studio, page):
    own = urlsplit(studio.url).netloc
    outside: list[str] = []

    def foreign(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in LOCAL_SCHEMES and parts.netloc != own

    def guard(route) -> None:
        url = route.request.url
        if foreign(url):
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    # Route every request of the context (pages, iframes, workers) before anything loads.
    page.context.route("**/*", guard)
    page.on("request", lambda request: foreign(request.url) and outside.append(request.url))
    page.on("websocket", lambda socket: foreign(socket.url) and outside.append(socket.url))

    with explained(studio, [page], "no-outbound"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        settle(page)  # the bundled sample is preselected
        page.get_by_text(re.compile(r"· \d+×\d+")).first.wait_for()
        page.get_by_role("textbox", name="Prompt").fill(PROMPT)
        frames = page.get_by_role("spinbutton", name="Frames", exact=True)
        frames.fill("12")
        frames.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Generate").click()
        page.locator("video").first.wait_for(timeout=120_000)
        settle(page)

        page.goto(studio.url + "/gallery")
        page.get_by_text("#1").first.wait_for()
        settle(page)
        page.goto(studio.url + "/gallery?run=1")
        page.get_by_role("heading", name="Run #1").wait_for()
        settle(page)
        page.get_by_role("button", name="Re-run", exact=True).click()
        page.get_by_role("heading", name="Run #2").wait_for()
        page.locator("video").first.wait_for(timeout=120_000)
        settle(page)

        page.goto(studio.url + "/compare?runs=1,2")
        page.get_by_role("heading", name="Compare").wait_for()
        page.locator("table.compare-table").wait_for()
        settle(page)

        page.goto(studio.url + "/settings")
        page.get_by_role("heading", name="Settings").wait_for()
        settle(page)

    assert not outside, "requests outside the studio:\n" + "\n".join(sorted(set(outside)))
