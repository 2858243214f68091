"""The speed and memory levers of the Settings page, and whether this machine can use each one.

A lever is usable when the package it needs imports and, where it needs one, a CUDA GPU is present.
The Settings page offers only the usable choices (`usable_choices`) and saving refuses any other
with its reason (`check_settings`); a worker that meets a lever it cannot use (a setting saved on
another host) runs without it and says why in the run's manifest (`runtime.resolve_runtime`).
How a lever is applied to a loaded pipeline is studio/engines/diffusion/levers.py.

Nothing here imports torch at module level: the Settings page imports this module.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass

from studio.config import Settings
from studio.engines.base import InputError


@dataclass(frozen=True)
class Requirement:
    package: str | None  # the module that must import, or None
    cuda: bool  # needs a CUDA GPU
    minimum_capability: tuple[int, int] | None = None  # CUDA compute capability, where it matters
    why: str = ""  # what the lever needs, in words, for the refusal


# Attention backends diffusers' dispatcher offers, by the name the Settings page shows.
ATTENTION_BACKENDS: Mapping[str, Requirement] = {
    "native": Requirement(None, cuda=False),
    "flash": Requirement("flash_attn", cuda=True, why="flash needs the flash-attn package and a CUDA GPU"),
    "sage": Requirement("sageattention", cuda=True, why="sage needs the sageattention package and a CUDA GPU"),
    "xformers": Requirement("xformers", cuda=True, why="xformers needs the xformers package and a CUDA GPU"),
}

# Weight quantization on load. fp8 weight-only kernels need Ada (8.9) or newer.
QUANTIZATIONS: Mapping[str, Requirement] = {
    "none": Requirement(None, cuda=False),
    "int8_weight_only": Requirement("torchao", cuda=False, why="int8 weight-only quantization needs the torchao package"),
    "fp8_weight_only": Requirement("torchao", cuda=True, minimum_capability=(8, 9),
                                   why="fp8 weight-only quantization needs the torchao package and a CUDA GPU "
                                       "of compute capability 8.9 or newer (Ada, Hopper)"),
    "gguf": Requirement("gguf", cuda=False, why="GGUF checkpoints need the gguf package"),
}

# Families whose denoiser diffusers can load from one GGUF file (from_single_file); their model
# folder must hold the .gguf file.
GGUF_FAMILIES = ("wan", "ltx")

FP8_LAYERWISE = Requirement(None, cuda=False, why="fp8 layerwise casting needs a torch with float8 types")


def refusal(requirement: Requirement) -> str | None:
    """Why `requirement` cannot be met on this machine, or None when it can."""
    if requirement.package is not None and importlib.util.find_spec(requirement.package) is None:
        return requirement.why
    if requirement.cuda:
        import torch

        if not torch.cuda.is_available():
            return requirement.why
        if requirement.minimum_capability is not None:
            if torch.cuda.get_device_capability() < requirement.minimum_capability:
                return requirement.why
    if requirement is FP8_LAYERWISE:
        import torch

        if not hasattr(torch, "float8_e4m3fn"):
            return requirement.why
    return None


def attention_refusal(name: str) -> str | None:
    return refusal(ATTENTION_BACKENDS[name])


def quantization_refusal(name: str) -> str | None:
    return refusal(QUANTIZATIONS[name])


def fp8_layerwise_refusal(quantization: str) -> str | None:
    if quantization != "none":
        return "fp8 layerwise casting and weight quantization both store the weights in 8 bits; choose one"
    return refusal(FP8_LAYERWISE)


def usable_choices() -> dict[str, list[str]]:
    """The choices the Settings page offers for each lever: those this machine can use."""
    return {
        "attention_backend": [name for name in ATTENTION_BACKENDS if attention_refusal(name) is None],
        "quantization": [name for name in QUANTIZATIONS if quantization_refusal(name) is None],
    }


def check_settings(settings: Settings) -> None:
    """Refuse levers this machine cannot use, naming the setting, the reason and what to use instead."""
    reason = attention_refusal(settings.attention_backend)
    if reason:
        raise InputError("attention_backend", f"Attention backend: {reason}.", "native")
    reason = quantization_refusal(settings.quantization)
    if reason:
        raise InputError("quantization", f"Weight quantization: {reason}.", "none")
    if settings.fp8_layerwise:
        reason = fp8_layerwise_refusal(settings.quantization)
        if reason:
            raise InputError("fp8_layerwise", f"fp8 layerwise casting: {reason}.", False)
