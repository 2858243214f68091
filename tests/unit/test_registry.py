"""The model families as data: every engine is listed, its rules reject bad values with the nearest
valid one, its defaults pass, its parameters exist in the diffusers pipeline it names; and the
runtime decisions (device, memory mode, the plan shown before a run) made from that data."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from studio.config import PROJECT_ROOT, Paths, Settings
from studio.engines import runtime
from studio.engines.base import InputError
from studio.engines.diffusion import families
from studio.engines.registry import build_registry
from studio.devtools.faults import Fault, fault_from_env, parse_fault
from studio.requests import validate_for

ENGINE_IDS = ["i2vgen-xl", "svd-xt", "svd", "wan2.2-ti2v-5b", "wan2.1-i2v-14b-480p", "ltx-video", "cogvideox-5b-i2v",
              "wan2.1-flf2v-14b-720p", "wan2.2-i2v-a14b", "skyreels-v2-i2v-14b-540p", "skyreels-v2-df-14b-540p",
              "ltx-2", "framepack", "hunyuanvideo-1.5-i2v-480p", "tiny-i2vgen-xl"]


@pytest.fixture()
def registry(tmp_path):
    return build_registry(Settings(), Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://"))


def test_every_family_is_registered_with_its_hub_id(registry):
    ids = [info.id for info in registry.infos()]
    assert ids[0] == "motion" and set(ENGINE_IDS) <= set(ids)
    assert [i.id for i in registry.infos(include_developer=False)] == ["motion", *ENGINE_IDS[:-1]]
    hub = {info.id: info.model_id for info in registry.infos()}
    assert hub["i2vgen-xl"] == "ali-vilab/i2vgen-xl"
    assert hub["svd-xt"] == "stabilityai/stable-video-diffusion-img2vid-xt"
    assert hub["svd"] == "stabilityai/stable-video-diffusion-img2vid"
    assert hub["wan2.2-ti2v-5b"] == "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    assert hub["wan2.1-i2v-14b-480p"] == "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
    assert hub["ltx-video"] == "Lightricks/LTX-Video"
    assert hub["cogvideox-5b-i2v"] == "THUDM/CogVideoX-5b-I2V"
    assert hub["wan2.2-i2v-a14b"] == "Wan-AI/Wan2.2-I2V-A14B-Diffusers"
    assert hub["skyreels-v2-i2v-14b-540p"] == "Skywork/SkyReels-V2-I2V-14B-540P-Diffusers"
    assert hub["skyreels-v2-df-14b-540p"] == "Skywork/SkyReels-V2-DF-14B-540P-Diffusers"
    assert hub["ltx-2"] == "Lightricks/LTX-2"
    assert hub["framepack"] == "lllyasviel/FramePackI2V_HY"
    assert hub["hunyuanvideo-1.5-i2v-480p"] == "hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v"
    assert hub["tiny-i2vgen-xl"] is None  # built in code, never downloaded
    shown = [info.id for info in registry.infos(include_developer=False)]
    assert "tiny-i2vgen-xl" not in shown and "i2vgen-xl" in shown


def test_defaults_follow_the_model_cards(registry):
    i2v = registry.get("i2vgen-xl").info.defaults()
    assert (i2v["width"], i2v["height"], i2v["frames"], i2v["fps"], i2v["steps"], i2v["guidance"]) == (512, 512, 16, 8, 50, 9.0)
    svd_xt = registry.get("svd-xt").info
    assert (svd_xt.defaults()["width"], svd_xt.defaults()["height"], svd_xt.defaults()["frames"]) == (1024, 576, 25)
    assert not svd_xt.supports_prompt and not svd_xt.supports_negative_prompt
    assert registry.get("svd").info.defaults()["frames"] == 14
    cog = registry.get("cogvideox-5b-i2v").info.defaults()
    assert (cog["width"], cog["height"], cog["frames"], cog["fps"]) == (720, 480, 49, 8)
    assert registry.get("ltx-video").info.defaults()["decode_timestep"] == 0.03
    a14b = registry.get("wan2.2-i2v-a14b").info.defaults()
    assert (a14b["width"], a14b["height"], a14b["frames"], a14b["fps"], a14b["steps"]) == (832, 480, 81, 16, 40)
    assert (a14b["guidance"], a14b["guidance_2"]) == (3.5, 3.5)
    sky = registry.get("skyreels-v2-i2v-14b-540p").info.defaults()
    assert (sky["width"], sky["height"], sky["frames"], sky["fps"], sky["steps"], sky["guidance"]) == (960, 544, 97, 24, 50, 5.0)
    df = registry.get("skyreels-v2-df-14b-540p").info.defaults()
    assert (df["frames"], df["base_frames"], df["overlap_history"], df["ar_step"], df["addnoise_condition"]) == (257, 97, 17, 0, 20)


def test_new_parameters_say_what_they_do():
    """Every parameter a creator sees on the new families has help that names its effect."""
    a14b = families.WAN22_I2V_A14B.info()
    assert "low-noise expert" in a14b.param("guidance_2").help and "high-noise expert" in a14b.param("guidance").help
    df = families.SKYREELS_V2_DF_14B_540P.info()
    assert {spec.name for spec in df.params} >= {"base_frames", "overlap_history", "ar_step", "addnoise_condition"}
    for name in ("frames", "base_frames", "overlap_history", "ar_step", "addnoise_condition"):
        assert len(df.param(name).help) > 80, name
    assert "window" in df.param("frames").help and "17 or 37" in df.param("overlap_history").help


def test_older_families_say_so_and_i2vgen_xl_stays_first():
    descriptions = {f.engine_id: f.description for f in families.FAMILIES}
    for engine_id in ("svd", "svd-xt", "wan2.1-i2v-14b-480p", "ltx-video", "cogvideox-5b-i2v"):
        assert descriptions[engine_id].startswith("Older model"), engine_id
    for engine_id in ("i2vgen-xl", "wan2.2-ti2v-5b", "wan2.2-i2v-a14b", "skyreels-v2-i2v-14b-540p", "skyreels-v2-df-14b-540p"):
        assert "Older" not in descriptions[engine_id], engine_id
    assert families.FAMILIES[0] is families.I2VGEN_XL


@pytest.mark.parametrize("engine_id", ENGINE_IDS)
def test_each_engine_accepts_its_own_defaults(registry, engine_id):
    engine = registry.get(engine_id)
    clean = engine.validate({})
    assert clean == {**engine.info.defaults(), "prompt": "", "negative_prompt": "", "seed": None}
    info = engine.info
    assert set(info.vram_gb) == {"full_gpu", "model_offload", "group_offload", "lowest"}
    assert (info.vram_gb["full_gpu"] >= info.vram_gb["model_offload"] >= info.vram_gb["group_offload"]
            >= info.vram_gb["lowest"] > 0)
    assert 0 < info.denoiser_gb < info.vram_gb["full_gpu"]
    assert info.weights_gb > 0 and info.recommended_fps == info.defaults()["fps"]
    assert info.developer_only == engine_id.startswith("tiny-")


@pytest.mark.parametrize(
    ("engine_id", "param", "value", "nearest", "rule"),
    [
        ("i2vgen-xl", "width", 500, 512, "multiple of 64"),
        ("i2vgen-xl", "height", 100, 256, "between 256 and 1280"),
        ("i2vgen-xl", "frames", 40, 32, "between 2 and 32"),
        ("svd-xt", "frames", 30, 25, "between 2 and 25"),
        ("svd", "frames", 20, 14, "between 2 and 14"),
        ("svd-xt", "motion_bucket_id", 300, 255, "between 1 and 255"),
        ("svd-xt", "noise_aug_strength", 1.5, 1.0, "between 0 and 1"),
        ("svd-xt", "width", 1000, 1024, "multiple of 64"),
        ("wan2.2-ti2v-5b", "frames", 80, 81, "4k+1"),
        ("wan2.2-ti2v-5b", "width", 1000, 992, "multiple of 32"),
        ("wan2.1-i2v-14b-480p", "frames", 83, 85, "4k+1"),
        ("wan2.1-i2v-14b-480p", "height", 470, 464, "multiple of 16"),
        ("ltx-video", "frames", 100, 97, "8k+1"),
        ("ltx-video", "height", 500, 512, "multiple of 32"),
        ("ltx-video", "decode_timestep", 2, 1.0, "between 0 and 1"),
        ("cogvideox-5b-i2v", "frames", 50, 49, "8k+1"),
        ("cogvideox-5b-i2v", "width", 768, 720, "between 720 and 720"),
        ("cogvideox-5b-i2v", "height", 576, 480, "between 480 and 480"),
        ("tiny-i2vgen-xl", "width", 40, 48, "multiple of 16"),
        ("wan2.2-i2v-a14b", "frames", 80, 81, "4k+1"),
        ("wan2.2-i2v-a14b", "width", 1000, 1008, "multiple of 16"),
        ("wan2.2-i2v-a14b", "guidance_2", -1, 0.0, "between 0 and 20"),
        ("skyreels-v2-i2v-14b-540p", "height", 540, 544, "multiple of 16"),
        ("skyreels-v2-df-14b-540p", "frames", 201, 177, "fill whole windows"),
        ("skyreels-v2-df-14b-540p", "overlap_history", 97, 93, "fewer than Window frames"),
        ("skyreels-v2-df-14b-540p", "addnoise_condition", 51, 50, "between 0 and 50"),
        ("skyreels-v2-df-14b-540p", "ar_step", 11, 10, "between 0 and 10"),
    ],
)
def test_rules_reject_bad_values_and_offer_the_nearest_valid_one(registry, engine_id, param, value, nearest, rule):
    with pytest.raises(InputError) as caught:
        registry.get(engine_id).validate({param: value})
    assert caught.value.param == param
    assert caught.value.suggestion == nearest
    assert rule in caught.value.message
    registry.get(engine_id).validate({param: nearest})  # and the suggestion is accepted


@pytest.mark.parametrize(
    ("params", "param", "nearest", "rule"),
    [
        # Asynchronous mode works in causal blocks of 5 latent frames (20 video frames).
        ({"ar_step": 5, "base_frames": 121, "frames": 117}, "base_frames", 117, "whole blocks of 5 latent frames"),
        ({"ar_step": 5, "overlap_history": 21}, "overlap_history", 17, "whole blocks of 5 latent frames"),
        ({"ar_step": 5, "frames": 81}, "frames", 77, "whole blocks of 5 latent frames"),
        # A long video's windows: 97, then 97 - 37 = 60 new frames each.
        ({"overlap_history": 37, "frames": 257}, "frames", 277, "97 plus a multiple of 60"),
    ],
)
def test_diffusion_forcing_rules_span_parameters_and_offer_the_nearest_valid_value(registry, params, param, nearest, rule):
    engine = registry.get("skyreels-v2-df-14b-540p")
    with pytest.raises(InputError) as caught:
        engine.validate(params)
    assert (caught.value.param, caught.value.suggestion) == (param, nearest)
    assert rule in caught.value.message and f"Nearest valid value: {nearest}." in caught.value.message
    engine.validate({**params, param: nearest})


def test_diffusion_forcing_says_what_to_change_when_no_value_of_the_parameter_fits(tmp_path):
    """Asynchronous blocks of 5 latent frames: a 17-frame window is one block, so no overlap under
    it is whole; the message says what else to change."""
    registry = build_registry(Settings(), Paths(data_dir=tmp_path, logs_dir=tmp_path, database_url="sqlite://"))
    with pytest.raises(InputError) as caught:
        registry.get("tiny-skyreels-v2-df").validate({"ar_step": 2})
    assert (caught.value.param, caught.value.suggestion) == ("overlap_history", None)
    assert caught.value.message == (
        "Overlap frames must hold whole blocks of 5 latent frames (17, 37, 57, ... frames) in asynchronous mode "
        "(Causal lag (ar_step) above 0); 5 is not. No overlap fits a window of 17 frames: make Window frames "
        "larger, or set Causal lag (ar_step) to 0.")


def test_diffusion_forcing_progress_total_is_the_pipelines_step_rows_over_every_window():
    """257 frames = 3 windows of 97. Synchronous: 50 rows each. Asynchronous (ar_step 5, 5 blocks a
    window): the first window's blocks start 5 rows apart, 50 + 4 x 5 rows; the later ones continue
    from one whole block (the 17-frame overlap) and denoise four, 50 + 3 x 5."""
    from studio.engines.diffusion.adapters.skyreels import SkyReelsV2ForcingAdapter

    adapter = SkyReelsV2ForcingAdapter()
    defaults = families.SKYREELS_V2_DF_14B_540P.info().defaults()
    assert adapter.total_steps(defaults) == 3 * 50
    assert adapter.total_steps({**defaults, "ar_step": 5}) == 70 + 65 + 65
    assert adapter.total_steps({**defaults, "frames": 97, "ar_step": 5}) == 70
    assert adapter.total_steps({**defaults, "frames": 41}) == 50


def test_unknown_parameters_are_rejected_by_name(registry):
    with pytest.raises(InputError, match="motion_bucket_id"):
        registry.get("i2vgen-xl").validate({"motion_bucket_id": 100})


# The call argument each family's parameters become; checked against the installed diffusers, so a
# renamed argument fails here rather than in a user's run.
CALL_ARGUMENTS = {
    "i2vgen-xl": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                  "guidance_scale", "target_fps", "generator", "output_type"},
    "svd-xt": {"width", "height", "num_frames", "num_inference_steps", "max_guidance_scale", "fps",
               "motion_bucket_id", "noise_aug_strength", "decode_chunk_size", "callback_on_step_end"},
    "wan2.2-ti2v-5b": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                       "guidance_scale", "callback_on_step_end"},
    "ltx-video": {"prompt", "negative_prompt", "width", "height", "num_frames", "frame_rate", "num_inference_steps",
                  "guidance_scale", "decode_timestep", "decode_noise_scale", "callback_on_step_end"},
    "cogvideox-5b-i2v": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                         "guidance_scale", "callback_on_step_end"},
    "wan2.2-i2v-a14b": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                        "guidance_scale", "guidance_scale_2", "callback_on_step_end"},
    "skyreels-v2-i2v-14b-540p": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                                 "guidance_scale", "callback_on_step_end"},
    "skyreels-v2-df-14b-540p": {"prompt", "negative_prompt", "width", "height", "num_frames", "num_inference_steps",
                                "guidance_scale", "base_num_frames", "overlap_history", "ar_step", "causal_block_size",
                                "addnoise_condition", "fps", "callback_on_step_end"},
}


@pytest.mark.parametrize("engine_id", sorted(CALL_ARGUMENTS))
def test_each_family_names_a_pipeline_that_takes_its_parameters(engine_id):
    import diffusers

    family = families.family_for(engine_id)
    pipeline = getattr(diffusers, family.pipeline_class)
    accepted = set(inspect.signature(pipeline.__call__).parameters)
    assert CALL_ARGUMENTS[engine_id] <= accepted


def test_i2vgen_xl_pipeline_has_no_step_callback_so_its_adapter_hooks_the_unet():
    """Why the I2VGen-XL adapter counts UNet calls: the pipeline offers no callback of any kind."""
    import diffusers

    from studio.engines.diffusion.adapters.i2vgen_xl import I2VGenXLAdapter

    accepted = set(inspect.signature(diffusers.I2VGenXLPipeline.__call__).parameters)
    assert not accepted & {"callback", "callback_on_step_end"}
    assert (I2VGenXLAdapter.step_mechanism, I2VGenXLAdapter.denoiser) == ("denoiser_hook", "unet")


def test_a_family_without_an_adapter_is_listed_and_says_it_cannot_run_yet(tmp_path):
    from dataclasses import replace

    from studio.engines.diffusion import DiffusionEngine

    family = replace(families.SVD_XT, adapter=None)
    engine = DiffusionEngine(family, Settings(), Paths(data_dir=tmp_path, logs_dir=tmp_path, database_url="sqlite://"))
    status = engine.weights_status()
    assert status.state == "unusable" and "cannot run it yet" in status.detail
    with pytest.raises(InputError) as caught:
        engine.generate(None, validate_for(engine, {}), runtime.RuntimeOptions(), on_step=lambda s, t: None, cancelled=lambda: False)
    assert caught.value.param == "engine"


def test_importing_the_registry_and_families_stays_light():
    code = ("import sys, studio.engines.registry, studio.engines.diffusion.families, studio.engines.runtime, "
            "studio.engines.diffusion.weights, studio.engines.diffusion, studio.engines.diffusion.placement, "
            "studio.devtools.tiny, studio.devtools.faults; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- runtime -----------------------------------------------------------------------------------


def test_on_a_cpu_everything_runs_in_float32(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    info = families.I2VGEN_XL.info()
    assert runtime.resolve_runtime(info, Settings(), None) == runtime.RuntimeOptions("cpu", "float32", "cpu", "default")
    assert runtime.resolve_runtime(info, Settings(precision="fp16"), "full_gpu").memory_mode == "cpu"
    # 'lowest' still means something on a CPU (VAE slicing and tiling), so an explicit request stays.
    assert runtime.resolve_runtime(info, Settings(), "lowest").memory_mode == "lowest"


def test_a_run_asking_for_auto_follows_the_memory_mode_setting(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    info = families.I2VGEN_XL.info()
    assert runtime.resolve_runtime(info, Settings(memory_mode="lowest"), "auto").memory_mode == "lowest"


@pytest.fixture()
def fake_gpu(monkeypatch):
    """A GPU as resolve_runtime sees one: CUDA present, 80 GB free, bf16 support switchable."""
    import torch

    support = {"bf16": True}
    monkeypatch.setattr(runtime, "cuda_available", lambda: True)
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (80.0, 81.5))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: support["bf16"])
    return support


def test_on_a_gpu_precision_follows_the_family_unless_set(fake_gpu):
    i2v, wan = families.I2VGEN_XL.info(), families.WAN22_TI2V_5B.info()
    assert runtime.resolve_runtime(i2v, Settings(), None) == runtime.RuntimeOptions("cuda", "float16", "full_gpu")
    assert runtime.resolve_runtime(wan, Settings(), None).dtype == "bfloat16"
    assert runtime.resolve_runtime(i2v, Settings(precision="fp32"), None).dtype == "float32"
    fake_gpu["bf16"] = False  # an older card
    assert runtime.resolve_runtime(wan, Settings(), None).dtype == "float16"


def test_on_a_gpu_the_memory_mode_comes_from_the_run_then_the_settings_then_free_memory(fake_gpu, monkeypatch):
    i2v, wan14 = families.I2VGEN_XL.info(), families.WAN21_I2V_14B_480P.info()
    assert runtime.resolve_runtime(i2v, Settings(memory_mode="lowest"), "model_offload").memory_mode == "model_offload"
    assert runtime.resolve_runtime(i2v, Settings(memory_mode="lowest"), "auto").memory_mode == "lowest"
    assert runtime.resolve_runtime(wan14, Settings(), "auto").memory_mode == "full_gpu"  # 70 GB <= 80 x 0.9
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (60.0, 80.0))
    assert runtime.resolve_runtime(wan14, Settings(), "auto").memory_mode == "model_offload"
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (8.0, 12.0))
    assert runtime.resolve_runtime(i2v, Settings(), None).memory_mode == "group_offload"  # 5 GB <= 8 x 0.9
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (5.0, 6.0))
    assert runtime.resolve_runtime(i2v, Settings(), None).memory_mode == "lowest"


def test_the_plan_on_a_cpu_warns_and_estimates_from_the_settings(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    info = families.I2VGEN_XL.info()
    plan = runtime.describe_plan(info, Settings(), None)
    assert plan.startswith("No GPU: runs on CPU")
    assert "fp32" in plan and "est. about 75 min" in plan and plan.endswith("slow.")
    half = runtime.describe_plan(info, Settings(), None, {"frames": 8, "steps": 25})
    assert "est. about 19 min" in half
    assert "under a minute" in runtime.describe_plan(families.TINY_I2VGEN_XL.info(), Settings(), None)


def test_the_plan_on_a_gpu_names_the_card_mode_precision_and_memory(monkeypatch):
    monkeypatch.setattr(runtime, "resolve_runtime", lambda info, settings, mode: runtime.RuntimeOptions("cuda", "float16", "full_gpu"))
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (80.0, 81.5))
    monkeypatch.setattr(runtime, "device_name", lambda device: "NVIDIA H100 80GB HBM3")
    plan = runtime.describe_plan(families.I2VGEN_XL.info(), Settings(), None)
    assert plan == "Will run on NVIDIA H100 80GB HBM3 in full_gpu mode, fp16, ~14 GB of 80 GB free."
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (10.0, 12.0))
    assert "may run out of memory" in runtime.describe_plan(families.I2VGEN_XL.info(), Settings(), None)


def test_an_engine_without_weights_runs_on_the_cpu_in_8_bit_and_its_plan_says_so():
    from studio.engines.motion import MotionEngine

    info = MotionEngine().info
    plan = runtime.resolve_runtime(info, Settings(device="cuda"), "full_gpu")
    assert plan == runtime.RuntimeOptions("cpu", "uint8", "cpu")
    assert plan.device_reason and plan.dtype_reason and plan.memory_mode_reason
    assert runtime.describe_plan(info, Settings(), None) == "Runs on the CPU; no GPU or weights needed."


def test_every_decision_carries_its_reason(fake_gpu, monkeypatch):
    info = families.WAN22_TI2V_5B.info()
    plan = runtime.resolve_runtime(info, Settings(), None)
    assert plan.device_reason == "a CUDA GPU is available"
    assert plan.dtype_reason == "bf16, the precision Wan 2.2 TI2V 5B was released in"
    assert plan.memory_mode_reason.startswith("auto: the fastest mode whose estimate (~40 GB)")
    assert runtime.resolve_runtime(info, Settings(), "lowest").memory_mode_reason == "lowest chosen for this run"
    fake_gpu["bf16"] = False
    assert runtime.resolve_runtime(info, Settings(), None).dtype_reason.endswith("this GPU has no bf16, so fp16")
    # The words the CPU plan starts with are the reason the plan gives for the device.
    cpu = runtime.resolve_runtime(info, Settings(device="cpu"), None)
    assert (cpu.device, cpu.device_reason) == ("cpu", "Device set to CPU")
    assert runtime.describe_plan(info, Settings(device="cpu"), None).startswith("Device set to CPU: runs on CPU in fp32")
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    assert runtime.resolve_runtime(info, Settings(), None).device_reason == "No GPU"


def test_the_runtime_decisions_read_the_engine_info_not_a_family_table():
    info = families.I2VGEN_XL.info()
    assert (info.precision, info.cpu_seconds_per_step) == ("fp16", 90.0)
    assert families.WAN21_I2V_14B_480P.info().precision == "bf16"
    assert runtime.estimate_cpu_seconds(info) == 90.0 * 50


@pytest.mark.parametrize(("free_gb", "mode"), [(80, "full_gpu"), (16, "full_gpu"), (12, "model_offload"), (6, "group_offload"),
                                              (5, "lowest"), (1, "lowest")])
def test_auto_picks_the_fastest_mode_that_fits(free_gb, mode):
    assert runtime.auto_mode(families.I2VGEN_XL.info(), free_gb=free_gb) == mode


def test_after_out_of_memory_the_next_mode_is_leaner():
    chain = ["full_gpu"]
    while (lower := runtime.next_lower_mode(chain[-1])) is not None:
        chain.append(lower)
    assert chain == ["full_gpu", "model_offload", "group_offload", "lowest"]
    assert runtime.next_lower_mode("cpu") == "lowest"


def test_fault_injection_format():
    assert parse_fault("oom@full_gpu:2") == Fault("oom", "full_gpu", 2)
    assert fault_from_env({"STUDIO_TINY_FAULT": "memory@*:1"}) == Fault("memory", "*", 1)
    assert fault_from_env({}) is None
    for bad in ("oom", "oom@full_gpu", "boom@full_gpu:1", "oom@full_gpu:0", "oom@full_gpu:two"):
        with pytest.raises(ValueError, match="STUDIO_TINY_FAULT"):
            parse_fault(bad)
    Fault("oom", "full_gpu", 2).maybe_raise(2, "model_offload")  # other mode: nothing happens
    with pytest.raises(MemoryError):
        Fault("memory", "*", 3).maybe_raise(3, "lowest")


def test_weights_status_of_a_tiny_engine_before_and_after_its_folder_exists(registry, tmp_path):
    engine = registry.get("tiny-i2vgen-xl")
    assert engine.tiny_folder() == Path(tmp_path) / "tiny-models" / "tiny-i2vgen-xl"
    status = engine.weights_status()
    assert status.ready and "built in code on first use" in status.detail
