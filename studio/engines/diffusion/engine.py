"""The one diffusion engine: loads a diffusers pipeline for a model family and runs it.

What is the same for every family lives here — finding and loading the weights, keeping the loaded
pipeline for the next job, memory modes, per-step progress, cancel, out-of-memory handling, the
reproducibility manifest. What truly differs lives in a small `PipelineAdapter` per family
(adapter.py, adapters/); the data about each family (defaults, constraints, sizes) is in families.py.

torch and diffusers are imported inside methods only, so building the registry stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.config import Paths, Settings
from studio.engines import runtime as rt
from studio.engines.base import (
    Cancelled,
    EngineInfo,
    GenerationResult,
    InputError,
    OutOfMemory,
    RuntimeOptions,
    StepCallback,
    WeightsMissing,
    WeightsStatus,
    validate_params,
)
from studio.engines.diffusion import levers, placement, run_options, weights
from studio.engines.diffusion.adapter import PipelineAdapter, load_adapter
from studio.engines.diffusion.families import Family
from studio.engines.request import GenerationRequest
from studio.media.audio import AudioTrack


@dataclass
class _Loaded:
    key: tuple[str, ...]
    pipe: Any
    location: Path
    notes: list[str] = field(default_factory=list)
    attention: str = "default"
    variant: str | None = None
    lever_result: levers.LeverResult = field(default_factory=levers.LeverResult)
    load_seconds: float = 0.0
    runs: int = 0  # runs started with this pipeline: past the first, it was already loaded


class DiffusionEngine:
    """An Engine (see base.Engine) for one model family entry."""

    def __init__(self, family: Family, settings: Settings | Callable[[], Settings], paths: Paths):
        self.family = family
        self.info: EngineInfo = family.info()
        # A callable reads the current settings at each use, so model folders changed on the
        # Settings page count at once, without a restart.
        self._settings_source = settings
        self._paths = paths
        self._loaded: _Loaded | None = None

    @property
    def _settings(self) -> Settings:
        source = self._settings_source
        return source() if callable(source) else source

    # -- weights --------------------------------------------------------------------------------

    def weights_status(self) -> WeightsStatus:
        family = self.family
        if family.adapter is None:
            return WeightsStatus(
                "unusable",
                f"{family.label} is listed but this version of the studio cannot run it yet.",
                "Choose another engine; support for this model family is still being added.",
            )
        missing = [name for name in family.requires if importlib.util.find_spec(name) is None]
        if missing:
            return WeightsStatus(
                "unusable",
                f"{family.label} needs the Python package {', '.join(missing)}, which is not installed.",
                "Install the studio's requirements again: python launch.py (it installs requirements.txt).",
            )
        if family.builder:
            folder = self.tiny_folder()
            if not (folder / weights.MODEL_INDEX).is_file():
                return WeightsStatus("ready", f"Tiny random pipeline; built in code on first use at {folder}.", "", str(folder))
            status = weights.check_folder(folder)
            if not status.ready:
                return replace(status, hint=f"Delete {folder}; it is built again on first use.")
            return status
        status = weights.locate(family.hub_id, self._settings.model_dirs, index_classes=family.index_classes)
        if family.install_hint and status.state == "missing":  # one download does not make its folder
            return replace(status, hint=family.install_hint)
        return status

    @property
    def pipeline(self) -> Any | None:
        """The loaded diffusers pipeline, or None (for diagnostics and tests; do not keep it)."""
        return self._loaded.pipe if self._loaded is not None else None

    def lora_folders(self) -> list[str]:
        """The LoRA folders set on the Settings page (read at each use, like the model folders)."""
        return list(self._settings.lora_dirs)

    def tiny_folder(self) -> Path:
        """Where a developer-only tiny pipeline is kept: <data_dir>/tiny-models/<engine id>."""
        return tiny_models_dir(self._paths) / self.family.engine_id

    def _location(self) -> Path:
        family = self.family
        if family.builder:
            folder = self.tiny_folder()
            if not (folder / weights.MODEL_INDEX).is_file():
                module_name, _, func = family.builder.partition(":")
                getattr(importlib.import_module(module_name), func)(folder)
        status = self.weights_status()
        if not status.ready or not status.location:
            raise WeightsMissing(status.detail, status.hint)
        return Path(status.location)

    # -- validation -----------------------------------------------------------------------------

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        clean = validate_params(self.info, params)
        self.family.check(clean)
        return clean

    # -- running --------------------------------------------------------------------------------

    def generate(
        self,
        image: Image.Image,
        request: GenerationRequest,
        runtime: RuntimeOptions,
        *,
        on_step: StepCallback,
        cancelled: Callable[[], bool],
        end_image: Image.Image | None = None,
    ) -> GenerationResult:
        import torch

        family = self.family
        if family.adapter is None:
            raise InputError("engine", f"{family.label} cannot run in this version of the studio yet; choose another engine.")
        params, seed = request.params, request.seed  # checked once, in studio.requests.validate
        _quiet_torchvision_fallback()  # the adapter's import of its pipeline class is what warns
        _quiet_loading_bars()
        levers.quiet_torchao_import()
        adapter = load_adapter(family.adapter)
        runtime = rt.settle(self.info, runtime)  # exact, for the cache key and the manifest
        if cancelled():
            raise Cancelled()

        oom: str | None = None
        try:
            pipe, load_seconds = self._pipeline(adapter, runtime)
            # LoRAs and speed go on the warm pipeline, run by run: a change never reloads it.
            options = run_options.apply(pipe, family, params, self.lora_folders())
            if cancelled():
                raise Cancelled()
            started = time.perf_counter()
            if runtime.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            frames, steps_run, audio = self._run(pipe, adapter, image, params, runtime, seed, on_step, cancelled, end_image)
            infer_seconds = time.perf_counter() - started
        except (torch.OutOfMemoryError, MemoryError) as exc:
            # Only a string leaves this block: the exception's traceback holds the tensors that
            # filled memory, and they can be freed only once it is gone.
            oom = type(exc).__name__
        if oom is not None:
            self._loaded = None  # also when loading itself ran out: nothing half-placed is kept
            placement.free_device_memory()
            raise OutOfMemory(self._oom_advice(params, runtime), rt.next_lower_mode(runtime.memory_mode))

        manifest = self._manifest(adapter, runtime, seed, steps_run)
        manifest.update(adapter.manifest_entries(self._loaded.pipe, params))
        manifest.update(options)  # LoRAs and speed
        return GenerationResult(frames=frames, load_seconds=load_seconds, infer_seconds=infer_seconds, manifest=manifest,
                                audio=audio)

    def release(self) -> None:
        """Drop the loaded pipeline and give its memory back."""
        if self._loaded is None:
            return
        self._loaded = None
        placement.free_device_memory()

    # -- internals ------------------------------------------------------------------------------

    def _pipeline(self, adapter: PipelineAdapter, runtime: RuntimeOptions) -> tuple[Any, float]:
        """The loaded pipeline for `runtime`, reused when the same one is already loaded."""
        location = self._location()
        key = levers.warm_key(location, runtime)
        if self._loaded is not None and self._loaded.key == key:
            self._loaded.runs += 1
            return self._loaded.pipe, 0.0
        self.release()  # one pipeline at a time: free the old one before loading the next

        started = time.perf_counter()
        want_half = runtime.dtype != "float32"
        variant = "fp16" if weights.variant_in(location, "fp16") and (want_half or not weights.plain_weights_in(location)) else None
        dtype: Any = placement.torch_dtype(runtime.dtype)
        if want_half and adapter.float32_components:
            dtype = {"default": dtype, **{name: placement.torch_dtype("float32") for name in adapter.float32_components}}
        denoisers = levers.denoiser_names(location, adapter.denoiser)
        lever_result = levers.LeverResult()
        pipe = adapter.pipeline_class().from_pretrained(
            str(location),
            dtype=dtype,
            variant=variant,
            use_safetensors=True,
            local_files_only=True,
            **levers.load_arguments(location, denoisers, self.family.family, runtime, dtype, lever_result),
        )
        pipe.set_progress_bar_config(disable=True)
        notes = adapter.after_load(pipe, runtime)
        levers.before_placement(pipe, denoisers, runtime, lever_result)
        notes += placement.apply_memory_mode(pipe, runtime)
        levers.after_placement(pipe, denoisers, runtime, lever_result)
        load_seconds = time.perf_counter() - started
        self._loaded = _Loaded(key=key, pipe=pipe, location=location, notes=notes + lever_result.notes,
                               attention=lever_result.applied["attention"], variant=variant, lever_result=lever_result,
                               load_seconds=load_seconds, runs=1)
        return pipe, load_seconds

    def _run(self, pipe, adapter, image, params, runtime, seed, on_step, cancelled, end_image=None) -> tuple[np.ndarray, int, AudioTrack | None]:
        import torch

        total = adapter.total_steps(params)
        step_hook = load_step_hook(self.family.step_hook)
        state = {"done": 0, "cancel": False}

        def step_done() -> None:
            """Called once per finished denoising step, whatever the mechanism."""
            state["done"] += 1
            if step_hook is not None:
                step_hook(state["done"], runtime.memory_mode)
            on_step(state["done"], total)
            if cancelled():
                state["cancel"] = True
                if _has_interrupt(pipe):
                    pipe._interrupt = True  # the loop skips its remaining steps
                else:
                    raise Cancelled()

        def on_step_end(_pipe, _index, _timestep, callback_kwargs):
            step_done()
            return callback_kwargs

        def legacy(_index, _timestep, _latents):
            step_done()

        def decoder_guard(_module, _inputs):
            # After an interrupt the pipeline would still decode; a cancelled run must not pay for it.
            if state["cancel"]:
                raise Cancelled()

        # A CPU generator gives the same noise for a seed on every device.
        generator = torch.Generator(device="cpu").manual_seed(seed)
        kwargs = adapter.call_kwargs(image, params, generator)
        kwargs["output_type"] = "np"
        if end_image is not None:
            kwargs.update(adapter.last_image_kwargs(end_image))
        handles = []
        decoder = getattr(getattr(pipe, "vae", None), "decoder", None)
        if isinstance(decoder, torch.nn.Module):
            handles.append(decoder.register_forward_pre_hook(decoder_guard))
        if adapter.step_mechanism == "callback_on_step_end":
            kwargs["callback_on_step_end"] = on_step_end
        elif adapter.step_mechanism == "callback":
            kwargs["callback"], kwargs["callback_steps"] = legacy, 1
        elif adapter.step_mechanism == "denoiser_hook":
            denoiser = getattr(pipe, adapter.denoiser)
            handles.append(denoiser.register_forward_hook(lambda _m, _i, _o: step_done()))
        elif adapter.step_mechanism == "scheduler_step":
            handles.append(_SchedulerStepCounter(pipe.scheduler, step_done))
        else:
            raise ValueError(f"unknown step mechanism {adapter.step_mechanism!r}")

        # Some pipelines also draw from the global generator (I2VGen-XL samples its image latents
        # without `generator`); seeding it inside a forked scope keeps runs reproducible without
        # disturbing anyone else's random state.
        devices = [torch.device(runtime.device).index or 0] if runtime.device.startswith("cuda") else []
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                torch.manual_seed(seed)
                adapter.before_call(pipe, params)
                with adapter.call_context(pipe, params):
                    output = pipe(image=adapter.prepare_image(image, params), **kwargs)
        except BaseException:
            _reset_offload(pipe)
            raise
        finally:
            for handle in handles:
                handle.remove()
        if state["cancel"]:
            raise Cancelled()
        frames = adapter.to_frames(output, params)
        expected = (params["frames"], params["height"], params["width"], 3)
        if frames.shape != expected:
            raise RuntimeError(
                f"{self.info.label} returned frames of shape {frames.shape}, expected {expected} "
                "(frames, height, width, RGB)."
            )
        return frames, state["done"], adapter.to_audio(output, pipe)

    def _oom_advice(self, params: Mapping[str, Any], runtime: RuntimeOptions) -> str:
        lower = rt.next_lower_mode(runtime.memory_mode)
        where = "GPU" if runtime.device.startswith("cuda") else "host"
        size = f"{params['width']}x{params['height']}"
        tips = [f"fewer frames (now {params['frames']})", f"a smaller size (now {size})"]
        if lower:
            tips.append(f"memory mode '{lower}'")
        return (
            f"{self.info.label} ran out of {where} memory at {size}, {params['frames']} frames, "
            f"in {runtime.memory_mode} mode. Try " + ", ".join(tips[:-1]) + f" or {tips[-1]}."
        )

    def _manifest(self, adapter: PipelineAdapter, runtime: RuntimeOptions, seed: int, steps_run: int) -> dict[str, Any]:
        import torch

        loaded = self._loaded
        assert loaded is not None
        manifest: dict[str, Any] = {
            "engine": self.info.id,
            "model_id": self.family.hub_id,
            "model_revision": weights.snapshot_revision(loaded.location),
            "model_path": str(loaded.location),
            "pipeline_class": type(loaded.pipe).__name__,
            "device": runtime.device,
            "device_name": rt.device_name(runtime.device),
            "dtype": runtime.dtype,
            "variant": loaded.variant,
            "memory_mode": runtime.memory_mode,
            "memory_notes": list(loaded.notes),
            "attention": loaded.attention,
            # Warm: the pipeline was loaded by an earlier run and kept (load_seconds 0 then).
            "already_loaded": loaded.runs > 1,
            "load_seconds": 0.0 if loaded.runs > 1 else round(loaded.load_seconds, 3),
            "levers": dict(loaded.lever_result.applied),
            "seed": seed,
            "generator": "cpu",
            "steps_run": steps_run,
            "compat": list(adapter.compat_notes),
            "versions": _versions(),
        }
        if runtime.device.startswith("cuda"):
            manifest["peak_vram_bytes"] = int(torch.cuda.max_memory_allocated())
        return manifest


class _TorchvisionFallbackFilter(logging.Filter):
    """Drops transformers' "`CLIPImageProcessor` requires torchvision (not installed); falling back
    to `CLIPImageProcessorPil`" warning. Pipelines with a CLIP image encoder (SVD, Wan I2V) name
    CLIPImageProcessor in their model index, so it was said on every first load. The PIL processor
    it falls back to is the one these pipelines were released with and gives the same inputs, and
    torchvision would be a second large download that has to match the torch build exactly, so the
    studio does not install it; every other transformers warning still comes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


