"""Applying a decided runtime to a loaded diffusers pipeline: device placement, memory mode, VAE and
attention savings, the attention backend, and giving device memory back.

What to run with is decided in studio/engines/runtime.py (`resolve_runtime`); this module only
carries it out, and returns notes on whatever it had to do differently (kept in the manifest).
On a CPU there is no VRAM to save, so the modes do what is honest there: full_gpu and cpu run the same
way, model_offload needs an accelerator and falls back to plain CPU (with a note in the manifest),
lowest enables VAE slicing/tiling and attention slicing, which lowers peak host memory.

torch is imported inside the functions only, so building the registry stays cheap.
"""

from __future__ import annotations

from typing import Any

from studio.engines.base import RuntimeOptions
from studio.engines import runtime as rt


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
        if mode in ("model_offload", "group_offload"):
            notes.append(f"{mode} needs a GPU; ran with the whole pipeline on the CPU instead")
        elif mode == "full_gpu":
            notes.append("no GPU: full_gpu ran with the whole pipeline on the CPU")
        elif mode == "lowest":
            notes += enable_vae_savings(pipe, tiling=True)
            notes += _enable_attention_slicing(pipe)
        return notes
    if mode == "full_gpu":
        pipe.to(runtime.device)
    elif mode == "model_offload":
        pipe.enable_model_cpu_offload(device=runtime.device)
        notes += enable_vae_savings(pipe, tiling=False)
    elif mode == "group_offload":
        import torch

        # Leaf level: the least VRAM group offloading can use; the stream copies the next layer in
        # while this one computes, which is what makes it faster than 'lowest'.
        pipe.enable_group_offload(onload_device=torch.device(runtime.device), offload_device=torch.device("cpu"),
                                  offload_type="leaf_level", use_stream=True)
        notes += enable_vae_savings(pipe, tiling=True)
    elif mode == "lowest":
        pipe.enable_sequential_cpu_offload(device=runtime.device)
        notes += enable_vae_savings(pipe, tiling=True)
    else:
        raise ValueError(f"unknown memory mode {mode!r}")
    return notes


def enable_vae_savings(pipe: Any, *, tiling: bool) -> list[str]:
    """Decode one frame batch at a time (slicing) and, with `tiling`, in overlapping tiles; returns
    notes naming what this pipeline's VAE cannot do."""
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
    if rt.cuda_available():
        import torch

        torch.cuda.empty_cache()
