"""Single frames out of finished videos, decoded with the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from studio.media.encode import EncodeError, iter_video_frames, probe_video


def last_frame(path: Path | str) -> Image.Image:
    """The video's last frame as an RGB image at the video's own size (where an extension starts).
    Decoded through to the end rather than seeked to: a seek lands on key frames, and the last
    frame of a short clip is exactly what must not be approximated."""
    info = probe_video(path)
    frame = None
    for frame in iter_video_frames(path, fit=(info.width, info.height)):
        pass
    if frame is None:
        raise EncodeError(f"{Path(path).name} has no frames to continue from.")
    return Image.fromarray(frame.copy(), "RGB")
