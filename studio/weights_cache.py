"""Whether each engine's weights are usable, checked once per (engine, model folders) and kept
until the user asks for a rescan.

A weights check reads model_index.json and safetensors headers from disk; pages ask for it for
every engine in a selectbox, for the chosen engine and for a sweep's engines, on every render.
Changing the model folders setting is a new key, so it counts at once; weights downloaded or
copied in meanwhile show after "Rescan models" (clear()). The worker does not use this cache: it
checks the weights itself when it loads a model.
"""

from __future__ import annotations

import threading

from studio.config import Settings
from studio.engines.base import WeightsStatus
from studio.engines.registry import Registry


class WeightsCache:
    def __init__(self, registry: Registry):
        self._registry = registry
        self._lock = threading.Lock()
        self._statuses: dict[tuple[str, tuple[str, ...]], WeightsStatus] = {}

    def status(self, engine_id: str, settings: Settings) -> WeightsStatus:
        key = (engine_id, tuple(settings.model_dirs))
        with self._lock:
            found = self._statuses.get(key)
        if found is None:
            # Checked outside the lock: two pages asking at once may both read the folder, which
            # is harmless, and neither waits on the other's disk reads.
            found = self._registry.get(engine_id).weights_status()
            with self._lock:
                self._statuses[key] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._statuses.clear()

    def default_engine_id(self, settings: Settings) -> str:
        """The registry's rule, answered from the cached statuses."""
        return self._registry.default_engine_id(settings, status=lambda engine_id: self.status(engine_id, settings))
