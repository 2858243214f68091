"""A run's poster and thumbnail, written on a thread from the first frame while the encoder works."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from studio.jobs import stills as stills_module
from studio.jobs.stills import Stills
from studio.media.yuv import YuvFrame

FRAME = np.full((48, 64, 3), 120, dtype=np.uint8)


def test_the_block_ends_only_once_both_files_are_written(tmp_path, monkeypatch):
    """The run's all-or-nothing cleanup may follow the block at once: no write may still be going."""
    write = stills_module._write
    started = threading.Event()

    def slow_write(*args):
        started.set()
        time.sleep(0.3)
        write(*args)

    monkeypatch.setattr(stills_module, "_write", slow_write)
    poster, thumb = tmp_path / "a.poster.jpg", tmp_path / "a.thumb.jpg"
    with Stills(poster, thumb) as stills:
        stills.start(FRAME)
        stills.start(np.zeros_like(FRAME))  # only the first frame counts
        assert started.wait(5)
    assert poster.is_file() and thumb.is_file()
    stills.check()


def test_a_4_2_0_frame_is_written_in_its_colours(tmp_path):
    from PIL import Image

    planes = YuvFrame(np.full((48, 64), 126, np.uint8), np.full((24, 32), 128, np.uint8), np.full((24, 32), 128, np.uint8))
    with Stills(tmp_path / "p.jpg", tmp_path / "t.jpg") as stills:
        stills.start(planes)
    stills.check()
    with Image.open(tmp_path / "p.jpg") as poster:
        assert poster.size == (64, 48) and abs(np.asarray(poster.convert("L")).mean() - 128) < 3


def test_what_the_writing_raised_is_raised_by_check(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outputs folder should be")
    with Stills(blocker / "p.jpg", blocker / "t.jpg") as stills:
        stills.start(FRAME)
    with pytest.raises(OSError):
        stills.check()


def test_check_without_a_frame_says_so(tmp_path):
    with Stills(tmp_path / "p.jpg", tmp_path / "t.jpg") as stills:
        pass
    with pytest.raises(ValueError, match="no frame"):
        stills.check()
