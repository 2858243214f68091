"""Benchmark: the studio's I2VGen-XL engine against a bare diffusers script, on a GPU.

The full-size I2VGen-XL architecture — the released model's configurations (UNet, VAE, OpenCLIP-H
text encoder, ViT-H image encoder, DDIM scheduler), constructed in code with random weights, so
nothing is downloaded — saved once in fp16 and then run at 512x512, 16 frames, 50 steps, fp16:

  studio: DiffusionEngine.generate through the registry's I2VGen-XL family (finds the folder in a
          model folder, loads it offline, memory mode, step hook, manifest) — the worker's path;
  bare:   I2VGenXLPipeline.from_pretrained + .to("cuda") / enable_model_cpu_offload /
          enable_sequential_cpu_offload + pipe(...). The bare script passes clip_skip=None, because
          the pipeline's default (clip_skip=1) fails on transformers 5 — see studio/engines/diffusion/adapters/i2vgen_xl.py;
          the text encoder runs all its layers either way, so the work is the same.

For each memory mode: load time, wall time of the run, seconds per step and peak VRAM, for both.
The last line is JSON with "ratio" = studio wall time / bare wall time in full_gpu mode.
Without a CUDA GPU it says so and exits 0.

    python bench/gpu_i2vgen.py [--modes full_gpu,model_offload,lowest] [--steps 50] [--frames 16] [--size 512]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.gpu_i2vgen", *sys.argv[1:]])

MODES = ("full_gpu", "model_offload", "lowest")
PROMPT = "Papers were floating in the air on a table in the library"
NEGATIVE = "Distorted, discontinuous, Ugly, blurry, low resolution, motionless, static"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated memory modes to measure")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=512, help="width and height in pixels (a multiple of 64)")
    parser.add_argument("--folder", type=Path, default=None, help="where to keep the random model (default: a temp folder)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown memory mode(s): {', '.join(unknown)}; choose from {', '.join(MODES)}")

    import torch

    if not torch.cuda.is_available():
        print("No CUDA GPU here: the I2VGen-XL GPU benchmark needs one. Nothing measured.")
        print(json.dumps({"bench": "gpu_i2vgen", "skipped": "no CUDA GPU", "ratio": None}))
        return 0

    os.environ["HF_HUB_OFFLINE"] = "1"  # everything is local; any hub access would be a bug
    device_name = torch.cuda.get_device_name()
    print(f"device: {device_name}; torch {torch.__version__}; {args.size}x{args.size}, {args.frames} frames, "
          f"{args.steps} steps, fp16; modes: {', '.join(modes)}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-i2vgen-") as scratch:
        models = args.folder or Path(scratch)
        folder = models / "ali-vilab--i2vgen-xl"
        if not (folder / "model_index.json").is_file():
            started = time.perf_counter()
            params = build_full_size(folder)
            print(f"built the full-size architecture with random weights ({params / 1e9:.2f} B parameters) "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)
        # One short run first, so neither side pays for CUDA's lazy start-up in the measurements.
        run_bare(folder, "full_gpu", argparse.Namespace(**{**vars(args), "steps": 2, "frames": 2}))
        results: dict[str, dict] = {}
        for mode in modes:
            studio = run_studio(models, mode, args)
            bare = run_bare(folder, mode, args)
            results[mode] = {"studio": studio, "bare": bare, "ratio": round(studio["wall_s"] / bare["wall_s"], 3)}
            print(f"{mode:>13}: studio {fmt(studio)}\n{'':>13}  bare   {fmt(bare)}\n{'':>13}  ratio  {results[mode]['ratio']}",
                  flush=True)

    reference = results.get("full_gpu") or next(iter(results.values()))
    print(json.dumps({
        "bench": "gpu_i2vgen", "device": device_name, "size": f"{args.size}x{args.size}", "frames": args.frames,
        "steps": args.steps, "dtype": "fp16", "modes": results, "ratio": reference["ratio"],
    }))
    return 0


def fmt(result: dict) -> str:
    return (f"load {result['load_s']:.1f} s, run {result['wall_s']:.1f} s, {result['s_per_step']:.3f} s/step, "
            f"peak {result['peak_vram_gb']:.1f} GB")


def build_full_size(folder: Path) -> int:
    """The released configurations with random fp16 weights, saved as safetensors to `folder`;
    returns the number of parameters."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, I2VGenXLPipeline
    from diffusers.models.unets.unet_i2vgen_xl import I2VGenXLUNet
    from transformers import (
        CLIPImageProcessor,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTokenizer,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    from studio.devtools.tiny.i2vgen_xl import write_clip_vocabulary

    vocab, merges = write_clip_vocabulary(folder.parent / "tokenizer-source")
    torch.manual_seed(0)
    # Random initialisation on the GPU takes seconds; on the CPU it would take minutes.
    with torch.device("cuda"):
        unet = I2VGenXLUNet(
            sample_size=32, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
            up_block_types=("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
            block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, norm_num_groups=32,
            cross_attention_dim=1024, attention_head_dim=64, num_attention_heads=64,
        ).half()
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, norm_num_groups=32,
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512), sample_size=768, scaling_factor=0.18125, force_upcast=True,
        ).half()
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
            max_position_embeddings=77, projection_dim=1024, hidden_act="gelu", bos_token_id=0, eos_token_id=2,
            pad_token_id=1,
        )).half()
        image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
            image_size=224, patch_size=14, projection_dim=1024, hidden_act="gelu",
        )).half()
    pipe = I2VGenXLPipeline(
        vae=vae, text_encoder=text_encoder, unet=unet, image_encoder=image_encoder,
        tokenizer=CLIPTokenizer(str(vocab), str(merges), model_max_length=77),
        feature_extractor=CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}),
        scheduler=DDIMScheduler(
            beta_start=0.0001, beta_end=0.02, beta_schedule="squaredcos_cap_v2", clip_sample=False,
            num_train_timesteps=1000, prediction_type="v_prediction", rescale_betas_zero_snr=True,
            set_alpha_to_one=True, steps_offset=1, timestep_spacing="leading",
        ),
    )
    params = sum(p.numel() for m in (unet, vae, text_encoder, image_encoder) for p in m.parameters())
    pipe.save_pretrained(folder, safe_serialization=True)
    del pipe, unet, vae, text_encoder, image_encoder
    free()
    return params


