"""An extend chain whose first link is in the trash, on the real pages (AppTest): the later links'
chain section marks that link as in the trash, and deleting it for good (from its page, or by
emptying the trash) names the runs that continue or were made from it before the confirmation."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services
from tests.ui.conftest import FRAME


pytestmark = pytest.mark.both_dialects


@pytest.fixture()
def chain(data_dir):
    """start ← middle ← end (an extend chain), a re-run of start, a smooth run of start's video and
    a smooth run of the whole chain; start is in the trash."""
    cached_services.clear()
    svc = cached_services()
    made = {}
    with session_scope(svc.sessions) as session:
        def add(name, *, engine="motion", parent=None, continues=None, **params):
            params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": name, **params}
            run = run_rows.add_run(session, engine=engine, model_id=None, params=params, input_image_id=None,
                                   parent_id=made.get(parent), continues_id=made.get(continues))
            run.status = "succeeded"
            made[name] = run.id

        add("start")
        add("middle", continues="start")
        add("end", continues="middle")
        add("rerun", parent="start")
        add("smoothed", engine="smooth", parent="start", source_run=made["start"])
        add("whole", engine="smooth", parent="end", source_run=made["end"], chain_from=made["start"])
    svc.history.trash([made["start"]])
    yield svc, made
    cached_services().close()
    cached_services.clear()


def open_gallery(query_params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params.update(query_params)
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    return at


def expected_sentences(made) -> list[str]:
    start, middle, end = (f"#{made[name]}" for name in ("start", "middle", "end"))
    return [f"{middle} continues {start}'s video; deleting {start} leaves {middle} without its start.",
            f"{end} is a later link of the extend chain that starts at {start}",
            f"#{made['rerun']} is a re-run of {start}",
            f"#{made['smoothed']} was made from {start}'s video",
            f"#{made['whole']} was made from the extend chain through {start}"]


def test_a_later_link_marks_the_trashed_start_of_its_chain(chain):
    _, made = chain
    at = open_gallery({"run": str(made["end"])})
    labels = [link.proto.label for link in at.get("page_link")]
    assert f"#{made['start']} · succeeded (in trash)" in labels, labels
    assert f"#{made['middle']} · succeeded" in labels
    # Its page is still reachable, with Restore.
    at = open_gallery({"run": str(made["start"])})
    assert any(b.label == "Restore" for b in at.button)


def test_deleting_for_good_from_the_run_page_names_what_continues_from_it(chain):
    svc, made = chain
    at = open_gallery({"run": str(made["start"])})
    assert not any("continue from or were made from" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Delete for good…").click().run()
    warning = next(w.value for w in at.warning if "continue from or were made from" in w.value)
    for sentence in expected_sentences(made):
        assert sentence in warning, warning
    # Said before the confirmation, which deletes only once pressed.
    assert svc.history.get_run(made["start"]) is not None
    next(b for b in at.button if b.label == "Delete for good").click().run()
    assert svc.history.get_run(made["start"]) is None
    assert svc.history.get_run(made["middle"]).continues_id is None


def test_emptying_the_trash_names_what_continues_from_its_runs(chain):
    svc, made = chain
    at = open_gallery({"trash": "true"})
    next(b for b in at.button if b.label == "Empty trash…").click().run()
    warning = next(w.value for w in at.warning if "continue from or were made from" in w.value)
    for sentence in expected_sentences(made):
        assert sentence in warning, warning
    # A run in the trash beside the one it continues is deleted too: nothing is left to warn about.
    svc.history.trash([made[name] for name in ("middle", "end", "rerun", "smoothed", "whole")])
    assert svc.history.purge_dependents() == []
    assert [d.run_id for d in svc.history.purge_dependents([made["start"]])] == \
        [made[name] for name in ("middle", "end", "rerun", "smoothed", "whole")]
