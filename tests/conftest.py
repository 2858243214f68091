"""Fixtures shared across the suite. Every test gets its own data folder: nothing writes into the
project's data/ or logs/, and no test touches the network."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    """A fresh studio data folder, also set as STUDIO_DATA_DIR for code that reads the environment."""
    folder = tmp_path / "studio-data"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(folder))
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
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
