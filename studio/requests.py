"""GenerationRequest: what to make and how to run it, validated once.

`validate()` is the only place a run's parameters are checked and its seed is drawn. The page
previews with it as the user types, `JobQueue.submit` stores what it returns with the run (and the
schema version), and the worker rebuilds the request from the stored row without checking it again:
only a row stored under another version (an older studio, a hand-edited database) is re-validated.
Engines receive the request already clean and never validate it themselves.

Later additions (a LoRA stack, a last frame, extend-from, post-processing) get a field on the
request type (studio.engines.request) and their check in `validate()`, so every caller sees them
the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from studio.engines.base import COMMON_FIELDS, MAX_SEED, Engine, InputError
from studio.engines.diffusion import run_options
from studio.engines.diffusion.run_options import RUN_OPTION_KEYS
from studio.engines.keyframes import KEYFRAME_KEYS, check_keyframes
from studio.engines.request import (
    MEMORY_MODES,
    REQUEST_VERSION,
    RUNTIME_KEYS,
    GenerationRequest,
    RuntimeRequest,
    fingerprint,
)
from studio.post.steps import POST_KEYS, check_post_options

__all__ = [
    "MEMORY_MODES", "REQUEST_VERSION", "RUNTIME_KEYS", "GenerationRequest", "RuntimeRequest", "draw_random_seed",
    "fingerprint", "known_keys", "load_stored", "validate", "validate_for",
]

SEED_LIMIT = MAX_SEED + 1


class EngineLookup(Protocol):
    def get(self, engine_id: str) -> Engine: ...


def validate(registry: EngineLookup, engine_id: str, params: Mapping[str, Any]) -> GenerationRequest:
    """The full check a run must pass to be queued. A missing seed is drawn here and recorded, so
    every run can be reproduced."""
    engine = registry.get(engine_id)  # an unknown id is an InputError naming the known ones
    skipped = (*RUNTIME_KEYS, *KEYFRAME_KEYS, *RUN_OPTION_KEYS, *POST_KEYS)
    engine_params = {k: v for k, v in params.items() if k not in skipped}
    clean = engine.validate(engine_params)
    clean.update(check_keyframes(engine.info, params))
    clean.update(run_options.check(engine, params, clean))  # LoRAs and speed
    clean.update(check_post_options(params))  # post-processing after the run: kept only when asked for
    mode = params.get("memory_mode") or "auto"
    if mode not in MEMORY_MODES:
        raise InputError("memory_mode", f"Memory mode must be one of {', '.join(MEMORY_MODES)}; got {mode!r}.", "auto")
    if clean.get("seed") is None:
        clean["seed"] = draw_random_seed()
    runtime = RuntimeRequest(memory_mode=str(mode) if engine.info.needs_weights else None)
    return GenerationRequest(engine=engine_id, model_id=engine.info.model_id, params=clean, runtime=runtime)


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
    options = set(RUN_OPTION_KEYS) if run_options.takes_run_options(engine) else set()
    return ({s.name for s in engine.info.params} | set(COMMON_FIELDS) | set(RUNTIME_KEYS) | set(KEYFRAME_KEYS) | options
            | set(POST_KEYS))
