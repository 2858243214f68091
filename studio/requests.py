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

import hashlib
import json
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
    """The user's say in how a run executes; the worker turns it into concrete RuntimeOptions.
    None where the engine has no such choice (the camera-motion engine always runs on the CPU)."""

    memory_mode: str | None = "auto"


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

    def stored_params(self) -> dict[str, Any]:
        """The flat dict kept in the run's `params` column: the engine's parameters and, for engines
        where it means something, the memory mode (the gallery and the recipe read it there)."""
        stored = dict(self.params)
        if self.runtime.memory_mode is not None:
            stored["memory_mode"] = self.runtime.memory_mode
        return stored

    def fingerprint(self) -> str:
        return fingerprint(self.engine, self.model_id, self.stored_params())

    @classmethod
    def from_stored(cls, engine: str, model_id: str | None, params: Mapping[str, Any]) -> GenerationRequest:
        """The request a row stored under REQUEST_VERSION holds; not checked again."""
        engine_params = {k: v for k, v in params.items() if k not in RUNTIME_KEYS}
        runtime = RuntimeRequest(memory_mode=params.get("memory_mode"))
        return cls(engine=engine, model_id=model_id, params=engine_params, runtime=runtime)


def validate(registry: EngineLookup, engine_id: str, params: Mapping[str, Any]) -> GenerationRequest:
    """The full check a run must pass to be queued. A missing seed is drawn here and recorded, so
    every run can be reproduced."""
    engine = registry.get(engine_id)  # an unknown id is an InputError naming the known ones
    engine_params = {k: v for k, v in params.items() if k not in RUNTIME_KEYS}
    clean = engine.validate(engine_params)
    mode = params.get("memory_mode") or "auto"
    if mode not in MEMORY_MODES:
        raise InputError("memory_mode", f"Memory mode must be one of {', '.join(MEMORY_MODES)}; got {mode!r}.", "auto")
    if clean.get("seed") is None:
        clean["seed"] = draw_random_seed()
    runtime = RuntimeRequest(memory_mode=str(mode) if engine.info.needs_weights else None)
    return GenerationRequest(engine=engine_id, model_id=engine.info.model_id, params=clean, runtime=runtime)


def fingerprint(engine: str, model_id: str | None, stored_params: Mapping[str, Any]) -> str:
    """A fingerprint of a run as stored, so a row edited after it was queued is noticed."""
    canonical = json.dumps({"engine": engine, "model_id": model_id, "params": stored_params},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_stored(registry: EngineLookup, *, engine: str, model_id: str | None, params: Mapping[str, Any],
                version: int | None, stored_digest: str | None) -> GenerationRequest:
    """The request a queued row holds. A row stored by this version of the studio and unchanged
    since is taken as it is; anything else (an older studio, a row edited by hand or by another
    client) is validated again, so nothing invalid ever reaches an engine."""
    if version == REQUEST_VERSION and stored_digest == fingerprint(engine, model_id, params):
        return GenerationRequest.from_stored(engine, model_id, params)
    return validate(registry, engine, params)


def validate_for(engine: Engine, params: Mapping[str, Any]) -> GenerationRequest:
    """validate() against one engine object, for tools and benchmarks that hold an engine rather
    than the registry."""
    return validate(_OneEngine(engine), engine.info.id, params)


@dataclass(frozen=True)
class _OneEngine:
    engine: Engine

    def get(self, engine_id: str) -> Engine:
        if engine_id != self.engine.info.id:
            raise InputError("engine", f"Unknown engine {engine_id!r}.")
        return self.engine


def draw_random_seed() -> int:
    """Random by default, always recorded: the one place a seed is drawn."""
    return secrets.randbelow(SEED_LIMIT)


def known_keys(engine: Engine) -> set[str]:
    """Every name a request for this engine may carry (its parameters, the common and runtime keys)."""
    return {s.name for s in engine.info.params} | set(COMMON_FIELDS) | set(RUNTIME_KEYS)
