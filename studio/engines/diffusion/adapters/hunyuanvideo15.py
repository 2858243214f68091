"""HunyuanVideo 1.5 image-to-video (hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v): the adapter.

Imported only when a HunyuanVideo 1.5 job runs (families.py names it by string).

What is particular to HunyuanVideo 1.5:
  * The pipeline takes no size: it picks one of its size buckets from the input image's aspect. The
    family only accepts bucket sizes (families.hunyuanvideo15_buckets), and the worker fits the image
    to exactly that size, so the bucket picked is the one asked for.
  * Guidance is not a call argument but the setting of its guider component; before each run the
    adapter gives the pipeline a guider with the run's scale.
  * It has no step callback and runs its transformer once per guidance branch, so the engine counts
    steps at the scheduler (step_mechanism "scheduler_step").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import HunyuanVideo15ImageToVideoPipeline
from PIL import Image

from studio.engines.diffusion.adapter import PipelineAdapter


class HunyuanVideo15Adapter(PipelineAdapter):
    step_mechanism = "scheduler_step"
    denoiser = "transformer"

    def pipeline_class(self) -> type:
        return HunyuanVideo15ImageToVideoPipeline

    def before_call(self, pipe: Any, params: Mapping[str, Any]) -> None:
        if pipe.guider.guidance_scale != params["guidance"]:
            pipe.guider = pipe.guider.new(guidance_scale=params["guidance"])

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {
            "prompt": params["prompt"],
            "negative_prompt": params["negative_prompt"] or None,
            "num_frames": params["frames"],
            "num_inference_steps": params["steps"],
            "generator": generator,
        }
