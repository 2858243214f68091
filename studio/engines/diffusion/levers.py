"""Applying the load-time speed and memory levers to a diffusers pipeline, and the warm-pipeline key.

The levers come in RuntimeOptions (decided by studio.engines.runtime from the Settings page; which
are usable at all is studio.engines.levers). In load order:
  1. quantization — extra `from_pretrained` arguments: torchao int8/fp8 weight-only for the
     denoiser(s) (`PipelineQuantizationConfig`), or the denoiser read from a GGUF single file;
  2. fp8 layerwise casting — weights stored in float8, each layer cast up as it runs (before the
     pipeline is placed, so offload hooks see the small weights);
  3. after placement: the attention backend, VAE tiling and slicing, then torch.compile last, so it
     traces the model as it will run.
Each step returns notes for the manifest on what it could not do; `applied` says what it did.

torch and diffusers are imported inside the functions only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.engines import levers as usable
from studio.engines.base import RuntimeOptions
from studio.engines.diffusion import placement


@dataclass
class LeverResult:
    """What the levers did to one loaded pipeline (kept with it, copied into each run's manifest)."""

    applied: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def warm_key(location: Path, runtime: RuntimeOptions) -> tuple[Any, ...]:
    """What a loaded pipeline is reused on: the weights and every RuntimeOptions field (device,
    precision, memory mode and each lever). Anything that needs a reload must be in it."""
    return (str(location), *runtime._key())


def denoiser_names(location: Path, adapter_denoiser: str) -> list[str]:
    """The pipeline's denoiser components: the adapter's, plus a second expert where the model has
    one (transformer_2, as Wan 2.2 A14B)."""
    names = [adapter_denoiser]
    index = _model_index(location)
    # A pipeline saved without its second expert lists it as [null, null] (Wan's TI2V and 2.1 folders).
    names += [name for name, entry in index.items()
              if name.startswith(f"{adapter_denoiser}_") and name[len(adapter_denoiser) + 1:].isdigit()
              and isinstance(entry, list) and None not in entry]
    return names


def load_arguments(location: Path, denoisers: list[str], family: str, runtime: RuntimeOptions,
                   dtype: Any, result: LeverResult) -> dict[str, Any]:
    """Extra keyword arguments for `from_pretrained` (quantization); records what was done in `result`."""
    quantization = runtime.quantization
    result.applied["quantization"] = "none"
    if quantization in ("int8_weight_only", "fp8_weight_only"):
        from diffusers import PipelineQuantizationConfig, TorchAoConfig
        from torchao.quantization import Float8WeightOnlyConfig, Int8WeightOnlyConfig

        config = Int8WeightOnlyConfig if quantization == "int8_weight_only" else Float8WeightOnlyConfig
        result.applied["quantization"] = quantization
        result.applied["quantized"] = list(denoisers)
        return {"quantization_config": PipelineQuantizationConfig(
            quant_mapping={name: TorchAoConfig(config()) for name in denoisers})}
    if quantization == "gguf":
        return _gguf_denoisers(location, denoisers, family, dtype, result)
    return {}


def before_placement(pipe: Any, denoisers: list[str], runtime: RuntimeOptions, result: LeverResult) -> None:
    result.applied["fp8_layerwise"] = False
    if not runtime.fp8_layerwise:
        return
    import torch

    compute = placement.torch_dtype(runtime.dtype)
    for name in denoisers:
        model = getattr(pipe, name, None)
        if model is None or not hasattr(model, "enable_layerwise_casting"):
            result.notes.append(f"{name} cannot store its weights in fp8; kept in {runtime.dtype}")
            continue
        model.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute)
        result.applied["fp8_layerwise"] = True


def after_placement(pipe: Any, denoisers: list[str], runtime: RuntimeOptions, result: LeverResult) -> None:
    _attention(pipe, runtime.attention, result)
    _vae(pipe, runtime.vae_tiling, result)
    _compile(pipe, denoisers, runtime.compile, result)


