"""Ping-pong plays a clip backward without holding it in memory: the kept frames wait on disk, in
an unnamed file beside the source video, and a disk without room for them is refused in words."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from studio.engines.base import InputError
from studio.engines.request import GenerationRequest
from studio.media.encode import write_mp4
from studio.post import loop
from studio.post.loop import PingPongEngine, pingpong_order

SIDE, COUNT = 256, 60  # 60 frames of 196 KB: 11.8 MB of RGB


def clip(tmp_path):
    frames = np.zeros((COUNT, SIDE, SIDE, 3), np.uint8)
    for index in range(COUNT):
        frames[index, :, : 4 * index + 4] = 255  # a bar that grows: each frame tells its index
    source = tmp_path / "source.mp4"
    write_mp4(frames, 24, source)
    return source


def request(frames: int) -> GenerationRequest:
    return GenerationRequest(engine="pingpong", model_id=None, params={"width": SIDE, "height": SIDE, "frames": frames,
                                                                      "fps": 24, "seed": 0, "source_run": 1})


def bar(frame: np.ndarray) -> int:
    return int((frame[SIDE // 2, :, 0] > 127).sum()) // 4 - 1


def test_the_loop_is_forward_then_back_with_a_few_frames_in_memory(tmp_path):
    source = clip(tmp_path)
    steps = []
    tracemalloc.start()
    try:
        frames = PingPongEngine().iter_post_frames(source, request(2 * COUNT - 2), on_step=lambda d, t: steps.append(d),
                                                   cancelled=lambda: False)
        order = [bar(frame) for frame in frames]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert order == pingpong_order(COUNT) and steps[-1] == 2 * COUNT - 2
    assert peak < 3 * 1024 * 1024, f"{peak / 1e6:.1f} MB held for an {COUNT * SIDE * SIDE * 3 / 1e6:.1f} MB clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.mp4"]  # the kept frames had no name


def test_a_disk_without_room_for_the_kept_frames_is_refused_in_words(tmp_path, monkeypatch):
    source = clip(tmp_path)
    real = loop.shutil.disk_usage
    monkeypatch.setattr(loop.shutil, "disk_usage", lambda folder: real(folder)._replace(free=5 * 1024 * 1024))
    with pytest.raises(InputError, match="Ping-pong keeps the clip on disk") as refused:
        PingPongEngine().iter_post_frames(source, request(2 * COUNT - 2), on_step=lambda d, t: None,
                                          cancelled=lambda: False)
    assert "MB free in" in refused.value.message and "Traceback" not in refused.value.message


def test_a_source_folder_it_may_not_write_in_sends_the_kept_frames_to_the_temporary_folder(tmp_path, monkeypatch):
    """An older output folder (Settings changed it since) or another user's: ping-pong only reads it."""
    source = clip(tmp_path)
    used = []
    real_access, real_file = loop.os.access, loop.tempfile.TemporaryFile
    monkeypatch.setattr(loop.os, "access", lambda path, mode: path != source.parent and real_access(path, mode))
    def temporary_file(*args, **kw):  # the module is everyone's: note only ping-pong's file
        if kw.get("prefix") == ".pingpong-":
            used.append(kw["dir"])
        return real_file(*args, **kw)

    monkeypatch.setattr(loop.tempfile, "TemporaryFile", temporary_file)
    frames = PingPongEngine().iter_post_frames(source, request(2 * COUNT - 2), on_step=lambda d, t: None,
                                               cancelled=lambda: False)
    assert [bar(frame) for frame in frames] == pingpong_order(COUNT)
    assert used and used[0] != source.parent and sorted(p.name for p in tmp_path.iterdir()) == ["source.mp4"]
