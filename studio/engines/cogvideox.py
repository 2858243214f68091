"""CogVideoX image-to-video (THUDM/CogVideoX-5b-I2V): the adapter.

Imported only when a CogVideoX job runs (families.py names it by string).

CogVideoX-5B-I2V has learned position embeddings for one frame size (720x480), so the family's
width and height are fixed; frames are 8k+1 (49 at most), and other counts come back changed
rather than refused, so the family's rule rejects them first. The model card runs it with plain
classifier-free guidance (use_dynamic_cfg off, the pipeline's default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import CogVideoXImageToVideoPipeline
from PIL import Image

from studio.engines.diffusion import PipelineAdapter


class CogVideoXAdapter(PipelineAdapter):
    denoiser = "transformer"

    def pipeline_class(self) -> type:
        return CogVideoXImageToVideoPipeline

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {
            "prompt": params["prompt"],
            "negative_prompt": params["negative_prompt"] or None,
            "height": params["height"],
            "width": params["width"],
            "num_frames": params["frames"],
            "num_inference_steps": params["steps"],
            "guidance_scale": params["guidance"],
            "generator": generator,
        }
