"""gallery at scale: video length column and listing indexes

- runs.video_seconds (frames / fps), backfilled, for the "longest" sort.
- Partial indexes over the live (not trashed) runs in the gallery's sort orders, and one over the
  trashed runs. A plain (deleted_at, ...) index looked selective to SQLite's planner although
  almost every run has deleted_at NULL, so it picked it over the seed or engine index and sorted
  the whole history; partial indexes carry the condition instead of a leading column.
- Indexes for the resolution and frame-count facets, and for input_image_id (emptying the trash
  finds the input images no run uses any more).

Plain ALTER TABLE / CREATE INDEX, never batch mode here: a batch rebuild of runs on SQLite drops
the full-text triggers of migration 0002.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
TRASHED = "deleted_at IS NOT NULL"


def _where(condition: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.add_column("runs", sa.Column("video_seconds", sa.Float(), nullable=True))
    op.execute("UPDATE runs SET video_seconds = CAST(frames AS FLOAT) / fps WHERE frames IS NOT NULL AND fps > 0")
    op.drop_index("ix_runs_deleted_at_id", table_name="runs")
    op.create_index("ix_runs_trashed", "runs", ["deleted_at", "id"], **_where(TRASHED))
    op.create_index("ix_runs_live_queued_at", "runs", ["queued_at", "id"], **_where(LIVE))
    op.create_index("ix_runs_live_video_seconds", "runs", ["video_seconds", "queued_at", "id"], **_where(LIVE))
    op.create_index("ix_runs_width_height", "runs", ["width", "height"])
    op.create_index("ix_runs_frames", "runs", ["frames"])
    op.create_index("ix_runs_input_image_id", "runs", ["input_image_id"])


def downgrade() -> None:
    for name in ("ix_runs_input_image_id", "ix_runs_frames", "ix_runs_width_height", "ix_runs_live_video_seconds",
                 "ix_runs_live_queued_at", "ix_runs_trashed"):
        op.drop_index(name, table_name="runs")
    op.create_index("ix_runs_deleted_at_id", "runs", ["deleted_at", "id"])
    op.drop_column("runs", "video_seconds")
