"""FramePack (HunyuanVideo FramePack, lllyasviel/FramePackI2V_HY): the adapter.

Imported only when a FramePack job runs (families.py names it by string).

What is particular to FramePack:
  * The video is made in sections, each a full denoising loop of `steps` steps; the step callback
    restarts at 0 in each. The run's total is sections x steps, so the bar goes from 0 to 100% once,
    and the progress text works out "section s/S · step n/N" from the run's own parameters
    (families.framepack_sections).
  * The pipeline turns `num_frames` into sections by its own rounding (ceil of num_frames over
    (window - 1) x 4 + 1); the adapter passes the count that gives exactly the sections the studio's
    frame rule asked for, and the frames that come back are 4 x window x sections + 1.
  * It is guidance-distilled: `guidance` is the distilled scale (the model card uses 9); the real
    classifier-free pass (true_cfg_scale) stays off, so there is no negative prompt.
  * It can also end on a given image: the family declares supports_last_image, and the engine adds
    the pipeline's `last_image` (PipelineAdapter.last_image_kwargs) when a run has an end image.
  * Its pipeline calls the transformer outside a cache context, which diffusers' First Block Cache
    needs; a fast run opens one around the whole call. One context serves because each step makes
    one pass (no true classifier-free pass, above); a section's first step differs from the last
    step before it, so the cache recomputes there by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from diffusers import HunyuanVideoFramepackPipeline
from PIL import Image

from studio.engines.diffusion.adapter import PipelineAdapter
from studio.engines.diffusion.families import framepack_sections


class FramePackAdapter(PipelineAdapter):
    denoiser = "transformer"

    def pipeline_class(self) -> type:
        return HunyuanVideoFramepackPipeline

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        window = int(params["latent_window_size"])
        return {
            "prompt": params["prompt"],
            "height": params["height"],
            "width": params["width"],
            "num_frames": framepack_sections(params) * ((window - 1) * 4 + 1),
            "latent_window_size": window,
            "sampling_type": params["sampling_type"],
            "num_inference_steps": params["steps"],
            "guidance_scale": params["guidance"],
            "generator": generator,
        }

    def total_steps(self, params: Mapping[str, Any]) -> int:
        return framepack_sections(params) * int(params["steps"])

    def call_context(self, pipe: Any, params: Mapping[str, Any]) -> contextlib.AbstractContextManager:
        if params.get("speed") == "fast":
            return pipe.transformer.cache_context("cond")
        return contextlib.nullcontext()
