"""Keyframes and extend chains through the real studio (history on SQLite, in-process worker): an
end image reaches Wan's pipeline call, an engine without keyframes queues nothing, and a chain of
three runs exports as one MP4 joined at the shared frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.db.engine import session_scope
from studio.engines.base import InputError
from studio.jobs.chains import joined_source
from studio.jobs.queue import SubmitRequest
from studio.jobs.status import RunStatus
from studio.media.encode import probe_video, read_video_frames
from studio.storage import image_digest
from tests.integration.conftest import picture


def _run_queue(services) -> None:
    for _ in range(10):  # bounded: each call runs one queued run
        if not services.worker.run_once():
            return


@pytest.fixture()
def recording_wan(monkeypatch):
    """Wan's adapter loads a subclass of the real WanImageToVideoPipeline that records each call's
    arguments and then runs the real call."""
    from diffusers import WanImageToVideoPipeline

    from studio.engines.diffusion.adapters.wan import WanAdapter

    calls: list[dict] = []

    class RecordingWanPipeline(WanImageToVideoPipeline):
        def __call__(self, *args, **kwargs):
            calls.append(kwargs)
            return super().__call__(*args, **kwargs)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(WanAdapter, "pipeline_class", lambda self: RecordingWanPipeline)
    return calls


def test_a_wan_run_with_an_end_image_passes_it_to_the_pipeline(services, recording_wan):
    end = picture((30, 200, 90))
    params = {"prompt": "a cat", "width": 32, "height": 32, "frames": 5, "steps": 2, "seed": 1,
              "end_image": image_digest(end)}
    run_id = services.queue.submit(SubmitRequest(engine="tiny-wan21-flf2v", params=params, image=picture(),
                                                 image_name="first.png", end_image=end))
    _run_queue(services)
    run = services.history.get_run(run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.end_image is not None and run.params["end_image"] == image_digest(end)
    [call] = recording_wan
    # The end image as the run stores it, fitted to the output size like the input.
    from studio.media.images import fit_image

    with Image.open(run.end_image.path) as stored:
        expected = fit_image(stored.convert("RGB"), 32, 32, "crop")
    assert isinstance(call["last_image"], Image.Image)
    assert np.array_equal(np.asarray(call["last_image"]), np.asarray(expected))
    # A re-run keeps the end image (found again by its digest).
    again = services.history.get_run(services.queue.rerun(run_id))
    assert again.end_image_id == run.end_image_id
    assert run.manifest["pipeline_class"] == "RecordingWanPipeline" and run.video_path


def test_an_engine_without_keyframes_queues_nothing(services):
    end = picture((30, 200, 90))
    with pytest.raises(InputError) as caught:
        services.queue.submit(SubmitRequest(engine="tiny-ltx", params={"width": 32, "height": 32}, image=picture(),
                                            end_image=end))
    assert caught.value.param == "end_image" and "Tiny LTX-Video" in caught.value.message
    assert services.history.list_runs_count() == 0


MOVE = {"width": 96, "height": 64, "frames": 8, "fps": 12, "motion": "zoom_in", "easing": "linear", "guidance": 1.0,
        "seed": 3}


def _extend(services, run_id: int) -> int:
    start = services.extension_start(run_id)
    return services.queue.submit(SubmitRequest(engine=start.engine, params=start.params, image_id=start.image_id,
                                               continues_id=run_id))


def _steps(frames: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(frames.astype(np.float64), axis=0)).mean(axis=(1, 2, 3))


def test_a_chain_of_three_runs_exports_as_one_video_joined_at_the_shared_frames(services):
    first = services.queue.submit(SubmitRequest(engine="motion", params=MOVE, image=picture(), image_name="p.png"))
    _run_queue(services)
    second = _extend(services, first)
    _run_queue(services)
    third = _extend(services, second)
    _run_queue(services)
    links = services.history.chain(second)
    assert [r.id for r in links] == [first, second, third]
    assert [r.continues_id for r in links] == [None, first, second]
    assert all(r.status == RunStatus.SUCCEEDED for r in links)
    # Each continuation starts from the frame its source ended on.
    source_last = read_video_frames(links[0].video_path)[-1].astype(np.float64)
    with Image.open(links[1].input_image.path) as start:
        assert np.abs(np.asarray(start, dtype=np.float64) - source_last).mean() < 1.0

    video = services.export_chain(third)
    info = probe_video(video)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 96, 64)
    assert info.frames == 3 * MOVE["frames"] - 2  # each seam's shared frame once
    frames = read_video_frames(video)
    steps = _steps(frames)
    n = MOVE["frames"]
    seams = [n - 1, 2 * n - 2]  # steps from a clip's last frame to the next clip's second
    inside = np.delete(steps, seams)
    assert inside.max() > 1.0, "the camera should move"
    assert all(steps[i] <= inside.max() for i in seams), (steps[seams], inside.max())
    # The join neither repeats a frame (a still step) nor skips one (a double step).
    assert all(steps[i] > 0.3 * np.median(inside) for i in seams), steps
    assert not list(video.parent.glob("*.partial*"))


def test_re_running_a_link_re_makes_that_link_only(services):
    first = services.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": 4}, image=picture()))
    _run_queue(services)
    second = _extend(services, first)
    _run_queue(services)
    remade = services.queue.rerun(second)
    _run_queue(services)
    assert services.history.get_run(remade).continues_id == first
    assert [r.id for r in services.history.chain(first)] == [first, remade]
    assert [r.id for r in services.history.chain(second)] == [first, second]
    with pytest.raises(InputError, match="only a finished run"):
        services.extension_start(services.queue.submit(SubmitRequest(engine="motion", params=MOVE, image=picture())))


def test_a_sweep_stores_a_new_end_image_once_for_all_its_runs(services):
    from studio.sweeps import Axis

    end = picture((30, 200, 90))
    run_ids = services.queue.submit_sweep("motion", {**MOVE, "end_image": image_digest(end)},
                                          [Axis("end_width", [0.5, 0.7])], image=picture(), end_image=end)
    runs = services.history.get_runs(run_ids)
    assert [r.params["end_width"] for r in runs] == [0.5, 0.7]
    assert runs[0].end_image_id is not None and runs[0].end_image_id == runs[1].end_image_id


def _chain_of_three(services, frames: int = MOVE["frames"]) -> list[int]:
    first = services.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": frames}, image=picture()))
    _run_queue(services)
    second = _extend(services, first)
    _run_queue(services)
    third = _extend(services, second)
    _run_queue(services)
    return [first, second, third]


def test_smoothing_the_whole_chain_makes_one_run_of_the_joined_video_linked_to_its_last_link(services):
    first, second, third = _chain_of_three(services)
    # Asked from the middle link's page: the chain through it is the whole chain.
    child_id = services.queue.post_process(second, "smooth", {"factor": 2}, whole_chain=True)
    _run_queue(services)
    child = services.history.get_run(child_id)
    assert child.status == RunStatus.SUCCEEDED, child.error
    assert (child.engine, child.parent_id, child.params["source_run"], child.params["chain_from"]) == \
        ("smooth", third, third, first)
    joined = 3 * MOVE["frames"] - 2
    info = probe_video(child.video_path)
    assert (info.frames, info.fps, info.width, info.height) == ((joined - 1) * 2 + 1, 2 * MOVE["fps"], 96, 64)
    assert (child.frames, child.fps) == (info.frames, info.fps), "the promoted columns describe the video made"
    assert child.input_image_id == services.history.get_run(first).input_image_id
    assert not list((Path(child.video_path).parents[1] / "chains").glob("chain-for-run-*")), "the joined source is scratch"
    # Every second frame of the smoothed video is a frame of the joined chain (the made ones sit between).
    chain = read_video_frames(services.export_chain(first)).astype(np.float64)
    smooth = read_video_frames(child.video_path).astype(np.float64)
    assert max(np.abs(smooth[2 * i] - chain[i]).mean() for i in range(0, joined, 5)) < 3.0
    # A re-run makes the same video from the same links.
    again = services.history.get_run(services.queue.rerun(child_id))
    _run_queue(services)
    again = services.history.get_run(again.id)
    assert again.status == RunStatus.SUCCEEDED and again.params["chain_from"] == first and again.frames == child.frames


def test_upscaling_the_whole_chain_and_what_is_refused(services):
    first, second, third = _chain_of_three(services, frames=4)
    child_id = services.queue.post_process(first, "upscale", {"factor": 2}, whole_chain=True)
    _run_queue(services)
    child = services.history.get_run(child_id)
    info = probe_video(child.video_path)
    assert (child.status, child.parent_id) == (RunStatus.SUCCEEDED, third)
    assert (info.width, info.height, info.frames, info.codec, info.pix_fmt) == (192, 128, 3 * 4 - 2, "h264", "yuv420p")

    before = services.history.list_runs_count()
    lone = services.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": 4}, image=picture()))
    _run_queue(services)
    with pytest.raises(InputError, match="not part of an extend chain"):
        services.queue.post_process(lone, "smooth", {"factor": 2}, whole_chain=True)
    fourth = _extend(services, third)  # queued, not run: the chain is unfinished
    with pytest.raises(InputError, match=f"#{fourth} of the chain is queued"):
        services.queue.post_process(first, "smooth", {"factor": 2}, whole_chain=True)
    assert services.history.list_runs_count() == before + 2, "a refused request queues nothing"
    # A chain named by hand (the API, a hand-edited recipe) that does not join is refused in words.
    with session_scope(services.sessions) as session, pytest.raises(InputError, match="does not continue run"):
        joined_source(session, lone, third)


def test_a_post_run_is_not_extended_itself(services):
    first = services.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": 4}, image=picture()))
    _run_queue(services)
    smooth = services.queue.post_process(first, "smooth", {"factor": 2})
    _run_queue(services)
    before = services.history.list_runs_count()
    with pytest.raises(InputError, match=f"made from run #{first} by smooth"):
        services.extension_start(smooth)
    assert services.history.list_runs_count() == before


def test_an_exported_chain_and_its_smoothed_video_import_with_their_links(services, tmp_path):
    from studio.archive import export_runs, import_runs
    from tests.integration.conftest import make_services

    first, second, third = _chain_of_three(services, frames=4)
    smooth = services.queue.post_process(third, "smooth", {"factor": 2}, whole_chain=True)
    _run_queue(services)
    bundle = export_runs(services.sessions, [first, second, third, smooth], tmp_path / "chain.zip")
    other = make_services(tmp_path / "other")
    try:
        other.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": 4}, image=picture()))  # ids shift
        a, b, c, d = import_runs(other.sessions, other.storage, bundle)
        assert [r.id for r in other.history.chain(b)] == [a, b, c]
        imported = other.history.get_run(d)
        assert (imported.parent_id, imported.params["source_run"], imported.params["chain_from"]) == (c, c, a)
        assert other.export_chain(a).is_file()
    finally:
        other.close()


def test_a_run_with_an_end_image_exports_and_imports_with_it(services, tmp_path):
    from studio.archive import export_runs, import_runs
    from tests.integration.conftest import make_services

    end = picture((30, 200, 90))
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**MOVE, "frames": 4, "end_image": image_digest(end)},
                                                 image=picture(), end_image=end))
    _run_queue(services)
    bundle = export_runs(services.sessions, [run_id], tmp_path / "keyframed.zip")
    other = make_services(tmp_path / "other")
    try:
        [imported_id] = import_runs(other.sessions, other.storage, bundle)
        imported = other.history.get_run(imported_id)
        assert imported.end_image is not None and imported.end_image_id != imported.input_image_id
        assert imported.params["end_image"] == image_digest(end)
        with Image.open(imported.end_image.path) as stored:
            assert stored.size == end.size and image_digest(stored) == image_digest(end)
        # And it re-runs there with its end image, found again by its digest.
        again = other.history.get_run(other.queue.rerun(imported_id))
        assert again.end_image_id == imported.end_image_id
    finally:
        other.close()


def test_a_chain_with_sound_joins_its_sound_at_the_seams_and_keeps_it_through_smoothing(services):
    """Links made by a model with sound (as LTX-2's): each link's tone in its own stretch of the
    joined video, the seams' shared frame's time taken out once as the picture's frame is."""
    from studio.media.audio import AudioTrack
    from studio.media.encode import read_audio, write_mp4

    links = _chain_of_three(services)
    fps, n = MOVE["fps"], MOVE["frames"]
    tones = (300.0, 600.0, 1200.0)
    for link_id, tone in zip(links, tones, strict=True):
        video = services.history.get_run(link_id).video_path
        t = np.arange(int(n / fps * 16000)) / 16000
        write_mp4(read_video_frames(video), fps, video, audio=AudioTrack((0.5 * np.sin(2 * np.pi * tone * t)).astype(np.float32), 16000))

    joined = read_audio(services.export_chain(links[0]))
    frames = 3 * n - 2
    assert joined is not None and abs(joined.seconds - frames / fps) < 0.05
    # Each stretch's strongest frequency is its own link's tone.
    starts = [0.0, (n - 1) / fps, (2 * n - 2) / fps, frames / fps]
    for (begin, end), tone in zip(zip(starts, starts[1:]), tones, strict=True):
        part = joined.samples[0, int((begin + 0.05) * 16000):int((end - 0.05) * 16000)]
        peak = np.argmax(np.abs(np.fft.rfft(part))) * 16000 / len(part)
        assert abs(peak - tone) < 40, (tone, peak)

    smoothed = services.queue.post_process(links[-1], "smooth", {"factor": 2}, whole_chain=True)
    _run_queue(services)
    track = read_audio(services.history.get_run(smoothed).video_path)
    assert track is not None and abs(track.seconds - frames / fps) < 0.1
