"""A tiny, randomly initialised Stable Video Diffusion pipeline for tests and developer runs.

Same classes and the same scheduler configuration as stabilityai/stable-video-diffusion-img2vid,
with every model shrunk to a few thousand parameters so a 2-step run takes well under a second on CPU.
"""

from __future__ import annotations

from pathlib import Path

from studio.devtools.tiny.saving import save_pipeline

# The real checkpoints default to 14 frames (img2vid) and 25 (img2vid-xt); the tiny one keeps the
# UNet's own default small so a call without num_frames stays fast.
TINY_SVD_FRAMES = 4


def build_tiny_svd_pipeline():
    """The tiny pipeline in memory (deterministic: the same weights on every call)."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        # GroupNorm inside the blocks uses 32 groups, so 32 channels is the floor.
        unet = UNetSpatioTemporalConditionModel(
            sample_size=4,
            in_channels=8,  # 4 noise latents + 4 image latents, as in the real model
            out_channels=4,
            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
            block_out_channels=(32, 32),
            layers_per_block=1,
            cross_attention_dim=8,
            num_attention_heads=(2, 2),
            addition_time_embed_dim=4,
            projection_class_embeddings_input_dim=12,  # 3 added time ids x addition_time_embed_dim
            num_frames=TINY_SVD_FRAMES,
        )
        torch.manual_seed(0)
        # Four blocks give the real 8x spatial factor, so the "multiple of 8" rule means the same here.
        vae = AutoencoderKLTemporalDecoder(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            block_out_channels=(32, 32, 32, 32),
            layers_per_block=1,
            latent_channels=4,
        )
        torch.manual_seed(0)
        # The pipeline always resizes the image to 224x224 for CLIP; large patches keep that cheap.
        image_encoder = CLIPVisionModelWithProjection(
            CLIPVisionConfig(
                hidden_size=8,
                projection_dim=8,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=16,
                image_size=224,
                patch_size=56,
            )
        ).eval()
    feature_extractor = CLIPImageProcessor(size=224, crop_size=224)
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    return StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=feature_extractor,
    )


def build_tiny_svd(folder: Path) -> Path:
    """Build the tiny SVD pipeline and save it (safetensors) to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_svd_pipeline(), Path(folder),
                         model_index={"feature_extractor": ["transformers", "CLIPImageProcessor"]})
