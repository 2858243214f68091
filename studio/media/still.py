"""One still through H.264 and back, with the bundled ffmpeg.

LTX-2 was trained on video frames, so its image conditioning expects the blockiness of a compressed
frame: its pipeline re-compresses the input image at CRF 33 before encoding it (with PyAV, which the
studio does not install). The same round trip with the ffmpeg binary the studio already ships gives
the model what it expects without a second copy of ffmpeg's libraries.
"""

from __future__ import annotations

import subprocess

import numpy as np
from PIL import Image

from studio.media.child import tie_to_parent
from studio.media.encode import EncodeError, ffmpeg_exe

_TIMEOUT_S = 60


def h264_roundtrip(image: Image.Image, crf: int) -> Image.Image:
    """`image` encoded as one H.264 frame (yuv420p, preset veryfast) at `crf`, decoded back to RGB.
    crf 0 returns the image unchanged. Odd sides lose their last row/column, as yuv420p needs even ones."""
    if crf == 0:
        return image
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    rgb = np.ascontiguousarray(rgb[:height, :width])
    size = f"{width}x{height}"
    encoded = _ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-i", "pipe:0", "-frames:v", "1",
                       "-c:v", "libx264", "-preset", "veryfast", "-crf", str(int(crf)), "-pix_fmt", "yuv420p",
                       "-f", "h264", "pipe:1"], rgb.tobytes())
    decoded = _ffmpeg(["-f", "h264", "-i", "pipe:0", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24",
                       "pipe:1"], encoded)
    if len(decoded) != width * height * 3:
        raise EncodeError(f"ffmpeg returned {len(decoded)} bytes for a {size} still; expected {width * height * 3}.")
    return Image.fromarray(np.frombuffer(decoded, dtype=np.uint8).reshape(height, width, 3))


def _ffmpeg(args: list[str], data: bytes) -> bytes:
    try:
        result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *args], input=data,
                                capture_output=True, timeout=_TIMEOUT_S, preexec_fn=tie_to_parent())
    except subprocess.TimeoutExpired:
        raise EncodeError(f"ffmpeg took longer than {_TIMEOUT_S} s to re-compress a still.") from None
    if result.returncode != 0:
        raise EncodeError(f"ffmpeg could not re-compress a still: {result.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    return result.stdout
