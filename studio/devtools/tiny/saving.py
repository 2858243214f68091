"""Save a tiny pipeline so a reader never sees a half-written folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def save_pipeline(pipeline: Any, folder: Path, *, model_index: Mapping[str, Any] | None = None) -> Path:
    """Write `pipeline` (safetensors only) to a temp folder beside `folder`, then rename it into place.

    `model_index` entries replace those save_pretrained wrote, so the folder can name the classes a
    released checkpoint names (transformers 5 without torchvision saves CLIPImageProcessor under the
    name of its Pillow fallback class; the released folders say CLIPImageProcessor).
    An existing `folder` is replaced whole, so a loader sees either the old pipeline or the new one.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        pipeline.save_pretrained(staging, safe_serialization=True)
        if model_index:
            index_path = staging / "model_index.json"
            index = {**json.loads(index_path.read_text(encoding="utf-8")), **model_index}
            index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
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
