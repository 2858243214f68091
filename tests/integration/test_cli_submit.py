"""`launch.py submit` as a person runs it: real subprocesses on a real SQLite history, the camera-
motion engine doing the work (in the submitting process or in a `launch.py worker`)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.config import PROJECT_ROOT, Paths, Settings
from studio.media.encode import probe_video
from studio.services import build_core
from tests.integration.cli import LAUNCH, launch, rows

SMALL = ("--param", "width=64", "--param", "height=64", "--param", "frames=4")


def make_images(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (96, 72), (40 * i, 90, 160))
        image.paste((240, 200, 40), (10 + 5 * i, 16, 50 + 5 * i, 50))
        path = folder / f"shot-{i}.png"
        image.save(path)
        paths.append(path)
    return paths


def test_submit_five_images_waits_and_prints_five_mp4s_in_one_group(studio_env, tmp_path):
    images = make_images(tmp_path / "shots", 5)
    (tmp_path / "shots" / "notes.txt").write_text("not an image: skipped by --folder")
    result = launch("submit", "--image", str(images[0]), "--folder", str(tmp_path / "shots"), "--prompt", "drift",
                    *SMALL, "--wait", env=studio_env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    # --image first, then the folder's images by name (shot-0 twice: given both ways, queued both times)
    ids, videos = lines[:6], lines[6:]
    assert [int(i) for i in ids] == [1, 2, 3, 4, 5, 6]
    assert len(videos) == 6
    for video in videos:
        info = probe_video(Path(video))
        assert (info.codec, info.width, info.height, info.frames) == ("h264", 64, 64, 4)
    runs = rows(studio_env, "SELECT runs.status, runs.seed, runs.prompt, sweeps.name, runs.video_path FROM runs "
                            "JOIN sweeps ON sweeps.id = runs.sweep_id ORDER BY runs.id")
    assert [r[0] for r in runs] == ["succeeded"] * 6
    assert len({r[1] for r in runs}) == 1, "the same settings, one seed for the whole batch"
    assert {r[2] for r in runs} == {"drift"}
    assert {r[3] for r in runs} == {"batch of 6 images"}
    assert [r[4] for r in runs] == videos


def test_submit_without_wait_only_queues(studio_env, tmp_path):
    image, = make_images(tmp_path, 1)
    result = launch("submit", "--image", str(image), *SMALL, env=studio_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    time.sleep(1.0)  # nothing in this process or elsewhere runs it
    assert rows(studio_env, "SELECT status, sweep_id FROM runs") == [("queued", None)]


def test_submit_is_all_or_nothing(studio_env, tmp_path):
    good = make_images(tmp_path, 2)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = launch("submit", "--image", str(good[0]), "--image", str(bad), "--image", str(good[1]), *SMALL,
                    env=studio_env)
    assert result.returncode == 2
    assert "broken.png" in result.stderr and "--image" in result.stderr and "Traceback" not in result.stderr
    result = launch("submit", "--image", str(good[0]), "--image", str(good[1]), "--param", "width=131",
                    env=studio_env)
    assert result.returncode == 2
    assert "--param width" in result.stderr and "--param width=132" in result.stderr
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(0,)]


def test_submit_wait_reports_a_failed_run_on_stderr_with_status_1(studio_env, tmp_path):
    image, = make_images(tmp_path, 1)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder would go")
    core = build_core(Paths.from_env(studio_env))
    try:
        core.history.save_settings(Settings(output_dir=str(blocker / "outputs")))
    finally:
        core.close()
    result = launch("submit", "--image", str(image), *SMALL, "--wait", env=studio_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.strip() == "1"  # the id, and no MP4 path
    assert "Run 1 failed" in result.stderr and "Traceback" not in result.stderr


def test_submit_wait_leaves_the_runs_to_a_running_worker(studio_env, tmp_path):
    images = make_images(tmp_path, 2)
    worker = subprocess.Popen([sys.executable, str(LAUNCH), "worker"], env=studio_env, cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while "Press Ctrl-C to stop" not in worker.stdout.readline():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker did not start"
        result = launch("submit", "--image", str(images[0]), "--image", str(images[1]), *SMALL, "--wait",
                        env=studio_env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(result.stdout.strip().splitlines()) == 4  # two ids, two MP4 paths
        assert "running them in this process" not in result.stderr
        workers = rows(studio_env, "SELECT DISTINCT worker_id FROM runs")
        assert workers == [(workers[0][0],)] and f":{worker.pid}:" in workers[0][0]
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.parametrize("args, message", [
    ((), "Give at least one --image or a --folder"),
    (("--folder", "/nonexistent-folder"), "--folder /nonexistent-folder: not a folder"),
])
def test_submit_without_images_says_what_to_give(studio_env, args, message):
    result = launch("submit", *args, env=studio_env)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
