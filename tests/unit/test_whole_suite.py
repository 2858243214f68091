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
