"""Batch in a real browser: five pictures dropped on Generate's batch uploader → five runs with the
form's settings in one group → the group's grid fills in with five videos as they finish."""

from __future__ import annotations

import re

from PIL import Image

from tests.browser.conftest import drop_files, explained, wait_idle
from tests.browser.test_sweeps_browser import VIDEOS, query, set_number


def typed(page, label: str, value: int, tries: int = 3) -> None:
    """Type a number and see it kept: on a loaded machine a redraw can replace the field meanwhile."""
    field = page.get_by_role("spinbutton", name=label, exact=True)
    for _ in range(tries):
        set_number(page, label, value)
        page.wait_for_function(f"() => document.querySelectorAll('input[aria-label=\"{label}\"]').length === 1")
        if field.input_value() == str(value):
            return
    raise AssertionError(f"{label} shows {field.input_value()!r} after typing {value} {tries} times")


def make_pictures(folder, count: int) -> list[str]:
    paths = []
    for i in range(count):
        image = Image.new("RGB", (120, 90), (50 * i, 110, 200 - 30 * i))
        image.paste((250, 220, 30), (10 + 12 * i, 20, 50 + 12 * i, 60))
        path = folder / f"shot-{i}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def test_a_batch_of_five_images_fills_its_grid(studio, page, shots, tmp_path):
    with explained(studio, [page], "batch"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)
        page.get_by_text("Keep image aspect", exact=True).click()
        wait_idle(page)
        for label, value in (("Width (px)", 128), ("Height (px)", 128), ("Frames", 8)):
            typed(page, label, value)

        # An end image uploaded on the form (not yet in the history) goes with every run of the batch.
        end = tmp_path / "end.png"
        Image.new("RGB", (120, 90), (20, 160, 90)).save(end)
        page.get_by_role("radiogroup", name="End image").get_by_text("Upload", exact=True).click()
        wait_idle(page)
        drop_files(page, page.locator("section[aria-label='End image file'] [data-testid='stFileUploaderDropzoneInput']"), str(end), page.get_by_text("End image · end.png · 120×90"))
        wait_idle(page)

        page.get_by_text("Batch: these settings for several images").click()
        batch = page.locator("[data-testid='stExpander']").filter(has_text="Batch: these settings")
        drop_files(page, batch.locator("[data-testid='stFileUploaderDropzoneInput']"), make_pictures(tmp_path, 5),
                   batch.get_by_role("button", name="Queue 5 runs"))
        wait_idle(page)
        batch.get_by_role("button", name="Queue 5 runs").click()
        link = batch.get_by_role("link", name=re.compile(r"Open batch #\d+ \(5 runs\) as a grid"))
        link.wait_for()  # shown once the runs are in the history
        wait_idle(page)

        ends = query(studio, "SELECT end_image_id FROM runs ORDER BY id")
        assert len(ends) == 5 and len(set(ends)) == 1 and ends[0][0] is not None, ends
        rows = query(studio, "SELECT sweep_id, width, height, frames, seed FROM runs ORDER BY id")
        assert len(rows) == 5 and rows[0][0] is not None and len({r[0] for r in rows}) == 1
        assert {r[1:4] for r in rows} == {(128, 128, 8)} and len({r[4] for r in rows}) == 1
        group = rows[0][0]

        assert f"Open batch #{group} (5 runs)" in link.inner_text()
        # Followed by its address: a click while a busy page redraws can land on the bare page.
        page.goto(f"{studio.url.rstrip('/')}/{link.get_attribute('href').lstrip('/')}")
        page.get_by_role("heading", name=f"Sweep #{group}").wait_for()
        page.get_by_text("Varies the input image (a batch)").wait_for()
        page.wait_for_function(f"() => {VIDEOS}.length === 5 && {VIDEOS}.every(v => v.readyState >= 2)", timeout=90_000)
        shots(page, "batch-grid", focus=page.locator(".sync-player"))
        assert query(studio, "SELECT count(*) FROM runs WHERE status = 'succeeded'") == [(5,)]
