"""Re-run on a run page, for a run that can no longer be made (its engine is not in this studio,
as after importing another studio's runs): the page says why instead of failing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.ui.runtime import services as cached_services
from tests.ui.conftest import FRAME


@pytest.fixture()
def orphan(data_dir):
    cached_services.clear()
    svc = cached_services()
    with session_scope(svc.sessions) as session:
        run = run_rows.add_run(session, engine="engine-of-another-studio", model_id=None, input_image_id=None,
                               params={"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1})
        run.status = "failed"
        run.error = "made elsewhere"
        session.flush()
        run_id = run.id
    yield svc, run_id
    cached_services().close()
    cached_services.clear()


@pytest.mark.parametrize("button", ["Re-run", "Re-run, new seed"])
def test_rerun_of_a_run_whose_engine_is_gone_says_so(orphan, button):
    svc, run_id = orphan
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["run"] = str(run_id)
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    at = next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, at.exception
    assert any(f"Run #{run_id} cannot be re-run" in e.value for e in at.error), [e.value for e in at.error]
    assert svc.history.get_run(run_id + 1) is None


def test_the_refusal_names_only_engines_a_person_can_pick(orphan):
    svc, run_id = orphan
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.query_params["run"] = str(run_id)
    at.run()
    at.switch_page("pages/gallery.py").run()
    at = next(b for b in at.button if b.label == "Re-run").click().run()
    [said] = [e.value for e in at.error if "cannot be re-run" in e.value]
    assert "motion" in said and "tiny" not in said and "smooth" not in said, said
