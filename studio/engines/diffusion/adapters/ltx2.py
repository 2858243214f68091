"""LTX-2 (Lightricks/LTX-2): the adapter.

Imported only when an LTX-2 job runs (families.py names it by string).

What is particular to LTX-2:
  * It makes sound with the video: the output carries a waveform from its vocoder, which the worker
    muxes into the MP4 as AAC (to_audio).
  * Like LTX-Video, the playback rate is also a conditioning input (`frame_rate`).
  * Its image conditioning was trained on compressed video frames, so the pipeline re-compresses
    the input as one H.264 frame (CRF 33) with PyAV. The studio does the same round trip with its
    own ffmpeg (studio.media.still) and tells the pipeline to skip its own (`image_crf=0`).
  * turbo is the distillation LoRA on the dev model, run as diffusers' LTX-2 docs run it: the 8
    noise levels it was distilled at (DISTILLED_SIGMA_VALUES) used as they are, by a copy of the
    scheduler without dynamic shifting, and no guidance of any kind (classifier-free, spatio-temporal
    or modality, for video and sound): one transformer call per step.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from diffusers import LTX2ImageToVideoPipeline
from diffusers.pipelines.ltx2.utils import DEFAULT_IMAGE_CRF, DISTILLED_SIGMA_VALUES
from PIL import Image

from studio.engines.diffusion.adapter import PipelineAdapter
from studio.media.audio import AudioTrack
from studio.media.still import h264_roundtrip


class LTX2Adapter(PipelineAdapter):
    denoiser = "transformer"
    compat_notes = (f"input image re-compressed as H.264 at CRF {DEFAULT_IMAGE_CRF} with the bundled ffmpeg "
                    "(the pipeline's own round trip needs PyAV)",)

    def pipeline_class(self) -> type:
        return LTX2ImageToVideoPipeline

    def prepare_image(self, image: Image.Image, params: Mapping[str, Any]) -> Image.Image:
        return h264_roundtrip(image, DEFAULT_IMAGE_CRF)

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        kwargs = {**super().call_kwargs(image, params, generator), "frame_rate": float(params["fps"]), "image_crf": 0}
        if params.get("speed") == "turbo":
            # steps is already turbo's (TurboSpec.steps, the schedule's length: a test checks it).
            kwargs.update(sigmas=list(DISTILLED_SIGMA_VALUES), guidance_scale=1.0, audio_guidance_scale=1.0,
                          stg_scale=0.0, audio_stg_scale=0.0, modality_scale=1.0, audio_modality_scale=1.0)
        return kwargs

    def before_call(self, pipe: Any, params: Mapping[str, Any]) -> None:
        """turbo: a scheduler that takes the distilled noise levels as they are; any other run: the
        scheduler the model was loaded with (the pipeline stays loaded between runs)."""
        loaded = _LOADED_SCHEDULERS.setdefault(pipe, pipe.scheduler)
        if params.get("speed") != "turbo":
            pipe.scheduler = loaded
        elif pipe.scheduler is loaded:
            pipe.scheduler = type(loaded).from_config(loaded.config, use_dynamic_shifting=False, shift_terminal=None)

    def manifest_entries(self, pipe: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"sigmas": list(DISTILLED_SIGMA_VALUES)} if params.get("speed") == "turbo" else {}

    def to_audio(self, output: Any, pipe: Any) -> AudioTrack | None:
        audio = getattr(output, "audio", None)
        if audio is None:
            return None
        samples = audio[0].detach().float().cpu().numpy()  # (channels, samples)
        return AudioTrack(samples, int(pipe.vocoder.config.output_sampling_rate))


# The scheduler each loaded pipeline came with, to put back after a turbo run.
_LOADED_SCHEDULERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
