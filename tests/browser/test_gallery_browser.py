"""The gallery in a real browser: cards with thumbnails from the media routes, a search that narrows
them and stays in the URL, a card click that opens the run in the same session and the way back,
the Select boxes and their bar (Compare for two, more than Compare takes exported or trashed
together), the filters popover, and the trash (move, list, restore)."""

from __future__ import annotations

import re
import sqlite3
import time

from PIL import Image, ImageDraw

from studio.config import Paths
from studio.jobs.queue import SubmitRequest
from studio.services import build_services
from tests.browser.conftest import act_until, open_page, wait_idle
from tests.browser.test_result_in_view import TRUNCATED

PROMPTS = ("a slow push-in on the harbour at dusk", "neon city street at night", "forest river in the rain")
CARDS = ".run-card"
LONG_TAG = "w" * 64  # as long as a tag may be, and of the widest letter  # inside the grid component's shadow root; Playwright's CSS engine pierces it


def query(studio, sql: str, *args):
    with sqlite3.connect(studio.data_dir / "studio.db") as db:
        return db.execute(sql, args).fetchall()


def queue_runs(studio) -> list[int]:
    """Queue three small camera-motion runs through the studio's own database (the queue is a
    table): the running server's worker makes them."""
    paths = Paths(data_dir=studio.data_dir, logs_dir=studio.data_dir / "logs",
                  database_url=f"sqlite:///{studio.data_dir / 'studio.db'}")
    svc = build_services(paths, migrate_db=False)
    try:
        ids = []
        for index, prompt in enumerate(PROMPTS):
            image = Image.new("RGB", (320, 180), (40 + 80 * index, 90, 200 - 60 * index))
            ImageDraw.Draw(image).ellipse((110, 40, 210, 140), fill=(250, 200, 60))
            ids.append(svc.queue.submit(SubmitRequest(engine="motion", image=image, image_name=f"{index}.png", params={
                "width": 320, "height": 180, "frames": 8, "fps": 8, "prompt": prompt})))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(r.status == "succeeded" for r in svc.history.get_runs(ids)):
                break
            time.sleep(0.3)
        else:
            raise AssertionError([(r.id, r.status, r.error) for r in svc.history.get_runs(ids)])
        svc.history.set_tags(ids[1], ["night", LONG_TAG])
        return ids
    finally:
        svc.db.dispose()


def shown_cards(page, expected: list[int]) -> list[int]:
    """The cards' run ids once they are `expected`, or as they are after 10 s: the grid redraws a
    moment after the address changes, later still on a busy machine."""
    for _ in range(100):
        shown = page.locator(CARDS).evaluate_all("cards => cards.map(c => Number(c.dataset.runId))")
        if shown == expected:
            break
        page.wait_for_timeout(100)
    return shown


