"""stages: what a running run is doing now (loading, rendering, encoding, saving) and since when

Each stage gets its own ETA on the pages. Plain ALTER TABLE, never batch mode: a batch rebuild of
runs on SQLite drops the full-text triggers of migration 0002.

Revision ID: 0008_ux
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_ux"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("stage", sa.String(16), nullable=True))
    op.add_column("runs", sa.Column("stage_started_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "stage_started_at")
    op.drop_column("runs", "stage")
