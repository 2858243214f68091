"""Ping-pong loop: the video forward, then backward, so it loops without a jump.

The turn-around frames are not repeated: frames 0..n-1 then n-2..1, 2n - 2 in all; played in a
loop, frame 1 is followed by frame 0 again. The forward half goes to the encoder as it is decoded;
each frame is also kept for the backward half, on disk beside the source video rather than in
memory (a 957-frame 2560x1440 clip is about 10 GB of RGB), in a file without a name, so that nothing
is left behind whatever ends the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from studio.engines.base import EngineInfo, InputError, StepCallback
from studio.engines.request import GenerationRequest
from studio.post.base import FAMILY, Clip, Tool, clip_params, counted, missing_source

INFO = EngineInfo(
    id="pingpong",
    label="Ping-pong loop",
    description="Plays a run's video forward and then backward, without repeating the turn-around frames, "
                "so it loops seamlessly.",
    family=FAMILY,
    params=clip_params(),
    needs_weights=False,
    supports_negative_prompt=False,
    precision="n/a",
)


# Room left over on the disk while the frames are kept (the video being made goes there too).
SPARE_BYTES = 200 * 1024 * 1024


def pingpong_order(count: int) -> list[int]:
    """Source frame indices of the loop: forward, then back without either end twice."""
    return list(range(count)) + list(range(count - 2, 0, -1))


def _room_for(needed: int, *folders: Path) -> Path:
    """The first folder this process may write in with `needed` bytes free: the source video's own
    (a disk, never memory), else the system's temporary folder; InputError saying so if none."""
    free = 0
    for folder in folders:
        if folder.is_dir() and os.access(folder, os.W_OK):
            free = shutil.disk_usage(folder).free
            if free >= needed:
                return folder
    raise InputError("source_run", f"Ping-pong keeps the clip on disk while it plays it backward: it needs about "
                                   f"{needed / 1e6:.0f} MB free in {folders[0]} (or the temporary folder), and "
                                   f"{free / 1e6:.0f} MB are. Free some space, then try again.")


def _forward_then_back(frames: Iterator[np.ndarray], folder: Path, shape: tuple[int, int, int]) -> Iterator[np.ndarray]:
    """Each frame as it comes, kept in an unnamed file in `folder`; then the kept ones from the
    last but one back to the second (pingpong_order), read from that file."""
    with tempfile.TemporaryFile(dir=folder, prefix=".pingpong-") as kept:
        count = 0
        for frame in frames:
            kept.write(np.ascontiguousarray(frame, dtype=np.uint8).data)
            count += 1
            yield frame
        if count < 3:  # nothing between the two ends to play backward
            return
        kept.flush()
        clip = np.memmap(kept, dtype=np.uint8, mode="r", shape=(count, *shape))
        try:
            for index in pingpong_order(count)[count:]:
                yield np.array(clip[index])  # a copy: the mapping closes with the file
        finally:
            del clip


class PingPongEngine(Tool):
    info = INFO
    keeps_sound = False  # sound played backwards is not a loop anyone wants

    def plan(self, source: Clip, options: Mapping[str, Any]) -> Clip:
        return Clip(source.width, source.height, len(pingpong_order(source.frames)), source.fps)

    def iter_post_frames(self, source: Path, request: GenerationRequest, *, on_step: StepCallback,
                         cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
        from studio.media.encode import iter_filtered_frames

        if not source.is_file():
            raise missing_source(source)
        params = request.params
        width, height = params["width"], params["height"]
        needed = (params["frames"] + 2) // 2 * width * height * 3 + SPARE_BYTES  # the source's frames, as planned
        folder = _room_for(needed, source.parent, Path(tempfile.gettempdir()))
        frames = iter_filtered_frames(source, "format=rgb24", (width, height))
        return counted(_forward_then_back(frames, folder, (height, width, 3)), params["frames"], on_step, cancelled)

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"tool": "ping-pong"}
