"""The gallery's selection bar says which selected runs an export would leave out, and why, before
the click (the zip is made when the download is asked for, where no message can show); with
nothing left to export the button is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services
from tests.integration.conftest import SMALL, picture

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def two_runs(data_dir):
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # this test drives the worker itself
    ids = [svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": seed}, image=picture()))
           for seed in (1, 2)]
    svc.worker.run_until_idle()
    yield svc, ids
    svc.close()
    cached_services.clear()


def export_button(ids: list[int]):
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.session_state["compare_ids"] = ids
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    [button] = [e for e in at.get("download_button") if "export-selected" in e.proto.id]
    return button.proto


def test_a_run_whose_video_is_gone_is_named_and_an_export_of_only_such_runs_is_off(two_runs):
    svc, (kept, lost) = two_runs
    Path(svc.history.get_run(lost).video_path).unlink()
    both = export_button([kept, lost])
    assert not both.disabled and f"#{lost} is left out: its video is gone from disk" in both.help.replace("\\", "")
    assert f"#{kept}" not in both.help
    alone = export_button([lost])
    assert alone.disabled
    assert export_button([lost, 99999]).disabled  # a run purged since it was selected counts as left out


def test_a_search_of_punctuation_or_emoji_alone_says_it_filters_nothing(two_runs):
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.run()
    at.switch_page("pages/gallery.py").run()
    at.text_input(key="q").input("🚀 *").run()
    assert not at.exception, at.exception
    assert any("has no letters or digits to search for" in c.value for c in at.caption), [c.value for c in at.caption]
    at.text_input(key="q").input("boat").run()
    assert not any("no letters or digits" in c.value for c in at.caption)
