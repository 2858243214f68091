"""Frames to files with the ffmpeg binary that imageio-ffmpeg ships, so no system ffmpeg is needed.

MP4s are H.264 High, yuv420p, BT.709-tagged, with the index (moov) at the front: the combination
every browser plays inline and can start before the whole file has arrived. Studio parameters ride
along as MP4 metadata tags so a video found on disk can be turned back into a request.

ffmpeg is run directly (rather than through imageio_ffmpeg.write_frames) because the studio needs
its exit status and error text: write_frames lets a failed encode look like a success, and the
difference between "disk full" and "bad frames" matters to the person reading the error.
"""

from __future__ import annotations

import errno
import itertools
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.media.atomic import atomic_path
from studio.media.audio import AudioTrack
from studio.media.child import tie_to_parent
from studio.media.yuv import YuvFrame, as_rgb
from studio.storage import DiskFull, OutputNotWritable

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

# Metadata keys become MP4 'mdta' keys; keeping them to identifier characters keeps every tool happy.
_METADATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

# Convert with the BT.709 matrix and say so in the stream, so browsers show the colours we rendered
# (left untagged, players guess — and guess differently for SD and HD sizes).
_TAGS = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
_COLOUR = f"scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,{_TAGS}"

_PROBE_TIMEOUT_S = 120

# How many frames x264 looks ahead before it encodes a frame (its rate control's "macroblock tree").
# The presets' 40 suit long streams; a studio clip is 16-120 frames, and frames arrive faster than
# x264 encodes them, so with 40 the encoder holds most of a short clip until its last frame has
# arrived, and the run waits that long after it. With 10, a 48-frame 512x512 camera-motion clip at
# medium/CRF 18 is ready 0.13 s after its last frame instead of 0.32 s (bench/lookahead.py, medians
# of 5), 7% smaller at 0.4 dB less PSNR (46.1 against 46.5 dB): about the same quality per bit. 6
# frames would save 0.01 s more for 1.1 dB.
LOOKAHEAD_FRAMES = 10


