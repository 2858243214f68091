"""SkyReels-V2 (Skywork/SkyReels-V2-I2V-* and -DF-*): the adapters.

Imported only when a SkyReels-V2 job runs (families.py names them by string).

Both are Wan 2.1-style models (the Wan VAE, a UMT5 text encoder), so they build on the Wan adapter:
the VAE (and the I2V model's CLIP image encoder) in float32 under half precision, as the model cards
load them. Image-to-video runs at flow_shift 5.0 (the diffusers examples: "8.0 for T2V, 5.0 for
I2V"); a folder whose scheduler says otherwise gets 5.0 on load, and the manifest notes it.

Diffusion forcing (DF) makes long videos in overlapping windows (studio.engines.diffusion.forcing
has the window rules). Its denoising loop runs once per row of a step matrix: `steps` rows per
window when every frame is denoised together, more in asynchronous mode, where causal blocks start
`ar_step` rows apart. The step callback fires once per row of every window, so the run's total is
counted with the pipeline's own scheduling function, window by window, and the progress bar goes
from 0 to 100% once. The pipeline records a causal block size in the transformer's config when one
is passed; the adapter always passes one (1 when synchronous) so a warm pipeline never keeps the
previous run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import (
    SkyReelsV2DiffusionForcingImageToVideoPipeline,
    SkyReelsV2ImageToVideoPipeline,
    UniPCMultistepScheduler,
)
from PIL import Image

from studio.engines.base import RuntimeOptions
from studio.engines.diffusion import forcing
from studio.engines.diffusion.adapters.wan import WanAdapter

IMAGE_TO_VIDEO_FLOW_SHIFT = 5.0


class SkyReelsV2Adapter(WanAdapter):
    def pipeline_class(self) -> type:
        return SkyReelsV2ImageToVideoPipeline

    def after_load(self, pipe: Any, runtime: RuntimeOptions) -> list[str]:
        notes = super().after_load(pipe, runtime)
        shift = pipe.scheduler.config.get("flow_shift")
        if shift != IMAGE_TO_VIDEO_FLOW_SHIFT:
            pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=IMAGE_TO_VIDEO_FLOW_SHIFT)
            notes.append(f"scheduler flow_shift {IMAGE_TO_VIDEO_FLOW_SHIFT:g} for image-to-video, as the model card "
                         f"sets it (the folder has {shift})")
        return notes


class SkyReelsV2ForcingAdapter(SkyReelsV2Adapter):
    def pipeline_class(self) -> type:
        return SkyReelsV2DiffusionForcingImageToVideoPipeline

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {
            **super().call_kwargs(image, params, generator),
            "base_num_frames": params["base_frames"],
            "overlap_history": params["overlap_history"],
            "ar_step": params["ar_step"],
            "causal_block_size": forcing.causal_block_size(params),
            "addnoise_condition": params["addnoise_condition"],
            # The DF transformer embeds the frame rate (16 fps or not), so playback rate conditions it.
            "fps": params["fps"],
        }

    def total_steps(self, params: Mapping[str, Any]) -> int:
        """Step-matrix rows over every window, as the pipeline will run them."""
        import torch

        frames, base, overlap = params["frames"], params["base_frames"], params["overlap_history"]
        block = forcing.causal_block_size(params)
        windows = forcing.window_count(frames, base, overlap)
        base_latents = forcing.latent_frames(base if windows > 1 else frames)
        template = torch.arange(params["steps"], 0, -1)  # only its length matters: one entry per step
        total = 0
        for index in range(windows):
            # The first window starts from the image (one latent frame); the others from the overlap,
            # cut to whole blocks as the pipeline cuts it.
            prefix = 1 if index == 0 else forcing.latent_frames(overlap) // block * block
            rows = SkyReelsV2DiffusionForcingImageToVideoPipeline.generate_timestep_matrix(
                None, base_latents, template, base_latents, params["ar_step"], prefix, block)[0]
            total += len(rows)
        return total

    def manifest_entries(self, pipe: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **super().manifest_entries(pipe, params),
            "windows": forcing.window_count(params["frames"], params["base_frames"], params["overlap_history"]),
            "causal_block_size": forcing.causal_block_size(params),
        }
