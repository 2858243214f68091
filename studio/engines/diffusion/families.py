"""The diffusion model families the studio knows, as data.

One `Family` per engine: the hub id and pipeline class, the parameters it takes with their defaults
(from each model card) and rules (frames of the form 4k+1, sizes a multiple of 32, …), the frame rate
its videos are meant to play at, and what it costs — download size and a VRAM estimate per memory
mode at the default settings (approximate: measured or taken from the model cards, rounded up).
group_offload streams leaf layers like 'lowest' and prefetches the next on a second stream: its
estimate is 'lowest' plus the layers in flight (about 1-2 GB). How quantization and fp8 storage
change the estimates is runtime.vram_estimate, from each family's denoiser_gb.
Nothing here loads a model; `studio.engines.diffusion.diffusion_engines` wraps each entry in a
DiffusionEngine.

Size rules come from how far each model shrinks a frame before its denoiser sees it (VAE factor x
the denoiser's own downsampling or patch size); a size off that grid fails inside the pipeline or
silently crops, so validation offers the nearest valid value instead.

A family whose `adapter` is None is listed (so `launch.py models` shows it) but reports that this
version cannot run it yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from studio.engines import params as p
from studio.engines.base import EngineInfo, InputError, ParamSpec
from studio.engines.diffusion import forcing
from studio.engines.diffusion.speed import TurboSpec


# Why fast is refused where diffusers' First Block Cache raises "not registered" for a transformer's
# blocks (found by running it on the tiny models; one place to edit when diffusers learns them).


@dataclass(frozen=True)
class Family:
    engine_id: str
    label: str
    description: str
    family: str
    hub_id: str | None  # None for tiny pipelines, which are built in code
    pipeline_class: str  # the diffusers class name, as the manifest records it
    adapter: str | None  # "module:Class" of its PipelineAdapter; None = cannot run yet
    params: tuple[ParamSpec, ...]
    supports_prompt: bool = True
    supports_negative_prompt: bool = True
    recommended_fps: int = 8
    weights_gb: float = 0.0
    vram_gb: Mapping[str, float] = field(default_factory=dict)
    # The denoiser's weights in half precision, GB (parameters x 2 bytes): 8-bit weights halve it.
    denoiser_gb: float = 0.0
    precision: str = "fp16"  # the half precision the model was released in, used on GPUs
    requires: tuple[str, ...] = ()  # extra Python packages the pipeline imports
    # model_index.json class names that identify this model in a folder not named after it; only
    # for families whose class is unambiguous (two SVD checkpoints share one class, for example).
    index_classes: tuple[str, ...] = ()
    cpu_seconds_per_step: float = 60.0  # rough, at the default settings, for describe_plan
    suggested_negative_prompt: str = ""
    builder: str | None = None  # "module:function" building a tiny pipeline folder (tiny engines)
    # "module:function" called after each denoising step with (step, memory mode); tiny engines use
    # it for the fault injection of studio.devtools.faults. None for every real model.
    step_hook: str | None = None
    developer_only: bool = False
    # The pipeline takes a last frame as well as the first (e.g. Wan's `last_image`); where it
    # does not, the reason a run with an end image is refused.
    supports_last_image: bool = False
    last_image_note: str = "its pipeline takes only a first image."
    requires_last_image: bool = False  # a first-and-last-frame model: no video without an end image
    # Speed (speed.py; every family takes LoRAs, lora.py). fast_cache_threshold: First Block Cache
    # threshold for the "fast" speed, None where diffusers has no cache hook for the denoiser. turbo:
    # the family's step-distillation LoRA, None where the studio knows none. experts: 2 for
    # pipelines with a second denoiser (transformer_2), where a LoRA may go into both.
    fast_cache_threshold: float | None = None
    no_fast_reason: str = "diffusers has no cache hook for UNets"  # said when fast is refused
    install_hint: str = ""  # how to install it, where `launch.py download HUB_ID` alone does not
    turbo: TurboSpec | None = None
    experts: int = 1
    makes_sound: bool = False  # the pipeline returns a sound track too, kept in the MP4

    def info(self) -> EngineInfo:
        return EngineInfo(
            id=self.engine_id,
            label=self.label,
            description=self.description,
            family=self.family,
            params=self.params,
            needs_weights=True,
            model_id=self.hub_id,
            supports_prompt=self.supports_prompt,
            supports_negative_prompt=self.supports_negative_prompt,
            recommended_fps=self.recommended_fps,
            weights_gb=self.weights_gb,
            vram_gb=dict(self.vram_gb),
            denoiser_gb=self.denoiser_gb,
            developer_only=self.developer_only,
            precision=self.precision,
            cpu_seconds_per_step=self.cpu_seconds_per_step,
            supports_last_image=self.supports_last_image,
            last_image_note="" if self.supports_last_image else self.last_image_note,
            requires_last_image=self.requires_last_image,
            makes_sound=self.makes_sound,
        )

    def check(self, params: Mapping[str, Any]) -> None:
        """Rules across parameters, run after each value passed its own ParamSpec. The families
        here have none; a family that does (say, a pixel budget) subclasses and raises InputError."""


# --- parameters specific to some families ------------------------------------------------------

def _motion_bucket(default: int = 127) -> ParamSpec:
    return ParamSpec("motion_bucket_id", "Motion amount", "int", default,
                     "How much the video moves (motion bucket id). Higher means more motion; 127 is the model's default.",
                     minimum=1, maximum=255, step=1)


def _noise_aug(default: float = 0.02) -> ParamSpec:
    return ParamSpec("noise_aug_strength", "Noise augmentation", "float", default,
                     "Noise added to the input image. More lets the video depart further from the image and move more.",
                     minimum=0.0, maximum=1.0, step=0.01)


def _fps_condition(default: int) -> ParamSpec:
    return ParamSpec("fps_condition", "Conditioning fps", "int", default,
                     "The frame rate the model is told to aim for (a conditioning input). It changes motion speed; "
                     "the playback speed is set by 'Frames per second'.",
                     minimum=1, maximum=30, step=1)


def _decode_chunk(default: int, maximum: int) -> ParamSpec:
    return ParamSpec("decode_chunk_size", "Decode chunk", "int", default,
                     "Frames decoded at once. Lower needs less memory, higher is a little faster and smoother.",
                     minimum=1, maximum=maximum, step=1, sweepable=False)


def _decode_timestep(default: float) -> ParamSpec:
    return ParamSpec("decode_timestep", "Decode timestep", "float", default,
                     "Noise level the VAE decodes at. The model card recommends 0.03; 0 decodes the latents as they are.",
                     minimum=0.0, maximum=1.0, step=0.01)


def _decode_noise(default: float) -> ParamSpec:
    return ParamSpec("decode_noise_scale", "Decode noise", "float", default,
                     "Noise mixed into the latents before decoding; a little hides blockiness.",
                     minimum=0.0, maximum=1.0, step=0.005)


def _steps_from_two(default: int) -> ParamSpec:
    return replace(p.steps(default), minimum=2,
                   help="Denoising steps. More is slower and usually cleaner; time grows linearly. "
                   "This model needs at least 2.")


def _fixed_size(width: int, height: int) -> tuple[ParamSpec, ParamSpec]:
    note = f"This model only makes {width}x{height} videos."
    return (
        ParamSpec("width", "Width (px)", "int", width, f"Output width in pixels. {note}", minimum=width, maximum=width),
        ParamSpec("height", "Height (px)", "int", height, f"Output height in pixels. {note}", minimum=height, maximum=height),
    )


def _guidance_high_noise(default: float) -> ParamSpec:
    return replace(p.guidance(default),
                   help="How strongly the prompt steers the video, for the high-noise expert (transformer), which runs "
                   "the first steps and lays out the motion and composition. Higher follows the prompt more closely, "
                   "at the cost of artefacts.")


def _guidance_low_noise(default: float) -> ParamSpec:
    return ParamSpec("guidance_2", "Low-noise guidance", "float", default,
                     "Guidance for the low-noise expert (transformer_2), which runs the last steps and refines the "
                     "detail; 'Guidance scale' steers the high-noise expert. The model card uses the same value for both.",
                     minimum=0.0, maximum=20.0, step=0.5)


def _window_frames(default: int, minimum: int, maximum: int) -> ParamSpec:
    return ParamSpec("base_frames", "Window frames", "int", default,
                     "Frames the model makes at once (its window; the model card uses 97 for the 540P models, 121 for "
                     "720P). A longer video is made window by window. Larger windows need more memory.",
                     minimum=minimum, maximum=maximum, step=4, congruent=(4, 1))


def _overlap_frames(default: int, maximum: int) -> ParamSpec:
    return ParamSpec("overlap_history", "Overlap frames", "int", default,
                     "Frames each new window takes over from the end of the one before, so the video continues "
                     "smoothly; used only when Frames exceed Window frames. The model card recommends 17 or 37: more "
                     "is smoother but slower, as each window adds fewer new frames.",
                     minimum=1, maximum=maximum, step=4, congruent=(4, 1))


def _ar_step(default: int = 0) -> ParamSpec:
    return ParamSpec("ar_step", "Causal lag (ar_step)", "int", default,
                     "0 denoises all frames of a window together (synchronous). Above 0 the window is made in causal "
                     "blocks of 5 latent frames (20 video frames), each starting this many steps after the one before: "
                     "slower, and it may follow the prompt and stay consistent better. The model card suggests 5.",
                     minimum=0, maximum=10, step=1)


def _condition_noise(default: int = 20) -> ParamSpec:
    return ParamSpec("addnoise_condition", "Condition noise", "int", default,
                     "Noise added to the frames a window continues from (the image, the overlap), which smooths long "
                     "videos; too much makes windows drift apart. The model card recommends 20 and warns above 50.",
                     minimum=0, maximum=50, step=1)


def _frames_in_windows(default: int, minimum: int, maximum: int) -> ParamSpec:
    return replace(p.frames(default, minimum=minimum, maximum=maximum, congruent=(4, 1)),
                   help="Number of frames in the whole video (4k+1). Up to 'Window frames' it is made in one go; a "
                   "longer video is made window by window and must fill whole windows: Window frames plus a multiple "
                   "of (Window frames minus Overlap frames), e.g. 97, 177, 257 with 97 and 17.")


@dataclass(frozen=True)
class DiffusionForcingFamily(Family):
    """A family whose long videos are made in overlapping windows (SkyReels-V2 DF): its window rules
    span several parameters (studio.engines.diffusion.forcing)."""

    def check(self, params: Mapping[str, Any]) -> None:
        specs = {spec.name: spec for spec in self.params}
        names = ("frames", "base_frames", "overlap_history", "ar_step")
        forcing.check_windows(params, {n: specs[n].label for n in names},
                              {n: (int(specs[n].minimum), int(specs[n].maximum)) for n in names})


# --- the families ------------------------------------------------------------------------------

# I2VGen-XL was trained at 1280x704 and works well from 256 up; its VAE shrinks 8x and its UNet
# halves three times more, so sizes move on a 64 px grid (256, 512, 768, 1024 and 704 all on it).
# The grid is the rule rather than four fixed presets, so non-square sizes such as 1280x704 stay possible.
I2VGEN_XL = Family(
    engine_id="i2vgen-xl",
    label="I2VGen-XL",
    description="Alibaba's image-to-video model: follows a text prompt, 16 frames at 8 fps, square or wide.",
    family="i2vgen-xl",
    hub_id="ali-vilab/i2vgen-xl",
    pipeline_class="I2VGenXLPipeline",
    adapter="studio.engines.diffusion.adapters.i2vgen_xl:I2VGenXLAdapter",
    params=(*p.size(512, 512, multiple_of=64, minimum=256, maximum=1280), p.frames(16, minimum=2, maximum=32),
            p.fps(8), p.steps(50), p.guidance(9.0), p.FIT),
    recommended_fps=8,
    weights_gb=5.0,  # the fp16 variant files (UNet 2.8, image encoder 1.3, text encoder 0.7, VAE 0.2)
    vram_gb={"full_gpu": 14.0, "model_offload": 9.0, "group_offload": 5.0, "lowest": 4.0},
    denoiser_gb=2.9,
    precision="fp16",
    index_classes=("I2VGenXLPipeline",),
    cpu_seconds_per_step=90.0,
    suggested_negative_prompt="Distorted, discontinuous, Ugly, blurry, low resolution, motionless, static, "
    "disfigured, disconnected limbs, Ugly faces, incomplete arms",
)

SVD_XT = Family(
    engine_id="svd-xt",
    label="Stable Video Diffusion XT",
    description="Older model. Stability AI's image-only model (no prompt): 25 frames at 1024x576; motion set by a number.",
    family="svd",
    hub_id="stabilityai/stable-video-diffusion-img2vid-xt",
    pipeline_class="StableVideoDiffusionPipeline",
    adapter="studio.engines.diffusion.adapters.svd:SVDAdapter",
    params=(*p.size(1024, 576, multiple_of=64, minimum=256, maximum=1280), p.frames(25, minimum=2, maximum=25),
            p.fps(7), p.steps(25), p.guidance(3.0, maximum=10.0), _fps_condition(6), _motion_bucket(),
            _noise_aug(), _decode_chunk(8, 25), p.FIT),
    supports_prompt=False,
    supports_negative_prompt=False,
    recommended_fps=7,
    weights_gb=4.3,
    vram_gb={"full_gpu": 18.0, "model_offload": 12.0, "group_offload": 7.0, "lowest": 6.0},
    denoiser_gb=3.1,
    precision="fp16",
    cpu_seconds_per_step=240.0,
)

SVD = replace(
    SVD_XT,
    engine_id="svd",
    label="Stable Video Diffusion",
    description="Older model. Stability AI's first image-only model (no prompt): 14 frames at 1024x576.",
    hub_id="stabilityai/stable-video-diffusion-img2vid",
    params=(*p.size(1024, 576, multiple_of=64, minimum=256, maximum=1280), p.frames(14, minimum=2, maximum=14),
            p.fps(7), p.steps(25), p.guidance(3.0, maximum=10.0), _fps_condition(6), _motion_bucket(),
            _noise_aug(), _decode_chunk(8, 14), p.FIT),
    vram_gb={"full_gpu": 14.0, "model_offload": 10.0, "group_offload": 6.0, "lowest": 5.0},
    denoiser_gb=3.1,
    cpu_seconds_per_step=140.0,
)

# Wan 2.2's VAE shrinks 16x and its transformer patches 2x2: sizes on a 32 px grid.
WAN22_TI2V_5B = Family(
    engine_id="wan2.2-ti2v-5b",
    label="Wan 2.2 TI2V 5B",
    description="Wan-AI's 5B text-and-image-to-video model: 720p, 121 frames at 24 fps (4k+1 frames).",
    family="wan",
    hub_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
    pipeline_class="WanImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.wan:WanAdapter",
    params=(*p.size(1280, 704, multiple_of=32, minimum=256, maximum=1280), p.frames(121, minimum=5, maximum=241, congruent=(4, 1)),
            p.fps(24), p.steps(50), p.guidance(5.0), p.FIT),
    recommended_fps=24,
    weights_gb=34.0,
    vram_gb={"full_gpu": 40.0, "model_offload": 24.0, "group_offload": 14.0, "lowest": 12.0},
    denoiser_gb=10.0,
    precision="bf16",
    requires=("ftfy",),
    cpu_seconds_per_step=1800.0,
    # Its pipeline runs with expand_timesteps, where WanImageToVideoPipeline drops `last_image`.
    last_image_note="it conditions on the first frame only (its pipeline ignores a last image).",
    # ParaAttention's First Block Cache examples for Wan use 0.1: its first block's output changes
    # slowly over a 50-step schedule, so about half the steps reuse the rest.
    fast_cache_threshold=0.1,
)

# Wan 2.1's VAE shrinks 8x and its transformer patches 2x2: sizes on a 16 px grid.
WAN21_I2V_14B_480P = Family(
    engine_id="wan2.1-i2v-14b-480p",
    label="Wan 2.1 I2V 14B 480P",
    description="Older model (Wan 2.2 I2V A14B succeeds it). Wan-AI's 14B image-to-video model at 480p: 81 frames at "
    "16 fps (4k+1 frames). Needs a large GPU.",
    family="wan",
    hub_id="Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
    pipeline_class="WanImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.wan:WanAdapter",
    params=(*p.size(832, 480, multiple_of=16, minimum=256, maximum=1280), p.frames(81, minimum=5, maximum=161, congruent=(4, 1)),
            p.fps(16), p.steps(50), p.guidance(5.0), p.FIT),
    recommended_fps=16,
    weights_gb=82.0,
    vram_gb={"full_gpu": 70.0, "model_offload": 40.0, "group_offload": 16.0, "lowest": 14.0},
    denoiser_gb=32.8,
    precision="bf16",
    requires=("ftfy",),
    cpu_seconds_per_step=3600.0,
    # With a last image the pipeline hands the transformer two images' CLIP tokens, which only the
    # first-and-last-frame checkpoint (FLF2V, below) has position embeddings for.
    last_image_note="its transformer reads one image's features; Wan 2.1 FLF2V is the first-and-last-frame model.",
    fast_cache_threshold=0.1,  # as Wan 2.2 above
    # lightx2v's step- and guidance-distilled LoRA for this model: 4 steps, no classifier-free guidance.
    turbo=TurboSpec(file="wan2.1_i2v_lora_rank64_lightx2v_4step.safetensors", source="lightx2v/Wan2.1-Distill-Loras",
                    steps=4, guidance=1.0),
)

# LTX-Video's VAE shrinks 32x: sizes on a 32 px grid, frames 8k+1.
LTX_VIDEO = Family(
    engine_id="ltx-video",
    label="LTX-Video",
    description="Older model (LTX-Video 0.9). Lightricks' fast video model: 704x480, 161 frames at 24 fps (8k+1 frames).",
    family="ltx",
    hub_id="Lightricks/LTX-Video",
    pipeline_class="LTXImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.ltx:LTXAdapter",
    params=(*p.size(704, 480, multiple_of=32, minimum=256, maximum=1280), p.frames(161, minimum=9, maximum=257, congruent=(8, 1)),
            p.fps(24), _steps_from_two(50), p.guidance(3.0), _decode_timestep(0.03), _decode_noise(0.025), p.FIT),
    recommended_fps=24,
    weights_gb=28.0,
    vram_gb={"full_gpu": 22.0, "model_offload": 12.0, "group_offload": 7.0, "lowest": 6.0},
    denoiser_gb=3.9,
    precision="bf16",
    index_classes=("LTXPipeline", "LTXImageToVideoPipeline"),
    cpu_seconds_per_step=600.0,
    # Lower than Wan's: LTX's first block changes faster per step, and its fine texture suffers first.
    fast_cache_threshold=0.05,
    suggested_negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
    # A last frame needs LTXConditionPipeline's condition items; this engine runs LTXImageToVideoPipeline.
    last_image_note="it runs LTXImageToVideoPipeline, which conditions on the first frame only.",
)

# CogVideoX-5B-I2V has learned position embeddings for one size only; frames 8k+1 up to 49.
COGVIDEOX_5B_I2V = Family(
    engine_id="cogvideox-5b-i2v",
    label="CogVideoX 5B I2V",
    description="Older model. THUDM's image-to-video model: 720x480, 49 frames at 8 fps (8k+1 frames).",
    family="cogvideox",
    hub_id="THUDM/CogVideoX-5b-I2V",
    pipeline_class="CogVideoXImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.cogvideox:CogVideoXAdapter",
    params=(*_fixed_size(720, 480), p.frames(49, minimum=9, maximum=49, congruent=(8, 1)),
            p.fps(8), p.steps(50), p.guidance(6.0), p.FIT),
    recommended_fps=8,
    weights_gb=21.0,
    vram_gb={"full_gpu": 26.0, "model_offload": 16.0, "group_offload": 6.0, "lowest": 5.0},
    denoiser_gb=11.1,
    precision="bf16",
    index_classes=("CogVideoXImageToVideoPipeline",),
    cpu_seconds_per_step=1200.0,
    fast_cache_threshold=0.08,  # between LTX and Wan, as ParaAttention's CogVideoX example
)

# Wan2.2 I2V-A14B: two 14B experts, the high-noise one (transformer) for the first steps and the
# low-noise one (transformer_2) below boundary_ratio x 1000 timesteps; the ratio is the checkpoint's
# (model_index.json: 0.9) and the manifest records it. Its VAE is Wan 2.1's (8x) with 2x2 patches:
# sizes on a 16 px grid, 480p (832x480) or 720p (1280x720).
# Hub id and defaults: diffusers pipeline_wan_i2v.py (boundary_ratio, guidance_scale_2), the diffusers
# example on the model card Wan-AI/Wan2.2-I2V-A14B-Diffusers (832x480 area, 81 frames, 16 fps) and
# Wan2.2's wan/configs/wan_i2v_A14B.py (40 steps, guidance 3.5 for both experts, boundary 0.900).
# Download size and VRAM are estimates: two bf16 14B experts (~28.6 GB each), the UMT5-XXL encoder and
# the VAE; offloading keeps one expert at a time on the GPU.
WAN22_I2V_A14B = Family(
    engine_id="wan2.2-i2v-a14b",
    label="Wan 2.2 I2V A14B",
    description="Wan-AI's mixture-of-experts image-to-video model (a 14B expert for the high-noise steps, another "
    "for the low-noise ones): 480p or 720p, 81 frames at 16 fps (4k+1 frames). Needs a large GPU.",
    family="wan",
    hub_id="Wan-AI/Wan2.2-I2V-A14B-Diffusers",
    pipeline_class="WanImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.wan_experts:WanExpertsAdapter",
    params=(*p.size(832, 480, multiple_of=16, minimum=256, maximum=1280), p.frames(81, minimum=5, maximum=161, congruent=(4, 1)),
            p.fps(16), p.steps(40), _guidance_high_noise(3.5), _guidance_low_noise(3.5), p.FIT),
    recommended_fps=16,
    weights_gb=70.0,
    vram_gb={"full_gpu": 76.0, "model_offload": 34.0, "group_offload": 16.0, "lowest": 14.0},
    # One expert (~14.3B parameters; the two are the same size): offloading keeps one at a time on the GPU,
    # so 8-bit weights save this much there; on full_gpu they save twice that, and the estimate stays safe.
    denoiser_gb=28.6,
    precision="bf16",
    requires=("ftfy",),
    cpu_seconds_per_step=3600.0,
    # Its pipeline would take a last_image, but the model card shows first-frame runs only.
    last_image_note="its model card shows first-frame image-to-video only; Wan 2.1 FLF2V is the first-and-last-frame model.",
    experts=2,  # a LoRA may go into the low-noise expert (transformer_2) too
    fast_cache_threshold=0.1,  # as Wan 2.2 TI2V: the same block design; the cache goes on both experts
    # lightx2v's Wan2.2-Lightning, distilled expert by expert: 4 steps, no classifier-free guidance on
    # either expert. The repository names both files high_noise_model / low_noise_model in every
    # variant's folder, so they are looked up under names that say which model they are for.
    turbo=TurboSpec(file="wan2.2_i2v_a14b_lightning_high_noise.safetensors",
                    second_file="wan2.2_i2v_a14b_lightning_low_noise.safetensors",
                    source="lightx2v/Wan2.2-Lightning (folder Wan2.2-I2V-A14B-4steps-lora-rank64-Seko-V1: "
                           "high_noise_model.safetensors and low_noise_model.safetensors, saved under these names)",
                    steps=4, guidance=1.0),
)

# SkyReels-V2 I2V: a Wan 2.1-style 14B transformer with CLIP image features, Wan's 8x VAE and 2x2
# patches (16 px grid; the pipeline refuses other sizes). Hub id and defaults: the example in diffusers
# pipeline_skyreels_v2_i2v.py (960x544, 97 frames, 50 steps, guidance 5.0, flow_shift 5.0 for I2V,
# 24 fps), model card Skywork/SkyReels-V2-I2V-14B-540P-Diffusers. Download size and VRAM are estimates.
SKYREELS_V2_I2V_14B_540P = Family(
    engine_id="skyreels-v2-i2v-14b-540p",
    label="SkyReels-V2 I2V 14B 540P",
    description="Skywork's 14B image-to-video model at 540p: 97 frames at 24 fps (4k+1 frames). Needs a large GPU.",
    family="skyreels-v2",
    hub_id="Skywork/SkyReels-V2-I2V-14B-540P-Diffusers",
    pipeline_class="SkyReelsV2ImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.skyreels:SkyReelsV2Adapter",
    params=(*p.size(960, 544, multiple_of=16, minimum=256, maximum=1280), p.frames(97, minimum=5, maximum=161, congruent=(4, 1)),
            p.fps(24), p.steps(50), p.guidance(5.0), p.FIT),
    recommended_fps=24,
    weights_gb=60.0,
    vram_gb={"full_gpu": 48.0, "model_offload": 34.0, "group_offload": 16.0, "lowest": 14.0},
    denoiser_gb=32.8,  # as Wan 2.1 I2V 14B's: the same transformer shape, image cross-attention included
    precision="bf16",
    requires=("ftfy",),
    cpu_seconds_per_step=3600.0,
    last_image_note="its model card shows first-frame image-to-video only.",
    # Wan's block design (SkyReels-V2's block is Wan's, copied): Wan's threshold. diffusers does not
    # list the block for its cache; speed.py registers it as diffusers registers Wan's.
    fast_cache_threshold=0.1,
)

# SkyReels-V2 diffusion forcing: long videos, made in overlapping windows (studio.engines.diffusion.forcing).
# Hub id and defaults: the example and argument docs in diffusers
# pipeline_skyreels_v2_diffusion_forcing_i2v.py (960x544, window 97 for 540P, overlap 17 or 37,
# addnoise_condition 20, ar_step 0 or 5 with causal blocks of 5, 50 steps, guidance 5.0, flow_shift 5.0
# for I2V, 24 fps) and diffusers' SkyReels-V2 docs (257 frames = three windows of 97 with overlap 17),
# model card Skywork/SkyReels-V2-DF-14B-540P-Diffusers. The Hub folder is saved as the text-to-video
# SkyReelsV2DiffusionForcingPipeline (no image encoder). Download size and VRAM are estimates; a window
# needs the same memory however long the video.
SKYREELS_V2_DF_14B_540P = DiffusionForcingFamily(
    engine_id="skyreels-v2-df-14b-540p",
    label="SkyReels-V2 DF 14B 540P (long video)",
    description="Skywork's 14B diffusion-forcing model for long videos at 540p: made in overlapping windows of "
    "97 frames, 257 frames (about 10 s at 24 fps) by default and up to 737. Needs a large GPU.",
    family="skyreels-v2",
    hub_id="Skywork/SkyReels-V2-DF-14B-540P-Diffusers",
    pipeline_class="SkyReelsV2DiffusionForcingImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.skyreels:SkyReelsV2ForcingAdapter",
    params=(*p.size(960, 544, multiple_of=16, minimum=256, maximum=1280), _frames_in_windows(257, 5, 737),
            p.fps(24), p.steps(50), p.guidance(5.0), _window_frames(97, 17, 121), _overlap_frames(17, 117),
            _ar_step(0), _condition_noise(20), p.FIT),
    recommended_fps=24,
    weights_gb=60.0,
    vram_gb={"full_gpu": 46.0, "model_offload": 34.0, "group_offload": 16.0, "lowest": 14.0},
    denoiser_gb=28.6,  # a 14B transformer without image cross-attention
    precision="bf16",
    requires=("ftfy",),
    cpu_seconds_per_step=3600.0,
    # An end image adds a latent frame to the last window, which the window rules here do not cover.
    last_image_note="its long-video windows are planned for a first image only.",
    no_fast_reason="diffusion forcing denoises each window's frames at different noise levels, which a step cache does not follow"
)

# Wan 2.1's first-and-last-frame model: the I2V architecture whose image tokens carry positions for
# two pictures, so it needs an end image as well as the input (WanImageToVideoPipeline's last_image).
WAN21_FLF2V_14B_720P = replace(
    WAN21_I2V_14B_480P,
    engine_id="wan2.1-flf2v-14b-720p",
    label="Wan 2.1 FLF2V 14B 720P",
    description="Wan-AI's 14B first-and-last-frame model at 720p: a video from the input to an end image you "
    "give, 81 frames at 16 fps (4k+1 frames). Needs a large GPU.",
    hub_id="Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers",
    params=(*p.size(1280, 720, multiple_of=16, minimum=256, maximum=1280), p.frames(81, minimum=5, maximum=161, congruent=(4, 1)),
            p.fps(16), p.steps(50), p.guidance(5.0), p.FIT),
    vram_gb={"full_gpu": 76.0, "model_offload": 44.0, "group_offload": 18.0, "lowest": 16.0},
    cpu_seconds_per_step=7200.0,
    supports_last_image=True,
    requires_last_image=True,
    turbo=None,  # the I2V 480P distillation LoRA was not made for the first-and-last-frame model
)


# --- LTX-2, FramePack and HunyuanVideo 1.5 ------------------------------------------------------

# LTX-2 (Lightricks/LTX-2): diffusers' LTX2ImageToVideoPipeline example (pipeline_ltx2_image2video.py)
# loads "Lightricks/LTX-2" and calls it at 768x512, 121 frames, frame_rate 24, 30 steps, guidance
# 3.0, with the negative prompt below; its VAE shrinks 32x in space and 8x in time (so sizes on a
# 32 px grid and 8k+1 frames), and it returns a sound track with the frames (vocoder at 24 kHz).
# Download size and VRAM are estimates: a 19B transformer and a Gemma 3 12B text encoder in bf16.
LTX2 = Family(
    engine_id="ltx-2",
    label="LTX-2",
    description="Lightricks' audio-video model: 768x512, 121 frames at 24 fps (8k+1 frames), with a sound track "
    "made to match. Needs a large GPU.",
    family="ltx2",
    hub_id="Lightricks/LTX-2",
    pipeline_class="LTX2ImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.ltx2:LTX2Adapter",
    params=(*p.size(768, 512, multiple_of=32, minimum=256, maximum=1920), p.frames(121, minimum=9, maximum=257, congruent=(8, 1)),
            p.fps(24), _steps_from_two(30), p.guidance(3.0), p.FIT),
    recommended_fps=24,
    weights_gb=70.0,
    vram_gb={"full_gpu": 80.0, "model_offload": 48.0, "group_offload": 20.0, "lowest": 16.0},
    denoiser_gb=38.0,  # 19B parameters in bf16 (estimate)
    precision="bf16",
    index_classes=("LTX2Pipeline", "LTX2ImageToVideoPipeline"),
    cpu_seconds_per_step=2400.0,
    suggested_negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
    makes_sound=True,
    last_image_note="it runs LTX2ImageToVideoPipeline, which conditions on the first frame only.",
    # Its blocks registered with diffusers' cache (speed.py), the sound carried over a skipped block
    # as the second stream. Wan's threshold as a starting point (not measured on the real model).
    fast_cache_threshold=0.1,
    # The distilled LoRA on the dev model: diffusers' LTX-2 docs (docs/source/en/api/pipelines/ltx2.md)
    # load it from Lightricks/LTX-2 and run the distilled schedule without guidance; Lightricks say the
    # dev model with it behaves as the distilled checkpoint: 8 steps instead of 30. The adapter runs
    # the schedule (adapters/ltx2.py); steps is its length, diffusers' DISTILLED_SIGMA_VALUES.
    turbo=TurboSpec(file="ltx-2-19b-distilled-lora-384.safetensors", source="Lightricks/LTX-2", steps=8, guidance=1.0),
)


class FramePackFamily(Family):
    """FramePack makes its video in sections of 4 x window latent frames, then adds the first frame:
    the frame count is 4·window·sections + 1 (checked with the tiny pipeline for both sampling
    types). A count between two of those would be silently rounded up to whole sections, so it is
    refused with the nearest valid one instead."""

    def check(self, params: Mapping[str, Any]) -> None:
        per_section = 4 * int(params["latent_window_size"])
        frames = int(params["frames"])
        if (frames - 1) % per_section == 0 and frames > 1:
            return
        # The shared rule for "nearest valid value" (ties go up, limits kept), with this window's sections.
        nearest = int(replace(self.info().param("frames"), congruent=(per_section, 1)).nearest(frames))
        raise InputError(
            "frames",
            f"Frames must be 4 x latent window x sections + 1 with a latent window of {params['latent_window_size']} "
            f"({per_section}k+1); {frames} is not. Nearest valid value: {nearest}.",
            nearest,
        )


def framepack_sections(params: Mapping[str, Any]) -> int:
    """How many sections a FramePack run makes (its progress counts steps per section)."""
    return max(1, (int(params["frames"]) - 1) // (4 * int(params["latent_window_size"])))


def _latent_window(default: int = 9) -> ParamSpec:
    return ParamSpec("latent_window_size", "Latent window", "int", default,
                     "Latent frames made per section (each is 4 video frames). The model was trained with 9; "
                     "frames must then be 36k+1 (each section adds 36 frames, 1.2 s at 30 fps).",
                     minimum=2, maximum=33, step=1, sweepable=False)  # each value needs its own frame counts


def _framepack_frames(default: int, maximum: int, *, section: int = 36) -> ParamSpec:
    return ParamSpec("frames", "Frames", "int", default,
                     "Length of the video. FramePack makes it in sections of 4 x latent window frames, "
                     "plus the first frame: 36k+1 with the default window (37, 73, 109, … = 1, 2, 3, … sections).",
                     minimum=9, maximum=maximum, step=section)  # the form steps a section at a time


_SAMPLING = ParamSpec("sampling_type", "Sampling order", "choice", "inverted_anti_drifting",
                      "inverted_anti_drifting makes the last section first and works back to the image, which keeps "
                      "long videos from drifting (the model card's choice); vanilla goes forward in time.",
                      choices=("inverted_anti_drifting", "vanilla"), sweepable=False)

# FramePack (lllyasviel/FramePackI2V_HY): diffusers' HunyuanVideoFramepackPipeline example
# (pipeline_hunyuan_video_framepack.py) loads the HunyuanVideo folder (hunyuanvideo-community/
# HunyuanVideo) with the FramePack transformer from lllyasviel/FramePackI2V_HY and the SigLIP image
# encoder and processor from lllyasviel/flux_redux_bfl, and calls it at 832x480 (portrait), 91
# frames, 30 steps, guidance 9.0, sampling "inverted_anti_drifting", saved at 30 fps; with the
# pipeline's latent window of 9 those 91 frames become 3 sections, 109 frames, the default here. HunyuanVideo's VAE shrinks 8x and the transformer patches 2x2: a 16 px
# grid. Download size and VRAM are estimates (13B transformer, Llama 8B text encoder, bf16/fp16).
FRAMEPACK = FramePackFamily(
    engine_id="framepack",
    label="FramePack (HunyuanVideo)",
    description="lllyasviel's FramePack on HunyuanVideo: long videos made section by section (1.2 s each at 30 fps), "
    "an optional end frame; needs one folder assembled from three hub repositories (see README).",
    family="framepack",
    hub_id="lllyasviel/FramePackI2V_HY",
    pipeline_class="HunyuanVideoFramepackPipeline",
    adapter="studio.engines.diffusion.adapters.framepack:FramePackAdapter",
    params=(*p.size(832, 480, multiple_of=16, minimum=256, maximum=1280), _framepack_frames(109, 1081),
            _latent_window(9), _SAMPLING, p.fps(30), p.steps(30), p.guidance(9.0, maximum=32.0), p.FIT),
    supports_negative_prompt=False,  # guidance-distilled: the call's true_cfg_scale stays 1, no negative pass
    supports_last_image=True,  # the pipeline's `last_image`, blended into the section it makes first (the end)
    recommended_fps=30,
    weights_gb=45.0,
    vram_gb={"full_gpu": 60.0, "model_offload": 30.0, "group_offload": 10.0, "lowest": 8.0},
    denoiser_gb=26.0,  # 13B parameters in bf16 (estimate)
    precision="bf16",
    index_classes=("HunyuanVideoFramepackPipeline",),
    cpu_seconds_per_step=1800.0,
    # HunyuanVideo's blocks (registered with diffusers' cache); its pipeline opens no cache context,
    # so the adapter opens one (adapters/framepack.py). Wan's threshold as a starting point (not
    # measured on the real model).
    fast_cache_threshold=0.1,
    install_hint="assemble one folder named FramePackI2V_HY from its three hub repositories (the README's "
    "FramePack section has the code) and put it in a model folder; `launch.py download` alone fetches only "
    "the transformer",
)

def hunyuanvideo15_buckets(target_size: int, patch: int = 16, max_ratio: float = 4.0) -> list[tuple[int, int]]:
    """The (width, height) sizes HunyuanVideo 1.5 makes: for each aspect up to 4:1, the largest
    size on a `patch` grid within target_size² pixels. The pipeline picks the bucket whose aspect is
    nearest the input image's (diffusers' generate_crop_size_list, which a test compares this with)."""
    patches = round((target_size / patch) ** 2)
    found, rows, columns = [], patches, 1
    while rows > 0:
        if max(rows, columns) / min(rows, columns) <= max_ratio:
            found.append((columns * patch, rows * patch))
        if (columns + 1) * rows <= patches:
            columns += 1
        else:
            rows -= 1
    return found


@dataclass(frozen=True)
class HunyuanVideo15Family(Family):
    """Sizes are the pipeline's buckets; a size between them would come back as another size, so it
    is refused with the bucket nearest in aspect."""

    target_size: int = 640  # the transformer's target_size: buckets of about target_size² pixels

    def info(self) -> EngineInfo:
        return replace(super().info(), size_buckets=tuple(hunyuanvideo15_buckets(self.target_size)))

    def check(self, params: Mapping[str, Any]) -> None:
        width, height = int(params["width"]), int(params["height"])
        info = self.info()
        if (width, height) in info.size_buckets:
            return
        nearest = info.nearest_bucket(width, height)
        param, suggestion = ("height", nearest[1]) if nearest[0] == width else ("width", nearest[0])
        raise InputError(
            param,
            f"{self.label} makes only its own sizes (about {self.target_size}x{self.target_size} pixels, on a 16 px grid); "
            f"{width}x{height} is not one. Nearest valid size: {nearest[0]}x{nearest[1]}.",
            suggestion,
        )


# HunyuanVideo 1.5 image-to-video (hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v): diffusers'
# HunyuanVideo15ImageToVideoPipeline example (pipeline_hunyuan_video1_5_image2video.py) loads that
# id, calls it with 50 steps and the call's default 121 frames, and saves at 24 fps. Its VAE shrinks
# 16x in space and 4x in time (frames 4k+1); the transformer's default target_size of 640 (whose
# buckets include 848x480) is taken for the 480p checkpoint; guidance 6.0 is an estimate. Download
# size and VRAM are estimates (8.3B transformer, Qwen2.5-VL 7B text encoder, bf16).
HUNYUANVIDEO15_I2V = HunyuanVideo15Family(
    engine_id="hunyuanvideo-1.5-i2v-480p",
    label="HunyuanVideo 1.5 I2V 480p",
    description="Tencent's HunyuanVideo 1.5 image-to-video model at 480p: 848x480 (or another of its sizes), "
    "121 frames at 24 fps (4k+1 frames).",
    family="hunyuanvideo15",
    hub_id="hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v",
    pipeline_class="HunyuanVideo15ImageToVideoPipeline",
    adapter="studio.engines.diffusion.adapters.hunyuanvideo15:HunyuanVideo15Adapter",
    params=(*p.size(848, 480, multiple_of=16, minimum=160, maximum=1280), p.frames(121, minimum=5, maximum=241, congruent=(4, 1)),
            p.fps(24), p.steps(50), p.guidance(6.0), p.FIT),
    recommended_fps=24,
    weights_gb=33.0,
    vram_gb={"full_gpu": 40.0, "model_offload": 24.0, "group_offload": 16.0, "lowest": 14.0},
    denoiser_gb=16.6,  # 8.3B parameters in bf16 (estimate)
    precision="bf16",
    index_classes=("HunyuanVideo15ImageToVideoPipeline",),
    cpu_seconds_per_step=1800.0,
    last_image_note="it runs HunyuanVideo15ImageToVideoPipeline, which conditions on the first frame only.",
    # diffusers 0.42.1 gives its pipeline no LoRA loader: LoRAs go into the transformer through PEFT
    # (lora.py), in diffusers' layout (`transformer.transformer_blocks.N.attn.to_q.lora_A.weight`).
    # HunyuanVideo's double-stream block design: Wan's threshold as a starting point (not measured on
    # the real model). diffusers does not list the block for its cache; speed.py registers it as
    # diffusers registers HunyuanVideo's.
    fast_cache_threshold=0.1,
)


# The tiny engines' First Block Cache threshold, wherever the real family has fast: random weights
# change the first block's output a lot from step to step, so a low threshold would skip nothing.
_TINY_FAST_THRESHOLD = 1.0


def _tiny(real: Family, name: str, **changes: Any) -> Family:
    """A tiny engine for `real`'s family: the same classes and loading path, a few thousand random
    weights; its rules are the real family's, at smaller sizes. Hidden unless developer mode is on."""
    changes.setdefault("fast_cache_threshold", None if real.fast_cache_threshold is None else _TINY_FAST_THRESHOLD)
    return replace(real, hub_id=None, weights_gb=0.001, vram_gb={"full_gpu": 0.1, "model_offload": 0.1, "group_offload": 0.1, "lowest": 0.1},
                   denoiser_gb=0.0001,
                   index_classes=(), cpu_seconds_per_step=0.05, developer_only=True, label=f"Tiny {name} (test)",
                   step_hook="studio.devtools.faults:inject_from_env",
                   description=f"Randomly initialised, tiny {name} for tests and developer checks: makes noise, fast on CPU.",
                   **changes)


