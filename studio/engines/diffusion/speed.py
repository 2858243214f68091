"""The per-run speed choice: quality (the model as released), fast (a cache hook on the denoiser)
or turbo (a step-distillation LoRA with the few steps and the guidance it was distilled for).

fast is diffusers' First Block Cache: each step the denoiser's first block runs, and when its output
changed less than a threshold since the last step, the remaining blocks are skipped and their last
change reused. The threshold is per family (Family.fast_cache_threshold). The hook is put on for a
fast run and taken off for the next quality run, on the loaded pipeline: no reload either way.

turbo needs the distillation weights (Family.turbo names the file and where to get it); they are
looked up in the LoRA folders and applied with the run's LoRA stack (lora.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

SPEEDS = ("quality", "fast", "turbo")
DEFAULT_SPEED = "quality"
# The denoisers the cache hook goes on: a two-expert pipeline's second expert too.
_DENOISERS = ("transformer", "transformer_2")


@dataclass(frozen=True)
class TurboSpec:
    """A step-distillation LoRA for a family: its file name (looked up in the LoRA folders), where
    to download it, and the steps, guidance and strength it was distilled for."""

    file: str
    source: str  # hub repository (or, for tiny engines, the code that builds it)
    steps: int = 4
    guidance: float = 1.0
    strength: float = 1.0
    # A two-expert model (Wan 2.2 A14B) is distilled expert by expert: `file` goes into the first
    # (high-noise) expert only and this one into the second (low-noise) expert only.
    second_file: str | None = None

    @property
    def files(self) -> tuple[str, ...]:
        return (self.file,) if self.second_file is None else (self.file, self.second_file)

    def hint(self) -> str:
        files = " and ".join(self.files)
        return (f"Download {files} from {self.source} and put {'them' if self.second_file else 'it'} in one of "
                "your LoRA folders (Settings → LoRA folders).")


@functools.cache  # once per process: the registry is diffusers' own, global
def _register_blocks() -> None:
    """diffusers 0.42.1's First Block Cache runs only on the blocks in its registry, and three of
    the families' blocks are missing from it. Each is registered as diffusers registers its twin:
    SkyReels-V2's block (Wan's, copied) returns the hidden states alone, as Wan's does; HunyuanVideo
    1.5's returns (hidden states, encoder hidden states), as HunyuanVideo's does. LTX-2's returns
    (video, sound) hidden states: the hook carries a second stream over a skipped block only under
    the name `encoder_hidden_states`, so its metadata reads the sound's argument under that name."""
    from diffusers.hooks._helpers import TransformerBlockMetadata, TransformerBlockRegistry
    from diffusers.models.transformers.transformer_hunyuan_video15 import HunyuanVideo15TransformerBlock
    from diffusers.models.transformers.transformer_ltx2 import LTX2VideoTransformerBlock
    from diffusers.models.transformers.transformer_skyreels_v2 import SkyReelsV2TransformerBlock

    class SoundAsSecondStream(TransformerBlockMetadata):
        def _get_parameter_from_args_kwargs(self, identifier: str, args: tuple = (), kwargs: dict | None = None) -> Any:
            if identifier == "encoder_hidden_states":
                identifier = "audio_hidden_states"
            return super()._get_parameter_from_args_kwargs(identifier, args, kwargs)

    for block, metadata in (
        (SkyReelsV2TransformerBlock, TransformerBlockMetadata(return_hidden_states_index=0)),
        (HunyuanVideo15TransformerBlock, TransformerBlockMetadata(return_hidden_states_index=0,
                                                                   return_encoder_hidden_states_index=1)),
        (LTX2VideoTransformerBlock, SoundAsSecondStream(return_hidden_states_index=0, return_encoder_hidden_states_index=1)),
    ):
        TransformerBlockRegistry.register(block, metadata)


def apply_speed(pipe: Any, speed: str, threshold: float | None) -> dict[str, Any]:
    """Put the cache hook on for `fast`, take it off otherwise; returns what the manifest records."""
    from diffusers.hooks import FirstBlockCacheConfig

    if speed == "fast":
        _register_blocks()

    record: dict[str, Any] = {"speed": speed}
    for name in _DENOISERS:
        denoiser = getattr(pipe, name, None)
        if denoiser is None or not hasattr(denoiser, "enable_cache"):
            continue
        if getattr(denoiser, "is_cache_enabled", False):
            # Off before every run, on again for a fast one: the cache starts each video empty.
            denoiser.disable_cache()
        if speed == "fast" and threshold is not None:
            try:
                denoiser.enable_cache(FirstBlockCacheConfig(threshold=threshold))
            except IndexError:  # diffusers finds no block after the first (a one-block tiny model)
                record["cache_note"] = f"{name} has a single block: nothing for the cache to skip"
                continue
            record["cache"] = "first_block_cache"
            record["cache_threshold"] = threshold
    return record
