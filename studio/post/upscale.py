"""Upscale: a run's video at twice its width and height.

The built-in method resamples each frame with ffmpeg's Lanczos filter (sharp, no ringing worth
noticing at x2, no weights). A super-resolution model is a method too, but none is bundled: it is
refused with how to install one until then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from studio.engines.base import EngineInfo, InputError, ParamSpec, StepCallback
from studio.engines.request import GenerationRequest
from studio.post.base import FAMILY, Clip, Tool, clip_params, counted, missing_source

FACTORS = (2,)
METHODS = ("lanczos", "model")
MODEL_HINT = ("No super-resolution model is installed: the studio bundles none. Use the built-in Lanczos "
              "resampling.")

INFO = EngineInfo(
    id="upscale",
    label="Upscale",
    description="Makes a run's video at twice its width and height, resampled with a Lanczos filter.",
    family=FAMILY,
    params=(
        ParamSpec("factor", "Upscale factor", "choice", 2, "How many times the width and height.", choices=FACTORS),
        ParamSpec("method", "Upscaler", "choice", "lanczos",
                  "lanczos: high-quality resampling (built in). model: a super-resolution model, when one is installed.",
                  choices=METHODS, sweepable=False),
        *clip_params(),
    ),
    needs_weights=False,
    supports_negative_prompt=False,
    precision="n/a",
)


class UpscaleEngine(Tool):
    info = INFO

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        clean = super().validate(params)
        if clean["method"] == "model":
            raise InputError("method", MODEL_HINT, "lanczos")
        return clean

    def plan(self, source: Clip, options: Mapping[str, Any]) -> Clip:
        factor = int(options.get("factor", 2))
        return Clip(source.width * factor, source.height * factor, source.frames, source.fps)

    def iter_post_frames(self, source: Path, request: GenerationRequest, *, on_step: StepCallback,
                         cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
        from studio.media.encode import iter_filtered_frames

        if not source.is_file():
            raise missing_source(source)
        params = request.params
        size = (params["width"], params["height"])
        graph = f"scale={size[0]}:{size[1]}:flags=lanczos+accurate_rnd+full_chroma_int,format=rgb24"
        return counted(iter_filtered_frames(source, graph, size), params["frames"], on_step, cancelled)

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"tool": "ffmpeg scale lanczos", "factor": params["factor"], "method": params["method"]}
