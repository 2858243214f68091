"""The server entry (app.py): the lifespan builds the one Services object and puts it in the app's
state, the media routes find the services there (no Streamlit involved), and the pages-folder
workaround is applied when the entry is imported."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest
from PIL import Image
from streamlit.runtime.pages_manager import PagesManager

from studio.jobs.queue import SubmitRequest
from studio.ui.runtime import services as cached_services
from tests.aio import run_async

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture()
def entry(data_dir, monkeypatch):
    """app.py imported as the server imports it; the process-wide pages flag it sets is put back."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", PagesManager.uses_pages_directory)
    spec = importlib.util.spec_from_file_location("studio_app_entry", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cached_services.clear()
    yield module
    cached_services.clear()


async def http_get(asgi, path: str) -> tuple[int, bytes]:
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 50000)}
    sent = []
    requested, answered = [], asyncio.Event()

    async def receive():
        # The request once; after that the client stays connected until the answer is complete.
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await asgi(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_pages_folder_is_not_treated_as_an_old_style_multipage_app(entry):
    assert PagesManager.uses_pages_directory is False


def test_the_lifespan_puts_the_services_in_the_app_state_and_the_media_routes_use_them(entry):
    from starlette.applications import Starlette

    async def scenario():
        async with entry.lifespan(entry.app) as state:
            entry.app.state.update(state)  # what st.App does with what its lifespan yields
            svc = await asyncio.to_thread(entry.served_services)
            assert svc is cached_services()  # the pages' services, built once
            svc.worker.stop()  # this test drives the worker itself
            run_id = svc.queue.submit(SubmitRequest(engine="motion", image=Image.new("RGB", (80, 60), (200, 120, 40)),
                                                    image_name="in.png",
                                                    params={"width": 64, "height": 64, "frames": 4, "fps": 8}))
            await asyncio.to_thread(svc.worker.run_until_idle)
            run = svc.history.get_run(run_id)
            assert run.status == "succeeded"

            routes = Starlette(routes=entry._routes())
            status, body = await http_get(routes, f"/studio/media/run/{run_id}/video")
            assert status == 200 and body == Path(run.video_path).read_bytes()
            assert (await http_get(routes, f"/studio/media/run/{run_id}/poster"))[0] == 200
            assert (await http_get(routes, f"/studio/media/run/{run_id}/nonsense"))[0] == 404
            assert (await http_get(routes, f"/studio/media/run/{run_id + 1}/video"))[0] == 404
            assert (await http_get(routes, "/studio/media/sweep/1/compare"))[0] == 404
        return svc

    svc = run_async(scenario())
    svc.close()
