"""A sweep (or batch) with a run in the trash, on the real Compare page (AppTest): the page says
which of its runs are in the trash and links to each, where it can be restored."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services
from tests.ui.conftest import FRAME


@pytest.fixture()
def sweep(data_dir):
    """A batch of two finished runs; the first is in the trash."""
    cached_services.clear()
    svc = cached_services()
    with session_scope(svc.sessions) as session:
        params = {"engine": "motion", "width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": "x"}
        group = run_rows.add_sweep(session, name="batch", base_params=params, axes=[])
        ids = []
        for _ in range(2):
            run = run_rows.add_run(session, engine="motion", model_id=None, params=params, input_image_id=None,
                                   sweep_id=group.id)
            run.status = "failed"
            ids.append(run.id)
        sweep_id = group.id
    svc.history.trash([ids[0]])
    yield svc, sweep_id, ids
    cached_services().close()
    cached_services.clear()


def open_sweep(sweep_id: int) -> AppTest:
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["sweep"] = str(sweep_id)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    return at


def test_a_sweep_page_names_and_links_its_runs_in_the_trash(sweep):
    svc, sweep_id, (trashed, kept) = sweep
    at = open_sweep(sweep_id)
    assert any(f"1 of this sweep's runs is in the trash and not shown here: #{trashed}." in c.value
               for c in at.caption), [c.value for c in at.caption]
    links = {link.proto.label: link.proto.query_string for link in at.get("page_link")}
    assert links.get(f"#{trashed} · failed (in trash)") == f"run={trashed}", links

    # Restored, it is back among the sweep's runs and the line is gone.
    svc.history.restore([trashed])
    at = open_sweep(sweep_id)
    assert not any("in the trash" in c.value for c in at.caption)


def test_a_sweep_with_every_run_in_the_trash_still_links_them(sweep):
    svc, sweep_id, (trashed, kept) = sweep
    svc.history.trash([kept])
    at = open_sweep(sweep_id)
    assert any("no runs left outside the trash" in i.value for i in at.info)
    assert any(f"2 of this sweep's runs are in the trash and not shown here: #{trashed}, #{kept}." in c.value
               for c in at.caption)
