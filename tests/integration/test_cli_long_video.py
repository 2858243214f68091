"""`launch.py run` with a diffusion-forcing engine, as a person runs it (a real subprocess, a real
SQLite history, the tiny SkyReels-V2 DF pipeline built on first use): a video longer than the
model's window is made in windows, its progress counts every window's steps, and the window settings
are recorded with the run and in the MP4's recipe."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from studio.engines.diffusion import families
from studio.media.encode import probe_video
from studio.recipes import form_values, read_recipe
from tests.integration.cli import launch, rows


def test_run_makes_a_long_video_window_by_window(studio_env, tmp_path):
    image = tmp_path / "boat.png"
    Image.new("RGB", (64, 64), (40, 120, 200)).save(image)
    result = launch("run", "--engine", "tiny-skyreels-v2-df", "--image", str(image), "--prompt", "a boat sails slowly",
                    "--param", "frames=41", "--seed", "3", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "it/s]" not in result.stderr, result.stderr  # no library's loading bars: the studio says what it does
    video = Path(result.stdout.strip().splitlines()[-1])
    info = probe_video(video)
    assert info.frames == 41 and (info.width, info.height) == (32, 32)
    [(step, total, params, manifest)] = rows(studio_env, "SELECT step, total_steps, params, manifest FROM runs")
    params, manifest = (json.loads(v) if isinstance(v, str) else v for v in (params, manifest))
    # 41 frames = a window of 17, then two more of 12 new frames each (overlap 5): 3 windows x 2 steps.
    assert (step, total) == (6, 6)
    assert (params["base_frames"], params["overlap_history"], params["ar_step"]) == (17, 5, 0)
    assert (manifest["windows"], manifest["pipeline_class"]) == (3, "SkyReelsV2DiffusionForcingImageToVideoPipeline")
    # The MP4's embedded recipe carries the window settings, and Restore settings puts them back in the form.
    recipe = read_recipe(video.read_bytes(), video.name)
    assert (recipe.engine, recipe.manifest["windows"]) == ("tiny-skyreels-v2-df", 3)
    restored, dropped = form_values(families.TINY_SKYREELS_V2_DF.info(), recipe.params)
    assert dropped == [] and {k: restored[k] for k in ("frames", "base_frames", "overlap_history", "ar_step",
                                                       "addnoise_condition")} == {"frames": 41, "base_frames": 17,
                                                                                  "overlap_history": 5, "ar_step": 0,
                                                                                  "addnoise_condition": 20}
