"""Still images of a run: a full-size poster (shown before the video loads) and a small thumbnail
for the gallery grid. The format follows the file name's suffix: .jpg/.jpeg, .png or .webp."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
from PIL import Image

from studio.media.atomic import atomic_path
from studio.storage import DiskFull

_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def write_poster(frame: np.ndarray, path: Path | str, *, quality: int = 92) -> Path:
    """The frame at full size, written atomically."""
    return _save(_to_image(frame), Path(path), quality)


def write_thumbnail(frame: np.ndarray, path: Path | str, max_side: int = 320, *, quality: int = 82) -> Path:
    """The frame shrunk (Lanczos, aspect kept) so its longer side is at most `max_side`."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1; got {max_side}.")
    image = _to_image(frame)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _save(image, Path(path), quality)


def _to_image(frame: np.ndarray) -> Image.Image:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"A frame must be an (H, W, 3) uint8 RGB array; got {frame.shape} {frame.dtype}.")
    return Image.fromarray(np.ascontiguousarray(frame))


def _save(image: Image.Image, path: Path, quality: int) -> Path:
    image_format = _FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise ValueError(f"{path.name}: use a .jpg, .png or .webp name for stills.")
    options: dict[str, object] = {"optimize": True} if image_format in ("PNG", "JPEG") else {"method": 4}
    if image_format in ("JPEG", "WEBP"):
        options["quality"] = quality
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format=image_format, **options)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DiskFull(f"The disk is full: could not write {path.name} in {path.parent}. "
                           "Free some space or choose another output folder in Settings.") from None
        raise
    return path
