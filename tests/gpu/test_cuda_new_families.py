"""On a CUDA machine: the tiny Wan 2.2 I2V A14B and SkyReels-V2 engines run in bfloat16 in every memory
mode (offloading moves the two experts, and the VAE stays in float32), with progress over every
diffusion-forcing window. Skipped where there is no GPU (the CPU paths are tested elsewhere)."""

from __future__ import annotations

import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

REQUESTS = {  # engine -> (request, steps reported)
    "tiny-wan22-a14b": ({"frames": 5, "steps": 2, "guidance_2": 2.0}, 2),
    "tiny-skyreels-v2-i2v": ({"frames": 5, "steps": 2}, 2),
    "tiny-skyreels-v2-df": ({"frames": 29, "steps": 2}, 4),  # two windows
}


@pytest.mark.parametrize("mode", ["full_gpu", "model_offload", "lowest"])
@pytest.mark.parametrize("engine_id", sorted(REQUESTS))
def test_new_tiny_families_run_on_the_gpu_in_each_memory_mode(tmp_path, engine_id, mode, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from studio.config import Paths, Settings
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import diffusion_engines
    from studio.requests import validate_for

    paths = Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://")
    engine = next(e for e in diffusion_engines(Settings(developer_mode=True), paths) if e.info.id == engine_id)
    request, total = REQUESTS[engine_id]
    params = validate_for(engine, {"width": 64, "height": 64, "prompt": "a boat", "seed": 3, **request})
    steps: list[tuple[int, int]] = []
    result = engine.generate(Image.new("RGB", (64, 64), (90, 60, 30)), params,
                             RuntimeOptions(device="cuda", dtype="bfloat16", memory_mode=mode),
                             on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False)
    engine.release()
    assert result.frames.shape == (request["frames"], 64, 64, 3)
    assert steps == [(step, total) for step in range(1, total + 1)]
    assert result.manifest["dtype"] == "bfloat16" and result.manifest["peak_vram_bytes"] > 0
    assert any("vae" in note and "float32" in note for note in result.manifest["memory_notes"])
