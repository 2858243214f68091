"""ORM models for the history database. The runs table is also the job queue.

Every schema change goes through an Alembic migration in migrations/versions; a test fails when
these models and the migrations drift apart.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from studio.jobs.status import RunStatus

# Named constraints make batch-mode migrations on SQLite (which recreate tables) reproducible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The status type and its groups are the queue's (studio.jobs.status); these plain tuples keep the
# names the gallery's filters and the run views import.
RUN_STATUSES = tuple(status.value for status in RunStatus)
ACTIVE_STATUSES = RunStatus.ACTIVE
FINISHED_STATUSES = RunStatus.FINISHED


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def video_seconds_default(context: Any) -> float | None:
    """Length of the video a run makes (frames / fps), filled in on insert by any code path."""
    values = context.get_current_parameters()
    frames, fps = values.get("frames"), values.get("fps")
    return frames / fps if frames and fps else None


LIVE_RUNS = "deleted_at IS NULL"
TRASHED_RUNS = "deleted_at IS NOT NULL"


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, for both dialects the studio runs on."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Image(Base):
    """An input image, stored once by content hash so re-runs share it."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Sweep(Base):
    """A group of runs that vary one or two parameters over a base request."""

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    base_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    axes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"param": "guidance", "values": [6, 9, 12]}]
    compare_video_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    runs: Mapped[list[Run]] = relationship(back_populates="sweep", order_by="Run.id")


class Run(Base):
    """One generation: its request, its progress while queued/running, and its results."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED)
    engine: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    prompt: Mapped[str] = mapped_column(Text, default="")
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    # Promoted from params because the gallery filters and sorts on them.
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    steps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guidance: Mapped[float | None] = mapped_column(Float, nullable=True)
    frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # frames / fps: the gallery's "longest" sort reads it from an index instead of computing it per row.
    video_seconds: Mapped[float | None] = mapped_column(Float, nullable=True, default=video_seconds_default)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the full validated request
    # Which GenerationRequest version validated params, and a digest of what was stored: the worker
    # skips checking a row again only when both still match (studio.requests.load_stored).
    request_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    memory_mode: Mapped[str | None] = mapped_column(String(32), nullable=True)

    input_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"), nullable=True)
    # The picture the video should end on (a keyframe), stored like the input; None for most runs.
    end_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"), nullable=True)
    video_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    poster_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    thumb_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)

    step: Mapped[int] = mapped_column(Integer, default=0)
    # What a running run is doing (a RunStage) and since when, in the worker host's clock like
    # started_at: each stage gets its own ETA. Cleared when the run finishes.
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stage_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    load_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    infer_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    encode_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_vram_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)  # input, oom, weights, crash
    retry_mode: Mapped[str | None] = mapped_column(String(32), nullable=True)  # lower memory mode offered after OOM

    parent_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), nullable=True)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id", ondelete="SET NULL"), nullable=True)
    # The run this one extends (it starts from that run's last frame): links of an extend chain.
    continues_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), nullable=True)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the finished video looks like in numbers (studio.media.measure), None until measured; the
    # means the gallery sorts and filters by are promoted to columns of their own.
    measurements: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    motion_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    flicker_mean: Mapped[float | None] = mapped_column(Float, nullable=True)

    # Queue bookkeeping: who holds the run and whether it is still alive.
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The worker's lease on a running run, in the database's clock (never a host's): it holds the
    # run until then, heartbeats extend it, and once it has passed the run may be reclaimed.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The boot and pid namespace the claiming worker ran in: its pid means something only there.
    worker_boot: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # in the trash when set

    input_image: Mapped[Image | None] = relationship(foreign_keys=[input_image_id])
    end_image: Mapped[Image | None] = relationship(foreign_keys=[end_image_id])
    sweep: Mapped[Sweep | None] = relationship(back_populates="runs")
    tags: Mapped[list[RunTag]] = relationship(cascade="all, delete-orphan", order_by="RunTag.tag")

    __table_args__ = (
        Index("ix_runs_status_id", "status", "id"),  # the worker's claim query
        Index("ix_runs_engine", "engine"),
        Index("ix_runs_sweep_id", "sweep_id"),
        Index("ix_runs_parent_id", "parent_id"),
        Index("ix_runs_favorite", "favorite"),
        Index("ix_runs_seed", "seed"),
        Index("ix_runs_queued_at", "queued_at"),
        # The gallery's sort orders over live runs, and the trash (see migration 0003 for why partial).
        Index("ix_runs_live_queued_at", "queued_at", "id", **_where(LIVE_RUNS)),
        Index("ix_runs_live_video_seconds", "video_seconds", "queued_at", "id", **_where(LIVE_RUNS)),
        Index("ix_runs_live_motion_mean", "motion_mean", "queued_at", "id", **_where(LIVE_RUNS)),
        Index("ix_runs_live_flicker_mean", "flicker_mean", "queued_at", "id", **_where(LIVE_RUNS)),
        Index("ix_runs_trashed", "deleted_at", "id", **_where(TRASHED_RUNS)),
        Index("ix_runs_width_height", "width", "height"),  # resolution facet and filter
        Index("ix_runs_frames", "frames"),
        Index("ix_runs_input_image_id", "input_image_id"),
        Index("ix_runs_continues_id", "continues_id"),
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class RunTag(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_run_tags_tag", "tag"),)


class IdWatermark(Base):
    """The highest id of a table's rows deleted for good (`runs`: studio.db.runs.next_run_id), so
    that SQLite, which gives a new row one more than the largest id left, never gives one twice."""

    __tablename__ = "id_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    high: Mapped[int] = mapped_column(Integer)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Worker(Base):
    """A worker process, as it last reported itself: which engines it can run (their weights are
    there, and a --engines flag did not leave them out), what it is doing, and when it was last
    heard from. Written by each worker's own heartbeat; the queue only gives a worker runs whose
    engine it listed, and the UI shows the list."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:token, as on runs.worker_id
    host: Mapped[str] = mapped_column(String(255))
    engines: Mapped[list[str]] = mapped_column(JSON)
    gpu: Mapped[str | None] = mapped_column(String(255), nullable=True)
    vram_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The engine whose model this worker holds in memory now: runs of it go to this worker first.
    model_loaded: Mapped[str | None] = mapped_column(String(255), nullable=True)
    current_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class WorkerBinding(Base):
    """The worker token a remote worker id works with: bound by the first worker-API request that
    names the id (its hello), so that no other live token can act for that worker."""

    __tablename__ = "worker_bindings"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    token_name: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkerToken(Base):
    """A token a worker on another host shows the server (`launch.py worker --server URL --token`)
    to fetch a run's input and send back its files. Only its sha256 is kept: the token itself is
    printed once, when made. A revoked token keeps its row (the list says when) and is refused."""

    __tablename__ = "worker_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
