"""A LoRA on every tiny family (the real pipeline classes, loaded through the studio's engine): at strength 1 it changes the frames, at strength 0 it does not, and a run without
it is the plain run again, on the same loaded pipeline."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.config import Paths, Settings
from studio.devtools.tiny.lora import save_tiny_lora
from studio.engines.base import RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, families
from studio.requests import validate_for
from studio.storage import image_digest

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
TINY = [getattr(families, name) for name in dir(families) if name.startswith("TINY_")]
# Every attention projection: Wan's, LTX's and the UNets' blocks name theirs attn1/attn2, HunyuanVideo's `attn`.
PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """build(family) -> a data folder holding that tiny family's model, each built once here."""
    folders: dict[str, Path] = {}

    def build(family) -> Path:
        if family.engine_id not in folders:
            data = tmp_path_factory.mktemp(family.engine_id)
            module, function = family.builder.split(":")
            getattr(importlib.import_module(module), function)(data / "tiny-models" / family.engine_id)
            folders[family.engine_id] = data
        return folders[family.engine_id]

    return build


@pytest.mark.parametrize("family", TINY, ids=lambda family: family.engine_id)
def test_a_lora_changes_the_frames_at_strength_one_and_not_at_zero(family, built, tmp_path):
    data = built(family)
    model = data / "tiny-models" / family.engine_id
    loras = tmp_path / "loras"
    denoiser = "unet" if (model / "unet").is_dir() else "transformer"
    save_tiny_lora(model, loras / "style.safetensors", seed=3, targets=PROJECTIONS, component=denoiser)
    engine = DiffusionEngine(family, Settings(lora_dirs=[str(loras)]),
                             Paths(data_dir=data, logs_dir=tmp_path / "logs", database_url="sqlite://"))
    end = Image.new("RGB", (32, 32), (20, 60, 200)) if family.requires_last_image else None
    pinned = {"end_image": image_digest(end)} if end is not None else {}

    def run(**options):
        request = validate_for(engine, {"prompt": "a lantern", "seed": 11, **pinned, **options})
        return engine.generate(Image.new("RGB", (32, 32), (200, 120, 40)), request, CPU, on_step=lambda *_: None,
                               cancelled=lambda: False, end_image=end).frames

    try:
        plain = run()
        pipe = engine.pipeline
        styled = run(loras=[{"name": "style.safetensors", "strength": 1.0}])
        at_zero = run(loras=[{"name": "style.safetensors", "strength": 0.0}])
        again = run()
        assert not np.array_equal(styled, plain)
        np.testing.assert_array_equal(at_zero, plain)
        np.testing.assert_array_equal(again, plain)
        assert engine.pipeline is pipe  # never reloaded for a LoRA
    finally:
        engine.release()


FAST = [f for f in (getattr(families, name) for name in dir(families) if name.startswith("TINY_"))
        if f.fast_cache_threshold is not None]


@pytest.mark.parametrize("family", FAST, ids=lambda family: family.engine_id)
def test_fast_skips_blocks_of_every_tiny_family_that_has_it_and_quality_is_as_before(family, built, tmp_path):
    """fast puts diffusers' First Block Cache on the denoiser: fewer blocks run (each block's
    feed-forward is counted), and the next quality run is the plain run again."""
    import torch

    engine = DiffusionEngine(family, Settings(), Paths(data_dir=built(family), logs_dir=tmp_path / "logs",
                                                       database_url="sqlite://"))
    end = Image.new("RGB", (32, 32), (20, 60, 200)) if family.requires_last_image else None
    pinned = {"end_image": image_digest(end)} if end is not None else {}

    def run(**options):
        request = validate_for(engine, {"prompt": "a lantern", "seed": 11, "steps": 4, **pinned, **options})
        return engine.generate(Image.new("RGB", (32, 32), (200, 120, 40)), request, CPU, on_step=lambda *_: None,
                               cancelled=lambda: False, end_image=end)

    try:
        plain = run()
        calls = []
        denoisers = [getattr(engine.pipeline, name) for name in ("transformer", "transformer_2")
                     if getattr(engine.pipeline, name, None) is not None]
        blocks = [block for denoiser in denoisers for name, block in denoiser.named_children()
                  if isinstance(block, torch.nn.ModuleList) and name.endswith("blocks")]
        feed_forwards = [module for modules in blocks for block in modules for name, module in block.named_children()
                         if name in ("ffn", "ff")]
        assert feed_forwards, "no feed-forward found to count"
        handles = [module.register_forward_hook(lambda *_: calls.append(1)) for module in feed_forwards]
        try:
            quality = run()
            quality_calls, calls[:] = len(calls), []
            fast = run(speed="fast")
            fast_calls, calls[:] = len(calls), []
            again = run()
            again_calls = len(calls)
        finally:
            for handle in handles:
                handle.remove()
        assert fast_calls < quality_calls == again_calls, (quality_calls, fast_calls, again_calls)
        assert fast.manifest["cache"] == "first_block_cache" and fast.manifest["cache_threshold"] == family.fast_cache_threshold
        np.testing.assert_array_equal(again.frames, plain.frames)
        np.testing.assert_array_equal(quality.frames, plain.frames)
    finally:
        engine.release()


NO_FAST = [f for f in (getattr(families, name) for name in dir(families) if name.startswith("TINY_"))
           if f.fast_cache_threshold is None]


@pytest.mark.parametrize("family", NO_FAST, ids=lambda family: family.engine_id)
def test_fast_is_refused_with_the_familys_own_reason_where_the_cache_cannot_run(family, tmp_path):
    from studio.engines.base import InputError

    engine = DiffusionEngine(family, Settings(), Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs",
                                                       database_url="sqlite://"))
    with pytest.raises(InputError) as refused:
        validate_for(engine, {"prompt": "a lantern", "speed": "fast"})
    assert refused.value.param == "speed" and family.no_fast_reason in refused.value.message
