"""Pictures and videos on the pages are at most MAX_SHOWN_HEIGHT tall, keeping their shape."""

from __future__ import annotations

import pytest

from studio.ui.format import MAX_SHOWN_HEIGHT, shown_width


@pytest.mark.parametrize(("size", "expected"), [
    ((300, 6000), 27),  # a panorama stood on end: narrow, MAX_SHOWN_HEIGHT tall
    ((1000, 2000), 270),
    ((768, 512), "content"),  # fits: shown as before
    ((6000, 300), "content"),
    ((None, None), "content"),
])
def test_a_tall_picture_is_shown_narrower_instead_of_thousands_of_pixels_tall(size, expected):
    assert shown_width(*size) == expected
    if isinstance(expected, int):
        assert expected * size[1] / size[0] <= MAX_SHOWN_HEIGHT + size[1] / size[0]


@pytest.mark.parametrize(("size", "expected"), [
    ((96, 1920), 27), ((512, 512), 540), ((1280, 720), 960), ((1920, 256), "stretch"), ((0, 0), "stretch"),
])
def test_a_video_is_at_most_that_tall_in_any_column(size, expected):
    assert shown_width(*size, "stretch") == expected
