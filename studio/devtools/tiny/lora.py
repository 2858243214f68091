"""Tiny LoRA files for the tiny pipelines, made in code: random low-rank updates on the denoiser's
attention projections, with the key names diffusers writes (`transformer.<module>.lora_A.weight`),
saved as safetensors. Tests and developer checks use them as a style LoRA and as turbo's
step-distillation LoRA; they change the (random) output, nothing more."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from studio.media.atomic import atomic_path

# The attention projections every transformer family names this way (diffusers' Attention).
TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0")


def save_tiny_lora(model_folder: Path, destination: Path, *, seed: int = 0, rank: int = 2, magnitude: float = 0.5,
                   component: str = "transformer", targets: tuple[str, ...] = TARGETS,
                   key_prefix: str | None = None) -> Path:
    """A LoRA for the denoiser in `model_folder/component` (a saved tiny pipeline), at `destination`.
    Keys start with `key_prefix` (the component's name by default; a second expert's LoRA is written
    as a first expert's, "transformer.", and loaded with load_into_transformer_2)."""
    import torch
    from safetensors.torch import save_file

    config = json.loads((Path(model_folder) / component / "config.json").read_text(encoding="utf-8"))
    model_class = getattr(importlib.import_module("diffusers"), config["_class_name"])
    model = model_class.from_config(config)
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or not name.endswith(targets):
            continue
        state[f"{key_prefix or component}.{name}.lora_A.weight"] = torch.randn(rank, module.in_features, generator=generator) * magnitude
        state[f"{key_prefix or component}.{name}.lora_B.weight"] = torch.randn(module.out_features, rank, generator=generator) * magnitude
    if not state:
        raise ValueError(f"{config['_class_name']} has no layers named {', '.join(targets)}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(destination) as partial:
        save_file(state, str(partial))
    return destination


def save_tiny_turbo_lora(model_folder: Path, lora_folder: Path, file_name: str, *, expert: int = 1) -> Path:
    """The tiny turbo family's step-distillation LoRA, under the file name its TurboSpec names; for
    a two-expert family, `expert` 2 makes the second expert's (from its own config, its own seed)."""
    component = "transformer" if expert == 1 else "transformer_2"
    return save_tiny_lora(model_folder, Path(lora_folder) / file_name, seed=expert, magnitude=0.2,
                          component=component, key_prefix="transformer")
