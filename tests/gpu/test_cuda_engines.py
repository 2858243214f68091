"""On a CUDA machine: the diffusion engine runs in every memory mode in half precision and records
peak VRAM. Skipped where there is no GPU (the rest of the suite covers the CPU paths)."""

from __future__ import annotations

import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("mode", ["full_gpu", "model_offload", "group_offload", "lowest"])
def test_tiny_i2vgen_runs_on_the_gpu_in_each_memory_mode(tmp_path, mode, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from studio.config import Paths, Settings
    from studio.engines.base import RuntimeOptions
    from studio.engines.diffusion import diffusion_engines

    paths = Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://")
    engine = next(e for e in diffusion_engines(Settings(developer_mode=True), paths) if e.info.id == "tiny-i2vgen-xl")
    from studio.requests import validate_for

    params = validate_for(engine, {"width": 64, "height": 64, "frames": 4, "steps": 3, "prompt": "a boat", "seed": 3})
    steps: list[int] = []
    result = engine.generate(Image.new("RGB", (64, 64), (90, 60, 30)), params,
                             RuntimeOptions(device="cuda", dtype="float16", memory_mode=mode),
                             on_step=lambda s, _t: steps.append(s), cancelled=lambda: False)
    engine.release()
    assert result.frames.shape == (4, 64, 64, 3) and steps == [1, 2, 3]
    assert result.manifest["memory_mode"] == mode and result.manifest["device"] == "cuda"
    assert result.manifest["dtype"] == "float16" and result.manifest["peak_vram_bytes"] > 0
