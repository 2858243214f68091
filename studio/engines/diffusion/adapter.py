"""What differs between diffusion pipeline families, as one small class per family.

The engine (engine.py) does everything that is the same for every family; an adapter says which
pipeline class to load, how a request becomes call arguments, how each step can be observed and how
the output becomes frames. Adapters live in adapters/, one module per family, and are named by
string in families.py so that diffusers is imported only when a job of that family runs.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

from studio.engines.base import RuntimeOptions
from studio.media.audio import AudioTrack


class PipelineAdapter:
    """What differs between pipeline families. Subclass it once per family and keep it small.

    step_mechanism — how the engine observes each denoising step:
      "callback_on_step_end"  the pipeline calls callback_on_step_end once per step (modern pipelines);
      "callback"              the legacy callback/callback_steps arguments;
      "denoiser_hook"         the pipeline has no callback at all: a forward hook on `denoiser`
                              counts steps (valid only where the denoiser runs once per step).
      "scheduler_step"        no callback, and the denoiser runs once per guidance branch: the
                              scheduler's step(), which runs once per step, counts them.
    """

    step_mechanism: str = "callback_on_step_end"
    denoiser: str = "transformer"
    # Short notes on workarounds this adapter applies, copied into every manifest.
    compat_notes: tuple[str, ...] = ()
    # Components loaded in float32 even when the rest runs in half precision, where the model card
    # does so (read from the file in float32, never rounded to half first).
    float32_components: tuple[str, ...] = ()

    def pipeline_class(self) -> type:
        raise NotImplementedError

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        """The pipeline's keyword arguments for one run (without callbacks and the image; the engine
        adds those). The default is the argument set diffusers' prompted video pipelines share;
        families extend or replace it."""
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

    def last_image_kwargs(self, end_image: Image.Image) -> dict[str, Any]:
        """The call arguments that make the video end on `end_image`; asked only for families whose
        Family declares supports_last_image. diffusers' name for it, where a pipeline has one."""
        return {"last_image": end_image}

    def total_steps(self, params: Mapping[str, Any]) -> int:
        return int(params["steps"])

    def before_call(self, pipe: Any, params: Mapping[str, Any]) -> None:
        """Set what a pipeline takes from its components rather than from the call (HunyuanVideo
        1.5's guidance scale lives on its guider); most families need nothing here."""

    def call_context(self, pipe: Any, params: Mapping[str, Any]) -> contextlib.AbstractContextManager:
        """What the pipeline call runs inside; most families need nothing (FramePack's fast mode
        needs the cache context its pipeline does not open)."""
        return contextlib.nullcontext()

    def prepare_image(self, image: Image.Image, params: Mapping[str, Any]) -> Image.Image:
        """The input image as this family's pipeline should receive it; most take it as it is."""
        return image

    def to_audio(self, output: Any, pipe: Any) -> AudioTrack | None:
        """The sound track in the pipeline's output, for families that make one; None otherwise."""
        return None

    def after_load(self, pipe: Any, runtime: RuntimeOptions) -> list[str]:
        """Family-specific tweaks right after loading; returns notes for the manifest."""
        return []

    def manifest_entries(self, pipe: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        """What this family adds to a run's manifest (settings read from the checkpoint, how the run
        was split); the engine records the rest."""
        return {}

    def to_frames(self, output: Any, params: Mapping[str, Any]) -> np.ndarray:
        """Pipeline output (called with output_type='np') -> (T, H, W, 3) uint8."""
        frames = output.frames[0] if hasattr(output, "frames") else output[0][0]
        if hasattr(frames, "detach"):  # a torch tensor
            frames = frames.detach().float().cpu().numpy()
        frames = np.asarray(frames)
        if frames.dtype != np.uint8:
            frames = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        return frames


def load_adapter(reference: str) -> PipelineAdapter:
    """'package.module:ClassName' -> an adapter instance."""
    module_name, _, class_name = reference.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
