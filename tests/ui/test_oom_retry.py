"""An out-of-memory run (injected into the tiny I2VGen-XL pipeline) shows what to lower and a retry
button on its page; the retry runs in the lower memory mode and succeeds. The page also shows the
run's reproducibility manifest and memory mode."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio.db import gallery
from studio.db import settings as settings_rows
from studio.db.engine import session_scope
from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


def test_an_oom_run_offers_a_lower_memory_retry_that_succeeds(data_dir, monkeypatch):
    # On this CPU-only machine the run's resolved mode is "cpu"; the fault fires there at step 1.
    monkeypatch.setenv("STUDIO_TINY_FAULT", "oom@cpu:1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # this test drives the worker itself
    try:
        with session_scope(svc.sessions) as session:
            settings = settings_rows.load_settings(session)
            settings.developer_mode = True
            settings_rows.save_settings(session, settings)
        run_id = svc.queue.submit(SubmitRequest(
            engine="tiny-i2vgen-xl", image=Image.new("RGB", (64, 64), (80, 120, 160)), image_name="boat.png",
            params={"width": 32, "height": 32, "frames": 2, "steps": 2, "prompt": "a boat"}))
        svc.worker.run_until_idle()
        failed = svc.history.get_run(run_id)
        assert failed.status == "failed" and failed.error_kind == "oom" and failed.retry_mode == "lowest"
        assert "Out of memory" in failed.error and "frames" in failed.error

        at = AppTest.from_file(FRAME, default_timeout=120)
        at.query_params["run"] = str(run_id)
        at.run()
        at.switch_page("pages/gallery.py").run()
        assert not at.exception, at.exception
        assert any("Out of memory" in e.value for e in at.error)
        retry = next(b for b in at.button if b.label == "Retry in lowest mode")
        retry.click().run()

        svc.worker.run_until_idle()
        child = svc.history.list_runs(gallery.RunQuery(page_size=5)).runs[0]
        assert child.id != run_id and child.parent_id == run_id
        assert child.status == "succeeded", child.error
        assert child.memory_mode == "lowest" and child.params["memory_mode"] == "lowest"
        assert child.manifest["memory_mode"] == "lowest" and child.manifest["versions"]["diffusers"]

        detail = AppTest.from_file(FRAME, default_timeout=120)
        detail.query_params["run"] = str(child.id)
        detail.run()
        detail.switch_page("pages/gallery.py").run()
        assert not detail.exception, detail.exception
        assert any(getattr(e, "label", "") == "Reproducibility manifest" for e in detail.expander)
        assert any(m.label == "Memory mode" and m.value == "lowest" for m in detail.metric)
    finally:
        cached_services().close()
        cached_services.clear()
