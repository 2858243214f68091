"""Where this launch's log goes: the studio's logs folder, known once the environment (and
--data-dir) is."""

from __future__ import annotations

from studio.cli.console import Console
from studio.config import Paths


def start_log(console: Console, name: str) -> Paths:
    """Open this launch's log under the studio's logs folder; returns the studio's Paths."""
    paths = Paths.from_env()
    console.open_log(paths.logs_dir, name)
    return paths
