"""A run's LoRA stack on the loaded pipeline, through diffusers' `load_lora_weights` and
`set_adapters`; for a pipeline diffusers gives no LoRA loader, through its denoiser: diffusers'
PEFT methods where it has them (HunyuanVideo 1.5 in 0.42.1), PEFT itself where it has none
(I2VGen-XL's and SVD's UNets).

Each file is loaded once, as an adapter named after its sha256, and stays on the warm pipeline: the
next run that uses it only sets its strength, and one that does not removes it (delete_adapters), so
switching LoRAs never reloads the base model. The file is read with safetensors and handed over as
a state dict, so nothing pickled is ever opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engines.base import InputError

ADAPTER_PREFIX = "studio-"


@dataclass(frozen=True)
class StackEntry:
    """One LoRA of a run, as checked by studio.engines.run_options."""

    name: str
    path: Path
    sha256: str
    strength: float
    second_expert: bool = False  # into the second expert as well
    second_only: bool = False  # into the second expert alone (a per-expert distillation's low-noise half)

    @property
    def adapter(self) -> str:
        return f"{ADAPTER_PREFIX}{self.sha256[:16]}"

    @property
    def adapters(self) -> list[tuple[str, bool]]:
        """(adapter name, into the second expert) for each copy: diffusers loads a LoRA into either
        the first denoiser or, with load_into_transformer_2, the second, so "both" is two adapters."""
        second = [(f"{self.adapter}-2", True)]
        if self.second_only:
            return second
        first = [(self.adapter, False)]
        return first + second if self.second_expert else first

    @classmethod
    def from_stored(cls, entry: Mapping[str, Any]) -> StackEntry:
        return cls(name=str(entry["name"]), path=Path(entry["path"]), sha256=str(entry["sha256"]),
                   strength=float(entry["strength"]), second_expert=bool(entry.get("second_expert", False)),
                   second_only=bool(entry.get("second_only", False)))


class _DenoiserHost:
    """The denoiser's PEFT adapters, with the four calls of a pipeline's LoRA loader that
    apply_stack makes, through diffusers' PeftAdapterMixin on the denoiser. Files in diffusers'
    layout name the denoiser's layers `transformer.…` (`unet.…` for a UNet)."""

    def __init__(self, denoiser: Any, component: str):
        self._denoiser = denoiser
        self._component = component

    def get_list_adapters(self) -> dict[str, list[str]]:
        config = getattr(self._denoiser, "peft_config", None) or {}
        return {self._component: list(config)}

    def delete_adapters(self, names: list[str]) -> None:
        self._denoiser.delete_adapters(names)

    def load_lora_weights(self, state: dict[str, Any], adapter_name: str) -> None:
        prefix = self._component if any(key.startswith(f"{self._component}.") for key in state) else None
        self._denoiser.load_lora_adapter(state, prefix=prefix, adapter_name=adapter_name)

    def set_adapters(self, names: list[str], weights: list[float]) -> None:
        self._denoiser.set_adapters(names, weights)


class _PeftHost(_DenoiserHost):
    """A denoiser diffusers gives no PEFT methods either (I2VGen-XL's and SVD's UNets): the adapter
    is put in with PEFT itself, as diffusers' load_lora_adapter does it (the LoraConfig from the
    file's ranks by diffusers' get_peft_kwargs). Files in PEFT's layout (lora_A / lora_B) only."""

    def delete_adapters(self, names: list[str]) -> None:
        from diffusers.utils.peft_utils import delete_adapter_layers

        for name in names:
            delete_adapter_layers(self._denoiser, name)
            self._denoiser.peft_config.pop(name, None)

    def load_lora_weights(self, state: dict[str, Any], adapter_name: str) -> None:
        from diffusers.utils.peft_utils import get_peft_kwargs
        from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict

        prefix = f"{self._component}."
        if any(key.startswith(prefix) for key in state):
            state = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
        ranks = {key: value.shape[1] for key, value in state.items() if "lora_B" in key}
        if not ranks:
            raise ValueError("no PEFT LoRA layers (lora_A / lora_B) found in the file")
        config = LoraConfig(**get_peft_kwargs(ranks, None, state, is_unet=True))
        inject_adapter_in_model(config, self._denoiser, adapter_name=adapter_name)
        set_peft_model_state_dict(self._denoiser, state, adapter_name=adapter_name)

    def set_adapters(self, names: list[str], weights: list[float]) -> None:
        from diffusers.utils.peft_utils import set_weights_and_activate_adapters

        set_weights_and_activate_adapters(self._denoiser, names, weights)


