"""The one engine protocol every generator implements, and the data that describes an engine.

Pages build their form from `EngineInfo.params`. `studio.requests.validate` calls an engine's
`validate` once, when a run's GenerationRequest is built; `generate` receives that request already
clean and never checks it again. Nothing here imports torch: the launcher and the pages must stay
light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from studio.engines.request import GenerationRequest
from studio.media.audio import AudioTrack

ParamKind = Literal["int", "float", "choice", "bool"]
MemoryMode = Literal["auto", "full_gpu", "model_offload", "group_offload", "lowest", "cpu"]

# Parameters every request carries whatever the engine; engines list the rest as ParamSpecs.
COMMON_FIELDS = ("prompt", "negative_prompt", "seed")


# Seeds are drawn and accepted as unsigned 32-bit numbers (torch and numpy generators both take them).
MAX_SEED = 2**32 - 1


class InputError(ValueError):
    """A request breaks a rule. Names the parameter, says the rule and, when one exists, the nearest
    valid value so the UI can offer it in one click."""

    def __init__(self, param: str, message: str, suggestion: Any | None = None):
        super().__init__(message)
        self.param = param
        self.message = message
        self.suggestion = suggestion


class Cancelled(Exception):
    """Raised inside `generate` when `cancelled()` turns true; the run ends as canceled."""


class OutOfMemory(Exception):
    """The device (or host) ran out of memory. `advice` names what to lower; `retry_mode` is the
    lower-memory mode to offer for a one-click retry, or None when there is none lower."""

    def __init__(self, advice: str, retry_mode: str | None = None):
        super().__init__(advice)
        self.advice = advice
        self.retry_mode = retry_mode


class WeightsMissing(Exception):
    """The engine's weights are not installed (or are unusable); `hint` says how to get them."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ParamSpec:
    """One engine parameter: what the form shows, what validation enforces, what sweeps vary."""

    name: str
    label: str
    kind: ParamKind
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    multiple_of: int | None = None
    # (m, r): the value must satisfy value % m == r, e.g. Wan's "frames = 4k+1" is (4, 1).
    congruent: tuple[int, int] | None = None
    sweepable: bool = True

    @property
    def rule(self) -> str:
        """The constraint in words, as shown next to the widget and in errors."""
        parts = []
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"between {_fmt(self.minimum)} and {_fmt(self.maximum)}")
        elif self.minimum is not None:
            parts.append(f"at least {_fmt(self.minimum)}")
        if self.multiple_of:
            parts.append(f"a multiple of {self.multiple_of}")
        if self.congruent:
            m, r = self.congruent
            parts.append(f"of the form {m}k+{r}")
        if self.choices:
            parts.append("one of " + ", ".join(_fmt(c) for c in self.choices))
        return ", ".join(parts)

    def coerce(self, value: Any) -> Any:
        """Turn a form/CLI/JSON value into this parameter's type, or raise InputError."""
        try:
            if self.kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                return int(value) if not isinstance(value, str) else int(value.strip())
            if self.kind == "float":
                number = float(value)
                if not math.isfinite(number):
                    raise ValueError
                return number
            if self.kind == "bool":
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered in {"1", "true", "yes", "on"}:
                        return True
                    if lowered in {"0", "false", "no", "off"}:
                        return False
                    raise ValueError
                return bool(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: a whole number past any float
            raise InputError(
                self.name, f"{self.label} must be {'a whole number' if self.kind == 'int' else 'a number' if self.kind == 'float' else 'true or false'}; got {_shown(value)}.", self.default
            ) from None
        # choice: compare as the choices' own type so "512" from a CLI matches 512
        for choice in self.choices:
            if value == choice or str(value) == str(choice):
                return choice
        raise InputError(self.name, f"{self.label} must be {self.rule}; got {_shown(value)}.", self.default)

    def check(self, value: Any) -> Any:
        """Coerce and enforce the rules; on failure the error carries the nearest valid value."""
        value = self.coerce(value)
        if self.kind not in ("int", "float"):
            return value
        nearest = self.nearest(value)
        if nearest != value:
            raise InputError(
                self.name,
                f"{self.label} must be {self.rule}; {_fmt(value)} is not. Nearest valid value: {_fmt(nearest)}.",
                nearest,
            )
        return value

    def nearest(self, value: float) -> float:
        """The valid value closest to `value` (ties go up, as larger is usually what was meant)."""
        lo = self.minimum if self.minimum is not None else -math.inf
        hi = self.maximum if self.maximum is not None else math.inf
        candidate = min(max(value, lo), hi)
        if self.kind == "int":
            candidate = int(round(candidate))
            step = self.multiple_of or (self.congruent[0] if self.congruent else 1)
            offset = self.congruent[1] if self.congruent else 0
            if step > 1:
                down = (candidate - offset) // step * step + offset
                options = [v for v in (down, down + step) if lo <= v <= hi] or [down + step]
                candidate = min(options, key=lambda v: (abs(v - value), -v))
        return candidate


@dataclass(frozen=True)
class EngineInfo:
    """Everything the UI, the CLI and preflight need to know about an engine, without loading it."""

    id: str
    label: str
    description: str
    family: str
    params: tuple[ParamSpec, ...]
    needs_weights: bool = True
    model_id: str | None = None
    supports_prompt: bool = True
    supports_negative_prompt: bool = True
    recommended_fps: int = 8
    weights_gb: float = 0.0
    # GB of VRAM each memory mode needs at the default size; "auto" picks the first that fits.
    vram_gb: Mapping[str, float] = field(default_factory=dict)
    # GB of the denoiser's weights in half precision: what 8-bit weights halve (runtime.vram_estimate).
    denoiser_gb: float = 0.0
    developer_only: bool = False
    # What runtime decisions need, so they never look the engine up elsewhere: the half precision
    # the model was released in (used on GPUs when precision is 'auto'), and rough CPU seconds per
    # denoising step at the default settings (for the plan's time estimate).
    precision: str = "fp16"
    cpu_seconds_per_step: float = 60.0
    # Whether a run may also give the picture its video should end on (studio.engines.keyframes);
    # where not, why not, in words shown when one is refused.
    supports_last_image: bool = False
    last_image_note: str = ""
    requires_last_image: bool = False
    makes_sound: bool = False  # its videos carry a sound track (LTX-2); the form says so
    # The only (width, height) sizes the model makes, where its pipeline picks one by the image's
    # aspect (HunyuanVideo 1.5); empty: any size on the width/height grid. studio.sizing honours it.
    size_buckets: tuple[tuple[int, int], ...] = ()

    def nearest_bucket(self, width: float, height: float) -> tuple[int, int]:
        """Of `size_buckets`, the one HunyuanVideo 1.5's pipeline picks for width x height (its
        image_processor.get_closest_ratio): the nearest height/width ratio among the buckets no
        taller (for a portrait image) or no wider (for a landscape one), the first on a tie. The one
        rule sizing and validation share."""
        ratio = height / width

        def bucket_ratio(size: tuple[int, int]) -> float:
            return round(size[1] / size[0], 5)

        on_side = [size for size in self.size_buckets
                   if (bucket_ratio(size) <= ratio if ratio >= 1 else bucket_ratio(size) >= ratio)]
        return min(on_side or self.size_buckets, key=lambda size: abs(bucket_ratio(size) - ratio))

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def has_param(self, name: str) -> bool:
        return any(spec.name == name for spec in self.params)

    def defaults(self) -> dict[str, Any]:
        return {spec.name: spec.default for spec in self.params}


@dataclass(frozen=True)
class WeightsStatus:
    state: Literal["ready", "missing", "unusable"]
    detail: str
    hint: str = ""
    location: str | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


@dataclass(frozen=True, eq=False)
class RuntimeOptions:
    """How to run (not what to make). Two are equal when they run the same way, whatever the
    reasons a RuntimePlan gives: a loaded pipeline is reused on that basis."""

    device: str = "cpu"
    dtype: str = "float32"
    memory_mode: str = "full_gpu"
    attention: str = "default"
    # Load-time speed and memory levers (Settings; studio.engines.levers says which are usable):
    # changing any of them means loading the pipeline again, so each is part of the key.
    compile: bool = False
    quantization: str = "none"
    fp8_layerwise: bool = False
    vae_tiling: bool = False

    def _key(self) -> tuple[Any, ...]:
        return (self.device, self.dtype, self.memory_mode, self.attention,
                self.compile, self.quantization, self.fp8_layerwise, self.vae_tiling)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuntimeOptions):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, eq=False)
