"""A run's progress in words: "step n/N", or "section s/S · step n/N" for a model that makes its
video in sections (FramePack), worked out from the run's own parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.engines.diffusion.families import framepack_sections


def step_text(step: int, total: int, params: Mapping[str, Any] | None) -> str:
    if not total:
        return f"step {step}/?"
    if params and "latent_window_size" in params and "frames" in params:
        sections = framepack_sections(params)
        per_section = max(1, total // sections)
        section = min(max(step - 1, 0) // per_section + 1, sections)
        return f"section {section}/{sections} · step {step - (section - 1) * per_section}/{per_section}"
    return f"step {step}/{total}"
