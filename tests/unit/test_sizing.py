"""The default output size (studio.sizing): the image's aspect at the engine's pixel budget, on the
engine's own size grid, always a size the engine accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.config import Paths, Settings
from studio.engines import params
from studio.engines.base import EngineInfo
from studio.engines.registry import build_registry
from studio.sizing import default_size, engine_default, follow, has_size, long_side_size, with_default_size


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("sizing")
    return build_registry(Settings(), Paths(data_dir=root, logs_dir=root / "logs", database_url="sqlite://"))


def engines(registry):
    return [e for e in registry.engines() if has_size(e.info)]


def test_a_landscape_photo_keeps_its_shape_at_the_default_budget(registry):
    # chelsea (451x300) at about 512x512 pixels: 628x418 on motion's grid of 2, 624x416 on a grid of 16.
    assert default_size(registry.get("motion").info, (451, 300)) == (628, 418)
    wan = registry.get("wan2.1-i2v-14b-480p").info  # 832x480 budget, multiple of 16
    width, height = default_size(wan, (451, 300))
    assert width % 16 == 0 and height % 16 == 0 and abs(width / height - 451 / 300) < 0.05
    tiny = registry.get("tiny-i2vgen-xl").info  # 32x32 budget on a grid of 16: 39x26 rounds to one cell
    assert default_size(tiny, (451, 300)) == (32, 32)
    assert default_size(tiny, (900, 300)) == (48, 16)


def test_the_multiple_of_16_example_from_the_budget_of_512_squared(registry):
    grid_16 = EngineInfo(id="g16", label="Grid 16", description="", family="test",
                         params=params.size(512, 512, multiple_of=16, minimum=256, maximum=1280))
    assert default_size(grid_16, (451, 300)) == (624, 416)
    i2vgen = registry.get("i2vgen-xl").info  # 512x512 budget on a grid of 64: 627.8x417.6 rounds each side
    assert default_size(i2vgen, (451, 300)) == (640, 448)
    motion = registry.get("motion").info
    assert default_size(motion, (1000, 872)) == (548, 478)
    assert default_size(motion, (300, 451)) == (418, 628)  # portrait stays portrait


def test_a_bucket_model_takes_its_pipelines_bucket_however_far_the_photo_is_from_it(registry):
    """Found by the property test below: a 7x13 photo on the tiny HunyuanVideo 1.5 (buckets of 16
    px) is 32x32, the nearest bucket no taller, as its pipeline picks, not the nearer 16x32."""
    tiny = registry.get("tiny-hunyuanvideo15").info
    assert default_size(tiny, (7, 13)) == tiny.nearest_bucket(7, 13) == (32, 32)


def test_without_an_image_it_is_the_engine_default(registry):
    for engine in engines(registry):
        assert default_size(engine.info, None) == engine_default(engine.info)


def test_a_panorama_is_shrunk_to_the_maximum_as_a_whole_not_side_by_side(registry):
    motion = registry.get("motion").info  # maximum 1920, minimum 64
    width, height = default_size(motion, (20000, 1000))  # ideal 2290x114
    assert (width, height) == (1920, 96)


def test_a_long_side_preset_keeps_the_aspect_and_the_limits(registry):
    motion = registry.get("motion").info
    assert long_side_size(motion, (451, 300), 768) == (768, 510)
    assert long_side_size(motion, (300, 451), 768) == (510, 768)
    assert long_side_size(motion, None, 768) == (768, 768)
    assert follow(motion, (451, 300), width=700) == (700, 466)
    assert follow(motion, (451, 300), height=466) == (700, 466)


sizes = st.tuples(st.integers(1, 20000), st.integers(1, 20000))


@settings(max_examples=300, deadline=None)
@given(image=sizes, budget=st.one_of(st.none(), st.integers(1, 4096 * 4096)), pick=st.integers(0, 1000))
def test_any_image_and_engine_give_a_size_the_engine_accepts(registry, image, budget, pick):
    candidates = engines(registry)
    engine = candidates[pick % len(candidates)]
    info = engine.info
    width, height = default_size(info, image, budget=budget)
    clean = engine.validate({"width": width, "height": height})
    assert (clean["width"], clean["height"]) == (width, height)

    if info.size_buckets:
        # A model that makes only its own sizes gets the bucket its pipeline picks for this aspect,
        # which can be far from it (HunyuanVideo 1.5 takes the nearest bucket no taller or no wider).
        assert (width, height) == info.nearest_bucket(*image)
        return
    # Unless the limits force it, the aspect is off by no more than half a grid step on each side.
    w_spec, h_spec = info.param("width"), info.param("height")
    aspect = image[0] / image[1]
    touches_limit = width in (w_spec.minimum, w_spec.maximum) or height in (h_spec.minimum, h_spec.maximum)
    if not touches_limit:
        grid_w, grid_h = (w_spec.multiple_of or 1) / 2 + 0.5, (h_spec.multiple_of or 1) / 2 + 0.5
        assert (width - grid_w) / (height + grid_h) <= aspect <= (width + grid_w) / (height - grid_h)


@settings(max_examples=200, deadline=None)
@given(image=sizes, long_side=st.integers(1, 5000), pick=st.integers(0, 1000))
def test_any_long_side_preset_gives_a_size_the_engine_accepts(registry, image, long_side, pick):
    candidates = engines(registry)
    engine = candidates[pick % len(candidates)]
    width, height = long_side_size(engine.info, image, long_side)
    engine.validate({"width": width, "height": height})


def test_the_cli_default_fills_only_the_sides_not_given(registry):
    motion = registry.get("motion").info
    assert with_default_size(motion, {"frames": "6"}, (451, 300)) == {"frames": "6", "width": 628, "height": 418}
    assert with_default_size(motion, {"width": "700"}, (451, 300)) == {"width": "700", "height": 466}
    assert with_default_size(motion, {"height": "300"}, (451, 300)) == {"height": "300", "width": 452}
    assert with_default_size(motion, {"width": "80", "height": "64"}, (451, 300)) == {"width": "80", "height": "64"}
    assert with_default_size(motion, {"width": "wide"}, (451, 300)) == {"width": "wide"}  # validation names it


@settings(max_examples=200, deadline=None)
@given(image=sizes, side=st.integers(16, 2000), typed_width=st.booleans(), pick=st.integers(0, 1000))
def test_a_typed_side_with_the_other_following_is_a_size_the_engine_accepts(registry, image, side, typed_width, pick):
    # Every engine, those that make only their own sizes (HunyuanVideo 1.5's buckets) among them:
    # the locked aspect on Generate and a CLI run given one side both go through follow().
    candidates = engines(registry)
    engine = candidates[pick % len(candidates)]
    name = "width" if typed_width else "height"
    typed = int(engine.info.param(name).nearest(side))
    width, height = follow(engine.info, image, **{name: typed})
    engine.validate({"width": width, "height": height})
    sized = with_default_size(engine.info, {name: typed}, image)
    engine.validate({"width": sized["width"], "height": sized["height"]})


def test_a_bucket_model_given_one_side_gets_the_whole_bucket(registry):
    hunyuan = registry.get("hunyuanvideo-1.5-i2v-480p")
    sized = with_default_size(hunyuan.info, {"width": "800"}, (800, 600))  # a 4:3 photo: 800 is no bucket's width
    assert (sized["width"], sized["height"]) in hunyuan.info.size_buckets
    hunyuan.validate(sized)
