"""The engine core with a pipeline that has an interrupt flag and callback_on_step_end (Wan 2.1 I2V,
tiny): progress through the callback, and a cancel that sets the flag, skips the remaining steps and
still never decodes. The adapter here is the least a Wan adapter needs; the core is what is tested."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image

from studio.config import Paths, Settings
from studio.engines.diffusion import engine as engine_module
from studio.engines.diffusion import families
from studio.engines import params as p
from studio.engines.base import Cancelled, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, PipelineAdapter
from studio.requests import validate_for

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
REQUEST = {"prompt": "a cat walks", "negative_prompt": "blurry", "seed": 3,
           "width": 32, "height": 32, "frames": 5, "steps": 3, "guidance": 5.0}


class MinimalWanAdapter(PipelineAdapter):
    def pipeline_class(self) -> type:
        from diffusers import WanImageToVideoPipeline

        return WanImageToVideoPipeline

    def call_kwargs(self, image, params, generator):
        return {"prompt": params["prompt"], "negative_prompt": params["negative_prompt"], "height": params["height"],
                "width": params["width"], "num_frames": params["frames"], "num_inference_steps": params["steps"],
                "guidance_scale": params["guidance"], "generator": generator}


TINY_WAN = replace(
    families.WAN21_I2V_14B_480P,
    engine_id="tiny-wan-core-test",
    hub_id=None,
    adapter="used through the monkeypatched loader below",
    params=(*p.size(32, 32, multiple_of=16, minimum=16, maximum=64), p.frames(5, minimum=5, maximum=9, congruent=(4, 1)),
            p.fps(16), p.steps(3), p.guidance(5.0), p.FIT),
    builder="studio.devtools.tiny.wan:build_tiny_wan21_i2v",
    developer_only=True,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    data = tmp_path_factory.mktemp("studio-data")
    return DiffusionEngine(TINY_WAN, Settings(), Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://"))


@pytest.fixture(autouse=True)
def adapter(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(engine_module, "load_adapter", lambda reference: MinimalWanAdapter())


def test_progress_comes_from_callback_on_step_end(engine):
    steps = []
    result = engine.generate(Image.new("RGB", (32, 32), (90, 30, 200)), validate_for(engine, REQUEST), CPU,
                             on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert result.frames.shape == (5, 32, 32, 3)
    assert result.manifest["pipeline_class"] == "WanImageToVideoPipeline"


def test_cancel_sets_the_interrupt_flag_skips_the_remaining_steps_and_never_decodes(engine):
    engine.generate(Image.new("RGB", (32, 32)), validate_for(engine, REQUEST), CPU, on_step=lambda s, t: None, cancelled=lambda: False)
    pipe = engine.pipeline
    calls = {"transformer": 0, "decoder": 0}
    hooks = [
        pipe.transformer.register_forward_hook(lambda *a: calls.__setitem__("transformer", calls["transformer"] + 1)),
        pipe.vae.decoder.register_forward_hook(lambda *a: calls.__setitem__("decoder", calls["decoder"] + 1)),
    ]
    steps = []
    try:
        with pytest.raises(Cancelled):
            engine.generate(Image.new("RGB", (32, 32)), validate_for(engine, REQUEST), CPU,
                            on_step=lambda s, t: steps.append(s), cancelled=lambda: len(steps) >= 1)
    finally:
        for hook in hooks:
            hook.remove()
    assert steps == [1]
    assert pipe.interrupt is True  # the pipeline's own mechanism was used, not an exception mid-step
    assert calls == {"transformer": 2, "decoder": 0}  # one step, conditional and unconditional passes
