"""Encoding with the real ffmpeg: browser-playable MP4s (H.264, yuv420p, moov before mdat), exact
frame counts and sizes, metadata that survives a round trip, and never a half-written file."""

from __future__ import annotations

import json
import os
import re
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


def test_x264_looks_ahead_ten_frames_so_a_short_clip_is_ready_soon_after_its_last_frame(tmp_path):
    """x264 writes its settings into the stream; the presets' 40-frame look-ahead would hold most
    of a short clip until its last frame arrives (studio.media.encode.LOOKAHEAD_FRAMES)."""
    path = write_mp4(moving_frames(24, 48, 64), 24, tmp_path / "clip.mp4", preset="medium", crf=18)
    settings = re.search(rb"x264 - core .*? options: ([^\x00]+)", path.read_bytes())
    assert settings is not None
    options = dict(item.split(b"=", 1) for item in settings.group(1).split() if b"=" in item)
    assert (options[b"rc_lookahead"], options[b"crf"]) == (b"10", b"18.0")


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


PATCHES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0), (128, 64, 200)]


def test_frames_made_as_420_planes_decode_to_the_colours_the_rgb_path_gives(tmp_path):
    """The camera-motion engine hands the encoder BT.709 limited-range planes (studio.media.yuv),
    which it only tags: the colours must come out as those of the same picture sent as RGB."""
    from studio.media.yuv import YuvFrame, source_planes

    picture = Image.new("RGB", (32 * len(PATCHES), 32))
    for index, colour in enumerate(PATCHES):
        picture.paste(colour, (32 * index, 0, 32 * index + 32, 32))
    frame = YuvFrame(*(np.asarray(plane) for plane in source_planes(picture)))
    assert np.abs(frame.rgb().astype(int) - np.asarray(picture, dtype=int)).max() <= 1  # the planes themselves
    planar = read_video_frames(write_mp4(iter([frame] * 4), 8, tmp_path / "planar.mp4"))
    rgb = read_video_frames(write_mp4(np.stack([np.asarray(picture)] * 4), 8, tmp_path / "rgb.mp4"))
    for index, colour in enumerate(PATCHES):
        centre = (slice(None), slice(8, 24), slice(32 * index + 8, 32 * index + 24))
        assert np.abs(planar[centre].astype(int) - colour).max() <= 6, colour
        assert np.abs(planar[centre].astype(int) - rgb[centre].astype(int)).max() <= 4, colour


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


# --- leftovers of killed writers ---------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="open files are read from /proc")
def test_the_sweep_keeps_partials_a_live_process_holds_and_names_it_did_not_make(tmp_path):
    import subprocess
    import sys

    held = tmp_path / ".run-000001-20260101-000000.0badf00d.partial.mp4"
    orphan = tmp_path / "2026-01" / ".run-000002-20260101-000000.poster.deadbeef.partial.jpg"
    orphan.parent.mkdir()
    not_ours = [tmp_path / ".notes.partial.txt", tmp_path / ".clip.partial.mp4", tmp_path / ".x.12345678.partial.mp4.bak"]
    for path in (held, orphan, *not_ours):
        path.write_bytes(b"x")
        _age(path, 7200)
    # Another worker's ffmpeg, still writing: a real process holding the file open.
    writer = subprocess.Popen([sys.executable, "-c", "import sys,time; f=open(sys.argv[1],'ab'); time.sleep(60)", str(held)])
    try:
        deadline = time.monotonic() + 20
        while not _holds(writer.pid, held) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _holds(writer.pid, held)
        assert remove_stale_partials(tmp_path) == 1
        assert held.exists() and not orphan.exists() and all(p.exists() for p in not_ours)
    finally:
        writer.kill()
        writer.wait(10)
    assert remove_stale_partials(tmp_path) == 1 and not held.exists()  # nobody holds it any more


def _holds(pid: int, path: Path) -> bool:
    try:
        return any(os.path.realpath(fd) == str(path.resolve()) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


ENCODE_FOREVER = """
import sys, numpy as np
from studio.media.encode import write_mp4
rng = np.random.default_rng(0)
noise = [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(8)]
def frames():
    i = 0
    while True:
        yield noise[i % 8]
        i += 1
write_mp4(frames(), 24, sys.argv[1], preset="veryslow")
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="parent-death signals are Linux-only")
def test_ffmpeg_dies_with_the_process_that_started_it(tmp_path):
    """A worker SIGKILLed mid-encode: its ffmpeg goes at once instead of finishing the file."""
    import signal
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", ENCODE_FOREVER, str(tmp_path / "clip.mp4")],
                              cwd=Path(__file__).resolve().parents[2])
    ffmpeg: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not ffmpeg and time.monotonic() < deadline:
            ffmpeg = [pid for pid in _children(parent.pid) if b"ffmpeg" in _cmdline(pid)]
            time.sleep(0.05)
        assert ffmpeg, "the encode never started ffmpeg"
        time.sleep(2.0)  # well into the encode, with x264's look-ahead full of frames
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        killed_at = time.monotonic()
        while _alive(ffmpeg[0]) and time.monotonic() - killed_at < 5:
            time.sleep(0.02)
        assert time.monotonic() - killed_at < 0.5, "ffmpeg outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        for pid in ffmpeg:  # only on failure is there anything left to stop
            if _alive(pid) and b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def test_a_later_attempt_removes_the_fresh_partials_of_its_run_only(tmp_path):
    """A killed attempt's temporaries are nobody's once the run is attempted again: removed however
    young, and only that run's (run 7's prefix must not match runs 70 or 17)."""
    from studio.storage import Storage

    month = tmp_path / "outputs" / "2026-12"
    month.mkdir(parents=True)
    ours = [month / ".run-000007-20261203-100000.0badf00d.partial.mp4",
            month / ".run-000007-20261203-100000.poster.deadbeef.partial.jpg"]
    others = [month / ".run-000070-20261203-100000.0badf00d.partial.mp4",
              month / ".run-000017-20261203-100000.0badf00d.partial.mp4",
              month / "run-000007-20261203-100000.mp4"]  # a finished file is not a temporary
    for path in (*ours, *others):
        path.write_bytes(b"x")
    storage = Storage(inputs_dir=tmp_path / "inputs", outputs_dir=tmp_path / "outputs", run_logs_dir=tmp_path / "logs")
    assert storage.remove_partials_of_run(7) == 2
    assert not any(p.exists() for p in ours) and all(p.exists() for p in others)


def _cmdline(pid: int) -> bytes:
    """A process's command line; empty when it has already exited (a child can end between being
    listed and being read)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def test_a_runs_file_prefix_never_names_another_runs_files():
    from studio.storage import run_stem_prefix

    # From run 1,000,000 the number has seven digits; a prefix cut at a fixed length would then
    # also name runs 10,000,000-10,000,009's files (and the hub would delete them as leftovers).
    assert run_stem_prefix(123) == "run-000123-" and run_stem_prefix(1_000_000) == "run-1000000-"
    assert not "run-10000001-20261206-010203.mp4".startswith(run_stem_prefix(1_000_000))
