"""worker_tokens, and workers report their GPU, its memory and the model they have loaded

worker_tokens: the tokens a worker on another host shows the server to fetch inputs and send files.
Stored as a sha256 of the token (a token is 256 random bits, so a fast hash is enough); a revoked
token keeps its row, so that the list says when it was revoked.

Revision ID: 0008_scale
Revises: 0008_keyframes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_scale"
down_revision = "0008_keyframes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_worker_tokens_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_worker_tokens_token_sha256")),
    )
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("vram_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("model_loaded", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("model_loaded")
        batch.drop_column("vram_bytes")
    op.drop_table("worker_tokens")
