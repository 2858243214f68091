"""Post-processing as runs: smooth, upscale and ping-pong each make a child run, executed by the
worker from the queue with real ffmpeg, linked to its source, with its own files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from studio.engines.base import InputError
from studio.jobs.status import RunStatus
from studio.media.encode import probe_video, read_mp4_metadata, read_video_frames
from studio.jobs.queue import SubmitRequest
from studio.recipes import MP4_TAG
from tests.integration.cli import launch
from tests.integration.conftest import picture

# A 16-frame 8 fps pan: every frame differs from its neighbours.
MOTION_16 = {"width": 64, "height": 64, "frames": 16, "fps": 8, "motion": "pan_right", "guidance": 2.0}


def _generate(services, **post) -> int:
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**MOTION_16, "seed": 7, **post},
                                                 image=picture()))
    services.worker.run_until_idle(timeout=120)
    return run_id


def _children(services, run_id: int):
    return services.history.lineage(run_id).children


@pytest.mark.both_dialects
def test_smooth_x2_asked_on_generate_is_a_linked_child_run_at_twice_the_frame_rate(services):
    parent_id = _generate(services, interpolate=2)
    parent = services.history.get_run(parent_id)
    assert parent.status == RunStatus.SUCCEEDED and parent.params["interpolate"] == 2
    [child] = _children(services, parent_id)
    child = services.history.get_run(child.id)
    assert (child.engine, child.parent_id, child.status, child.params["source_run"]) == ("smooth", parent_id, "succeeded", parent_id)
    assert "interpolate" not in child.params, "the smooth run carries only what comes after it"
    info = probe_video(child.video_path)
    assert info.frames in (31, 32) and info.fps == 16 and (info.width, info.height) == (64, 64)
    assert (child.frames, child.fps) == (info.frames, 16), "the promoted columns describe the video made"
    assert child.video_path != parent.video_path
    for path in (child.video_path, child.poster_path, child.thumb_path):
        assert Path(path).is_file()
    sidecar = json.loads(Path(child.video_path).with_suffix(".json").read_text())
    assert sidecar["engine"] == "smooth" and sidecar["studio_run"] == child.id
    assert json.loads(read_mp4_metadata(child.video_path)[MP4_TAG])["params"]["factor"] == 2
    assert child.infer_seconds is not None and child.encode_seconds is not None
    assert child.prompt == parent.prompt and child.input_image_id == parent.input_image_id


def test_upscale_x2_from_a_run_page_doubles_both_sides_and_stays_h264_yuv420p(services):
    parent_id = _generate(services)
    child_id = services.queue.post_process(parent_id, "upscale", {"factor": 2})
    services.worker.run_until_idle(timeout=120)
    child = services.history.get_run(child_id)
    assert (child.status, child.parent_id, child.engine) == ("succeeded", parent_id, "upscale")
    info = probe_video(child.video_path)
    assert (info.width, info.height, info.frames, info.codec, info.pix_fmt) == (128, 128, 16, "h264", "yuv420p")
    assert [c.id for c in _children(services, parent_id)] == [child_id]


def test_pingpong_plays_forward_then_backward_without_repeating_the_ends(services):
    parent_id = _generate(services)
    child_id = services.queue.post_process(parent_id, "pingpong")
    services.worker.run_until_idle(timeout=120)
    child = services.history.get_run(child_id)
    source = read_video_frames(services.history.get_run(parent_id).video_path).astype(float)
    loop = read_video_frames(child.video_path).astype(float)
    assert len(loop) == 2 * 16 - 2 == child.frames
    # Each frame of the loop is the source frame the order names: 0..15, then 14..1.
    order = list(range(16)) + list(range(14, 0, -1))
    for index, frame in enumerate(loop):
        distances = [np.abs(frame - s).mean() for s in source]
        assert int(np.argmin(distances)) == order[index], f"loop frame {index}"


def test_a_chain_of_all_three_and_bad_choices(services):
    parent_id = _generate(services, interpolate=2, upscale=2, pingpong=True)
    chain = [services.history.get_run(parent_id)]
    for _ in range(3):
        [child] = _children(services, chain[-1].id)
        chain.append(services.history.get_run(child.id))
    assert [r.engine for r in chain] == ["motion", "smooth", "upscale", "pingpong"]
    assert all(r.status == "succeeded" for r in chain)
    info = probe_video(chain[-1].video_path)
    assert (info.width, info.height, info.frames, info.fps) == (128, 128, 2 * 31 - 2, 16)
    with pytest.raises(InputError) as bad:
        services.queue.validate("motion", {"interpolate": 3})
    assert (bad.value.param, bad.value.suggestion) == ("interpolate", 2)
    with pytest.raises(InputError) as neural:
        services.queue.post_process(parent_id, "smooth", {"factor": 2, "method": "neural"})
    assert neural.value.param == "method" and "not installed" in neural.value.message and neural.value.suggestion == "motion"
    with pytest.raises(InputError) as model:
        services.queue.post_process(parent_id, "upscale", {"method": "model"})
    assert model.value.param == "method" and model.value.suggestion == "lanczos"
    queued = services.queue.submit(SubmitRequest(engine="motion", params={**MOTION_16}, image=picture()))
    with pytest.raises(InputError, match="only a finished video"):
        services.queue.post_process(queued, "pingpong")


def test_run_with_interpolate_prints_the_smoothed_video(studio_env, tmp_path):
    image = tmp_path / "in.png"
    picture().save(image)
    result = launch("run", "--image", str(image), "--engine", "motion", "--param", "width=64", "--param", "height=64",
                    "--param", "frames=8", "--param", "fps=8", "--interpolate", "4", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    info = probe_video(result.stdout.strip().splitlines()[-1])
    assert (info.frames, info.fps) == (29, 32)
    bad = launch("run", "--image", str(image), "--upscale", "3", env=studio_env)
    assert bad.returncode == 2 and "--upscale" in bad.stderr and "Traceback" not in bad.stderr


def test_a_tool_is_not_a_generation_engine(services):
    with pytest.raises(InputError) as refused:
        services.queue.submit(SubmitRequest(engine="smooth", params={"source_run": 1}, image=picture()))
    assert refused.value.param == "engine" and "finished run" in refused.value.message
    assert "smooth" not in [info.id for info in services.registry.infos()]


def test_an_imported_post_run_names_its_imported_source(services, tmp_path):
    parent_id = _generate(services, pingpong=True)
    [child] = _children(services, parent_id)
    archive = services.export_runs([parent_id, child.id], tmp_path / "runs.zip")
    new_parent, new_child = services.import_file(archive)
    imported = services.history.get_run(new_child)
    assert (imported.parent_id, imported.params["source_run"]) == (new_parent, new_parent)


def test_smooth_and_upscale_keep_the_source_sound_and_pingpong_drops_it(services):
    from studio.media.audio import AudioTrack
    from studio.media.encode import read_audio, write_mp4

    parent_id = _generate(services)
    parent = services.history.get_run(parent_id)
    # As a model that makes sound (LTX-2) leaves it: the same frames with a 440 Hz tone, 2 s long.
    seconds = MOTION_16["frames"] / MOTION_16["fps"]
    tone = np.sin(2 * np.pi * 440 * np.arange(int(seconds * 16000)) / 16000).astype(np.float32) * 0.5
    write_mp4(read_video_frames(parent.video_path), MOTION_16["fps"], parent.video_path, audio=AudioTrack(tone, 16000))
    assert probe_video(parent.video_path).audio_codec == "aac"

    children = {tool: services.queue.post_process(parent_id, tool, options)
                for tool, options in (("smooth", {"factor": 2}), ("upscale", {"factor": 2}), ("pingpong", {}))}
    services.worker.run_until_idle(timeout=120)
    for tool, child_id in children.items():
        child = services.history.get_run(child_id)
        assert child.status == "succeeded", child.error
        track = read_audio(child.video_path)
        if tool == "pingpong":
            assert track is None and "audio" not in child.manifest
            continue
        assert track is not None and track.sample_rate == 16000, tool
        assert abs(track.seconds - seconds) < 0.1, (tool, track.seconds)
        # The tone itself: its strongest frequency is 440 Hz.
        spectrum = np.abs(np.fft.rfft(track.samples[0]))
        assert abs(np.argmax(spectrum) * 16000 / track.samples.shape[1] - 440) < 5, tool
        assert child.manifest["audio"]["written"] is True
    assert read_audio(services.history.get_run(parent_id).video_path) is not None, "the source keeps its sound"


def test_a_post_run_imported_without_its_source_keeps_no_foreign_source_and_is_not_made_again(services, tmp_path):
    from studio.archive import export_runs, import_runs
    from tests.integration.conftest import make_services

    parent_id = _generate(services)
    child_id = services.queue.post_process(parent_id, "upscale", {"factor": 2})
    services.worker.run_until_idle(timeout=120)
    bundle = export_runs(services.sessions, [child_id], tmp_path / "child-only.zip")  # without its source
    other = make_services(tmp_path / "other")
    try:
        other.queue.submit(SubmitRequest(engine="motion", params={**MOTION_16, "seed": 1}, image=picture()))
        other.worker.run_until_idle(timeout=120)  # run #1 here is some other video
        [imported_id] = import_runs(other.sessions, other.storage, bundle)
        imported = other.history.get_run(imported_id)
        assert imported.status == "succeeded" and "source_run" not in imported.params and imported.parent_id is None
        before = other.history.list_runs_count()
        with pytest.raises(InputError) as refused:
            other.queue.rerun(imported_id)
        assert refused.value.param == "source_run" and "names no source run" in refused.value.message
        assert other.history.list_runs_count() == before
    finally:
        other.close()


def test_smoothing_past_240_frames_per_second_is_refused_naming_the_factor(services):
    from studio.requests import validate

    with pytest.raises(InputError) as refused:
        validate(services.registry, "smooth", {"source_run": 1, "factor": 4, "width": 64, "height": 64, "frames": 61,
                                               "fps": 256})
    assert refused.value.param == "factor" and "smaller factor" in refused.value.message


@pytest.mark.parametrize(("given", "chosen"), [
    ({"interpolate": "x2", "upscale": "2"}, {"interpolate": 2, "upscale": 2}),
    ({"interpolate": "Off", "upscale": "x1", "pingpong": "no"}, {}),  # off, however it is written
    ({"interpolate": " NONE ", "pingpong": "Yes"}, {"pingpong": True}),
])
def test_post_options_read_as_people_write_them(given, chosen):
    from studio.post.steps import check_post_options

    assert check_post_options(given) == chosen


def test_a_post_option_off_the_list_is_refused_with_the_choices():
    from studio.post.steps import check_post_options

    with pytest.raises(InputError) as refused:
        check_post_options({"interpolate": "x3"})
    assert refused.value.param == "interpolate" and "x2, x4" in refused.value.message


def test_a_post_run_whose_source_is_deleted_for_good_is_refused_before_queueing_again(services):
    """Re-run of a ping-pong run made from a run since deleted for good: said at once, nothing
    queued (it used to queue a run that failed at its first step)."""
    source = _generate(services)
    looped = services.queue.post_process(source, "pingpong")
    services.worker.run_until_idle(timeout=120)
    services.history.trash([source])
    services.history.purge([source])
    newest = max(r.id for r in services.history.get_runs(list(range(1, looped + 5))))
    with pytest.raises(InputError, match=f"The source run #{source} has no video"):
        services.queue.rerun(looped)
    assert services.history.get_run(newest + 1) is None
