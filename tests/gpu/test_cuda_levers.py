"""On a CUDA machine: group offloading and the load-time levers run the tiny pipelines on the GPU
and are recorded in the manifest. Skipped where there is no GPU (tests/integration/test_levers.py
covers what a CPU can run)."""

from __future__ import annotations

import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _engine(tmp_path, engine_id: str):
    from studio.config import Paths, Settings
    from studio.engines.diffusion import diffusion_engines

    paths = Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://")
    return next(e for e in diffusion_engines(Settings(developer_mode=True), paths) if e.info.id == engine_id)


def _generate(engine, **levers):
    from studio.engines.base import RuntimeOptions
    from studio.requests import validate_for

    size = engine.info.defaults()
    request = validate_for(engine, {"prompt": "a boat", "seed": 3, "steps": 2})
    runtime = RuntimeOptions(device="cuda", dtype="float16" if engine.info.precision == "fp16" else "bfloat16",
                             memory_mode=levers.pop("memory_mode", "full_gpu"), **levers)
    steps: list[int] = []
    try:
        result = engine.generate(Image.new("RGB", (size["width"], size["height"]), (90, 60, 30)), request, runtime,
                                 on_step=lambda s, _t: steps.append(s), cancelled=lambda: False)
    finally:
        engine.release()
    assert steps == [1, 2]
    assert result.frames.shape == (size["frames"], size["height"], size["width"], 3)
    return result


@pytest.mark.parametrize("engine_id", ["tiny-i2vgen-xl", "tiny-wan22-ti2v"])
def test_group_offload_runs_leaf_level_with_streams(tmp_path, monkeypatch, engine_id):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = _generate(_engine(tmp_path, engine_id), memory_mode="group_offload")
    assert result.manifest["memory_mode"] == "group_offload" and result.manifest["peak_vram_bytes"] > 0
    assert not any("needs a GPU" in note for note in result.manifest["memory_notes"])


@pytest.mark.parametrize("levers", [{"quantization": "int8_weight_only"}, {"quantization": "fp8_weight_only"},
                                    {"fp8_layerwise": True}, {"compile": True}, {"vae_tiling": True},
                                    {"attention": "sage"}, {"attention": "flash"}, {"attention": "xformers"}],
                         ids=lambda levers: "-".join(f"{k}={v}" for k, v in levers.items()))
def test_each_usable_lever_runs_on_the_gpu_and_is_recorded(tmp_path, monkeypatch, levers):
    from studio.engines import levers as usable

    refusal = (usable.attention_refusal(levers["attention"]) if "attention" in levers else
               usable.quantization_refusal(levers["quantization"]) if "quantization" in levers else None)
    if refusal:
        pytest.skip(refusal)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = _generate(_engine(tmp_path, "tiny-wan22-ti2v"), **dict(levers))
    applied = result.manifest["levers"]
    if "quantization" in levers:
        assert applied["quantization"] == levers["quantization"]
    if "attention" in levers:
        assert applied["attention"] == levers["attention"]
    if levers.get("compile"):
        assert applied["compile"] == "regional"  # the Wan transformer repeats its blocks
    if levers.get("fp8_layerwise"):
        assert applied["fp8_layerwise"] is True
    if levers.get("vae_tiling"):
        assert applied["vae_tiling"] is True