_TORCHVISION_FILTER = _TorchvisionFallbackFilter()


def _quiet_torchvision_fallback() -> None:
    # The record is made on this logger, and a filter on the logger itself sees it before any handler.
    logger = logging.getLogger("transformers.utils.import_utils")
    if _TORCHVISION_FILTER not in logger.filters:
        logger.addFilter(_TORCHVISION_FILTER)


def _quiet_loading_bars() -> None:
    """No "Loading pipeline components" / "Loading weights" bars from diffusers and transformers:
    the studio says "loading model" itself (the run's stage, the CLI's line), and the bars only
    scrambled a `launch.py run`'s output and the server's log. Download bars (huggingface_hub's,
    for `models --install`) are left as they are."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from huggingface_hub.utils import are_progress_bars_disabled, enable_progress_bars

    downloads_quiet = are_progress_bars_disabled()
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()  # which also turns off huggingface_hub's bars ...
    if not downloads_quiet:
        enable_progress_bars()  # ... that are not ours to turn off


def load_step_hook(reference: str | None) -> Callable[[int, str], None] | None:
    """'package.module:function' -> the function a family runs after each step (step, memory mode);
    None for families without one, which is every real model."""
    if not reference:
        return None
    module_name, _, func = reference.partition(":")
    return getattr(importlib.import_module(module_name), func)


def tiny_models_dir(paths: Paths) -> Path:
    return paths.data_dir / "tiny-models"


class _SchedulerStepCounter:
    """Calls `step_done` after each scheduler.step() of one run; remove() puts the class's method
    back. For pipelines that have no step callback and call their denoiser once per guidance branch."""

    def __init__(self, scheduler: Any, step_done: Callable[[], None]):
        self._scheduler = scheduler
        original = scheduler.step

        def step(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            step_done()
            return result

        scheduler.step = step  # an instance attribute, shadowing the method for this run only

    def remove(self) -> None:
        self._scheduler.__dict__.pop("step", None)


def _has_interrupt(pipe: Any) -> bool:
    return isinstance(getattr(type(pipe), "interrupt", None), property)


def _reset_offload(pipe: Any) -> None:
    """After a run stopped midway, put offloaded models back where the offload hooks expect them."""
    try:
        pipe.maybe_free_model_hooks()
    except Exception:  # best effort: the pipeline may be the reason we are here
        pass


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("torch", "diffusers", "transformers", "accelerate", "huggingface_hub", "safetensors"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    try:
        import torch

        found["cuda"] = torch.version.cuda or "none"
    except ImportError:  # pragma: no cover
        pass
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        found["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return found
