"""An end image the studio cannot read, dropped in a real browser: the page says why and Generate
stays disabled, so no video is made without the end image the user asked for."""

from __future__ import annotations

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import drop_files, explained, wait_idle


def test_an_unreadable_end_image_keeps_generate_disabled(studio, page, shots, tmp_path):
    whole = tmp_path / "whole.png"
    Image.new("RGB", (120, 90), (20, 160, 90)).save(whole)
    broken = tmp_path / "end.png"
    broken.write_bytes(whole.read_bytes()[:60])  # a PNG cut short, as an interrupted copy leaves it
    with explained(studio, [page], "end-image"):
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        wait_idle(page)
        generate = page.get_by_role("button", name="Generate", exact=True)
        assert generate.is_enabled()  # a sample picture is the input: Generate can run
        page.get_by_role("radiogroup", name="End image").get_by_text("Upload", exact=True).click()
        wait_idle(page)
        message = page.get_by_text("Or set End image to None to make the video without one.")
        drop_files(page, page.locator("section[aria-label='End image file'] [data-testid='stFileUploaderDropzoneInput']"),
                   str(broken), message)
        wait_idle(page)
        shots(page, "end-image-refused", focus=message)
        assert generate.is_disabled()
        page.get_by_text("Nothing is queued until the end image can be used").wait_for()
        page.get_by_role("radiogroup", name="End image").get_by_text("None", exact=True).click()
        wait_idle(page)
        expect(generate).to_be_enabled()
