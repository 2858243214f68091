"""Wan (Wan2.2 TI2V-5B and Wan2.1 I2V-14B): the adapter.

Imported only when a Wan job runs (families.py names it by string).

Both checkpoints run through WanImageToVideoPipeline. Wan2.2 TI2V-5B's folder is saved as a
text-to-video WanPipeline (no image encoder; `expand_timesteps` set); loaded with the image-to-video
class, it conditions by replacing the first latent frame with the encoded image. Wan2.1 I2V-14B
also attends to CLIP image features through its image encoder.

Both model cards load the VAE — and Wan2.1 its image encoder — in float32 while the transformer
runs in bfloat16; the pipeline casts its inputs to each model's own dtype, so the engine does the
same (`float32_components`). On a CPU everything is float32 already.

The pipelines silently round what they are given (frames to 4k+1, Wan2.2 sizes down to a multiple
of 32); the family's rules reject such values with the nearest valid one before a run starts, and
the engine checks the frames that come back.
"""

from __future__ import annotations

from typing import Any

from diffusers import WanImageToVideoPipeline

from studio.engines.base import RuntimeOptions
from studio.engines.diffusion.adapter import PipelineAdapter


class WanAdapter(PipelineAdapter):
    denoiser = "transformer"
    float32_components = ("vae", "image_encoder")  # Wan2.2 TI2V has no image encoder

    def pipeline_class(self) -> type:
        return WanImageToVideoPipeline

    def after_load(self, pipe: Any, runtime: RuntimeOptions) -> list[str]:
        if runtime.dtype == "float32":
            return []
        kept = [name for name in self.float32_components if getattr(pipe, name, None) is not None]
        return [f"{' and '.join(kept)} in float32, as the model card loads them"]
