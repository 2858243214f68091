"""The request type: what to make and how to run it, as engines receive it.

Built only by studio.requests.validate (the one check) or, for a row stored under this version, by
GenerationRequest.from_stored. It lives beside the engine protocol because engines take it; the
checking lives above the engines, in studio.requests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Bump when the stored shape or the rules change in a way old rows must be re-checked against.
REQUEST_VERSION = 1

# How to run rather than what to make: accepted on every request, checked by studio.requests, never by engines.
MEMORY_MODES = ("auto", "full_gpu", "model_offload", "group_offload", "lowest")
RUNTIME_KEYS = ("memory_mode",)


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



def fingerprint(engine: str, model_id: str | None, stored_params: Mapping[str, Any]) -> str:
    """A fingerprint of a run as stored, so a row edited after it was queued is noticed."""
    canonical = json.dumps({"engine": engine, "model_id": model_id, "params": stored_params},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
