"""Keyframes on the camera-motion engine: framing boxes the last frame honours, an end image the
move dissolves into, a seamless loop; and the end-image check every engine goes through."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.config import Paths, Settings
from studio.engines.base import InputError, RuntimeOptions
from studio.engines.motion import MotionEngine
from studio.engines.registry import build_registry
from studio.requests import validate, validate_for

W, H = 96, 64
SHA = "ab" * 32


@pytest.fixture(scope="module")
def engine() -> MotionEngine:
    return MotionEngine()


def _picture(seed: int) -> Image.Image:
    """Smooth but detailed: blurred noise, so a resize of a crop is comparable pixel by pixel."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (H // 8, W // 8, 3), dtype=np.uint8))
    return small.resize((W, H), Image.Resampling.BICUBIC)


def _frames(engine, image, end_image=None, **params) -> np.ndarray:
    request = validate_for(engine, {"width": W, "height": H, "frames": 6, "seed": 1, **params})
    return engine.generate(image, request, RuntimeOptions(), on_step=lambda i, n: None, cancelled=lambda: False,
                           end_image=end_image).frames.astype(np.float64)


def _view(image: Image.Image, x: float, y: float, width: float) -> np.ndarray:
    """The framing box cut from the picture and enlarged to the output: what that frame must show."""
    box = (x * W, y * H, (x + width) * W, (y + width) * H)
    return np.asarray(image.resize((W, H), Image.Resampling.BICUBIC, box=box)).astype(np.float64)


BOXES = {"motion": "framing", "start_x": 0.1, "start_y": 0.0, "start_width": 0.9,
         "end_x": 0.5, "end_y": 0.3, "end_width": 0.4}


def test_the_first_and_last_frames_show_the_framing_boxes(engine):
    picture = _picture(1)
    frames = _frames(engine, picture, **BOXES)
    crop = np.asarray(picture.crop((48, 19, 86, 45)).resize((W, H), Image.Resampling.BICUBIC)).astype(np.float64)
    # Against the box cut out at whole pixels (the engine samples the exact fractional box): close.
    assert np.abs(frames[-1] - crop).mean() < 6.0
    assert np.abs(frames[-1] - _view(picture, 0.5, 0.3, 0.4)).mean() < 0.5
    assert np.abs(frames[0] - _view(picture, 0.1, 0.0, 0.9)).mean() < 0.5
    # ... and neither box is what the other end shows.
    assert np.abs(frames[-1] - _view(picture, 0.1, 0.0, 0.9)).mean() > 10


def test_an_end_image_dissolves_in_along_the_move(engine):
    first, last = _picture(1), _picture(2)
    frames = _frames(engine, first, end_image=last, **BOXES)
    assert np.abs(frames[0] - _view(first, 0.1, 0.0, 0.9)).mean() < 0.5
    assert np.abs(frames[-1] - _view(last, 0.5, 0.3, 0.4)).mean() < 0.5
    middle = frames[len(frames) // 2]
    halfway = [np.abs(middle - _view(p, 0.5, 0.3, 0.4)).mean() for p in (first, last)]
    assert all(d > 5 for d in halfway)  # a blend of both, neither picture alone


@pytest.mark.parametrize("params", [{"motion": "zoom_in"}, {"motion": "pan_left", "easing": "linear"}, BOXES])
def test_a_loop_ends_where_it_started(engine, params):
    picture = _picture(3)
    frames = _frames(engine, picture, end_image=_picture(4), loop=True, frames=12, **params)
    steps = [np.abs(frames[i + 1] - frames[i]).mean() for i in range(len(frames) - 1)]
    seam = np.abs(frames[0] - frames[-1]).mean()  # what a viewer sees when the video starts again
    assert max(steps) > 1.0, "the camera should move"
    assert seam <= max(steps), (seam, steps)
    # Without the loop the last frame is far from the first.
    once = _frames(engine, picture, end_image=_picture(4), frames=12, **params)
    once_steps = [np.abs(once[i + 1] - once[i]).mean() for i in range(len(once) - 1)]
    assert np.abs(once[0] - once[-1]).mean() > 1.5 * max(once_steps)


def test_a_box_past_the_edge_is_refused_with_the_nearest_valid_value(engine):
    with pytest.raises(InputError) as caught:
        validate_for(engine, {**BOXES, "end_x": 0.7})
    assert caught.value.param == "end_x" and caught.value.suggestion == pytest.approx(0.6)
    assert "inside the picture" in caught.value.message
    # Boxes are checked only when the framing move uses them.
    assert validate_for(engine, {**BOXES, "end_x": 0.7, "motion": "zoom_in"}).params["end_x"] == 0.7


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    return build_registry(Settings(), Paths(data_dir=root, logs_dir=root / "logs", database_url="sqlite://"))


@pytest.mark.parametrize("engine_id", ["motion", "wan2.1-flf2v-14b-720p", "tiny-wan21-flf2v"])
def test_engines_that_take_an_end_image_keep_it_in_the_request(registry, engine_id):
    request = validate(registry, engine_id, {"end_image": SHA})
    assert request.params["end_image"] == SHA and request.stored_params()["end_image"] == SHA


def test_without_an_end_image_a_request_is_stored_as_before_and_flf2v_asks_for_one(registry):
    assert "end_image" not in validate(registry, "motion", {}).params
    with pytest.raises(InputError, match="choose an end image") as caught:
        validate(registry, "wan2.1-flf2v-14b-720p", {})
    assert caught.value.param == "end_image"


@pytest.mark.parametrize("engine_id, label", [("ltx-video", "LTX-Video"), ("tiny-wan22-ti2v", "Wan 2.2 TI2V"),
                                              ("wan2.1-i2v-14b-480p", "Wan 2.1 I2V 14B 480P"),
                                              ("svd-xt", "Stable Video Diffusion XT")])
def test_an_engine_without_keyframes_refuses_an_end_image_by_name(registry, engine_id, label):
    with pytest.raises(InputError) as caught:
        validate(registry, engine_id, {"end_image": SHA})
    assert caught.value.param == "end_image"
    assert label in caught.value.message and ("first" in caught.value.message or "one image" in caught.value.message)


def test_an_end_image_must_be_a_stored_image_digest(registry):
    with pytest.raises(InputError, match="sha256"):
        validate(registry, "motion", {"end_image": "../etc/passwd"})
