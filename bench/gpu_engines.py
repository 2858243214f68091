"""Benchmark: every diffusion family through the studio's engine, per memory mode and speed option.

For each family at its default size (frames, width, height from families.py), the full-size
architecture is built in code with random weights — the released configurations' numbers written
out below, nothing downloaded — saved once (safetensors, half precision) and loaded through
DiffusionEngine exactly as the worker loads it. Then, on a CUDA GPU:

  memory modes   full_gpu, model_offload, group_offload, lowest (no speed option);
  speed options  compile, int8/fp8 weight-only quantization, fp8 layerwise casting, each usable
                 attention backend, VAE tiling — each in the fastest memory mode auto would pick
                 for it (options are about speed at a given memory, not every combination).

Each measurement: load time, seconds per denoising step (median of the step intervals after the
first), end-to-end time (load + run) and peak VRAM; a mode that runs out of memory says so. The
last line is JSON. `--steps` defaults to 4: step time is what scales, and 4 steps show it.

`--dry-run` is the same loop on the CPU with the tiny random pipelines (studio/devtools/tiny), one
family, mode 'cpu', one option (fp8 layerwise): seconds, and a test in the suite runs it so the script cannot rot.

    python bench/gpu_engines.py [--families wan2.2-ti2v-5b,ltx-video] [--modes full_gpu,group_offload]
                                [--options baseline,compile] [--steps 4] [--folder DIR] [--dry-run]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.gpu_engines", *sys.argv[1:]])

GPU_MODES = ("full_gpu", "model_offload", "group_offload", "lowest")
# Speed options as RuntimeOptions changes; "baseline" is none.
OPTIONS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "compile": {"compile": True},
    "int8_weight_only": {"quantization": "int8_weight_only"},
    "fp8_weight_only": {"quantization": "fp8_weight_only"},
    "fp8_layerwise": {"fp8_layerwise": True},
    "attention_flash": {"attention": "flash"},
    "attention_sage": {"attention": "sage"},
    "attention_xformers": {"attention": "xformers"},
    "vae_tiling": {"vae_tiling": True},
}
# Released families (engine id -> its tiny stand-in for --dry-run).
FAMILIES = {
    "i2vgen-xl": "tiny-i2vgen-xl",
    "svd-xt": "tiny-svd",
    "wan2.2-ti2v-5b": "tiny-wan22-ti2v",
    "wan2.1-i2v-14b-480p": "tiny-wan21-i2v",
    "ltx-video": "tiny-ltx",
    "cogvideox-5b-i2v": "tiny-cogvideox-i2v",
}
PROMPT = "a sailing boat crosses the bay at sunset, gentle waves"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=None, help="comma-separated engine ids (default: all; dry run: i2vgen-xl)")
    parser.add_argument("--modes", default=None, help=f"memory modes (default: {','.join(GPU_MODES)})")
    parser.add_argument("--options", default=None, help=f"speed options (default: all usable of {','.join(OPTIONS)})")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--folder", type=Path, default=None, help="where to keep the random models (default: a temp folder)")
    parser.add_argument("--dry-run", action="store_true", help="tiny pipelines on the CPU, one mode: checks the script in seconds")
    args = parser.parse_args(argv)

    import torch

    os.environ["HF_HUB_OFFLINE"] = "1"  # everything is local; any hub access would be a bug
    if args.dry_run:
        families = _pick(args.families, ["i2vgen-xl"], FAMILIES, parser, "family")
        # One mode and one option that a CPU can run, so both loops are exercised.
        modes, options = ["cpu"], _pick(args.options, ["fp8_layerwise"], OPTIONS, parser, "option")
        device = "cpu"
    else:
        if not torch.cuda.is_available():
            print("No CUDA GPU here: the engines GPU benchmark needs one (try --dry-run). Nothing measured.")
            print(json.dumps({"bench": "gpu_engines", "skipped": "no CUDA GPU"}))
            return 0
        families = _pick(args.families, list(FAMILIES), FAMILIES, parser, "family")
        modes = _pick(args.modes, list(GPU_MODES), dict.fromkeys(GPU_MODES), parser, "memory mode")
        options = _pick(args.options, list(OPTIONS), OPTIONS, parser, "option")
        device = "cuda"
    print(f"device: {_device_name(device)}; torch {torch.__version__}; {args.steps} steps; "
          f"families: {', '.join(families)}; modes: {', '.join(modes)}; options: {', '.join(options)}", flush=True)

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as scratch:
        models = args.folder or Path(scratch)
        for engine_id in families:
            results[engine_id] = bench_family(engine_id, models, modes, options, args.steps, args.dry_run)
    print(json.dumps({"bench": "gpu_engines", "device": _device_name(device), "dry_run": args.dry_run,
                      "steps": args.steps, "results": results}))
    return 0


def bench_family(engine_id: str, models: Path, modes: list[str], options: list[str], steps: int, dry_run: bool) -> dict:
    from studio.config import Paths, Settings
    from studio.engines import runtime as rt
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import DiffusionEngine, families

    family = families.family_for(FAMILIES[engine_id] if dry_run else engine_id)
    assert family is not None
    paths = Paths(data_dir=models / "data", logs_dir=models / "logs", database_url="sqlite://")
    if not dry_run:
        folder = models / family.hub_id.replace("/", "--")
        if not (folder / "model_index.json").is_file():
            started = time.perf_counter()
            count = build_full_size(engine_id, folder)
            print(f"{engine_id}: built the full-size architecture ({count / 1e9:.2f} B parameters) in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
    engine = DiffusionEngine(family, Settings(model_dirs=[str(models)]), paths)
    dtype = "float32" if dry_run else rt.DTYPE_NAMES[family.precision]
    device = "cpu" if dry_run else "cuda"
    measured: dict[str, Any] = {"size": None, "modes": {}, "options": {}}
    for mode in modes:
        measured["modes"][mode] = measure(engine, RuntimeOptions(device=device, dtype=dtype, memory_mode=mode), steps)
        print(f"{engine_id:>20} {mode:>14}: {fmt(measured['modes'][mode])}", flush=True)
    for name in options:
        if name == "baseline" and not dry_run:
            continue  # the modes above are the baseline
        change = OPTIONS[name]
        if (why := _unusable(change)) is not None:
            measured["options"][name] = {"skipped": why}
            continue
        info = family.info()
        mode = modes[0] if dry_run else rt.auto_mode(info, quantization=change.get("quantization", "none"),
                                                     fp8_layerwise=change.get("fp8_layerwise", False))
        runtime = replace(RuntimeOptions(device=device, dtype=dtype, memory_mode=mode), **change)
        measured["options"][name] = {"mode": mode, **measure(engine, runtime, steps)}
        print(f"{engine_id:>20} {name:>14}: {fmt(measured['options'][name])} ({mode})", flush=True)
    defaults = family.info().defaults()
    measured["size"] = f"{defaults['width']}x{defaults['height']}x{defaults['frames']}"
    return measured


def measure(engine, runtime, steps: int) -> dict:
    """One cold run (load included): seconds per step, end to end and peak VRAM, or the failure."""
    import torch
    from PIL import Image

    from studio.engines.base import OutOfMemory
    from studio.requests import validate_for

    info = engine.info
    defaults = info.defaults()
    params = {"prompt": PROMPT, "seed": 1234, "steps": max(steps, info.param("steps").minimum or 1)}
    request = validate_for(engine, params)
    image = Image.new("RGB", (defaults["width"], defaults["height"]), (80, 120, 160))
    stamps: list[float] = []
    engine.release()
    if runtime.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    try:
        result = engine.generate(image, request, runtime, on_step=lambda *_: stamps.append(time.perf_counter()),
                                 cancelled=lambda: False)
    except OutOfMemory:
        return {"error": "out of memory"}
    except Exception as exc:  # a lever this build cannot run is a result too, not the end of the bench
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        engine.release()
        gc.collect()
    total = time.perf_counter() - started
    intervals = [b - a for a, b in zip(stamps, stamps[1:])] or [result.infer_seconds / max(len(stamps), 1)]
    return {"load_s": round(result.load_seconds, 2), "s_per_step": round(statistics.median(intervals), 4),
            "end_to_end_s": round(total, 2), "peak_vram_gb": round(result.manifest.get("peak_vram_bytes", 0) / 1e9, 2),
            "notes": result.manifest.get("memory_notes", [])}


def fmt(result: dict) -> str:
    if "error" in result or "skipped" in result:
        return result.get("error") or f"skipped: {result['skipped']}"
    return (f"load {result['load_s']:.1f} s, {result['s_per_step']:.3f} s/step, end to end {result['end_to_end_s']:.1f} s, "
            f"peak {result['peak_vram_gb']:.1f} GB")


def _unusable(change: dict[str, Any]) -> str | None:
    from studio.engines import levers

    if "attention" in change:
        return levers.attention_refusal(change["attention"])
    if "quantization" in change:
        return levers.quantization_refusal(change["quantization"])
    if change.get("fp8_layerwise"):
        return levers.fp8_layerwise_refusal("none")
    return None


def _pick(given: str | None, default: list[str], known, parser, what: str) -> list[str]:
    chosen = [v.strip() for v in given.split(",") if v.strip()] if given else default
    unknown = [v for v in chosen if v not in known]
    if unknown:
        parser.error(f"unknown {what}(s): {', '.join(unknown)}; choose from {', '.join(known)}")
    return chosen


def _device_name(device: str) -> str:
    from studio.engines.runtime import device_name

    return device_name(device)


# -- full-size architectures, random weights ---------------------------------------------------
# Each builder takes the tiny pipeline of the family (its scheduler, tokenizer and processors are
# the released ones' configurations) and swaps in full-size models with the released configs'
# numbers, initialised on the GPU in half precision (seconds; minutes on a CPU), then saves it.

def _t5_xxl(umt5: bool = False):
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    config = dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, feed_forward_proj="gated-gelu",
                  relative_attention_num_buckets=32, vocab_size=256384 if umt5 else 32128)
    return UMT5EncoderModel(UMT5Config(**config)) if umt5 else T5EncoderModel(T5Config(**config))


def _clip_vit_h(with_projection: bool):
    from transformers import CLIPVisionConfig, CLIPVisionModel, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                              image_size=224, patch_size=14, projection_dim=1024, hidden_act="gelu")
    return CLIPVisionModelWithProjection(config) if with_projection else CLIPVisionModel(config)


def _swap_and_save(pipe, folder: Path, components: dict[str, Callable[[], Any]], dtype, model_index=None) -> int:
    import torch

    from studio.devtools.tiny.saving import save_pipeline

    count = 0
    torch.manual_seed(0)
    for name, make in components.items():
        with torch.device("cuda"):
            module = make().to(dtype)
        count += sum(p.numel() for p in module.parameters())
        pipe.register_modules(**{name: module})
    save_pipeline(pipe, folder, model_index=model_index)
    del pipe
    gc.collect()
    torch.cuda.empty_cache()
    return count


def _wan_vae(z_dim: int, base_dim: int, residual: bool):
    from diffusers import AutoencoderKLWan

    extra = dict(in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16) if residual else {}
    return AutoencoderKLWan(base_dim=base_dim, z_dim=z_dim, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                            temperal_downsample=[False, True, True], is_residual=residual,
                            latents_mean=[0.0] * z_dim, latents_std=[1.0] * z_dim, **extra)


def _diffusers(name: str, **config: Any) -> Callable[[], Any]:
    def make():
        import diffusers

        return getattr(diffusers, name)(**config)
    return make


def full_size_components(engine_id: str) -> dict[str, Callable[[], Any]]:
    """The full-size models of a family (not I2VGen-XL: bench/gpu_i2vgen.py builds that one), as
    factories, so a test can build them on the meta device and count their parameters."""
    if engine_id == "svd-xt":
        # diffusers' UNet defaults are the released SVD-XT configuration; the VAE's are not.
        return {"unet": _diffusers("UNetSpatioTemporalConditionModel", num_frames=25),
                "vae": _diffusers("AutoencoderKLTemporalDecoder", block_out_channels=(128, 256, 512, 512),
                                  down_block_types=("DownEncoderBlock2D",) * 4, layers_per_block=2),
                "image_encoder": lambda: _clip_vit_h(True)}
    if engine_id == "wan2.2-ti2v-5b":
        return {"transformer": _diffusers(
                    "WanTransformer3DModel", patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128,
                    in_channels=48, out_channels=48, text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30,
                    cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024),
                "vae": lambda: _wan_vae(48, 160, True),
                "text_encoder": lambda: _t5_xxl(umt5=True)}
    if engine_id == "wan2.1-i2v-14b-480p":
        return {"transformer": _diffusers(
                    "WanTransformer3DModel", patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128,
                    in_channels=36, out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=13824, num_layers=40,
                    cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=1280,
                    added_kv_proj_dim=5120, rope_max_seq_len=1024),
                "vae": lambda: _wan_vae(16, 96, False),
                "text_encoder": lambda: _t5_xxl(umt5=True),
                "image_encoder": lambda: _clip_vit_h(False)}
    if engine_id == "ltx-video":
        # LTX-Video 0.9 (2B): diffusers' defaults are its configuration.
        return {"transformer": _diffusers("LTXVideoTransformer3DModel"),
                "vae": _diffusers("AutoencoderKLLTXVideo"),
                "text_encoder": _t5_xxl}
    if engine_id == "cogvideox-5b-i2v":
        return {"transformer": _diffusers(
                    "CogVideoXTransformer3DModel", num_attention_heads=48, attention_head_dim=64, in_channels=32,
                    out_channels=16, num_layers=42, time_embed_dim=512, text_embed_dim=4096, sample_width=90,
                    sample_height=60, sample_frames=49, patch_size=2, max_text_seq_length=226,
                    use_rotary_positional_embeddings=True, use_learned_positional_embeddings=True,
                    spatial_interpolation_scale=1.875),
                "vae": _diffusers("AutoencoderKLCogVideoX"),
                "text_encoder": _t5_xxl}
    raise KeyError(engine_id)


# The tiny pipeline each full-size one starts from, its half precision, and model-index names the
# released folders use (see studio.devtools.tiny.saving).
_TINY_BASES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "svd-xt": ("studio.devtools.tiny.svd:build_tiny_svd_pipeline", "float16",
               {"feature_extractor": ["transformers", "CLIPImageProcessor"]}),
    "wan2.2-ti2v-5b": ("studio.devtools.tiny.wan:build_tiny_wan22_ti2v_pipeline", "bfloat16", None),
    "wan2.1-i2v-14b-480p": ("studio.devtools.tiny.wan:build_tiny_wan21_i2v_pipeline", "bfloat16",
                            {"image_processor": ["transformers", "CLIPImageProcessor"]}),
    "ltx-video": ("studio.devtools.tiny.ltx:build_tiny_ltx_pipeline", "bfloat16", None),
    "cogvideox-5b-i2v": ("studio.devtools.tiny.cogvideox:build_tiny_cogvideox_i2v_pipeline", "bfloat16", None),
}


def build_full_size(engine_id: str, folder: Path) -> int:
    """Build `engine_id`'s full-size pipeline with random weights into `folder`; returns its parameter count."""
    if engine_id == "i2vgen-xl":
        from bench.gpu_i2vgen import build_full_size as build_i2vgen

        return build_i2vgen(folder)
    import importlib

    import torch

    reference, dtype, model_index = _TINY_BASES[engine_id]
    module, _, function = reference.partition(":")
    tiny = getattr(importlib.import_module(module), function)()
    return _swap_and_save(tiny, folder, full_size_components(engine_id), getattr(torch, dtype), model_index)


if __name__ == "__main__":
    sys.exit(main())