# Its VAE shrinks 8x like the real one and its UNet halves once: sizes on a 16 px grid.
TINY_I2VGEN_XL = _tiny(
    I2VGEN_XL,
    "I2VGen-XL",
    engine_id="tiny-i2vgen-xl",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), p.frames(4, minimum=2, maximum=32),
            p.fps(8), p.steps(2), p.guidance(9.0), p.FIT),
    builder="studio.devtools.tiny.i2vgen_xl:build_tiny_i2vgen_xl",
)

# Its VAE shrinks 8x like the real one and its UNet halves once: sizes on a 16 px grid.
TINY_SVD = _tiny(
    SVD_XT,
    "Stable Video Diffusion",
    engine_id="tiny-svd",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), p.frames(3, minimum=2, maximum=25),
            p.fps(7), p.steps(2), p.guidance(3.0, maximum=10.0), _fps_condition(6), _motion_bucket(),
            _noise_aug(), _decode_chunk(8, 25), p.FIT),
    builder="studio.devtools.tiny.svd:build_tiny_svd",
)

# The real 16x VAE and 2x2 patches: the real 32 px grid. Frames are 4k+1 as in the real model.
TINY_WAN22_TI2V = _tiny(
    WAN22_TI2V_5B,
    "Wan 2.2 TI2V",
    engine_id="tiny-wan22-ti2v",
    params=(*p.size(32, 32, multiple_of=32, minimum=32, maximum=256), p.frames(5, minimum=5, maximum=41, congruent=(4, 1)),
            p.fps(24), p.steps(2), p.guidance(5.0), p.FIT),
    builder="studio.devtools.tiny.wan:build_tiny_wan22_ti2v",
    # A distillation LoRA made in code (studio.devtools.tiny.lora), 3 steps: not the default 2, so a
    # turbo run shows it ran the distillation's steps.
    turbo=TurboSpec(file="tiny-wan22-ti2v-turbo.safetensors",
                    source="studio.devtools.tiny.lora:save_tiny_turbo_lora", steps=3, guidance=1.0),
)

