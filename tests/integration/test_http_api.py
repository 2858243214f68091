"""The HTTP JSON API on a served studio, driven with a real HTTP client: submit -> progress -> done
-> file download, search and cancel, and every response checked against the OpenAPI document the
server itself serves at /api/openapi.json."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from PIL import Image

from studio.db.engine import session_scope
from studio.jobs import tokens
from studio.media.encode import probe_video
from studio.web import auth
from tests.integration.conftest import SMALL, make_services, picture
from tests.integration.server import serving

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    log = folder / "server.log"
    with serving(folder / "data", log=log) as port:
        base = f"http://127.0.0.1:{port}"
        document = requests.get(base + "/api/openapi.json", timeout=30)
        assert document.status_code == 200, document.text
        yield base, OpenAPI.from_dict(document.json()), log  # from_dict checks the document itself


def checked(api: OpenAPI, response: requests.Response) -> requests.Response:
    """The response, after checking it against the document (status, content type and body)."""
    api.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    return response


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def post_run(base: str, image: bytes, params: dict) -> requests.Response:
    return requests.post(base + "/api/runs", files={"image": ("photo.png", image, "image/png")},
                         data={"params": json.dumps(params)}, timeout=60)


def wait_finished(base: str, api: OpenAPI, run_id: int, log: Path, timeout: float = 90) -> tuple[dict, list]:
    """The run's final JSON and every progress fraction seen on the way; on timeout, what was seen."""
    seen: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = checked(api, requests.get(f"{base}/api/runs/{run_id}", timeout=30)).json()
        seen.append((body["status"], body["progress"]["fraction"]))
        if body["status"] in ("succeeded", "failed", "canceled"):
            return body, seen
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s; seen {seen[-10:]}\n"
                         f"server log:\n{log.read_text(errors='replace')[-3000:]}")


def test_submit_follow_download_and_search(studio):
    base, api, log = studio
    photo = Image.open(ASSETS / "city_at_dusk.png").convert("RGB").resize((160, 96))
    queued = checked(api, requests.post(base + "/api/runs", timeout=60, files={
        "image": ("photo.png", png(photo), "image/png"), "end_image": ("end.png", png(picture()), "image/png")},
        data={"params": json.dumps({"engine": "motion", "prompt": "a slow push-in at dusk", "frames": 24, "fps": 12,
                                    "seed": 11})}))
    assert queued.status_code == 201, queued.text
    run_id = queued.json()["id"]

    run, seen = wait_finished(base, api, run_id, log)
    assert run["status"] == "succeeded", run
    assert run["seed"] == 11 and run["params"]["frames"] == 24 and run["progress"]["fraction"] == 1.0
    assert len(run["params"]["end_image"]) == 64, "the end image is stored by its digest"
    assert (run["params"]["width"], run["params"]["height"]) != (512, 512), "the size followed the photo's shape"

    video = requests.get(base + run["files"]["video"], timeout=30)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    path = Path(log.parent / "downloaded.mp4")
    path.write_bytes(video.content)
    info = probe_video(path)
    assert (info.codec, info.pix_fmt, info.frames) == ("h264", "yuv420p", 24)
    assert requests.get(base + run["files"]["poster"], timeout=30).status_code == 200

    found = checked(api, requests.get(base + "/api/runs", params={"q": "dus"}, timeout=30)).json()
    assert [r["id"] for r in found["runs"]] == [run_id] and found["total"] == 1
    missing = checked(api, requests.get(base + "/api/runs", params={"q": "sunrise"}, timeout=30)).json()
    assert missing["runs"] == [] and missing["total"] == 0

    finished = checked(api, requests.post(f"{base}/api/runs/{run_id}/cancel", timeout=30))
    assert finished.status_code == 409 and finished.json()["error"]["param"] == "run_id"


