"""Tiny, randomly initialised Wan pipelines for tests and developer runs.

Three shapes, as on the Hub:
- Wan2.2 TI2V-5B: a folder saved as `WanPipeline` with `expand_timesteps=True`, the 48-channel
  VAE (16x spatial, 4x temporal) and no image encoder. Image-to-video loads that same folder with
  `WanImageToVideoPipeline.from_pretrained`, which conditions by replacing the first latent frame.
- Wan2.1 I2V-14B: `WanImageToVideoPipeline` with a CLIP vision image encoder and the 16-channel VAE
  (8x spatial, 4x temporal).
- Wan2.2 I2V-A14B: `WanImageToVideoPipeline` with two experts, `transformer` (high noise) and
  `transformer_2` (low noise), switched at `boundary_ratio` (0.9, as in the released
  model_index.json), the 16-channel VAE and no image encoder.
All use a UMT5 text encoder and a T5 tokenizer built in code (studio.devtools.tiny.text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_t5_tokenizer, tiny_umt5_encoder

_TEXT_DIM = 16
# Rotary embeddings split the head dim three ways (frames, height, width). A width of 32 (and a
# feed-forward of 32) lets a GGUF file quantize the weight matrices: its blocks are 32 values.
_HEADS, _HEAD_DIM = 2, 16


# Wan2.2 I2V-A14B's model_index.json: the low-noise expert takes over below 0.9 x 1000 timesteps.
A14B_BOUNDARY_RATIO = 0.9


def _transformer(*, in_channels: int, out_channels: int, image_dim: int | None = None,
                 pos_embed_seq_len: int | None = None) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=_HEADS,
        attention_head_dim=_HEAD_DIM,
        in_channels=in_channels,
        out_channels=out_channels,
        text_dim=_TEXT_DIM,
        freq_dim=16,
        ffn_dim=32,
        num_layers=2,  # two blocks: First Block Cache ("fast" speed) needs a block after the first to skip
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=image_dim,
        # Wan2.1 I2V attends to the CLIP tokens through extra key/value projections of the model width.
        added_kv_proj_dim=_HEADS * _HEAD_DIM if image_dim is not None else None,
        pos_embed_seq_len=pos_embed_seq_len,
    )


def build_tiny_wan22_ti2v_pipeline() -> Any:
    """The tiny Wan2.2 TI2V pipeline in memory, as `WanPipeline` (the class its Hub folder names)."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKLWan(
            base_dim=4,
            z_dim=48,
            in_channels=12,  # the 2.2 VAE works on 2x2-patchified pixels: 3 x 4 channels
            out_channels=12,
            is_residual=True,
            patch_size=2,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
            latents_mean=[0.0] * 48,
            latents_std=[1.0] * 48,
            scale_factor_spatial=16,
            scale_factor_temporal=4,
        )
        torch.manual_seed(0)
        transformer = _transformer(in_channels=48, out_channels=48)
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_umt5_encoder(tokenizer, _TEXT_DIM)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    return WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        transformer_2=None,
        boundary_ratio=None,
        expand_timesteps=True,
    )


def build_tiny_wan21_i2v_pipeline(*, first_and_last: bool = False) -> Any:
    """The tiny Wan2.1 I2V pipeline in memory (CLIP image encoder, 16-channel VAE); with
    `first_and_last`, the FLF2V shape: image tokens with positions for two pictures."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKLWan(
            base_dim=4,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        )
        torch.manual_seed(0)
        image_encoder = CLIPVisionModel(
            CLIPVisionConfig(
                hidden_size=8,
                num_hidden_layers=2,  # the pipeline reads the second-to-last hidden state
                num_attention_heads=2,
                intermediate_size=16,
                image_size=32,
                patch_size=8,
            )
        ).eval()
        torch.manual_seed(0)
        # 16 noise + 4 mask + 16 image channels; a 32 px picture in 8 px patches is 16 tokens + 1.
        transformer = _transformer(in_channels=36, out_channels=16, image_dim=8,
                                   pos_embed_seq_len=2 * 17 if first_and_last else None)
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_umt5_encoder(tokenizer, _TEXT_DIM)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        image_processor=image_processor,
        image_encoder=image_encoder,
        transformer=transformer,
        transformer_2=None,
    )


def build_tiny_wan22_a14b_pipeline() -> Any:
    """The tiny Wan2.2 I2V-A14B pipeline in memory: two experts of the same shape, different weights."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = AutoencoderKLWan(
            base_dim=4,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        )
        # 16 noise + 4 mask + 16 image-latent channels, as in the real experts; no CLIP image features.
        torch.manual_seed(0)
        transformer = _transformer(in_channels=36, out_channels=16)
        torch.manual_seed(1)
        transformer_2 = _transformer(in_channels=36, out_channels=16)
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_umt5_encoder(tokenizer, _TEXT_DIM)
    # The released scheduler: UniPC on flow sigmas, shift 5 (Wan2.2's i2v_A14B sample_shift).
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        image_processor=None,
        image_encoder=None,
        transformer=transformer,
        transformer_2=transformer_2,
        boundary_ratio=A14B_BOUNDARY_RATIO,
    )


def build_tiny_wan22_ti2v(folder: Path) -> Path:
    """Build the tiny Wan2.2 TI2V pipeline and save it to `folder`; load it for image-to-video with
    `WanImageToVideoPipeline.from_pretrained(folder, use_safetensors=True)`."""
    return save_pipeline(build_tiny_wan22_ti2v_pipeline(), Path(folder))


def build_tiny_wan21_i2v(folder: Path) -> Path:
    """Build the tiny Wan2.1 I2V pipeline and save it to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_wan21_i2v_pipeline(), Path(folder),
                         model_index={"image_processor": ["transformers", "CLIPImageProcessor"]})


def build_tiny_wan21_flf2v(folder: Path) -> Path:
    """Build the tiny Wan2.1 FLF2V (first and last frame) pipeline and save it to `folder`."""
    return save_pipeline(build_tiny_wan21_i2v_pipeline(first_and_last=True), Path(folder),
                         model_index={"image_processor": ["transformers", "CLIPImageProcessor"]})


def build_tiny_wan22_a14b(folder: Path) -> Path:
    """Build the tiny Wan2.2 I2V-A14B pipeline (two experts) and save it to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_wan22_a14b_pipeline(), Path(folder))