class EncodeError(RuntimeError):
    """ffmpeg could not write the file; the message says what happened in words a user can act on."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    frames: int
    fps: float
    codec: str
    pix_fmt: str
    duration: float
    audio_codec: str = ""  # of the first audio stream; "" when the file is silent


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def write_mp4(
    frames: np.ndarray | Iterable[np.ndarray],
    fps: int,
    path: Path | str,
    *,
    metadata: Mapping[str, str] | None = None,
    crf: int = 18,
    preset: str = "medium",
    audio: AudioTrack | None = None,
) -> Path:
    """Encode RGB frames ((T, H, W, 3) uint8, or an iterable of (H, W, 3) uint8 frames) to an
    H.264 MP4 at `path`, atomically. Returns `path`. With `audio`, the track is muxed as AAC
    (written from a temporary file, as a second input, so the frame pipe is unchanged).

    Odd widths or heights are padded by one pixel, repeating the last row/column: yuv420p stores
    colour for 2x2 pixel blocks so x264 needs even sides, and repeating the edge (unlike black bars
    or rescaling the whole frame) is invisible.
    """
    _check_fps(fps)
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"crf must be between 0 (lossless) and 51; got {crf}.")
    if preset not in X264_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}; got {preset!r}.")
    tags = _check_metadata(metadata or {})
    first, rest = _first_frame(frames)
    height, width = first.shape[:2]
    padded = (width + width % 2, height + height % 2)
    # Frames already in the encoder's format (studio.media.yuv) are only tagged; RGB is converted.
    planar = isinstance(first, YuvFrame)

    output_args = [
        *_audio_output_args(audio), "-vf", _TAGS if planar else _COLOUR,
        "-c:v", "libx264", "-preset", preset, "-crf", str(int(crf)), "-rc-lookahead", str(LOOKAHEAD_FRAMES),
        "-profile:v", "high",
        # faststart: moov in front so playback starts at once; use_metadata_tags: keep any key.
        "-movflags", "+faststart+use_metadata_tags",
    ]
    for key, value in tags.items():
        output_args += ["-metadata", f"{key}={value}"]
    output_args += ["-f", "mp4"]

    stream = _planar_bytes(first, rest) if planar else _rgb_bytes(_pad_even(f) for f in _checked(first, rest))
    pix_fmt = "yuv420p" if planar else "rgb24"
    if audio is None:
        return _encode(stream, fps, padded, Path(path), output_args, what="video", pix_fmt=pix_fmt)
    with tempfile.NamedTemporaryFile(suffix=".f32") as samples:
        samples.write(audio.interleaved_bytes())
        samples.flush()
        audio_input = ["-f", "f32le", "-ar", str(audio.sample_rate), "-ac", str(audio.channels), "-i", samples.name]
        return _encode(stream, fps, padded, Path(path), [*audio_input, *output_args], what="video", pix_fmt=pix_fmt)


def _audio_output_args(audio: AudioTrack | None) -> list[str]:
    """No audio stream, or the second input as AAC (what every browser plays in an MP4). The track
    is muxed as it is: fit it to the video's length first (AudioTrack.fitted), since ffmpeg's
    -shortest overshoots by whole audio packets."""
    if audio is None:
        return ["-an"]
    return ["-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "192k", "-ac", str(audio.channels)]


def write_gif(
    frames: np.ndarray | Iterable[np.ndarray],
    fps: int,
    path: Path | str,
    *,
    max_side: int = 480,
) -> Path:
    """An animated GIF (looping, scaled so its longer side is at most `max_side`), written
    atomically. Uses a palette computed from the whole clip, so gradients do not band badly."""
    _check_fps(fps)
    if max_side < 2:
        raise ValueError(f"max_side must be at least 2; got {max_side}.")
    if not isinstance(frames, np.ndarray):
        frames = (as_rgb(frame) for frame in frames)  # a palette is made from RGB
    first, rest = _first_frame(frames)
    height, width = first.shape[:2]
    output_args = ["-an", "-filter_complex", _gif_graph(width, height, max_side), "-loop", "0", "-f", "gif"]
    return _encode(_rgb_bytes(_checked(first, rest)), fps, (width, height), Path(path), output_args, what="GIF")


def gif_from_video(video: Path | str, path: Path | str, *, max_side: int = 480) -> Path:
    """The GIF of an existing video (made on demand, when someone asks for one), as write_gif would
    have made it from the frames: same size rule and palette, written atomically."""
    video, path = Path(video), Path(path)
    info = probe_video(video)
    with atomic_path(path) as tmp:
        result = _run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-an",
                       "-filter_complex", _gif_graph(info.width, info.height, max_side), "-loop", "0", "-f", "gif",
                       str(tmp)], video)
        if result.returncode != 0:
            raise _encode_failure(result.stderr, path, "GIF")
    return path


def _gif_graph(width: int, height: int, max_side: int) -> str:
    """Scaled so the longer side is at most max_side, with one palette computed from the whole clip."""
    scale = min(1.0, max_side / max(width, height))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    return (f"scale={out_w}:{out_h}:flags=lanczos,split[a][b];"
            "[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a")


def read_mp4_metadata(path: Path | str) -> dict[str, str]:
    """The container-level metadata tags of a video (ours and ffmpeg's own, e.g. 'encoder')."""
    path = Path(path)
    result = _run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"], path)
    if result.returncode != 0:
        raise EncodeError(f"Could not read the metadata of {path.name}: {_last_lines(result.stderr)}")
    return _parse_ffmetadata(result.stdout)


def probe_video(path: Path | str) -> VideoInfo:
    """Size, frame count, frame rate, codec and pixel format of the first video stream. Frames are
    counted by copying packets to a null output, which reads the file without decoding it."""
    path = Path(path)
    result = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
                   "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], path)
    text = result.stderr
    if result.returncode != 0:
        raise EncodeError(f"{path.name} is not a readable video: {_last_lines(text)}")
    stream = re.search(r"Stream #0:\d+.*?: Video: (.*)", text)
    if stream is None:
        raise EncodeError(f"{path.name} has no video stream.")
    # Drop the parenthesised details, which contain commas of their own:
    # "h264 (High) (avc1 / 0x...), yuv420p(tv, bt709, progressive), 512x512 [SAR 1:1], 24 fps"
    fields = [f.strip() for f in re.sub(r"\([^()]*\)", "", stream.group(1)).split(",")]
    size = next((m for m in (re.fullmatch(r"(\d+)x(\d+)(?: \[.*\])?", f) for f in fields) if m), None)
    fps = re.search(r"([\d.]+) fps", stream.group(1)) or re.search(r"([\d.]+) tbr", stream.group(1))
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    frames = re.findall(r"frame=\s*(\d+)", text)
    audio = re.search(r"Stream #0:\d+.*?: Audio: (\w+)", text)
    return VideoInfo(
        width=int(size.group(1)) if size else 0,
        height=int(size.group(2)) if size else 0,
        frames=int(frames[-1]) if frames else 0,
        fps=float(fps.group(1)) if fps else 0.0,
        codec=fields[0].split()[0] if fields and fields[0] else "",
        pix_fmt=fields[1].split()[0] if len(fields) > 1 and fields[1] else "",
        duration=(int(duration.group(1)) * 3600 + int(duration.group(2)) * 60 + float(duration.group(3))) if duration else 0.0,
        audio_codec=audio.group(1) if audio else "",
    )


def read_video_frames(path: Path | str, *, max_frames: int | None = None) -> np.ndarray:
    """Decode a video to (T, H, W, 3) uint8 RGB, e.g. for side-by-side comparison."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(reader)
        width, height = meta["size"]
        frames = []
        for raw in reader:
            frames.append(np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3))
            if max_frames is not None and len(frames) >= max_frames:
                break
    finally:
        reader.close()
    return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)


def iter_video_frames(path: Path | str, *, fit: tuple[int, int], fps: float | None = None,
                      background: tuple[int, int, int] = (0, 0, 0)) -> Iterator[np.ndarray]:
    """Decode a video one (H, W, 3) uint8 RGB frame at a time, never holding the clip in memory.

    Each frame is scaled to fit inside `fit` = (width, height), keeping its aspect, and centred on
    `background`. With `fps` the clip is resampled in time (frames repeated or dropped) so clips of
    different rates line up by time. Closing the generator early stops ffmpeg.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such video: {path}")
    width, height = fit
    if width < 2 or height < 2:
        raise ValueError(f"fit must be at least 2x2 pixels; got {width}x{height}.")
    colour = "0x{:02x}{:02x}{:02x}".format(*background)
    graph = (f"scale={width}:{height}:force_original_aspect_ratio=decrease:flags=bicubic,"
             f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={colour},format=rgb24")
    if fps is not None:
        _check_fps(fps)
        graph = f"fps={fps:g}," + graph
    yield from iter_filtered_frames(path, graph, (width, height), threads=1)


def read_audio(path: Path | str, *, sample_rate: int | None = None, channels: int | None = None) -> AudioTrack | None:
    """The first sound track of a video as float samples, or None when the video is silent. By
    default at its own rate and channel count (more than two mixed down to two); `sample_rate` and
    `channels` have ffmpeg resample and remix it instead."""
    path = Path(path)
    streams = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], path).stderr
    stream = re.search(r"Stream #0:\d+.*?: Audio: .*?(\d+) Hz, ([^,]+)", streams)
    if stream is None:
        return None
    sample_rate = sample_rate or int(stream.group(1))
    channels = channels or (1 if stream.group(2).strip() == "mono" else 2)
    try:
        result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
                                 "-map", "0:a:0", "-ac", str(channels), "-ar", str(sample_rate), "-f", "f32le", "-"],
                                capture_output=True, timeout=_PROBE_TIMEOUT_S, preexec_fn=tie_to_parent())
    except subprocess.TimeoutExpired:
        raise EncodeError(f"ffmpeg took longer than {_PROBE_TIMEOUT_S} s to read the sound of {path.name}.") from None
    if result.returncode != 0:
        raise EncodeError(f"The sound of {path.name} cannot be read: {_last_lines(result.stderr.decode('utf-8', 'replace'))}")
    samples = np.frombuffer(result.stdout, dtype="<f4")
    if samples.size < channels:
        return None
    return AudioTrack(samples[: samples.size - samples.size % channels].reshape(-1, channels).T, sample_rate)


