"""A tiny, randomly initialised FramePack (HunyuanVideo FramePack) image-to-video pipeline for tests
and developer runs.

The real one loads the HunyuanVideo folder (Llama text encoder, CLIP text encoder, 8x spatial and
4x temporal VAE) with the FramePack transformer and a SigLIP image encoder put in. Here every part
is the real class at a few thousand parameters, in one folder; the VAE keeps the real compression
and the transformer the real 2x2 patches, so sizes sit on the real 16 px grid and sections have the
real length (4 x latent window frames). Tokenizers are built in code (studio.devtools.tiny.text and
the CLIP vocabulary of studio.devtools.tiny.i2vgen_xl).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_llama_encoder, tiny_llama_tokenizer

_TEXT_DIM = 16
_POOLED_DIM = 8
_IMAGE_DIM = 8
_LATENT_CHANNELS = 4


def build_tiny_framepack_pipeline() -> Any:
    """The tiny HunyuanVideoFramepackPipeline in memory (deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoFramepackPipeline,
        HunyuanVideoFramepackTransformer3DModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTokenizer,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    from studio.devtools.tiny.i2vgen_xl import write_clip_vocabulary

    with tempfile.TemporaryDirectory() as scratch:
        vocab, merges = write_clip_vocabulary(Path(scratch))
        tokenizer_2 = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        transformer = HunyuanVideoFramepackTransformer3DModel(
            in_channels=_LATENT_CHANNELS,
            out_channels=_LATENT_CHANNELS,
            num_attention_heads=2,
            attention_head_dim=10,
            num_layers=2,  # two double-stream blocks: First Block Cache ("fast") skips the second
            num_single_layers=1,
            num_refiner_layers=1,
            patch_size=2,
            patch_size_t=1,
            guidance_embeds=True,  # FramePack is guidance-distilled: the scale is an input
            text_embed_dim=_TEXT_DIM,
            pooled_projection_dim=_POOLED_DIM,
            rope_axes_dim=(2, 4, 4),
            image_condition_type=None,
            has_image_proj=True,
            image_proj_dim=_IMAGE_DIM,
            has_clean_x_embedder=True,
        )
        torch.manual_seed(0)
        vae = AutoencoderKLHunyuanVideo(
            in_channels=3,
            out_channels=3,
            latent_channels=_LATENT_CHANNELS,
            down_block_types=("HunyuanVideoDownBlock3D",) * 4,
            up_block_types=("HunyuanVideoUpBlock3D",) * 4,
            block_out_channels=(8, 8, 8, 8),
            layers_per_block=1,
            act_fn="silu",
            norm_num_groups=4,
            scaling_factor=0.476986,  # the real VAE's
            spatial_compression_ratio=8,
            temporal_compression_ratio=4,
            mid_block_add_attention=True,
        )
        torch.manual_seed(0)
        tokenizer = tiny_llama_tokenizer()
        text_encoder = tiny_llama_encoder(tokenizer, _TEXT_DIM)
        torch.manual_seed(0)
        text_encoder_2 = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer_2), hidden_size=_POOLED_DIM, intermediate_size=16, num_hidden_layers=1,
            num_attention_heads=2, projection_dim=_POOLED_DIM, max_position_embeddings=77,
            bos_token_id=tokenizer_2.bos_token_id, eos_token_id=tokenizer_2.eos_token_id,
            pad_token_id=tokenizer_2.pad_token_id,
        )).eval()
        torch.manual_seed(0)
        image_encoder = SiglipVisionModel(SiglipVisionConfig(
            hidden_size=_IMAGE_DIM, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8,
        )).eval()
    feature_extractor = SiglipImageProcessor(size={"height": 32, "width": 32})
    return HunyuanVideoFramepackPipeline(
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        image_encoder=image_encoder,
        feature_extractor=feature_extractor,
    )


def build_tiny_framepack(folder: Path) -> Path:
    """Build the tiny FramePack pipeline and save it (safetensors) to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_framepack_pipeline(), Path(folder))
