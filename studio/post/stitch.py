"""One video from an extend chain: each link's clip after the other, joined at the shared frame.

A continuation starts from the last frame of the run it extends, so its first frame shows what the
previous clip's last frame already showed: it is written once (the later copy is dropped), so the
joined video neither stutters nor skips at a seam.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from studio.media.encode import iter_video_frames, probe_video, write_mp4


def stitch_chain(videos: Sequence[Path | str], destination: Path | str, *, fps: int) -> int:
    """Write the clips, first link first, as one H.264 yuv420p MP4 at `destination` (atomically),
    at the first clip's size (a link made at another size is scaled to fit, centred); returns the
    number of frames written."""
    if not videos:
        raise ValueError("A chain needs at least one video.")
    first = probe_video(videos[0])
    size = (first.width, first.height)
    written = 0

    def frames() -> Iterator[np.ndarray]:
        nonlocal written
        for index, video in enumerate(videos):
            clip = iter_video_frames(video, fit=size)
            try:
                if index > 0:
                    next(clip, None)  # the shared frame, already written as the previous clip's last
                for frame in clip:
                    written += 1
                    yield frame
            finally:
                clip.close()

    write_mp4(frames(), fps, destination)
    return written
