"""Every diffusion family through the engine, on its tiny pipeline: SVD, Wan 2.2 TI2V, Wan 2.1 I2V,
LTX-Video, CogVideoX I2V, Wan 2.2 I2V A14B (two experts), SkyReels-V2 I2V and SkyReels-V2 diffusion
forcing (long videos in windows), each built in code, loaded back offline through the same code as the
real model and run on the CPU — frames and size as asked, progress per step, cancel without decoding,
out of memory with a retry mode, the family's rules, its memory levers and conditioning inputs —
and one of them end to end through the studio's queue and worker."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from studio.config import Paths, Settings
from studio.engines.diffusion import families
from studio.engines.base import Cancelled, InputError, OutOfMemory, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, load_adapter
from studio.devtools.faults import FAULT_ENV
from studio.requests import validate_for

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")


@dataclass(frozen=True)
class Case:
    request: dict[str, Any]  # 2 steps, at a size other than the engine's default where it has a choice
    pipeline_class: str
    denoiser: str
    passes_per_step: int  # denoiser calls per step: Wan runs the guided and unguided passes separately


PROMPT = {"prompt": "a cat walks slowly", "negative_prompt": "blurry", "seed": 5, "steps": 2}
CASES: dict[str, Case] = {
    "tiny-svd": Case({"seed": 5, "steps": 2, "width": 48, "height": 32, "frames": 3},
                     "StableVideoDiffusionPipeline", "unet", 1),
    "tiny-wan22-ti2v": Case({**PROMPT, "width": 64, "height": 32, "frames": 5}, "WanImageToVideoPipeline", "transformer", 2),
    "tiny-wan21-i2v": Case({**PROMPT, "width": 48, "height": 32, "frames": 5}, "WanImageToVideoPipeline", "transformer", 2),
    "tiny-ltx": Case({**PROMPT, "width": 64, "height": 32, "frames": 9}, "LTXImageToVideoPipeline", "transformer", 1),
    "tiny-cogvideox-i2v": Case({**PROMPT, "width": 32, "height": 32, "frames": 9},
                               "CogVideoXImageToVideoPipeline", "transformer", 1),
    "tiny-wan22-a14b": Case({**PROMPT, "width": 48, "height": 32, "frames": 5}, "WanImageToVideoPipeline", "transformer", 2),
    "tiny-skyreels-v2-i2v": Case({**PROMPT, "width": 48, "height": 32, "frames": 5},
                                 "SkyReelsV2ImageToVideoPipeline", "transformer", 2),
    # One window here; the long-video tests below run several.
    "tiny-skyreels-v2-df": Case({**PROMPT, "width": 48, "height": 32, "frames": 5},
                                "SkyReelsV2DiffusionForcingImageToVideoPipeline", "transformer", 2),
}
TINY_IDS = list(CASES)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A data folder whose tiny-models/ holds every tiny pipeline, built once for this module by the
    builder each family names, where the engines look for them."""
    data = tmp_path_factory.mktemp("studio-data")
    for engine_id in TINY_IDS:
        module, _, function = families.family_for(engine_id).builder.partition(":")
        getattr(importlib.import_module(module), function)(data / "tiny-models" / engine_id)
    return data


@pytest.fixture(scope="module")
def engines(tiny_data) -> dict[str, DiffusionEngine]:
    """One engine per family for the module, so tests also exercise reuse across jobs."""
    return {engine_id: DiffusionEngine(families.family_for(engine_id), Settings(), _paths(tiny_data))
            for engine_id in TINY_IDS}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(FAULT_ENV, raising=False)


def _paths(data: Path) -> Paths:
    return Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://")


