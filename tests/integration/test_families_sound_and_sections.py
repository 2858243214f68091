"""LTX-2 (video with sound), FramePack (video in sections) and HunyuanVideo 1.5 I2V (size buckets,
no step callback) on their tiny pipelines: built in code, loaded back offline through the real
engine, run on the CPU. LTX-2's sound track reaches the MP4 as AAC and the run's manifest says so;
FramePack reports progress per section and step with one honest total; each family's own rule is
refused with the nearest valid value."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.config import Paths, Settings
from studio.devtools.faults import FAULT_ENV
from studio.engines.base import InputError, RuntimeOptions
from studio.engines.diffusion import DiffusionEngine, families, load_adapter
from studio.requests import validate_for
from studio.ui.progress_text import step_text

CPU = RuntimeOptions(device="cpu", dtype="float32", memory_mode="cpu")
TINY_IDS = ("tiny-ltx2", "tiny-framepack", "tiny-hunyuanvideo15")
PROMPT = {"prompt": "a cat walks slowly", "seed": 5, "steps": 2}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("studio-data")
    for engine_id in TINY_IDS:
        module, _, function = families.family_for(engine_id).builder.partition(":")
        getattr(importlib.import_module(module), function)(data / "tiny-models" / engine_id)
    return data


@pytest.fixture(scope="module")
def engines(tiny_data) -> dict[str, DiffusionEngine]:
    paths = Paths(data_dir=tiny_data, logs_dir=tiny_data / "logs", database_url="sqlite://")
    return {engine_id: DiffusionEngine(families.family_for(engine_id), Settings(), paths) for engine_id in TINY_IDS}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(FAULT_ENV, raising=False)


def _run(engine, request):
    steps: list[tuple[int, int]] = []
    pixels = np.zeros((request["height"], request["width"], 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, request["width"], dtype=np.uint8)
    result = engine.generate(Image.fromarray(pixels), validate_for(engine, request), CPU,
                             on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False)
    return result, steps


def test_ltx2_makes_frames_and_a_stereo_sound_track_that_the_mp4_keeps(engines, tmp_path):
    from studio.media.encode import probe_video, write_mp4

    result, steps = _run(engines["tiny-ltx2"], {**PROMPT, "width": 64, "height": 32, "frames": 9})
    assert result.frames.shape == (9, 32, 64, 3) and steps == [(1, 2), (2, 2)]
    assert result.audio is not None and result.audio.channels == 2 and result.audio.sample_rate == 16000
    assert result.manifest["pipeline_class"] == "LTX2ImageToVideoPipeline"
    assert any("H.264" in note for note in result.manifest["compat"])
    info = probe_video(write_mp4(result.frames, 24, tmp_path / "ltx2.mp4", audio=result.audio))
    assert (info.frames, info.audio_codec) == (9, "aac")
    assert probe_video(write_mp4(result.frames, 24, tmp_path / "silent.mp4")).audio_codec == ""


def test_framepack_counts_steps_across_its_sections_and_says_which_section(engines):
    # A latent window of 2 makes 8-frame sections: 17 frames are two sections of two steps each.
    request = {**PROMPT, "width": 32, "height": 32, "frames": 17, "latent_window_size": 2}
    engine, steps = engines["tiny-framepack"], []
    end = Image.new("RGB", (32, 32), (0, 0, 255))  # the video ends on it (the pipeline's last_image)
    result = engine.generate(Image.new("RGB", (32, 32), (255, 0, 0)), validate_for(engine, request), CPU,
                             on_step=lambda s, t: steps.append((s, t)), cancelled=lambda: False, end_image=end)
    assert result.frames.shape == (17, 32, 32, 3)
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]  # one total, so the bar fills once
    assert result.manifest["steps_run"] == 4
    words = [step_text(step, total, request) for step, total in steps]
    assert words == ["section 1/2 · step 1/2", "section 1/2 · step 2/2", "section 2/2 · step 1/2", "section 2/2 · step 2/2"]


def test_a_framepack_cancel_stops_within_the_first_section_and_never_decodes(engines):
    from studio.engines.base import Cancelled

    engine = engines["tiny-framepack"]
    engine._pipeline(load_adapter(engine.family.adapter), CPU)
    decoded: list[int] = []
    handle = engine.pipeline.vae.decoder.register_forward_hook(lambda *_: decoded.append(1))
    steps: list[tuple[int, int]] = []
    request = validate_for(engine, {**PROMPT, "width": 32, "height": 32, "frames": 17, "latent_window_size": 2})
    try:
        with pytest.raises(Cancelled):
            engine.generate(Image.new("RGB", (32, 32)), request, CPU, on_step=lambda s, t: steps.append((s, t)),
                            cancelled=lambda: bool(steps))
    finally:
        handle.remove()
    assert steps == [(1, 4)] and not decoded


def test_framepack_turns_frames_into_whole_sections_for_its_pipeline():
    from studio.engines.diffusion import load_adapter as load

    adapter = load(families.family_for("tiny-framepack").adapter)
    params = {**PROMPT, "width": 32, "height": 32, "frames": 17, "latent_window_size": 2,
              "sampling_type": "vanilla", "guidance": 9.0, "negative_prompt": ""}
    # Two sections of a 2-latent window: the pipeline rounds num_frames up to whole 5-frame windows.
    kwargs = adapter.call_kwargs(None, params, None)
    assert kwargs["num_frames"] == 10 and kwargs["sampling_type"] == "vanilla"
    assert families.FRAMEPACK.info().supports_last_image and not families.LTX2.info().supports_last_image


@pytest.mark.parametrize(("window", "frames", "nearest"), [(2, 20, 17), (2, 22, 25), (9, 80, 73), (9, 9, 37),
                                                         (9, 91, 109)])  # the model card's 91: a tie goes up, as everywhere
def test_framepack_frames_off_the_section_grid_are_refused_with_the_nearest_valid_count(engines, window, frames, nearest):
    engine = engines["tiny-framepack"] if window == 2 else DiffusionEngine(families.FRAMEPACK, Settings(), None)
    with pytest.raises(InputError) as refused:
        engine.validate({"frames": frames, "latent_window_size": window})
    assert refused.value.param == "frames" and refused.value.suggestion == nearest
    assert f"Nearest valid value: {nearest}" in refused.value.message


def test_hunyuanvideo15_makes_the_bucket_asked_for_and_counts_steps_at_the_scheduler(engines):
    engine = engines["tiny-hunyuanvideo15"]
    passes: list[int] = []
    engine._pipeline(load_adapter(engine.family.adapter), CPU)  # loaded first, so the hook can go on
    handle = engine.pipeline.transformer.register_forward_hook(lambda *_: passes.append(1))
    try:
        result, steps = _run(engine, {**PROMPT, "width": 16, "height": 32, "frames": 5, "guidance": 4.0})
    finally:
        handle.remove()
    assert result.frames.shape == (5, 32, 16, 3)  # a tall bucket, as asked
    # Guided: two transformer passes per step, one progress call per step.
    assert steps == [(1, 2), (2, 2)] and len(passes) == 4
    assert engine.pipeline.guider.guidance_scale == 4.0
    assert "step" not in vars(engine.pipeline.scheduler)  # the counter is gone after the run


def test_hunyuanvideo15_buckets_are_the_pipelines():
    from diffusers.pipelines.hunyuan_video1_5.image_processor import generate_crop_size_list

    for target in (32, 640, 960):
        assert families.hunyuanvideo15_buckets(target) == [(w, h) for h, w in generate_crop_size_list(target, 16)]
    assert (848, 480) in families.hunyuanvideo15_buckets(640)


@pytest.mark.parametrize(("size", "param", "nearest"), [((32, 48), "height", 32), ((48, 48), "width", 32)])
def test_hunyuanvideo15_sizes_off_its_buckets_are_refused_with_the_nearest(engines, size, param, nearest):
    with pytest.raises(InputError) as refused:
        engines["tiny-hunyuanvideo15"].validate({"width": size[0], "height": size[1]})
    assert (refused.value.param, refused.value.suggestion) == (param, nearest)
    assert "Nearest valid size" in refused.value.message


def test_the_form_knows_which_models_make_sound():
    assert families.LTX2.info().makes_sound and families.TINY_LTX2.info().makes_sound
    assert not families.FRAMEPACK.info().makes_sound and not families.LTX_VIDEO.info().makes_sound


# --- through the studio ---------------------------------------------------------------------


@pytest.fixture()
def services(services):
    services.apply_settings(services.settings().model_copy(update={"developer_mode": True}))
    return services


def test_a_tiny_ltx2_run_goes_through_the_worker_to_an_mp4_with_sound(services, tiny_data):
    from studio.jobs.queue import SubmitRequest
    from studio.media.encode import probe_video

    # The worker builds its own tiny pipeline in its data folder; copying the module's saves a build.
    import shutil

    shutil.copytree(tiny_data / "tiny-models" / "tiny-ltx2", services.paths.data_dir / "tiny-models" / "tiny-ltx2")
    run_id = services.queue.submit(SubmitRequest(
        engine="tiny-ltx2", params={**PROMPT, "width": 32, "height": 32, "frames": 9, "fps": 12},
        image=Image.new("RGB", (40, 30), (200, 120, 40)), image_name="test.png"))
    services.worker.run_until_idle()
    run = services.history.get_run(run_id)
    assert run.status == "succeeded", run.error
    info = probe_video(Path(run.video_path))
    assert (info.frames, info.codec, info.audio_codec) == (9, "h264", "aac")
    # The tiny track is a few milliseconds: padded with silence, sound and picture end together.
    assert info.duration == pytest.approx(9 / 12, abs=0.03)
    assert run.manifest["audio"] == {"written": True, "codec": "aac", "sample_rate": 16000, "channels": 2, "seconds": 0.75}


def test_an_audio_track_is_cut_or_padded_to_the_video_length():
    from studio.media.audio import AudioTrack

    track = AudioTrack(np.full((2, 1000), 2.0), 1000)
    assert track.samples.max() == 1.0  # clipped to the AAC encoder's range
    assert track.fitted(0.5).samples.shape == (2, 500)
    padded = track.fitted(1.5).samples
    assert padded.shape == (2, 1500) and not padded[:, 1000:].any()


def test_components_diffusers_keeps_in_its_own_pipeline_packages_are_not_custom_code(tmp_path):
    from studio.engines.diffusion.custom_code import custom_code_reason
    from studio.engines.diffusion.weights import _check_component

    assert custom_code_reason(tmp_path, {"connectors": ["ltx2", "LTX2TextConnectors"]}) is None
    assert "module 'evil'" in custom_code_reason(tmp_path, {"connectors": ["evil", "Connectors"]})
    guider, byt5, vocabless = tmp_path / "guider", tmp_path / "tokenizer_2", tmp_path / "tokenizer"
    for folder in (guider, byt5, vocabless):
        folder.mkdir()
    (guider / "guider_config.json").write_text("{}")
    (byt5 / "tokenizer_config.json").write_text('{"tokenizer_class": "ByT5Tokenizer"}')
    (vocabless / "tokenizer_config.json").write_text('{"tokenizer_class": "T5Tokenizer"}')
    assert _check_component(guider) is None and _check_component(byt5) is None
    assert "tokenizer files" in _check_component(vocabless)


def test_framepack_says_how_to_assemble_its_folder_not_just_download_one_repository(tmp_path, monkeypatch):
    from studio.config import Paths, Settings
    from studio.engines.diffusion import families

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    paths = Paths(data_dir=tmp_path, logs_dir=tmp_path / "logs", database_url="sqlite://")
    status = DiffusionEngine(families.FRAMEPACK, Settings(), paths).weights_status()
    assert status.state == "missing" and "FramePackI2V_HY" in status.hint and "README" in status.hint
    assert "launch.py download lllyasviel" not in status.hint


def test_the_bucket_the_studio_picks_is_the_one_the_pipeline_picks():
    """Sizing a photo and refusing a size both use EngineInfo.nearest_bucket; it must be the
    pipeline's own choice, or the studio would suggest a size the pipeline would not make."""
    from diffusers.pipelines.hunyuan_video1_5.image_processor import generate_crop_size_list, get_closest_ratio

    info = families.HUNYUANVIDEO15_I2V.info()
    crops = generate_crop_size_list(640, 16)
    ratios = np.array([round(h / w, 5) for h, w in crops])
    for width in range(160, 1300, 37):
        for height in range(160, 1300, 41):
            (pipe_h, pipe_w), _ = get_closest_ratio(height, width, ratios, crops)
            assert info.nearest_bucket(width, height) == (pipe_w, pipe_h), (width, height)
