"""measurements: what each finished video looks like in numbers

- runs.measurements (JSON): per-frame motion, flicker and sharpness, and the fidelity of the first
  and last frames to the input image (studio.media.measure); NULL until the run is measured.
- runs.motion_mean and runs.flicker_mean, promoted from it for the gallery's "most motion" and
  "least flicker" orders and filters, each with a partial index over the live runs like the other
  sort orders (migration 0003).

Plain ALTER TABLE / CREATE INDEX: a batch rebuild of runs on SQLite drops the full-text triggers.

Revision ID: 0008_creator
Revises: 0008_scale
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_creator"
down_revision = "0008_scale"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"


def _where(condition: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.add_column("runs", sa.Column("measurements", sa.JSON(), nullable=True))
    op.add_column("runs", sa.Column("motion_mean", sa.Float(), nullable=True))
    op.add_column("runs", sa.Column("flicker_mean", sa.Float(), nullable=True))
    op.create_index("ix_runs_live_motion_mean", "runs", ["motion_mean", "queued_at", "id"], **_where(LIVE))
    op.create_index("ix_runs_live_flicker_mean", "runs", ["flicker_mean", "queued_at", "id"], **_where(LIVE))


def downgrade() -> None:
    op.drop_index("ix_runs_live_flicker_mean", table_name="runs")
    op.drop_index("ix_runs_live_motion_mean", table_name="runs")
    for name in ("flicker_mean", "motion_mean", "measurements"):
        op.drop_column("runs", name)
