"""Fault injection, for tests of the out-of-memory path. The tiny engines name `inject_from_env` as
their step hook (families.py); real models have none, so the production engine never reads this
setting. Set STUDIO_TINY_FAULT to KIND@MODE:STEP, for example

    STUDIO_TINY_FAULT=oom@full_gpu:2

makes a tiny engine raise torch.OutOfMemoryError inside denoising step 2 when it runs in memory
mode full_gpu, so a retry in a lower mode succeeds. KIND is `oom` (torch.OutOfMemoryError, as a GPU
raises) or `memory` (MemoryError, as the host raises); MODE is a memory mode or `*` for any.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

FAULT_ENV = "STUDIO_TINY_FAULT"
FAULT_KINDS = ("oom", "memory")


@dataclass(frozen=True)
class Fault:
    kind: str
    mode: str
    step: int

    def maybe_raise(self, step: int, mode: str) -> None:
        """Raise the injected error when the run reaches `self.step` in `self.mode`."""
        if step != self.step or self.mode not in ("*", mode):
            return
        message = f"injected by {FAULT_ENV}={self.kind}@{self.mode}:{self.step}"
        if self.kind == "memory":
            raise MemoryError(message)
        import torch

        raise torch.OutOfMemoryError(message)


def parse_fault(text: str) -> Fault:
    """'oom@full_gpu:2' -> Fault('oom', 'full_gpu', 2); ValueError naming the format otherwise."""
    try:
        kind, rest = text.strip().split("@", 1)
        mode, step = rest.rsplit(":", 1)
        fault = Fault(kind.strip(), mode.strip(), int(step))
    except ValueError:
        raise ValueError(f"{FAULT_ENV}={text!r} is not KIND@MODE:STEP (e.g. oom@full_gpu:2).") from None
    if fault.kind not in FAULT_KINDS or fault.step < 1:
        raise ValueError(f"{FAULT_ENV}={text!r}: KIND is one of {', '.join(FAULT_KINDS)} and STEP is 1 or more.")
    return fault


def fault_from_env(environ: Mapping[str, str] | None = None) -> Fault | None:
    value = (os.environ if environ is None else environ).get(FAULT_ENV, "").strip()
    return parse_fault(value) if value else None


def inject_from_env(step: int, memory_mode: str) -> None:
    """The tiny engines' step hook: raise the fault STUDIO_TINY_FAULT names, if any, at this step.
    Read at each step, so a test can set it after the engine was built."""
    fault = fault_from_env()
    if fault is not None:
        fault.maybe_raise(step, memory_mode)
