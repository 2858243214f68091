"""The sentences that tell a user the video will not show the picture as it is."""

from __future__ import annotations

from studio.sizing import framing_notes


def test_a_panorama_beyond_the_engines_limits_says_how_much_is_cropped():
    [note] = framing_notes((6000, 300), (1920, 256))
    assert note.startswith("The picture is 6000×300 and the video 1920×256: 62% of it (its sides) is cropped away")
    assert "pad" in note


def test_an_end_image_of_another_shape_is_named_as_such():
    [note] = framing_notes((300, 900), (640, 480), what="The end image")
    assert note.startswith("The end image is 300×900") and "(its top and bottom)" in note


def test_a_tiny_picture_says_it_is_blown_up():
    notes = framing_notes((7, 5), (606, 432))
    assert len(notes) == 1 and "87 times larger" in notes[0]


def test_a_picture_at_its_own_shape_and_size_says_nothing():
    assert framing_notes((451, 300), (628, 418)) == []
    assert framing_notes((1000, 872), (512, 446)) == []
    assert framing_notes((6000, 300), (1920, 256), "pad") == []  # pad keeps all of it: the user chose bars
    assert framing_notes((0, 10), (64, 64)) == []


def test_a_runs_notes_name_the_picture_then_the_end_image():
    from studio.sizing import run_framing_notes

    notes = run_framing_notes((640, 480), "crop", (640, 480), (300, 900))
    assert len(notes) == 1 and notes[0].startswith("The end image is 300×900")
    assert run_framing_notes((640, 480), "crop", None, None) == []
