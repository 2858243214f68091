"""`launch.py test` with no arguments: the non-browser tests on two processes, then the browser tests
alone (studio.cli.testing.whole_suite); on one core, one plain run."""

from pathlib import Path

from studio.cli.testing import BROWSER_TESTS, whole_suite
from studio.config import PROJECT_ROOT


def test_on_two_cores_the_browser_tests_run_alone_after_the_rest():
    rest, browser = whole_suite(2)
    assert rest[0] == "tests" and rest[rest.index("--ignore") + 1] == BROWSER_TESTS and "-n" in rest
    assert browser == [BROWSER_TESTS] and (PROJECT_ROOT / BROWSER_TESTS).is_dir()
    assert any(Path(PROJECT_ROOT / BROWSER_TESTS).glob("test_*.py"))


def test_on_one_core_the_suite_is_one_plain_run():
    assert whole_suite(1) == [["tests"]]


def test_the_exit_status_is_the_first_failing_part_s_own(monkeypatch):
    """pytest's codes keep their meaning (1: tests failed, 5: none collected), and every part runs."""
    import argparse

    from studio.cli import testing

    ran: list[list[str]] = []
    statuses = iter([0, 5])
    monkeypatch.setattr(testing, "start_log", lambda *a: None)
    monkeypatch.setattr(testing, "_ensure_chromium", lambda console: None)
    monkeypatch.setattr(testing, "_ensure_postgresql", lambda console: None)
    monkeypatch.setattr(testing, "_pytest", lambda console, args: ran.append(args) or next(statuses))
    monkeypatch.setattr(testing.os, "cpu_count", lambda: 2)
    assert testing.run_tests(argparse.Namespace(command="test", pytest_args=[]), console=None) == 5
    assert ran == whole_suite(2)
