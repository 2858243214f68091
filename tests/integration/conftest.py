"""Shared pieces of the integration tests: a real studio (Services on a temporary history, its
worker polling fast) and a small input picture. The history is SQLite, or, for tests marked
both_dialects, SQLite and then PostgreSQL (see tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from studio.config import Paths
from studio.services import Services, build_services

# Small enough that a camera-motion run takes a fraction of a second.
SMALL = {"width": 64, "height": 64, "frames": 6, "fps": 12}


def make_services(root: Path, database_url: str | None = None) -> Services:
    url = database_url or f"sqlite:///{root / 'data' / 'studio.db'}"
    paths = Paths(data_dir=root / "data", logs_dir=root / "logs", database_url=url)
    return build_services(paths, poll_interval=0.05)


@pytest.fixture()
def services(tmp_path, database_url):
    built = make_services(tmp_path, database_url)
    yield built
    built.close()


def picture(color=(200, 120, 40)) -> Image.Image:
    """An 80x60 picture with a blue square, so that motion is visible in the frames."""
    image = Image.new("RGB", (80, 60), color)
    image.paste((20, 40, 220), (10, 10, 40, 40))
    return image
