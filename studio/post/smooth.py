"""Smooth: more frames per second by frame interpolation, x2 or x4.

The built-in method is ffmpeg's motion-compensated `minterpolate` (bidirectional motion estimation,
overlapped-block compensation), from the bundled binary: no weights, any machine. It makes the
frames between each pair of source frames, so n frames become (n - 1) * factor + 1 and the video
keeps its length. A neural interpolator is listed as a method but not bundled: no maintained
package loads one from safetensors without downloading code or weights, so it says how to install
one and is refused until then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from studio.engines.base import EngineInfo, InputError, ParamSpec, StepCallback
from studio.engines.request import GenerationRequest
from studio.post.base import FAMILY, Clip, Tool, clip_params, counted, missing_source

FACTORS = (2, 4)
METHODS = ("motion", "neural")
NEURAL_HINT = ("Neural frame interpolation is not installed: the studio bundles none (no maintained package loads "
               "such a model from a local .safetensors file without fetching code). Use the built-in "
               "motion-compensated method.")
# minterpolate's best settings: bidirectional estimation, overlapped blocks, variable-size blocks.
_MINTERPOLATE = "minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"

INFO = EngineInfo(
    id="smooth",
    label="Smooth (frame interpolation)",
    description="Makes the frames between a run's frames (x2 or x4), so motion is smoother at a higher frame rate "
                "and the video keeps its length. Motion-compensated interpolation with the bundled ffmpeg.",
    family=FAMILY,
    params=(
        ParamSpec("factor", "Smooth factor", "choice", 2, "How many frames for each source frame (x2, x4).",
                  choices=FACTORS),
        ParamSpec("method", "Interpolation", "choice", "motion",
                  "motion: ffmpeg's motion-compensated interpolation (built in). neural: a learned interpolator, "
                  "when one is installed.", choices=METHODS, sweepable=False),
        *clip_params(),
    ),
    needs_weights=False,
    supports_negative_prompt=False,
    recommended_fps=16,
    precision="n/a",
)


class SmoothEngine(Tool):
    info = INFO

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # Before the shared checks, whose fps rule would word this as "fps must be at most 240".
        if str(params.get("fps", "")).isdigit() and int(params["fps"]) > 240:
            raise InputError("factor", "Smoothing would pass 240 frames per second; choose a smaller factor.", 2)
        clean = super().validate(params)
        if clean["method"] == "neural":
            raise InputError("method", NEURAL_HINT, "motion")
        return clean

    def plan(self, source: Clip, options: Mapping[str, Any]) -> Clip:
        factor = int(options.get("factor", 2))
        return Clip(source.width, source.height, (source.frames - 1) * factor + 1, source.fps * factor)

    def iter_post_frames(self, source: Path, request: GenerationRequest, *, on_step: StepCallback,
                         cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
        from studio.media.encode import iter_filtered_frames

        if not source.is_file():
            raise missing_source(source)
        params = request.params
        # One cloned frame at the end lets minterpolate reach the last source frame (else it stops
        # about a frame short); -frames:v keeps exactly the planned count.
        graph = f"tpad=stop_mode=clone:stop=1,{_MINTERPOLATE.format(fps=params['fps'])},format=rgb24"
        frames = iter_filtered_frames(source, graph, (params["width"], params["height"]), max_frames=params["frames"])
        return counted(frames, params["frames"], on_step, cancelled)

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"tool": "ffmpeg minterpolate", "factor": params["factor"], "method": params["method"]}
