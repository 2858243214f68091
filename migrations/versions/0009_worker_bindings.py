"""worker_bindings: which worker token each remote worker id works with

A worker on another host names itself (its id) and the attempt on every request to the worker API.
The first request naming a worker id (the worker's hello, made before the id is shown anywhere)
binds that id to the token it came with; from then on only that token may act for it, so a live
token cannot fetch another worker's inputs or send files in its place by naming its id.

Revision ID: 0009_worker_bindings
Revises: 0008_creator
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_worker_bindings"
down_revision = "0008_creator"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_bindings",
        sa.Column("worker_id", sa.String(128), nullable=False),
        sa.Column("token_name", sa.String(64), nullable=False),
        sa.Column("bound_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_bindings")),
    )


def downgrade() -> None:
    op.drop_table("worker_bindings")
