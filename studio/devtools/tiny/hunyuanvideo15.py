"""A tiny, randomly initialised HunyuanVideo 1.5 image-to-video pipeline for tests and developer runs.

The real one (hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v) reads prompts with Qwen2.5-VL's
text model and ByT5 (for quoted text), sees the image through SigLIP, and has a 16x spatial, 4x
temporal VAE. Here every part is the real class at a few thousand parameters; the VAE keeps the real
compression, and the transformer's `target_size` of 32 px gives a small set of size buckets, chosen
from as the real model chooses from its 480p ones. Tokenizers are built in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_qwen2_tokenizer, tiny_qwen25_vl_text_encoder

TARGET_SIZE = 32
_TEXT_DIM = 16
_BYT5_DIM = 8
_IMAGE_DIM = 8
_LATENT_CHANNELS = 4


def build_tiny_hunyuanvideo15_pipeline() -> Any:
    """The tiny HunyuanVideo15ImageToVideoPipeline in memory (deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15ImageToVideoPipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import ByT5Tokenizer, SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel, T5Config, T5EncoderModel

    tokenizer_2 = ByT5Tokenizer()  # bytes: no vocabulary to fetch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        transformer = HunyuanVideo15Transformer3DModel(
            in_channels=2 * _LATENT_CHANNELS + 1,  # noise, image latents and the mask, as the real 65 = 2 x 32 + 1
            out_channels=_LATENT_CHANNELS,
            num_attention_heads=2,
            attention_head_dim=8,
            num_layers=2,  # two blocks: First Block Cache ("fast" speed) needs a block after the first to skip
            num_refiner_layers=1,
            mlp_ratio=2.0,
            patch_size=1,
            patch_size_t=1,
            text_embed_dim=_TEXT_DIM,
            text_embed_2_dim=_BYT5_DIM,
            image_embed_dim=_IMAGE_DIM,
            rope_axes_dim=(2, 2, 4),
            target_size=TARGET_SIZE,
            task_type="i2v",
        )
        torch.manual_seed(0)
        # Four spatial halvings (16x) and two temporal ones (4x), as in the real VAE.
        vae = AutoencoderKLHunyuanVideo15(
            in_channels=3,
            out_channels=3,
            latent_channels=_LATENT_CHANNELS,
            block_out_channels=(8, 8, 8, 8, 8),
            layers_per_block=1,
            spatial_compression_ratio=16,
            temporal_compression_ratio=4,
            downsample_match_channel=False,
            upsample_match_channel=False,
        )
        torch.manual_seed(0)
        tokenizer = tiny_qwen2_tokenizer()
        text_encoder = tiny_qwen25_vl_text_encoder(tokenizer, _TEXT_DIM)
        torch.manual_seed(0)
        text_encoder_2 = T5EncoderModel(T5Config(
            vocab_size=len(tokenizer_2), d_model=_BYT5_DIM, d_kv=4, d_ff=16, num_layers=1, num_heads=2,
            relative_attention_num_buckets=8, relative_attention_max_distance=16, feed_forward_proj="gated-gelu",
            pad_token_id=tokenizer_2.pad_token_id, eos_token_id=tokenizer_2.eos_token_id,
            decoder_start_token_id=tokenizer_2.pad_token_id,
        )).eval()
        torch.manual_seed(0)
        image_encoder = SiglipVisionModel(SiglipVisionConfig(
            hidden_size=_IMAGE_DIM, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8,
        )).eval()
    return HunyuanVideo15ImageToVideoPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        guider=ClassifierFreeGuidance(guidance_scale=6.0),
        image_encoder=image_encoder,
        feature_extractor=SiglipImageProcessor(size={"height": 32, "width": 32}),
    )


def build_tiny_hunyuanvideo15(folder: Path) -> Path:
    """Build the tiny HunyuanVideo 1.5 I2V pipeline and save it (safetensors) to `folder`."""
    return save_pipeline(build_tiny_hunyuanvideo15_pipeline(), Path(folder))
