"""A studio-made MP4 dropped onto Generate restores its exact parameters."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from tests.browser.conftest import ROOT, drop_files, wait_idle


def test_a_studio_mp4_restores_its_parameters_on_generate(studio, page, shots, tmp_path):
    picture = tmp_path / "dunes.png"
    Image.new("RGB", (300, 200), (210, 170, 90)).save(picture)
    made = subprocess.run(
        [sys.executable, str(ROOT / "launch.py"), "run", "--data-dir", str(studio.data_dir), "--image", str(picture),
         "--prompt", "wind over the dunes", "--seed", "31337", "--param", "frames=30", "--param", "motion=pan_left",
         "--param", "guidance=2.5", "--param", "width=320", "--param", "height=192"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert made.returncode == 0, made.stdout + made.stderr
    video = made.stdout.strip().splitlines()[-1]
    assert video.endswith(".mp4")

    page.goto(studio.url)
    page.get_by_role("heading", name="Generate").wait_for()
    wait_idle(page)
    page.get_by_text("Restore settings from a studio video or .json").click()
    restore = page.locator("[data-testid='stExpander']").filter(has_text="Restore settings from a studio video")
    notice = page.get_by_text("Restored the parameters of")
    drop_files(page, restore.locator("[data-testid='stFileUploaderDropzoneInput']"), video, notice)
    wait_idle(page)
    assert page.get_by_role("textbox", name="Prompt").input_value() == "wind over the dunes"
    for label, value in [("Frames", "30"), ("Width (px)", "320"), ("Height (px)", "192"), ("Motion amount", "2.50"),
                         ("Seed", "31337")]:
        assert page.get_by_role("spinbutton", name=label, exact=True).input_value() == value, label
    assert page.get_by_role("combobox", name="Camera move").input_value() == "pan left"
    assert not page.get_by_role("checkbox", name="Random seed").is_checked()
    shots(page, "20-restored-from-mp4", focus=notice)
