"""The output keeps the photo's shape on the real Generate page (Streamlit's AppTest, a temporary
history, the camera-motion engine): by default, when the image changes, with any size choice, and
never over a size the user typed."""

from __future__ import annotations

import io

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services
from tests.ui.conftest import widget_key


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), (40, 120, 200))
    image.paste((230, 200, 40), (width // 4, height // 4, width // 2, height // 2))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(at: AppTest, width: int, height: int) -> AppTest:
    if at.radio(key=widget_key(at.radio, "image_source")).value != "Upload":
        at = at.radio(key=widget_key(at.radio, "image_source")).set_value("Upload").run()
    at.file_uploader(key="upload").set_value((f"photo-{width}x{height}.png", png(width, height), "image/png"))
    at = at.run()
    assert not at.exception, at.exception
    return at


def size(at: AppTest) -> tuple[int, int]:
    return (int(at.number_input(key=widget_key(at.number_input, "motion.width")).value),
            int(at.number_input(key=widget_key(at.number_input, "motion.height")).value))


def preset(at: AppTest):
    return at.selectbox(key=widget_key(at.selectbox, "motion.preset"))


def queue(at: AppTest) -> tuple[int, int]:
    at = next(b for b in at.button if b.label == "Generate").click().run()
    assert not at.exception, at.exception
    run = cached_services().history.get_run(1)
    return run.params["width"], run.params["height"]


def test_a_landscape_photo_keeps_its_shape_by_default(studio):
    at = upload(studio, 451, 300)
    assert size(at) == (628, 418)  # about 512x512 pixels, the camera-motion engine's grid of 2
    assert preset(at).value == "auto" and "628×418" in preset(at).format_func(preset(at).value)
    assert at.checkbox(key=widget_key(at.checkbox, "motion.keep_aspect")).value is True
    assert queue(at) == (628, 418)  # what is queued is what the form shows


def test_a_new_image_recomputes_the_size(studio):
    at = upload(studio, 451, 300)
    assert size(at) == (628, 418)
    at = upload(at, 1000, 872)
    assert size(at) == (548, 478)
    assert "548×478" in preset(at).format_func(preset(at).value)


def test_a_long_side_size_keeps_the_aspect_and_follows_the_image(studio):
    at = upload(studio, 451, 300)
    at = preset(at).set_value(768).run()
    assert size(at) == (768, 510) and preset(at).format_func(768) == "768 px long side · 768×510"
    at = upload(at, 1000, 872)
    assert size(at) == (768, 670)
    at = at.checkbox(key=widget_key(at.checkbox, "motion.keep_aspect")).uncheck().run()
    assert size(at) == (768, 768)


def test_a_typed_size_is_kept_when_the_image_changes(studio):
    at = upload(studio, 451, 300)
    at = at.checkbox(key=widget_key(at.checkbox, "motion.keep_aspect")).uncheck().run()
    at = at.number_input(key=widget_key(at.number_input, "motion.width")).set_value(700).run()
    at = at.number_input(key=widget_key(at.number_input, "motion.height")).set_value(400).run()
    assert size(at) == (700, 400) and preset(at).value == "custom"
    at = upload(at, 1000, 872)
    assert size(at) == (700, 400) and preset(at).value == "custom"


def test_with_the_aspect_kept_the_other_side_follows_the_one_typed(studio):
    at = upload(studio, 451, 300)
    at = at.number_input(key=widget_key(at.number_input, "motion.width")).set_value(700).run()
    assert size(at) == (700, 466) and preset(at).value == "custom"
    at = upload(at, 1000, 872)
    assert size(at) == (700, 466)  # typed: kept for the next image too


def test_edit_and_rerun_keeps_the_size_of_the_run_it_edits(studio):
    from studio.jobs.queue import SubmitRequest

    svc = cached_services()
    photo = Image.open(io.BytesIO(png(451, 300))).convert("RGB")
    run_id = svc.queue.submit(SubmitRequest(engine="motion", params={"width": 400, "height": 400, "frames": 6},
                                            image=photo, image_name="photo.png"))
    studio.query_params["edit"] = str(run_id)
    at = studio.run()
    assert not at.exception, at.exception
    assert size(at) == (400, 400) and preset(at).value == "custom"  # not reshaped to the photo


def crop_notes(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if "cropped away" in c.value or "times larger" in c.value]


def test_the_form_says_when_the_video_will_not_show_the_picture_as_it_is(studio):
    at = upload(studio, 451, 300)
    assert crop_notes(at) == []  # its own shape at its own size: nothing to say
    at = at.checkbox(key=widget_key(at.checkbox, "motion.keep_aspect")).uncheck().run()
    at = at.number_input(key=widget_key(at.number_input, "motion.height")).set_value(640).run()
    [note] = crop_notes(at)
    assert "451×300 and the video 512×640" in note and "(its sides) is cropped away" in note
    at = upload(at, 7, 5)
    assert any("7×5" in n and "times larger" in n for n in crop_notes(at)), crop_notes(at)