def test_errors_are_json_naming_the_parameter_and_queue_nothing(studio):
    base, api, _log = studio
    before = requests.get(base + "/api/runs", timeout=30).json()["total"]

    too_many = checked(api, post_run(base, png(picture()), {"engine": "motion", "frames": 100000}))
    assert too_many.status_code == 400
    error = too_many.json()["error"]
    assert error["param"] == "frames" and "frames" in error["message"].lower() and error["suggestion"] is not None

    unknown = checked(api, post_run(base, png(picture()), {"engine": "no-such-engine"}))
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "engine"

    not_an_image = checked(api, post_run(base, b"GIF89a but not really", {"engine": "motion"}))
    assert not_an_image.status_code == 400 and not_an_image.json()["error"]["param"] == "image"

    broken_json = checked(api, requests.post(base + "/api/runs", files={"image": ("p.png", png(picture()))},
                                             data={"params": "{frames: 3"}, timeout=30))
    assert broken_json.status_code == 400 and broken_json.json()["error"]["param"] == "params"

    no_end_frame = checked(api, requests.post(base + "/api/runs", timeout=30, data={"params": json.dumps(
        {"engine": "svd", "frames": 14})}, files={"image": ("p.png", png(picture())), "end_image": ("e.png", png(picture()))}))
    assert no_end_frame.status_code == 400 and no_end_frame.json()["error"]["param"] in ("end_image", "engine")

    for field, files, data in (("image", [("image", ("a.png", png(picture()))), ("image", ("b.png", png(picture())))], {}),
                               ("params", [("image", ("a.png", png(picture())))], [("params", "{}"), ("params", "{}")])):
        twice = checked(api, requests.post(base + "/api/runs", files=files, data=data, timeout=30))
        assert twice.status_code == 400 and twice.json()["error"]["param"] == field, twice.text[:300]

    no_form = checked(api, requests.post(base + "/api/runs", json={"prompt": "x"}, timeout=30))
    assert no_form.status_code == 400

    bad_page = checked(api, requests.get(base + "/api/runs", params={"page_size": "1000"}, timeout=30))
    assert bad_page.status_code == 400 and bad_page.json()["error"]["suggestion"] == 100

    assert checked(api, requests.get(base + "/api/runs/99999999", timeout=30)).status_code == 404
    assert requests.get(base + "/api/runs", timeout=30).json()["total"] == before, "nothing was queued"


def test_params_no_database_could_hold_are_refused_as_json_and_queue_nothing(studio):
    """A lone surrogate (in a value or a key) and a deeply nested document: 400s naming `params`,
    not a 500 from the database or the reply, and no run."""
    base, api, _log = studio
    before = requests.get(base + "/api/runs", timeout=30).json()["total"]
    for raw in ('{"engine": "motion", "prompt": "a\\ud800b"}', '{"engine": "motion", "\\udc00": 1}',
                "[" * 2000 + "]" * 2000, '{"a":' * 2000 + "1" + "}" * 2000):
        answer = checked(api, requests.post(base + "/api/runs", files={"image": ("p.png", png(picture()))},
                                            data={"params": raw}, timeout=30))
        assert answer.status_code == 400, (raw[:40], answer.status_code, answer.text[:300])
        assert answer.json()["error"]["param"] == "params", answer.text[:300]
    assert requests.get(base + "/api/runs", timeout=30).json()["total"] == before, "nothing was queued"


def test_params_of_the_wrong_json_type_are_refused_naming_the_field(studio):
    """JSON has types: text where a number or a switch belongs (or a number for the prompt) is a
    400 naming the field, not converted; integral floats, null and "" (the default) are taken."""
    base, api, _log = studio
    before = requests.get(base + "/api/runs", timeout=30).json()["total"]
    for field, value, words in (("frames", "6", "a whole number"), ("frames", 6.5, "a whole number"),
                                ("frames", True, "a whole number"), ("guidance", "1", "a number"),
                                ("loop", "yes", "true or false"), ("loop", 1, "true or false"),
                                ("prompt", 5, "text"), ("negative_prompt", ["a"], "text"),
                                ("seed", "7", "a whole number"), ("seed", 10**400, None),
                                ("guidance", 10**400, "more than 40 digits"),
                                ("motion", {"x": 1}, "one of")):
        answer = checked(api, post_run(base, png(picture()), {"engine": "motion", **SMALL, field: value}))
        assert answer.status_code == 400, (field, value, answer.text[:300])
        error = answer.json()["error"]
        assert error["param"] == field and (words is None or words in error["message"]), (field, value, error)
    assert requests.get(base + "/api/runs", timeout=30).json()["total"] == before, "nothing was queued"
    taken = checked(api, post_run(base, png(picture()), {"engine": "motion", **SMALL, "frames": 6.0,
                                                          "prompt": None, "seed": ""}))
    assert taken.status_code == 201, taken.text[:300]


