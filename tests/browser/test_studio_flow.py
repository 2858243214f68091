"""A new user's loop in a real browser: upload → generate → watch progress → the video plays →
the run is in the gallery → re-run → compare shows both, differences highlighted."""

from __future__ import annotations

import re

from PIL import Image, ImageDraw

from tests.browser.conftest import choose_upload, explained, upload_input_image, wait_idle

VIDEO_PLAYING = """(el) => el.readyState >= 2 && el.duration > 0"""


def make_picture(path):
    image = Image.new("RGB", (960, 540), (30, 60, 110))
    draw = ImageDraw.Draw(image)
    for i in range(0, 960, 40):
        draw.line([(i, 0), (960 - i, 540)], fill=(240, 200, 80), width=3)
    draw.ellipse((380, 170, 580, 370), fill=(250, 120, 60))
    image.save(path)
    return path


def set_number(page, label: str, value) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def test_upload_generate_gallery_rerun_compare(studio, page, shots, tmp_path):
    with explained(studio, [page], "studio-flow"):  # on failure: what the page and the studio showed
        _flow(studio, page, shots, tmp_path)


def _flow(studio, page, shots, tmp_path):
    # 1. Generate: upload our own picture and queue a motion run big enough to watch its progress.
    page.goto(studio.url)
    page.get_by_role("heading", name="Generate").wait_for()
    choose_upload(page)
    upload_input_image(page, make_picture(tmp_path / "harbour.png"), "harbour.png · 960×540")
    page.get_by_role("textbox", name="Prompt").fill("a slow push-in on the harbour at dusk")
    set_number(page, "Width (px)", 1280)
    set_number(page, "Height (px)", 720)
    set_number(page, "Frames", 180)
    page.get_by_role("button", name="Generate").click()

    # 2. Progress is shown while it runs, naming the stage the run is in.
    progress = page.locator("[data-testid='stProgress']").filter(
        has_text=re.compile(r"Run #1 (queued|· (loading model|rendering|encoding|saving))"))
    progress.first.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"step \d+/180")).first.wait_for(timeout=30_000)
    shots(page, "01-generate-progress", focus=progress.first)

    # 3. The finished video plays inline.
    video = page.locator("video").first
    video.wait_for(timeout=120_000)
    page.wait_for_function(f"() => {{ const v = document.querySelector('video'); return v && ({VIDEO_PLAYING})(v); }}",
                           timeout=30_000)
    assert video.evaluate("v => v.videoWidth") == 1280
    shots(page, "02-generate-done", focus=video)
    # The GIF is made from the MP4 when first asked for: the download is a real, looping GIF.
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="GIF", exact=True).first.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with Image.open(saved) as gif:
        assert gif.format == "GIF" and gif.n_frames == 180 and max(gif.size) == 480

    # 4. The run is in the gallery; its detail page has everything, and re-runs with a new seed.
    page.goto(studio.url + "/gallery")
    page.get_by_text("#1").first.wait_for()
    shots(page, "03-gallery")
    page.goto(studio.url + "/gallery?run=1")
    page.get_by_role("heading", name="Run #1").wait_for()
    page.get_by_text("a slow push-in on the harbour at dusk").first.wait_for()
    shots(page, "04-detail")
    page.get_by_role("button", name="Re-run, new seed").click()
    page.get_by_role("heading", name="Run #2").wait_for()
    page.get_by_text("Re-run of #1").wait_for()
    page.locator("video").first.wait_for(timeout=120_000)
    wait_idle(page)

    # 5. Compare both: two videos side by side, the differing seed highlighted, equal rows not.
    page.goto(studio.url + "/compare?runs=1,2")
    page.get_by_role("heading", name="Compare").wait_for()
    page.locator("table.compare-table").wait_for()
    # The players are drawn beside the table and its measurement charts: wait for both, not the first.
    page.wait_for_function("() => document.querySelectorAll('video').length >= 2")
    assert page.locator("video").count() == 2
    for index in range(2):
        page.wait_for_function(f"() => {{ const v = document.querySelectorAll('video')[{index}]; return v && ({VIDEO_PLAYING})(v); }}")
    assert page.locator("tr.differs[data-param='seed']").count() == 1
    assert page.locator("tr.differs[data-param='frames']").count() == 0
    assert page.locator("tr[data-param='frames'] td").first.inner_text() == "180"
    shots(page, "05-compare", focus=page.locator("tr.differs[data-param='seed']"))
