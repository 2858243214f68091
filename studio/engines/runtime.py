"""How a run will run: device, number format, memory mode — decided in one place, before the run,
with the reason for each in words. The worker runs with the decision, the Generate page shows it as
one sentence (`describe_plan`), and the run's manifest keeps it.

Memory modes, from fastest to leanest:
  full_gpu       the whole pipeline lives on the GPU.
  model_offload  each model moves to the GPU only while it runs (enable_model_cpu_offload); VAE slicing.
  group_offload  weights stay on the CPU and each leaf layer moves in just before it runs, the next
                 one copied on a second CUDA stream while this one computes (enable_group_offload,
                 leaf level); VAE slicing and tiling. Near 'lowest' in memory, several times faster.
  lowest         weights stream to the GPU layer by layer (enable_sequential_cpu_offload); VAE slicing
                 and tiling. Slow, but runs big models on small cards.
  cpu            no GPU: everything on the CPU in float32.
How a diffusers pipeline is put into a mode is studio/engines/diffusion/placement.py.

The load-time levers of the Settings page (attention backend, compile, quantization, fp8 layerwise
casting, VAE tiling) travel in the same RuntimeOptions; one this machine cannot use is left off
here, with the reason in `levers_reason` (studio/engines/levers.py says which are usable).

torch is imported inside the functions only, so the pages can import this module cheaply.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from studio.config import Settings
from studio.engines import levers
from studio.engines.base import EngineInfo, RuntimeOptions, RuntimePlan

MODES_BY_MEMORY = ("full_gpu", "model_offload", "group_offload", "lowest")
DTYPE_NAMES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
SHORT_DTYPE = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32"}
# Free VRAM kept in reserve when "auto" picks a mode: the CUDA context, fragmentation, the desktop.
VRAM_HEADROOM = 0.9
# Why a run goes to the CPU, in the words the plan caption starts with and preflight repeats.
NO_GPU = "No GPU"
DEVICE_SET_TO_CPU = "Device set to CPU"
# What the plan says for an engine without weights (the camera-motion engine).
NO_WEIGHTS_PLAN = "Runs on the CPU; no GPU or weights needed."

# RuntimeOptions is what an engine runs with; a RuntimePlan is one, with the reason for each choice.
__all__ = ["RuntimeOptions", "RuntimePlan", "auto_mode", "cuda_available", "describe_plan", "device_name",
           "estimate_cpu_seconds", "gpu_memory", "lever_options", "next_lower_mode", "resolve_runtime", "settle",
           "vram_estimate"]


def next_lower_mode(mode: str) -> str | None:
    """The mode to retry with after running out of memory, or None when there is nothing lower."""
    if mode == "cpu":
        return "lowest"
    if mode in MODES_BY_MEMORY[:-1]:
        return MODES_BY_MEMORY[MODES_BY_MEMORY.index(mode) + 1]
    return None


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return torch.cuda.is_available()


def gpu_memory() -> tuple[float, float] | None:
    """(free GB, total GB) of the current CUDA device, or None without one."""
    if not cuda_available():
        return None
    import torch

    free, total = torch.cuda.mem_get_info()
    return free / 1e9, total / 1e9


def gpu_identity() -> tuple[str, int] | None:
    """(name, total VRAM in bytes) of the current CUDA device, or None without one: what a worker
    reports of itself on the Workers list."""
    if not cuda_available():
        return None
    import torch

    index = torch.cuda.current_device()
    return torch.cuda.get_device_name(index), int(torch.cuda.mem_get_info(index)[1])


def device_name(device: str) -> str:
    if device.startswith("cuda") and cuda_available():
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.processor() or platform.machine()})"


def resolve_runtime(info: EngineInfo, settings: Settings, requested_mode: str | None = None) -> RuntimePlan:
    """Turn the user's settings (and a per-run memory-mode choice, e.g. a retry) into the concrete
    runtime of one run, with the reason for each choice.

    No weights (the camera-motion engine): the CPU, 8-bit pixels, no memory mode to choose.
    CPU (no CUDA, or Settings.device == 'cpu'): device 'cpu', float32, memory mode 'cpu' — except an
    explicit 'lowest', which stays 'lowest' because its slicing/tiling also lowers host memory.
    GPU: the precision setting, 'auto' meaning the family's recommended half precision (bf16 falls
    back to fp16 on cards without bf16); the memory mode requested, else the setting, where 'auto'
    picks the fastest mode whose VRAM estimate fits in the free memory.
    """
    if not info.needs_weights:
        return RuntimePlan(device="cpu", dtype="uint8", memory_mode="cpu",
                           device_reason="no model weights: runs on the CPU",
                           dtype_reason="works on 8-bit pixels",
                           memory_mode_reason="no model to place")
    # A run's own choice wins; "auto" there (the queue's default) defers to the Settings page.
    from_run = requested_mode not in (None, "", "auto")
    mode = requested_mode if from_run else settings.memory_mode
    mode_source = "chosen for this run" if from_run else "from Settings"
    cuda = cuda_available()
    chosen, levers_reason = lever_options(settings)
    if settings.device == "cpu" or not cuda:
        device_reason = DEVICE_SET_TO_CPU if cuda else NO_GPU
        if mode == "lowest":
            return RuntimePlan(device="cpu", dtype="float32", memory_mode="lowest", device_reason=device_reason,
                               dtype_reason="the CPU runs in float32",
                               memory_mode_reason=f"lowest {mode_source}: VAE/attention slicing lowers host memory",
                               levers_reason=levers_reason, **chosen)
        return RuntimePlan(device="cpu", dtype="float32", memory_mode="cpu", device_reason=device_reason,
                           dtype_reason="the CPU runs in float32", memory_mode_reason="no GPU memory to manage",
                           levers_reason=levers_reason, **chosen)

    import torch

    precision = settings.precision
    dtype_reason = f"precision {precision} from Settings"
    if precision == "auto":
        precision = info.precision
        dtype_reason = f"{precision}, the precision {info.label} was released in"
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        precision = "fp16"
        dtype_reason += "; this GPU has no bf16, so fp16"
    if mode in (None, "auto", "cpu"):
        mode = auto_mode(info, quantization=chosen["quantization"], fp8_layerwise=chosen["fp8_layerwise"])
        need = vram_estimate(info, mode, quantization=chosen["quantization"], fp8_layerwise=chosen["fp8_layerwise"])
        mode_reason = (f"auto: the fastest mode whose estimate (~{need:.0f} GB) fits the free VRAM"
                       if need is not None else "auto: the fastest mode that fits the free VRAM")
    else:
        mode_reason = f"{mode} {mode_source}"
    return RuntimePlan(device="cuda", dtype=DTYPE_NAMES[precision], memory_mode=mode,
                       device_reason="a CUDA GPU is available", dtype_reason=dtype_reason,
                       memory_mode_reason=mode_reason, levers_reason=levers_reason, **chosen)


def lever_options(settings: Settings) -> tuple[dict[str, Any], str]:
    """The Settings page's load-time levers as RuntimeOptions fields, each one this machine cannot
    use left off, and the reasons for those in words ('' when every lever is used as set)."""
    reasons: list[str] = []
    attention = settings.attention_backend
    if (why := levers.attention_refusal(attention)) is not None:
        reasons.append(f"{why}; used native attention")
        attention = "native"
    quantization = settings.quantization
    if (why := levers.quantization_refusal(quantization)) is not None:
        reasons.append(f"{why}; loaded without quantization")
        quantization = "none"
    fp8_layerwise = settings.fp8_layerwise
    if fp8_layerwise and (why := levers.fp8_layerwise_refusal(quantization)) is not None:
        reasons.append(f"{why}; no fp8 layerwise casting")
        fp8_layerwise = False
    # RuntimeOptions calls diffusers' own choice "default"; the Settings page calls it native.
    chosen = {"attention": "default" if attention == "native" else attention, "compile": settings.compile, "quantization": quantization,
              "fp8_layerwise": fp8_layerwise, "vae_tiling": settings.vae_tiling}
    return chosen, "; ".join(reasons)


def vram_estimate(info: EngineInfo, mode: str, *, quantization: str = "none", fp8_layerwise: bool = False) -> float | None:
    """GB of VRAM a run at the engine's default settings needs in `mode`, or None when unknown.

    The per-mode figures are the family's (families.py). Weights stored in 8 bits (quantization,
    fp8 layerwise casting) halve the denoiser's half-precision weights where they sit on the GPU
    whole (full_gpu, and model_offload while the denoiser runs); the offload modes stream weights
    layer by layer, so their peak is activations and barely moves."""
    need = info.vram_gb.get(mode)
    if need is None:
        return None
    if (quantization != "none" or fp8_layerwise) and mode in ("full_gpu", "model_offload"):
        need = max(need - info.denoiser_gb / 2, info.vram_gb.get("lowest", 0.0))
    return need


def settle(info: EngineInfo, runtime: RuntimeOptions) -> RuntimeOptions:
    """Options handed to an engine directly (a test, a benchmark, a stored run) made exact by the
    rules resolve_runtime follows: CUDA asked for without CUDA means the CPU, 'auto' the fastest
    mode that fits (the CPU on a CPU), and the CPU runs in float32. A resolved plan passes through
    with the same values."""
    device, mode = runtime.device, runtime.memory_mode
    if device.startswith("cuda") and not cuda_available():
        device = "cpu"
    if mode == "auto":
        mode = "cpu" if device == "cpu" else auto_mode(info, quantization=runtime.quantization,
                                                       fp8_layerwise=runtime.fp8_layerwise)
    if mode == "cpu" and device != "cpu":
        device = "cpu"
    dtype = runtime.dtype if device != "cpu" else "float32"
    # Only the RuntimeOptions fields: a plan's reasons are not part of how it runs.
    kept = {f.name: getattr(runtime, f.name) for f in fields(RuntimeOptions)}
    kept.update(device=device, dtype=dtype, memory_mode=mode, attention=runtime.attention or "default")
    return RuntimeOptions(**kept)


def auto_mode(info: EngineInfo, free_gb: float | None = None, *, quantization: str = "none",
              fp8_layerwise: bool = False) -> str:
    """The fastest memory mode whose estimate fits the free VRAM (the leanest when none does)."""
    if free_gb is None:
        memory = gpu_memory()
        free_gb = memory[0] if memory else 0.0
    for mode in MODES_BY_MEMORY:
        need = vram_estimate(info, mode, quantization=quantization, fp8_layerwise=fp8_layerwise)
        if need is not None and need <= free_gb * VRAM_HEADROOM:
            return mode
    return "lowest"


def describe_plan(info: EngineInfo, settings: Settings, requested_mode: str | None = None,
                  params: Mapping[str, Any] | None = None) -> str:
    """One sentence for the Generate page, before the run: where, how, and what it will cost.

    `params` (the form's values) scales the time estimate on CPU; the engine's defaults otherwise.
    """
    runtime = resolve_runtime(info, settings, requested_mode)
    if not info.needs_weights:
        return NO_WEIGHTS_PLAN
    dtype = SHORT_DTYPE.get(runtime.dtype, runtime.dtype)
    if runtime.device == "cpu":
        minutes = estimate_cpu_seconds(info, params) / 60
        when = "under a minute" if minutes < 1 else f"about {minutes:.0f} min"
        lowest = " with VAE/attention slicing" if runtime.memory_mode == "lowest" else ""
        slow = " — slow" if minutes >= 1 else ""
        text = f"{runtime.device_reason}: runs on CPU{lowest} in {dtype}, est. {when} for these settings{slow}"
        return text + _warm_up_note(runtime) + "."
    memory = gpu_memory()
    free, total = memory if memory else (0.0, 0.0)
    need = vram_estimate(info, runtime.memory_mode, quantization=runtime.quantization,
                         fp8_layerwise=runtime.fp8_layerwise)
    need_text = f"~{need:.0f} GB of {free:.0f} GB free" if need is not None else f"{free:.0f} GB free"
    text = f"Will run on {device_name(runtime.device)} in {runtime.memory_mode} mode, {dtype}, {need_text}"
    if need is not None and need > free * VRAM_HEADROOM:
        text += " — may run out of memory; choose a lower memory mode or smaller settings"
    return text + _warm_up_note(runtime) + "."


def _warm_up_note(runtime: RuntimeOptions) -> str:
    return "; compiled: the first run after loading is slower" if runtime.compile else ""


def estimate_cpu_seconds(info: EngineInfo, params: Mapping[str, Any] | None = None) -> float:
    """A rough CPU time for a run: the engine's seconds per step at its defaults, scaled by
    pixels x frames and by the number of steps."""
    per_step = info.cpu_seconds_per_step
    defaults = info.defaults()
    values = {**defaults, **{k: v for k, v in (params or {}).items() if v is not None}}

    def number(name: str, fallback: float) -> float:
        try:
            return float(values.get(name) or defaults.get(name) or fallback)
        except (TypeError, ValueError):
            return fallback

    scale = 1.0
    for name in ("width", "height", "frames"):
        if name in defaults:
            scale *= number(name, 1) / max(float(defaults[name]), 1.0)
    return per_step * scale * number("steps", 1)
