"""A run's recipe: everything needed to make its video again, in one JSON document that travels
with every file the studio writes (the MP4's metadata and a .json sidecar beside it). Dropping
either onto Generate restores the parameters."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engines.base import EngineInfo, InputError, ParamSpec

FORMAT = "video-studio-recipe"
VERSION = 1
# The MP4 tag holding the recipe. "comment" survives players and re-muxers that drop custom keys.
MP4_TAG = "comment"
# A recipe is a few kB. Bounds on what an upload may hold before it is refused as not one: its size
# in characters, and how deeply its objects and lists nest (a recipe nests three levels).
MAX_TEXT = 1_000_000
MAX_DEPTH = 16


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
    """The recipe in a JSON document from outside (an upload, an MP4 tag). Anything that is not a
    well-formed studio recipe raises NotARecipe with the reason; nothing else escapes."""
    if len(text) > MAX_TEXT:
        raise NotARecipe(f"{source} is too large for a studio recipe ({len(text):,} characters; a recipe is a few kB).")
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotARecipe(f"{source} is nested too deeply for a studio recipe.") from None
    except ValueError:  # JSONDecodeError, and numbers too long for Python to read
        raise NotARecipe(f"{source} is not valid JSON.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise NotARecipe(f"{source} is JSON but not a studio recipe (no \"format\": \"{FORMAT}\").")
    if _depth(data) > MAX_DEPTH:
        raise NotARecipe(f"{source} is nested too deeply for a studio recipe (more than {MAX_DEPTH} levels).")
    version = data.get("version", 1)
    if not _is_int(version) or version < 1:
        raise NotARecipe(f"{source} is a damaged studio recipe: its version is {version!r}, not a whole number.")
    if version > VERSION:
        raise NotARecipe(f"{source} was written by a newer studio (recipe version {version}); update to read it.")
    if not isinstance(data.get("engine"), str) or not isinstance(data.get("params"), dict):
        raise NotARecipe(f"{source} is a damaged studio recipe: engine or params missing.")
    model_id, run_id, manifest = data.get("model_id"), data.get("studio_run"), data.get("manifest") or {}
    if (model_id is not None and not isinstance(model_id, str)) or (run_id is not None and not _is_int(run_id)) \
            or not isinstance(manifest, dict):
        raise NotARecipe(f"{source} is a damaged studio recipe: model_id, studio_run or manifest has the wrong type.")
    return Recipe(engine=data["engine"], params=data["params"], model_id=model_id, run_id=run_id, manifest=manifest)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in parsed JSON, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:  # deeper is refused anyway; no need to walk on
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def form_values(info: EngineInfo, params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The parameters of a recipe that fit this engine's form, by name, and the names of those that
    do not (a value of the wrong type, a choice the engine lacks). The form's widgets take values as
    they are, so a wrong type here would break the Generate page, not just this restore."""
    kept: dict[str, Any] = {}
    for name in ("prompt", "negative_prompt"):
        if isinstance(params.get(name), str):
            kept[name] = params[name]
    if params.get("seed") is not None and _is_int(params["seed"]) and 0 <= params["seed"] < 2**63:
        kept["seed"] = params["seed"]
    if isinstance(params.get("memory_mode"), str) and params["memory_mode"]:
        kept["memory_mode"] = params["memory_mode"]
    dropped = [n for n in ("prompt", "negative_prompt", "seed") if params.get(n) is not None and n not in kept]
    _run_options(params, kept, dropped)
    for spec in info.params:
        value = params.get(spec.name)
        if value is None:
            continue
        if _fits(spec, value):
            kept[spec.name] = value
        else:
            dropped.append(spec.name)
    return kept, dropped


def _run_options(params: Mapping[str, Any], kept: dict[str, Any], dropped: list[str]) -> None:
    """The speed and LoRA stack of a recipe, where well formed (names and numbers of the right type);
    whether the LoRAs are installed and fit the engine is for validate() to say."""
    if isinstance(params.get("speed"), str):
        kept["speed"] = params["speed"]
    loras = params.get("loras")
    if loras is None:
        return
    entries = [e for e in loras if _lora_entry(e)] if isinstance(loras, list) else []
    if not isinstance(loras, list) or len(entries) != len(loras):
        dropped.append("loras")
    if entries:
        kept["loras"] = [{k: e[k] for k in ("name", "path", "sha256", "strength", "second_expert") if k in e}
                         for e in entries]


def _lora_entry(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("name"), str)
            and (_is_int(entry.get("strength")) or isinstance(entry.get("strength"), float))
            and isinstance(entry.get("second_expert", False), bool))


def _fits(spec: ParamSpec, value: Any) -> bool:
    """Of the parameter's type and within its rules (a hand-edited fps of -5 is left out and named,
    as the restore message says, rather than put in the form to be refused there)."""
    if spec.kind == "int":
        typed = _is_int(value) and abs(value) < 2**63
    elif spec.kind == "float":
        typed = (_is_int(value) and abs(value) < 2**63) or (isinstance(value, float) and math.isfinite(value))
    elif spec.kind == "bool":
        typed = isinstance(value, bool)
    else:
        typed = isinstance(value, str | int | float) and value in spec.choices
    if not typed:
        return False
    try:
        return spec.check(value) == value
    except InputError:
        return False


def read_recipe(data: bytes, name: str) -> Recipe:
    """The recipe inside a studio-made MP4 or JSON sidecar (as uploaded bytes)."""
    if name.lower().endswith(".json"):
        # utf-8-sig: a recipe saved by an editor that starts files with a byte-order mark (Notepad).
        return from_json_text(data.decode("utf-8-sig", errors="replace"), name)
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
