"""Tiny, randomly initialised SkyReels-V2 pipelines for tests and developer runs.

Two shapes, as the Skywork/SkyReels-V2-*-Diffusers folders are:
- I2V: `SkyReelsV2ImageToVideoPipeline` with a CLIP vision image encoder (its hidden states go
  through the transformer's image embedder) and the Wan 16-channel VAE (8x spatial, 4x temporal).
- Diffusion forcing (DF): saved as the text-to-video `SkyReelsV2DiffusionForcingPipeline` (the DF
  folders carry no image encoder) and loaded for image-to-video with
  `SkyReelsV2DiffusionForcingImageToVideoPipeline`, which puts the encoded image in the first latent
  frame. Its transformer embeds the frame rate (`inject_sample_info`), as the DF checkpoints do.
Both use a UMT5 text encoder and a T5 tokenizer built in code (studio.devtools.tiny.text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_t5_tokenizer, tiny_umt5_encoder

_TEXT_DIM = 16
_HEADS, _HEAD_DIM = 2, 12  # rotary embeddings split the head dim three ways (frames, height, width)
_IMAGE_DIM = 8


def _vae() -> Any:
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(base_dim=4, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True])


def _transformer(*, in_channels: int, image_dim: int | None = None, inject_sample_info: bool = False) -> Any:
    from diffusers import SkyReelsV2Transformer3DModel

    return SkyReelsV2Transformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=_HEADS,
        attention_head_dim=_HEAD_DIM,
        in_channels=in_channels,
        out_channels=16,
        text_dim=_TEXT_DIM,
        freq_dim=16,
        ffn_dim=16,
        num_layers=2,  # two blocks: First Block Cache ("fast" speed) needs a block after the first to skip
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=image_dim,
        # The I2V model attends to the CLIP tokens through extra key/value projections of the model width.
        added_kv_proj_dim=_HEADS * _HEAD_DIM if image_dim is not None else None,
        inject_sample_info=inject_sample_info,
    )


def _scheduler(flow_shift: float) -> Any:
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=flow_shift)


def build_tiny_skyreels_v2_i2v_pipeline() -> Any:
    """The tiny SkyReels-V2 I2V pipeline in memory (CLIP image encoder, 16-channel VAE)."""
    import torch
    from diffusers import SkyReelsV2ImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = _vae()
        torch.manual_seed(0)
        image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=_IMAGE_DIM,
            projection_dim=_IMAGE_DIM,
            num_hidden_layers=2,  # the pipeline reads the second-to-last hidden state
            num_attention_heads=2,
            intermediate_size=16,
            image_size=32,
            patch_size=8,
        )).eval()
        torch.manual_seed(0)
        transformer = _transformer(in_channels=36, image_dim=_IMAGE_DIM)  # 16 noise + 4 mask + 16 image
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_umt5_encoder(tokenizer, _TEXT_DIM)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32)
    return SkyReelsV2ImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        image_encoder=image_encoder,
        image_processor=image_processor,
        transformer=transformer,
        vae=vae,
        # What the diffusers examples set for image-to-video.
        scheduler=_scheduler(5.0),
    )


def build_tiny_skyreels_v2_df_pipeline() -> Any:
    """The tiny SkyReels-V2 DF pipeline in memory, as `SkyReelsV2DiffusionForcingPipeline` (the class
    its Hub folder names)."""
    import torch
    from diffusers import SkyReelsV2DiffusionForcingPipeline

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        vae = _vae()
        torch.manual_seed(0)
        # Diffusion forcing denoises the latents alone (the image is the first latent frame).
        transformer = _transformer(in_channels=16, inject_sample_info=True)
        torch.manual_seed(0)
        tokenizer = tiny_t5_tokenizer()
        text_encoder = tiny_umt5_encoder(tokenizer, _TEXT_DIM)
    # The text-to-video shift (8.0 in the diffusers examples): a DF folder serves both, so loading it for
    # image-to-video exercises the adapter's switch to 5.0.
    return SkyReelsV2DiffusionForcingPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, transformer=transformer, vae=vae, scheduler=_scheduler(8.0)
    )


def build_tiny_skyreels_v2_i2v(folder: Path) -> Path:
    """Build the tiny SkyReels-V2 I2V pipeline and save it to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_skyreels_v2_i2v_pipeline(), Path(folder),
                         model_index={"image_processor": ["transformers", "CLIPImageProcessor"]})


def build_tiny_skyreels_v2_df(folder: Path) -> Path:
    """Build the tiny SkyReels-V2 DF pipeline and save it to `folder`; load it for image-to-video with
    `SkyReelsV2DiffusionForcingImageToVideoPipeline.from_pretrained(folder, use_safetensors=True)`."""
    return save_pipeline(build_tiny_skyreels_v2_df_pipeline(), Path(folder))
