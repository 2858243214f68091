"""Stable Video Diffusion (img2vid and img2vid-xt): the adapter.

Imported only when an SVD job runs (families.py names it by string).

What is particular to SVD:
  * No prompt: the image is the only conditioning, plus three numbers the UNet is micro-conditioned
    on — a frame rate, a motion bucket and the noise added to the image.
  * Guidance ramps linearly over the frames from min_guidance_scale (1.0, the pipeline's default)
    to max_guidance_scale; the studio's "guidance" is the maximum, as on the model card.
  * The pipeline has no interrupt flag, so cancel works by raising from the step callback (the
    engine does this for pipelines without one); nothing after that step runs, the decode included.
  * Its temporal-decoder VAE has neither slicing nor tiling. Its memory lever is decode_chunk_size
    (frames decoded at once), a parameter of every run; in 'lowest' mode the UNet also runs its
    feed-forward layers one item at a time, as the diffusers documentation suggests for small GPUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import StableVideoDiffusionPipeline
from PIL import Image

from studio.engines.base import RuntimeOptions
from studio.engines.diffusion.adapter import PipelineAdapter


class SVDAdapter(PipelineAdapter):
    denoiser = "unet"

    def pipeline_class(self) -> type:
        return StableVideoDiffusionPipeline

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {
            "height": params["height"],
            "width": params["width"],
            "num_frames": params["frames"],
            "num_inference_steps": params["steps"],
            "max_guidance_scale": params["guidance"],
            # "fps_condition" is the value the UNet sees (the reference implementation's fps_id, 6 by
            # default); the diffusers pipeline takes a frame rate and subtracts one itself.
            "fps": params["fps_condition"] + 1,
            "motion_bucket_id": params["motion_bucket_id"],
            "noise_aug_strength": params["noise_aug_strength"],
            "decode_chunk_size": params["decode_chunk_size"],
            "generator": generator,
        }

    def after_load(self, pipe: Any, runtime: RuntimeOptions) -> list[str]:
        if runtime.memory_mode != "lowest":
            return []
        pipe.unet.enable_forward_chunking()
        return ["UNet feed-forward chunking on; lower 'Decode chunk' to save memory while decoding"]
