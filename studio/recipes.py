"""A run's recipe: everything needed to make its video again, in one JSON document that travels
with every file the studio writes (the MP4's metadata and a .json sidecar beside it). Dropping
either onto Generate restores the parameters."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "video-studio-recipe"
VERSION = 1
# The MP4 tag holding the recipe. "comment" survives players and re-muxers that drop custom keys.
MP4_TAG = "comment"


class NotARecipe(ValueError):
    """The file is not something the studio wrote, or carries no recipe."""


@dataclass(frozen=True)
class Recipe:
    engine: str
    params: dict[str, Any]
    model_id: str | None = None
    run_id: int | None = None
    manifest: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "studio_run": self.run_id, "engine": self.engine,
                "model_id": self.model_id, "params": self.params, "manifest": self.manifest or {}}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, default=str)


def from_json_text(text: str, source: str = "the file") -> Recipe:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise NotARecipe(f"{source} is not valid JSON.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise NotARecipe(f"{source} is JSON but not a studio recipe (no \"format\": \"{FORMAT}\").")
    if data.get("version", 0) > VERSION:
        raise NotARecipe(f"{source} was written by a newer studio (recipe version {data['version']}); update to read it.")
    if not isinstance(data.get("engine"), str) or not isinstance(data.get("params"), dict):
        raise NotARecipe(f"{source} is a damaged studio recipe: engine or params missing.")
    return Recipe(engine=data["engine"], params=data["params"], model_id=data.get("model_id"),
                  run_id=data.get("studio_run"), manifest=data.get("manifest") or {})


def read_recipe(data: bytes, name: str) -> Recipe:
    """The recipe inside a studio-made MP4 or JSON sidecar (as uploaded bytes)."""
    if name.lower().endswith(".json"):
        return from_json_text(data.decode("utf-8", errors="replace"), name)
    from studio.media.encode import EncodeError, read_mp4_metadata

    # ffmpeg reads from a path; the upload only exists in memory.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.mp4"
        path.write_bytes(data)
        try:
            tags = read_mp4_metadata(path)
        except EncodeError:
            raise NotARecipe(f"{name} is not a video the studio can read.") from None
    if MP4_TAG not in tags:
        raise NotARecipe(f"{name} carries no studio recipe: it was not made by this studio, or its metadata was stripped.")
    return from_json_text(tags[MP4_TAG], name)
