"""A photo never silently fails to go in: dropped on Restore (which reads studio videos and their
.json) it becomes the input image with a note saying so, and a drop zone sits beside the samples."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest


@pytest.fixture()
def at(studio):
    return studio


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 60, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def source(at: AppTest) -> str:
    return next(r for r in at.radio if r.key and r.key.startswith("image_source@")).value


def input_size(at: AppTest) -> tuple[int, int]:
    return tuple(at.session_state["input_size"])  # the picked input image's size, as the form sizes it


def test_a_photo_dropped_on_restore_becomes_the_input_with_a_note(at):
    at.file_uploader(key="recipe_upload").set_value(("holiday.png", png(300, 200), "image/png"))
    at = at.run()
    assert not at.exception, at.exception
    assert source(at) == "Dropped photo"
    notes = [s.value for s in at.success]
    assert any("holiday.png is a photo" in note and "now the input image" in note for note in notes), notes
    assert input_size(at) == (300, 200)


def test_a_photo_the_studio_cannot_use_dropped_on_restore_says_so_once_and_changes_nothing(at):
    """It said both "about 900 megapixels" (red) and "is now the input image" (green), and the
    input switched to a picture nothing could be made from."""
    damaged = png(300, 200)[:60]  # a PNG cut short: the studio refuses it, as it refuses a 30000 px one
    at.file_uploader(key="recipe_upload").set_value(("huge.png", damaged, "image/png"))
    at = at.run()
    assert not at.exception, at.exception
    assert source(at) == "Sample"
    assert not [s.value for s in at.success]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "cannot be the input image" in errors[0] and "truncated" in errors[0], errors


def test_a_photo_dropped_beside_the_samples_is_taken(at):
    assert source(at) == "Sample"
    at.file_uploader(key="sample_drop").set_value(("portrait.png", png(200, 300), "image/png"))
    at = at.run()
    assert not at.exception, at.exception
    assert source(at) == "Dropped photo"
    assert input_size(at) == (200, 300)