def test_gallery_cards_search_open_compare_and_trash(studio, page, shots):
    page.goto(studio.url)
    page.get_by_role("heading", name="Generate").wait_for()  # the server has built its services (and migrated)
    harbour, neon, forest = queue_runs(studio)

    # 1. Every run is a card, newest first, its thumbnail loaded from the media route.
    page.goto(studio.url + "/gallery")
    page.get_by_role("heading", name="Gallery").wait_for()
    page.locator(CARDS).first.wait_for()
    assert page.locator(CARDS).evaluate_all("cards => cards.map(c => Number(c.dataset.runId))") == [forest, neon, harbour]
    thumbs = page.locator(f"{CARDS} img.run-thumb")
    for index in range(3):
        thumbs.nth(index).scroll_into_view_if_needed()
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumbs.nth(index).element_handle())
    shots(page, "gallery-01-cards")
    # A tag as long as a tag may be stays inside its card, cut short with "…", whole on hover.
    chip = page.locator(f"{CARDS}[data-run-id='{neon}'] .run-tag", has_text="www")
    card_box, chip_box = page.locator(f"{CARDS}[data-run-id='{neon}']").bounding_box(), chip.bounding_box()
    assert chip_box["x"] + chip_box["width"] <= card_box["x"] + card_box["width"], (card_box, chip_box)
    assert chip.get_attribute("title") == LONG_TAG

    # 2. A search narrows the cards and is kept in the URL.
    search = page.get_by_role("textbox", name="Search prompts")
    search.fill("harbour")
    search.press("Enter")
    wait_idle(page)
    page.wait_for_function("() => document.location.search.includes('q=harbour')")
    assert shown_cards(page, [harbour]) == [harbour]
    shots(page, "gallery-02-search")

    # 3. Clicking the card opens the run in this session; the way back keeps the search.
    page.locator(CARDS).first.locator("a.run-open").click()
    page.get_by_role("heading", name=f"Run #{harbour}").wait_for()
    assert re.search(rf"run={harbour}\b", page.url) and "q=harbour" in page.url
    # Tags are typed in and kept (lower-case); a re-run shows where it comes from.
    tags = page.get_by_role("combobox", name="Tags")

    def add_tag():
        tags.fill("Golden Hour")
        tags.press("Enter")

    saved = act_until(page, add_tag, lambda: query(studio, "SELECT tag FROM run_tags WHERE run_id = ?", harbour),
                      "the typed tag saved with the run")
    assert saved == [("golden hour",)]
    wait_idle(page)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Re-run", exact=True).click()
    rerun = harbour + 3
    page.get_by_role("heading", name=f"Run #{rerun}").wait_for()
    page.get_by_text(f"Re-run of #{harbour}").wait_for()
    page.get_by_role("link", name=f"#{harbour} · succeeded").wait_for()
    page.locator("video").first.wait_for(timeout=60_000)
    shots(page, "gallery-03-lineage", focus=page.get_by_text(f"Re-run of #{harbour}"))
    page.get_by_role("link", name=f"#{harbour} · succeeded").click()
    page.get_by_role("heading", name=f"Run #{harbour}").wait_for()
    page.get_by_role("link", name=f"#{rerun} · succeeded").wait_for()  # and the parent links to its re-run
    page.get_by_role("button", name="Back to the gallery").click()
    page.get_by_role("heading", name="Gallery").wait_for()
    wait_idle(page)
    assert page.get_by_role("textbox", name="Search prompts").input_value() == "harbour"
    page.locator(f"{CARDS}[data-run-id='{rerun}']").wait_for()
    assert page.locator(CARDS).count() == 2  # the original and its re-run

    # 4. Compare: select two cards, the selection bar offers the comparison.
    search.fill("")
    search.press("Enter")
    wait_idle(page)
    page.wait_for_function("() => !document.location.search.includes('q=')")
    page.locator(CARDS).nth(3).wait_for()
    for run_id in (neon, harbour):
        page.locator(f"{CARDS}[data-run-id='{run_id}'] input[type=checkbox]").check()
        wait_idle(page)
    page.get_by_text(f"2 selected: #{neon}, #{harbour}").wait_for()
    page.get_by_role("link", name="Compare 2").wait_for()
    assert page.locator(f"{CARDS}[data-run-id='{neon}'] input[type=checkbox]").is_checked()
    # The selection bar stays in view, under the header, while the cards scroll beneath it.
    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"], "height": 480})
    bar = page.locator(".st-key-selection-bar")
    start = bar.bounding_box()
    page.locator("[data-testid='stMain']").evaluate("main => main.scrollBy(0, 600)")
    page.wait_for_function("() => document.querySelector('[data-testid=stMain]').scrollTop > 100")
    moved = bar.bounding_box()
    shots(page, "gallery-03b-sticky-selection")
    assert 0 <= moved["y"] <= 100 and moved["y"] < start["y"], (start, moved)
    page.locator("[data-testid='stMain']").evaluate("main => main.scrollTo(0, 0)")
    page.set_viewport_size(viewport)

    # 5. The rarer filters sit behind one button; tags narrow the cards.
    page.get_by_role("button", name="Filters").click()
    popover = page.locator("[data-testid='stPopoverBody']")
    popover.get_by_text("Tags", exact=True).wait_for()
    shots(page, "gallery-04-filters", focus=popover)
    popover.get_by_role("combobox", name="Tags").click()
    page.get_by_role("option", name="night").click()
    wait_idle(page)
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.location.search.includes('tag=night')")
    assert shown_cards(page, [neon]) == [neon]

    # 6. Trash: from the run's page; listed in the trash with Restore; restored with its files.
    page.goto(f"{studio.url}/gallery?run={forest}")
    page.get_by_role("heading", name=f"Run #{forest}").wait_for()
    page.get_by_role("button", name="Move to trash").click()
    page.get_by_text("This run is in the trash").wait_for()
    page.locator("video").first.wait_for()  # its files moved, and the page still plays it from the trash
    shots(page, "gallery-05-trashed-run")
    page.goto(studio.url + "/gallery?trash=true")
    page.get_by_text("1 run in the trash · page 1 of 1").wait_for()
    page.locator(CARDS).first.wait_for()
    assert page.locator(CARDS).count() == 1
    shots(page, "gallery-06-trash")
    page.locator(f"{CARDS}[data-run-id='{forest}'] button", has_text="Restore").click()
    page.get_by_text("The trash is empty.").wait_for()
    page.goto(studio.url + "/gallery")
    page.locator(f"{CARDS}[data-run-id='{forest}']").wait_for()


def test_more_runs_than_compare_takes_are_selected_and_trashed_together(studio, browser, shots):
    """Six runs ticked at a 1280x800 window: every box stays open (the selection is not capped at
    Compare's four), the bar says Compare takes at most four, every label fits, and Trash moves all six."""
    with open_page(browser, 1280, 800, 30_000) as page:  # a session of its own: nothing selected yet
        page.goto(studio.url)
        page.get_by_role("heading", name="Generate").wait_for()
        queue_runs(studio)
        queue_runs(studio)
        chosen = [row[0] for row in query(studio, "SELECT id FROM runs WHERE deleted_at IS NULL ORDER BY id DESC")][:6]
        page.goto(studio.url + "/gallery")
        page.get_by_role("heading", name="Gallery").wait_for()
        for count, run_id in enumerate(chosen, start=1):
            box = page.locator(f"{CARDS}[data-run-id='{run_id}'] input[type=checkbox]")
            assert box.is_enabled(), f"the box of run #{run_id} is off with {count - 1} selected"
            box.check()
            wait_idle(page)
            page.get_by_text(f"{count} selected: ").wait_for()
        assert page.locator(f"{CARDS} label", has_text="Select").count() >= 6
        bar = page.locator(".st-key-selection-bar")
        bar.get_by_text("Compare shows at most 4 runs").wait_for()
        assert bar.get_by_role("button", name="Compare").is_disabled()
        assert bar.get_by_role("link", name=re.compile("^Compare")).count() == 0
        assert bar.get_by_role("button", name="Export zip").is_enabled()
        cut = page.evaluate(TRUNCATED)
        assert cut == [], f"labels cut short at 1280 px: {cut}"
        shots(page, "gallery-07-six-selected")
        bar.get_by_role("button", name="Trash").click()
        page.wait_for_function("() => !document.querySelector('.st-key-selection-bar')")
        trashed = query(studio, "SELECT id FROM runs WHERE deleted_at IS NOT NULL ORDER BY id DESC")
        assert [row[0] for row in trashed] == chosen
