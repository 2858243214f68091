"""The built-in camera-motion engine: frames of the requested shape, deterministic, sub-pixel
smooth, moving the way each preset says, cancellable, and validating with errors that name the
parameter."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
from PIL import Image, ImageFilter

from studio.engines.base import Cancelled, InputError, RuntimeOptions
from studio.engines import motion
from studio.engines.motion import MOTIONS, MotionEngine, camera_path
from studio.media.resample import Magnifier
from studio.media.yuv import YuvFrame, source_planes
from studio.requests import validate_for

W, H = 96, 64  # the smallest sizes the engine accepts are 64 px
SMALL = {"width": W, "height": H, "frames": 6}


@pytest.fixture(scope="module")
def engine() -> MotionEngine:
    return MotionEngine()


@pytest.fixture(scope="module")
def texture() -> Image.Image:
    """A detailed picture, so that any movement changes pixels."""
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8))


def run(engine, image, steps=None, cancelled=lambda: False, **params):
    steps = [] if steps is None else steps
    merged = {**SMALL, **params}
    return engine.generate(image, validate_for(engine, merged), RuntimeOptions(), on_step=lambda i, n: steps.append((i, n)), cancelled=cancelled)


def test_info_describes_a_builtin_engine(engine):
    info = engine.info
    assert (info.id, info.family, info.needs_weights) == ("motion", "motion", False)
    assert info.supports_prompt and not info.supports_negative_prompt
    assert "only recorded" in info.description
    assert engine.weights_status().ready
    assert set(info.param("motion").choices) == set(MOTIONS)
    assert all(spec.help for spec in info.params)
    assert info.defaults()["width"] == 512 and info.defaults()["frames"] == 48


def test_frames_have_the_requested_shape(engine, texture):
    result = run(engine, texture, frames=7)
    assert result.frames.shape == (7, H, W, 3) and result.frames.dtype == np.uint8
    assert result.manifest["engine"] == "motion" and result.manifest["motion"] == "zoom_in"
    assert result.infer_seconds > 0


def test_an_image_of_another_size_is_fitted_first(engine, texture):
    wide = texture.resize((200, 60))
    assert run(engine, wide, frames=2).frames.shape == (2, H, W, 3)


def test_same_parameters_give_identical_frames(engine, texture):
    first = run(engine, texture, motion="drift", seed=5).frames
    second = run(engine, texture, motion="drift", seed=5).frames
    assert np.array_equal(first, second)


def test_seed_changes_the_drift(engine, texture):
    a = run(engine, texture, motion="drift", seed=1).frames
    b = run(engine, texture, motion="drift", seed=2).frames
    assert not np.array_equal(a[-1], b[-1])


def test_presets_move_differently(engine, texture):
    last_frames = {m: run(engine, texture, motion=m, frames=3).frames[-1] for m in MOTIONS}
    for i, a in enumerate(MOTIONS):
        for b in MOTIONS[i + 1 :]:
            assert not np.array_equal(last_frames[a], last_frames[b]), (a, b)


def test_zoom_in_starts_on_the_picture_and_closes_in_on_the_centre(engine):
    # A red square in the middle of blue: zooming in makes it fill more of the frame.
    image = Image.new("RGB", (W, H), (0, 0, 255))
    image.paste((255, 0, 0), (40, 24, 56, 40))
    frames = run(engine, image, motion="zoom_in", guidance=2.0).frames
    assert np.array_equal(frames[0], np.asarray(image))  # zoom 1: the picture itself
    red_share = [(f[..., 0] > 128).mean() for f in frames]
    assert red_share == sorted(red_share) and red_share[-1] > 2 * red_share[0]
    zoom_out = run(engine, image, motion="zoom_out", guidance=2.0).frames
    assert np.array_equal(zoom_out[-1], np.asarray(image))


@pytest.mark.parametrize("motion, sign", [("pan_left", -1), ("pan_right", 1)])
def test_pans_move_the_view_the_way_they_say(engine, motion, sign):
    # Brightness grows to the right; panning right shows brighter picture, left darker.
    ramp = np.tile(np.linspace(0, 255, W)[None, :, None], (H, 1, 3)).astype(np.uint8)
    frames = run(engine, Image.fromarray(ramp), motion=motion, guidance=2.0).frames
    means = [float(f.mean()) for f in frames]
    assert np.sign(means[-1] - means[0]) == sign


def test_pan_up_and_down_move_vertically(engine):
    ramp = np.tile(np.linspace(0, 255, H)[:, None, None], (1, W, 3)).astype(np.uint8)
    up = run(engine, Image.fromarray(ramp), motion="pan_up", guidance=2.0).frames
    down = run(engine, Image.fromarray(ramp), motion="pan_down", guidance=2.0).frames
    assert up[-1].mean() < up[0].mean() and down[-1].mean() > down[0].mean()


@pytest.mark.parametrize("motion", MOTIONS)
def test_edges_never_show_black(engine, motion):
    white = Image.new("RGB", (W, H), (255, 255, 255))
    frames = run(engine, white, motion=motion, guidance=3.0, seed=3).frames
    assert frames.min() == 255


def test_motion_is_sub_pixel_smooth(engine, texture):
    # About a quarter of a pixel per frame: integer-pixel crops would repeat most frames.
    frames = run(engine, texture, motion="pan_left", guidance=1.0, easing="linear", frames=40).frames
    assert all(not np.array_equal(frames[i], frames[i + 1]) for i in range(len(frames) - 1))
    path = camera_path("pan_left", 40, 1.0, "linear", 0)
    steps = [abs(b.box(W, H)[0] - a.box(W, H)[0]) for a, b in zip(path, path[1:])]
    assert 0 < min(steps) and max(steps) < 0.5


def test_easing_shapes_the_speed():
    linear = [w.zoom for w in camera_path("zoom_in", 11, 1.0, "linear", 0)]
    eased = [w.zoom for w in camera_path("zoom_in", 11, 1.0, "ease_in_out", 0)]
    assert linear[0] == eased[0] == 1.0 and linear[-1] == pytest.approx(eased[-1])
    assert eased[1] - eased[0] < linear[1] - linear[0]  # starts gently
    assert eased[6] - eased[5] > linear[6] - linear[5]  # faster in the middle


def test_on_step_is_called_once_per_frame_in_order(engine, texture):
    steps = []
    run(engine, texture, steps=steps, frames=5)
    assert steps == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_frames_render_at_a_lower_priority_than_the_caller(engine, texture, monkeypatch):
    """The encoder that takes the frames is the slow stage; rendering gives way to it."""
    seen: list[tuple[str, int]] = []
    view = Magnifier.view

    def recording(self, *args, **kwargs):
        thread = threading.get_native_id()
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, thread)))
        return view(self, *args, **kwargs)

    monkeypatch.setattr(Magnifier, "view", recording)
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    run(engine, texture, frames=4)
    rendering = {priority for name, priority in seen if name.startswith("motion")}
    assert rendering == {min(19, caller + motion.RENDER_NICENESS)}, seen
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == caller  # the caller's own is unchanged


def test_cancel_stops_early(engine, texture):
    steps = []
    with pytest.raises(Cancelled):
        run(engine, texture, steps=steps, cancelled=lambda: len(steps) >= 3, frames=40)
    assert len(steps) == 3


@pytest.mark.parametrize(
    "params, name, suggestion",
    [
        ({"motion": "spin"}, "motion", "zoom_in"),
        ({"width": 513}, "width", 514),
        ({"height": 4000}, "height", 1920),
        ({"frames": 1}, "frames", 2),
        ({"guidance": 5}, "guidance", 3.0),
        ({"easing": "bounce"}, "easing", "ease_in_out"),
        ({"fps": "fast"}, "fps", 24),
        ({"speed": 2}, "speed", None),
    ],
)
def test_validation_names_the_parameter(engine, params, name, suggestion):
    with pytest.raises(InputError) as caught:
        engine.validate(params)
    assert caught.value.param == name
    assert caught.value.suggestion == suggestion


def test_validate_fills_defaults_and_drops_the_negative_prompt(engine):
    clean = engine.validate({"prompt": "a calm lake", "negative_prompt": "blur", "guidance": "1.5"})
    assert clean["guidance"] == 1.5 and clean["motion"] == "zoom_in" and clean["fit"] == "crop"
    assert clean["prompt"] == "a calm lake" and clean["negative_prompt"] == ""


@pytest.mark.parametrize("name", ["prompt", "negative_prompt"])
def test_text_no_database_could_hold_is_refused_naming_the_field(engine, name):
    """A lone surrogate (what undecodable command-line bytes become) in a prompt: refused in words,
    even where the engine would drop the text, rather than failing at the database."""
    with pytest.raises(InputError) as refused:
        engine.validate({name: "a\udcffb"})
    assert refused.value.param == name and "not valid text" in refused.value.message


def test_streamed_frames_match_generate_and_encode(engine, texture, tmp_path):
    from studio.media.encode import probe_video, write_mp4

    params = validate_for(engine, {**SMALL, "motion": "ken_burns", "seed": 4})
    expected = engine.generate(texture, params, RuntimeOptions(), on_step=lambda i, n: None, cancelled=lambda: False).frames
    streamed = list(engine.iter_frames(texture, params, on_step=lambda i, n: None, cancelled=lambda: False))
    # Streamed as 4:2:0 planes (what the encoder takes): the same frames as generate's RGB, each
    # plane to within rounding of that frame converted (chroma subsampling aside, on a noisy texture).
    assert all(isinstance(frame, YuvFrame) for frame in streamed) and len(streamed) == len(expected)
    for frame, rgb in zip(streamed, expected, strict=True):
        y, u, v = (np.asarray(plane, dtype=float) for plane in source_planes(Image.fromarray(rgb)))
        # (bicubic overshoot clips per RGB channel in one, on the luma in the other: a few pixels differ more)
        assert np.abs(frame.y - y).mean() < 1.0 and np.percentile(np.abs(frame.y - y), 99) <= 3
    # Chroma on a picture with detail no finer than a 4:2:0 frame keeps (the noise above has finer
    # colour detail than any H.264 video carries).
    smooth = texture.filter(ImageFilter.GaussianBlur(2))
    expected = engine.generate(smooth, params, RuntimeOptions(), on_step=lambda i, n: None, cancelled=lambda: False).frames
    streamed = list(engine.iter_frames(smooth, params, on_step=lambda i, n: None, cancelled=lambda: False))
    for frame, rgb in zip(streamed, expected, strict=True):
        _, u, v = (np.asarray(plane, dtype=float) for plane in source_planes(Image.fromarray(rgb)))
        assert np.abs(frame.u - u).mean() < 1.5 and np.abs(frame.v - v).mean() < 1.5
    frames = engine.iter_frames(texture, params, on_step=lambda i, n: None, cancelled=lambda: False)
    info = probe_video(write_mp4(frames, 12, tmp_path / "streamed.mp4"))
    assert (info.width, info.height, info.frames) == (W, H, 6)


def test_cancel_while_streaming_leaves_no_file(engine, texture, tmp_path):
    from studio.media.encode import write_mp4

    steps = []
    frames = engine.iter_frames(texture, validate_for(engine, {**SMALL, "frames": 30}), on_step=lambda i, n: steps.append(i),
                                cancelled=lambda: len(steps) >= 4)
    with pytest.raises(Cancelled):
        write_mp4(frames, 12, tmp_path / "canceled.mp4")
    assert steps == [1, 2, 3, 4]
    assert list(tmp_path.iterdir()) == []