def test_a_long_list_says_its_count_stopped_and_a_page_past_the_end_is_empty(studio):
    base, api, _log = studio
    for seed in range(6):
        assert post_run(base, png(picture()), {"engine": "motion", "frames": 2, "seed": seed}).status_code == 201
    first = checked(api, requests.get(base + "/api/runs", params={"page_size": 1}, timeout=30)).json()
    # Counted up to four pages past this one: five of the six (or more) runs, and `more` says so.
    assert first["more"] is True and first["total"] == 5 and len(first["runs"]) == 1, first
    exact = checked(api, requests.get(base + "/api/runs", params={"page_size": 100}, timeout=30)).json()
    assert exact["more"] is False and exact["total"] == len(exact["runs"]) >= 6
    past = checked(api, requests.get(base + "/api/runs", params={"page": 1000, "page_size": 100}, timeout=30)).json()
    assert past["runs"] == [] and past["page"] == 1000, past  # a client reading until an empty page stops


def test_other_paths_and_methods_under_the_api_are_answered_in_json(studio):
    """Not the pages' HTML with a 200, nor a plain-text 405: a client reading JSON gets JSON."""
    base, _api, _log = studio
    for method, path, status in (("GET", "/api/nope", 404), ("GET", "/api", 404), ("DELETE", "/api/runs/1", 405),
                                 ("GET", "/api/runs/1/cancel", 405), ("PUT", "/api/runs", 405),
                                 ("GET", "/api/runs/", 404)):
        answer = requests.request(method, base + path, timeout=30, allow_redirects=False)
        assert answer.status_code == status, (method, path, answer.status_code, answer.text[:200])
        assert answer.headers["content-type"] == "application/json", (method, path, answer.headers)
        assert answer.json()["error"]["message"], (method, path)
    assert requests.get(base + "/api/runs/1/cancel", timeout=30).headers["allow"] == "POST"
    assert "no slash at the end" in requests.get(base + "/api/runs/", timeout=30).json()["error"]["message"]


def test_a_queued_or_running_run_can_be_cancelled(studio):
    base, api, log = studio
    # Long enough at this size that the cancel lands while it is queued or drawing.
    queued = post_run(base, png(picture()), {"engine": "motion", "frames": 240, "fps": 24,
                                             "width": 1280, "height": 720})
    assert queued.status_code == 201, queued.text
    run_id = queued.json()["id"]
    cancel = checked(api, requests.post(f"{base}/api/runs/{run_id}/cancel", timeout=30))
    assert cancel.status_code == 200 and cancel.json()["status"] in ("canceled", "canceling")
    run, _seen = wait_finished(base, api, run_id, log)
    assert run["status"] == "canceled" and run["files"]["video"] is None


def test_behind_a_password_the_api_takes_a_live_worker_token(tmp_path):
    data = tmp_path / "data"
    with serving(data, extra_env={auth.PASSWORD_HASH_ENV: auth.hash_password("correct horse battery")}) as port:
        base = f"http://127.0.0.1:{port}"
        answer = requests.get(base + "/api/runs", timeout=30)
        assert answer.status_code == 401 and "worker-token create" in answer.json()["error"]["message"]
        posted = requests.post(base + "/api/runs", files={"image": ("p.png", png(picture()))}, timeout=30)
        assert posted.status_code == 401
        assert requests.get(base + "/", timeout=30).status_code == 401, "the pages still need the login"

        services = make_services(tmp_path)  # the server made this history; add a token to it
        try:
            with session_scope(services.sessions) as session:
                token = tokens.create(session, "script")
            bearer = {"Authorization": f"Bearer {token}"}
            queued = requests.post(base + "/api/runs", headers=bearer, timeout=30,
                                   files={"image": ("p.png", png(picture()))},
                                   data={"params": json.dumps({"engine": "motion", "frames": 6})})
            assert queued.status_code == 201, queued.text
            assert requests.get(base + queued.json()["url"], headers=bearer, timeout=30).status_code == 200
            forged = {"Authorization": "Bearer stw_not-a-token"}
            assert requests.get(base + "/api/runs", headers=forged, timeout=30).status_code == 401
            # Any path under /api: a forged token gets the API's 401, not the pages' HTML shell.
            elsewhere = requests.get(base + "/api/anything", headers=forged, timeout=30)
            assert elsewhere.status_code == 401 and elsewhere.json()["error"]["message"], elsewhere.text[:200]
            assert requests.get(base + "/api/anything", headers=bearer, timeout=30).status_code == 404
            assert requests.get(base + "/", headers=bearer, timeout=30).status_code == 401, "a token opens the API only"
            with session_scope(services.sessions) as session:
                tokens.revoke(session, "script")
            revoked = requests.get(base + "/api/runs", headers=bearer, timeout=30)
            assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
        finally:
            services.close()
