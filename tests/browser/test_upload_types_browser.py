"""An SVG and an AVIF dropped in a real browser: the browser's file picker used to refuse both by
name (the file turned red, the reason only in a hover tooltip). The AVIF is now taken as the input,
and the SVG reaches the studio, which says on the page what it is and what to do."""

from __future__ import annotations

import pytest
from PIL import Image, features

from tests.browser.conftest import choose_upload, drop_files, explained, wait_idle

ZONE = "section[aria-label='Image'] [data-testid='stFileUploaderDropzoneInput']"


def test_an_svg_dropped_on_the_input_is_explained_on_the_page(studio, page, shots, tmp_path):
    drawing = tmp_path / "logo.svg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30"/></svg>')
    with explained(studio, [page], "svg-upload"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        choose_upload(page)
        message = page.get_by_text("it is an SVG drawing; export it as PNG")
        drop_files(page, page.locator(ZONE), str(drawing), message)
        shots(page, "svg-upload-explained", focus=message)
        assert page.locator("[data-testid='stAlertContentError']").filter(has_text="logo.svg").count() >= 1


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF decoder")
def test_an_avif_dropped_on_the_input_is_taken(studio, page, tmp_path):
    photo = tmp_path / "phone.avif"
    Image.new("RGB", (120, 90), (200, 60, 40)).save(photo)
    with explained(studio, [page], "avif-upload"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        choose_upload(page)
        drop_files(page, page.locator(ZONE), str(photo), page.get_by_text("phone.avif · 120×90"))
        wait_idle(page)
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
