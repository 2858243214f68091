"""The camera-motion engine's resampler: a window of a picture enlarged once and sampled per frame
gives the bicubic view of that window, exactly on whole pixels and to within rounding elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from studio.media.resample import FACTOR, Magnifier, cross_fade

W, H = 160, 96


def _photo(mode: str = "L", seed: int = 3) -> Image.Image:
    """Detail at every scale but none finer than a camera gives: blurred noise."""
    rng = np.random.default_rng(seed)
    shape = (H, W) if mode == "L" else (H, W, 3)
    noise = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
    return noise.filter(ImageFilter.GaussianBlur(1.5))


def _bicubic(picture: Image.Image, box, size) -> np.ndarray:
    """The window resampled bicubic in floating point: what the engine's frames have always been."""
    bands = [band.convert("F").resize(size, Image.Resampling.BICUBIC, box=box) for band in picture.split()]
    return np.stack([np.asarray(band) for band in bands], axis=-1).squeeze()


def test_the_whole_picture_at_zoom_one_is_the_picture_itself():
    for mode in ("L", "RGB"):
        picture = _photo(mode)
        assert np.array_equal(Magnifier(picture).view((0.0, 0.0, W, H), (W, H)), np.asarray(picture))
    assert FACTOR % 2 == 1  # an odd factor puts a sample on every original pixel


@pytest.mark.parametrize("box", [(10.3, 5.7, 130.3, 77.7), (0.0, 0.0, 80.0, 48.0), (79.9, 47.95, 160.0, 96.0),
                                 (33.33, 20.01, 49.33, 29.61), (0.25, 0.0, 159.75, 95.85)])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_window_is_its_bicubic_view_to_within_rounding(box, mode):
    """Zooms from 1.003 to 10, windows touching every edge, sub-pixel corners."""
    picture = _photo(mode)
    view = Magnifier(picture).view(box, (W, H)).astype(np.float64)
    expected = _bicubic(picture, box, (W, H))
    difference = np.abs(view - expected)
    assert view.shape == expected.shape
    assert np.sqrt((difference ** 2).mean()) < 0.5 and difference.max() <= 3


def test_a_quarter_pixel_move_of_the_window_moves_the_frame_a_quarter_pixel():
    """Sub-pixel positions are kept (no stepping to whole or fine pixels): each quarter-pixel step
    of a window changes the frame, by the same amount each time, as the bicubic view does."""
    picture = _photo()
    magnifier = Magnifier(picture)
    views = [magnifier.view((20 + q, 10.0, 100 + q, 58.0), (W, H)).astype(np.float64) for q in (0, 0.25, 0.5, 0.75)]
    steps = [np.abs(b - a).mean() for a, b in zip(views, views[1:])]
    assert min(steps) > 0.5 and max(steps) / min(steps) < 1.5


def test_a_cross_fade_ends_on_the_second_picture_exactly():
    first, second = (np.full((4, 6), value, dtype=np.uint8) for value in (0, 200))
    assert np.array_equal(cross_fade(first, second, 1.0), second)
    assert np.array_equal(cross_fade(first, second, 0.0), first)
    assert np.array_equal(cross_fade(first, second, 0.25), np.full((4, 6), 50, dtype=np.uint8))
