"""Outside input that used to end in a traceback now ends in a plain answer: gallery searches and
hand-edited gallery URLs, restoring settings from a hand-made recipe, over-long run ids in media
URLs, and any unexpected exception in a page (the error boundary). Real pages in Streamlit's
AppTest on a real SQLite history, real HTTP routes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.recipes import FORMAT, NotARecipe, form_values, read_recipe
from studio.ui.boundary import LOG_NAME
from studio.ui.runtime import services as cached_services
from studio.web.media import media_routes
from tests.integration.conftest import make_services

ROOT = Path(__file__).resolve().parents[2]
FRAME = ROOT / "frame.py"


@pytest.fixture()
def studio_ui(data_dir, monkeypatch, tmp_path):
    """The process's cached services on a fresh data folder with two runs, logs in their own folder;
    pages run inside frame.py as on the server (app.py turns off the pages-folder convention)."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    monkeypatch.setenv("STUDIO_LOGS_DIR", str(tmp_path / "logs"))
    cached_services.clear()
    svc = cached_services()
    with session_scope(svc.sessions) as session:
        for prompt in ("a slow push-in on the harbour at dusk", 'neon "city" street'):
            params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": prompt}
            run = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None)
            run.status = "succeeded"
    yield svc
    cached_services().close()
    cached_services.clear()


def open_page(page: str, query_params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params.update(query_params or {})
    at.run()
    at.switch_page(page).run()
    return at


# ----- the gallery's URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"q": '"'}, {"q": "\x00"}, {"q": 'harbour "'}, {"q": "a\x00b"}, {"q": '""'}, {"q": "NEAR(a b) OR *"},
    {"run": "²"}, {"run": "9" * 23}, {"run": "-1"}, {"page": "²"}, {"page": "9" * 23},
    {"sort": "bogus"}, {"seed": "9" * 23}, {"res": "9" * 23 + "x2"}, {"frames": "abc"},
])
def test_hand_edited_gallery_urls_show_the_gallery_not_a_traceback(studio_ui, params):
    at = open_page("pages/gallery.py", params)
    assert not at.exception, at.exception[0].message
    assert not [e for e in at.error if "Something went wrong" in e.value]


def test_a_search_for_quotes_and_nul_still_matches_by_prefix(studio_ui):
    at = open_page("pages/gallery.py", {"q": 'harb\x00 "dusk'})
    assert not at.exception and any("1 run" in c.value for c in at.caption)
    at = open_page("pages/gallery.py", {"q": '"city"'})
    assert not at.exception and any("1 run" in c.value for c in at.caption)


# ----- the page error boundary ---------------------------------------------------------------------

# A damaged history is the real fault: with `settings` gone the frame's own check fails (the page's
# main path); with `runs` gone the queue badge in the sidebar fails (a fragment, which Streamlit runs
# under its own error handling).
@pytest.mark.parametrize(("table", "named"), [("settings", "settings"), ("runs", "runs")])
def test_an_unexpected_error_in_a_page_shows_a_short_message_and_the_log_holds_the_details(studio_ui, tmp_path,
                                                                                           table, named):
    with session_scope(studio_ui.sessions) as session:
        session.execute(text(f"DROP TABLE {table}"))
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.run()
    assert not at.exception, at.exception[0].message
    [shown] = [e.value for e in at.error]
    log = tmp_path / "logs" / LOG_NAME
    assert shown.startswith("Something went wrong on this page") and str(log) in shown
    assert "Traceback" not in shown and "SELECT" not in shown and "sqlite" not in shown.lower()
    details = log.read_text(encoding="utf-8")
    reference = shown.split("(error ")[1].split(")")[0]
    assert "Traceback" in details and f"no such table: {named}" in details and reference in details


def test_the_browser_is_never_sent_exception_details():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"


# ----- restoring settings --------------------------------------------------------------------------

def recipe(**fields) -> bytes:
    return json.dumps({"format": FORMAT, "version": 1, "engine": "motion", "params": {}, **fields}).encode()


@pytest.mark.parametrize(("data", "reason"), [
    (recipe(version="9"), "version"),
    (recipe(version=None), "version"),
    (recipe(manifest=[1]), "wrong type"),
    (recipe(studio_run="x"), "wrong type"),
    (b'{"format": "' + FORMAT.encode() + b'", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    (recipe(params={"a": json.loads("[" * 50 + "]" * 50)}), "nested too deeply"),
    (b'{"version": 1' + b" " * 2_000_000 + b"}", "too large"),
    (b'{"format": 1' + b"1" * 5000 + b"}", "not valid JSON"),
])
def test_hand_made_recipes_are_refused_with_a_reason(data, reason):
    with pytest.raises(NotARecipe, match=reason):
        read_recipe(data, "x.json")


def test_only_parameter_values_that_fit_the_form_are_restored(studio_ui):
    info = studio_ui.registry.get("motion").info
    numeric = next(s for s in info.params if s.kind == "int")
    kept, dropped = form_values(info, {"prompt": 5, "seed": "abc", numeric.name: "wide", "negative_prompt": "blur"})
    assert kept == {"negative_prompt": "blur"} and sorted(dropped) == sorted(["prompt", "seed", numeric.name])
    # Of the right type but outside the rules (a hand-edited fps of -5): left out and named too.
    kept, dropped = form_values(info, {"fps": -5, "frames": 10**9, "width": 512})
    assert kept == {"width": 512} and sorted(dropped) == ["fps", "frames"]


# ----- media URLs ----------------------------------------------------------------------------------

def test_media_urls_with_ids_no_run_can_have_are_not_found(tmp_path):
    services = make_services(tmp_path)
    try:
        app = Starlette(routes=media_routes(lambda: services))
        with TestClient(app, raise_server_exceptions=False) as client:
            for path in ("/studio/media/run/" + "9" * 23 + "/video", "/studio/media/run/9223372036854775808/thumb",
                         "/studio/media/sweep/" + "9" * 30 + "/compare", "/studio/media/run/0/video",
                         "/studio/media/run/1/video"):
                assert client.get(path).status_code == 404, path
    finally:
        services.close()