def _host(pipe: Any) -> Any | None:
    """What takes the LoRAs: the pipeline's own loader, else its denoiser through diffusers' PEFT
    methods, else through PEFT itself; None for a pipeline with no denoiser it knows."""
    if hasattr(pipe, "load_lora_weights"):
        return pipe
    for component in ("transformer", "unet"):
        denoiser = getattr(pipe, component, None)
        if denoiser is not None:
            host = _DenoiserHost if hasattr(denoiser, "load_lora_adapter") else _PeftHost
            return host(denoiser, component)
    return None


def apply_stack(pipe: Any, stack: Sequence[StackEntry], model_label: str) -> list[dict[str, Any]]:
    """Make the pipeline's active adapters exactly `stack`, at its strengths; what the manifest records."""
    host = _host(pipe)
    if host is None:
        if stack:
            raise InputError("loras", f"{model_label} cannot take LoRAs: diffusers has no LoRA loader for its pipeline.")
        return []
    present = {name for names in host.get_list_adapters().values() for name in names}
    wanted = {adapter: (entry, second) for entry in stack for adapter, second in entry.adapters}
    stale = sorted(present - set(wanted))
    if stale:
        host.delete_adapters(stale)
    for adapter, (entry, second) in wanted.items():
        if adapter not in present:
            _load(host, entry, adapter, second, model_label)
    if wanted:
        host.set_adapters(list(wanted), [entry.strength for entry, _ in wanted.values()])
    return [{"name": e.name, "sha256": e.sha256, "strength": e.strength, "second_expert": e.second_expert,
             "adapter": e.adapter} for e in stack]


def _load(host: Any, entry: StackEntry, adapter: str, second: bool, model_label: str) -> None:
    from safetensors.torch import load_file

    from studio.engines.diffusion.lora_library import sha256

    # A re-run takes its stored request as it is: the file may have gone or changed since.
    if not entry.path.is_file():
        raise InputError("loras", f"LoRA {entry.name} is no longer at {entry.path}. Put it back, or edit the run "
                                  "and pick the LoRA again.")
    if sha256(entry.path) != entry.sha256:
        raise InputError("loras", f"LoRA {entry.name} at {entry.path} is not the file this run was queued with "
                                  "(its contents changed). Edit the run and pick the LoRA again.")
    state = load_file(str(entry.path))
    kwargs = {"load_into_transformer_2": True} if second else {}
    try:
        host.load_lora_weights(state, adapter_name=adapter, **kwargs)
    except (ValueError, RuntimeError, KeyError, AttributeError) as exc:
        # A half-loaded adapter would stay active on the warm pipeline.
        present = {name for names in host.get_list_adapters().values() for name in names}
        if adapter in present:
            host.delete_adapters([adapter])
        raise InputError("loras", f"LoRA {entry.name} does not fit {model_label}: its layers do not match the "
                                  f"model's ({_reason(exc)}). Choose a LoRA made for {model_label}.") from None


def _reason(exc: Exception) -> str:
    """The line of diffusers' or PEFT's message that says what did not match."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [line for line in lines if "mismatch" in line or "not found" in line]
    return (telling or lines or [type(exc).__name__])[0][:300]
