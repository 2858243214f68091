"""CogVideoX image-to-video (THUDM/CogVideoX-5b-I2V): the adapter.

Imported only when a CogVideoX job runs (families.py names it by string).

CogVideoX-5B-I2V has learned position embeddings for one frame size (720x480), so the family's
width and height are fixed; frames are 8k+1 (49 at most), and other counts come back changed
rather than refused, so the family's rule rejects them first. The model card runs it with plain
classifier-free guidance (use_dynamic_cfg off, the pipeline's default).
"""

from __future__ import annotations

from diffusers import CogVideoXImageToVideoPipeline

from studio.engines.diffusion.adapter import PipelineAdapter


class CogVideoXAdapter(PipelineAdapter):
    denoiser = "transformer"

    def pipeline_class(self) -> type:
        return CogVideoXImageToVideoPipeline
