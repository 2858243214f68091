"""How a SkyReels-V2 diffusion-forcing video is cut into windows, and the rules that keep the cut valid.

The diffusion-forcing pipeline makes at most `base_frames` frames at once (the model's window). A
longer video is made window by window; each new window starts from the last `overlap_history`
frames of the one before and adds `base_frames - overlap_history` new ones. Counts live on the Wan
VAE's latent grid (4 video frames per latent frame, plus the first).

The rules, each checked before a run starts (diffusers 0.42.1 would otherwise fail or degrade):
  * the overlap is shorter than the window;
  * a long video fills whole windows (frames = base + k x (base - overlap)): the pipeline's last,
    shorter window indexes past its own frames and fails with an IndexError;
  * in asynchronous mode (ar_step > 0) frames are denoised in causal blocks of CAUSAL_BLOCK latent
    frames: a window must hold whole blocks (frames past the last whole block would stay noise), and
    so must the overlap (the pipeline drops a partial block, and a window could start from nothing).

Pure arithmetic: imported by the family rules, which stay free of torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from studio.engines.base import InputError

TEMPORAL_FACTOR = 4  # the Wan VAE makes one latent frame of every 4 video frames (plus the first)
# Latent frames per causal block in asynchronous mode: the value the SkyReels-V2 pipeline docs
# recommend with ar_step 5 (diffusers pipeline_skyreels_v2_diffusion_forcing_i2v.py, `ar_step`).
CAUSAL_BLOCK = 5


def latent_frames(frames: int) -> int:
    return (frames - 1) // TEMPORAL_FACTOR + 1


def window_count(frames: int, base_frames: int, overlap: int) -> int:
    """How many windows make a video of `frames` frames (valid parameters assumed)."""
    if frames <= base_frames:
        return 1
    return 1 + -(-(frames - base_frames) // (base_frames - overlap))


def causal_block_size(params: Mapping[str, Any]) -> int:
    """Latent frames per block: CAUSAL_BLOCK in asynchronous mode, 1 (every frame together) otherwise."""
    return CAUSAL_BLOCK if params["ar_step"] > 0 else 1


def check_windows(params: Mapping[str, Any], labels: Mapping[str, str], limits: Mapping[str, tuple[int, int]]) -> None:
    """Raise InputError naming the parameter that breaks a rule above, with the nearest valid value.
    `labels` and `limits` are each parameter's label and (minimum, maximum), from its ParamSpec."""
    frames, base, overlap = params["frames"], params["base_frames"], params["overlap_history"]
    asynchronous = params["ar_step"] > 0
    block_rule = (f"must hold whole blocks of {CAUSAL_BLOCK} latent frames (17, 37, 57, ... frames) in asynchronous "
                  f"mode ({labels['ar_step']} above 0)")

    if overlap >= base:
        _refuse("overlap_history", labels, f"must be fewer than {labels['base_frames']} ({base})", overlap,
                _nearest(overlap, _frame_values(*limits["overlap_history"], below=base)))
    if asynchronous and latent_frames(base) % CAUSAL_BLOCK:
        _refuse("base_frames", labels, block_rule, base,
                _nearest(base, (v for v in _frame_values(*limits["base_frames"]) if _whole_blocks(v))))
    if frames <= base:
        if asynchronous and latent_frames(frames) % CAUSAL_BLOCK:
            _refuse("frames", labels, block_rule, frames,
                    _nearest(frames, (v for v in _frame_values(*limits["frames"], below=base + 1) if _whole_blocks(v))))
        return
    if asynchronous and latent_frames(overlap) % CAUSAL_BLOCK:
        _refuse("overlap_history", labels, block_rule, overlap,
                _nearest(overlap, (v for v in _frame_values(*limits["overlap_history"], below=base) if _whole_blocks(v))),
                otherwise=f"No overlap fits a window of {base} frames: make {labels['base_frames']} larger, "
                          f"or set {labels['ar_step']} to 0.")
    stride = base - overlap
    if (frames - base) % stride:
        low, high = limits["frames"]
        grid = [v for v in range(base, high + 1, stride) if v >= low]
        _refuse("frames", labels,
                f"must fill whole windows beyond {labels['base_frames']}: {base} plus a multiple of {stride} "
                f"({labels['base_frames']} minus {labels['overlap_history']}), such as "
                + ", ".join(str(v) for v in grid[:3]), frames, _nearest(frames, grid))


def _whole_blocks(frames: int) -> bool:
    return latent_frames(frames) % CAUSAL_BLOCK == 0


def _frame_values(low: int, high: int, *, below: int | None = None) -> Iterable[int]:
    """The frame counts of the form 4k+1 from `low` to `high` (and under `below`)."""
    top = high if below is None else min(high, below - 1)
    start = low + (1 - low) % TEMPORAL_FACTOR
    return range(start, top + 1, TEMPORAL_FACTOR)


def _nearest(value: int, candidates: Iterable[int]) -> int | None:
    # Ties go up, as ParamSpec.nearest does: larger is usually what was meant.
    return min(candidates, key=lambda v: (abs(v - value), -v), default=None)


def _refuse(param: str, labels: Mapping[str, str], rule: str, value: int, nearest: int | None,
            otherwise: str = "") -> None:
    hint = f" Nearest valid value: {nearest}." if nearest is not None else (f" {otherwise}" if otherwise else "")
    raise InputError(param, f"{labels[param]} {rule}; {value} is not.{hint}", nearest)
