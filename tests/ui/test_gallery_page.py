"""The real Gallery page (frame.py → pages/gallery.py) in Streamlit's AppTest on a small temporary
history: search and filters narrow the cards and ride in the URL, the detail view links a run's
lineage both ways, and the trash keeps, restores and (after a confirmation) deletes runs."""

from __future__ import annotations

import json
import os
import socket
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


# The gallery page over both databases: its filters, search and trash are dialect-specific SQL.
pytestmark = pytest.mark.both_dialects


@pytest.fixture()
def history(data_dir):
    """Services on a fresh data folder with five runs: a lineage chain harbour → re-run → re-run,
    a tagged favourite in another size, and one still running (held by this process)."""
    cached_services.clear()
    svc = cached_services()
    made = {}
    with session_scope(svc.sessions) as session:
        def add(name, prompt, *, status="succeeded", parent=None, **params):
            params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": prompt, **params}
            run = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None,
                               parent_id=made.get(parent))
            run.status = status
            made[name] = run.id

        add("root", "a slow push-in on the harbour at dusk")
        add("child", "a slow push-in on the harbour at dusk", parent="root")
        add("grandchild", "a slow push-in on the harbour at dusk", parent="child")
        add("neon", "neon city street at night", width=96, height=64)
        add("busy", "forest river in the rain", status="running")
        session.flush()
        run_rows.update_run(session, made["busy"], worker_id=f"{socket.gethostname()}:{os.getpid()}:ui-test")
    svc.history.set_tags(made["neon"], ["night"])
    svc.history.set_favorite(made["neon"], True)
    yield svc, made
    cached_services().close()
    cached_services.clear()


