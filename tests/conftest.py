"""Fixtures shared across the suite. Every test gets its own data folder: nothing writes into the
project's data/ or logs/, and no test touches the network.

Tests marked `both_dialects` run twice: on SQLite and on PostgreSQL (a throwaway cluster, see
tests/pg.py). They take the `backend` fixture ("sqlite" or "postgresql") and `database_url` builds
the matching URL. Where PostgreSQL cannot be started, the PostgreSQL half skips, and the end of the
run says so in capitals: a suite that silently tested one database would look green."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import settings

from tests import pg

# The property tests draw the same examples on every run ("stable"), so that a test run that passes
# passes again on the same code; HYPOTHESIS_PROFILE=explore draws new ones, to look for more.
settings.register_profile("stable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "stable"))

BACKENDS = ("sqlite", "postgresql")
_pg_skipped: list[str] = []


def pytest_configure(config):
    config.addinivalue_line("markers", "both_dialects: run the test on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_dialects"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture()
def backend(request):
    """The database this test runs on: "sqlite" unless the test is marked both_dialects."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    reason = pg.unavailable_reason()
    if reason is not None:
        _pg_skipped.append(reason)
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    binaries = pg.find_binaries()
    assert binaries is not None
    cluster = pg.Cluster(binaries)
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        _pg_skipped.append(f"the cluster did not start: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: the cluster did not start: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture()
def database_url(request, backend, tmp_path):
    """A URL for an empty database of this test's backend: a SQLite file in tmp_path, or a new
    database in the session's PostgreSQL cluster (dropped after the test)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'studio.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.database()
    yield url
    cluster.drop(url)


@pytest.fixture()
def second_database_url(request, backend, tmp_path):
    """Another empty database of the same backend, for a test with two studios (export, import)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'second' / 'studio.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.database()
    yield url
    cluster.drop(url)


def pytest_sessionfinish(session):
    # A pytest-xdist worker hands its reason to the controller, which prints the banner.
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["pg_skipped"] = list(_pg_skipped)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _pg_skipped.extend(getattr(node, "workeroutput", {}).get("pg_skipped", []))


def pytest_terminal_summary(terminalreporter):
    if _pg_skipped:
        terminalreporter.section("POSTGRESQL NOT TESTED", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"THE POSTGRESQL HALF OF THE both_dialects TESTS WAS SKIPPED: {_pg_skipped[0]}",
                                    red=True, bold=True)


@pytest.fixture()
def data_dir(request, tmp_path, monkeypatch, backend):
    """A fresh studio data folder, also set as STUDIO_DATA_DIR for code that reads the environment.
    The history is the SQLite file inside it, or, on the postgresql backend, the test's own
    PostgreSQL database (STUDIO_DATABASE_URL)."""
    folder = tmp_path / "studio-data"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(folder))
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    if backend == "postgresql":
        monkeypatch.setenv("STUDIO_DATABASE_URL", request.getfixturevalue("database_url"))
    monkeypatch.delenv("STUDIO_LOGS_DIR", raising=False)
    return folder


@pytest.fixture()
def studio_env(data_dir):
    """Environment for a launch.py / server subprocess: its own data folder, offline, no password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture()
def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
