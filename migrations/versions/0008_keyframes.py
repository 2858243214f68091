"""keyframes: a run's optional end image, and the run it continues (extend chains)

Both nullable, so every existing row stays as it is. On SQLite the foreign keys need batch mode,
which rebuilds the runs table; that drops the triggers keeping the prompt search (runs_fts, 0002)
up to date, so they are made again afterwards and the index rebuilt.

Revision ID: 0008_keyframes
Revises: 0008_ux
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_keyframes"
down_revision = "0008_ux"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_image_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("continues_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_runs_end_image_id_images"), "images", ["end_image_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_runs_continues_id_runs"), "runs", ["continues_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_index(batch_op.f("ix_runs_continues_id"), ["continues_id"], unique=False)
    _restore_prompt_search()


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_continues_id"))
        batch_op.drop_constraint(batch_op.f("fk_runs_continues_id_runs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_runs_end_image_id_images"), type_="foreignkey")
        batch_op.drop_column("continues_id")
        batch_op.drop_column("end_image_id")
    _restore_prompt_search()


def _restore_prompt_search() -> None:
    """The prompt-search triggers of 0002, as they were (SQLite only; PostgreSQL alters in place)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("""
        CREATE TRIGGER IF NOT EXISTS runs_fts_insert AFTER INSERT ON runs BEGIN
            INSERT INTO runs_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
        END""")
    op.execute("""
        CREATE TRIGGER IF NOT EXISTS runs_fts_delete AFTER DELETE ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, negative_prompt)
            VALUES ('delete', old.id, old.prompt, old.negative_prompt);
        END""")
    op.execute("""
        CREATE TRIGGER IF NOT EXISTS runs_fts_update AFTER UPDATE OF prompt, negative_prompt ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, negative_prompt)
            VALUES ('delete', old.id, old.prompt, old.negative_prompt);
            INSERT INTO runs_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
        END""")
    op.execute("INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')")