def iter_filtered_frames(path: Path | str, graph: str, size: tuple[int, int], *, threads: int | None = None,
                         max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video through an ffmpeg filter graph ending in rgb24 frames of `size` = (width,
    height), one (H, W, 3) uint8 frame at a time. Closing the generator early stops ffmpeg."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such video: {path}")
    width, height = size
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
               *(["-threads", str(threads)] if threads else []), "-i", str(path),
               "-map", "0:v:0", "-vf", graph, *(["-frames:v", str(max_frames)] if max_frames else []),
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                   preexec_fn=tie_to_parent())
        try:
            while True:
                raw = process.stdout.read(frame_bytes)
                if len(raw) < frame_bytes:
                    break
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
            if process.wait() != 0:
                stderr.seek(0)
                raise EncodeError(f"Could not decode {path.name}: {_last_lines(stderr.read().decode('utf-8', 'replace'))}")
        finally:
            if process.poll() is None:  # the caller stopped early (or failed): do not leave ffmpeg behind
                process.kill()
            process.stdout.close()
            process.wait()


# ---------------------------------------------------------------------------------------------


def _encode(chunks: Iterator[memoryview], fps: int, size: tuple[int, int], path: Path,
            output_args: list[str], *, what: str, pix_fmt: str = "rgb24") -> Path:
    """Pipe raw frames (their bytes, in `pix_fmt`) into ffmpeg writing to a temporary name, then
    rename into place."""
    width, height = size
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise EncodeError(f"Cannot write {path.name}: {path.parent} (or a folder above it) is a file, not a folder.") from None
    except PermissionError:
        raise OutputNotWritable(path.parent) from None
    except OSError as error:
        if error.errno == errno.EROFS:
            raise OutputNotWritable(path.parent) from None
        raise EncodeError(f"Cannot create the folder {path.parent} for {path.name}: {error.strerror or error}.") from None
    with tempfile.TemporaryFile() as stderr, atomic_path(path) as tmp:
        command = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-framerate", str(fps),
            "-i", "pipe:0", *output_args, str(tmp),
        ]
        # stderr goes to a file, not a pipe: a pipe nobody reads while we write frames can fill up
        # and deadlock both processes.
        # Tied to this thread's life: a killed worker must not leave ffmpeg writing for seconds more.
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                                   preexec_fn=tie_to_parent())
        try:
            _widen_pipe(process.stdin)
            try:
                for chunk in chunks:
                    process.stdin.write(chunk)
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its exit status and message say why, below
            returncode = process.wait()
        except BaseException:
            # Also while ffmpeg finishes (Ctrl-C, SIGTERM): left running, it would write the file
            # again after atomic_path removed it (faststart rewrites it at the end).
            process.kill()
            process.wait()
            raise
        if returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            stderr.seek(0)
            raise _encode_failure(stderr.read().decode("utf-8", "replace"), path, what)
    return path


