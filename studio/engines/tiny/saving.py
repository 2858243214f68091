"""Save a tiny pipeline so a reader never sees a half-written folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any


def save_pipeline(pipeline: Any, folder: Path) -> Path:
    """Write `pipeline` (safetensors only) to a temp folder beside `folder`, then rename it into place.

    An existing `folder` is replaced whole, so a loader sees either the old pipeline or the new one.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        pipeline.save_pretrained(staging, safe_serialization=True)
        if folder.exists():
            # Directories cannot be replaced in one rename: move the old one aside first.
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            folder.rename(retired / folder.name)
            staging.rename(folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder
