"""LTX-Video (Lightricks/LTX-Video): the adapter.

Imported only when an LTX-Video job runs (families.py names it by string).

What is particular to LTX-Video:
  * The transformer's rotary position embeddings are scaled by the frame rate, so the playback
    rate is also a conditioning input (`frame_rate`): a video made for 24 fps moves differently from
    one made for 12.
  * VAEs with timestep conditioning (LTX-Video 0.9.1 and later) decode at a small noise level
    (`decode_timestep`, mixing in `decode_noise_scale` of noise); a VAE without it ignores both.
  * It needs at least two steps (its scheduler stretches the sigmas to a terminal value, which one
    step leaves nothing to do with); the family's step rule says so before a run starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import LTXImageToVideoPipeline
from PIL import Image

from studio.engines.diffusion.adapter import PipelineAdapter


class LTXAdapter(PipelineAdapter):
    denoiser = "transformer"

    def pipeline_class(self) -> type:
        return LTXImageToVideoPipeline

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {
            **super().call_kwargs(image, params, generator),
            "frame_rate": params["fps"],
            "decode_timestep": params["decode_timestep"],
            "decode_noise_scale": params["decode_noise_scale"],
        }
