"""I2VGen-XL (ali-vilab/i2vgen-xl): the adapter, and the one fix it needs on transformers 5.

Imported only when an I2VGen-XL job runs (families.py names it by string), so the torch/diffusers
imports at the top cost nothing elsewhere.

Why a subclass: diffusers 0.42 keeps I2VGenXLPipeline only as a deprecated pipeline. Its
encode_prompt takes CLIP's penultimate layer (clip_skip=1 is the call's default, the layer the
model was trained on) and then applies `text_encoder.text_model.final_layer_norm`. transformers 5
flattened CLIPTextModel — the text transformer's modules now sit on the model itself, so the layer
norm is `text_encoder.final_layer_norm` and `.text_model` is gone — and every default call fails
with AttributeError. Loading is unaffected: transformers 5 renames the checkpoint's `text_model.*`
keys itself. Passing clip_skip=None would run, but would silently use the last layer instead of the
penultimate one and change every video. So the subclass computes the same embeddings as before
(penultimate hidden state, then the final layer norm) and hands them to the original method, which
does the rest unchanged. We keep transformers 5 and diffusers 0.42 pinned rather than fork either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffusers import I2VGenXLPipeline
from PIL import Image

from studio.engines.diffusion.adapter import PipelineAdapter


class I2VGenXLPipelineCompat(I2VGenXLPipeline):
    """I2VGenXLPipeline whose prompt encoding works with transformers 5's CLIPTextModel."""

    def encode_prompt(
        self,
        prompt,
        device,
        num_videos_per_prompt,
        negative_prompt=None,
        prompt_embeds=None,
        negative_prompt_embeds=None,
        clip_skip=None,
    ):
        if clip_skip is not None and not hasattr(self.text_encoder, "text_model"):
            if prompt_embeds is None:
                prompt_embeds = self._clip_skip_embeds(prompt, device, clip_skip)
            if self.do_classifier_free_guidance and negative_prompt_embeds is None:
                batch_size = len(prompt) if isinstance(prompt, list) else 1
                if negative_prompt is None:
                    uncond = [""] * batch_size
                elif isinstance(negative_prompt, str):
                    uncond = [negative_prompt] * batch_size
                else:
                    uncond = list(negative_prompt)
                negative_prompt_embeds = self._clip_skip_embeds(uncond, device, clip_skip, prompt_embeds.shape[1])
            clip_skip = None  # the embeddings are done; the original only repeats and casts them
        return super().encode_prompt(
            prompt,
            device,
            num_videos_per_prompt,
            negative_prompt,
            prompt_embeds=prompt_embeds,
            negative_prompt_embeds=negative_prompt_embeds,
            clip_skip=clip_skip,
        )

    def _clip_skip_embeds(self, text, device, clip_skip: int, max_length: int | None = None):
        """The hidden state `clip_skip` layers before the last, through the final layer norm —
        what the original computes under transformers 4."""
        tokens = self.tokenizer(
            text,
            padding="max_length",
            max_length=max_length or self.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        )
        use_mask = getattr(self.text_encoder.config, "use_attention_mask", False)
        mask = tokens.attention_mask.to(device) if use_mask else None
        output = self.text_encoder(tokens.input_ids.to(device), attention_mask=mask, output_hidden_states=True)
        return self.text_encoder.final_layer_norm(output.hidden_states[-(clip_skip + 1)])


class I2VGenXLAdapter(PipelineAdapter):
    # I2VGenXLPipeline takes no step callback of any kind; its UNet runs exactly once per step
    # (guidance is batched), so a forward hook on it marks each step.
    step_mechanism = "denoiser_hook"
    denoiser = "unet"
    compat_notes = ("I2VGenXLPipeline.encode_prompt adapted to transformers 5 (CLIP final_layer_norm path)",)

    def pipeline_class(self) -> type:
        return I2VGenXLPipelineCompat

    def call_kwargs(self, image: Image.Image, params: Mapping[str, Any], generator: Any) -> dict[str, Any]:
        # The model is micro-conditioned on the frame rate the video will be played at.
        return {**super().call_kwargs(image, params, generator), "target_fps": params["fps"]}
