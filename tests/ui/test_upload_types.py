"""Every image uploader on Generate takes what the studio can read, AVIF included where Pillow
decodes it, and lets an SVG, a PDF or a HEIC photo through to the studio's own check, so the page
says in a sentence what the file is instead of the browser turning it red with a hover tooltip."""

from __future__ import annotations

import io

import pytest
from PIL import Image, features
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import widget_key

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30"/></svg>\n'
IMAGE_UPLOADERS = ("upload", "sample_drop", "end_upload", "batch-upload", "recipe_upload")


@pytest.fixture()
def at(studio):
    return studio


def choose(at: AppTest, radio: str, option: str) -> AppTest:
    key = widget_key(at.radio, radio)
    at = at.radio(key=key).set_value(option).run()
    assert not at.exception, at.exception
    return at


def with_every_uploader(at: AppTest) -> tuple[AppTest, dict]:
    """The page with each image uploader shown once: the input upload and the sample drop zone are
    alternatives, so the page is looked at with each."""
    uploaders = {u.key: u for u in at.get("file_uploader")}
    at = choose(at, "end_source", "Upload")
    at = choose(at, "image_source", "Upload")
    uploaders.update({u.key: u for u in at.get("file_uploader")})
    return at, uploaders


def test_every_image_uploader_lets_any_file_reach_the_studio_check(at):
    """No type list: the browser would refuse a type left out with only a tooltip, and lists every
    type given under the drop zone, too long for it. The studio's check names what it cannot use."""
    at, uploaders = with_every_uploader(at)
    assert set(IMAGE_UPLOADERS) <= set(uploaders), sorted(uploaders)
    for key in IMAGE_UPLOADERS:
        assert not list(uploaders[key].allowed_type), (key, list(uploaders[key].allowed_type))


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF decoder")
def test_help_names_avif_where_pillow_decodes_it(at):
    at, uploaders = with_every_uploader(at)
    for key in ("upload", "sample_drop", "end_upload", "batch-upload"):
        assert "AVIF" in uploaders[key].help, (key, uploaders[key].help)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF decoder")
def test_an_avif_photo_becomes_the_input(at):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 40)).save(buffer, "AVIF")
    at.file_uploader(key="sample_drop").set_value(("phone.avif", buffer.getvalue(), "image/avif"))
    at = at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert tuple(at.session_state["input_size"]) == (64, 48)


def test_an_svg_upload_is_refused_on_the_page_in_a_sentence(at):
    at = choose(at, "image_source", "Upload")
    at.file_uploader(key="upload").set_value(("logo.svg", SVG, "image/svg+xml"))
    at = at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("logo.svg" in e and "SVG drawing" in e and "export it as PNG" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)


def test_an_svg_dropped_on_restore_is_not_called_a_photo(at):
    at.file_uploader(key="recipe_upload").set_value(("logo.svg", SVG, "image/svg+xml"))
    at = at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "SVG drawing" in errors[0] and "is a photo" not in errors[0], errors
