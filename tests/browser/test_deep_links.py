"""A fresh server's very first visit may be a deep link: it gets the full frame, not a bare page."""

from __future__ import annotations


def test_first_visit_to_a_deep_link_shows_the_studio_frame(studio, page, shots):
    page.goto(studio.url + "/settings")  # nothing has loaded the main page in this process yet
    page.get_by_role("heading", name="Settings").wait_for()
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Generate", exact=True).wait_for()
    assert nav.get_by_text("frame", exact=True).count() == 0  # the old folder-based page list
    page.get_by_text("Queue empty").wait_for()  # the frame's sidebar ran
    shots(page, "30-deep-link-settings")
    page.goto(studio.url + "/gallery?run=999")
    page.get_by_text("There is no run '999' in the history").wait_for()
