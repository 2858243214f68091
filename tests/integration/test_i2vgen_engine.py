"""The diffusion engine, end to end, on the tiny I2VGen-XL pipeline: built in code to a temp folder,
loaded back offline through the same code as the real model, run on the CPU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.config import Paths, Settings
from studio.engines.diffusion import families
from studio.engines.base import Cancelled, OutOfMemory, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine
from studio.engines.diffusion.adapters.i2vgen_xl import I2VGenXLPipelineCompat
from studio.devtools.faults import FAULT_ENV
from studio.devtools.tiny.i2vgen_xl import build_tiny_i2vgen_xl
from studio.requests import validate_for

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
REQUEST = {"prompt": "a cat walks in the sun", "negative_prompt": "blurry", "seed": 7,
           "width": 48, "height": 32, "frames": 3, "steps": 2}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """A data folder whose tiny-models/ holds the tiny I2VGen-XL, built once for this module."""
    data = tmp_path_factory.mktemp("studio-data")
    build_tiny_i2vgen_xl(data / "tiny-models" / "tiny-i2vgen-xl")
    return data


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(FAULT_ENV, raising=False)


@pytest.fixture(scope="module")
def engine(tiny_data) -> DiffusionEngine:
    """One engine for the module, so tests also exercise reuse across jobs; tests that need a clean
    state release it first."""
    return DiffusionEngine(families.TINY_I2VGEN_XL, Settings(), _paths(tiny_data))


def _paths(data: Path) -> Paths:
    return Paths(data_dir=data, logs_dir=data / "logs", database_url="sqlite://")


def _image(width: int = 48, height: int = 32) -> Image.Image:
    """An input already fitted to the request's size, as the worker passes it."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)
    pixels[height // 4: height * 3 // 4, width // 3: width * 2 // 3, 2] = 200
    return Image.fromarray(pixels)


def _run(engine, request=REQUEST, runtime=CPU, cancelled=lambda: False):
    steps: list[tuple[int, int]] = []
    image = _image(request.get("width", 48), request.get("height", 32))
    result = engine.generate(image, validate_for(engine, request), runtime, on_step=lambda s, t: steps.append((s, t)), cancelled=cancelled)
    return result, steps


def test_makes_the_requested_frames_at_the_requested_size_with_one_progress_call_per_step(engine):
    result, steps = _run(engine)
    assert result.frames.shape == (3, 32, 48, 3)
    assert result.frames.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert result.infer_seconds > 0


def test_more_steps_report_every_step(engine):
    _, steps = _run(engine, {**REQUEST, "steps": 4, "frames": 2})
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_second_job_reuses_the_loaded_pipeline_and_a_seed_reproduces(engine):
    engine.release()
    first, _ = _run(engine)
    again, _ = _run(engine)
    other, _ = _run(engine, {**REQUEST, "seed": 8})
    assert first.load_seconds > 0
    assert again.load_seconds == 0.0
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)


def test_a_different_memory_mode_loads_again(engine):
    _run(engine)
    switched, _ = _run(engine, runtime=replace(CPU, memory_mode="lowest"))
    assert switched.load_seconds > 0
    assert switched.manifest["memory_mode"] == "lowest"


def test_cancel_stops_after_the_current_step_and_never_decodes(engine):
    _run(engine)  # loaded, so the hooks below attach to the pipeline the next job uses
    pipe = engine.pipeline
    calls = {"unet": 0, "decoder": 0}
    hooks = [
        pipe.unet.register_forward_hook(lambda *a: calls.__setitem__("unet", calls["unet"] + 1)),
        pipe.vae.decoder.register_forward_hook(lambda *a: calls.__setitem__("decoder", calls["decoder"] + 1)),
    ]
    steps: list[tuple[int, int]] = []
    try:
        with pytest.raises(Cancelled):
            engine.generate(_image(), validate_for(engine, {**REQUEST, "steps": 5}), CPU,
                            on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: len(steps) >= 1)
    finally:
        for hook in hooks:
            hook.remove()
    assert steps == [(1, 5)]
    assert calls == {"unet": 1, "decoder": 0}
    # The engine is still usable, and still has its pipeline.
    result, _ = _run(engine)
    assert result.load_seconds == 0.0 and result.frames.shape == (3, 32, 48, 3)


def test_cancel_before_the_first_step_does_no_work(engine):
    with pytest.raises(Cancelled):
        _run(engine, cancelled=lambda: True)


