"""leases: a running run is held by a lease in the database's clock

- runs.lease_until: until when the claiming worker holds the run; heartbeats extend it. Expiry is
  compared with the database's now, so a host whose clock is wrong can neither steal a live run nor
  keep a dead one.
- runs.worker_boot: the boot id and pid namespace of the claiming worker, so that its pid is trusted
  only by a process on the same boot and in the same pid namespace.

Plain ALTER TABLE, never batch mode here: a batch rebuild of runs on SQLite drops the full-text
triggers of migration 0002.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("lease_until", sa.DateTime(), nullable=True))
    op.add_column("runs", sa.Column("worker_boot", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "worker_boot")
    op.drop_column("runs", "lease_until")
