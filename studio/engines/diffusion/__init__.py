"""Everything diffusers: one engine for every model family (engine.py), the small per-family
adapters (adapter.py, adapters/), the families as data (families.py), the window rules of
diffusion-forcing long videos (forcing.py), finding and downloading weights (weights.py) and placing
a pipeline for a memory mode (placement.py).

Importing this package stays light: torch and diffusers load only when a job runs.
"""

from __future__ import annotations

from collections.abc import Callable

from studio.config import Paths, Settings
from studio.engines.diffusion.adapter import PipelineAdapter, load_adapter
from studio.engines.diffusion.engine import DiffusionEngine
from studio.engines.diffusion.families import FAMILIES


def diffusion_engines(settings: Settings | Callable[[], Settings], paths: Paths) -> list[DiffusionEngine]:
    """One engine per family, cheap to build: nothing loads until a job runs."""
    return [DiffusionEngine(family, settings, paths) for family in FAMILIES]


__all__ = ["DiffusionEngine", "PipelineAdapter", "diffusion_engines", "load_adapter"]
