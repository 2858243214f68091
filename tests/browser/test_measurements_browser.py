"""Measurements and previews in a real browser: the sweep view of a three-run sweep charts motion,
flicker and sharpness over the frames with a line per run, and a gallery card plays its video
muted while the pointer is over it (and only that card's)."""

from __future__ import annotations

import time

from PIL import Image, ImageDraw

from studio.config import Paths
from studio.services import build_services
from studio.jobs.queue import SubmitRequest
from studio.sweeps import Axis
from tests.browser.conftest import explained, wait_idle

CHARTS = "[data-testid='stVegaLiteChart']"
# The marks Vega draws for each series of a line chart (its SVG paths, or, rendered on a canvas, the
# legend's entries); both name one entry per run.
LINES_PER_CHART = f"""() => Array.from(document.querySelectorAll("{CHARTS}")).slice(0, 3).map(chart =>
    chart.querySelectorAll("g.mark-line path, g.mark-line > path").length
    || chart.querySelectorAll("g.role-legend-symbol path").length)"""


def make_sweep(studio) -> tuple[int, list[int]]:
    """A three-value sweep of small camera-motion runs, queued in the studio's database; the running
    server's worker makes (and measures) them."""
    paths = Paths(data_dir=studio.data_dir, logs_dir=studio.data_dir / "logs",
                  database_url=f"sqlite:///{studio.data_dir / 'studio.db'}")
    svc = build_services(paths, migrate_db=False)
    try:
        image = Image.new("RGB", (192, 128), (40, 90, 200))
        ImageDraw.Draw(image).ellipse((60, 20, 140, 100), fill=(250, 200, 60))
        ids = svc.queue.submit_sweep("motion", {"width": 192, "height": 128, "frames": 8, "fps": 8, "seed": 3},
                                     [Axis("guidance", (0.5, 1.0, 2.0))], image=image, image_name="dot.png")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = svc.history.get_runs(ids)
            if all(r.status == "succeeded" for r in runs):
                break
            time.sleep(0.3)
        else:
            raise AssertionError([(r.id, r.status, r.error) for r in svc.history.get_runs(ids)])
        assert all(r.measurements is not None for r in runs)
        return runs[0].sweep_id, ids
    finally:
        svc.db.dispose()


def make_run(studio, prompt: str, params: dict) -> int:
    """One small camera-motion run, queued in the studio's database and made by the server's worker."""
    paths = Paths(data_dir=studio.data_dir, logs_dir=studio.data_dir / "logs",
                  database_url=f"sqlite:///{studio.data_dir / 'studio.db'}")
    svc = build_services(paths, migrate_db=False)
    try:
        run_id = svc.queue.submit(SubmitRequest(engine="motion", params={"prompt": prompt, **params},
                                                image=Image.new("RGB", (160, 120), (200, 90, 40))))
        deadline = time.monotonic() + 120
        while svc.history.get_run(run_id).status != "succeeded":
            assert time.monotonic() < deadline, svc.history.get_run(run_id)
            time.sleep(0.3)
        return run_id
    finally:
        svc.db.dispose()


def test_a_sweep_charts_its_measurements_and_a_card_previews_on_hover(studio, page, shots):
    page.goto(studio.url)
    page.get_by_role("heading", name="Generate").wait_for()  # the server has built its services (and migrated)
    sweep_id, ids = make_sweep(studio)

    with explained(studio, [page], "measurements"):
        # 1. Three charts over the frames (motion, flicker, sharpness), one line per run.
        page.goto(f"{studio.url}/compare?sweep={sweep_id}")
        page.get_by_role("heading", name=f"Sweep #{sweep_id}").wait_for()
        page.get_by_role("heading", name="Measurements").wait_for()
        wait_idle(page)
        page.wait_for_function(f"() => document.querySelectorAll(\"{CHARTS}\").length >= 3", timeout=30_000)
        page.wait_for_function(f"() => ({LINES_PER_CHART})().every(n => n === 3)", timeout=30_000)
        assert page.evaluate(LINES_PER_CHART) == [3, 3, 3]
        # ... and below them, each measurement's mean against the swept value.
        page.wait_for_function(f"() => document.querySelectorAll(\"{CHARTS}\").length === 6", timeout=30_000)
        shots(page, "measurements-01-sweep-charts", focus=page.locator(CHARTS).first)

        # 2. Hovering a card plays its video, muted and looping; the other cards load none.
        page.goto(f"{studio.url}/gallery")
        page.get_by_role("heading", name="Gallery").wait_for()
        wait_idle(page)
        cards = page.locator(".run-card")
        cards.first.wait_for()
        assert page.locator(".run-preview").count() == 0
        cards.first.hover()
        preview = page.locator(".run-preview")
        preview.wait_for()
        page.wait_for_function("v => v.muted && v.loop && !v.paused && v.currentTime > 0",
                               arg=preview.element_handle(), timeout=15_000)
        assert preview.count() == 1
        shots(page, "measurements-02-card-preview", focus=cards.first)
        page.mouse.move(5, 5)  # leaving the card removes its preview (and stops its download)
        preview.wait_for(state="detached")

        # 3. Four runs differing in many settings, one with a 400-letter word for a prompt, at 1280 px:
        # every legend names all four runs in full, and the table wraps the word inside its cell.
        other = make_run(studio, "a" * 400 + " and more", {"width": 128, "height": 96, "frames": 12, "fps": 12, "seed": 9})
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{studio.url}/compare?runs={','.join(map(str, [*ids, other]))}")
        page.get_by_role("heading", name="Measurements").wait_for()
        wait_idle(page)
        page.wait_for_function(f"() => ({LINES_PER_CHART})().length === 3 && ({LINES_PER_CHART})().every(n => n === 4)",
                               timeout=30_000)
        # Each legend name whole and inside its chart (a name past the chart's edge is cut off unseen).
        legends = page.evaluate(f"""() => Array.from(document.querySelectorAll("{CHARTS}")).slice(0, 3).map(chart => {{
            const edge = chart.getBoundingClientRect().right;
            return Array.from(chart.querySelectorAll("g.role-legend-label text")).map(t =>
                [t.textContent, t.getBoundingClientRect().right <= edge]); }})""")
        shots(page, "measurements-03-four-runs", focus=page.locator(CHARTS).first)
        assert all(len(names) == 4 and all(inside and not name.endswith("…") for name, inside in names)
                   for names in legends), legends
        main = page.locator("[data-testid='stMain']")
        assert main.evaluate("m => m.scrollWidth <= m.clientWidth"), main.evaluate("m => [m.scrollWidth, m.clientWidth]")
