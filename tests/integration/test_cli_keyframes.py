"""`launch.py run` with keyframes: --last-image ends the video on a picture, --extend continues a
finished run from its last frame, and an engine that cannot take an end image queues nothing."""

from __future__ import annotations

from PIL import Image

from tests.integration.cli import launch, rows

SMALL = ["--param", "width=96", "--param", "height=64", "--param", "frames=4", "--param", "fps=12"]


def test_run_with_a_last_image_then_extend_it(studio_env, tmp_path):
    first, last = tmp_path / "first.png", tmp_path / "last.png"
    Image.new("RGB", (96, 64), (200, 120, 40)).save(first)
    Image.new("RGB", (96, 64), (20, 40, 220)).save(last)
    made = launch("run", "--image", str(first), "--last-image", str(last), "--param", "motion=framing",
                  "--param", "end_width=0.5", "--prompt", "dusk", *SMALL, env=studio_env)
    assert made.returncode == 0, made.stdout + made.stderr
    extended = launch("run", "--extend", "1", "--param", "frames=5", env=studio_env)
    assert extended.returncode == 0, extended.stdout + extended.stderr
    assert extended.stdout.strip().endswith(".mp4")
    [(one_end, one_params), (two_continues, two_end, two_prompt, two_frames)] = [
        *rows(studio_env, "SELECT end_image_id, params FROM runs WHERE id = 1"),
        *rows(studio_env, "SELECT continues_id, end_image_id, prompt, frames FROM runs WHERE id = 2")]
    assert one_end is not None and '"end_image"' in one_params
    # The source's parameters and prompt, a flag's change on top, no end image of its own.
    assert (two_continues, two_end, two_prompt, two_frames) == (1, None, "dusk", 5)

    refused = launch("run", "--extend", "1", "--engine", "tiny-ltx", "--last-image", str(last), "--param", "frames=9",
                     "--param", "width=32", "--param", "height=32", env=studio_env)
    assert refused.returncode == 2
    assert "--last-image" in refused.stderr and "Tiny LTX-Video" in refused.stderr and "Traceback" not in refused.stderr
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(2,)]


def test_extend_checks_the_flags_given_as_run_does(studio_env, tmp_path):
    """--extend used to drop an unknown --param, a --speed or a --lora the engine cannot take, and
    make the run without them; a plain `run` refuses them, and now so does --extend."""
    first = tmp_path / "first.png"
    Image.new("RGB", (96, 64), (200, 120, 40)).save(first)
    assert launch("run", "--image", str(first), *SMALL, env=studio_env).returncode == 0
    for flags, named in ((["--param", "bogus=1"], "bogus"), (["--speed", "turbo"], "speed")):
        refused = launch("run", "--extend", "1", *flags, env=studio_env)
        assert refused.returncode == 2, (flags, refused.stdout + refused.stderr)
        assert named in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    assert rows(studio_env, "SELECT count(*) FROM runs") == [(1,)]
