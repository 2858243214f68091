"""The studio server (app.py under Streamlit) on a free loopback port, for tests that talk to it
over real sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from studio.cli.supervise import server_command
from studio.config import PROJECT_ROOT


@contextlib.contextmanager
def serving(data_dir: Path, *, extra_env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[int]:
    """Serve a studio on `data_dir` until the block ends; yields the port. Its output goes to `log`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(STUDIO_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", **(extra_env or {}))
    output = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(server_command(sys.executable, "127.0.0.1", port), env=env, cwd=PROJECT_ROOT,
                               stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(30)
        if log:
            output.close()
