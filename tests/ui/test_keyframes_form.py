"""Keyframes on the real Generate page (AppTest): Edit & re-run brings back a run's end image and
keeps a chain's link a link, and queueing from there stores both again."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.storage import image_digest
from studio.ui.runtime import services as cached_services
from tests.integration.conftest import SMALL, picture

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def svc(data_dir):
    cached_services.clear()
    yield cached_services()
    cached_services().close()
    cached_services.clear()


def test_edit_and_rerun_of_a_link_keeps_its_end_image_and_its_place_in_the_chain(svc):
    end = picture((30, 200, 90))
    source = svc.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=picture()))
    link = svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "end_image": image_digest(end)},
                                          image=picture((90, 90, 90)), end_image=end, continues_id=source))
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["edit"] = str(link)
    at = at.run()
    assert not at.exception, at.exception
    assert next(r for r in at.radio if r.label == "End image").value == "From history"
    assert any(f"Extending #{source}" in i.value for i in at.info)
    at = next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, at.exception
    edited = svc.history.get_run(link + 1)
    assert (edited.parent_id, edited.continues_id) == (link, source)
    assert edited.end_image_id == svc.history.get_run(link).end_image_id is not None


def test_an_end_image_that_cannot_be_used_blocks_every_way_of_queueing(svc):
    """An end image chosen but unusable (here: a run's, whose file is gone since) is not quietly
    left out: Generate, the sweep and the batch queue nothing, and the page says why."""
    end = picture((30, 200, 90))
    run = svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "end_image": image_digest(end)},
                                         image=picture((90, 90, 90)), end_image=end))
    Path(svc.history.image_by_sha256(image_digest(end)).path).unlink()
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["edit"] = str(run)
    at = at.run()
    assert not at.exception, at.exception
    assert next(r for r in at.radio if r.label == "End image").value == "From history"
    assert any("is missing" in e.value and "set End image to None" in e.value for e in at.error), [e.value for e in at.error]
    assert next(b for b in at.button if b.label == "Generate").disabled
    assert any("Nothing is queued until the end image can be used" in c.value for c in at.caption)
    assert svc.history.get_run(run + 1) is None  # nothing queued without the end image
    at = next(r for r in at.radio if r.label == "End image").set_value("None").run()
    assert not next(b for b in at.button if b.label == "Generate").disabled