class RuntimePlan(RuntimeOptions):
    """The runtime decided for one run (studio.engines.runtime.resolve_runtime), with the reason
    for each choice in words: the plan caption is built from it and the run's manifest keeps it."""

    device_reason: str = ""
    dtype_reason: str = ""
    memory_mode_reason: str = ""
    levers_reason: str = ""  # why a lever from Settings is not used on this machine, if one is not


@dataclass
class GenerationResult:
    frames: np.ndarray  # (T, H, W, 3) uint8
    load_seconds: float = 0.0
    infer_seconds: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict)
    audio: AudioTrack | None = None  # the model's sound track, for models that make one (LTX-2)


StepCallback = Callable[[int, int], None]


class Engine(Protocol):
    info: EngineInfo

    def weights_status(self) -> WeightsStatus: ...

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return a complete, normalised parameter dict or raise InputError. Called only by
        studio.requests.validate, which adds the runtime part and the seed."""
        ...

    def generate(
        self,
        image: Image.Image,
        request: GenerationRequest,
        runtime: RuntimeOptions,
        *,
        on_step: StepCallback,
        cancelled: Callable[[], bool],
    ) -> GenerationResult:
        """Make frames from an RGB image already fitted to the request's width x height. The request
        is complete and checked (studio.requests.validate); engines read it, never re-validate it."""
        ...

    def release(self) -> None:
        """Free any loaded pipeline and its device memory."""
        ...


@runtime_checkable
class StreamingEngine(Engine, Protocol):
    """An engine that can hand its frames over one by one as it makes them (camera motion), so that
    the worker encodes while it renders instead of after; `manifest` is what `generate` would record."""

    def iter_frames(
        self,
        image: Image.Image,
        request: GenerationRequest,
        *,
        on_step: StepCallback,
        cancelled: Callable[[], bool],
    ) -> Iterator[np.ndarray]: ...

    def manifest(self, params: Mapping[str, Any]) -> dict[str, Any]: ...


def validate_params(info: EngineInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """The shared validation every engine starts from: fill defaults, reject unknown names,
    coerce and check each value. Engines add cross-parameter rules on top."""
    unknown = sorted(set(params) - {s.name for s in info.params} - set(COMMON_FIELDS))
    if unknown:
        raise InputError(unknown[0], f"{info.label} has no parameter {unknown[0]!r}.")
    clean: dict[str, Any] = {}
    for spec in info.params:
        raw = params.get(spec.name)
        clean[spec.name] = spec.default if raw is None or raw == "" else spec.check(raw)
    prompt = str(params.get("prompt") or "")
    negative = str(params.get("negative_prompt") or "")
    if len(prompt) > 2000 or len(negative) > 2000:
        raise InputError("prompt", "Prompts are limited to 2000 characters.")
    for name, text in (("prompt", prompt), ("negative_prompt", negative)):
        if not _is_unicode(text):  # e.g. a command line's bytes that were not UTF-8: no database can hold them
            raise InputError(name, f"The {name.replace('_', ' ')} holds characters that are not valid text "
                                   "(bytes that were not UTF-8, or a lone surrogate); type it again.")
    clean["prompt"] = prompt if info.supports_prompt else ""
    clean["negative_prompt"] = negative if info.supports_negative_prompt else ""
    seed = params.get("seed")
    if seed is not None and seed != "":
        seed_spec = ParamSpec("seed", "Seed", "int", 0, "", minimum=0, maximum=MAX_SEED)
        clean["seed"] = seed_spec.check(seed)
    else:
        clean["seed"] = None
    return clean


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(value: Any) -> str:
    """A refused value as a message quotes it: its repr, cut short (a 400-digit number, a page of text)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**40 else "a number of more than 40 digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
