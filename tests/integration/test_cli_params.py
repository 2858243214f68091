"""Property-based tests of the command line's parsers of outside input: whatever a person types,
the parser answers with its usage error (SystemExit 2) and --param with a ValueError or the
request check's InputError, never another exception."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.cli.submission import parse_params
from studio.cli.parser import parse_args
from studio.engines.base import InputError
from studio.requests import validate

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text as a terminal can hand it over: any character, and bytes that are not UTF-8 as lone surrogates.
ARG = st.one_of(st.text(max_size=20), st.binary(max_size=8).map(lambda b: b.decode("utf-8", "surrogateescape")),
                st.sampled_from(["run", "submit", "export", "import", "--image", "--prompt", "--param", "--port",
                                 "--seed", "--wait", "--folder", "--out", "-", "--", "=", "frames=4"]))


def parse_quietly(argv: list[str]):
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        try:
            return parse_args(argv), ""
        except SystemExit as exc:
            return exc.code, err.getvalue()


@PROPERTY
@given(argv=st.lists(ARG, max_size=8))
def test_any_command_line_parses_or_is_a_usage_error(argv):
    parsed, message = parse_quietly(argv)
    if isinstance(parsed, int):
        assert parsed in (0, 2)  # --help, or one usage error line
    undecodable = any(_undecodable(arg) for arg in argv)
    if undecodable:
        assert parsed == 2 or "-h" in argv or "--help" in argv, "a non-UTF-8 argument was accepted"


def _undecodable(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@PROPERTY
@given(port=st.one_of(st.integers(-10**6, 10**6).map(str), st.text(max_size=8)))
def test_any_port_is_a_port_or_a_usage_error(port):
    parsed, message = parse_quietly(["--port", port])
    if isinstance(parsed, int):
        assert parsed == 2 and ("--port" in message or "UTF-8" in message or "expected one argument" in message)
    else:
        assert 1 <= parsed.port <= 65535


@PROPERTY
@given(pairs=st.lists(st.text(max_size=16), max_size=6))
def test_any_param_list_parses_or_raises_value_error(pairs):
    try:
        params = parse_params(pairs)
    except ValueError as exc:
        assert "--param" in str(exc)
        return
    assert all(name and "-" not in name for name in params)


@pytest.fixture()
def registry(services):
    return services.registry


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["frames", "fps", "width", "height", "seed", "motion", "strength",
                                               "memory_mode", "zoom", "bogus"]),
                              st.one_of(st.text(max_size=10), st.sampled_from(["4", "-1", "1e999", "nan", "64"])),
                              max_size=5))
def test_param_values_from_the_command_line_are_accepted_or_refused_with_input_error(registry, params):
    try:
        request = validate(registry, "motion", params)
    except InputError as exc:
        assert exc.message
        return
    assert isinstance(request.seed, int)
