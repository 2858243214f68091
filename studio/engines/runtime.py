"""How a diffusion engine runs: device, number format, memory mode — decided before the run, applied
to a loaded pipeline, and described to the user in one sentence.

Memory modes, from fastest to leanest:
  full_gpu       the whole pipeline lives on the GPU.
  model_offload  each model moves to the GPU only while it runs (enable_model_cpu_offload); VAE slicing.
  lowest         weights stream to the GPU layer by layer (enable_sequential_cpu_offload); VAE slicing
                 and tiling. Slow, but runs big models on small cards.
  cpu            no GPU: everything on the CPU in float32.
On a CPU there is no VRAM to save, so the modes do what is honest there: full_gpu and cpu run the same
way, model_offload needs an accelerator and falls back to plain CPU (with a note in the manifest),
lowest enables VAE slicing/tiling and attention slicing, which lowers peak host memory.

torch is imported inside the functions only, so the pages can import this module cheaply.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

from studio.config import Settings
from studio.engines.base import EngineInfo, RuntimeOptions

MODES_BY_MEMORY = ("full_gpu", "model_offload", "lowest")
DTYPE_NAMES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
SHORT_DTYPE = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32"}
# Free VRAM kept in reserve when "auto" picks a mode: the CUDA context, fragmentation, the desktop.
VRAM_HEADROOM = 0.9


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


def device_name(device: str) -> str:
    if device.startswith("cuda") and cuda_available():
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.processor() or platform.machine()})"


def resolve_runtime(info: EngineInfo, settings: Settings, requested_mode: str | None = None) -> RuntimeOptions:
    """Turn the user's settings (and a per-run memory-mode choice, e.g. a retry) into concrete options.

    CPU (no CUDA, or Settings.device == 'cpu'): device 'cpu', float32, memory mode 'cpu' — except an
    explicit 'lowest', which stays 'lowest' because its slicing/tiling also lowers host memory.
    GPU: the precision setting, 'auto' meaning the family's recommended half precision (bf16 falls
    back to fp16 on cards without bf16); the memory mode requested, else the setting, where 'auto'
    picks the fastest mode whose VRAM estimate fits in the free memory.
    """
    # A run's own choice wins; "auto" there (the queue's default) defers to the Settings page.
    mode = requested_mode if requested_mode not in (None, "", "auto") else settings.memory_mode
    if not info.needs_weights:
        return RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
    use_cuda = settings.device != "cpu" and cuda_available()
    if not use_cuda:
        return RuntimeOptions(device="cpu", dtype="float32", memory_mode="lowest" if mode == "lowest" else "cpu")

    import torch

    precision = settings.precision
    if precision == "auto":
        precision = _preferred_precision(info)
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        precision = "fp16"
    if mode in (None, "auto", "cpu"):
        mode = auto_mode(info)
    return RuntimeOptions(device="cuda", dtype=DTYPE_NAMES[precision], memory_mode=mode)


def _preferred_precision(info: EngineInfo) -> str:
    # Imported here: families imports this module.
    from studio.engines.families import family_for

    family = family_for(info.id)
    return family.precision if family else "fp16"


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
    if not info.needs_weights:
        return "Runs on the CPU; no model weights needed."
    runtime = resolve_runtime(info, settings, requested_mode)
    dtype = SHORT_DTYPE.get(runtime.dtype, runtime.dtype)
    if runtime.device == "cpu":
        minutes = estimate_cpu_seconds(info, params) / 60
        when = "under a minute" if minutes < 1 else f"about {minutes:.0f} min"
        why = "No GPU" if not cuda_available() else "Device set to CPU"
        lowest = " with VAE/attention slicing" if runtime.memory_mode == "lowest" else ""
        slow = " — slow" if minutes >= 1 else ""
        return f"{why}: runs on CPU{lowest} in {dtype}, est. {when} for these settings{slow}."
    memory = gpu_memory()
    free, total = memory if memory else (0.0, 0.0)
    need = info.vram_gb.get(runtime.memory_mode)
    need_text = f"~{need:.0f} GB of {free:.0f} GB free" if need is not None else f"{free:.0f} GB free"
    text = f"Will run on {device_name(runtime.device)} in {runtime.memory_mode} mode, {dtype}, {need_text}"
    if need is not None and need > free * VRAM_HEADROOM:
        text += " — may run out of memory; choose a lower memory mode or smaller settings"
    return text + "."


def estimate_cpu_seconds(info: EngineInfo, params: Mapping[str, Any] | None = None) -> float:
    """A rough CPU time for a run: the family's seconds per step at its defaults, scaled by
    pixels x frames and by the number of steps."""
    from studio.engines.families import family_for

    family = family_for(info.id)
    per_step = family.cpu_seconds_per_step if family else 60.0
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


# ---------------------------------------------------------------------------------------------
# applying a runtime to a loaded pipeline


def torch_dtype(name: str):
    import torch

    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[name]


def apply_memory_mode(pipe: Any, runtime: RuntimeOptions) -> list[str]:
    """Place `pipe` for `runtime` (device and memory mode) and return notes on what was done
    differently from what was asked (kept in the run's manifest)."""
    notes: list[str] = []
    mode = runtime.memory_mode
    if runtime.device == "cpu":
        pipe.to("cpu")
        if mode == "model_offload":
            notes.append("model_offload needs a GPU; ran with the whole pipeline on the CPU instead")
        elif mode == "full_gpu":
            notes.append("no GPU: full_gpu ran with the whole pipeline on the CPU")
        elif mode == "lowest":
            notes += _enable_vae_savings(pipe, tiling=True)
            notes += _enable_attention_slicing(pipe)
        return notes
    if mode == "full_gpu":
        pipe.to(runtime.device)
    elif mode == "model_offload":
        pipe.enable_model_cpu_offload(device=runtime.device)
        notes += _enable_vae_savings(pipe, tiling=False)
    elif mode == "lowest":
        pipe.enable_sequential_cpu_offload(device=runtime.device)
        notes += _enable_vae_savings(pipe, tiling=True)
    else:
        raise ValueError(f"unknown memory mode {mode!r}")
    return notes


def _enable_vae_savings(pipe: Any, *, tiling: bool) -> list[str]:
    vae = getattr(pipe, "vae", None)
    missing = []
    for name, wanted in (("slicing", True), ("tiling", tiling)):
        if not wanted:
            continue
        method = getattr(vae, f"enable_{name}", None)
        try:
            method()
        except (TypeError, NotImplementedError):  # no such method, or this VAE cannot
            missing.append(name)
    return [f"this VAE has no {name}" for name in missing]


def _enable_attention_slicing(pipe: Any) -> list[str]:
    modules = [m for m in getattr(pipe, "components", {}).values() if hasattr(m, "set_attention_slice")]
    if not modules:
        return ["attention slicing is not available for this pipeline"]
    try:
        pipe.enable_attention_slicing("auto")
    except (ValueError, NotImplementedError, AttributeError) as exc:
        return [f"attention slicing failed: {exc}"]
    return []


def apply_attention_backend(pipe: Any, backend: str) -> str:
    """Set the attention backend on the denoiser models that support it (diffusers' dispatcher);
    returns what is actually in use."""
    if not backend or backend == "default":
        return "default"
    applied = False
    for module in getattr(pipe, "components", {}).values():
        setter = getattr(module, "set_attention_backend", None)
        if callable(setter):
            try:
                setter(backend)
                applied = True
            except Exception:  # unsupported on this model/hardware: keep the default for it
                continue
    return backend if applied else "default"


def free_device_memory() -> None:
    """Return cached allocator memory to the system (after a pipeline is dropped)."""
    import gc

    gc.collect()
    if cuda_available():
        import torch

        torch.cuda.empty_cache()
