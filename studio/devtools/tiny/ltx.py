"""A tiny, randomly initialised LTX-Video image-to-video pipeline for tests and developer runs.

It keeps the real model's compression (32x spatial, 8x temporal), so the real rules hold as they
are: width and height multiples of 32, and 8k+1 frames for the frame count to come back unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_t5_encoder, tiny_t5_tokenizer

_TEXT_DIM = 16
_LATENT_CHANNELS = 8


def build_tiny_ltx_pipeline() -> Any:
    """The tiny LTXImageToVideoPipeline in memory (deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXImageToVideoPipeline,
        LTXVideoTransformer3DModel,
    )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        transformer = LTXVideoTransformer3DModel(
            in_channels=_LATENT_CHANNELS,
            out_channels=_LATENT_CHANNELS,
            patch_size=1,
            patch_size_t=1,
            num_attention_heads=2,
            attention_head_dim=8,
            cross_attention_dim=16,
            num_layers=2,  # a block after the first, for First Block Cache ("fast") to skip
            caption_channels=_TEXT_DIM,
        )
        torch.manual_seed(0)
        # 4x4 pixel patches, then three blocks that halve space and time: 32x spatial, 8x temporal.
        vae = AutoencoderKLLTXVideo(
            in_channels=3,
            out_channels=3,
            latent_channels=_LATENT_CHANNELS,
            block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1),
            spatio_temporal_scaling=(True, True, True, False),
            decoder_spatio_temporal_scaling=(True, True, True, False),
            decoder_inject_noise=(False, False, False, False, False),
            upsample_residual=(False, False, False, False),
            upsample_factor=(1, 1, 1, 1),
            timestep_conditioning=False,
            patch_size=4,
            patch_size_t=1,
            encoder_causal=True,
            decoder_causal=False,
        )
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_t5_encoder(tokenizer, _TEXT_DIM)
    # The real scheduler's settings: the shift grows with the video's token count.
    scheduler = FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True,
        base_shift=0.95,
        max_shift=2.05,
        base_image_seq_len=1024,
        max_image_seq_len=4096,
        shift_terminal=0.1,
    )
    return LTXImageToVideoPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


def build_tiny_ltx(folder: Path) -> Path:
    """Build the tiny LTX-Video pipeline and save it (safetensors) to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_ltx_pipeline(), Path(folder))
