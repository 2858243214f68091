"""Bad uploads get a clear message and change nothing; two tabs queueing at once both get their
videos, in order."""

from __future__ import annotations

import re
import sqlite3
import struct
import zlib

from PIL import Image

from tests.browser.conftest import choose_upload, drop_files, explained, upload_input_image, wait_idle


def huge_png(path, side=30000):
    """A valid PNG header claiming side x side pixels, with one tiny compressed row: a few hundred
    bytes on disk, 2.7 GB if anyone decoded it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def upload(page, path, shown):
    drop_files(page, page.locator("[data-testid='stFileUploaderDropzoneInput']").first, str(path), shown)
    wait_idle(page)


def test_corrupt_text_and_huge_uploads_are_refused_clearly_and_the_studio_keeps_working(studio, page, shots, tmp_path):
    page.goto(studio.url)
    page.get_by_role("heading", name="Generate").wait_for()
    choose_upload(page)
    generate = page.get_by_role("button", name="Generate")

    good = tmp_path / "good.png"
    Image.new("RGB", (320, 200), (90, 140, 200)).save(good)
    truncated = tmp_path / "broken.png"
    truncated.write_bytes(good.read_bytes()[:120])
    text = tmp_path / "notes.png"
    text.write_text("these are my notes, not a picture\n" * 20)
    huge = huge_png(tmp_path / "huge.png")

    cases = [(truncated, re.compile(r"broken\.png.*(truncated|corrupt)", re.I)),
             (text, re.compile(r"notes\.png.*not an image", re.I)),
             (huge, re.compile(r"huge\.png.*(30000|megapixels)", re.I))]
    for index, (path, message) in enumerate(cases):
        alert = page.locator("[data-testid='stAlert']").filter(has_text=message)
        upload(page, path, alert)
        assert generate.is_disabled()
        shots(page, f"10-bad-upload-{path.stem}", focus=alert.first)

    # The studio still works: a good image is accepted and generates.
    upload_input_image(page, good, "good.png · 320×200")
    page.get_by_role("spinbutton", name="Frames", exact=True).fill("12")
    page.get_by_role("spinbutton", name="Frames", exact=True).press("Enter")
    wait_idle(page)
    generate.click()
    page.locator("video").first.wait_for(timeout=60_000)


def test_two_tabs_queueing_at_once_both_get_their_videos_in_order(studio, browser, shots):
    tabs = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2)]
    for tab in tabs:
        tab.set_default_timeout(60_000)
        tab.goto(studio.url)
        tab.get_by_role("heading", name="Generate").wait_for()
        wait_idle(tab)  # the bundled sample is preselected
        tab.get_by_role("spinbutton", name="Frames", exact=True).fill("96")
        tab.get_by_role("spinbutton", name="Frames", exact=True).press("Enter")
        wait_idle(tab)
    with sqlite3.connect(studio.data_dir / "studio.db") as db:
        before = db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
    for tab in tabs:  # click both before either finishes
        tab.get_by_role("button", name="Generate").click()
    numbers = []
    with explained(studio, tabs, "two-tabs"):
        # A new session's panel first shows the history's newest run (an earlier test's): wait for
        # a caption of one of the runs this test queued (ids above `before`), in each tab.
        ours = "|".join(str(n) for n in range(before + 1, before + 3))
        for tab in tabs:
            caption = tab.get_by_text(re.compile(rf"^Run #({ours}) · seed")).first
            caption.wait_for(timeout=120_000)
            tab.locator("video").first.wait_for(timeout=120_000)
            numbers.append(int(re.match(r"Run #(\d+)", caption.inner_text()).group(1)))
    shots(tabs[1], "11-second-tab-done", focus=tabs[1].locator("video").first)
    assert len(set(numbers)) == 2
    # In order: the earlier-queued run finished before the later one started (one GPU, one job).
    first, second = sorted(numbers)
    with sqlite3.connect(studio.data_dir / "studio.db") as db:
        rows = dict(db.execute("SELECT id, status || '|' || started_at || '|' || finished_at FROM runs "
                               "WHERE id IN (?, ?)", (first, second)).fetchall())
    status_1, _, finished_1 = rows[first].split("|")
    status_2, started_2, _ = rows[second].split("|")
    assert status_1 == status_2 == "succeeded" and started_2 >= finished_1
    for tab in tabs:
        tab.context.close()