def open_gallery(query_params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params.update(query_params or {})
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    return at


def card_ids(at: AppTest) -> list[int]:
    grids = [e for e in at.main if getattr(e.proto, "component_name", "") == "studio.run_grid"]
    if not grids:
        return []
    return [card["id"] for card in json.loads(grids[0].proto.json)["cards"]]


def test_search_narrows_the_cards_and_is_carried_in_the_url(history):
    _, made = history
    at = open_gallery()
    assert card_ids(at) == sorted(made.values(), reverse=True)  # newest first
    at.text_input(key="q").input("harbour").run()
    assert card_ids(at) == [made["grandchild"], made["child"], made["root"]]
    at.text_input(key="q").input("submarine").run()
    assert card_ids(at) == [] and "No runs match these filters." in at.info[0].value

    # The filters are bound to the URL: a bookmarked view opens filtered in a new session.
    fresh = open_gallery({"q": "neon"})
    assert fresh.text_input(key="q").value == "neon" and card_ids(fresh) == [made["neon"]]
    fresh = open_gallery({"tag": "night", "sort": "Oldest", "status": ["succeeded", "failed"]})
    assert fresh.multiselect(key="status").value == ["succeeded", "failed"] and card_ids(fresh) == [made["neon"]]
    fresh = open_gallery({"sort": "Oldest"})
    assert card_ids(fresh) == sorted(made.values())


def test_each_facet_narrows_the_cards(history):
    _, made = history
    at = open_gallery()
    at.multiselect(key="tag").select("night").run()
    assert card_ids(at) == [made["neon"]]
    at.multiselect(key="tag").unselect("night").run()
    at.multiselect(key="res").select("96x64").run()
    assert card_ids(at) == [made["neon"]]
    at.multiselect(key="res").unselect("96x64").run()
    at.multiselect(key="status").select("running").run()
    assert card_ids(at) == [made["busy"]]
    at.multiselect(key="status").unselect("running").run()
    at.toggle(key="fav").set_value(True).run()
    assert card_ids(at) == [made["neon"]]
    at.toggle(key="fav").set_value(False).run()
    at.date_input(key="from").set_value(date.today() + timedelta(days=1)).run()
    assert card_ids(at) == [] and "No runs match these filters." in at.info[0].value
    at.date_input(key="from").set_value(date.today() - timedelta(days=1)).run()
    assert len(card_ids(at)) == len(made)
    at.selectbox(key="sort").select("Oldest").run()
    assert card_ids(at) == sorted(made.values())
    # Every filter explains itself.
    for widget in [*at.text_input, *at.multiselect, *at.selectbox, *at.toggle, *at.number_input, *at.date_input]:
        assert widget.help, widget.label


def test_the_detail_view_links_the_lineage_both_ways(history):
    _, made = history
    at = open_gallery({"run": str(made["child"])})
    assert at.title[0].value == f"Run #{made['child']}"
    assert any(c.value.startswith(f"Re-run of #{made['root']}") for c in at.caption)
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link")}
    assert links[f"#{made['root']} · succeeded"] == f"run={made['root']}"
    assert links[f"#{made['grandchild']} · succeeded"] == f"run={made['grandchild']}"

    at = open_gallery({"run": str(made["grandchild"])})
    labels = [link.proto.label for link in at.get("page_link")]
    assert f"#{made['root']} · succeeded" in labels and f"#{made['child']} · succeeded" in labels


def test_trash_restore_and_empty_with_confirmation(history):
    svc, made = history
    at = open_gallery({"run": str(made["neon"])})
    next(b for b in at.button if b.label == "Move to trash").click().run()
    assert any("is in the trash" in w.value for w in at.warning)
    assert svc.history.get_run(made["neon"]).deleted_at is not None

    gallery = open_gallery()
    assert made["neon"] not in card_ids(gallery)
    gallery.toggle(key="trash").set_value(True).run()
    assert card_ids(gallery) == [made["neon"]]

    next(b for b in at.button if b.label == "Restore").click().run()
    assert svc.history.get_run(made["neon"]).deleted_at is None
    assert not any("is in the trash" in w.value for w in at.warning)

    svc.history.trash([made["root"]])
    gallery = open_gallery({"trash": "true"})
    assert card_ids(gallery) == [made["root"]]
    next(b for b in gallery.button if b.label == "Empty trash…").click().run()
    assert svc.history.get_run(made["root"]) is not None  # one click deletes nothing
    gallery.button(key="g_empty_no").click().run()
    assert svc.history.get_run(made["root"]) is not None
    next(b for b in gallery.button if b.label == "Empty trash…").click().run()
    gallery.button(key="g_empty_yes").click().run()
    assert svc.history.get_run(made["root"]) is None and card_ids(gallery) == []
    assert svc.history.get_run(made["child"]).parent_id is None  # the re-run stays, unlinked


def test_a_running_run_cannot_be_moved_to_the_trash(history):
    _, made = history
    at = open_gallery({"run": str(made["busy"])})
    button = next(b for b in at.button if b.label == "Move to trash")
    assert button.disabled and "cancel it first" in button.help


def test_pages_of_cards_follow_the_pager_and_restart_when_filters_change(history):
    svc, made = history
    with session_scope(svc.sessions) as session:
        for index in range(30):
            run = run_rows.add_run(session, engine="motion", model_id=None, input_image_id=None,
                               params={"prompt": f"extra run {index}", "width": 64, "height": 64, "frames": 16, "fps": 8})
            run.status = "succeeded"
    at = open_gallery()
    assert len(card_ids(at)) == 24 and at.pagination[0].num_pages == 2
    first_page = card_ids(at)
    at.pagination[0].select(2).run()
    second_page = card_ids(at)
    assert len(second_page) == 11 and sorted(first_page + second_page, reverse=True) == first_page + second_page
    at.text_input(key="q").input("extra").run()  # a new filter starts at the first page again
    assert len(card_ids(at)) == 24 and at.pagination[0].value == 1
    assert card_ids(open_gallery({"page": "2"})) == second_page  # a bookmarked page opens on that page


@pytest.mark.parametrize("value", ["1e400", "-inf", "1.5", "٣", "4294967296"])
def test_a_hand_edited_seed_in_the_address_filters_nothing_and_says_so(history, value):
    """Streamlit's number field converted ?seed= itself and failed the page on "1e400"; the seed
    filter now reads its text and names what it cannot use."""
    _, made = history
    at = open_gallery({"seed": value})
    assert len(card_ids(at)) == len(made)
    assert any("is not a seed" in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_seed_in_the_address_filters_the_runs(history):
    _, made = history
    assert len(card_ids(open_gallery({"seed": "1"}))) == len(made)
    assert card_ids(open_gallery({"seed": "2"})) == []


def test_a_filter_given_in_the_address_is_counted_on_the_filters_button(history):
    at = open_gallery({"seed": "2"})
    labels = [p.proto.popover.label for p in at.get("popover")]
    assert "Filters · 1" in labels, labels