# The real 8x VAE and 2x2 patches: the real 16 px grid.
TINY_WAN21_I2V = _tiny(
    WAN21_I2V_14B_480P,
    "Wan 2.1 I2V",
    engine_id="tiny-wan21-i2v",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), p.frames(5, minimum=5, maximum=41, congruent=(4, 1)),
            p.fps(16), p.steps(2), p.guidance(5.0), p.FIT),
    builder="studio.devtools.tiny.wan:build_tiny_wan21_i2v",
    turbo=None,
)

# The real 32x/8x VAE: the real 32 px grid and 8k+1 frames, and at least two steps.
TINY_LTX = _tiny(
    LTX_VIDEO,
    "LTX-Video",
    engine_id="tiny-ltx",
    params=(*p.size(32, 32, multiple_of=32, minimum=32, maximum=256), p.frames(9, minimum=9, maximum=57, congruent=(8, 1)),
            p.fps(24), _steps_from_two(2), p.guidance(3.0), _decode_timestep(0.03), _decode_noise(0.025), p.FIT),
    builder="studio.devtools.tiny.ltx:build_tiny_ltx",
)

# Learned position embeddings for one size, as in the real model: 32x32 here.
TINY_COGVIDEOX_I2V = _tiny(
    COGVIDEOX_5B_I2V,
    "CogVideoX I2V",
    engine_id="tiny-cogvideox-i2v",
    params=(*_fixed_size(32, 32), p.frames(9, minimum=9, maximum=49, congruent=(8, 1)),
            p.fps(8), p.steps(2), p.guidance(6.0), p.FIT),
    builder="studio.devtools.tiny.cogvideox:build_tiny_cogvideox_i2v",
)

