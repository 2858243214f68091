"""What the pages and the HTTP routes see of the history: plain, frozen copies of the rows, built by
History when it returns them, so nothing above it holds an ORM object (no lazy loads after the
session closed, no accidental writes). Also the vocabulary the gallery asks in (the query, its sort
orders, the facets and the run statuses), so the UI names it without importing the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect

from studio.db.models import ACTIVE_STATUSES, RUN_STATUSES, Image, Run, Sweep
from studio.db.gallery import SORTS, GalleryFacets, RunPage, RunQuery
from studio.db.runs import MAX_NOTES_CHARS, MAX_TAG_CHARS, normalize_tag

__all__ = ["ACTIVE_STATUSES", "MAX_NOTES_CHARS", "MAX_TAG_CHARS", "RUN_STATUSES", "SORTS", "GalleryFacets", "ImageView",
           "RunCardView", "RunPageView", "RunQuery", "RunView", "StageTimes", "SweepView", "card_page_view", "image_view",
           "normalize_tag", "page_view", "run_view", "sweep_view"]


@dataclass(frozen=True)
class ImageView:
    id: int
    path: str
    width: int
    height: int
    original_name: str


@dataclass(frozen=True)
class RunView:
    """One run as recorded: its request, progress and results. The queue's bookkeeping (which
    worker holds it, its heartbeat) stays below, in the jobs layer."""

    id: int
    status: str
    engine: str
    model_id: str | None
    prompt: str
    negative_prompt: str
    seed: int | None
    steps: int | None
    guidance: float | None
    frames: int | None
    fps: int | None
    width: int | None
    height: int | None
    video_seconds: float | None
    params: dict[str, Any]
    memory_mode: str | None
    input_image_id: int | None
    # The input image and tags are filled where the history loads them with the row: one run, runs
    # by id and a sweep's runs have both, a gallery page has tags; the queue and a run's children
    # have neither (input_image_id is always there).
    input_image: ImageView | None
    video_path: str | None
    poster_path: str | None
    thumb_path: str | None
    log_path: str | None
    step: int
    total_steps: int
    stage: str | None
    stage_started_at: datetime | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    load_seconds: float | None
    infer_seconds: float | None
    encode_seconds: float | None
    peak_vram_bytes: int | None
    error: str | None
    error_kind: str | None
    retry_mode: str | None
    parent_id: int | None
    sweep_id: int | None
    favorite: bool
    notes: str
    manifest: dict[str, Any]
    measurements: dict[str, Any] | None  # studio.media.measure's Measurements.to_json(); None: not measured
    motion_mean: float | None
    flicker_mean: float | None
    attempts: int
    cancel_requested: bool
    deleted_at: datetime | None
    tag_names: list[str]
    # Keyframes and extend chains: the end image (loaded with the row where the input image is)
    # and the run this one continues.
    end_image_id: int | None = None
    continues_id: int | None = None
    end_image: ImageView | None = None


@dataclass(frozen=True)
class StageTimes:
    """How long a stage of an engine's runs usually takes, in seconds (None: no run to go by)."""

    load: float | None
    encode: float | None


@dataclass(frozen=True)
class SweepView:
    id: int
    name: str
    base_params: dict[str, Any]
    axes: list[Any]
    compare_video_path: str | None
    created_at: datetime


@dataclass(frozen=True)
class RunCardView:
    """What a gallery card shows of a run (studio.db.gallery.CARD_COLUMNS and its tags)."""

    id: int
    status: str
    engine: str
    prompt: str
    width: int | None
    height: int | None
    frames: int | None
    video_seconds: float | None
    queued_at: datetime
    sweep_id: int | None
    parent_id: int | None
    continues_id: int | None
    error: str | None
    thumb_path: str | None
    video_path: str | None
    favorite: bool
    tag_names: list[str]


R = TypeVar("R", RunView, RunCardView)


@dataclass(frozen=True)
class RunPageView(Generic[R]):
    runs: list[R]
    total: int
    page: int
    page_size: int
    more: bool = False  # more runs match than `total` (the gallery counts a few pages ahead)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


_RUN_COLUMNS = tuple(name for name in RunView.__dataclass_fields__ if name not in ("input_image", "tag_names", "end_image"))


def run_view(run: Run) -> RunView:
    """Copy a row. Its tags and input image are copied when the query loaded them with the row and
    left empty otherwise: copying never costs a query per row (the queue badge redraws often)."""
    unloaded = inspect(run).unloaded
    return RunView(**{name: getattr(run, name) for name in _RUN_COLUMNS},
                   input_image=None if "input_image" in unloaded else image_view(run.input_image),
                   end_image=None if "end_image" in unloaded else image_view(run.end_image),
                   tag_names=[] if "tags" in unloaded else list(run.tag_names))


def image_view(image: Image | None) -> ImageView | None:
    if image is None:
        return None
    return ImageView(id=image.id, path=image.path, width=image.width, height=image.height,
                     original_name=image.original_name)


def sweep_view(sweep: Sweep) -> SweepView:
    return SweepView(id=sweep.id, name=sweep.name, base_params=sweep.base_params, axes=sweep.axes,
                     compare_video_path=sweep.compare_video_path, created_at=sweep.created_at)


def page_view(page: RunPage) -> RunPageView[RunView]:
    return RunPageView(runs=[run_view(r) for r in page.runs], total=page.total, page=page.page,
                       page_size=page.page_size, more=page.more)


def card_page_view(page: RunPage) -> RunPageView[RunCardView]:
    return RunPageView(runs=[RunCardView(**r) for r in page.runs], total=page.total, page=page.page,
                       page_size=page.page_size, more=page.more)
