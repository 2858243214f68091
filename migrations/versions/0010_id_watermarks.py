"""id_watermarks: the highest run id ever deleted, so that a run number is never given twice

On SQLite a new row takes one more than the largest id in the table: deleting the newest runs for
good (emptying the trash) made their numbers free again, and the next run, or an import, became
"#16" a second time; bookmarks, compare selections and `export 16` then named another run.
PostgreSQL's sequence never gives a number twice and needs no watermark.

Revision ID: 0010_id_watermarks
Revises: 0009_worker_bindings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_id_watermarks"
down_revision = "0009_worker_bindings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "id_watermarks",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("id_watermarks")
