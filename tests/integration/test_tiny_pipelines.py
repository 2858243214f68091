"""The tiny test pipelines are the real diffusers pipelines, shrunk (SVD, Wan 2.2 TI2V and I2V A14B, Wan 2.1
I2V, LTX-Video, CogVideoX I2V, SkyReels-V2 I2V and diffusion forcing): they save as safetensors, load back
offline, generate, and show the behaviour the engine adapters rely on (step callbacks, interrupt,
memory levers, and the frame/size rules each pipeline enforces or silently applies)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from studio.devtools.tiny.cogvideox import build_tiny_cogvideox_i2v
from studio.devtools.tiny.ltx import build_tiny_ltx
from studio.devtools.tiny.skyreels import build_tiny_skyreels_v2_df, build_tiny_skyreels_v2_i2v
from studio.devtools.tiny.svd import build_tiny_svd
from studio.devtools.tiny.wan import build_tiny_wan21_i2v, build_tiny_wan22_a14b, build_tiny_wan22_ti2v


@dataclass(frozen=True)
class Tiny:
    build: Callable[[Path], Path]
    saved_as: str  # the class model_index.json names
    load_with: str  # the class image-to-video loads it with
    denoiser: str  # the component called once per model pass
    call: dict[str, Any]  # a 2-step request the pipeline accepts as is
    shape: tuple[int, int, int]  # (frames, height, width) that request comes back as
    passes_per_step: int  # denoiser calls per step: 2 when guidance runs cond and uncond separately
    uses_prompt: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


PROMPT = {"prompt": "a cat walks slowly", "negative_prompt": "blurry"}

TINY: dict[str, Tiny] = {
    "svd": Tiny(build_tiny_svd, "StableVideoDiffusionPipeline", "StableVideoDiffusionPipeline", "unet",
                {"height": 32, "width": 32, "num_frames": 3, "max_guidance_scale": 2.5},
                (3, 32, 32), 1, uses_prompt=False),
    "wan22-ti2v": Tiny(build_tiny_wan22_ti2v, "WanPipeline", "WanImageToVideoPipeline", "transformer",
                       {**PROMPT, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 5.0},
                       (5, 32, 32), 2),
    "wan21-i2v": Tiny(build_tiny_wan21_i2v, "WanImageToVideoPipeline", "WanImageToVideoPipeline", "transformer",
                      {**PROMPT, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 5.0},
                      (5, 32, 32), 2),
    "ltx": Tiny(build_tiny_ltx, "LTXImageToVideoPipeline", "LTXImageToVideoPipeline", "transformer",
                {**PROMPT, "height": 32, "width": 32, "num_frames": 9, "guidance_scale": 3.0},
                (9, 32, 32), 1),
    "cogvideox-i2v": Tiny(build_tiny_cogvideox_i2v, "CogVideoXImageToVideoPipeline",
                          "CogVideoXImageToVideoPipeline", "transformer",
                          {**PROMPT, "height": 32, "width": 32, "num_frames": 9, "guidance_scale": 6.0},
                          (9, 32, 32), 1),
    # The first of its 2 steps runs on the high-noise expert (`transformer`), the second on `transformer_2`.
    "wan22-a14b": Tiny(build_tiny_wan22_a14b, "WanImageToVideoPipeline", "WanImageToVideoPipeline", "transformer",
                       {**PROMPT, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 3.5},
                       (5, 32, 32), 2),
    "skyreels-v2-i2v": Tiny(build_tiny_skyreels_v2_i2v, "SkyReelsV2ImageToVideoPipeline", "SkyReelsV2ImageToVideoPipeline",
                            "transformer", {**PROMPT, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 5.0},
                            (5, 32, 32), 2),
    "skyreels-v2-df": Tiny(build_tiny_skyreels_v2_df, "SkyReelsV2DiffusionForcingPipeline",
                           "SkyReelsV2DiffusionForcingImageToVideoPipeline", "transformer",
                           {**PROMPT, "height": 32, "width": 32, "num_frames": 5, "guidance_scale": 5.0},
                           (5, 32, 32), 2),
}
NAMES = list(TINY)


@pytest.fixture(scope="module", autouse=True)
def offline():
    # Loading a local folder never needs the hub; the flag makes any attempt fail loudly instead.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {name: tiny.build(root / name) for name, tiny in TINY.items()}


@pytest.fixture(scope="module")
def pipelines(folders) -> dict[str, Any]:
    import diffusers

    loaded = {}
    for name, tiny in TINY.items():
        pipeline = getattr(diffusers, tiny.load_with).from_pretrained(folders[name], use_safetensors=True)
        pipeline.set_progress_bar_config(disable=True)
        loaded[name] = pipeline
    return loaded


def image(width: int = 32, height: int = 32) -> Image.Image:
    gradient = np.linspace(0, 255, width * height * 3, dtype=np.float32).reshape(height, width, 3)
    return Image.fromarray(gradient.astype(np.uint8))


def run(pipeline: Any, name: str, **overrides: Any) -> np.ndarray:
    import torch

    kwargs = {**TINY[name].call, "num_inference_steps": 2, **overrides}
    size = (kwargs["width"], kwargs["height"])
    output = pipeline(image=image(*size), generator=torch.Generator().manual_seed(0), output_type="np", **kwargs)
    return output.frames


def count_calls(module: Any) -> tuple[list[int], Any]:
    calls: list[int] = []
    handle = module.register_forward_hook(lambda *_: calls.append(1))
    return calls, handle


# --- building and loading -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_saved_folder_holds_safetensors_only(folders, name):
    import json

    folder = folders[name]
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == TINY[name].saved_as
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files)
    assert not [p for p in files if p.suffix in {".bin", ".pt", ".pth", ".ckpt", ".pkl"}]
    # Nothing half-written or left over beside it.
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(f".{name}.")]


def test_wan22_ti2v_folder_is_a_text_to_video_folder_loaded_for_image_to_video(folders, pipelines):
    import json

    index = json.loads((folders["wan22-ti2v"] / "model_index.json").read_text())
    assert index["expand_timesteps"] is True and index["boundary_ratio"] is None
    assert "image_encoder" not in index
    pipeline = pipelines["wan22-ti2v"]
    assert pipeline.image_encoder is None and pipeline.transformer_2 is None
    assert pipeline.config.expand_timesteps is True
    assert pipeline.vae.config.z_dim == 48 and pipeline.vae_scale_factor_spatial == 16


def test_wan22_a14b_folder_holds_two_experts_and_the_boundary_they_switch_at(folders, pipelines):
    import json

    index = json.loads((folders["wan22-a14b"] / "model_index.json").read_text())
    assert index["boundary_ratio"] == 0.9 and index["transformer_2"] == ["diffusers", "WanTransformer3DModel"]
    assert index["image_encoder"] == [None, None]  # no CLIP features, unlike Wan2.1 I2V
    pipeline = pipelines["wan22-a14b"]
    assert pipeline.config.boundary_ratio == 0.9 and pipeline.image_encoder is None
    high, low = pipeline.transformer.state_dict(), pipeline.transformer_2.state_dict()
    assert high.keys() == low.keys() and any(not (high[k] == low[k]).all() for k in high)  # two experts


def test_skyreels_df_folder_is_a_text_to_video_folder_loaded_for_image_to_video(folders, pipelines):
    import json

    index = json.loads((folders["skyreels-v2-df"] / "model_index.json").read_text())
    assert "image_encoder" not in index
    assert pipelines["skyreels-v2-df"].transformer.config.inject_sample_info is True  # it embeds the frame rate


def test_skyreels_df_fails_when_the_last_window_is_shorter_than_the_others(pipelines):
    """Why the family's rule wants whole windows: 33 frames in windows of 17 overlapping by 5 leave a
    last window of 13, and the pipeline indexes past it."""
    with pytest.raises(IndexError):
        run(pipelines["skyreels-v2-df"], "skyreels-v2-df", num_frames=33, base_num_frames=17, overlap_history=5)
    assert run(pipelines["skyreels-v2-df"], "skyreels-v2-df", num_frames=29, base_num_frames=17,
               overlap_history=5).shape == (1, 29, 32, 32, 3)


@pytest.mark.parametrize("name", NAMES)
def test_build_is_deterministic(folders, tmp_path, name):
    again = TINY[name].build(tmp_path / name)
    first = sorted(p.relative_to(folders[name]) for p in folders[name].rglob("*.safetensors"))
    assert first
    for relative in first:
        assert (again / relative).read_bytes() == (folders[name] / relative).read_bytes(), relative


def test_rebuilding_replaces_the_folder_whole(tmp_path):
    folder = build_tiny_ltx(tmp_path / "ltx")
    (folder / "stale.txt").write_text("from an older build")
    build_tiny_ltx(folder)
    assert not (folder / "stale.txt").exists()
    assert (folder / "model_index.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ltx"]


def test_tokenizer_is_built_locally_and_round_trips(folders):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folders["ltx"] / "tokenizer")
    ids = tokenizer("a cat walks slowly").input_ids
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "a cat walks slowly"


# --- generating ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_generates_the_requested_frames(pipelines, name):
    frames = run(pipelines[name], name)
    assert frames.shape == (1, *TINY[name].shape, 3)
    assert np.isfinite(frames).all() and frames.min() >= 0.0 and frames.max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_step_callback_runs_once_per_step_with_its_tensors(pipelines, name):
    pipeline = pipelines[name]
    seen: list[tuple[int, set[str]]] = []

    def on_step_end(pipe, step, timestep, tensors):
        seen.append((step, set(tensors)))
        return tensors

    run(pipeline, name, num_inference_steps=3, callback_on_step_end=on_step_end,
        callback_on_step_end_tensor_inputs=list(pipeline._callback_tensor_inputs))
    assert [step for step, _ in seen] == [0, 1, 2]
    assert all(keys == set(pipeline._callback_tensor_inputs) for _, keys in seen)
    assert "latents" in pipeline._callback_tensor_inputs


@pytest.mark.parametrize("name", NAMES)
def test_raising_in_the_step_callback_stops_the_run(pipelines, name):
    """The one cancel mechanism every family honours: nothing after the raising step runs."""

    class Stop(Exception):
        pass

    def on_step_end(pipe, step, timestep, tensors):
        raise Stop

    pipeline = pipelines[name]
    calls, handle = count_calls(getattr(pipeline, TINY[name].denoiser))
    try:
        with pytest.raises(Stop):
            run(pipeline, name, num_inference_steps=4, callback_on_step_end=on_step_end)
    finally:
        handle.remove()
    assert len(calls) == TINY[name].passes_per_step


@pytest.mark.parametrize("name", [n for n in NAMES if n != "svd"])
def test_interrupt_flag_skips_the_remaining_steps_but_still_decodes(pipelines, name):
    def on_step_end(pipe, step, timestep, tensors):
        pipe._interrupt = True
        return tensors

    pipeline = pipelines[name]
    calls, handle = count_calls(getattr(pipeline, TINY[name].denoiser))
    try:
        frames = run(pipeline, name, num_inference_steps=4, callback_on_step_end=on_step_end)
    finally:
        handle.remove()
    assert len(calls) == TINY[name].passes_per_step
    assert frames.shape == (1, *TINY[name].shape, 3)


def test_svd_has_no_interrupt_flag(pipelines):
    assert not hasattr(type(pipelines["svd"]), "interrupt")


# --- memory levers ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_vae_slicing_and_tiling_live_on_the_vae_not_the_pipeline(pipelines, name):
    pipeline = pipelines[name]
    assert not hasattr(pipeline, "enable_vae_slicing") and not hasattr(pipeline, "enable_vae_tiling")
    assert hasattr(pipeline, "enable_attention_slicing")
    if name == "svd":
        # The temporal-decoder VAE has neither; SVD's lever is decode_chunk_size.
        for method in ("enable_slicing", "enable_tiling"):
            with pytest.raises(NotImplementedError):
                getattr(pipeline.vae, method)()
        return
    pipeline.vae.enable_slicing()
    pipeline.vae.enable_tiling()
    try:
        assert run(pipeline, name).shape == (1, *TINY[name].shape, 3)
    finally:
        pipeline.vae.disable_tiling()
        pipeline.vae.disable_slicing()


def test_svd_decode_chunk_size_keeps_every_frame(pipelines):
    assert run(pipelines["svd"], "svd", num_frames=3, decode_chunk_size=1).shape == (1, 3, 32, 32, 3)


# --- the frame and size rules each pipeline applies ---------------------------------------------


def test_svd_rejects_sizes_not_multiple_of_8(pipelines):
    with pytest.raises(ValueError, match="divisible by 8"):
        run(pipelines["svd"], "svd", height=36)


@pytest.mark.parametrize("name", ["wan22-ti2v", "wan21-i2v"])
@pytest.mark.parametrize(("asked", "returned"), [(7, 5), (8, 9)])
def test_wan_snaps_frames_to_4k_plus_1_silently(pipelines, name, asked, returned):
    # num_frames // 4 * 4 + 1, with only a logged warning.
    assert run(pipelines[name], name, num_frames=asked).shape[1] == returned


@pytest.mark.parametrize("name", ["wan22-ti2v", "wan21-i2v"])
def test_wan_rejects_sizes_not_multiple_of_16(pipelines, name):
    with pytest.raises(ValueError, match="divisible by 16"):
        run(pipelines[name], name, height=40)


def test_wan22_ti2v_rounds_sizes_down_to_multiples_of_32_silently(pipelines):
    # 16x VAE x 2x2 patches: 48 passes the pipeline's own check but comes back as 32.
    assert run(pipelines["wan22-ti2v"], "wan22-ti2v", height=48).shape[2] == 32


def test_wan21_i2v_keeps_multiples_of_16(pipelines):
    assert run(pipelines["wan21-i2v"], "wan21-i2v", height=48).shape[2] == 48


def test_ltx_rejects_sizes_not_multiple_of_32(pipelines):
    with pytest.raises(ValueError, match="divisible by 32"):
        run(pipelines["ltx"], "ltx", width=48)


@pytest.mark.parametrize(("asked", "returned"), [(17, 17), (12, 9), (5, 1)])
def test_ltx_returns_8k_plus_1_frames(pipelines, asked, returned):
    assert run(pipelines["ltx"], "ltx", num_frames=asked).shape[1] == returned


def test_ltx_needs_at_least_two_steps(pipelines):
    # The real scheduler stretches sigmas to a terminal value; one step leaves no sigma to stretch.
    with pytest.raises(IndexError):
        run(pipelines["ltx"], "ltx", num_inference_steps=1)


def test_cogvideox_i2v_only_generates_at_its_built_size(pipelines):
    with pytest.raises(ValueError, match="different resolution"):
        run(pipelines["cogvideox-i2v"], "cogvideox-i2v", height=64, width=64)


@pytest.mark.parametrize(("asked", "returned"), [(17, 17), (13, 16), (5, 8)])
def test_cogvideox_i2v_returns_asked_frames_only_for_8k_plus_1(pipelines, asked, returned):
    assert run(pipelines["cogvideox-i2v"], "cogvideox-i2v", num_frames=asked).shape[1] == returned