# The real 8x VAE and 2x2 patches (16 px grid) and two experts switched at the real boundary (0.9):
# with 2 steps the first runs on the high-noise expert and the second on the low-noise one.
TINY_WAN22_A14B = _tiny(
    WAN22_I2V_A14B,
    "Wan 2.2 I2V A14B",
    engine_id="tiny-wan22-a14b",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), p.frames(5, minimum=5, maximum=41, congruent=(4, 1)),
            p.fps(16), p.steps(2), _guidance_high_noise(3.5), _guidance_low_noise(3.5), p.FIT),
    builder="studio.devtools.tiny.wan:build_tiny_wan22_a14b",
    # A per-expert distillation pair made in code (studio.devtools.tiny.lora), 3 steps as tiny Wan 2.2's.
    turbo=TurboSpec(file="tiny-wan22-a14b-turbo-high.safetensors", second_file="tiny-wan22-a14b-turbo-low.safetensors",
                    source="studio.devtools.tiny.lora:save_tiny_turbo_lora", steps=3, guidance=1.0),
)

# The real 8x VAE and 2x2 patches: the real 16 px grid.
TINY_SKYREELS_V2_I2V = _tiny(
    SKYREELS_V2_I2V_14B_540P,
    "SkyReels-V2 I2V",
    engine_id="tiny-skyreels-v2-i2v",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), p.frames(5, minimum=5, maximum=41, congruent=(4, 1)),
            p.fps(24), p.steps(2), p.guidance(5.0), p.FIT),
    builder="studio.devtools.tiny.skyreels:build_tiny_skyreels_v2_i2v",
)

