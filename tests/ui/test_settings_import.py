"""Settings → Import on the real page (AppTest, a real temporary history): a studio export is
imported once per press, and the page says what the file became, so a second press is a choice."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services
from tests.integration.conftest import SMALL, picture
from tests.ui.conftest import FRAME


@pytest.fixture()
def export(data_dir, tmp_path):
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # this test drives the worker itself
    run_id = svc.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 1}, image=picture()))
    svc.worker.run_until_idle()
    zip_path = svc.export_runs([run_id], tmp_path / "one.zip")
    yield svc, zip_path.read_bytes()
    svc.close()
    cached_services.clear()


def test_an_import_says_what_it_added_and_a_second_press_is_named_import_again(export):
    svc, data = export
    at = AppTest.from_file(FRAME, default_timeout=60).run()
    at.switch_page("pages/settings.py").run()
    at.file_uploader(key="import_zip").set_value(("one.zip", data, "application/zip"))
    at = at.run()
    assert not at.exception, at.exception
    at = next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    assert svc.history.get_run(2) is not None and svc.history.get_run(3) is None
    assert any("Imported 1 run: #2" in s.value and "a second time" in s.value for s in at.success), at.success
    assert not [b for b in at.button if b.label == "Import"]  # the same file is not imported again unawares
    at = next(b for b in at.button if b.label == "Import again").click().run()
    assert svc.history.get_run(3) is not None  # asked for by name: the runs are added again
