"""Browser tests: the real studio started through launch.py on a free port, driven in Debian's
Chromium with Playwright. Screenshots go to test-artifacts/screenshots/ for people to look at."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"launch.py exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the studio did not answer its health check in time")


class Studio:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = data_dir.parent / f"launch-{self.port}.log"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
        env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "launch.py"), "--no-browser", "--port", str(self.port),
             "--data-dir", str(self.data_dir)],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        _wait_healthy(self.url, self.process)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if sig == signal.SIGKILL:
            # SIGKILL does not reach the server child; kill the whole group as a crash would.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.process.returncode


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    running = Studio(tmp_path_factory.mktemp("studio") / "data")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@contextmanager
def open_page(browser, width: int, height: int, timeout_ms: int) -> Iterator:
    """A page in its own browser context (own cookies and session) with a window of this size."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture()
def page(browser):
    with open_page(browser, 1400, 1000, 30_000) as opened:
        yield opened


def screenshot(page, name: str, focus=None) -> Path:
    """Save what the user sees; `focus` (a locator) is scrolled into view first, since Streamlit
    scrolls inside its main container and a full-page capture would miss it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if focus is not None:
        focus.scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    return path


def wait_idle(page, timeout: float = 30.0) -> None:
    """Wait until Streamlit has finished running the script (its 'Running…' indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout * 1000,
    )


def choose_upload(page, tries: int = 3) -> None:
    """Switch Generate's input image to Upload, and wait until the Sample picker (and the drop zone
    beside it) has left the page, so the page's first drop zone is the input image's. A click that
    lands while Streamlit is still drawing the page can be dropped: it is made again, a bounded
    number of times."""
    sample = page.get_by_role("combobox", name="Sample")
    for attempt in range(tries):
        wait_idle(page)
        page.get_by_text("Upload", exact=True).first.click()
        try:
            sample.wait_for(state="detached", timeout=10_000)
            break
        except Exception:
            if attempt == tries - 1:
                raise
    wait_idle(page)


def drop_files(page, zone, files, shown, tries: int = 3, timeout: float = 15.0) -> float:
    """Drop `files` on a drop zone (`zone`: the locator of its file input) and wait until `shown`
    (a locator) is visible; returns the seconds from the drop that took to `shown`. A drop made
    while Streamlit is replacing the drop zone can be lost without a message (the page then shows
    the empty zone); it is made again, a bounded number of times, then reported."""
    for attempt in range(tries):
        zone.set_input_files(files)
        dropped = time.monotonic()
        try:
            shown.first.wait_for(timeout=timeout * 1000)
            return time.monotonic() - dropped
        except Exception:
            if attempt == tries - 1:
                raise
            wait_idle(page)


def act_until(page, act, done, what: str, tries: int = 3, timeout: float = 10.0):
    """Do `act()` and poll `done()` (a check of the database, say) until it returns something
    truthy, which is returned. Input typed into a widget that Streamlit is redrawing can be lost
    without a message, as a drop can: the action is made again, a bounded number of times, and
    then the last thing `done()` returned is reported."""
    seen = None
    for _ in range(tries):
        wait_idle(page)
        act()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = done()
            if seen:
                return seen
            page.wait_for_timeout(200)
    raise AssertionError(f"{what}: not done after {tries} tries of {timeout:.0f} s; last seen {seen!r}")


def upload_input_image(page, path, caption: str, tries: int = 3) -> None:
    """Drop a picture on Generate's input-image drop zone and wait for its caption ("name · W×H")."""
    drop_files(page, page.locator("[data-testid='stFileUploaderDropzoneInput']").first, str(path),
               page.get_by_text(caption), tries=tries)


@pytest.fixture()
def shots():
    return screenshot


def has_chromium() -> bool:
    return shutil.which(CHROMIUM) is not None


@contextmanager
def explained(studio: Studio, pages, name: str):
    """On failure, say what the user and the studio saw: a screenshot and the visible text of each
    page, the runs table and the end of the server log. A timeout alone says nothing."""
    try:
        yield
    except Exception as exc:
        report = [f"{type(exc).__name__}: {exc}"]
        for index, page in enumerate(pages):
            try:
                path = screenshot(page, f"failed-{name}-{index}")
                text = page.locator("[data-testid='stMain']").first.inner_text(timeout=5_000)
                report.append(f"--- page {index} ({path}):\n{text[-1500:]}")
            except Exception as inner:  # noqa: BLE001 - the page may be gone; keep what we have
                report.append(f"--- page {index}: unreadable ({inner})")
        with sqlite3.connect(studio.data_dir / "studio.db") as db:
            rows = db.execute("SELECT id, status, step, total_steps, error, queued_at, started_at, finished_at "
                              "FROM runs ORDER BY id DESC LIMIT 6").fetchall()
        report.append("--- runs:\n" + "\n".join(map(str, rows)))
        logs = sorted((studio.data_dir / "logs").glob("serve-*.log"))
        if logs:
            report.append("--- server log:\n" + logs[-1].read_text(errors="replace")[-3000:])
        raise AssertionError("\n".join(report)) from exc