# The real window rules at a small window: 17 frames (5 latent frames, one causal block), overlap 5;
# the default 29 frames are two windows.
TINY_SKYREELS_V2_DF = _tiny(
    SKYREELS_V2_DF_14B_540P,
    "SkyReels-V2 DF",
    engine_id="tiny-skyreels-v2-df",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), _frames_in_windows(29, 5, 137),
            p.fps(24), p.steps(2), p.guidance(5.0), _window_frames(17, 5, 97), _overlap_frames(5, 93),
            _ar_step(0), _condition_noise(20), p.FIT),
    builder="studio.devtools.tiny.skyreels:build_tiny_skyreels_v2_df",
)

# Image tokens with positions for two pictures, as in the real FLF2V model.
TINY_WAN21_FLF2V = _tiny(
    WAN21_FLF2V_14B_720P,
    "Wan 2.1 FLF2V",
    engine_id="tiny-wan21-flf2v",
    params=TINY_WAN21_I2V.params,
    builder="studio.devtools.tiny.wan:build_tiny_wan21_flf2v",
)

# The real 32x/8x video VAE: the real 32 px grid and 8k+1 frames; a short stereo track at 16 kHz.
TINY_LTX2 = _tiny(
    LTX2,
    "LTX-2",
    engine_id="tiny-ltx2",
    params=(*p.size(32, 32, multiple_of=32, minimum=32, maximum=256), p.frames(9, minimum=9, maximum=57, congruent=(8, 1)),
            p.fps(24), _steps_from_two(2), p.guidance(3.0), p.FIT),
    builder="studio.devtools.tiny.ltx2:build_tiny_ltx2",
    # A distillation LoRA made in code (studio.devtools.tiny.lora), run on the real distilled schedule.
    turbo=TurboSpec(file="tiny-ltx2-turbo.safetensors", source="studio.devtools.tiny.lora:save_tiny_turbo_lora",
                    steps=8, guidance=1.0),
)

