"""The Settings page refuses what it cannot use in the form's own words: a number out of range
names the field's label and the bound (not the model's field name and pydantic's phrasing); an
output folder of spaces is the default; a relative one (it would land wherever the studio was
started, e.g. inside the checkout) and one with a NUL byte are refused, and nothing is saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"


@pytest.fixture()
def settings_page(data_dir):
    cached_services.clear()
    at = AppTest.from_file(FRAME, default_timeout=60)
    at.run()
    at.switch_page("pages/settings.py").run()
    assert not at.exception, at.exception
    yield at
    cached_services().close()
    cached_services.clear()


def save(at: AppTest) -> list[str]:
    at.button(key="FormSubmitter:settings-Save settings").click().run()
    assert not at.exception, at.exception
    return [e.value for e in at.error]


def test_numbers_out_of_range_are_named_by_their_label(settings_page):
    at = settings_page
    at.number_input(key="setting:default_fps").set_value(500)
    errors = save(at)
    assert any(e == "Default frame rate must be at most 120." for e in errors), errors
    assert not any("default_fps" in e or "Input should be" in e for e in errors), errors


@pytest.mark.parametrize("typed, refused", [("relative/out", "must be a full path"), ("a\x00b", "NUL byte")])
def test_an_output_folder_that_is_not_a_full_path_is_refused_and_nothing_is_saved(settings_page, typed, refused,
                                                                                  monkeypatch, tmp_path):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # where a relative folder would have gone
    at = settings_page
    before = cached_services().settings()
    at.text_input(key="setting:output_dir").input(typed)
    errors = save(at)
    assert any(refused in e for e in errors), errors
    assert cached_services().settings() == before and not (tmp_path / "cwd" / "relative").exists()


def test_an_output_folder_of_spaces_is_the_default(settings_page, monkeypatch, tmp_path):
    started_in = tmp_path / "cwd"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    at = settings_page
    at.text_input(key="setting:output_dir").input("   ")
    assert save(at) == []
    svc = cached_services()
    assert svc.settings().output_dir == "" and svc.storage.outputs_dir == svc.paths.default_outputs_dir
    assert list(started_in.iterdir()) == []