def input_image(size: int):
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size]
    pixels = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels)


def run_studio(models: Path, mode: str, args) -> dict:
    """The worker's path: the registry's I2VGen-XL family, finding the folder in a model folder."""
    import torch

    from studio.config import Paths, Settings
    from studio.engines.diffusion import families
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import DiffusionEngine
    from studio.requests import validate_for

    settings = Settings(model_dirs=[str(models)])
    paths = Paths(data_dir=models / "data", logs_dir=models / "logs", database_url="sqlite://")
    engine = DiffusionEngine(families.I2VGEN_XL, settings, paths)
    params = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": 8888, "width": args.size, "height": args.size,
              "frames": args.frames, "steps": args.steps}
    runtime = RuntimeOptions(device="cuda", dtype="float16", memory_mode=mode)
    steps: list[int] = []
    started = time.perf_counter()
    result = engine.generate(input_image(args.size), validate_for(engine, params), runtime, on_step=lambda s, t: steps.append(s), cancelled=lambda: False)
    total = time.perf_counter() - started
    assert steps == list(range(1, args.steps + 1)), "one progress call per step"
    peak = result.manifest.get("peak_vram_bytes", torch.cuda.max_memory_allocated())
    engine.release()
    free()
    wall = total - result.load_seconds
    return {"load_s": round(result.load_seconds, 2), "wall_s": round(wall, 3),
            "s_per_step": round(wall / args.steps, 4), "peak_vram_gb": round(peak / 1e9, 2)}


def run_bare(folder: Path, mode: str, args) -> dict:
    """What a diffusers user would write, nothing else."""
    import torch
    from diffusers import I2VGenXLPipeline

    started = time.perf_counter()
    pipe = I2VGenXLPipeline.from_pretrained(str(folder), dtype=torch.float16, use_safetensors=True, local_files_only=True)
    if mode == "full_gpu":
        pipe.to("cuda")
    elif mode == "model_offload":
        pipe.enable_model_cpu_offload()
    else:
        pipe.enable_sequential_cpu_offload()
    pipe.set_progress_bar_config(disable=True)
    load = time.perf_counter() - started
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    pipe(prompt=PROMPT, negative_prompt=NEGATIVE, image=input_image(args.size), height=args.size, width=args.size,
         num_frames=args.frames, num_inference_steps=args.steps, guidance_scale=9.0, target_fps=8,
         generator=torch.Generator("cpu").manual_seed(8888), output_type="np", clip_skip=None)
    torch.cuda.synchronize()
    wall = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated()
    del pipe
    free()
    return {"load_s": round(load, 2), "wall_s": round(wall, 3), "s_per_step": round(wall / args.steps, 4),
            "peak_vram_gb": round(peak / 1e9, 2)}


def free() -> None:
    import torch

    gc.collect()
    torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
