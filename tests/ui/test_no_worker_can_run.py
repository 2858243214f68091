"""A queued run that no live worker would take says so on its page, instead of waiting silently;
with a worker that takes it, the page says nothing of the kind. Real history, real workers table."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio.jobs.queue import SubmitRequest
from studio.jobs.worker import Worker
from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
NOBODY = "No running worker can take this run"


def run_page(run_id: int) -> list[str]:
    at = AppTest.from_file(FRAME, default_timeout=120)
    at.query_params["run"] = str(run_id)
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception, at.exception
    return [w.value for w in at.warning]


def test_a_queued_run_no_worker_takes_says_so(data_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached_services.clear()
    svc = cached_services()
    svc.worker.stop()  # the studio's own worker is gone: only a diffusion-only worker is left
    try:
        run_id = svc.queue.submit(SubmitRequest(engine="motion", image=Image.new("RGB", (64, 64), (80, 120, 160)),
                                                image_name="boat.png", params={"width": 64, "height": 64, "frames": 4}))
        other = Worker(session_factory=svc.sessions, registry=svc.registry, storage=svc.storage, paths=svc.paths,
                       engines=["tiny-wan"])
        other.report()
        assert any(NOBODY in text and "motion" in text for text in run_page(run_id))
        svc.worker.report()  # a worker that takes any engine is back
        assert not any(NOBODY in text for text in run_page(run_id))
    finally:
        svc.close()
        cached_services.clear()
