"""What an export zip's runs.json may contain, checked before anything is written.

A zip comes from outside: another studio, a download, a hand edit. Every value that reaches this
studio's database or file system passes through these models first. Types are strict (a number is
a JSON number, never a string that looks like one) and every string, number, list and mapping is
bounded, so a row that validates can be shown by the gallery and can never be run: only finished
states are importable.

Unknown keys are ignored, not refused: "columns are copied by name" is the export format's promise,
so a zip from a newer studio with a column this one lacks still imports what both know. Ignoring is
safe because nothing outside these models is ever read from a row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from studio.db.runs import MAX_NOTES_CHARS
from studio.engines.diffusion.run_options import MAX_LORAS
from studio.jobs.status import RunStatus

FORMAT = "video-studio-export"
VERSION = 1

# A whole history of a busy studio fits; a larger one is exported in parts.
MAX_RUNS = 10_000
# Prompts are limited to 2,000 characters at submit; notes and errors are free text but a page shows them.
MAX_PROMPT_CHARS = 2_000
MAX_TEXT_CHARS = MAX_NOTES_CHARS  # notes as long as the run page takes them still import
# Tags are stored in a 64-character column; a run with hundreds of tags is not a real run.
MAX_TAGS = 200
# params is the flat request (a dozen keys today) and manifest what the engine reports (a few
# dozen, one level of nesting); both are shown on the run page, so they stay small.
MAX_PARAMS = 100
MAX_PARAM_TEXT_CHARS = 4_000
MAX_MANIFEST_JSON_BYTES = 64 * 1024
MAX_MANIFEST_DEPTH = 6
# Above every engine's limits (the largest: 257 frames, 1280 px, 50 steps) with room for new ones.
MAX_FRAMES = 100_000
MAX_FPS = 1_000
MAX_PIXELS_SIDE = 65_535
MAX_STEPS = 100_000
MAX_SECONDS = 10**7  # timings and video length: about 115 days
MAX_BYTES_NUMBER = 2**62  # peak VRAM
MAX_ID = 2**63 - 1  # SQLite's integer range

Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
Prompt = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]
Name = Annotated[str, Field(max_length=255)]
ShortName = Annotated[str, Field(max_length=64)]
Label = Annotated[str, Field(max_length=32)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]
Count = Annotated[int, Field(ge=0, le=MAX_STEPS)]
Side = Annotated[int, Field(ge=1, le=MAX_PIXELS_SIDE)]
ExportId = Annotated[int, Field(ge=1, le=MAX_ID)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
# Member names the export writes: media/run-000042.mp4 and inputs/<sha256>.png. Only these shapes
# are read, so a row cannot point the importer at any other member.
MediaMember = Annotated[str, Field(pattern=r"^media/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){1,3}$", max_length=255)]
InputMember = Annotated[str, Field(pattern=r"^inputs/[0-9a-f]{64}\.png$")]
ScalarParam = Annotated[str, Field(max_length=MAX_PARAM_TEXT_CHARS)] | bool | int | float | None
# A run's LoRA stack (studio.engines.diffusion.run_options): a short list of small flat entries.
LoraEntry = Annotated[dict[Annotated[str, Field(max_length=64)], ScalarParam], Field(max_length=8)]
ParamValue = ScalarParam | Annotated[list[LoraEntry], Field(max_length=MAX_LORAS)]


def _iso_datetime(value: Any) -> datetime:
    """Exports write naive UTC ISO strings; an aware time is converted to that form."""
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("must be an ISO date-time string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _finished(status: str) -> str:
    if status not in RunStatus.FINISHED:
        raise ValueError(f"{status[:32]!r} cannot be imported; only finished runs ({', '.join(RunStatus.FINISHED)}) can")
    return status


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    depth, stack = 0, [(value, 1)]
    while stack:  # iterative: a deeply nested value must not exhaust the stack here either
        item, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_MANIFEST_DEPTH:
            raise ValueError(f"is nested more than {MAX_MANIFEST_DEPTH} levels deep")
        children = item.values() if isinstance(item, Mapping) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    if len(json.dumps(value)) > MAX_MANIFEST_JSON_BYTES:
        raise ValueError(f"is larger than {MAX_MANIFEST_JSON_BYTES // 1024} KB")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_datetime)]
Status = Annotated[str, AfterValidator(_finished)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


class InputRef(_Strict):
    member: InputMember
    sha256: Sha256
    width: Side
    height: Side
    original_name: Name = ""


class MediaMembers(_Strict):
    video_path: MediaMember | None = None
    poster_path: MediaMember | None = None
    thumb_path: MediaMember | None = None
    gif: MediaMember | None = None


class MediaDigests(_Strict):
    """The sha256 of each media member as the exporting studio wrote it. Exports made before these
    were recorded have none; their videos are still checked to be MP4s this studio reads."""

    video_path: Sha256 | None = None
    poster_path: Sha256 | None = None
    thumb_path: Sha256 | None = None
    gif: Sha256 | None = None


class RowFiles(_Strict):
    """The members a row refers to: checked first, so that a zip missing files says so."""

    media: MediaMembers = MediaMembers()
    media_sha256: MediaDigests = MediaDigests()
    input: InputRef | None = None
    end_input: InputRef | None = None  # the end image (a keyframe), stored like the input

    def members(self) -> list[str]:
        named = [*self.media.model_dump(exclude_none=True).values()]
        return named + [ref.member for ref in (self.input, self.end_input) if ref is not None]


class RunColumns(_Strict):
    """The Run columns an export carries (every column but ids, paths and queue bookkeeping)."""

    status: Status
    engine: ShortName
    model_id: Name | None = None
    prompt: Prompt = ""
    negative_prompt: Prompt = ""
    seed: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    steps: Count | None = None
    guidance: Annotated[float, Field(ge=-1_000, le=1_000)] | None = None
    frames: Annotated[int, Field(ge=1, le=MAX_FRAMES)] | None = None
    fps: Annotated[int, Field(ge=1, le=MAX_FPS)] | None = None
    width: Side | None = None
    height: Side | None = None
    video_seconds: Seconds | None = None
    params: Annotated[dict[Annotated[str, Field(max_length=64)], ParamValue], Field(max_length=MAX_PARAMS)] = {}
    memory_mode: Label | None = None
    step: Count = 0
    total_steps: Count = 0
    queued_at: IsoDatetime | None = None
    started_at: IsoDatetime | None = None
    finished_at: IsoDatetime | None = None
    load_seconds: Seconds | None = None
    infer_seconds: Seconds | None = None
    encode_seconds: Seconds | None = None
    peak_vram_bytes: Annotated[int, Field(ge=0, le=MAX_BYTES_NUMBER)] | None = None
    error: Text | None = None
    error_kind: Label | None = None
    retry_mode: Label | None = None
    favorite: bool = False
    notes: Text = ""
    manifest: Annotated[dict[str, Any], AfterValidator(_small_json)] = {}
    attempts: Annotated[int, Field(ge=0, le=1_000)] = 0
    measurements: Annotated[dict[str, Any], AfterValidator(_small_json)] | None = None
    motion_mean: Annotated[float, Field(ge=0, le=1e6)] | None = None
    flicker_mean: Annotated[float, Field(ge=0, le=255)] | None = None


class ExportedRow(RowFiles, RunColumns):
    export_id: ExportId
    parent_export_id: ExportId | None = None
    continues_export_id: ExportId | None = None  # the run an extend chain's link continues
    tags: Annotated[list[ShortName], Field(max_length=MAX_TAGS)] = []

    def column_values(self) -> dict[str, Any]:
        """The Run columns the row sets; absent ones take the database's defaults."""
        values = self.model_dump(include=set(RunColumns.model_fields), exclude_unset=True)
        if values.get("queued_at", 0) is None:
            del values["queued_at"]  # the column is not nullable: an explicit null means "now"
        return values


class Envelope(_Strict):
    format: Literal[FORMAT]
    version: Annotated[int, Field(ge=1)]
    exported_at: Annotated[str, Field(max_length=64)] | None = None
    runs: Annotated[list[Any], Field(max_length=MAX_RUNS)]


def describe(error: ValidationError, where: str) -> str:
    """The first problem, in one line: where it is, which field, what is wrong (never the value)."""
    first = error.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "the value"
    if first["type"] == "missing":
        return f"{where}: {field} is missing"
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {field}: {message}" if first["loc"] else f"{where}: {message}"  # a whole-row check


def field_names() -> set[str]:
    return set(RunColumns.model_fields)

