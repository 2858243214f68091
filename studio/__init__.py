"""The image-to-video studio. `from studio import generate_video, submit` is its Python API
(studio.automation); the names load on first use, so importing any part of the studio stays light."""

from __future__ import annotations

from typing import Any

__all__ = ["Studio", "generate_video", "submit"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from studio import automation

        return getattr(automation, name)
    raise AttributeError(f"module 'studio' has no attribute {name!r}")