def test_injected_out_of_memory_frees_the_pipeline_and_names_a_lower_mode(engine, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "oom@full_gpu:2")
    full = replace(CPU, memory_mode="full_gpu")
    steps: list[tuple[int, int]] = []
    with pytest.raises(OutOfMemory) as caught:
        engine.generate(_image(), validate_for(engine, REQUEST), full, on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False)
    assert steps == [(1, 2)]  # it failed inside step 2
    assert caught.value.retry_mode == "model_offload"
    advice = caught.value.advice
    assert "frames" in advice and "48x32" in advice and "model_offload" in advice
    assert engine.pipeline is None  # released
    # The fault is tied to full_gpu: the retry in the offered mode succeeds, and so does the next job.
    retry, _ = _run(engine, runtime=replace(CPU, memory_mode=caught.value.retry_mode))
    assert retry.frames.shape == (3, 32, 48, 3)
    assert retry.manifest["memory_notes"] == ["model_offload needs a GPU; ran with the whole pipeline on the CPU instead"]


def test_host_out_of_memory_in_lowest_mode_has_no_lower_mode(engine, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "memory@*:1")
    with pytest.raises(OutOfMemory) as caught:
        _run(engine, runtime=replace(CPU, memory_mode="lowest"))
    assert caught.value.retry_mode is None
    assert "host memory" in caught.value.advice
    monkeypatch.setenv(FAULT_ENV, "memory@cpu:1")
    with pytest.raises(OutOfMemory) as caught:
        _run(engine)
    assert caught.value.retry_mode == "lowest"


def test_manifest_records_what_a_rerun_needs(engine, tiny_data):
    result, _ = _run(engine)
    m = result.manifest
    assert m["engine"] == "tiny-i2vgen-xl"
    assert m["model_path"] == str(tiny_data / "tiny-models" / "tiny-i2vgen-xl")
    assert m["model_revision"] is None  # a local folder, not a cache snapshot
    assert m["pipeline_class"] == "I2VGenXLPipelineCompat"
    assert (m["device"], m["dtype"], m["memory_mode"], m["attention"]) == ("cpu", "float32", "cpu", "native")
    assert m["device_name"].startswith("CPU")
    assert m["seed"] == 7 and m["steps_run"] == 2
    assert m["versions"]["torch"] == torch.__version__
    assert set(m["versions"]) >= {"diffusers", "transformers", "accelerate", "python"}
    assert any("transformers 5" in note for note in m["compat"])
    json.dumps(m)  # stored as JSON


def test_a_missing_seed_is_chosen_and_recorded(engine):
    result, _ = _run(engine, {**REQUEST, "seed": None})
    assert isinstance(result.manifest["seed"], int)


def test_runtime_keys_stored_with_a_run_are_accepted(engine):
    result, _ = _run(engine, {**REQUEST, "memory_mode": "auto"})
    assert result.frames.shape[0] == 3


@pytest.mark.parametrize(
    ("mode", "notes"),
    [
        ("cpu", []),
        ("full_gpu", ["no GPU: full_gpu ran with the whole pipeline on the CPU"]),
        ("model_offload", ["model_offload needs a GPU; ran with the whole pipeline on the CPU instead"]),
        ("lowest", ["attention slicing is not available for this pipeline"]),
    ],
)
def test_memory_modes_on_cpu_do_what_they_say(engine, mode, notes):
    engine.release()
    baseline, _ = _run(engine)
    result, _ = _run(engine, runtime=replace(CPU, memory_mode=mode))
    assert result.manifest["memory_notes"] == notes
    assert result.manifest["memory_mode"] == mode
    vae = engine.pipeline.vae
    if mode == "lowest":
        # Slicing changes nothing; tiling blends overlapping tiles, so above the VAE's tile size
        # (32 px here) the pixels differ a little.
        assert vae.use_slicing and vae.use_tiling
        assert result.frames.shape == baseline.frames.shape
    else:
        assert not vae.use_slicing and not vae.use_tiling
        assert np.array_equal(result.frames, baseline.frames)


def test_the_tiny_engine_builds_its_folder_on_first_use(tmp_path):
    engine = DiffusionEngine(families.TINY_I2VGEN_XL, Settings(), _paths(tmp_path))
    folder = tmp_path / "tiny-models" / "tiny-i2vgen-xl"
    assert engine.weights_status().ready and not folder.exists()
    result, _ = _run(engine, {**REQUEST, "frames": 2})
    assert (folder / "model_index.json").is_file()
    assert result.frames.shape == (2, 32, 48, 3)
    assert engine.weights_status().location == str(folder)


