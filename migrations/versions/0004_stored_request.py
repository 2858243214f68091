"""stored request: the version and digest of the GenerationRequest a run was queued with

- runs.request_version: the studio.requests.REQUEST_VERSION the row's params were validated under.
- runs.request_digest: a sha256 over the engine, model and params as stored. The worker runs a row
  without checking it again only when both match; rows from before this migration (NULL), from an
  older version, or edited since they were queued are validated again before they run.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch rebuild), which would drop migration 0002's full-text triggers.
    op.add_column("runs", sa.Column("request_version", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("request_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "request_digest")
    op.drop_column("runs", "request_version")
