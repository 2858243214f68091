"""How a run will run: device, number format, memory mode — decided in one place, before the run,
with the reason for each in words. The worker runs with the decision, the Generate page shows it as
one sentence (`describe_plan`), and the run's manifest keeps it.

Memory modes, from fastest to leanest:
  full_gpu       the whole pipeline lives on the GPU.
  model_offload  each model moves to the GPU only while it runs (enable_model_cpu_offload); VAE slicing.
  lowest         weights stream to the GPU layer by layer (enable_sequential_cpu_offload); VAE slicing
                 and tiling. Slow, but runs big models on small cards.
  cpu            no GPU: everything on the CPU in float32.
How a diffusers pipeline is put into a mode is studio/engines/diffusion/placement.py.

torch is imported inside the functions only, so the pages can import this module cheaply.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

from studio.config import Settings
from studio.engines.base import EngineInfo, RuntimeOptions, RuntimePlan

MODES_BY_MEMORY = ("full_gpu", "model_offload", "lowest")
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
           "estimate_cpu_seconds", "gpu_memory", "next_lower_mode", "resolve_runtime", "settle"]


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
    if settings.device == "cpu" or not cuda:
        device_reason = DEVICE_SET_TO_CPU if cuda else NO_GPU
        if mode == "lowest":
            return RuntimePlan(device="cpu", dtype="float32", memory_mode="lowest", device_reason=device_reason,
                               dtype_reason="the CPU runs in float32",
                               memory_mode_reason=f"lowest {mode_source}: VAE/attention slicing lowers host memory")
        return RuntimePlan(device="cpu", dtype="float32", memory_mode="cpu", device_reason=device_reason,
                           dtype_reason="the CPU runs in float32", memory_mode_reason="no GPU memory to manage")

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
        mode = auto_mode(info)
        need = info.vram_gb.get(mode)
        mode_reason = (f"auto: the fastest mode whose estimate (~{need:.0f} GB) fits the free VRAM"
                       if need is not None else "auto: the fastest mode that fits the free VRAM")
    else:
        mode_reason = f"{mode} {mode_source}"
    return RuntimePlan(device="cuda", dtype=DTYPE_NAMES[precision], memory_mode=mode,
                       device_reason="a CUDA GPU is available", dtype_reason=dtype_reason,
                       memory_mode_reason=mode_reason)


def settle(info: EngineInfo, runtime: RuntimeOptions) -> RuntimeOptions:
    """Options handed to an engine directly (a test, a benchmark, a stored run) made exact by the
    rules resolve_runtime follows: CUDA asked for without CUDA means the CPU, 'auto' the fastest
    mode that fits (the CPU on a CPU), and the CPU runs in float32. A resolved plan passes through
    with the same values."""
    device, mode = runtime.device, runtime.memory_mode
    if device.startswith("cuda") and not cuda_available():
        device = "cpu"
    if mode == "auto":
        mode = "cpu" if device == "cpu" else auto_mode(info)
    if mode == "cpu" and device != "cpu":
        device = "cpu"
    dtype = runtime.dtype if device != "cpu" else "float32"
    return RuntimeOptions(device=device, dtype=dtype, memory_mode=mode, attention=runtime.attention or "default")


def auto_mode(info: EngineInfo, free_gb: float | None = None) -> str:
    """The fastest memory mode whose estimate fits the free VRAM (the leanest when none does)."""
    if free_gb is None:
        memory = gpu_memory()
        free_gb = memory[0] if memory else 0.0
    for mode in MODES_BY_MEMORY:
        need = info.vram_gb.get(mode)
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
        return f"{runtime.device_reason}: runs on CPU{lowest} in {dtype}, est. {when} for these settings{slow}."
    memory = gpu_memory()
    free, total = memory if memory else (0.0, 0.0)
    need = info.vram_gb.get(runtime.memory_mode)
    need_text = f"~{need:.0f} GB of {free:.0f} GB free" if need is not None else f"{free:.0f} GB free"
    text = f"Will run on {device_name(runtime.device)} in {runtime.memory_mode} mode, {dtype}, {need_text}"
    if need is not None and need > free * VRAM_HEADROOM:
        text += " — may run out of memory; choose a lower memory mode or smaller settings"
    return text + "."


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
