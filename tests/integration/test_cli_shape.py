"""`launch.py run`, `submit` and `models` as a person runs them (real subprocesses, a real SQLite
history, the camera-motion engine): the photo keeps its shape, an engine without weights is refused
before anything is queued, and developer engines are listed honestly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from studio.config import Paths
from studio.db.engine import make_engine
from studio.media.encode import probe_video
from studio.services import build_core
from tests.integration.cli import launch


def photo(folder: Path, width: int, height: int) -> Path:
    path = folder / f"{width}x{height}.png"
    image = Image.new("RGB", (width, height), (30, 90, 160))
    image.paste((240, 200, 40), (width // 4, height // 4, width // 2, height // 2))
    image.save(path)
    return path


def test_run_says_when_the_video_will_not_show_the_picture_as_it_is(studio_env, tmp_path):
    result = launch("run", "--image", str(photo(tmp_path, 400, 100)), "--param", "width=128", "--param", "height=128",
                    "--param", "frames=4", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Note: The picture is 400×100 and the video 128×128: 75% of it (its sides) is cropped away" in result.stderr
    result = launch("run", "--image", str(photo(tmp_path, 451, 300)), "--param", "frames=4", env=studio_env)
    assert result.returncode == 0 and "Note:" not in result.stderr, result.stderr


def run_count(env: dict[str, str]) -> int:
    engine = make_engine(Paths.from_env(env).database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
    finally:
        engine.dispose()


def test_run_keeps_the_photo_shape_by_default(studio_env, tmp_path):
    result = launch("run", "--image", str(photo(tmp_path, 451, 300)), "--param", "frames=4", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    info = probe_video(Path(result.stdout.strip().splitlines()[-1]))
    assert (info.width, info.height) == (628, 418)  # 451x300 at about 512x512 pixels, on a grid of 2


def test_run_with_one_side_given_follows_the_photo_for_the_other(studio_env, tmp_path):
    result = launch("run", "--image", str(photo(tmp_path, 300, 451)), "--param", "frames=4", "--param", "height=150",
                    env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    info = probe_video(Path(result.stdout.strip().splitlines()[-1]))
    assert (info.width, info.height) == (100, 150)


def test_submit_gives_each_photo_its_own_shape_and_one_seed(studio_env, tmp_path):
    result = launch("submit", "--image", str(photo(tmp_path, 451, 300)), "--image", str(photo(tmp_path, 1000, 872)),
                    "--param", "frames=4", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    engine = make_engine(Paths.from_env(studio_env).database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT width, height, seed FROM runs ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [(w, h) for w, h, _ in rows] == [(628, 418), (548, 478)]
    assert rows[0][2] == rows[1][2]


@pytest.mark.parametrize("command", ["run", "submit"])
def test_an_engine_without_weights_is_refused_before_queueing(studio_env, tmp_path, command):
    result = launch(command, "--engine", "svd", "--image", str(photo(tmp_path, 96, 72)), env=studio_env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "The weights for stabilityai/stable-video-diffusion-img2vid are not installed." in result.stderr
    assert "Install: Download them with: python launch.py download stabilityai/stable-video-diffusion-img2vid" \
        in result.stderr
    assert "Traceback" not in result.stderr and "queued" not in result.stdout + result.stderr
    assert run_count(studio_env) == 0


def test_models_lists_developer_engines_only_in_developer_mode_and_honestly(studio_env):
    result = launch("models", env=studio_env)
    assert result.returncode == 0, result.stderr
    assert "(test)" not in result.stdout and "developer mode" in result.stdout
    for engine_id, hub_id in (("wan2.2-i2v-a14b", "Wan-AI/Wan2.2-I2V-A14B-Diffusers"),
                              ("skyreels-v2-i2v-14b-540p", "Skywork/SkyReels-V2-I2V-14B-540P-Diffusers"),
                              ("skyreels-v2-df-14b-540p", "Skywork/SkyReels-V2-DF-14B-540P-Diffusers")):
        line = next(line for line in result.stdout.splitlines() if line.startswith(engine_id + " "))
        assert line.endswith(f": not installed — install with: python launch.py download {hub_id}"), line

    core = build_core(Paths.from_env(studio_env))
    try:
        core.history.save_settings(core.history.settings().model_copy(update={"developer_mode": True}))
    finally:
        core.close()
    result = launch("models", env=studio_env)
    assert result.returncode == 0, result.stderr
    tiny = [line for line in result.stdout.splitlines() if "(test)" in line]
    assert tiny
    for line in tiny:
        state = line.split(": ", 1)[1]
        assert "built on first use at " in state or not state.startswith("ready"), line
        if state.startswith("ready — ") and "built on first use" not in state:
            assert Path(state.removeprefix("ready — ")).exists(), line