def test_the_real_engine_loads_a_model_folder_the_same_way_and_ignores_tiny_faults(tiny_data, tmp_path, monkeypatch):
    """The I2VGen-XL engine finds a folder named like the hub id in a model folder; the tiny
    pipeline stands in for the real weights. Fault injection is for tiny engines only."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "ali-vilab--i2vgen-xl").symlink_to(tiny_data / "tiny-models" / "tiny-i2vgen-xl")
    engine = DiffusionEngine(families.I2VGEN_XL, Settings(model_dirs=[str(models)]), _paths(tmp_path))
    assert engine.weights_status().ready
    monkeypatch.setenv(FAULT_ENV, "oom@*:1")
    # The real model's rules apply (256 px is its smallest size); the tiny weights make it quick.
    result, steps = _run(engine, {**REQUEST, "width": 256, "height": 256, "frames": 2})
    assert steps == [(1, 2), (2, 2)]
    assert result.frames.shape == (2, 256, 256, 3)
    assert result.manifest["model_id"] == "ali-vilab/i2vgen-xl"
    assert result.manifest["model_path"] == str(models / "ali-vilab--i2vgen-xl")


# --- the transformers 5 adapter ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_folder(tiny_data) -> Path:
    return tiny_data / "tiny-models" / "tiny-i2vgen-xl"


def test_unadapted_pipeline_fails_on_transformers_5(tiny_folder):
    """The reason for I2VGenXLPipelineCompat: the deprecated pipeline's default call (clip_skip=1)
    reaches for CLIPTextModel.text_model, which transformers 5 removed."""
    from diffusers import I2VGenXLPipeline

    pipe = I2VGenXLPipeline.from_pretrained(tiny_folder, use_safetensors=True, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    with pytest.raises(AttributeError, match="text_model"):
        pipe(prompt="a cat", image=_image(), height=32, width=48, num_frames=2, num_inference_steps=1, output_type="np")


def test_adapter_encodes_prompts_from_the_penultimate_clip_layer(tiny_folder):
    """What transformers 4 computed for clip_skip=1: the output of the second-to-last layer, through
    the final layer norm. Reference: the same text encoder with its last layer removed, whose own
    forward applies that layer norm."""
    pipe = I2VGenXLPipelineCompat.from_pretrained(tiny_folder, use_safetensors=True, local_files_only=True)
    pipe._guidance_scale = 9.0  # as __call__ sets it: guidance on, so negative embeddings are made too
    prompt_embeds, negative_embeds = pipe.encode_prompt("a cat walks", "cpu", 1, "blurry", clip_skip=1)

    shortened = I2VGenXLPipelineCompat.from_pretrained(tiny_folder, use_safetensors=True, local_files_only=True).text_encoder
    shortened.encoder.layers = shortened.encoder.layers[:-1]
    tokenizer = pipe.tokenizer
    with torch.no_grad():
        for text, embeds in (("a cat walks", prompt_embeds), ("blurry", negative_embeds)):
            ids = tokenizer(text, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                            return_tensors="pt").input_ids
            expected = shortened(ids).last_hidden_state
            torch.testing.assert_close(embeds, expected)
    # and it differs from the last layer's output, which clip_skip=None would have used
    last, _ = pipe.encode_prompt("a cat walks", "cpu", 1, "blurry", clip_skip=None)
    assert not torch.allclose(last, prompt_embeds)


def test_released_checkpoint_layout_loads_every_text_encoder_weight(tiny_folder):
    """The released text encoder stores transformers 4 keys (`text_model.*`); transformers 5 must map
    each one onto its flattened model, leaving nothing randomly initialised."""
    from safetensors.torch import load_file
    from transformers import CLIPTextModel

    stored = load_file(tiny_folder / "text_encoder" / "model.safetensors")
    assert stored and all(key.startswith("text_model.") for key in stored)
    model, info = CLIPTextModel.from_pretrained(tiny_folder / "text_encoder", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    state = model.state_dict()
    for key, tensor in stored.items():
        torch.testing.assert_close(state[key.removeprefix("text_model.")], tensor)


def test_a_damaged_tiny_folder_is_reported_with_how_to_rebuild_it(tmp_path):
    engine = DiffusionEngine(families.TINY_I2VGEN_XL, Settings(), _paths(tmp_path))
    folder = engine.tiny_folder()
    build_tiny_i2vgen_xl(folder)
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    status = engine.weights_status()
    assert status.state == "unusable" and "unet" in status.detail
    assert status.hint == f"Delete {folder}; it is built again on first use."