class _TorchaoImportFilter(logging.Filter):
    """Drops what importing torchao says on every pipeline load once it is installed (diffusers
    imports it to register its quantizer), none of which concerns the studio: its optional compiled
    kernels built for another torch ("Failed to load .../_C*.so"; weight-only int8 and fp8 do not use
    them), diffusers' "Unable to import `torchao` Tensor objects" (needed only to unpickle torchao
    checkpoints, which the studio never loads), and torch's deprecation note on the enums torchao
    registers. Every other message of these loggers still comes through."""

    NOISE = ("Failed to load", "Unable to import `torchao` Tensor objects",
             "is an Enum subclass and is now natively supported")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self.NOISE)


_TORCHAO_FILTER = _TorchaoImportFilter()


def quiet_torchao_import() -> None:
    """Filter torchao's import-time noise; call before diffusers loads a pipeline."""
    for name in ("torchao", "diffusers.quantizers.torchao.torchao_quantizer", "torch.utils._pytree"):
        logger = logging.getLogger(name)
        if _TORCHAO_FILTER not in logger.filters:
            logger.addFilter(_TORCHAO_FILTER)


# -- the steps ----------------------------------------------------------------------------------

def _attention(pipe: Any, backend: str, result: LeverResult) -> None:
    # native is what diffusers' dispatcher uses unless told otherwise: nothing to set.
    if backend in ("", "default", "native"):
        result.applied["attention"] = "native"
        return
    if (why := usable.attention_refusal(backend)) is not None:
        result.notes.append(f"{why}; used native attention")
        result.applied["attention"] = "native"
        return
    used = placement.apply_attention_backend(pipe, backend)
    if used != backend:
        result.notes.append(f"attention backend {backend!r} is not supported by this model; used native")
    result.applied["attention"] = "native" if used == "default" else used


def _vae(pipe: Any, tiling: bool, result: LeverResult) -> None:
    result.applied["vae_tiling"] = False
    if not tiling:
        return
    missing = placement.enable_vae_savings(pipe, tiling=True)
    result.applied["vae_tiling"] = "this VAE has no tiling" not in missing
    if missing and "decode_chunk_size" in _call_parameters(pipe):
        result.notes.append("this VAE has no tiling; it decodes 'Decode chunk' frames at a time instead")
    else:
        result.notes += missing


def _compile(pipe: Any, denoisers: list[str], wanted: bool, result: LeverResult) -> None:
    result.applied["compile"] = "off"
    if not wanted:
        return
    for name in denoisers:
        model = getattr(pipe, name, None)
        if model is None:
            continue
        # Regional: each repeated block is compiled once and reused, so the warm-up is seconds
        # rather than minutes and the speed is the same as compiling the whole model.
        if getattr(model, "_repeated_blocks", None):
            model.compile_repeated_blocks(fullgraph=False)
            result.applied["compile"] = "regional"
        else:
            model.compile()
            result.applied["compile"] = "whole denoiser"
    if result.applied["compile"] != "off":
        result.notes.append("torch.compile: the first run after loading compiles (slower); later runs are faster")


def _gguf_denoisers(location: Path, denoisers: list[str], family: str, dtype: Any, result: LeverResult) -> dict[str, Any]:
    if family not in usable.GGUF_FAMILIES:
        result.notes.append("diffusers cannot load this model's denoiser from a GGUF file; loaded without quantization")
        return {}
    # Every denoiser's file first: two experts are loaded from GGUF both, or neither.
    files: dict[str, Path] = {}
    for name in denoisers:
        found = sorted((location / name).glob("*.gguf")) + sorted(location.glob(f"{name}*.gguf"))
        if not found:
            result.notes.append(f"no .gguf file for {name} in {location}; loaded without quantization")
            return {}
        files[name] = found[0]
    import diffusers
    from diffusers import GGUFQuantizationConfig

    index = _model_index(location)
    compute = dtype["default"] if isinstance(dtype, dict) else dtype
    loaded: dict[str, Any] = {}
    for name, file in files.items():
        model_class = getattr(diffusers, index[name][1])
        loaded[name] = model_class.from_single_file(
            str(file), quantization_config=GGUFQuantizationConfig(compute_dtype=compute),
            config=str(location), subfolder=name, torch_dtype=compute, local_files_only=True)
    result.applied["quantization"] = "gguf"
    result.applied["gguf_files"] = [file.name for file in files.values()]
    return loaded


def _model_index(location: Path) -> dict[str, Any]:
    try:
        return json.loads((location / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _call_parameters(pipe: Any) -> set[str]:
    import inspect

    return set(inspect.signature(type(pipe).__call__).parameters)
