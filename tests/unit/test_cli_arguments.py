"""Command-line values refused by the parser itself (exit status 2, one line naming the flag),
before anything is opened or queued."""

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
