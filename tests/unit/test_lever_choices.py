"""Which speed and memory levers a machine may use, how a worker that cannot use one runs, and how
the levers change auto's memory-mode choice. No model is loaded here."""

from __future__ import annotations

import pytest
import torch

from studio.config import Settings
from studio.engines import levers, runtime
from studio.engines.base import InputError, RuntimeOptions
from studio.engines.diffusion import families


@pytest.fixture()
def no_gpu(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture()
def gpu(monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def test_without_a_gpu_only_the_cpu_levers_are_offered(no_gpu):
    choices = levers.usable_choices()
    assert choices["attention_backend"] == ["native"]
    assert "fp8_weight_only" not in choices["quantization"]
    assert ("int8_weight_only" in choices["quantization"]) == (levers.quantization_refusal("int8_weight_only") is None)


@pytest.mark.parametrize(("setting", "value", "reason", "suggestion"), [
    ("attention_backend", "sage", "sage needs the sageattention package and a CUDA GPU", "native"),
    ("attention_backend", "flash", "flash needs the flash-attn package and a CUDA GPU", "native"),
    ("attention_backend", "xformers", "xformers needs the xformers package and a CUDA GPU", "native"),
    ("quantization", "fp8_weight_only", "compute capability 8.9 or newer", "none"),
])
def test_an_unusable_lever_is_refused_naming_the_setting_the_reason_and_what_to_use(no_gpu, setting, value, reason, suggestion):
    with pytest.raises(InputError) as refused:
        levers.check_settings(Settings(**{setting: value}))
    assert refused.value.param == setting and refused.value.suggestion == suggestion
    assert reason in refused.value.message


def test_fp8_storage_and_quantization_are_not_combined():
    assert "choose one" in levers.fp8_layerwise_refusal("int8_weight_only")
    pytest.importorskip("torchao")
    with pytest.raises(InputError, match="choose one") as refused:
        levers.check_settings(Settings(fp8_layerwise=True, quantization="int8_weight_only"))
    assert refused.value.param == "fp8_layerwise" and refused.value.suggestion is False


def test_a_worker_that_cannot_use_a_saved_lever_runs_without_it_and_says_why(no_gpu):
    """A setting saved on a GPU host, read by a worker without one."""
    settings = Settings.model_construct(**{**Settings().model_dump(), "attention_backend": "sage", "compile": True})
    plan = runtime.resolve_runtime(families.I2VGEN_XL.info(), settings)
    assert plan.attention == "default" and plan.compile is True
    assert "sage needs the sageattention package" in plan.levers_reason
    assert "first run after loading is slower" in runtime.describe_plan(families.I2VGEN_XL.info(), settings)


def test_every_lever_is_part_of_the_warm_pipeline_key():
    base = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
    changed = [RuntimeOptions(**{**base.__dict__, name: value}) for name, value in
               (("attention", "sage"), ("compile", True), ("quantization", "int8_weight_only"),
                ("fp8_layerwise", True), ("vae_tiling", True), ("memory_mode", "lowest"), ("dtype", "float16"))]
    assert all(option != base for option in changed)
    assert RuntimeOptions(**base.__dict__) == base


def test_eight_bit_weights_let_auto_keep_more_on_the_gpu(gpu, monkeypatch):
    wan = families.WAN22_TI2V_5B.info()  # full_gpu ~40 GB, 10 GB of it the transformer in bf16
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (40.0, 48.0))  # 36 GB usable
    assert runtime.resolve_runtime(wan, Settings()).memory_mode == "model_offload"
    for lever in ({"quantization": "int8_weight_only"}, {"fp8_layerwise": True}):
        if "quantization" in lever and levers.quantization_refusal(lever["quantization"]):
            continue
        plan = runtime.resolve_runtime(wan, Settings(**lever))
        assert plan.memory_mode == "full_gpu", lever  # 40 - 10/2 = 35 GB fits
        assert "~35 GB" in plan.memory_mode_reason
    # The offload modes stream their weights: 8 bits barely move their peak.
    assert runtime.vram_estimate(wan, "group_offload", fp8_layerwise=True) == wan.vram_gb["group_offload"]


@pytest.mark.parametrize(("free_gb", "mode"), [(50, "model_offload"), (20, "group_offload"), (16, "lowest")])
def test_auto_offers_group_offload_between_model_offload_and_lowest(gpu, monkeypatch, free_gb, mode):
    monkeypatch.setattr(runtime, "gpu_memory", lambda: (free_gb, 48.0))
    assert runtime.resolve_runtime(families.WAN21_I2V_14B_480P.info(), Settings()).memory_mode == mode


def test_a_second_expert_saved_as_null_is_not_a_denoiser(tmp_path):
    """Wan's single-expert folders list `transformer_2: [null, null]`; quantizing or reading a GGUF
    file for it would fail the whole load, so only a present second expert counts."""
    import json

    from studio.engines.diffusion import levers as diffusion_levers

    index = {"_class_name": "WanImageToVideoPipeline", "transformer": ["diffusers", "WanTransformer3DModel"],
             "vae": ["diffusers", "AutoencoderKLWan"]}
    (tmp_path / "model_index.json").write_text(json.dumps({**index, "transformer_2": [None, None]}))
    assert diffusion_levers.denoiser_names(tmp_path, "transformer") == ["transformer"]
    (tmp_path / "model_index.json").write_text(json.dumps({**index, "transformer_2": ["diffusers", "WanTransformer3DModel"]}))
    assert diffusion_levers.denoiser_names(tmp_path, "transformer") == ["transformer", "transformer_2"]
