"""Ping-pong loop: the video forward, then backward, so it loops without a jump.

The turn-around frames are not repeated: frames 0..n-1 then n-2..1, 2n - 2 in all; played in a
loop, frame 1 is followed by frame 0 again. The clip is held in memory to play it backward (a
240-frame 1280x720 clip is about 660 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from studio.engines.base import Cancelled, EngineInfo, StepCallback
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


def pingpong_order(count: int) -> list[int]:
    """Source frame indices of the loop: forward, then back without either end twice."""
    return list(range(count)) + list(range(count - 2, 0, -1))


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
        size = (params["width"], params["height"])
        frames = []  # the backward half needs them all (a cancel stops the decode at once)
        for frame in iter_filtered_frames(source, "format=rgb24", size):
            if cancelled():
                raise Cancelled
            frames.append(frame)
        order = pingpong_order(len(frames))
        return counted((frames[i] for i in order), len(order), on_step, cancelled)

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"tool": "ping-pong"}