def _encode_failure(log: str, path: Path, what: str) -> Exception:
    if "No space left on device" in log:
        return DiskFull(f"The disk is full: could not write the {what} {path.name} in {path.parent}. "
                        "Free some space or choose another output folder in Settings.")
    if any(text in log for text in ("Permission denied", "Operation not permitted", "Read-only file system")):
        return OutputNotWritable(path.parent)
    return EncodeError(f"ffmpeg could not write the {what} {path.name}: {_last_lines(log) or 'no error message'}")


def _check_fps(fps: float) -> None:
    if not 0 < fps <= 240:
        raise ValueError(f"fps must be above 0 and at most 240; got {fps}.")


def _first_frame(frames: np.ndarray | Iterable[np.ndarray]) -> tuple[np.ndarray, Iterator[np.ndarray]]:
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must have shape (T, H, W, 3); got {frames.shape}.")
    iterator = iter(frames)
    try:
        first = next(iterator)
    except StopIteration:
        raise ValueError("There are no frames to encode.") from None
    if isinstance(first, YuvFrame):
        return first, iterator
    first = np.asarray(first)
    if first.ndim != 3 or first.shape[-1] != 3 or first.dtype != np.uint8:
        raise ValueError(f"Each frame must be an (H, W, 3) uint8 RGB array; got {first.shape} {first.dtype}.")
    return first, iterator


