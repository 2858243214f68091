"""A tiny, randomly initialised CogVideoX image-to-video pipeline for tests and developer runs.

Like THUDM/CogVideoX-5b-I2V it uses learned positional embeddings, so it only generates at the one
size it was built for; the real model's is 720x480, the tiny one's is TINY_COGVIDEOX_SIZE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_t5_encoder, tiny_t5_tokenizer

_TEXT_DIM = 16
_LATENT_CHANNELS = 4
_SPATIAL_FACTOR = 8  # four VAE blocks, as in the real model
# (width, height) in pixels: the only size the tiny transformer accepts.
TINY_COGVIDEOX_SIZE = (32, 32)
TINY_COGVIDEOX_FRAMES = 9


def build_tiny_cogvideox_i2v_pipeline() -> Any:
    """The tiny CogVideoXImageToVideoPipeline in memory (deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXImageToVideoPipeline,
        CogVideoXTransformer3DModel,
    )

    width, height = TINY_COGVIDEOX_SIZE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=2,
            attention_head_dim=16,  # 3D rotary embeddings need a head dim divisible by 16
            in_channels=2 * _LATENT_CHANNELS,  # noise latents + image latents
            out_channels=_LATENT_CHANNELS,
            time_embed_dim=4,
            text_embed_dim=_TEXT_DIM,
            num_layers=2,  # a block after the first, for First Block Cache ("fast") to skip
            sample_width=width // _SPATIAL_FACTOR,
            sample_height=height // _SPATIAL_FACTOR,
            sample_frames=TINY_COGVIDEOX_FRAMES,
            patch_size=2,
            temporal_compression_ratio=4,
            max_text_seq_length=226,  # the pipeline's default max_sequence_length
            use_rotary_positional_embeddings=True,
            use_learned_positional_embeddings=True,
        )
        torch.manual_seed(0)
        vae = AutoencoderKLCogVideoX(
            in_channels=3,
            out_channels=3,
            down_block_types=("CogVideoXDownBlock3D",) * 4,
            up_block_types=("CogVideoXUpBlock3D",) * 4,
            block_out_channels=(8, 8, 8, 8),
            latent_channels=_LATENT_CHANNELS,
            layers_per_block=1,
            norm_num_groups=2,
            temporal_compression_ratio=4,
            # sample_height/width stay at the real 480x720: they set the VAE tile size, and tiles
            # smaller than a tiny frame would break the convolutions when tiling is on.
        )
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_t5_encoder(tokenizer, _TEXT_DIM)
    # CogVideoX-5b-I2V's scheduler settings.
    scheduler = CogVideoXDDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        set_alpha_to_one=True,
        snr_shift_scale=1.0,
        steps_offset=0,
        timestep_spacing="trailing",
    )
    return CogVideoXImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )


def build_tiny_cogvideox_i2v(folder: Path) -> Path:
    """Build the tiny CogVideoX I2V pipeline and save it (safetensors) to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_cogvideox_i2v_pipeline(), Path(folder))
