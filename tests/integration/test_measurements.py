"""Measured runs: what the measurements say about known clips, that the worker stores them as a run
finishes, that an older run is measured from its MP4 on demand, and that the gallery sorts and
filters by them. Real frames, the real worker with the camera-motion engine, real ffmpeg, a real
SQLite history (and PostgreSQL for the gallery's SQL)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.jobs.queue import SubmitRequest
from studio.media.encode import write_mp4
from studio.media.measure import MEASUREMENTS_VERSION, FrameMeter, measure_frames, measure_video, ssim
from studio.views import RunQuery
from tests.integration.conftest import SMALL, picture


def texture(size: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture, so optical flow has something to follow everywhere."""
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (7, 7), 2)


def test_a_steady_pan_is_motion_without_flicker_and_a_blinking_still_is_flicker_without_motion():
    base = texture()
    pan = [base[8:72, 8 + i:72 + i] for i in range(8)]  # 64x64 moving one pixel a frame
    panned = measure_frames(pan, pan[0])
    assert len(panned.motion) == len(panned.flicker) == len(panned.sharpness) == 8
    assert panned.motion[0] == panned.flicker[0] == 0.0  # nothing came before the first frame
    assert panned.motion_mean == pytest.approx(1.0, abs=0.2)
    assert panned.flicker_mean < 3
    assert panned.ssim_first == pytest.approx(1.0) and panned.ssim_last < 0.9

    still = base[8:72, 8:72].astype(np.int16)
    blinking = [np.clip(still + (25 if i % 2 else 0), 0, 255).astype(np.uint8) for i in range(8)]
    blinked = measure_frames(blinking, blinking[0])
    assert blinked.motion_mean < 0.3
    assert blinked.flicker_mean > 15  # the brightness jump is left whole once motion is followed
    assert blinked.flicker_mean > 5 * panned.flicker_mean

    import cv2

    blurred = measure_frames([cv2.GaussianBlur(f, (9, 9), 3) for f in pan])
    assert blurred.sharpness_mean < panned.sharpness_mean / 2
    assert blurred.ssim_first is None  # no input image: no fidelity figures
    assert ssim(pan[0][..., 0], pan[0][..., 0]) == pytest.approx(1.0)


def test_a_frame_that_cannot_be_measured_stops_the_measuring_not_the_frames():
    meter = FrameMeter(reference=None)
    frames = [texture(64), np.zeros((3,), np.uint8), texture(64, 1)]
    assert len(list(meter.watch(frames))) == 3
    assert meter.result() is None and meter.failure is not None


def test_the_worker_measures_a_run_as_it_finishes_and_an_older_run_is_measured_from_its_mp4(services):
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "motion": "pan_left", "seed": 1},
                                                 image=picture()))
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    stored = run.measurements
    assert stored is not None and stored["version"] == MEASUREMENTS_VERSION == 2 and stored["source"] == "frames"
    assert len(stored["motion"]) == len(stored["sharpness"]) == SMALL["frames"]
    assert run.motion_mean == stored["means"]["motion"] > 0.1  # a pan moves
    assert run.flicker_mean == stored["means"]["flicker"]
    # A pan starts near the input (slightly zoomed in) and moves away from it.
    assert 1.0 >= stored["ssim_first"] > 0.5 and stored["ssim_first"] > stored["ssim_last"]

    # As if made before runs were measured: Measure decodes the MP4 and finds the same clip.
    with session_scope(services.sessions) as session:
        run_rows.update_run(session, run_id, measurements=None, motion_mean=None, flicker_mean=None)
    assert services.history.measure([run_id, 999_999]) == [run_id]
    again = services.history.get_run(run_id).measurements
    assert again["source"] == "mp4"
    assert len(again["motion"]) == SMALL["frames"]
    # The MP4 is compressed, and flow over this picture's flat colours is loose: the same clip, roughly.
    assert again["means"]["motion"] == pytest.approx(stored["means"]["motion"], rel=0.5)
    assert again["ssim_first"] == pytest.approx(stored["ssim_first"], abs=0.05)
    assert services.history.measure([run_id]) == []  # measured once


def test_measuring_an_mp4_reads_every_frame(tmp_path):
    base = texture()
    frames = [np.ascontiguousarray(base[8:72, 8 + i:72 + i]) for i in range(6)]
    write_mp4(frames, 12, tmp_path / "pan.mp4")
    measured = measure_video(tmp_path / "pan.mp4", frames[0])
    assert len(measured.motion) == 6 and measured.motion_mean == pytest.approx(1.0, abs=0.3)


@pytest.mark.both_dialects
def test_the_gallery_sorts_and_filters_by_motion_and_flicker(services):
    made = {}
    for motion, strength in (("zoom_in", 0.2), ("pan_left", 1.0), ("zoom_in", 1.0)):
        made[(motion, strength)] = services.queue.submit(SubmitRequest(
            engine="motion", params={**SMALL, "motion": motion, "guidance": strength, "seed": 1}, image=picture()))
    services.worker.run_until_idle()
    unmeasured = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "seed": 2}, image=picture()))
    services.worker.run_until_idle()
    with session_scope(services.sessions) as session:
        run_rows.update_run(session, unmeasured, measurements=None, motion_mean=None, flicker_mean=None)

    runs = {r.id: r for r in services.history.get_runs(list(made.values()))}
    by_motion = sorted(runs, key=lambda i: -runs[i].motion_mean)
    by_flicker = sorted(runs, key=lambda i: runs[i].flicker_mean)

    def ids(**query):
        return [r.id for r in services.history.list_runs(RunQuery(**query)).runs]

    assert ids(sort="most motion") == by_motion  # measured runs only
    assert ids(sort="least flicker") == by_flicker
    threshold = runs[by_motion[1]].motion_mean
    assert ids(motion_min=threshold) == sorted(by_motion[:2], reverse=True)
    assert ids(flicker_max=runs[by_flicker[0]].flicker_mean) == [by_flicker[0]]
    assert unmeasured in ids()
