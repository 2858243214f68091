"""The post-processing a generation asks for, as request fields, and the child run each makes.

A request may carry `interpolate` (2 or 4), `upscale` (2) and `pingpong` (true); they are kept in
the run's parameters only when set, so older rows are unchanged. When the run succeeds the worker
queues the first as a child run, which carries the rest: smooth, then upscale (fewer frames to
smooth at the smaller size), then the loop, each a child of the one before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.engines.base import InputError, ParamSpec
from studio.post.base import Clip, PostEngine, source_clip
from studio.post.loop import PingPongEngine
from studio.post.smooth import FACTORS as SMOOTH_FACTORS
from studio.post.smooth import SmoothEngine
from studio.post.upscale import FACTORS as UPSCALE_FACTORS
from studio.post.upscale import UpscaleEngine

# Request field -> (engine id, the engine option it sets); in the order they are applied.
POST_KEYS = ("interpolate", "upscale", "pingpong")
ENGINE_OF = {"interpolate": "smooth", "upscale": "upscale", "pingpong": "pingpong"}
# What each field means when absent: no post-processing.
DEFAULTS: dict[str, Any] = {"interpolate": 1, "upscale": 1, "pingpong": False}
LABELS = {"interpolate": "Smooth", "upscale": "Upscale", "pingpong": "Ping-pong loop"}


# The numeric fields as a sweep varies them (1: none), e.g. the same run made plain, x2 and x4 smooth.
SWEEP_SPECS = (
    ParamSpec("interpolate", "Smooth (x)", "choice", 1, "Frame interpolation after the run: 1 (off), 2 or 4.",
              choices=(1, *SMOOTH_FACTORS)),
    ParamSpec("upscale", "Upscale (x)", "choice", 1, "Upscaling after the run: 1 (off) or 2.",
              choices=(1, *UPSCALE_FACTORS)),
)


def post_engines() -> list[PostEngine]:
    return [SmoothEngine(), UpscaleEngine(), PingPongEngine()]


def check_post_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The post-processing fields of a request, checked; only those set (not their default)."""
    chosen: dict[str, Any] = {}
    for key, allowed in (("interpolate", SMOOTH_FACTORS), ("upscale", UPSCALE_FACTORS)):
        raw = params.get(key)
        text = "" if raw is None else str(raw).strip().lower().lstrip("x")  # "x2", "2", "Off", "x1"
        if text in ("", "1", "off", "none"):
            continue
        try:
            value = int(text)
        except ValueError:
            value = None
        if value not in allowed:
            raise InputError(key, f"{LABELS[key]} must be one of off, {', '.join(f'x{f}' for f in allowed)}; "
                                  f"got {raw!r}.", allowed[0])
        chosen[key] = value
    raw = params.get("pingpong")
    if raw not in (None, "", False):
        lowered = str(raw).strip().lower()
        if raw is True or lowered in ("1", "true", "yes", "on"):
            chosen["pingpong"] = True
        elif lowered not in ("0", "false", "no", "off"):
            raise InputError("pingpong", f"Ping-pong loop must be true or false; got {raw!r}.", False)
    return chosen


def pending(params: Mapping[str, Any]) -> list[str]:
    """The post-processing fields still to apply to a run's video, in order."""
    return [key for key in POST_KEYS if params.get(key, DEFAULTS[key]) != DEFAULTS[key]]


def child_params(engine: PostEngine, source_id: int, source_params: Mapping[str, Any],
                 options: Mapping[str, Any], then: Mapping[str, Any], *, source: Clip | None = None,
                 chain_from: int = 0) -> dict[str, Any]:
    """The parameters of the post run made from `source_id` with `engine`: its options, the shape
    of the video it makes, the source's prompt and seed (so the gallery finds it with its source)
    and the post-processing still to come after it. `source` is the video worked on when it is not
    the source run's alone (an extend chain joined from run `chain_from`)."""
    made: Clip = engine.plan(source or source_clip(source_params), options)
    chain = {"chain_from": chain_from} if chain_from else {}
    return {**options, "source_run": source_id, **chain, "width": made.width, "height": made.height,
            "frames": made.frames, "fps": made.fps, "prompt": source_params.get("prompt", ""),
            "seed": source_params.get("seed"), **then}


def next_step(source_id: int, source_params: Mapping[str, Any], engines: Mapping[str, PostEngine]
              ) -> tuple[str, dict[str, Any]] | None:
    """The engine and parameters of the child run a finished run asks for next, or None."""
    keys = pending(source_params)
    if not keys:
        return None
    key, rest = keys[0], keys[1:]
    options = {} if key == "pingpong" else {"factor": source_params[key]}
    engine_id = ENGINE_OF[key]
    then = {k: source_params[k] for k in rest}
    return engine_id, child_params(engines[engine_id], source_id, source_params, options, then)
