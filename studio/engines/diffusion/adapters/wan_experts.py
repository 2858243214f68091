"""Wan2.2 I2V-A14B (Wan-AI/Wan2.2-I2V-A14B-Diffusers): the Wan adapter, with its second expert.

Imported only when an A14B job runs (families.py names it by string).

The checkpoint holds two transformers of the same shape: `transformer`, the high-noise expert, runs
the steps whose timestep is at or above boundary_ratio x 1000, and `transformer_2`, the low-noise
expert, the rest. The ratio comes from the checkpoint (model_index.json; 0.9 for the released model)
and is recorded in the manifest. Each expert has its own guidance scale: the studio's `guidance` is
the high-noise one's and `guidance_2` the low-noise one's (the pipeline's guidance_scale_2).

Everything else is Wan's (a subclass, so what the Wan adapter learns applies here too): the VAE in
float32 under half precision, the frame and size rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PIL import Image

from studio.engines.diffusion.adapters.wan import WanAdapter


class WanExpertsAdapter(WanAdapter):
    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        return {**super().call_kwargs(image, params, generator), "guidance_scale_2": params["guidance_2"]}

    def manifest_entries(self, pipe: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().manifest_entries(pipe, params), "boundary_ratio": pipe.config.boundary_ratio}
