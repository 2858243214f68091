"""Parameter sweeps: parse the values a user types for one or two parameters, and expand a base
request into one request per combination.

Values are a list (`6, 9, 12`), a range with a step (`6-12 (+3)`), or both (`4-8 (+2), 16`).
Choice parameters take their option names (`zoom_in, pan_left`); the special axis "engine" takes
engine ids. Everything not on an axis, the seed included, stays the same across the sweep, so the
videos differ only in what was varied.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from studio.engines.base import MAX_SEED, EngineInfo, InputError, ParamSpec
from studio.engines.diffusion.run_options import LORA_STRENGTH
from studio.post.steps import SWEEP_SPECS
from studio.requests import draw_random_seed

MAX_VALUES_PER_AXIS = 64
_RANGE = re.compile(r"^\s*(-?[\d.]+)\s*(?:-|\.\.|to)\s*(-?[\d.]+)\s*(?:\(\s*\+\s*([\d.]+)\s*\))?\s*$")
SEED_SPEC = ParamSpec("seed", "Seed", "int", 0, "", minimum=0, maximum=MAX_SEED)


@dataclass(frozen=True)
class Axis:
    param: str
    values: tuple[Any, ...]

    def as_json(self) -> dict[str, Any]:
        return {"param": self.param, "values": list(self.values)}


def parse_values(spec: ParamSpec, text: str) -> tuple[Any, ...]:
    """The values of one axis, typed and in the order given (duplicates dropped)."""
    items = [item for item in _split(text) if item]
    if not items:
        raise InputError(spec.name, f"Give at least one value for {spec.label}, e.g. '6, 9, 12' or '6-12 (+3)'.")
    values: list[Any] = []
    for item in items:
        match = _RANGE.match(item) if spec.kind in ("int", "float") else None
        if match:
            values.extend(_expand_range(spec, item, *match.groups()))
        else:
            values.append(spec.coerce(item))
        if len(values) > MAX_VALUES_PER_AXIS:
            raise InputError(spec.name, f"At most {MAX_VALUES_PER_AXIS} values per parameter; '{text}' gives more.")
    return tuple(dict.fromkeys(values))


def _split(text: str) -> list[str]:
    # Commas separate items, but not the comma-free "(+3)" step of a range.
    return [part.strip() for part in re.split(r",(?![^(]*\))", text)]


def _expand_range(spec: ParamSpec, item: str, start_text: str, stop_text: str, step_text: str | None) -> list[Any]:
    start, stop = float(start_text), float(stop_text)
    step = float(step_text) if step_text else (spec.step or 1)
    if step <= 0:
        raise InputError(spec.name, f"The step in '{item}' must be positive.")
    if stop < start:
        raise InputError(spec.name, f"'{item}' runs backwards; write the smaller value first.")
    count = int((stop - start) / step + 1e-9) + 1
    if count > MAX_VALUES_PER_AXIS:
        raise InputError(spec.name, f"'{item}' gives {count} values; at most {MAX_VALUES_PER_AXIS} are allowed.")
    numbers = [start + i * step for i in range(count)]
    if spec.kind == "int":
        if any(abs(n - round(n)) > 1e-9 for n in numbers):  # "8-12 (+0.5)" for frames: not rounded behind one's back
            raise InputError(spec.name, f"{spec.label} takes whole numbers; '{item}' would give "
                                        f"{next(n for n in numbers if abs(n - round(n)) > 1e-9):g}. Use a whole step.")
        return [spec.coerce(round(n)) for n in numbers]
    return [round(n, 6) for n in numbers]


def expand(base: Mapping[str, Any], axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """One parameter dict per combination of the axes' values, first axis slowest."""
    if not 1 <= len(axes) <= 2:
        raise InputError("sweep", "A sweep varies one or two parameters.")
    if len({a.param for a in axes}) != len(axes):
        raise InputError("sweep", "Pick two different parameters to vary.")
    fixed = dict(base)
    if fixed.get("seed") is None and all(a.param != "seed" for a in axes):
        # One seed for the whole sweep: otherwise every video differs in more than what was varied.
        fixed["seed"] = draw_random_seed()
    combos = []
    for values in itertools.product(*(a.values for a in axes)):
        params = dict(fixed)
        params.update({axis.param: value for axis, value in zip(axes, values, strict=True)})
        combos.append(params)
    return combos


# What a user reads for a parameter of an engine: (engine id, parameter name) -> its label.
ParamNames = Callable[[str, str], str]


def stored_name(engine_id: str, name: str) -> str:
    """The parameter's stored name: for callers that know no engines (stored data, URLs, tests)."""
    return name


# Fields every request carries, labelled as the Generate form labels them.
_COMMON_LABELS = {"prompt": "Prompt", "negative_prompt": "Negative prompt", "memory_mode": "Memory mode",
                  "speed": "Speed", "loras": "LoRAs"}


def param_label(info: EngineInfo | None, name: str) -> str:
    """The one place that decides a parameter's display name, on screen and in exported videos: the
    engine's ParamSpec label (the motion engine stores its strength as "guidance" so sweeps line up
    across engines, but calls it "Motion amount"). The seed and the engine axis are not engine
    parameters; a name the engine does not (or no longer) have is shown as stored, spaced."""
    if name == "seed":
        return SEED_SPEC.label
    if name == "engine":
        return "Engine"
    if name in _COMMON_LABELS:
        return _COMMON_LABELS[name]
    if name == LORA_STRENGTH.name:
        return LORA_STRENGTH.label
    for spec in (*(info.params if info is not None else ()), *SWEEP_SPECS):  # then the post-processing fields
        if spec.name == name:
            return spec.label
    return name.replace("_", " ").capitalize()


def param_names(infos: Iterable[EngineInfo]) -> ParamNames:
    """A ParamNames for these engines (e.g. `param_names(registry.infos())`)."""
    by_id = {info.id: info for info in infos}
    return lambda engine_id, name: param_label(by_id.get(engine_id), name)


def label(params: Mapping[str, Any], axes: Sequence[Axis], names: ParamNames = stored_name) -> str:
    """How a run of the sweep is titled in grids and exported comparisons, e.g. 'Motion amount=9 ·
    Seed=3' (with `names` from param_names; 'guidance=9 · seed=3' without)."""
    engine = str(params.get("engine", ""))
    return " · ".join(f"{names(engine, a.param)}={params.get(a.param)}" for a in axes)
