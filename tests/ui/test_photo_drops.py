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


def test_a_photo_dropped_beside_the_samples_is_taken(at):
    assert source(at) == "Sample"
    at.file_uploader(key="sample_drop").set_value(("portrait.png", png(200, 300), "image/png"))
    at = at.run()
    assert not at.exception, at.exception
    assert source(at) == "Dropped photo"
    assert input_size(at) == (200, 300)
