"""Tiny LoRA files for the tiny pipelines, made in code: random low-rank updates on the denoiser's
attention projections, with the key names diffusers writes (`transformer.<module>.lora_A.weight`,
`unet.…` for a UNet),
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
                   layout: str = "diffusers") -> Path:
    """A LoRA for the denoiser in `model_folder/component` (a saved tiny pipeline), at `destination`.
    `layout` "diffusers": keys as diffusers writes them, `transformer.<module>.lora_A.weight` (also
    for a second expert, which load_into_transformer_2 loads from a first expert's names). "original":
    a Wan checkpoint's own names as lightx2v's distillation files have them,
    `diffusion_model.blocks.N.self_attn.q.lora_down.weight` with an `.alpha`, which diffusers converts."""
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
        down = torch.randn(rank, module.in_features, generator=generator) * magnitude
        up = torch.randn(module.out_features, rank, generator=generator) * magnitude
        if layout == "original":
            key = "diffusion_model." + name.replace("attn1.to_out.0", "self_attn.o").replace("attn1.to_", "self_attn.")
            state.update({f"{key}.lora_down.weight": down, f"{key}.lora_up.weight": up,
                          f"{key}.alpha": torch.tensor(float(rank))})
        else:
            prefix = "unet" if component == "unet" else "transformer"  # a second expert's too: see above
            state.update({f"{prefix}.{name}.lora_A.weight": down, f"{prefix}.{name}.lora_B.weight": up})
    if not state:
        raise ValueError(f"{config['_class_name']} has no layers named {', '.join(targets)}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(destination) as partial:
        save_file(state, str(partial))
    return destination


def save_tiny_turbo_lora(model_folder: Path, lora_folder: Path, file_name: str, *, expert: int | None = None) -> Path:
    """The tiny turbo family's step-distillation LoRA, under the file name its TurboSpec names. For
    a two-expert family, `expert` 1 or 2 makes that expert's half (from its own config, its own
    seed), laid out as Wan2.2-Lightning's files are."""
    if expert is None:
        return save_tiny_lora(model_folder, Path(lora_folder) / file_name, seed=1, magnitude=0.2)
    return save_tiny_lora(model_folder, Path(lora_folder) / file_name, seed=expert, magnitude=0.2,
                          component="transformer" if expert == 1 else "transformer_2", layout="original")
