"""Two tabs submitting the same new picture at the same moment both get their runs: the picture is
stored once and both runs point at it."""

from __future__ import annotations

import threading

import pytest

from studio.jobs.queue import SubmitRequest
from tests.integration.conftest import SMALL, make_services, picture


@pytest.mark.both_dialects
def test_simultaneous_submissions_of_one_new_picture_all_queue_and_share_one_image(tmp_path, database_url):
    services = make_services(tmp_path, database_url)  # its worker is not started: only the submissions matter
    try:
        for green in (60, 120, 180):  # three new pictures: the race is lost often, not always
            race(services, picture(color=(10, green, 90)))
    finally:
        services.close()


def race(services, image) -> None:
    start = threading.Barrier(6)
    run_ids, errors = [], []

    def submit() -> None:
        start.wait()
        try:
            run_ids.append(services.queue.submit(SubmitRequest(engine="motion", params=SMALL, image=image,
                                                               image_name="same.png")))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever a submission raised
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    runs = services.history.get_runs(run_ids)
    assert len(runs) == 6
    assert len({run.input_image_id for run in runs}) == 1