def _image(width: int, height: int) -> Image.Image:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)
    pixels[height // 4: height * 3 // 4, width // 3: width * 2 // 3, 2] = 200
    return Image.fromarray(pixels)


def _run(engine, request, runtime=CPU, cancelled=lambda: False):
    steps: list[tuple[int, int]] = []
    image = _image(request.get("width", 32), request.get("height", 32))
    result = engine.generate(image, validate_for(engine, request), runtime, on_step=lambda s, t: steps.append((s, t)), cancelled=cancelled)
    return result, steps


def _count_calls(module) -> tuple[list[int], Any]:
    calls: list[int] = []
    return calls, module.register_forward_hook(lambda *_: calls.append(1))


# --- generating ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_id", TINY_IDS)
def test_makes_the_requested_frames_and_size_with_one_progress_call_per_step(engines, engine_id):
    case = CASES[engine_id]
    result, steps = _run(engines[engine_id], case.request)
    r = case.request
    assert result.frames.shape == (r["frames"], r["height"], r["width"], 3)
    assert result.frames.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert result.manifest["pipeline_class"] == case.pipeline_class
    assert result.manifest["steps_run"] == 2 and result.manifest["engine"] == engine_id


@pytest.mark.parametrize("engine_id", TINY_IDS)
def test_cancel_stops_after_the_current_step_and_never_decodes(engines, engine_id):
    engine, case = engines[engine_id], CASES[engine_id]
    steps: list[tuple[int, int]] = []
    denoised: list[int] = []
    decoded: list[int] = []
    hooks = []

    def on_step(step, total):
        # From the end of the step that sees the cancel on, count what still runs.
        steps.append((step, total))
        if step == 1:
            pipe = engine.pipeline
            hooks.append(getattr(pipe, case.denoiser).register_forward_hook(lambda *_: denoised.append(1)))
            hooks.append(pipe.vae.decoder.register_forward_hook(lambda *_: decoded.append(1)))

    try:
        with pytest.raises(Cancelled):
            engine.generate(_image(case.request["width"], case.request["height"]), validate_for(engine, {**case.request, "steps": 4}), CPU,
                            on_step=on_step, cancelled=lambda: len(steps) >= 1)
    finally:
        for hook in hooks:
            hook.remove()
    assert steps == [(1, 4)]
    assert denoised == [] and decoded == []  # no further step, no decode
    # The engine keeps its pipeline and the next job runs normally.
    result, steps = _run(engine, case.request)
    assert result.load_seconds == 0.0 and steps == [(1, 2), (2, 2)]
    assert result.frames.shape[0] == case.request["frames"]


@pytest.mark.parametrize("engine_id", TINY_IDS)
def test_injected_out_of_memory_offers_a_lower_mode_and_the_next_job_works(engines, engine_id, monkeypatch):
    engine, request = engines[engine_id], CASES[engine_id].request
    monkeypatch.setenv(FAULT_ENV, "oom@full_gpu:2")
    steps: list[tuple[int, int]] = []
    with pytest.raises(OutOfMemory) as caught:
        engine.generate(_image(request["width"], request["height"]), validate_for(engine, request), replace(CPU, memory_mode="full_gpu"),
                        on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False)
    assert steps == [(1, 2)]  # it failed inside step 2
    assert caught.value.retry_mode == "model_offload"
    assert f"{request['width']}x{request['height']}" in caught.value.advice
    assert engine.pipeline is None  # released
    # The fault is tied to full_gpu, like memory that runs out at one mode only: the retry succeeds.
    retry, steps = _run(engine, request, replace(CPU, memory_mode=caught.value.retry_mode))
    assert retry.frames.shape[0] == request["frames"] and steps == [(1, 2), (2, 2)]


# --- the rules, checked before anything loads -------------------------------------------------


@pytest.mark.parametrize(
    ("engine_id", "param", "value", "nearest", "rule"),
    [
        ("tiny-svd", "width", 40, 48, "multiple of 16"),
        ("tiny-svd", "frames", 30, 25, "between 2 and 25"),
        ("tiny-svd", "decode_chunk_size", 0, 1, "between 1 and 25"),
        ("tiny-svd", "fps_condition", 40, 30, "between 1 and 30"),
        ("tiny-svd", "motion_bucket_id", 0, 1, "between 1 and 255"),
        ("tiny-wan22-ti2v", "width", 40, 32, "multiple of 32"),  # the pipeline would round 40 down in silence
        ("tiny-wan22-ti2v", "frames", 6, 5, "4k+1"),  # the pipeline would make 5 in silence
        ("tiny-wan21-i2v", "height", 40, 48, "multiple of 16"),
        ("tiny-wan21-i2v", "frames", 8, 9, "4k+1"),
        ("tiny-ltx", "width", 40, 32, "multiple of 32"),
        ("tiny-ltx", "frames", 12, 9, "8k+1"),
        ("tiny-ltx", "steps", 1, 2, "between 2 and 150"),  # one step fails inside the scheduler
        ("tiny-cogvideox-i2v", "width", 64, 32, "between 32 and 32"),
        ("tiny-cogvideox-i2v", "frames", 12, 9, "8k+1"),
        ("tiny-cogvideox-i2v", "frames", 57, 49, "between 9 and 49"),
        ("tiny-wan22-a14b", "height", 40, 48, "multiple of 16"),
        ("tiny-wan22-a14b", "frames", 8, 9, "4k+1"),
        ("tiny-wan22-a14b", "guidance_2", 25, 20, "between 0 and 20"),
        ("tiny-skyreels-v2-i2v", "width", 40, 48, "multiple of 16"),  # the pipeline refuses it deep inside
        ("tiny-skyreels-v2-df", "frames", 33, 29, "fill whole windows"),  # the pipeline fails with an IndexError
        ("tiny-skyreels-v2-df", "overlap_history", 17, 13, "fewer than Window frames"),
        ("tiny-skyreels-v2-df", "addnoise_condition", 60, 50, "between 0 and 50"),
        ("ltx-video", "steps", 1, 2, "between 2 and 150"),
        ("svd", "fps_condition", 0, 1, "between 1 and 30"),
    ],
)
def test_each_rule_is_refused_before_loading_with_the_nearest_valid_value(tmp_path, engine_id, param, value, nearest, rule):
    engine = DiffusionEngine(families.family_for(engine_id), Settings(), _paths(tmp_path))
    with pytest.raises(InputError) as caught:
        validate_for(engine, {param: value})  # the one check, when the run's request is built
    assert caught.value.param == param
    assert caught.value.suggestion == nearest
    assert rule in caught.value.message and str(nearest) in caught.value.message
    assert engine.pipeline is None and not (tmp_path / "tiny-models").exists()  # nothing was built or loaded
    engine.validate({param: nearest})  # and the suggestion is accepted


# --- memory levers on the CPU ---------------------------------------------------------------


LOWEST_NOTES = {
    "tiny-svd": ["UNet feed-forward chunking on; lower 'Decode chunk' to save memory while decoding",
                 "this VAE has no slicing", "this VAE has no tiling",
                 "attention slicing is not available for this pipeline"],
    **{engine_id: ["attention slicing is not available for this pipeline"]
       for engine_id in ("tiny-wan22-ti2v", "tiny-wan21-i2v", "tiny-ltx", "tiny-cogvideox-i2v", "tiny-wan22-a14b",
                         "tiny-skyreels-v2-i2v")},
    "tiny-skyreels-v2-df": ["scheduler flow_shift 5 for image-to-video, as the model card sets it (the folder has 8.0)",
                            "attention slicing is not available for this pipeline"],
}


@pytest.mark.parametrize("engine_id", TINY_IDS)
def test_lowest_mode_on_the_cpu_turns_on_the_levers_this_family_has(engines, engine_id):
    engine, request = engines[engine_id], CASES[engine_id].request
    baseline, _ = _run(engine, request)
    lowest, _ = _run(engine, request, replace(CPU, memory_mode="lowest"))
    assert lowest.load_seconds > 0  # another mode, another pipeline
    assert lowest.manifest["memory_mode"] == "lowest"
    assert lowest.manifest["memory_notes"] == LOWEST_NOTES[engine_id]
    pipe = engine.pipeline
    if engine_id == "tiny-svd":
        chunked = [m for m in pipe.unet.modules() if hasattr(m, "_chunk_size")]
        assert chunked and all(m._chunk_size == 1 for m in chunked)
        # Feed-forward chunking computes the same thing in pieces.
        assert np.abs(lowest.frames.astype(np.int16) - baseline.frames).max() <= 1
    else:
        assert pipe.vae.use_slicing and pipe.vae.use_tiling
        # One video and frames smaller than a VAE tile: slicing and tiling change nothing here.
        assert np.array_equal(lowest.frames, baseline.frames)


def test_other_modes_on_the_cpu_run_the_whole_pipeline_there_and_say_so(engines):
    engine, request = engines["tiny-ltx"], CASES["tiny-ltx"].request
    result, _ = _run(engine, request, replace(CPU, memory_mode="model_offload"))
    assert result.manifest["memory_notes"] == ["model_offload needs a GPU; ran with the whole pipeline on the CPU instead"]
    assert not engine.pipeline.vae.use_slicing


@pytest.mark.parametrize(("engine_id", "in_float32"), [("tiny-wan21-i2v", ["vae", "image_encoder"]), ("tiny-wan22-ti2v", ["vae"])])
def test_wan_in_half_precision_keeps_the_vae_and_image_encoder_in_float32(engines, engine_id, in_float32):
    """What a GPU run loads, loaded on the CPU (CPU runs are always float32, so the engine's loader is
    called with the runtime a GPU run would have); the mixed-precision pipeline then runs as is."""
    engine, request = engines[engine_id], CASES[engine_id].request
    adapter = load_adapter(engine.family.adapter)
    engine.release()
    pipe, _ = engine._pipeline(adapter, RuntimeOptions(device="cpu", dtype="bfloat16", memory_mode="cpu"))
    try:
        assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
        for name in in_float32:
            assert getattr(pipe, name).dtype == torch.float32, name
        assert engine._loaded.notes == [f"{' and '.join(in_float32)} in float32, as the model card loads them"]
        with torch.no_grad():
            output = pipe(image=_image(request["width"], request["height"]), output_type="np",
                          **adapter.call_kwargs(None, engine.validate(request), torch.Generator().manual_seed(0)))
        assert output.frames.shape == (1, request["frames"], request["height"], request["width"], 3)
    finally:
        engine.release()


# --- conditioning inputs reach the model ------------------------------------------------------


def test_svd_conditions_the_unet_on_fps_motion_and_noise(engines):
    """The UNet sees the conditioning fps as given (the pipeline's own fps argument is one more)."""
    engine = engines["tiny-svd"]
    request = {**CASES["tiny-svd"].request, "fps_condition": 4, "motion_bucket_id": 90, "noise_aug_strength": 0.1}
    _run(engine, request)
    seen = []
    hook = engine.pipeline.unet.register_forward_pre_hook(
        lambda _m, args, kwargs: seen.append(kwargs["added_time_ids"]), with_kwargs=True)
    try:
        _run(engine, request)
    finally:
        hook.remove()
    assert len(seen) == 2
    assert seen[0][0].tolist() == pytest.approx([4, 90, 0.1])


def test_svd_decodes_in_the_chunks_asked_for(engines):
    engine = engines["tiny-svd"]
    request = {**CASES["tiny-svd"].request, "frames": 5, "decode_chunk_size": 2}
    _run(engine, request)
    decoded, hook = _count_calls(engine.pipeline.vae.decoder)
    try:
        result, _ = _run(engine, request)
    finally:
        hook.remove()
    assert len(decoded) == 3  # 2 + 2 + 1 frames
    assert result.frames.shape[0] == 5


def test_ltx_conditions_on_the_playback_frame_rate(engines):
    engine = engines["tiny-ltx"]
    request = CASES["tiny-ltx"].request
    _run(engine, request)
    scales = []
    hook = engine.pipeline.transformer.register_forward_pre_hook(
        lambda _m, args, kwargs: scales.append(kwargs["rope_interpolation_scale"][0]), with_kwargs=True)
    try:
        _run(engine, {**request, "fps": 12})
        _run(engine, {**request, "fps": 24})
    finally:
        hook.remove()
    # The temporal position scale is the VAE's temporal factor (8) over the frame rate.
    assert scales == pytest.approx([8 / 12] * 2 + [8 / 24] * 2)


def test_wan22_a14b_runs_both_experts_with_their_own_guidance(engines):
    """2 steps on the real boundary (0.9 x 1000): timestep 999 on the high-noise expert, 833 on the
    low-noise one, each with guidance (two passes); guidance_2 reaches the pipeline and changes the video."""
    engine, request = engines["tiny-wan22-a14b"], CASES["tiny-wan22-a14b"].request
    _run(engine, request)
    pipe = engine.pipeline
    high, high_hook = _count_calls(pipe.transformer)
    low, low_hook = _count_calls(pipe.transformer_2)
    try:
        first, steps = _run(engine, {**request, "guidance_2": 1.5})
        seen_guidance_2 = pipe._guidance_scale_2
        second, _ = _run(engine, {**request, "guidance_2": 6.0})
    finally:
        high_hook.remove()
        low_hook.remove()
    assert steps == [(1, 2), (2, 2)]
    assert (len(high), len(low)) == (4, 4)  # 2 runs x 1 step x cond and uncond, for each expert
    assert seen_guidance_2 == 1.5
    assert not np.array_equal(first.frames, second.frames)  # only the low-noise guidance differs
    assert first.manifest["boundary_ratio"] == 0.9  # read from the checkpoint's model_index.json
    assert first.manifest["memory_notes"] == []


@pytest.mark.parametrize(
    ("changes", "windows", "total", "block"),
    [
        ({}, 2, 4, 1),  # 29 frames = windows of 17 overlapping by 5; 2 steps each
        # Causal blocks of 5 latent frames: the first window's two blocks start 1 row apart (3 rows);
        # the second window continues from one whole block and denoises the other (2 rows).
        ({"frames": 57, "base_frames": 37, "overlap_history": 17, "ar_step": 1}, 2, 5, 5),
    ],
)
def test_skyreels_df_long_video_progress_counts_every_window_once(engines, changes, windows, total, block):
    engine = engines["tiny-skyreels-v2-df"]
    request = {**CASES["tiny-skyreels-v2-df"].request, "frames": 29, **changes}
    _run(engine, {**request, "frames": 5, "ar_step": 0})  # loaded, and a synchronous run before
    passes, hook = _count_calls(engine.pipeline.transformer)
    try:
        result, steps = _run(engine, request)
    finally:
        hook.remove()
    assert steps == [(step, total) for step in range(1, total + 1)]  # 0 -> 100% once
    assert len(passes) == 2 * total  # the total is what the model ran: cond and uncond per row
    assert result.frames.shape == (request["frames"], 32, 48, 3)
    assert (result.manifest["windows"], result.manifest["causal_block_size"]) == (windows, block)
    assert result.manifest["steps_run"] == total
    # The causal block size the pipeline records on the transformer is set by every run, never inherited.
    _run(engine, {**request, "frames": 5, "ar_step": 0})
    assert engine.pipeline.transformer.config.num_frame_per_block == 1


# --- finding and building the weights ------------------------------------------------------


REAL_WITH_TINY = {  # the real family, the tiny folder standing in for its weights, a request at its smallest size
    "svd-xt": ("tiny-svd", {"width": 256, "height": 256, "frames": 2, "steps": 2}),
    "wan2.2-ti2v-5b": ("tiny-wan22-ti2v", {"width": 256, "height": 256, "frames": 5, "steps": 2}),
    "ltx-video": ("tiny-ltx", {"width": 256, "height": 256, "frames": 9, "steps": 2}),
    "skyreels-v2-df-14b-540p": ("tiny-skyreels-v2-df", {"width": 256, "height": 256, "frames": 5, "steps": 2}),
}


@pytest.mark.parametrize("engine_id", sorted(REAL_WITH_TINY))
def test_the_real_engine_loads_a_model_folder_named_like_its_hub_id(tiny_data, tmp_path, engine_id):
    """Found in a model folder under the hub id's name and run with the real family's rules and
    adapter; the tiny weights make it quick. One per adapter that can (CogVideoX's tiny model cannot make
    its real 720x480); svd and wan2.1 share these adapters and the lookup."""
    tiny_id, request = REAL_WITH_TINY[engine_id]
    family = families.family_for(engine_id)
    models = tmp_path / "models"
    models.mkdir()
    (models / family.hub_id.replace("/", "--")).symlink_to(tiny_data / "tiny-models" / tiny_id)
    engine = DiffusionEngine(family, Settings(model_dirs=[str(models)]), _paths(tmp_path))
    assert engine.weights_status().ready
    result, steps = _run(engine, {**request, "seed": 1})
    assert steps == [(1, 2), (2, 2)]
    assert result.frames.shape == (request["frames"], 256, 256, 3)
    assert result.manifest["model_id"] == family.hub_id


# --- through the studio ---------------------------------------------------------------------


@pytest.fixture()
def services(services):
    """The shared studio with developer mode on: the tiny engines are developer-only."""
    services.apply_settings(services.settings().model_copy(update={"developer_mode": True}))
    return services


def _submit(services, engine_id: str, **params) -> int:
    from studio.jobs.queue import SubmitRequest

    image = Image.new("RGB", (80, 60), (200, 120, 40))
    image.paste((20, 40, 220), (10, 10, 40, 40))
    return services.queue.submit(SubmitRequest(engine=engine_id, params={**CASES[engine_id].request, **params},
                                               image=image, image_name="test.png"))


def test_a_tiny_ltx_run_goes_through_the_queue_and_worker_to_a_playable_video(services):
    from studio.media.encode import probe_video

    run_id = _submit(services, "tiny-ltx", fps=12)
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    # The tiny engine built its pipeline in the data folder on first use.
    assert run.manifest["model_path"] == str(services.paths.data_dir / "tiny-models" / "tiny-ltx")
    assert (run.step, run.total_steps) == (2, 2)
    info = probe_video(Path(run.video_path))
    assert (info.width, info.height, info.frames, info.codec) == (64, 32, 9, "h264")
    assert Path(run.poster_path).exists()
    assert run.manifest["pipeline_class"] == "LTXImageToVideoPipeline"
    assert run.manifest["memory_mode"] == "cpu" and run.seed == 5


def test_out_of_memory_in_the_worker_fails_with_a_retry_mode_and_the_retry_succeeds(services, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "oom@cpu:1")
    failed_id = _submit(services, "tiny-wan22-ti2v")
    services.worker.run_until_idle()
    failed = services.history.get_run(failed_id)
    assert (failed.status, failed.error_kind, failed.retry_mode) == ("failed", "oom", "lowest")
    assert "Out of memory" in failed.error and "64x32" in failed.error
    retry_id = services.queue.rerun(failed_id, overrides={"memory_mode": failed.retry_mode})
    services.worker.run_until_idle()
    retry = services.history.get_run(retry_id)
    assert retry.status == "succeeded", retry.error
    assert retry.manifest["memory_mode"] == "lowest" and retry.parent_id == failed_id


@pytest.mark.parametrize("engine_id", TINY_IDS)
def test_fast_puts_the_cache_on_where_the_family_has_one_and_says_why_not_elsewhere(engines, engine_id):
    family = families.family_for(engine_id)
    request = {**CASES[engine_id].request, "speed": "fast"}
    if family.fast_cache_threshold is None:
        with pytest.raises(InputError) as refused:
            validate_for(engines[engine_id], request)
        assert refused.value.param == "speed" and family.no_fast_reason in refused.value.message
        return
    result, _steps = _run(engines[engine_id], request)
    assert result.manifest["cache"] == "first_block_cache" and result.manifest["cache_threshold"] == family.fast_cache_threshold
