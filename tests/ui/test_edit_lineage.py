"""Edit & re-run on the real Generate page: the form is filled from the run once (the id leaves the
address, so a reload cannot fill it over the user's edits), an "Editing from run #N" banner says
so and offers a fresh start, and what is queued from it records the run as its parent."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services
from tests.integration.conftest import SMALL, picture

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def svc(data_dir):
    cached_services.clear()
    yield cached_services()
    cached_services().close()
    cached_services.clear()


def page(edit: int | None = None) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    if edit is not None:
        at.query_params["edit"] = str(edit)
    at = at.run()
    assert not at.exception, at.exception
    return at


def prompt(at: AppTest):
    return next(t for t in at.text_area if t.key and t.key.startswith("prompt@"))


def generate(at: AppTest) -> AppTest:
    at = next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, at.exception
    return at


def banners(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "Editing from run" in i.value]


def test_edit_and_rerun_records_its_parent_and_a_reload_keeps_the_edits(svc):
    source = svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "prompt": "the original"},
                                            image=picture()))
    at = page(edit=source)
    assert banners(at) == [f"Editing from run #{source}: what you queue is recorded as its child."]
    assert prompt(at).value == "the original"
    assert "edit" not in at.query_params, "the id left the address: a reload cannot fill the form again"

    at = prompt(at).input("the original, slower").run()
    at = generate(at)
    child = svc.history.get_run(source + 1)
    assert child.parent_id == source and child.prompt == "the original, slower"
    assert prompt(at).value == "the original, slower" and banners(at), "the edits and the banner stay"

    at = next(b for b in at.button if b.label == "Start fresh").click().run()
    assert not banners(at) and prompt(at).value == ""
    at = prompt(at).input("something new").run()
    generate(at)
    assert svc.history.get_run(source + 2).parent_id is None


@pytest.mark.parametrize("asked", ["abc", "0", "-3", "12345678901234567890123", "²"])
def test_an_edit_address_that_is_not_a_run_number_says_so_and_fills_nothing(svc, asked):
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["edit"] = asked
    at = at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert any("in the address is not a run number, so the form was not filled" in w for w in warnings), warnings
    assert not banners(at) and prompt(at).value == "" and "edit" not in at.query_params


def test_an_empty_edit_in_the_address_is_simply_ignored(svc):
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["edit"] = ""
    at = at.run()
    assert not at.exception, at.exception
    assert not [w.value for w in at.warning if "run number" in w.value] and not banners(at)
