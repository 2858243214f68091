"""`from studio import generate_video, submit`: the Python API records into the same history as the
UI, checks everything before queueing, and gives back the finished run."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from studio import Studio, generate_video, submit
from studio.engines.base import InputError
from studio.media.encode import probe_video, read_video_frames
from studio.views import RunQuery
from tests.integration.conftest import make_services

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture()
def photo(tmp_path) -> Path:
    """A JPEG photo standing on its side in the file, upright by its EXIF orientation (as phones save them)."""
    image = Image.open(ASSETS / "sunrise_hills.png").convert("RGB").resize((120, 80)).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    path = tmp_path / "photo.jpg"
    image.save(path, quality=90, exif=exif)
    return path


def test_generate_video_returns_an_h264_run_that_the_gallery_lists(tmp_path, photo):
    run = generate_video(photo, "a slow push-in", engine="motion", data_dir=tmp_path / "data",
                         frames=8, fps=8, seed=7)

    assert run.status == "succeeded" and run.seed == 7 and run.engine == "motion"
    info = probe_video(run.video_path)
    assert (info.codec, info.pix_fmt, info.frames) == ("h264", "yuv420p", 8)
    assert info.width > info.height, "the EXIF orientation was applied: the photo is landscape"
    assert run.timings["infer_seconds"] is not None and run.timings["total_seconds"] > 0
    services = make_services(tmp_path)
    try:
        page = services.history.list_runs(RunQuery())
        assert [r.id for r in page.runs] == [run.id]
        assert page.runs[0].prompt == "a slow push-in" and page.runs[0].video_path == str(run.video_path)
    finally:
        services.close()


def test_submit_queues_without_running_and_refuses_a_bad_parameter_whole(tmp_path, photo):
    data = tmp_path / "data"
    ids = submit([photo, photo.read_bytes()], "drift", engine="motion", data_dir=data, frames=8)
    assert len(ids) == 2
    with pytest.raises(InputError) as refused:
        submit([photo, photo], "drift", engine="motion", data_dir=data, frames=100000)
    assert refused.value.param == "frames" and refused.value.suggestion is not None
    with pytest.raises(InputError) as unreadable:
        submit(tmp_path / "missing.jpg", "drift", engine="motion", data_dir=data)
    assert unreadable.value.param == "image"

    services = make_services(tmp_path)
    try:
        runs = services.history.get_runs(ids)
        assert [r.status for r in runs] == ["queued", "queued"]
        assert runs[0].sweep_id is not None and runs[0].sweep_id == runs[1].sweep_id, "one group"
        assert services.history.list_runs(RunQuery()).total == 2, "the refused calls queued nothing"
    finally:
        services.close()

    with Studio(data) as studio:  # a held-open studio runs what is queued when asked to wait
        finished = studio.generate_video(Image.open(photo), "and one more", engine="motion", frames=8,
                                         last_image=Image.new("RGB", (80, 60), (250, 250, 250)))
    assert finished.video_path is not None and finished.video_path.is_file()
    last = read_video_frames(finished.video_path)[-1]
    assert last.mean() > 200, "the video dissolves into the (white) end image"