def _checked(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield frames as contiguous arrays, stopping with ValueError at the first that does not
    match the first frame (ffmpeg would silently misread it as shifted pixels)."""
    yield np.ascontiguousarray(first)
    for index, frame in enumerate(rest, start=1):
        frame = np.asarray(frame)
        if frame.shape != first.shape or frame.dtype != np.uint8:
            raise ValueError(f"Frame {index} is {frame.shape} {frame.dtype}; every frame must be {first.shape} uint8 like frame 0.")
        yield np.ascontiguousarray(frame)


def _rgb_bytes(frames: Iterable[np.ndarray]) -> Iterator[memoryview]:
    for frame in frames:
        yield memoryview(frame).cast("B")


def _planar_bytes(first: YuvFrame, rest: Iterator[YuvFrame]) -> Iterator[memoryview]:
    """Each frame's planes, stopping with ValueError at a frame unlike the first (see _checked)."""
    for index, frame in enumerate(itertools.chain((first,), rest)):
        if not isinstance(frame, YuvFrame) or frame.y.shape != first.y.shape:
            raise ValueError(f"Frame {index} is not a {first.y.shape[1]}x{first.y.shape[0]} 4:2:0 frame like frame 0.")
        yield from frame.planes()


def _pad_even(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    tags = {}
    for key, value in metadata.items():
        if not _METADATA_KEY.match(str(key)):
            raise ValueError(f"Metadata key {key!r} must start with a letter and use only letters, digits and '_'.")
        text = str(value)
        if "\x00" in text:
            raise ValueError(f"Metadata value for {key!r} contains a NUL character.")
        tags[str(key)] = text
    return tags


def _parse_ffmetadata(text: str) -> dict[str, str]:
    """Parse ffmpeg's ffmetadata format: 'key=value' lines where '=', ';', '#', backslash and newline
    inside keys/values are escaped with a backslash. Only the global section is read."""
    tags: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith((";", "#")) or not line:
            continue
        if line.startswith("["):
            break  # stream/chapter sections follow the global tags
        key, value, seen_equals, escaped = [], [], False, False
        while True:
            for char in line:
                target = value if seen_equals else key
                if escaped:
                    target.append(char)
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == "=" and not seen_equals:
                    seen_equals = True
                else:
                    target.append(char)
            if not escaped:
                break
            # a backslash at the end of a line escapes the newline itself
            (value if seen_equals else key).append("\n")
            escaped = False
            line = next(lines, "")
        if seen_equals:
            tags["".join(key)] = "".join(value)
    return tags


def _run(command: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    if not path.is_file():
        raise FileNotFoundError(f"No such video: {path}")
    try:
        return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL, preexec_fn=tie_to_parent())
    except subprocess.TimeoutExpired:
        raise EncodeError(f"ffmpeg took longer than {_PROBE_TIMEOUT_S} s to read {path.name}.") from None


def _widen_pipe(pipe: object) -> None:
    """Ask Linux for a 1 MiB pipe (default 64 KiB): fewer wake-ups per 2-6 MB frame. Best effort."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError, AttributeError):
        pass


def _last_lines(log: str, count: int = 3) -> str:
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:])[:500]
