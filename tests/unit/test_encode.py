"""Encoding with the real ffmpeg: browser-playable MP4s (H.264, yuv420p, moov before mdat), exact
frame counts and sizes, metadata that survives a round trip, and never a half-written file."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.media.atomic import atomic_path, atomic_write_bytes, remove_stale_partials
from studio.media.encode import (
    EncodeError,
    probe_video,
    read_mp4_metadata,
    read_video_frames,
    write_gif,
    write_mp4,
)
from studio.media.thumbs import write_poster, write_thumbnail


def moving_frames(count: int, height: int, width: int) -> np.ndarray:
    """A smooth gradient sliding sideways: cheap to encode, and every frame differs."""
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    frames = np.empty((count, height, width, 3), np.uint8)
    for t in range(count):
        frames[t, ..., 0] = (x * 3 + t * 8) % 256
        frames[t, ..., 1] = (y * 4) % 256
        frames[t, ..., 2] = 128
    return frames


def top_level_atoms(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    data = path.read_bytes()
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        atoms.append(kind.decode("latin-1"))
        offset += size
    return atoms


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_mp4_is_browser_playable_h264(tmp_path):
    path = write_mp4(moving_frames(12, 48, 64), 24, tmp_path / "clip.mp4")
    assert path == tmp_path / "clip.mp4"
    info = probe_video(path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.frames) == (64, 48, 12)
    assert info.fps == pytest.approx(24)
    assert info.duration == pytest.approx(0.5, abs=0.05)
    atoms = top_level_atoms(path)
    assert atoms.index("moov") < atoms.index("mdat"), atoms  # faststart: playable before fully loaded
    assert files_in(tmp_path) == ["clip.mp4"]


def test_colours_survive_encoding(tmp_path):
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    frames[:, :, :16] = (220, 30, 30)
    frames[:, :, 16:] = (30, 60, 200)
    decoded = read_video_frames(write_mp4(frames, 8, tmp_path / "colours.mp4"))
    assert decoded.shape == (4, 32, 32, 3)
    # Away from the edge between the halves, colours match within compression noise; converting
    # with one matrix and tagging the stream with another (BT.601 vs BT.709) is off by 15-20 levels.
    assert np.abs(decoded[:, 8:24, 2:12].astype(int) - (220, 30, 30)).max() <= 6
    assert np.abs(decoded[:, 8:24, 20:30].astype(int) - (30, 60, 200)).max() <= 6


def test_odd_sizes_are_padded_by_repeating_the_edge(tmp_path):
    frames = np.full((5, 49, 65, 3), 200, np.uint8)
    path = write_mp4(frames, 10, tmp_path / "odd.mp4")
    info = probe_video(path)
    assert (info.width, info.height, info.frames) == (66, 50, 5)
    decoded = read_video_frames(path)
    # The added column/row repeat the picture; black bars would read near 0.
    assert decoded[:, :, -1].min() > 190 and decoded[:, -1, :].min() > 190


def test_metadata_round_trips(tmp_path):
    record = {"prompt": "a boat at dawn; waves = calm\n#second line \\ é", "seed": 7}
    tags = {"comment": json.dumps(record), "studio_params": "key=value;with\nnewline [STREAM]"}
    path = write_mp4(moving_frames(3, 16, 16), 12, tmp_path / "tagged.mp4", metadata=tags)
    read_back = read_mp4_metadata(path)
    assert read_back["studio_params"] == tags["studio_params"]
    assert json.loads(read_back["comment"]) == record


def test_bad_metadata_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Metadata key"):
        write_mp4(moving_frames(2, 16, 16), 12, tmp_path / "x.mp4", metadata={"bad key": "v"})
    assert files_in(tmp_path) == []


def test_inconsistent_frames_leave_no_file(tmp_path):
    frames = [np.zeros((32, 32, 3), np.uint8)] * 3 + [np.zeros((16, 32, 3), np.uint8)]
    with pytest.raises(ValueError, match=r"Frame 3 is \(16, 32, 3\)"):
        write_mp4(frames, 12, tmp_path / "broken.mp4")
    assert files_in(tmp_path) == []  # neither the video nor a hidden partial


def test_failed_encode_keeps_the_previous_file(tmp_path):
    path = write_mp4(moving_frames(3, 16, 16), 12, tmp_path / "keep.mp4")
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_mp4([np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16, 4), np.uint8)], 12, path)
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["keep.mp4"]


def test_unwritable_folder_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(EncodeError, match="is a file, not a folder"):
        write_mp4(moving_frames(2, 16, 16), 12, blocker / "clip.mp4")
    assert files_in(tmp_path) == ["not-a-folder"]


def test_frames_must_be_rgb_uint8(tmp_path):
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        write_mp4(np.zeros((2, 16, 16), np.uint8), 12, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(np.zeros((2, 16, 16, 3), np.float32), 12, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="no frames"):
        write_mp4([], 12, tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="fps"):
        write_mp4(moving_frames(2, 16, 16), 0, tmp_path / "x.mp4")
    assert files_in(tmp_path) == []


def test_gif_is_written_and_scaled(tmp_path):
    path = write_gif(moving_frames(6, 60, 100), 12, tmp_path / "clip.gif", max_side=50)
    assert path.read_bytes()[:6] == b"GIF89a"
    with Image.open(path) as gif:
        assert gif.size == (50, 30)
        assert gif.n_frames == 6
    assert files_in(tmp_path) == ["clip.gif"]


def test_poster_and_thumbnail(tmp_path):
    frame = moving_frames(1, 90, 160)[0]
    poster = write_poster(frame, tmp_path / "poster.jpg")
    thumb = write_thumbnail(frame, tmp_path / "thumb.webp", max_side=64)
    with Image.open(poster) as image:
        assert (image.format, image.size) == ("JPEG", (160, 90))
    with Image.open(thumb) as image:
        assert (image.format, image.size) == ("WEBP", (64, 36))
    with pytest.raises(ValueError, match=".jpg, .png or .webp"):
        write_poster(frame, tmp_path / "poster.bmp")
    assert files_in(tmp_path) == ["poster.jpg", "thumb.webp"]


def test_atomic_path_replaces_on_success_and_cleans_up_on_error(tmp_path):
    target = atomic_write_bytes(tmp_path / "a.txt", b"first")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"first"
    assert files_in(tmp_path) == ["a.txt"]


def test_stale_partials_are_swept(tmp_path):
    stale = tmp_path / "sub" / ".clip.1234abcd.partial.mp4"
    fresh = tmp_path / ".other.5678abcd.partial.mp4"
    stale.parent.mkdir()
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    keep = tmp_path / "clip.mp4"
    keep.write_bytes(b"x")
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    assert remove_stale_partials(tmp_path) == 1
    assert not stale.exists() and fresh.exists() and keep.exists()
