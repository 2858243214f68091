"""A tiny, randomly initialised LTX-2 image-to-video pipeline (video and sound) for tests and
developer runs.

The real checkpoint (Lightricks/LTX-2) pairs a 32x spatial, 8x temporal video VAE with an audio VAE
and a vocoder, and reads prompts with Gemma 3. Here every component is the real class at a few
thousand parameters: the video VAE keeps the real compression (so sizes on a 32 px grid and 8k+1
frames hold as they are), the audio branch makes a short stereo track, and Gemma 3 and its
tokenizer are built in code (studio.devtools.tiny.text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.devtools.tiny.saving import save_pipeline
from studio.devtools.tiny.text import tiny_gemma3_encoder, tiny_gemma_tokenizer

_LATENT_CHANNELS = 4
_AUDIO_SAMPLE_RATE = 16000


def build_tiny_ltx2_pipeline() -> Any:
    """The tiny LTX2ImageToVideoPipeline in memory (deterministic)."""
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ImageToVideoPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        tokenizer = tiny_gemma_tokenizer()
        text_encoder = tiny_gemma3_encoder(tokenizer)
        text = text_encoder.config.text_config
        torch.manual_seed(0)
        transformer = LTX2VideoTransformer3DModel(
            in_channels=_LATENT_CHANNELS,
            out_channels=_LATENT_CHANNELS,
            patch_size=1,
            patch_size_t=1,
            num_attention_heads=2,
            attention_head_dim=8,
            cross_attention_dim=16,
            audio_in_channels=4,
            audio_out_channels=4,
            audio_num_attention_heads=2,
            audio_attention_head_dim=4,
            audio_cross_attention_dim=8,
            num_layers=2,  # two blocks: First Block Cache ("fast" speed) needs a block after the first to skip
            qk_norm="rms_norm_across_heads",
            caption_channels=text.hidden_size,
            rope_double_precision=False,
            rope_type="split",
        )
        torch.manual_seed(0)
        # The prompt is the stack of all Gemma layers' hidden states (embeddings included).
        connectors = LTX2TextConnectors(
            caption_channels=text.hidden_size,
            text_proj_in_factor=text.num_hidden_layers + 1,
            video_connector_num_attention_heads=2,
            video_connector_attention_head_dim=8,
            video_connector_num_layers=1,
            video_connector_num_learnable_registers=None,
            audio_connector_num_attention_heads=2,
            audio_connector_attention_head_dim=8,
            audio_connector_num_layers=1,
            audio_connector_num_learnable_registers=None,
            connector_rope_base_seq_len=32,
            rope_theta=10000.0,
            rope_double_precision=False,
            causal_temporal_positioning=False,
            rope_type="split",
        )
        torch.manual_seed(0)
        # 4x4 pixel patches, then the real four down blocks (space, time, both, both) and three up
        # blocks: 32x spatial, 8x temporal, as in the real VAE.
        vae = AutoencoderKLLTX2Video(
            in_channels=3,
            out_channels=3,
            latent_channels=_LATENT_CHANNELS,
            block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8),
            layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1),
            spatio_temporal_scaling=(True, True, True, True),
            decoder_spatio_temporal_scaling=(True, True, True),
            decoder_inject_noise=(False, False, False, False),
            upsample_residual=(False, False, False),
            upsample_factor=(1, 1, 1),
            timestep_conditioning=False,
            patch_size=4,
            patch_size_t=1,
            encoder_causal=True,
            decoder_causal=False,
            decoder_spatial_padding_mode="zeros",  # reflect needs more than the one latent pixel of 32x32
            # The default formula counts every scaling block as both; the real config states them.
            spatial_compression_ratio=32,
            temporal_compression_ratio=8,
        )
        torch.manual_seed(0)
        audio_vae = AutoencoderKLLTX2Audio(
            base_channels=4,
            output_channels=2,
            ch_mult=(1,),
            num_res_blocks=1,
            attn_resolutions=None,
            in_channels=2,
            resolution=32,
            latent_channels=2,
            norm_type="pixel",
            causality_axis="height",
            dropout=0.0,
            mid_block_add_attention=False,
            sample_rate=_AUDIO_SAMPLE_RATE,
            mel_hop_length=160,
            is_causal=True,
            mel_bins=8,
        )
        torch.manual_seed(0)
        vocoder = LTX2Vocoder(
            in_channels=2 * 8,  # stereo x mel bins
            hidden_channels=16,
            out_channels=2,
            upsample_kernel_sizes=[4, 4],
            upsample_factors=[2, 2],
            resnet_kernel_sizes=[3],
            resnet_dilations=[[1, 3, 5]],
            leaky_relu_negative_slope=0.1,
            output_sampling_rate=_AUDIO_SAMPLE_RATE,
        )
    return LTX2ImageToVideoPipeline(
        # Shifted by the video's length, as the pipeline asks for (it passes `mu`): a turbo run must
        # turn that off to run the distilled noise levels as they are.
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True),
        vae=vae,
        audio_vae=audio_vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=connectors,
        transformer=transformer,
        vocoder=vocoder,
    )


def build_tiny_ltx2(folder: Path) -> Path:
    """Build the tiny LTX-2 pipeline and save it (safetensors) to `folder`; returns `folder`."""
    return save_pipeline(build_tiny_ltx2_pipeline(), Path(folder))
