"""The gallery's selection bar: runs ticked on cards across searches gather there (more than the
Compare page's four), Export zip and Trash act on all of them, and Compare says it takes at most
four; the bar says which selected runs an export would leave out, and why, before the click (the
zip is made when the download is asked for, where no message can show); with nothing left to
export the button is off."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.ui import selection
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
    at.session_state[selection.KEY] = ids
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


HARBOUR, NEON = "a slow push-in on the harbour at dusk", "neon city street at night"


@pytest.fixture()
def six_runs(data_dir):
    """Six finished runs, three of each prompt, so that no one search lists them all."""
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # this test drives the worker itself
    ids = [svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": seed, "prompt": prompt},
                                          image=picture()))
           for seed, prompt in enumerate([HARBOUR] * 3 + [NEON] * 3)]
    svc.worker.run_until_idle()
    yield svc, ids
    svc.close()
    cached_services.clear()


def grid(at: AppTest) -> dict:
    [element] = [e for e in at.main if getattr(e.proto, "component_name", "") == "studio.run_grid"]
    return {"id": element.proto.id, **json.loads(element.proto.json)}


def tick(at: AppTest, run_id: int) -> None:
    """What ticking a card's box sends: the grid component's one trigger, as the browser would."""
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(grid(at)["id"], "events")
    state.json_trigger_value = json.dumps([{"event": "select", "value": {"id": run_id, "selected": True}}])
    at._run(states)
    assert not at.exception, at.exception


def search(at: AppTest, words: str) -> list[int]:
    at.text_input(key="q").input(words).run()
    assert not at.exception, at.exception
    return [card["id"] for card in grid(at)["cards"]]


def select_all_six(ids: list[int]) -> AppTest:
    """Tick the three harbour runs, search for the neon ones and tick those too."""
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.run()
    at.switch_page("pages/gallery.py").run()
    for words, expected in (("harbour", ids[:3]), ("neon", ids[3:])):
        assert sorted(search(at, words)) == expected
        for run_id in expected:
            tick(at, run_id)
    return at


def test_six_runs_ticked_across_searches_are_all_exported(six_runs, monkeypatch):
    svc, ids = six_runs
    zips = {}
    original = DeltaGenerator.download_button

    def keep_the_zip(self, label, data, *args, **kwargs):  # the zip a click on Export zip would download
        if kwargs.get("key") == "export-selected":
            zips["data"] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", keep_the_zip)
    at = select_all_six(ids)
    assert sorted(at.session_state[selection.KEY]) == ids
    view = grid(at)
    assert view["can_select_more"] and all(card["selected"] for card in view["cards"])
    [caption] = [c.value for c in at.caption if "selected:" in c.value]
    assert caption.startswith("6 selected: ") and "Compare shows at most 4 runs" in caption
    # Compare is there, off, and says why; no link to a page that would drop two of them.
    [compare] = [b for b in at.button if b.proto.id.endswith("compare-selected")]
    assert compare.disabled and "2 to 4 runs" in compare.help
    assert not [link for link in at.get("page_link") if link.proto.label.startswith("Compare")]
    [export] = [e for e in at.get("download_button") if "export-selected" in e.proto.id]
    assert not export.proto.disabled and "left out" not in export.proto.help
    with zipfile.ZipFile(io.BytesIO(zips["data"]())) as archive:
        exported = json.loads(archive.read("runs.json"))["runs"]
    assert sorted(row["export_id"] for row in exported) == ids


def test_six_runs_ticked_across_searches_all_go_to_the_trash(six_runs):
    svc, ids = six_runs
    at = select_all_six(ids)
    at.button(key="trash-selected").click().run()
    assert not at.exception, at.exception
    assert svc.history.trash_count() == 6
    assert at.session_state[selection.KEY] == []
    assert not [e for e in at.main if "selection-bar" in str(getattr(e.proto, "id", ""))]


def test_compare_opened_with_six_selected_shows_four_and_names_the_rest(six_runs):
    svc, ids = six_runs
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.session_state[selection.KEY] = ids
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="compare_pick").value == ids[:4]
    cut = f"of the 6 runs selected in the gallery, #{ids[4]}, #{ids[5]} are left out"
    assert any(cut in c.value for c in at.caption), [c.value for c in at.caption]
    # Choosing other runs there changes what is compared, not what the gallery has selected.
    at.multiselect(key="compare_pick").unselect(ids[0]).run()
    assert not at.exception, at.exception
    assert at.query_params["runs"] == ",".join(map(str, ids[1:4]))
    assert at.session_state[selection.KEY] == ids


def test_the_selection_stops_at_its_limit_and_the_bar_counts_past_a_dozen(two_runs):
    svc, ids = two_runs
    others = list(range(1000, 1000 + selection.MAX_SELECTED - 1))  # runs purged since they were selected
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.session_state[selection.KEY] = [*others, ids[0]]
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    assert not grid(at)["can_select_more"]  # the other card's box is off, and says why
    [caption] = [c.value for c in at.caption if "selected:" in c.value]
    assert caption.startswith(f"{selection.MAX_SELECTED} selected: #1000, #1001, ")
    assert f"and {selection.MAX_SELECTED - selection.SHOWN_IDS} more" in caption
    assert f"{selection.MAX_SELECTED} is the most that can be selected" in caption
    tick(at, ids[1])  # a box drawn before the limit was reached adds nothing
    assert at.session_state[selection.KEY] == [*others, ids[0]]
