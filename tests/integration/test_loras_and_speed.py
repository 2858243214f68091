"""LoRAs and speed on a real (tiny, random) Wan 2.2 pipeline on the CPU: LoRA files made in code
with diffusers' key names and saved as safetensors, applied through load_lora_weights/set_adapters
on one warm engine; the First Block Cache of "fast" counted at the denoiser's blocks; turbo with a
tiny distillation LoRA; and `launch.py run --lora … --speed fast` end to end."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from studio.config import Paths, Settings
from studio.devtools.tiny.lora import save_tiny_lora, save_tiny_turbo_lora
from studio.devtools.tiny.wan import build_tiny_wan22_ti2v
from studio.engines.base import InputError, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, families
from studio.engines.registry import build_registry
from studio.media.encode import read_mp4_metadata
from studio.requests import validate, validate_for
from tests.integration.cli import launch, rows

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
ENGINE = "tiny-wan22-ti2v"
REQUEST = {"prompt": "a cat walks", "seed": 7, "width": 32, "height": 32, "frames": 5}
TURBO = families.family_for(ENGINE).turbo


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, Path]:
    """(data folder with the tiny pipeline, LoRA folder with two style LoRAs), built once."""
    data = tmp_path_factory.mktemp("lora-data")
    model = data / "tiny-models" / ENGINE
    build_tiny_wan22_ti2v(model)
    loras = data / "loras"
    save_tiny_lora(model, loras / "ink.safetensors", seed=3)
    save_tiny_lora(model, loras / "styles" / "glow.safetensors", seed=4)
    return data, loras


@pytest.fixture(scope="module")
def engine(library) -> DiffusionEngine:
    data, loras = library
    return DiffusionEngine(families.family_for(ENGINE), Settings(lora_dirs=[str(loras)]),
                           Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://"))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _run(engine: DiffusionEngine, **options):
    request = validate_for(engine, {**REQUEST, **options})
    return engine.generate(Image.new("RGB", (32, 32), (200, 120, 40)), request, CPU,
                           on_step=lambda done, total: None, cancelled=lambda: False)


def test_a_lora_changes_the_frames_strength_zero_does_not_and_switching_never_reloads(engine):
    plain = _run(engine)
    pipe = engine.pipeline
    with_ink = _run(engine, loras=[{"name": "ink.safetensors", "strength": 1.0}])
    at_zero = _run(engine, loras=[{"name": "ink.safetensors", "strength": 0.0}])
    switched = _run(engine, loras=[{"name": "styles/glow.safetensors", "strength": 0.7}])
    without = _run(engine)

    assert not np.array_equal(with_ink.frames, plain.frames)
    assert np.array_equal(at_zero.frames, plain.frames)
    assert not np.array_equal(switched.frames, with_ink.frames)
    assert np.array_equal(without.frames, plain.frames)  # the unused adapters were taken off
    # One base pipeline throughout: loaded once, never again for a LoRA change.
    assert engine.pipeline is pipe
    assert [r.load_seconds for r in (with_ink, at_zero, switched, without)] == [0.0] * 4
    assert not any(pipe.get_list_adapters().values())

    (recorded,) = with_ink.manifest["loras"]
    assert recorded["name"] == "ink.safetensors" and recorded["strength"] == 1.0 and len(recorded["sha256"]) == 64
    assert switched.manifest["loras"][0]["strength"] == 0.7 and without.manifest["loras"] == []


def test_the_stored_request_names_each_lora_by_hash_and_lora_strength_sets_the_first(engine, library):
    request = validate_for(engine, {**REQUEST, "loras": [{"name": "ink", "strength": 0.5}], "lora_strength": 1.25})
    (entry,) = request.params["loras"]
    assert entry["name"] == "ink.safetensors" and entry["path"] == str(library[1] / "ink.safetensors")
    assert entry["strength"] == 1.25 and request.params["lora_strength"] == 1.25 and entry["second_expert"] is False
    # The stored entry validates again as it is (Edit & re-run, a restored recipe)…
    again = validate_for(engine, dict(request.params))
    assert again.params["loras"] == request.params["loras"]
    # …but not once the file behind its hash changed.
    with pytest.raises(InputError, match="not the file this recipe used"):
        validate_for(engine, {**REQUEST, "loras": [{**entry, "sha256": "0" * 64}]})
    # No LoRAs, quality: nothing new is stored, as for runs made before LoRAs existed.
    assert not {"loras", "lora_strength", "speed"} & set(validate_for(engine, REQUEST).params)


def test_incompatible_and_unsafe_loras_are_refused_naming_them(engine, library, tmp_path):
    _, loras = library
    ltx = loras / "ltx-motion.safetensors"
    save_file({"transformer.transformer_blocks.0.attn2.to_q.lora_A.weight": torch.zeros(2, 8),
               "transformer.transformer_blocks.0.attn2.to_q.lora_B.weight": torch.zeros(8, 2)}, str(ltx))
    with pytest.raises(InputError) as refused:
        validate_for(engine, {**REQUEST, "loras": [{"name": "ltx-motion.safetensors"}]})
    assert refused.value.param == "loras"
    assert "LoRA ltx-motion.safetensors is for LTX-Video" in refused.value.message and "Wan model" in refused.value.message

    pickled = tmp_path / "old.ckpt"
    pickled.write_bytes(b"not loaded")
    with pytest.raises(InputError, match="not a .safetensors file"):
        validate_for(engine, {**REQUEST, "loras": [{"path": str(pickled)}]})
    with pytest.raises(InputError, match="was not found"):
        validate_for(engine, {**REQUEST, "loras": [{"name": "nowhere.safetensors"}]})
    with pytest.raises(InputError, match="one denoiser"):
        validate_for(engine, {**REQUEST, "loras": [{"name": "ink.safetensors", "second_expert": True}]})
    with pytest.raises(InputError, match="between -2 and 2"):
        validate_for(engine, {**REQUEST, "loras": [{"name": "ink.safetensors", "strength": 5}]})

    registry = build_registry(Settings(lora_dirs=[str(loras)]), engine._paths)
    with pytest.raises(InputError, match="Camera motion takes no LoRAs|takes no LoRAs"):
        validate(registry, "motion", {"loras": [{"name": "ink.safetensors"}]})
    with pytest.raises(InputError, match="LoRA ink.safetensors is for Wan, but .* is a Stable Video Diffusion model"):
        validate(registry, "tiny-svd", {"loras": [{"name": "ink.safetensors"}]})
    with pytest.raises(InputError, match="no fast mode"):
        validate(registry, "tiny-svd", {"speed": "fast"})

    # A Wan LoRA whose layers have other sizes passes the name check and is refused when loaded,
    # leaving the warm pipeline as it was.
    save_file({"transformer.blocks.0.attn1.to_q.lora_A.weight": torch.ones(2, 40),
               "transformer.blocks.0.attn1.to_q.lora_B.weight": torch.ones(24, 2)}, str(loras / "wan-14b.safetensors"))
    plain = _run(engine)
    with pytest.raises(InputError, match=r"LoRA wan-14b.safetensors does not fit .*size mismatch"):
        _run(engine, loras=[{"name": "wan-14b.safetensors"}])
    assert np.array_equal(_run(engine).frames, plain.frames)
    for name in ("ltx-motion.safetensors", "wan-14b.safetensors"):
        (loras / name).unlink()


def test_fast_skips_blocks_and_the_next_quality_run_takes_the_cache_off(engine):
    plain = _run(engine)
    calls = []
    # The cache replaces a skipped block's forward, so count the work inside it (its feed-forward).
    handles = [block.ffn.register_forward_hook(lambda *_: calls.append(1)) for block in engine.pipeline.transformer.blocks]
    try:
        quality = _run(engine)
        quality_calls, calls[:] = len(calls), []
        fast = _run(engine, speed="fast")
        fast_calls, calls[:] = len(calls), []
        again = _run(engine)
        again_calls = len(calls)
    finally:
        for handle in handles:
            handle.remove()
    assert fast_calls < quality_calls == again_calls, (quality_calls, fast_calls, again_calls)
    assert np.array_equal(again.frames, plain.frames) and np.array_equal(quality.frames, plain.frames)
    assert fast.manifest["speed"] == "fast" and fast.manifest["cache_threshold"] == families.family_for(ENGINE).fast_cache_threshold
    assert "cache" not in again.manifest and again.load_seconds == 0.0


def test_turbo_needs_its_distillation_lora_then_runs_its_steps_and_guidance(engine, library):
    data, loras = library
    with pytest.raises(InputError) as refused:
        validate_for(engine, {**REQUEST, "speed": "turbo"})
    assert TURBO.file in refused.value.message and "LoRA folders" in refused.value.message

    save_tiny_turbo_lora(data / "tiny-models" / ENGINE, loras, TURBO.file)
    try:
        request = validate_for(engine, {**REQUEST, "speed": "turbo", "steps": 2})
        assert (request.params["steps"], request.params["guidance"]) == (TURBO.steps, TURBO.guidance)
        steps: list[int] = []
        result = engine.generate(Image.new("RGB", (32, 32)), request, CPU,
                                 on_step=lambda done, total: steps.append(total), cancelled=lambda: False)
    finally:
        (loras / TURBO.file).unlink()
    assert result.manifest["steps_run"] == TURBO.steps and set(steps) == {TURBO.steps}
    assert result.manifest["turbo"]["lora"] == TURBO.file and result.manifest["turbo"]["steps"] == TURBO.steps
    assert result.manifest["loras"] == []  # the distillation is recorded as turbo's, not as a chosen LoRA


def test_run_with_a_lora_and_fast_from_the_command_line(library, studio_env, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 40), (30, 90, 160)).save(photo)
    lora = library[1] / "ink.safetensors"
    result = launch("run", "--image", str(photo), "--engine", ENGINE, "--lora", f"{lora}:0.8", "--speed", "fast",
                    "--param", "width=32", "--param", "height=32", env=studio_env, timeout=300)
    assert result.returncode == 0, result.stderr
    video = Path(result.stdout.strip().splitlines()[-1])
    (status, params, manifest), = rows(studio_env, "SELECT status, params, manifest FROM runs")
    params, manifest = (json.loads(v) if isinstance(v, str) else v for v in (params, manifest))
    assert status == "succeeded" and params["speed"] == "fast"
    assert [(e["path"], e["strength"]) for e in params["loras"]] == [(str(lora), 0.8)]
    assert manifest["cache"] == "first_block_cache" and manifest["loras"][0]["sha256"] == params["loras"][0]["sha256"]
    recipe = json.loads(read_mp4_metadata(video)["comment"])
    assert recipe["params"]["loras"] == params["loras"] and recipe["params"]["speed"] == "fast"

    refused = launch("run", "--image", str(photo), "--lora", f"{lora}:0.8", env=studio_env)
    assert refused.returncode == 2 and "--lora:" in refused.stderr and "takes no LoRAs" in refused.stderr


def test_also_the_second_expert_loads_the_lora_into_both_denoisers_once_each(library):
    from diffusers import WanImageToVideoPipeline

    from studio.engines.diffusion.lora import StackEntry, apply_stack
    from studio.engines.diffusion.lora_library import sha256

    data, loras = library
    pipe = WanImageToVideoPipeline.from_pretrained(str(data / "tiny-models" / ENGINE), local_files_only=True)
    pipe.register_modules(transformer_2=copy.deepcopy(pipe.transformer))  # a two-expert pipeline, as Wan 2.2 A14B
    ink = loras / "ink.safetensors"
    both = StackEntry("ink.safetensors", ink, sha256(ink), 0.5, second_expert=True)
    apply_stack(pipe, [both], "Wan 2.2 A14B")
    adapters = pipe.get_list_adapters()
    assert adapters["transformer"] == [both.adapter] and adapters["transformer_2"] == [f"{both.adapter}-2"]

    first_only = StackEntry("ink.safetensors", ink, both.sha256, 0.5)
    apply_stack(pipe, [first_only], "Wan 2.2 A14B")  # the second expert's copy is taken off, the first kept
    adapters = pipe.get_list_adapters()
    assert adapters.get("transformer") == [both.adapter] and not adapters.get("transformer_2")


def test_a_stored_run_whose_lora_file_went_or_changed_fails_with_the_reason(engine, library):
    _, loras = library
    moved = loras / "moving.safetensors"
    moved.write_bytes((loras / "styles" / "glow.safetensors").read_bytes())
    request = validate_for(engine, {**REQUEST, "loras": [{"name": "moving.safetensors"}]})
    moved.write_bytes((loras / "ink.safetensors").read_bytes())  # other contents under the same name
    os.utime(moved, ns=(10**18, 10**18))  # a new modification time even where the clock is coarse
    with pytest.raises(InputError, match="not the file this run was queued with"):
        engine.generate(Image.new("RGB", (32, 32)), request, CPU, on_step=lambda *_: None, cancelled=lambda: False)
    moved.unlink()
    with pytest.raises(InputError, match="no longer at"):
        engine.generate(Image.new("RGB", (32, 32)), request, CPU, on_step=lambda *_: None, cancelled=lambda: False)


def test_turbo_on_the_two_expert_model_puts_each_half_of_its_distillation_into_its_own_expert(tmp_path):
    """Wan 2.2 A14B's distillation (Lightning) is two files, one per expert: turbo needs both, runs
    the distilled steps with no guidance on either expert, and loads one file into each denoiser."""
    from studio.devtools.tiny.wan import build_tiny_wan22_a14b

    engine_id = "tiny-wan22-a14b"
    turbo = families.family_for(engine_id).turbo
    model = tmp_path / "tiny-models" / engine_id
    build_tiny_wan22_a14b(model)
    loras = tmp_path / "loras"
    engine = DiffusionEngine(families.family_for(engine_id), Settings(lora_dirs=[str(loras)]),
                             Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://"))
    request = {**REQUEST, "speed": "turbo", "steps": 2, "guidance": 3.5, "guidance_2": 3.5}
    save_tiny_turbo_lora(model, loras, turbo.file, expert=1)
    with pytest.raises(InputError) as refused:  # half of it is not enough
        validate_for(engine, request)
    assert turbo.second_file in refused.value.message

    save_tiny_turbo_lora(model, loras, turbo.second_file, expert=2)
    checked = validate_for(engine, request)
    assert (checked.params["steps"], checked.params["guidance"], checked.params["guidance_2"]) == (turbo.steps, 1.0, 1.0)
    steps: list[int] = []
    result = engine.generate(Image.new("RGB", (32, 32), (200, 120, 40)), checked, CPU,
                             on_step=lambda done, total: steps.append(total), cancelled=lambda: False)
    assert result.manifest["steps_run"] == turbo.steps and set(steps) == {turbo.steps}
    adapters = engine.pipeline.get_list_adapters()
    [high], [low] = adapters["transformer"], adapters["transformer_2"]
    assert high != low.removesuffix("-2"), "each expert has its own half"
    # Written in Lightning's own layout (diffusion_model.blocks.N.self_attn.q.lora_down), each half
    # went through diffusers' conversion onto all four attention projections of every block.
    for denoiser, adapter in ((engine.pipeline.transformer, high), (engine.pipeline.transformer_2, low)):
        wrapped = [name for name, module in denoiser.named_modules() if adapter in getattr(module, "lora_A", {})]
        assert len(wrapped) == 4 * len(denoiser.blocks), (adapter, wrapped)
    assert result.manifest["turbo"]["lora"] == turbo.file
    assert result.manifest["turbo"]["second_expert_lora"]["lora"] == turbo.second_file
    assert result.manifest["loras"] == []
    # The same request in quality takes both halves off again, on the warm pipeline.
    engine.generate(Image.new("RGB", (32, 32)), validate_for(engine, {**REQUEST, "steps": 2}), CPU,
                    on_step=lambda *_: None, cancelled=lambda: False)
    adapters = engine.pipeline.get_list_adapters()
    assert not adapters.get("transformer") and not adapters.get("transformer_2")
    engine.release()


def test_ltx2_turbo_runs_the_distilled_schedule_as_it_is_without_guidance_and_quality_gets_its_scheduler_back(tmp_path):
    """LTX-2's turbo is the distillation LoRA on the dev model, run as diffusers' docs run it: the
    8 distilled noise levels unshifted, one transformer call per step (no classifier-free,
    spatio-temporal or modality guidance). The warm pipeline's next quality run is as before."""
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

    from studio.devtools.tiny.ltx2 import build_tiny_ltx2

    engine_id = "tiny-ltx2"
    family = families.family_for(engine_id)
    assert family.turbo.steps == families.LTX2.turbo.steps == len(DISTILLED_SIGMA_VALUES)
    model = tmp_path / "tiny-models" / engine_id
    build_tiny_ltx2(model)
    loras = tmp_path / "loras"
    save_tiny_turbo_lora(model, loras, family.turbo.file)
    engine = DiffusionEngine(family, Settings(lora_dirs=[str(loras)]),
                             Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://"))
    image = Image.new("RGB", (32, 32), (40, 140, 200))

    def run(speed: str):
        request = validate_for(engine, {"prompt": "waves on a beach", "seed": 3, "speed": speed})
        calls = []
        hook = None
        if engine.pipeline is not None:
            hook = engine.pipeline.transformer.register_forward_pre_hook(lambda *_: calls.append(1))
        try:
            result = engine.generate(image, request, CPU, on_step=lambda *_: None, cancelled=lambda: False)
        finally:
            if hook is not None:
                hook.remove()
        return request, result, len(calls), engine.pipeline.scheduler

    try:
        run("quality")  # loads the pipeline
        _, quality, quality_calls, loaded = run("quality")
        request, turbo, turbo_calls, scheduler = run("turbo")
        assert (request.params["steps"], request.params["guidance"]) == (8, 1.0)
        assert turbo.manifest["steps_run"] == 8 and turbo.manifest["sigmas"] == list(DISTILLED_SIGMA_VALUES)
        assert turbo_calls == 8, "one transformer call per step: no guidance passes"
        assert quality_calls > 2 * quality.manifest["steps_run"]  # quality's guidance adds passes
        np.testing.assert_allclose(scheduler.sigmas[:-1].numpy(), DISTILLED_SIGMA_VALUES, rtol=1e-6)
        assert loaded.config.use_dynamic_shifting and not scheduler.config.use_dynamic_shifting
        _, again, again_calls, back = run("quality")
        assert back is loaded and again_calls == quality_calls
        np.testing.assert_array_equal(again.frames, quality.frames)
    finally:
        engine.release()
