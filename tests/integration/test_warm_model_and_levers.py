"""Keeping the model warm and the load-time levers, on the tiny I2VGen-XL pipeline run on the CPU:
through the real worker and history, and through the engine for what only a loaded pipeline shows
(int8 weights, fp8 storage, compiled blocks)."""

from __future__ import annotations

import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.config import Paths, Settings
from studio.devtools.faults import FAULT_ENV
from studio.devtools.tiny.i2vgen_xl import build_tiny_i2vgen_xl
from studio.engines.base import InputError, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, families, levers
from studio.jobs.queue import SubmitRequest
from studio.jobs.worker import Worker
from studio.requests import validate_for
from tests.integration.conftest import make_services, picture

TINY = "tiny-i2vgen-xl"
PARAMS = {"prompt": "a boat", "seed": 5, "width": 32, "height": 32, "frames": 2, "steps": 2}
CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(FAULT_ENV, raising=False)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A data folder whose tiny-models/ holds the tiny I2VGen-XL, built once for the module."""
    data = tmp_path_factory.mktemp("levers-data")
    build_tiny_i2vgen_xl(data / "tiny-models" / TINY)
    return data


def _engine(data: Path) -> DiffusionEngine:
    return DiffusionEngine(families.TINY_I2VGEN_XL, Settings(), Paths(data_dir=data, logs_dir=data / "logs",
                                                                     database_url="sqlite://"))


def _generate(engine: DiffusionEngine, runtime: RuntimeOptions):
    return engine.generate(Image.new("RGB", (32, 32), (90, 60, 30)), validate_for(engine, PARAMS), runtime,
                           on_step=lambda *_: None, cancelled=lambda: False)


def test_the_worker_keeps_the_model_warm_until_a_load_setting_changes(tmp_path, tiny_data):
    services = make_services(tmp_path)
    # The studio's data folder gets the module's tiny model, so nothing is built again.
    (services.paths.data_dir / "tiny-models").mkdir(parents=True, exist_ok=True)
    (services.paths.data_dir / "tiny-models" / TINY).symlink_to(tiny_data / "tiny-models" / TINY)
    worker = Worker(session_factory=services.sessions, registry=services.registry, storage=services.storage,
                    paths=services.paths, poll_interval=0.05)

    def run_one() -> dict:
        run_id = services.queue.submit(SubmitRequest(engine=TINY, params=dict(PARAMS), image=picture(), image_name="t.png"))
        worker.run_until_idle(timeout=120)
        run = services.history.get_run(run_id)
        assert run.status == "succeeded", run.error
        return {**run.manifest, "row_load_seconds": run.load_seconds}

    try:
        first, second = run_one(), run_one()
        assert (first["already_loaded"], second["already_loaded"]) == (False, True)
        assert first["load_seconds"] > 0 and first["row_load_seconds"] > 0
        assert second["load_seconds"] == 0 and second["row_load_seconds"] == 0
        assert second["runtime"]["vae_tiling"] is False and second["levers"]["attention"] == "native"

        services.apply_settings(services.settings().model_copy(update={"vae_tiling": True}))
        tiled = run_one()
        assert tiled["already_loaded"] is False and tiled["load_seconds"] > 0
        assert tiled["runtime"]["vae_tiling"] is True and tiled["levers"]["vae_tiling"] is True

        services.apply_settings(services.settings().model_copy(update={"keep_model_warm": False}))
        run_one()
        assert services.registry.get(TINY).pipeline is None  # memory given back after the run
    finally:
        worker.stop()
        services.close()


def test_a_lever_this_machine_cannot_use_is_refused_with_its_reason_and_nothing_is_saved(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("on a CUDA machine sage may be usable")
    services = make_services(tmp_path)
    try:
        assert "sage" not in services.lever_choices()["attention_backend"]
        with pytest.raises(InputError) as refused:
            services.apply_settings(services.settings().model_copy(update={"attention_backend": "sage"}))
        assert refused.value.param == "attention_backend" and refused.value.suggestion == "native"
        assert "sage needs the sageattention package and a CUDA GPU" in refused.value.message
        assert services.settings().attention_backend == "native"
    finally:
        services.close()


def test_int8_weight_only_quantized_load_still_generates(tiny_data):
    pytest.importorskip("torchao")
    engine = _engine(tiny_data)
    plain = _generate(engine, CPU)
    quantized = _generate(engine, replace(CPU, quantization="int8_weight_only"))
    try:
        assert quantized.load_seconds > 0  # a new key: loaded again, quantized
        assert quantized.manifest["levers"]["quantization"] == "int8_weight_only"
        assert quantized.manifest["levers"]["quantized"] == ["unet"]
        linear = next(m for m in engine.pipeline.unet.modules() if isinstance(m, torch.nn.Linear))
        assert "Int8" in type(linear.weight).__name__
        assert quantized.frames.shape == plain.frames.shape == (2, 32, 32, 3)
        # Rounded weights, nearly the same video: close to the float32 one, not noise.
        difference = np.abs(quantized.frames.astype(int) - plain.frames.astype(int)).mean()
        assert difference < 8, difference
    finally:
        engine.release()


def test_fp8_layerwise_casting_stores_fp8_and_generates_and_group_offload_falls_back_on_a_cpu(tiny_data):
    engine = _engine(tiny_data)
    try:
        result = _generate(engine, replace(CPU, fp8_layerwise=True, memory_mode="group_offload"))
        assert result.frames.shape == (2, 32, 32, 3)
        assert result.manifest["levers"]["fp8_layerwise"] is True
        weights = {p.dtype for p in engine.pipeline.unet.parameters()}
        assert torch.float8_e4m3fn in weights  # norms and embeddings stay in float32, by design
        assert "group_offload needs a GPU; ran with the whole pipeline on the CPU instead" in result.manifest["memory_notes"]
    finally:
        engine.release()


def test_compile_is_regional_where_the_denoiser_repeats_blocks_and_whole_otherwise(tiny_data):
    from studio.devtools.tiny.wan import _transformer

    wan = types.SimpleNamespace(transformer=_transformer(in_channels=4, out_channels=4))
    result = levers.LeverResult()
    levers._compile(wan, ["transformer"], True, result)
    assert result.applied["compile"] == "regional"
    blocks = list(wan.transformer.blocks)
    assert blocks and all(block._compiled_call_impl is not None for block in blocks)
    assert wan.transformer._compiled_call_impl is None  # only the repeated blocks
    assert any("first run after loading" in note for note in result.notes)

    engine = _engine(tiny_data)
    try:
        engine._pipeline(engine_adapter(), replace(CPU, compile=True))
        assert engine.pipeline.unet._compiled_call_impl is not None
        assert engine._loaded.lever_result.applied["compile"] == "whole denoiser"
    finally:
        engine.release()


def engine_adapter():
    from studio.engines.diffusion.adapter import load_adapter

    return load_adapter(families.TINY_I2VGEN_XL.adapter)


def test_a_gguf_checkpoint_of_the_denoiser_loads_quantized_and_generates(tmp_path):
    """A Wan transformer as a GGUF single file (original names, Q8_0 weight matrices; made in code
    as downloaded files are laid out) is what a "gguf" load reads; without the file, the run says so."""
    pytest.importorskip("gguf")
    from diffusers.quantizers.gguf.utils import GGUFParameter

    from studio.devtools.tiny.gguf import save_tiny_wan_gguf
    from studio.devtools.tiny.wan import build_tiny_wan22_ti2v

    family = families.TINY_WAN22_TI2V
    folder = build_tiny_wan22_ti2v(tmp_path / "tiny-models" / family.engine_id)
    engine = DiffusionEngine(family, Settings(), Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://"))
    params = validate_for(engine, {"prompt": "a boat", "seed": 5})
    gguf = replace(CPU, quantization="gguf")

    def generate(runtime):
        return engine.generate(Image.new("RGB", (32, 32), (90, 60, 30)), params, runtime,
                               on_step=lambda *_: None, cancelled=lambda: False)

    try:
        plain = generate(CPU)
        missing = generate(gguf)
        assert missing.manifest["levers"]["quantization"] == "none"
        assert f"no .gguf file for transformer in {folder}; loaded without quantization" in missing.manifest["memory_notes"]
        np.testing.assert_array_equal(missing.frames, plain.frames)

        save_tiny_wan_gguf(folder, folder / "transformer" / "tiny-wan-Q8_0.gguf")
        engine.release()
        quantized = generate(gguf)
        assert quantized.manifest["levers"]["quantization"] == "gguf", quantized.manifest
        assert quantized.manifest["levers"]["gguf_files"] == ["tiny-wan-Q8_0.gguf"]
        kinds = {p.quant_type.name for p in engine.pipeline.transformer.parameters() if isinstance(p, GGUFParameter)}
        assert kinds == {"Q8_0"}
        attention = engine.pipeline.transformer.blocks[0].attn1.to_q
        assert isinstance(attention.weight, GGUFParameter) and type(attention).__name__ == "GGUFLinear"
        assert quantized.frames.shape == plain.frames.shape
        # 8-bit blocks of the same weights: nearly the same video, not another one.
        difference = np.abs(quantized.frames.astype(int) - plain.frames.astype(int)).mean()
        assert difference < 8, difference
    finally:
        engine.release()
