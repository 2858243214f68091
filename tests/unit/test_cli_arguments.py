"""Command-line values refused before anything is opened or queued: by the parser (exit status 2,
one line naming the flag), and image paths that are not a bounded file."""

from __future__ import annotations

import pytest

from studio.cli.parser import parse_args


@pytest.mark.parametrize("argv, flag", [
    (["export", "9223372036854775808"], "RUN_ID"),  # past SQLite's integers: was an OverflowError, exit 1
    (["export", "0"], "RUN_ID"),
    (["export", "-3"], "RUN_ID"),
    (["run", "--extend", "1180591620717411303424"], "--extend"),
    (["run", "--image", "p.png", "--timeout", "-1"], "--timeout"),  # was queued, then "gave up after -1 s"
    (["run", "--image", "p.png", "--timeout", "nan"], "--timeout"),
    (["run", "--image", "p.png", "--timeout", "0"], "--timeout"),
    (["submit", "--image", "p.png", "--wait", "--timeout", "inf"], "--timeout"),
])
def test_impossible_ids_and_waits_are_usage_errors(argv, flag, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert flag in error and "Traceback" not in error, error


def test_ordinary_ids_and_waits_are_taken():
    assert parse_args(["export", "1", "42"]).run_ids == [1, 42]
    assert parse_args(["run", "--image", "p.png", "--timeout", "2.5"]).timeout == 2.5


@pytest.mark.parametrize("kind", ["device", "pipe", "folder", "huge"])
def test_an_image_path_that_is_not_a_bounded_file_is_refused_without_reading_it(kind, tmp_path):
    """/dev/zero filled memory until killed, a pipe blocked for ever, a 100 GB file ended in a
    MemoryError: each is one line now."""
    import os
    import time
    from pathlib import Path

    from studio.cli.submission import Refused, read_image
    from studio.media.images import MAX_FILE_BYTES

    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "pipe":
        path = tmp_path / "pipe.png"
        os.mkfifo(path)
    elif kind == "folder":
        path = tmp_path / "photos.png"
        path.mkdir()
    else:
        path = tmp_path / "huge.png"
        with open(path, "wb") as sparse:
            sparse.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    started = time.monotonic()
    with pytest.raises(Refused) as refused:
        read_image(path)
    assert time.monotonic() - started < 10 and str(path) in str(refused.value), str(refused.value)
    assert ("larger than 200 MB" if kind == "huge" else "not an image file") in str(refused.value)


@pytest.mark.parametrize("pair, flag", [("prompt=a boat", "--prompt"), ("seed=7", "--seed"),
                                        ("negative-prompt=blur", "--negative-prompt"), ("speed=fast", "--speed")])
def test_a_param_that_has_its_own_flag_is_refused_naming_the_flag(pair, flag):
    """`--param prompt=…` was replaced without a word by --prompt's value (empty when not given)."""
    from studio.cli.submission import Refused, request_params

    with pytest.raises(Refused, match=f"use {flag} instead"):
        request_params(parse_args(["run", "--image", "p.png", "--param", pair]))
    assert request_params(parse_args(["run", "--image", "p.png", "--param", "frames=9"]))["frames"] == "9"