# The real 8x VAE and 2x2 patches (16 px grid); a window of 2 latent frames makes 8-frame sections.
TINY_FRAMEPACK = _tiny(
    FRAMEPACK,
    "FramePack",
    engine_id="tiny-framepack",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=256), _framepack_frames(17, 161, section=8),
            _latent_window(2), _SAMPLING, p.fps(30), p.steps(2), p.guidance(9.0, maximum=32.0), p.FIT),
    builder="studio.devtools.tiny.framepack:build_tiny_framepack",
)

# The real 16x VAE; a target size of 32 px gives the buckets 32x32, 16x32, 32x16, … up to 4:1.
TINY_HUNYUANVIDEO15_I2V = _tiny(
    HUNYUANVIDEO15_I2V,
    "HunyuanVideo 1.5 I2V",
    engine_id="tiny-hunyuanvideo15",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=64), p.frames(5, minimum=5, maximum=41, congruent=(4, 1)),
            p.fps(24), p.steps(2), p.guidance(6.0), p.FIT),
    builder="studio.devtools.tiny.hunyuanvideo15:build_tiny_hunyuanvideo15",
    target_size=32,  # the tiny transformer's own
)

FAMILIES: tuple[Family, ...] = (
    I2VGEN_XL,
    SVD_XT,
    SVD,
    WAN22_TI2V_5B,
    WAN21_I2V_14B_480P,
    LTX_VIDEO,
    COGVIDEOX_5B_I2V,
    WAN21_FLF2V_14B_720P,
    WAN22_I2V_A14B,
    SKYREELS_V2_I2V_14B_540P,
    SKYREELS_V2_DF_14B_540P,
    LTX2,
    FRAMEPACK,
    HUNYUANVIDEO15_I2V,
    TINY_I2VGEN_XL,
    TINY_SVD,
    TINY_WAN22_TI2V,
    TINY_WAN21_I2V,
    TINY_LTX,
    TINY_COGVIDEOX_I2V,
    TINY_WAN21_FLF2V,
    TINY_WAN22_A14B,
    TINY_SKYREELS_V2_I2V,
    TINY_SKYREELS_V2_DF,
    TINY_LTX2,
    TINY_FRAMEPACK,
    TINY_HUNYUANVIDEO15_I2V,
)


def family_for(engine_id: str) -> Family | None:
    """The family behind an engine id, for tests and tools; runtime decisions read EngineInfo instead."""
    return next((f for f in FAMILIES if f.engine_id == engine_id), None)

