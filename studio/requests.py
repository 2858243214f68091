"""GenerationRequest: what to make and how to run it, validated once.

`validate()` is the only place a run's parameters are checked and its seed is drawn. The page
previews with it as the user types, `JobQueue.submit` stores what it returns with the run (and the
schema version), and the worker rebuilds the request from the stored row without checking it again:
only a row stored under another version (an older studio, a hand-edited database) is re-validated.
Engines receive the request already clean and never validate it themselves.

Later additions (a LoRA stack, a last frame, extend-from, post-processing) get a field here, with
their check in `validate()`, so every caller sees them the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from studio.engines.base import COMMON_FIELDS, Engine, InputError

# Bump when the stored shape or the rules change in a way old rows must be re-checked against.
REQUEST_VERSION = 1

# How to run rather than what to make: accepted on every request, checked here, never by engines.
MEMORY_MODES = ("auto", "full_gpu", "model_offload", "lowest")
RUNTIME_KEYS = ("memory_mode",)

SEED_LIMIT = 2**32


class EngineLookup(Protocol):
    def get(self, engine_id: str) -> Engine: ...


@dataclass(frozen=True)
class RuntimeRequest:
    """The user's say in how a run executes; the worker turns it into concrete RuntimeOptions."""

    memory_mode: str = "auto"


@dataclass(frozen=True)
class GenerationRequest:
    engine: str
    model_id: str | None
    # Every engine parameter (defaults filled in) plus the common fields; the seed is always an int.
    params: Mapping[str, Any] = field(default_factory=dict)
    runtime: RuntimeRequest = field(default_factory=RuntimeRequest)
    version: int = REQUEST_VERSION

    @property
    def seed(self) -> int:
        return int(self.params["seed"])

    @property
    def prompt(self) -> str:
        return str(self.params.get("prompt", ""))

    @property
    def negative_prompt(self) -> str:
        return str(self.params.get("negative_prompt", ""))

    def stored_params(self, *, needs_weights: bool) -> dict[str, Any]:
        """The flat dict kept in the run's `params` column: the engine's parameters, and the memory
        mode for engines where it means something (the gallery and the recipe read it there)."""
        stored = dict(self.params)
        if needs_weights:
            stored["memory_mode"] = self.runtime.memory_mode
        return stored

    @classmethod
    def from_stored(cls, engine: str, model_id: str | None, params: Mapping[str, Any]) -> GenerationRequest:
        """The request a row stored under REQUEST_VERSION holds; not checked again."""
        engine_params = {k: v for k, v in params.items() if k not in RUNTIME_KEYS}
        runtime = RuntimeRequest(memory_mode=str(params.get("memory_mode") or "auto"))
        return cls(engine=engine, model_id=model_id, params=engine_params, runtime=runtime)


def validate(registry: EngineLookup, engine_id: str, params: Mapping[str, Any], *,
             draw_seed: bool = True) -> GenerationRequest:
    """The full check a run must pass to be queued. A missing seed is drawn here (and recorded, so
    the run can be reproduced); `draw_seed=False` leaves it None for a preview that must not pick
    one the user never sees."""
    engine = registry.get(engine_id)  # an unknown id is an InputError naming the known ones
    engine_params = {k: v for k, v in params.items() if k not in RUNTIME_KEYS}
    clean = engine.validate(engine_params)
    mode = params.get("memory_mode") or "auto"
    if mode not in MEMORY_MODES:
        raise InputError("memory_mode", f"Memory mode must be one of {', '.join(MEMORY_MODES)}; got {mode!r}.", "auto")
    if clean.get("seed") is None and draw_seed:
        clean["seed"] = draw_random_seed()
    return GenerationRequest(engine=engine_id, model_id=engine.info.model_id, params=clean,
                             runtime=RuntimeRequest(memory_mode=str(mode)))


def draw_random_seed() -> int:
    """Random by default, always recorded: the one place a seed is drawn."""
    return secrets.randbelow(SEED_LIMIT)


def known_keys(engine: Engine) -> set[str]:
    """Every name a request for this engine may carry (its parameters, the common and runtime keys)."""
    return {s.name for s in engine.info.params} | set(COMMON_FIELDS) | set(RUNTIME_KEYS)
