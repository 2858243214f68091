"""The creator's own defaults (Settings: size, frames, fps, camera move) laid over an engine's.

One function decides it: `applied` gives the engine's description with those defaults in place of
its own, each rounded to what that engine accepts (Wan's 48 frames become 49, frames = 4k+1). The
Generate form is drawn from it, and `launch.py run`/`submit` and the Python and HTTP APIs fill the
values a request leaves out from it (studio.submitting), so every way of queueing starts alike.
The size default is a pixel budget: the square's area, in each photo's own shape (studio.sizing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from studio.config import Settings
from studio.engines.base import EngineInfo

# The parameters a creator default may set, and where that default lives in Settings.
SETTING_OF = {"frames": "default_frames", "fps": "default_fps", "motion": "default_camera_move",
              "width": "default_size", "height": "default_size"}


def applied(info: EngineInfo, settings: Settings) -> EngineInfo:
    """`info` with the creator's defaults as its parameters' defaults (unset ones: the engine's own)."""
    changed = _defaults(info, settings)
    if not changed:
        return info
    params = tuple(dataclasses.replace(spec, default=changed[spec.name]) if spec.name in changed else spec
                   for spec in info.params)
    return dataclasses.replace(info, params=params)


def fill(info: EngineInfo, settings: Settings, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with the creator's frames, fps and camera move where the request gives none. The
    size is left to studio.sizing, which fits the budget to each image."""
    filled = dict(params)
    for name, value in _defaults(info, settings).items():
        if name not in ("width", "height") and filled.get(name) in (None, ""):
            filled[name] = value
    return filled


def _defaults(info: EngineInfo, settings: Settings) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    for name, setting in SETTING_OF.items():
        value = getattr(settings, setting)
        if not value or not info.has_param(name):
            continue  # 0 or "": the engine's own default
        spec = info.param(name)
        if spec.choices:
            if value in spec.choices:
                chosen[name] = value
        else:
            chosen[name] = spec.nearest(value)
    return chosen
