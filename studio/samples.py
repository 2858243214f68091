"""The sample images shipped in assets/ (drawn by assets/make_samples.py), offered on the Generate
page so the studio can be tried before uploading anything."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def sample_images() -> list[Path]:
    """The sample PNGs, sorted by name. Empty when the assets folder is missing."""
    if not ASSETS_DIR.is_dir():
        return []
    return sorted(p for p in ASSETS_DIR.glob("*.png") if not p.name.startswith("."))


def sample_title(path: Path) -> str:
    """A human title from the file name: 'city_at_dusk.png' -> 'City at dusk'."""
    words = path.stem.replace("-", " ").replace("_", " ").split()
    return " ".join(words).capitalize() if words else path.name
