"""The creator's defaults from Settings (size, frames, fps, camera move): the Generate form starts
from them, and a run queued from the Python API (the path the CLI and HTTP API share) gets them for
what it leaves out, each rounded to what the engine accepts."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from PIL import Image
from streamlit.testing.v1 import AppTest

from studio import creator_defaults, submit
from studio.config import Settings
from studio.engines.diffusion.families import FAMILIES
from studio.engines.motion import INFO as MOTION, MOTIONS
from studio.ui.runtime import services as cached_services

FRAME = Path(__file__).resolve().parents[2] / "frame.py"
MINE = {"default_size": 256, "default_frames": 30, "default_fps": 12, "default_camera_move": "pan_left"}


def test_each_default_is_rounded_to_what_the_engine_accepts():
    settings = Settings(**MINE)
    motion = creator_defaults.applied(MOTION, settings)
    assert [motion.param(n).default for n in ("width", "height", "frames", "fps", "motion")] == [256, 256, 30, 12, "pan_left"]
    wan = next(f for f in FAMILIES if f.engine_id == "wan2.2-ti2v-5b").info()
    applied = creator_defaults.applied(wan, settings)
    assert applied.param("frames").default == 29 and applied.param("frames").default % 4 == 1  # 4k+1
    assert not applied.has_param("motion")
    assert creator_defaults.applied(MOTION, Settings()) is MOTION, "no defaults set: the engine's own"
    assert creator_defaults.fill(motion, settings, {"frames": 6}) == {"frames": 6, "fps": 12, "motion": "pan_left"}


def test_the_camera_moves_in_settings_are_the_engines():
    assert set(get_args(Settings.model_fields["default_camera_move"].annotation)) - {""} == set(MOTIONS)


def test_the_form_and_a_scripted_run_start_from_the_creators_defaults(data_dir, tmp_path):
    cached_services.clear()
    try:
        svc = cached_services()
        svc.apply_settings(svc.settings().model_copy(update=MINE))
        at = AppTest.from_file(FRAME, default_timeout=60).run()
        assert not at.exception, at.exception
        values = {w.key.split("@")[0]: w.value for w in [*at.number_input, *at.selectbox] if w.key}
        assert (values["motion.frames"], values["motion.fps"], values["motion.motion"]) == (30, 12, "pan_left")
        width, height = values["motion.width"], values["motion.height"]
        assert abs(width * height - 256 * 256) < 0.1 * 256 * 256, (width, height)

        photo = tmp_path / "wide.png"
        Image.new("RGB", (300, 150), (30, 90, 160)).save(photo)
        [run_id] = submit(photo, "a slow pan", engine="motion", data_dir=data_dir)
        run = svc.history.get_run(run_id)
        assert (run.frames, run.fps, run.params["motion"]) == (30, 12, "pan_left")
        assert abs(run.width - 2 * run.height) <= 2 and abs(run.width * run.height - 256 * 256) < 0.1 * 256 * 256
    finally:
        cached_services().close()
        cached_services.clear()
