"""The sample images shipped in assets/ (drawn by assets/make_samples.py), offered on the Generate
page so the studio can be tried before uploading anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class SampleImage:
    """A sample's file and its display title. Path-like, so open(sample) and Path(sample) work."""

    path: Path
    title: str

    def __fspath__(self) -> str:
        return str(self.path)


def sample_images() -> list[SampleImage]:
    """The sample PNGs, sorted by file name. Empty when the assets folder is missing."""
    if not ASSETS_DIR.is_dir():
        return []
    paths = sorted(p for p in ASSETS_DIR.glob("*.png") if not p.name.startswith("."))
    return [SampleImage(path=p, title=sample_title(p)) for p in paths]


def sample_title(path: Path) -> str:
    """A human title from the file name: 'city_at_dusk.png' -> 'City at dusk'."""
    words = Path(path).stem.replace("-", " ").replace("_", " ").split()
    return " ".join(words).capitalize() if words else Path(path).name
